/*
 * encoder: the Transformer encoder over packed sentences (see encoder.h;
 * the math is model.h's).  Workload: with R the rows of a batch, each
 * layer is six products of (R, D) by a weight ((D, D) four times, (F, D)
 * and (D, F)), which hold nearly all the time; attention is R * len * D
 * multiply-adds per layer, small next to them for sentence lengths.
 *
 * Scratch is one allocation carved into the activations (llm.c), grown
 * when a batch has more rows than any before.
 */
#include <stdlib.h>

#include "nn/encoder.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/rnn_encoder.h"
#include "base/pool.h"
#include "base/util.h"

struct sq_encoder {
	const struct sq_model *m;
	struct sq_pool *pool;
	int n_thr;
	struct sq_rnn_encoder *rnn;	/* arch rnn's, or NULL */
	const float *out;	/* (R, D) the last run's output */

	float *pe;		/* (n_pe, D) positions offset.. */
	int n_pe;

	float *mem;		/* the scratch block */
	long cap_rows;		/* rows it is carved for */
	int cap_len;		/* longest sentence it is carved for */
	float *x;		/* (R, D) the residual stream, then the output */
	float *h;		/* (R, D) normed input of a sublayer */
	float *q, *k, *v;	/* (R, D) each */
	float *a;		/* (R, D) attention output, sublayer output */
	float *f;		/* (R, F) feed-forward hidden */
	float *att;		/* (n_thr, len) softmax scratch */
	long *cell;		/* (len) key offsets */

	int n;			/* sentences of the last run */
	long *first;		/* (n + 1) first row of each sentence */
	int cap_n;
};

int
sq_encoder_max_len(const struct sq_model *m)
{
	return SQ_MAX(0, m->cfg.max_positions - m->cfg.position_offset);
}

struct sq_encoder *
sq_encoder_new(const struct sq_model *m, struct sq_pool *pool)
{
	struct sq_encoder *e = sq_calloc(1, sizeof(*e));

	sq_ops_init();
	e->m = m;
	e->pool = pool;
	e->n_thr = sq_pool_threads(pool);
	if (m->cfg.arch == SQ_ARCH_RNN)
		e->rnn = sq_rnn_encoder_new(m, pool);
	return e;
}

void
sq_encoder_free(struct sq_encoder *e)
{
	if (e == NULL)
		return;
	sq_rnn_encoder_free(e->rnn);
	free(e->pe);
	free(e->mem);
	free(e->cell);
	free(e->first);
	free(e);
}

const float *
sq_encoder_out(const struct sq_encoder *e, int i)
{
	return e->out + e->first[i] * e->m->cfg.d_model;
}

/* Makes room for R rows and sentences up to len long. */
static void
reserve(struct sq_encoder *e, long R, int len)
{
	const struct sq_config *c = &e->m->cfg;
	long D = c->d_model, F = c->d_ff, need;
	float *p;
	int t;

	if (len > e->n_pe) {
		e->pe = sq_reallocarray(e->pe, (size_t)len * D, sizeof(float));
		sq_positions(e->pe, c->position_offset, len, D, c->positions,
		    e->m->enc_pos);
		e->n_pe = len;
	}
	if (R <= e->cap_rows && len <= e->cap_len)
		return;
	R = SQ_MAX(R, e->cap_rows);
	len = SQ_MAX(len, e->cap_len);
	need = 6 * R * D + R * F + (long)e->n_thr * (len + 1);
	free(e->mem);
	p = e->mem = sq_malloc(need * sizeof(float));
	e->x = p, p += R * D;
	e->h = p, p += R * D;
	e->q = p, p += R * D;
	e->k = p, p += R * D;
	e->v = p, p += R * D;
	e->a = p, p += R * D;
	e->f = p, p += R * F;
	e->att = p;
	e->cell = sq_reallocarray(e->cell, len + 1, sizeof(long));
	for (t = 0; t <= len; t++)
		e->cell[t] = (long)t * D;
	e->cap_rows = R;
	e->cap_len = len;
}

