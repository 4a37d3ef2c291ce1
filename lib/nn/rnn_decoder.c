/*
 * rnn_decoder: the GRU decoder with attention, one step over rows of
 * hypotheses (see rnn_decoder.h).
 *
 * Memory layout: the states of the live rows, layer after layer,
 *	state: (L, R_cap, D)
 * and a second block of that shape that a selection fills from the
 * parents before the two are swapped.  Keys: (sum S, D), beside the
 * borrowed memory's rows.
 */
#include <stdlib.h>
#include <string.h>

#include "nn/gru.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/rnn_decoder.h"
#include "base/pool.h"
#include "base/util.h"

struct sq_rnn_decoder {
	const struct sq_model *m;
	struct sq_pool *pool;
	int n_thr;

	/* the batch */
	const float *mem;	/* (sum S, D) borrowed */
	const long *first;	/* (n + 1) borrowed */
	int R_cap, max_src;

	float *arena;		/* everything below; grows only */
	long cap;
	float *keys;		/* (sum S, D) memory W_a^T */
	float *state, *state2;	/* (L, R_cap, D) each */
	float *init, *mean;	/* (n, L D), (n, D) */
	float *x;		/* (R_cap, D) embeddings, then the output */
	float *xp, *hp;		/* (R_cap, 3D) each */
	float *cat;		/* (R_cap, 2D) [context, top state] */
	float *att;		/* (n_thr, max_src + 1) softmax scratch */
	long *src_cell;		/* (max_src) s D */
	long cap_cell;

	/* the step's rows, for the attention job */
	int rows;
	const int *sent;
	float *align;
};

struct sq_rnn_decoder *
sq_rnn_decoder_new(const struct sq_model *m, struct sq_pool *pool)
{
	struct sq_rnn_decoder *r = sq_calloc(1, sizeof(*r));

	r->m = m;
	r->pool = pool;
	r->n_thr = sq_pool_threads(pool);
	return r;
}

void
sq_rnn_decoder_free(struct sq_rnn_decoder *r)
{
	if (r == NULL)
		return;
	free(r->arena);
	free(r->src_cell);
	free(r);
}

void
sq_rnn_first_states(float *init, float *mean, const struct sq_model *m,
    const float *mem, const long *first, int n, struct sq_pool *pool)
{
	long D = m->cfg.d_model, L = m->cfg.decoder_layers;
	int i;

	for (i = 0; i < n; i++) {
		long S = first[i + 1] - first[i], s, d;
		float *mu = mean + i * D;

		memset(mu, 0, (size_t)D * sizeof(float));
		for (s = 0; s < S; s++)
			sq_add(mu, mem + (first[i] + s) * D, D);
		for (d = 0; S > 0 && d < D; d++)
			mu[d] /= (float)S;
	}
	sq_linear(init, mean, m->bridge.w, m->bridge.b, n, (int)D, (int)(L * D),
	    pool);
	sq_tanh(init, n * L * D);
}

void
sq_rnn_decoder_begin(struct sq_rnn_decoder *r, int n, const float *mem,
    const long *first, int max_rows)
{
	const struct sq_config *c = &r->m->cfg;
	long D = c->d_model, L = c->decoder_layers, R = max_rows, S = first[n];
	long need, l;
	int i, max_src = 0;
	float *p;

	for (i = 0; i < n; i++)
		max_src = SQ_MAX(max_src, (int)(first[i + 1] - first[i]));
	need = S * D + 2 * L * R * D + n * (L + 1) * D + R * 9 * D +
	    (long)r->n_thr * (max_src + 1);
	if (need > r->cap) {
		free(r->arena);
		r->arena = sq_malloc((size_t)need * sizeof(float));
		r->cap = need;
	}
	p = r->arena;
	r->keys = p, p += S * D;
	r->state = p, p += L * R * D;
	r->state2 = p, p += L * R * D;
	r->init = p, p += n * L * D;
	r->mean = p, p += n * D;
	r->x = p, p += R * D;
	r->xp = p, p += R * 3 * D;
	r->hp = p, p += R * 3 * D;
	r->cat = p, p += R * 2 * D;
	r->att = p;
	if (max_src > r->cap_cell) {
		r->src_cell = sq_reallocarray(r->src_cell, max_src,
		    sizeof(long));
		for (i = 0; i < max_src; i++)
			r->src_cell[i] = (long)i * D;
		r->cap_cell = max_src;
	}
	r->mem = mem;
	r->first = first;
	r->R_cap = max_rows;
	r->max_src = max_src;
	sq_linear(r->keys, mem, r->m->attn_key, NULL, (int)S, (int)D, (int)D,
	    r->pool);
	sq_rnn_first_states(r->init, r->mean, r->m, mem, first, n, r->pool);
	for (i = 0; i < n; i++)
		for (l = 0; l < L; l++)
			memcpy(r->state + (l * R + i) * D, r->init + (i * L + l) *
			    D, (size_t)D * sizeof(float));
}

