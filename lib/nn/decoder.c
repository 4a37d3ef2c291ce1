/*
 * decoder: the Transformer decoder one position at a time, over rows of
 * hypotheses (see decoder.h for the contract; the math is model.h's).
 *
 * Memory layout.  The self-attention cache is one block of steps: step t
 * holds, for every layer l, the keys then the values of rows [0, R_cap):
 *	kv: (T_cap, L, 2, R_cap, D)
 * Row r's key at step t of layer l sits at kv + ((t*L + l)*2)*R_cap*D +
 * slot*D, where slot is the row that wrote it (row r's ancestor at step
 * t).  cell[r][t] keeps t*L*2*R_cap*D + slot*D, so that attention reads
 * keys at k_l + cell[r][t] and values at v_l + cell[r][t], with k_l and
 * v_l the layer's offsets; selecting parents copies cell lists only.  The
 * block is carved, with every other buffer of the batch, from one arena
 * planned from the batch's sizes (carve(); it grows only for a larger
 * batch), and is touched only where rows live, so its resident part
 * follows the real work.
 *
 * The cross-attention keys and values of every sentence, computed by
 * begin() with one product per layer over all sentences' rows:
 *	cross: (L, 2, sum S, D)
 *
 * The non-autoregressive pass (sq_decoder_nat()) is one step of every
 * position of every sequence, each a row: the keys and values of step 0
 * are then the whole sequences, a sequence's rows consecutive slots, so
 * a row attends to its sequence's slots through row_cell (s * D) from
 * its first row, with no list per row and no mask.
 *
 * Workload per step with R rows: the products of (R, D) by the layer
 * weights (D, D) x 6 and (F, D), (D, F), then (R, D) by the output
 * projection (Vt, D): with one row it reads every decoder weight once
 * (memory-bound), with many it is compute-bound.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/copy.h"
#include "nn/decoder.h"
#include "nn/model.h"
#include "nn/nat.h"
#include "nn/ops.h"
#include "nn/positions.h"
#include "nn/rnn_decoder.h"
#include "base/pool.h"
#include "base/util.h"

struct sq_decoder {
	const struct sq_model *m;
	struct sq_pool *pool;
	int n_thr;
	struct sq_rnn_decoder *rnn;	/* arch rnn's arithmetic, or NULL */

	float *pe;		/* (n_pe, D) positions from offset, made as
				   batches need them: a whole table of
				   max_positions costs start-up (sin, cos) */
	int n_pe;

	/* the batch */
	int n_sent;
	int max_src;		/* longest source */
	int R_cap, T_cap;	/* max_rows, max_steps of this batch */
	int rows, t;		/* live rows, steps taken */
	long cross_rows;	/* sum S */
	int want_align, have_align;
	int nat;		/* begun by sq_decoder_begin_nat() */
	int nat_len;		/* its max_len */
	const int32_t *const *src;	/* (n_sent) the source ids (nat, copy),
					   borrowed */
	int window;		/* monotonic attention's, < 0 off */

	/*
	 * One arena, carved for each batch by carve() from the batch's sizes
	 * (llm.c's fill_in_activation_sizes); it only grows.
	 */
	char *arena;
	size_t cap_arena;
	long *src_first;	/* (n_sent + 1) first memory row of each */
	long *cell, *cell2;	/* (R_cap, T_cap) key offsets, two buffers */
	long *row_cell;		/* (max(max_src, attention length)) s * D */
	int *sent, *sent2;	/* (R_cap) sentence of each row */
	int *seq_first, *seq_len;	/* (R_cap) nat: each row's sequence */
	int *focus, *focus2;	/* (R_cap) monotonic attention's focus */
	float *cross;		/* (L, 2, sum S, D) */
	float *packed;		/* (sum S, D) the memories, packed */
	float *kv;		/* (T_cap, L, 2, R_cap, D) */
	/* scratch for one step */
	float *x, *h, *q, *a;	/* (R_cap, D) each; after the last layer a
				   holds its cross-attention context */
	float *x0;		/* (R_cap, D) the step's input embeddings */
	float *gate;		/* (R_cap) the copy gate's logits */
	float *f;		/* (R_cap, F) */
	float *att;		/* (n_thr, att_stride): per thread a softmax
				   (att_soft), then the cross-attention
				   probs (H, max_src) */
	long att_stride;
	long att_soft;		/* heads x the longest attention + 1 */
	float *align;		/* (R_cap, max_src) the last layer's
				   cross-attention, averaged over heads: the
				   alignment, and what copy points with */
};

