/*
 * encoder: the Transformer encoder over packed sentences (see encoder.h;
 * the math is model.h's).  Workload: with R the rows of a batch, each
 * layer is six products of (R, D) by a weight ((D, D) four times, (F, D)
 * and (D, F)), which hold nearly all the time; attention is R * len * D
 * multiply-adds per layer, small next to them for sentence lengths, but
 * not for long inputs (speech: hundreds of positions), which
 * attention_window bounds to R * (2N + 1) * D.  Attention is split over
 * the pool by rows, whatever sentence they are of, so one long input
 * uses every thread.
 *
 * Scratch is one allocation carved into the activations (llm.c), grown
 * when a batch has more rows than any before.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nn/encoder.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/positions.h"
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
	float *att;		/* (n_thr, att_stride) softmax scratch */
	long att_stride;	/* a thread's: heads x len + 1 (sq_attend) */
	long *cell;		/* (len) key offsets */
	float *stacked;		/* (R, K) input frames: the stacked frames */
	long cap_stacked;

	int n;			/* sentences of the last run */
	long *first;		/* (n + 1) first row of each sentence */
	int *rows;		/* (n) rows of each sentence */
	int cap_n;
};

int
sq_encoder_max_len(const struct sq_model *m)
{
	return SQ_MAX(0, m->cfg.max_positions - m->cfg.position_offset);
}

int
sq_encoder_frame_rows(const struct sq_model *m, int n_frames)
{
	return (int)(((long)n_frames + m->cfg.subsample - 1) /
	    m->cfg.subsample);
}

int
sq_encoder_max_frames(const struct sq_model *m)
{
	return (int)SQ_MIN((long)sq_encoder_max_len(m) * m->cfg.subsample,
	    INT_MAX);
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
	free(e->stacked);
	free(e->first);
	free(e->rows);
	free(e);
}

const float *
sq_encoder_out(const struct sq_encoder *e, int i)
{
	return e->out + e->first[i] * e->m->cfg.d_model;
}

int
sq_encoder_rows(const struct sq_encoder *e, int i)
{
	return (int)(e->first[i + 1] - e->first[i]);
}