/* Attention of a share of the rows into the context half of cat. */
static void
attn_part(void *arg, int i, int n)
{
	struct sq_rnn_decoder *r = arg;
	long D = r->m->cfg.d_model, L = r->m->cfg.decoder_layers;
	const float *top = r->state + (L - 1) * r->R_cap * D;
	float *soft = r->att + (long)i * (r->max_src + 1);
	int lo, hi, j;

	sq_pool_share(r->rows, 1, i, n, &lo, &hi);
	for (j = lo; j < hi; j++) {
		long s0 = r->first[r->sent[j]];
		int S = (int)(r->first[r->sent[j] + 1] - s0);
		float *al = r->align ? r->align + (long)j * r->max_src : NULL;

		sq_attend(r->cat + j * 2 * D, al, soft, top + j * D,
		    r->keys + s0 * D, r->mem + s0 * D, r->src_cell, S, (int)D, 1);
		memcpy(r->cat + j * 2 * D + D, top + j * D, (size_t)D *
		    sizeof(float));
		if (al != NULL)
			memset(al + S, 0, (size_t)(r->max_src - S) *
			    sizeof(float));
	}
}

void
sq_rnn_decoder_step(struct sq_rnn_decoder *r, int rows, const int *sent,
    const int32_t *tokens, float *logp, float *align, int max_src)
{
	const struct sq_model *m = r->m;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, L = c->decoder_layers;
	const float *in = r->x;
	int j, l;

	SQ_ASSERT(max_src == r->max_src);
	for (j = 0; j < rows; j++)
		sq_embed(r->x + j * D, m->tgt_embed, tokens + j, NULL,
		    c->embed_scale, 1, (int)D);
	for (l = 0; l < L; l++) {
		const struct sq_gru *w = &m->dec_gru[l];
		float *st = r->state + l * r->R_cap * D;

		sq_linear(r->xp, in, w->w_ih, w->b_ih, rows, (int)D,
		    (int)(3 * D), r->pool);
		sq_linear(r->hp, st, w->w_hh, w->b_hh, rows, (int)D,
		    (int)(3 * D), r->pool);
		for (j = 0; j < rows; j++)
			sq_gru_cell(st + j * D, NULL, r->xp + j * 3 * D,
			    r->hp + j * 3 * D, st + j * D, (int)D);
		in = st;
	}
	r->rows = rows;
	r->sent = sent;
	r->align = align;
	if (rows >= 8)
		sq_pool_run(r->pool, attn_part, r);
	else
		attn_part(r, 0, 1);
	sq_linear(r->x, r->cat, m->attn_out.w, m->attn_out.b, rows,
	    (int)(2 * D), (int)D, r->pool);
	sq_tanh(r->x, rows * D);
	sq_linear(logp, r->x, m->out_proj, m->out_bias, rows, (int)D,
	    c->tgt_vocab_size, r->pool);
	sq_logsoftmax(logp, rows, c->tgt_vocab_size, r->pool);
}

void
sq_rnn_decoder_select(struct sq_rnn_decoder *r, const int *parent, int n)
{
	long D = r->m->cfg.d_model, L = r->m->cfg.decoder_layers, l;
	float *t;
	int j;

	for (l = 0; l < L; l++)
		for (j = 0; j < n; j++)
			memcpy(r->state2 + (l * r->R_cap + j) * D, r->state +
			    (l * r->R_cap + parent[j]) * D, (size_t)D *
			    sizeof(float));
	t = r->state, r->state = r->state2, r->state2 = t;
}