struct sq_decoder *
sq_decoder_new(const struct sq_model *m, struct sq_pool *pool)
{
	struct sq_decoder *d = sq_calloc(1, sizeof(*d));

	sq_ops_init();
	d->m = m;
	d->pool = pool;
	d->n_thr = sq_pool_threads(pool);
	d->window = -1;
	if (m->cfg.arch == SQ_ARCH_RNN)
		d->rnn = sq_rnn_decoder_new(m, pool);
	return d;
}

void
sq_decoder_free(struct sq_decoder *d)
{
	if (d == NULL)
		return;
	sq_rnn_decoder_free(d->rnn);
	free(d->pe);
	free(d->arena);
	free(d);
}

int
sq_decoder_sentence(const struct sq_decoder *d, int r)
{
	return d->sent[r];
}

void
sq_decoder_set_align(struct sq_decoder *d, int on)
{
	d->want_align = on;
}

void
sq_decoder_set_monotonic(struct sq_decoder *d, int window)
{
	d->window = window;
}

const float *
sq_decoder_align(const struct sq_decoder *d, int *S)
{
	*S = d->max_src;
	return d->have_align ? d->align : NULL;
}

/*
 * Plans the arena for a batch of n sentences with sum_src memory rows, at
 * most max_rows rows and max_steps steps, self-attention over at most
 * attn_len keys (d->max_src set), growing it if it is too small, and
 * carves every buffer out of it.  Each buffer's offset is a multiple of
 * 64 bytes: no two share a cache line.  For arch rnn only the rows'
 * bookkeeping, the packed memories and the alignment (its arithmetic
 * keeps its own buffers).
 */
static void
carve(struct sq_decoder *d, int n, long sum_src, int max_rows, int max_steps,
    int attn_len)
{
	const struct sq_config *c = &d->m->cfg;
	int tf = d->rnn == NULL;	/* the Transformer's buffers */
	size_t D = c->d_model, F = c->d_ff * tf, L = c->decoder_layers * tf;
	size_t H = c->n_heads, R = max_rows, T = max_steps * tf, S = d->max_src;
	size_t A = SQ_MAX((size_t)attn_len * tf, S);
	size_t per_thr = H * A + 1 + H * S;
	enum {
		SRC_FIRST, CELL, CELL2, ROW_CELL, SENT, SENT2, SEQ, FOCUS,
		FOCUS2, CROSS, KV, SCRATCH, ATT, ALIGN, N_BUF
	};
	size_t size[N_BUF] = {
		[SRC_FIRST] = (n + 1) * sizeof(long),
		[CELL] = R * T * sizeof(long),
		[CELL2] = R * T * sizeof(long),
		[ROW_CELL] = A * sizeof(long),
		[SENT] = R * sizeof(int),
		[SENT2] = R * sizeof(int),
		[SEQ] = 2 * R * sizeof(int),
		[FOCUS] = R * sizeof(int),
		[FOCUS2] = R * sizeof(int),
		[CROSS] = (2 * L + 1) * sum_src * D * sizeof(float),
		[KV] = T * L * 2 * R * D * sizeof(float),
		[SCRATCH] = R * (5 * D + F + 1) * tf * sizeof(float),
		[ATT] = d->n_thr * per_thr * sizeof(float),
		[ALIGN] = (R * S + 1) * sizeof(float),
	};
	size_t off[N_BUF], total = 0, s;
	int i;

	for (i = 0; i < N_BUF; i++) {
		off[i] = total;
		total += (size[i] + 63) & ~(size_t)63;
	}
	if (total > d->cap_arena) {
		free(d->arena);
		d->arena = sq_malloc(total);
		d->cap_arena = total;
	}
	d->src_first = (long *)(d->arena + off[SRC_FIRST]);
	d->cell = (long *)(d->arena + off[CELL]);
	d->cell2 = (long *)(d->arena + off[CELL2]);
	d->row_cell = (long *)(d->arena + off[ROW_CELL]);
	d->sent = (int *)(d->arena + off[SENT]);
	d->sent2 = (int *)(d->arena + off[SENT2]);
	d->seq_first = (int *)(d->arena + off[SEQ]);
	d->seq_len = d->seq_first + R;
	d->focus = (int *)(d->arena + off[FOCUS]);
	d->focus2 = (int *)(d->arena + off[FOCUS2]);
	d->cross = (float *)(d->arena + off[CROSS]);
	/* written whole at the batch's start (the keys and values over the
	   memory); KV is not, as a batch may end long before T steps */
	sq_populate(d->cross, size[CROSS], 1);
	d->packed = d->cross + L * 2 * sum_src * D;
	d->kv = (float *)(d->arena + off[KV]);
	d->x = (float *)(d->arena + off[SCRATCH]);
	d->h = d->x + R * D;
	d->q = d->h + R * D;
	d->a = d->q + R * D;
	d->x0 = d->a + R * D;
	d->f = d->x0 + R * D;
	d->gate = d->f + R * F;
	d->att = (float *)(d->arena + off[ATT]);
	d->att_stride = per_thr;
	d->att_soft = H * A + 1;
	d->align = (float *)(d->arena + off[ALIGN]);
	for (s = 0; s < A; s++)
		d->row_cell[s] = s * D;
}