/* Makes room for R rows and sentences up to len long. */
static void
reserve(struct sq_encoder *e, long R, int len)
{
	const struct sq_config *c = &e->m->cfg;
	long D = c->d_model, F = c->d_ff, need;
	float *p;
	int t;

	sq_positions_reserve(&e->pe, &e->n_pe, len, D, c->position_offset,
	    c->positions, e->m->enc_pos);
	if (R <= e->cap_rows && len <= e->cap_len)
		return;
	R = SQ_MAX(R, e->cap_rows);
	len = SQ_MAX(len, e->cap_len);
	e->att_stride = (long)c->n_heads * len + 1;
	need = 6 * R * D + R * F + e->n_thr * e->att_stride;
	free(e->mem);
	p = e->mem = sq_malloc(need * sizeof(float));
	/* every batch writes all of it */
	sq_populate(e->mem, need * sizeof(float), 1);
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

/*
 * Self-attention of a share of the rows, each over the rows of its own
 * sentence, or over those within the window: keys [lo, hi) of the
 * sentence for its position p.
 */
static void
attn_part(void *arg, int i, int n)
{
	struct sq_encoder *e = arg;
	const struct sq_config *c = &e->m->cfg;
	long D = c->d_model, W = c->attention_window;
	int r, r_lo, r_hi, s = 0;

	sq_pool_share((int)e->first[e->n], 1, i, n, &r_lo, &r_hi);
	for (r = r_lo; r < r_hi; r++) {
		long r0, len, p, lo, hi;

		while (e->first[s + 1] <= r)
			s++;
		r0 = e->first[s];
		len = e->first[s + 1] - r0;
		p = r - r0;
		lo = W > 0 ? SQ_MAX(0, p - W) : 0;
		hi = W > 0 ? SQ_MIN(len, p + W + 1) : len;
		sq_attend(e->a + r * D, NULL, e->att + i * e->att_stride,
		    e->q + r * D, e->k + (r0 + lo) * D, e->v + (r0 + lo) * D,
		    e->cell, (int)(hi - lo), (int)D, c->n_heads);
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
	sq_linear_layer(e->q, in, &L->self_attn.q, R, D, D, e->pool);
	sq_linear_layer(e->k, in, &L->self_attn.k, R, D, D, e->pool);
	sq_linear_layer(e->v, in, &L->self_attn.v, R, D, D, e->pool);
	if (e->n > 1 && R >= 64)
		sq_pool_run(e->pool, attn_part, e);
	else
		attn_part(e, 0, 1);
	sq_linear_layer(e->q, e->a, &L->self_attn.out, R, D, D, e->pool);
	sq_sublayer_out(e->x, e->q, &L->self_attn_norm, c, R, e->pool);

	in = sq_sublayer_in(e->h, e->x, &L->final_norm, c, R, e->pool);
	sq_linear_layer(e->f, in, &L->fc1, R, D, F, e->pool);
	sq_activate(e->f, (int)R, F, c->activation, e->pool);
	sq_linear_layer(e->a, e->f, &L->fc2, R, F, D, e->pool);
	sq_sublayer_out(e->x, e->a, &L->final_norm, c, R, e->pool);
}

/* Room for a run of n sentences. */
static void
grow_n(struct sq_encoder *e, int n)
{
	if (n + 1 > e->cap_n) {
		e->cap_n = n + 1;
		e->first = sq_reallocarray(e->first, e->cap_n, sizeof(long));
		e->rows = sq_reallocarray(e->rows, e->cap_n, sizeof(int));
	}
}

/*
 * The rows of n sentences, len[i] each, laid out and made room for (the
 * GRU encoder keeps its own buffers).
 */
static void
layout(struct sq_encoder *e, int n, const int *len)
{
	int i, max_len = 0;

	e->first[0] = 0;
	for (i = 0; i < n; i++) {
		e->first[i + 1] = e->first[i] + len[i];
		max_len = SQ_MAX(max_len, len[i]);
	}
	if (e->rnn == NULL) {
		reserve(e, e->first[n], max_len);
		e->out = e->x;
	}
	e->n = n;
}

/* The layers over the embedded rows in e->x, and the final norm. */
static void
stack(struct sq_encoder *e)
{
	const struct sq_model *m = e->m;
	const struct sq_config *c = &m->cfg;

	for (int l = 0; l < c->encoder_layers; l++)
		layer(e, &m->enc[l]);
	if (c->encoder_final_norm)
		sq_layernorm(e->x, e->x, m->enc_final.g, m->enc_final.b,
		    (int)e->first[e->n], c->d_model, c->layer_norm_eps,
		    e->pool);
}

int
sq_encoder_run(struct sq_encoder *e, int n, const int32_t *const *src,
    const int *len)
{
	const struct sq_model *m = e->m;
	const struct sq_config *c = &m->cfg;
	int D = c->d_model, i, t;

	SQ_ASSERT(c->input == SQ_INPUT_TOKENS);
	grow_n(e, n);
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
	}
	layout(e, n, len);
	if (e->rnn != NULL) {
		e->out = sq_rnn_encoder_run(e->rnn, n, src, e->first);
		return 0;
	}
	for (i = 0; i < n; i++)
		sq_embed_mat(e->x + e->first[i] * D, &m->src_embed_q, src[i],
		    e->pe, c->embed_scale, len[i], D);
	stack(e);
	return 0;
}

int
sq_encoder_run_frames(struct sq_encoder *e, int n, const float *const *frames,
    const int *n_frames)
{
	const struct sq_model *m = e->m;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, K = (long)c->subsample * c->frame_dim, R;
	int i;

	SQ_ASSERT(c->input == SQ_INPUT_FRAMES);
	grow_n(e, n);
	for (i = 0; i < n; i++) {
		if (n_frames[i] < 0 || n_frames[i] > sq_encoder_max_frames(m)) {
			sq_seterr("utterance %d: %d frames, the model takes %d",
			    i, n_frames[i], sq_encoder_max_frames(m));
			return -1;
		}
		e->rows[i] = sq_encoder_frame_rows(m, n_frames[i]);
	}
	layout(e, n, e->rows);
	R = e->first[n];
	if (R * K > e->cap_stacked) {
		e->cap_stacked = R * K;
		free(e->stacked);
		e->stacked = sq_reallocarray(NULL, (size_t)e->cap_stacked,
		    sizeof(float));
	}
	/*
	 * Row-major frames are already their stacks: k frames after each
	 * other are one row of k * frame_dim; the last one is zero-padded.
	 */
	for (i = 0; i < n; i++) {
		float *s = e->stacked + e->first[i] * K;
		size_t have = (size_t)n_frames[i] * c->frame_dim;

		if (have > 0)
			memcpy(s, frames[i], have * sizeof(float));
		memset(s + have, 0, ((size_t)e->rows[i] * K - have) *
		    sizeof(float));
	}
	/* in the model's dtype: .w is NULL when the weights are not float32 */
	sq_linear_layer(e->x, e->stacked, &m->frame_proj, (int)R, (int)K,
	    (int)D, e->pool);
	for (i = 0; i < n; i++)
		sq_add(e->x + e->first[i] * D, e->pe, (long)e->rows[i] * D);
	stack(e);
	return 0;
}