/* Self-attention of a share of the sentences, each over its own rows. */
static void
attn_part(void *arg, int i, int n)
{
	struct sq_encoder *e = arg;
	const struct sq_config *c = &e->m->cfg;
	int D = c->d_model, s, lo, hi;
	long r;

	sq_pool_share(e->n, 1, i, n, &lo, &hi);
	for (s = lo; s < hi; s++) {
		long r0 = e->first[s], len = e->first[s + 1] - r0;

		for (r = r0; r < r0 + len; r++)
			sq_attend(e->a + r * D, NULL, e->att + (long)i *
			    (e->cap_len + 1), e->q + r * D, e->k + r0 * D,
			    e->v + r0 * D, e->cell, (int)len, D, c->n_heads);
	}
}

static void
layer(struct sq_encoder *e, const struct sq_encoder_layer *L)
{
	const struct sq_config *c = &e->m->cfg;
	int D = c->d_model, F = c->d_ff;
	long R = e->first[e->n];
	const float *in;

	in = sq_sublayer_in(e->h, e->x, &L->self_attn_norm, c, R, e->pool);
	sq_linear(e->q, in, L->self_attn.q.w, L->self_attn.q.b, R, D, D,
	    e->pool);
	sq_linear(e->k, in, L->self_attn.k.w, L->self_attn.k.b, R, D, D,
	    e->pool);
	sq_linear(e->v, in, L->self_attn.v.w, L->self_attn.v.b, R, D, D,
	    e->pool);
	if (e->n > 1 && R >= 64)
		sq_pool_run(e->pool, attn_part, e);
	else
		attn_part(e, 0, 1);
	sq_linear(e->q, e->a, L->self_attn.out.w, L->self_attn.out.b, R, D,
	    D, e->pool);
	sq_sublayer_out(e->x, e->q, &L->self_attn_norm, c, R, e->pool);

	in = sq_sublayer_in(e->h, e->x, &L->final_norm, c, R, e->pool);
	sq_linear(e->f, in, L->fc1.w, L->fc1.b, R, D, F, e->pool);
	sq_activate(e->f, (int)R, F, c->activation, e->pool);
	sq_linear(e->a, e->f, L->fc2.w, L->fc2.b, R, F, D, e->pool);
	sq_sublayer_out(e->x, e->a, &L->final_norm, c, R, e->pool);
}

int
sq_encoder_run(struct sq_encoder *e, int n, const int32_t *const *src,
    const int *len)
{
	const struct sq_model *m = e->m;
	const struct sq_config *c = &m->cfg;
	int D = c->d_model, i, t, l, max_len = 0;
	long R = 0;

	for (i = 0; i < n; i++) {
		if (len[i] < 0 || len[i] > sq_encoder_max_len(m)) {
			sq_seterr("sentence %d: %d tokens, the model takes %d",
			    i, len[i], sq_encoder_max_len(m));
			return -1;
		}
		for (t = 0; t < len[i]; t++)
			if (src[i][t] < 0 || src[i][t] >= c->src_vocab_size) {
				sq_seterr("sentence %d: token %d: id %d outside "
				    "the source vocabulary [0, %d)", i, t,
				    (int)src[i][t], c->src_vocab_size);
				return -1;
			}
		R += len[i];
		max_len = SQ_MAX(max_len, len[i]);
	}
	if (n + 1 > e->cap_n) {
		e->cap_n = n + 1;
		e->first = sq_reallocarray(e->first, e->cap_n, sizeof(long));
	}
	e->n = n;
	e->first[0] = 0;
	for (i = 0; i < n; i++)
		e->first[i + 1] = e->first[i] + len[i];
	if (e->rnn != NULL) {
		e->out = sq_rnn_encoder_run(e->rnn, n, src, e->first);
		return 0;
	}
	reserve(e, R, max_len);
	e->out = e->x;
	for (i = 0; i < n; i++)
		sq_embed(e->x + e->first[i] * D, m->src_embed, src[i], e->pe,
		    c->embed_scale, len[i], D);
	for (l = 0; l < c->encoder_layers; l++)
		layer(e, &m->enc[l]);
	if (c->encoder_final_norm)
		sq_layernorm(e->x, e->x, m->enc_final.g, m->enc_final.b,
		    (int)R, D, c->layer_norm_eps, e->pool);
	return 0;
}