/*
 * The common start of a batch (sq_decoder_begin()'s contract) whose
 * self-attention sees at most attn_len keys.
 */
static int
begin(struct sq_decoder *d, int n, const float *const *mem,
    const int32_t *const *src, const int *src_len, int max_rows,
    int max_steps, int attn_len)
{
	const struct sq_model *m = d->m;
	const struct sq_config *c = &m->cfg;
	int D = c->d_model, i, l, limit;
	long sum = 0;

	limit = c->max_positions - c->position_offset;
	if (n < 0 || max_rows < n || max_steps < 0 || attn_len < 0 ||
	    attn_len > limit) {
		sq_seterr("decoder: bad batch (%d sentences, %d rows, %d "
		    "steps; the model takes %d positions)", n, max_rows,
		    attn_len, limit);
		return -1;
	}
	d->max_src = 0;
	for (i = 0; i < n; i++) {
		if (src_len[i] < 0) {
			sq_seterr("decoder: sentence %d: bad length %d", i,
			    src_len[i]);
			return -1;
		}
		if (c->copy && src_len[i] > 0 && (src == NULL ||
		    src[i] == NULL)) {
			sq_seterr("decoder: sentence %d: a copy model needs "
			    "the source ids", i);
			return -1;
		}
		for (l = 0; c->copy && l < src_len[i]; l++)
			if (src[i][l] < 0 || src[i][l] >= c->tgt_vocab_size) {
				sq_seterr("decoder: sentence %d: source id %d "
				    "outside the vocabulary [0, %d)", i,
				    (int)src[i][l], c->tgt_vocab_size);
				return -1;
			}
		sum += src_len[i];
		d->max_src = SQ_MAX(d->max_src, src_len[i]);
	}
	if (d->rnn == NULL)
		sq_positions_reserve(&d->pe, &d->n_pe, attn_len, D,
		    c->position_offset, c->positions, m->dec_pos);
	carve(d, n, sum, SQ_MAX(max_rows, 1), SQ_MAX(max_steps, 1), attn_len);
	d->n_sent = n;
	d->nat = 0;
	d->src = src;
	d->R_cap = SQ_MAX(max_rows, 1);
	d->T_cap = max_steps;
	d->rows = n;
	d->t = 0;
	d->have_align = 0;
	d->cross_rows = sum;
	d->src_first[0] = 0;
	for (i = 0; i < n; i++) {
		d->src_first[i + 1] = d->src_first[i] + src_len[i];
		d->sent[i] = i;
		d->focus[i] = 0;
	}
	for (i = 0; i < n; i++)
		if (src_len[i] > 0)
			memcpy(d->packed + d->src_first[i] * D, mem[i],
			    (size_t)src_len[i] * D * sizeof(float));
	if (d->rnn != NULL) {
		sq_rnn_decoder_begin(d->rnn, n, d->packed, d->src_first,
		    d->R_cap);
		return 0;
	}
	for (l = 0; l < c->decoder_layers; l++) {
		const struct sq_attn_weights *w = &m->dec[l].cross_attn;
		float *k = d->cross + (long)l * 2 * sum * D, *v = k + sum * D;

		sq_linear_layer(k, d->packed, &w->k, (int)sum, D, D, d->pool);
		sq_linear_layer(v, d->packed, &w->v, (int)sum, D, D, d->pool);
	}
	return 0;
}

int
sq_decoder_begin(struct sq_decoder *d, int n, const float *const *mem,
    const int32_t *const *src, const int *src_len, int max_rows,
    int max_steps)
{
	if (d->m->cfg.nat) {
		sq_seterr("decoder: a non-autoregressive model (config nat 1) "
		    "takes no steps: decode --nat decodes it");
		return -1;
	}
	return begin(d, n, mem, src, src_len, max_rows, max_steps,
	    max_steps);
}

