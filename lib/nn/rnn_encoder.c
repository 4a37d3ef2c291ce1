/*
 * rnn_encoder: the bidirectional GRU encoder (see rnn_encoder.h).
 * Workload per layer and direction over R rows: the input projection, a
 * product of (R, D) by (3D/2, D), then the recurrence's R (3D/2, D/2)
 * multiply-adds in one product per step.
 */
#include <stdlib.h>

#include "nn/gru.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/rnn_encoder.h"
#include "base/util.h"

struct sq_rnn_encoder {
	const struct sq_model *m;
	struct sq_pool *pool;
	struct sq_gru_seq seq;

	float *mem;		/* the scratch block */
	long cap_rows;
	int cap_n;
	float *x, *y;		/* (R, D) a layer's input and output */
	float *xp;		/* (R, 3D/2) input projections */
	float *scratch;		/* (n, 2D) sq_gru_layer()'s */
};

struct sq_rnn_encoder *
sq_rnn_encoder_new(const struct sq_model *m, struct sq_pool *pool)
{
	struct sq_rnn_encoder *e = sq_calloc(1, sizeof(*e));

	e->m = m;
	e->pool = pool;
	return e;
}

void
sq_rnn_encoder_free(struct sq_rnn_encoder *e)
{
	if (e == NULL)
		return;
	sq_gru_seq_free(&e->seq);
	free(e->mem);
	free(e);
}

/* Makes room for R rows in n sentences. */
static void
reserve(struct sq_rnn_encoder *e, long R, int n)
{
	long D = e->m->cfg.d_model;
	float *p;

	if (R <= e->cap_rows && n <= e->cap_n)
		return;
	R = SQ_MAX(R, e->cap_rows);
	n = SQ_MAX(n, e->cap_n);
	free(e->mem);
	p = e->mem = sq_malloc((size_t)(R * D * 2 + R * 3 * D / 2 +
	    (long)n * 2 * D + 1) * sizeof(float));
	e->x = p, p += R * D;
	e->y = p, p += R * D;
	e->xp = p, p += R * 3 * D / 2;
	e->scratch = p;
	e->cap_rows = R;
	e->cap_n = n;
}

const float *
sq_rnn_encoder_run(struct sq_rnn_encoder *e, int n,
    const int32_t *const *src, const long *first)
{
	const struct sq_model *m = e->m;
	const struct sq_config *c = &m->cfg;
	int D = c->d_model, H = D / 2, i, l, dir;
	long R = first[n];
	float *t;

	reserve(e, R, n);
	sq_gru_seq_plan(&e->seq, n, first);
	for (i = 0; i < n; i++)
		sq_embed(e->x + first[i] * D, m->src_embed, src[i], NULL,
		    c->embed_scale, (int)(first[i + 1] - first[i]), D);
	for (l = 0; l < c->encoder_layers; l++) {
		for (dir = 0; dir < 2; dir++) {
			const struct sq_gru *w = &m->enc_gru[2 * l + dir];

			sq_linear(e->xp, e->x, w->w_ih, w->b_ih, (int)R, D,
			    3 * H, e->pool);
			sq_gru_layer(e->y + dir * H, D, NULL, e->xp, NULL, w, H,
			    dir, &e->seq, e->scratch, e->pool);
		}
		t = e->x, e->x = e->y, e->y = t;
	}
	return e->x;
}