int
sq_decoder_begin_nat(struct sq_decoder *d, int n, const float *const *mem,
    const int32_t *const *src, const int *src_len, int max_rows,
    int max_len)
{
	if (!d->m->cfg.nat) {
		sq_seterr("decoder: an autoregressive model (config nat 0) has "
		    "no length predictor: decode it without --nat");
		return -1;
	}
	if (begin(d, n, mem, src, src_len, max_rows, 1, max_len) < 0)
		return -1;
	d->nat = 1;
	d->nat_len = max_len;
	return 0;
}

/* Attention of a share of the rows: self over their prefixes, or cross. */
struct attn_job {
	struct sq_decoder *d;
	int l;			/* layer */
	int cross;		/* 0 self-attention, 1 cross-attention */
};

static void
attn_part(void *arg, int i, int n)
{
	struct attn_job *j = arg;
	struct sq_decoder *d = j->d;
	const struct sq_config *c = &d->m->cfg;
	long D = c->d_model, L = c->decoder_layers, H = c->n_heads;
	float *soft = d->att + i * d->att_stride;	/* softmax scratch */
	float *probs = soft + d->att_soft;	/* (H, S) */
	int lo, hi, r;

	sq_pool_share(d->rows, 1, i, n, &lo, &hi);
	for (r = lo; r < hi; r++) {
		if (!j->cross && d->nat) {
			const float *k = d->kv + j->l * 2 * d->R_cap * D +
			    (long)d->seq_first[r] * D;

			sq_attend(d->a + r * D, NULL, soft, d->q + r * D, k,
			    k + d->R_cap * D, d->row_cell, d->seq_len[r],
			    (int)D, (int)H);
		} else if (!j->cross) {
			const float *k = d->kv + j->l * 2 * d->R_cap * D;

			sq_attend(d->a + r * D, NULL, soft, d->q + r * D, k,
			    k + d->R_cap * D, d->cell + (long)r * d->T_cap,
			    d->t + 1, (int)D, (int)H);
		} else {
			int sn = d->sent[r];
			int S = (int)(d->src_first[sn + 1] - d->src_first[sn]);
			const float *k = d->cross + j->l * 2 *
			    d->cross_rows * D + d->src_first[sn] * D;
			int mono = d->window >= 0;
			int keep = (d->want_align || mono || c->copy) &&
			    j->l == L - 1;
			float *al = d->align + (long)r * d->max_src;
			/* monotonic: keys [lo, S) only */
			int lo = mono ? SQ_MAX(0, SQ_MIN(d->focus[r] -
			    d->window, S - 1)) : 0;
			int n = S - lo;

			sq_attend(d->a + r * D, keep ? probs : NULL, soft,
			    d->q + r * D, k, k + d->cross_rows * D,
			    d->row_cell + lo, n, (int)D, (int)H);
			if (!keep)
				continue;
			memset(al, 0, lo * sizeof(float));
			sq_copy_attn(al + lo, probs, n, (int)H, n);
			memset(al + S, 0, (d->max_src - S) * sizeof(float));
			if (mono)
				sq_argmax(&d->focus[r], al, 1, S, NULL);
		}
	}
}

static void
attend(struct sq_decoder *d, int l, int cross)
{
	struct attn_job j = { d, l, cross };

	if (d->rows >= 8)
		sq_pool_run(d->pool, attn_part, &j);
	else
		attn_part(&j, 0, 1);
}

static void
layer(struct sq_decoder *d, int l)
{
	const struct sq_config *c = &d->m->cfg;
	const struct sq_decoder_layer *w = &d->m->dec[l];
	int D = c->d_model, F = c->d_ff, R = d->rows, L = c->decoder_layers;
	float *k = d->kv + (((long)d->t * L + l) * 2) * d->R_cap * D;
	const float *in;

	in = sq_sublayer_in(d->h, d->x, &w->self_attn_norm, c, R, d->pool);
	sq_linear_layer(d->q, in, &w->self_attn.q, R, D, D, d->pool);
	sq_linear_layer(k, in, &w->self_attn.k, R, D, D, d->pool);
	sq_linear_layer(k + (long)d->R_cap * D, in, &w->self_attn.v, R, D, D,
	    d->pool);
	attend(d, l, 0);
	sq_linear_layer(d->q, d->a, &w->self_attn.out, R, D, D, d->pool);
	sq_sublayer_out(d->x, d->q, &w->self_attn_norm, c, R, d->pool);

	in = sq_sublayer_in(d->h, d->x, &w->cross_attn_norm, c, R, d->pool);
	sq_linear_layer(d->q, in, &w->cross_attn.q, R, D, D, d->pool);
	attend(d, l, 1);
	sq_linear_layer(d->q, d->a, &w->cross_attn.out, R, D, D, d->pool);
	sq_sublayer_out(d->x, d->q, &w->cross_attn_norm, c, R, d->pool);

	in = sq_sublayer_in(d->h, d->x, &w->final_norm, c, R, d->pool);
	sq_linear_layer(d->f, in, &w->fc1, R, D, F, d->pool);
	sq_activate(d->f, R, F, c->activation, d->pool);
	sq_linear_layer(d->q, d->f, &w->fc2, R, F, D, d->pool);
	sq_sublayer_out(d->x, d->q, &w->final_norm, c, R, d->pool);
}

/*
 * The layers over the rows' inputs in d->x, then the log-probs of every
 * row into logp (rows, Vt).
 */
/*
 * The copy mechanism (nn/copy.h) on the step's log-probs logp (rows,
 * Vt): out is the decoder's output, d->a the last layer's
 * cross-attention context, d->align its weights.
 */
static void
mix(struct sq_decoder *d, const float *out, float *logp)
{
	const struct sq_config *c = &d->m->cfg;
	int r, V = c->tgt_vocab_size;

	sq_copy_gate(d->gate, out, d->a, d->x0, d->m->p_gen.w, d->m->p_gen.b,
	    d->rows, c->d_model);
	for (r = 0; r < d->rows; r++) {
		int sn = d->sent[r];
		long first = d->src_first[sn];

		sq_copy_mix(logp + (long)r * V, d->gate[r], d->align +
		    (long)r * d->max_src, d->src[sn],
		    (int)(d->src_first[sn + 1] - first), V);
	}
}

static void
forward(struct sq_decoder *d, float *logp)
{
	const struct sq_model *m = d->m;
	const struct sq_config *c = &m->cfg;
	const float *out = d->x;
	int l;

	if (c->copy)
		memcpy(d->x0, d->x, (size_t)d->rows * c->d_model * sizeof(float));
	for (l = 0; l < c->decoder_layers; l++)
		layer(d, l);
	if (c->decoder_final_norm) {
		sq_layernorm(d->h, d->x, m->dec_final.g, m->dec_final.b,
		    d->rows, c->d_model, c->layer_norm_eps, d->pool);
		out = d->h;
	}
	sq_linear_mat(logp, out, &m->out_proj_q, m->out_bias, d->rows,
	    c->d_model, c->tgt_vocab_size, d->pool);
	sq_logsoftmax(logp, d->rows, c->tgt_vocab_size, d->pool);
	if (c->copy)
		mix(d, out, logp);
	d->have_align = d->want_align && d->rows > 0;
}

int
sq_decoder_step(struct sq_decoder *d, const int32_t *tokens, float *logp)
{
	const struct sq_model *m = d->m;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, L = c->decoder_layers;
	int r;

	if (d->nat) {
		sq_seterr("decoder: a batch begun for a non-autoregressive "
		    "pass takes no step");
		return -1;
	}
	if (d->t >= d->T_cap) {
		sq_seterr("decoder: step %d: beyond the %d steps of the batch",
		    d->t + 1, d->T_cap);
		return -1;
	}
	for (r = 0; r < d->rows; r++) {
		/* -1: the zero start vector, for a model that starts so */
		int zero = tokens[r] == -1 && d->t == 0 &&
		    c->decoder_start_id == -1;

		if (!zero && (tokens[r] < 0 || tokens[r] >= c->tgt_vocab_size)) {
			sq_seterr("decoder: row %d: token %d outside the target "
			    "vocabulary [0, %d)", r, (int)tokens[r],
			    c->tgt_vocab_size);
			return -1;
		}
	}
	if (d->rnn != NULL) {
		sq_rnn_decoder_step(d->rnn, d->rows, d->sent, tokens, logp,
		    d->want_align ? d->align : NULL, d->max_src);
		d->have_align = d->want_align && d->rows > 0;
		d->t++;
		return 0;
	}
	for (r = 0; r < d->rows; r++) {
		sq_embed_mat(d->x + r * D, &m->tgt_embed_q, tokens + r,
		    d->pe + d->t * D, c->embed_scale, 1, (int)D);
		d->cell[(long)r * d->T_cap + d->t] = (long)d->t * L * 2 *
		    d->R_cap * D + r * D;
	}
	forward(d, logp);
	d->t++;
	return 0;
}

int
sq_decoder_nat(struct sq_decoder *d, int n, const int *sent, const int *len,
    float *logp)
{
	const struct sq_model *m = d->m;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, rows = 0;
	int q, i, r = 0;

	if (!d->nat) {
		sq_seterr("decoder: a non-autoregressive pass needs a batch "
		    "begun by sq_decoder_begin_nat()");
		return -1;
	}
	for (q = 0; q < n; q++) {
		if (sent[q] < 0 || sent[q] >= d->n_sent || len[q] < 0 ||
		    len[q] > d->nat_len || (len[q] > 0 &&
		    d->src_first[sent[q] + 1] == d->src_first[sent[q]])) {
			sq_seterr("decoder: sequence %d: sentence %d, %d "
			    "positions: not in the batch (%d sentences, at most "
			    "%d positions, a source to copy)", q, sent[q], len[q],
			    d->n_sent, d->nat_len);
			return -1;
		}
		rows += len[q];
	}
	if (rows > d->R_cap) {
		sq_seterr("decoder: %ld rows asked, the batch has room for %d",
		    rows, d->R_cap);
		return -1;
	}
	for (q = 0; q < n; q++) {
		int sn = sent[q], T = len[q];
		int S = (int)(d->src_first[sn + 1] - d->src_first[sn]);

		for (i = 0; i < T; i++, r++) {
			int32_t tok = d->src[sn][sq_nat_copy(i, S, T)];

			if (tok < 0 || tok >= c->src_vocab_size) {
				sq_seterr("decoder: sentence %d: source id %d "
				    "outside [0, %d)", sn, (int)tok,
				    c->src_vocab_size);
				return -1;
			}
			d->sent[r] = sn;
			d->seq_first[r] = r - i;
			d->seq_len[r] = T;
			sq_embed_mat(d->x + r * D, &m->src_embed_q, &tok,
			    d->pe + i * D, c->embed_scale, 1, (int)D);
		}
	}
	d->rows = (int)rows;
	forward(d, logp);
	return 0;
}

int
sq_decoder_length(struct sq_decoder *d, float *logp)
{
	const struct sq_model *m = d->m;
	const struct sq_config *c = &m->cfg;
	int D = c->d_model, i;

	if (!d->nat) {
		sq_seterr("decoder: the length predictor needs a batch begun "
		    "by sq_decoder_begin_nat()");
		return -1;
	}
	/* the packed memories are those begin() copied (none if all empty) */
	for (i = 0; i < d->n_sent; i++)
		sq_mean_rows(d->h + (long)i * D, d->packed + d->src_first[i] * D,
		    (int)(d->src_first[i + 1] - d->src_first[i]), D);
	sq_linear_layer(logp, d->h, &m->len_pred, d->n_sent, D,
	    sq_nat_classes(c), d->pool);
	sq_logsoftmax(logp, d->n_sent, sq_nat_classes(c), d->pool);
	return 0;
}

int
sq_decoder_select(struct sq_decoder *d, const int *parent, int n)
{
	int r;
	long *tc;
	int *ts;

	if (n < 0 || n > d->R_cap) {
		sq_seterr("decoder: %d rows asked, the batch has room for %d",
		    n, d->R_cap);
		return -1;
	}
	for (r = 0; r < n; r++) {
		if (parent[r] < 0 || parent[r] >= d->rows) {
			sq_seterr("decoder: row %d: parent %d is not a row (%d "
			    "rows)", r, parent[r], d->rows);
			return -1;
		}
		if (d->rnn == NULL)
			memcpy(d->cell2 + (long)r * d->T_cap, d->cell +
			    (long)parent[r] * d->T_cap, d->t * sizeof(long));
		d->sent2[r] = d->sent[parent[r]];
		d->focus2[r] = d->focus[parent[r]];
	}
	if (d->rnn != NULL)
		sq_rnn_decoder_select(d->rnn, parent, n);
	tc = d->cell, d->cell = d->cell2, d->cell2 = tc;
	ts = d->sent, d->sent = d->sent2, d->sent2 = ts;
	ts = d->focus, d->focus = d->focus2, d->focus2 = ts;
	d->rows = n;
	d->have_align = 0;
	return 0;
}
