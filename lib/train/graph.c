/*
 * graph: the training forward and backward (see graph.h).
 *
 * Dimension letters (nn/ops.c's): Rs source rows and Rt target rows of
 * the batch, D width, H heads, F FFN width, V target vocabulary.
 *
 * Every sublayer is one residual block written once for both stacks:
 *   pre-norm:  out = in + drop(f(LN(in)))
 *   post-norm: out = LN(in + drop(f(in)))
 * with f self-attention, cross-attention or the FFN.  Its saved state is
 * struct sub; the backward turns d(out) into d(in) in place.
 *
 * Dropout masks are not stored: they are recomputed from (seed, step,
 * site) by train/grad.h's counter-based generator, so the same batch at
 * the same step drops the same units on any number of threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/copy.h"
#include "nn/model.h"
#include "nn/nat.h"
#include "nn/ops.h"
#include "train/copy_grad.h"
#include "train/grad.h"
#include "train/graph.h"
#include "train/rnn_graph.h"
#include "base/pool.h"
#include "base/util.h"

/* A gradient field: gm's pointers are const as the model's are. */
#define G(p) ((float *)(p))

/* One residual sublayer's saved state, over R rows. */
struct sub {
	const float *in;	/* (R, D) the stream entering; borrowed */
	float *normed;		/* (R, D) pre-norm: LN(in), f's input */
	float *sum;		/* (R, D) post-norm: in + drop(f), LN's input */
	float *mean, *rstd;	/* (R) the norm's statistics */
	float *out;		/* (R, D) the stream leaving */
	uint64_t site;		/* dropout stream of f's output */
};

/* Attention's saved state: queries over Rq rows, keys over Rk. */
struct attn {
	float *q, *ctx;		/* (Rq, D) */
	float *k, *v;		/* (Rk, D) */
	float *probs;		/* per sentence (H, Tq, Tk), before dropout */
	uint64_t site;		/* dropout stream of the weights */
	int guided;		/* under the guided-attention term */
};

struct ffn {
	float *pre;		/* (R, F) fc1's output */
	float *act;		/* (R, F) act(pre) after dropout: fc2's input */
	uint64_t site;
};

struct enc_layer {
	struct sub sa_sub, ff_sub;
	struct attn sa;
	struct ffn ff;
};

struct dec_layer {
	struct sub sa_sub, ca_sub, ff_sub;
	struct attn sa, ca;
	struct ffn ff;
};

struct sq_graph {
	const struct sq_model *m, *gm;
	struct sq_pool *pool;
	struct sq_graph_opts o;
	struct sq_rnn_graph *rnn;	/* arch rnn's, or NULL */

	/* the batch */
	int n;
	const int32_t *const *src, *const *tgt;
	int32_t *src_ids;	/* (Rs) source ids, packed */
	const float *const *src_frames;	/* input frames, else NULL */
	const int *src_len;		/* ids, or frames */
	int32_t *dec_ids;	/* (Rt) decoder inputs */
	int32_t *gold;		/* (Rt) targets */
	double *row_loss;	/* (Rt) each position's loss */
	double *sent_loss;	/* (n) each sentence's, summed */
	long *s_first, *t_first;	/* (n + 1) first row of each sentence */
	long *p_ss, *p_tt, *p_ts;	/* (n + 1) probs offsets: H S^2,
					   H T^2, H T S per sentence */
	long Rs, Rt;
	int max_len;
	float *pe;		/* (max_len, D) positions from offset */

	/* activations: one arena, carved by plan() */
	float *arena;
	long cap;
	float *enc_x0, *dec_x0;	/* (Rs, D), (Rt, D) embeddings */
	float *stacked;		/* (Rs, K) input frames: the stacked frames,
				   K = subsample * frame_dim */
	struct enc_layer *enc;
	struct dec_layer *dec;
	float *mem;		/* (Rs, D) the encoder's output */
	float *enc_mean, *enc_rstd, *dec_mean, *dec_rstd;	/* final norms */
	float *hid;		/* (Rt, D) the decoder's output */
	/* the length predictor (nat) */
	int32_t *len_gold;	/* (n) length classes */
	float *pooled;		/* (n, D) the mean row of each memory */
	float *dpooled;		/* (n, D) its gradient */
	float *len_logits;	/* (n, C) then their gradient */
	double len_loss;	/* its cross-entropy, summed, unweighted */
	double *len_sent;	/* (n) each sentence's */
	float *logits;		/* (Rt, V), then their gradient */
	int32_t *argmax;	/* (Rt) */
	/* the copy mechanism (nn/copy.h), with cfg.copy only */
	float *gate, *dgate;	/* (Rt) the gate's logits, their gradient */
	float *copy_a, *copy_da;	/* per sentence (T, S): the copy
					   attention, its gradient */
	float *copy_dctx, *copy_dx0;	/* (Rt, D) the gate's share of the
					   last context's and the input
					   embeddings' gradients */
	float *copy_scratch;	/* per thread: 2 max S */
	float *y;		/* (max R, D) scratch: a sublayer's output */
	/* backward scratch */
	float *dx, *dmem;	/* (Rt, D), (Rs, D) */
	float *d1, *d2, *d3, *d4, *d5;	/* (max R, D) each */
	float *df, *df2;	/* (max R, F) */
	float *dprobs;		/* per thread: H * max T * max T */
	long dprobs_stride;
	double loss;
	long n_tok;
	double *guide_sent;	/* (n) sq_guide_penalty() summed over layers */
	float scale;		/* of the backward running */
};

/* Dropout sites: one stream per (stack, layer, place). */
enum { SITE_EMBED, SITE_SA, SITE_CA, SITE_FF_OUT, SITE_FF_HID, SITE_SA_WEIGHTS,
    SITE_CA_WEIGHTS };
static uint64_t
site(int decoder, int layer, int place)
{
	return (uint64_t)decoder << 40 | (uint64_t)(layer + 1) << 8 |
	    (uint64_t)place;
}

struct sq_graph *
sq_graph_new(const struct sq_model *m, const struct sq_model *gm,
    struct sq_pool *pool)
{
	struct sq_graph *g = sq_calloc(1, sizeof(*g));

	sq_ops_init();
	g->m = m;
	g->gm = gm;
	g->pool = pool;
	if (m->cfg.arch == SQ_ARCH_RNN) {
		g->rnn = sq_rnn_graph_new(m, gm, pool);
		return g;
	}
	g->enc = sq_calloc((size_t)m->cfg.encoder_layers, sizeof(*g->enc));
	g->dec = sq_calloc((size_t)m->cfg.decoder_layers, sizeof(*g->dec));
	return g;
}

void
sq_graph_free(struct sq_graph *g)
{
	if (g == NULL)
		return;
	sq_rnn_graph_free(g->rnn);
	free(g->arena);
	free(g->enc);
	free(g->dec);
	free(g->src_ids);
	free(g->dec_ids);
	free(g->row_loss);
	free(g->gold);
	free(g->len_gold);
	free(g->len_sent);
	free(g->sent_loss);
	free(g->s_first);
	free(g->t_first);
	free(g->p_ss);
	free(g->p_tt);
	free(g->p_ts);
	free(g->pe);
	free(g->guide_sent);
	free(g);
}

double
sq_graph_guide(const struct sq_graph *g)
{
	const struct sq_config *c = &g->m->cfg;
	double sum = 0;

	for (int i = 0; i < g->n; i++)
		sum += g->guide_sent[i];
	return sum / (c->decoder_layers * c->n_heads);
}

const int32_t *
sq_graph_argmax(const struct sq_graph *g)
{
	return g->argmax;
}

const double *
sq_graph_losses(const struct sq_graph *g)
{
	return g->sent_loss;
}

/* ---- planning the arena ---- */

/* Carves n floats; with base NULL it only counts (the first pass). */
struct carver {
	float *base;
	long used;
};

static float *
carve(struct carver *c, long n)
{
	float *p = c->base ? c->base + c->used : NULL;

	c->used += (n + 15) / 16 * 16;	/* 64-byte aligned pieces */
	return p;
}

static void
plan_sub(struct carver *c, struct sub *s, long R, long D, int pre_norm)
{
	if (pre_norm)
		s->normed = carve(c, R * D);
	else
		s->sum = carve(c, R * D);
	s->mean = carve(c, R);
	s->rstd = carve(c, R);
	s->out = carve(c, R * D);
}

static void
plan_ffn(struct carver *c, struct ffn *f, long R, long F)
{
	f->pre = carve(c, R * F);
	f->act = carve(c, R * F);
}

/* Attention over Rq query and Rk key rows, n_probs weights in all. */
static void
plan_attn(struct carver *c, struct attn *a, long Rq, long Rk, long D,
    long n_probs)
{
	a->q = carve(c, Rq * D);
	a->k = carve(c, Rk * D);
	a->v = carve(c, Rk * D);
	a->ctx = carve(c, Rq * D);
	a->probs = carve(c, n_probs);
}

/* Lays the activations of the batch out; counts only if c->base NULL. */
static void
plan(struct sq_graph *g, struct carver *c)
{
	const struct sq_config *cf = &g->m->cfg;
	long D = cf->d_model, F = cf->d_ff, V = cf->tgt_vocab_size;
	long Rs = g->Rs, Rt = g->Rt, Rmax = SQ_MAX(Rs, Rt);
	int l, pre = cf->pre_norm, T = g->max_len + 1;

	/* the output's, for both architectures */
	g->hid = carve(c, Rt * D);
	g->logits = carve(c, Rt * V);
	g->argmax = (int32_t *)carve(c, Rt);
	g->d1 = carve(c, Rmax * D);
	if (g->rnn != NULL)
		return;
	g->enc_x0 = carve(c, Rs * D);
	g->dec_x0 = carve(c, Rt * D);
	if (cf->input == SQ_INPUT_FRAMES)
		g->stacked = carve(c, Rs * cf->subsample * cf->frame_dim);
	for (l = 0; l < cf->encoder_layers; l++) {
		struct enc_layer *e = &g->enc[l];

		plan_sub(c, &e->sa_sub, Rs, D, pre);
		plan_attn(c, &e->sa, Rs, Rs, D, g->p_ss[g->n]);
		plan_sub(c, &e->ff_sub, Rs, D, pre);
		plan_ffn(c, &e->ff, Rs, F);
	}
	g->enc_mean = carve(c, Rs);
	g->enc_rstd = carve(c, Rs);
	g->mem = carve(c, Rs * D);
	for (l = 0; l < cf->decoder_layers; l++) {
		struct dec_layer *e = &g->dec[l];

		plan_sub(c, &e->sa_sub, Rt, D, pre);
		plan_attn(c, &e->sa, Rt, Rt, D, g->p_tt[g->n]);
		plan_sub(c, &e->ca_sub, Rt, D, pre);
		plan_attn(c, &e->ca, Rt, Rs, D, g->p_ts[g->n]);
		plan_sub(c, &e->ff_sub, Rt, D, pre);
		plan_ffn(c, &e->ff, Rt, F);
	}
	g->dec_mean = carve(c, Rt);
	g->dec_rstd = carve(c, Rt);
	if (cf->nat) {
		g->pooled = carve(c, (long)g->n * D);
		g->dpooled = carve(c, (long)g->n * D);
		g->len_logits = carve(c, (long)g->n * sq_nat_classes(cf));
	}
	if (cf->copy) {
		g->gate = carve(c, Rt);
		g->dgate = carve(c, Rt);
		g->copy_a = carve(c, g->p_ts[g->n] / cf->n_heads);
		g->copy_da = carve(c, g->p_ts[g->n] / cf->n_heads);
		g->copy_dctx = carve(c, Rt * D);
		g->copy_dx0 = carve(c, Rt * D);
		g->copy_scratch = carve(c, 2L * T * sq_pool_threads(g->pool));
	}
	g->y = carve(c, Rmax * D);
	g->dx = carve(c, Rmax * D);
	g->dmem = carve(c, Rs * D);
	g->d2 = carve(c, Rmax * D);
	g->d3 = carve(c, Rmax * D);
	g->d4 = carve(c, Rmax * D);
	g->d5 = carve(c, Rmax * D);
	g->df = carve(c, Rmax * F);
	g->df2 = carve(c, Rmax * F);
	g->dprobs_stride = (long)cf->n_heads * T * T;
	g->dprobs = carve(c, g->dprobs_stride * sq_pool_threads(g->pool));
}

/* Reads the batch's sizes and makes room for it.  Returns 0 or -1. */
static int
setup(struct sq_graph *g, const struct sq_pairs *b)
{
	const struct sq_config *c = &g->m->cfg;
	long H = c->n_heads, D = c->d_model;
	int i, t, limit = c->max_positions - c->position_offset;
	struct carver cv = {0};

	g->n = b->n;
	g->src = b->src;
	g->src_frames = b->src_frames;
	g->src_len = b->src_len;
	g->tgt = b->tgt;
	g->s_first = sq_reallocarray(g->s_first, b->n + 1, sizeof(long));
	g->t_first = sq_reallocarray(g->t_first, b->n + 1, sizeof(long));
	g->p_ss = sq_reallocarray(g->p_ss, b->n + 1, sizeof(long));
	g->p_tt = sq_reallocarray(g->p_tt, b->n + 1, sizeof(long));
	g->p_ts = sq_reallocarray(g->p_ts, b->n + 1, sizeof(long));
	g->guide_sent = sq_reallocarray(g->guide_sent, b->n + 1,
	    sizeof(double));
	memset(g->guide_sent, 0, (size_t)(b->n + 1) * sizeof(double));
	g->s_first[0] = g->t_first[0] = 0;
	g->p_ss[0] = g->p_tt[0] = g->p_ts[0] = 0;
	g->max_len = 0;
	if (c->nat && b->dec_in != NULL) {
		sq_seterr("a non-autoregressive model reads no decoder inputs "
		    "(scheduled sampling)");
		return -1;
	}
	SQ_ASSERT((c->input == SQ_INPUT_FRAMES) == (b->src_frames != NULL));
	for (i = 0; i < b->n; i++) {
		long S = b->src_len[i], T = sq_graph_positions(g->m, b->tgt_len[i]);

		if (b->src_frames != NULL && S >= 0)	/* frames to positions */
			S = (S + c->subsample - 1) / c->subsample;
		if (S < 0 || S > limit || b->tgt_len[i] < 0 || T > limit) {
			sq_seterr("pair %d: %ld source and %ld target positions, "
			    "the model takes %d", i, S, T, limit);
			return -1;
		}
		if (c->nat && S == 0) {
			sq_seterr("pair %d: an empty source, which a "
			    "non-autoregressive decoder cannot copy", i);
			return -1;
		}
		for (t = 0; b->src_frames == NULL && t < S; t++)
			if (b->src[i][t] < 0 || b->src[i][t] >= c->src_vocab_size) {
				sq_seterr("pair %d: source id %d outside [0, %d)",
				    i, (int)b->src[i][t], c->src_vocab_size);
				return -1;
			}
		for (t = 0; t < b->tgt_len[i]; t++)
			if (b->tgt[i][t] < 0 || b->tgt[i][t] >= c->tgt_vocab_size) {
				sq_seterr("pair %d: target id %d outside [0, %d)",
				    i, (int)b->tgt[i][t], c->tgt_vocab_size);
				return -1;
			}
		g->s_first[i + 1] = g->s_first[i] + S;
		g->t_first[i + 1] = g->t_first[i] + T;
		g->p_ss[i + 1] = g->p_ss[i] + H * S * S;
		g->p_tt[i + 1] = g->p_tt[i] + H * T * T;
		g->p_ts[i + 1] = g->p_ts[i] + H * T * S;
		g->max_len = SQ_MAX(g->max_len, (int)SQ_MAX(S, T));
	}
	g->Rs = g->s_first[b->n];
	g->Rt = g->t_first[b->n];
	/* the source ids packed, as the decoder's are (none for frames) */
	g->src_ids = sq_reallocarray(g->src_ids, g->Rs + 1, sizeof(int32_t));
	for (i = 0; b->src_frames == NULL && i < b->n; i++)
		memcpy(g->src_ids + g->s_first[i], b->src[i],
		    (size_t)b->src_len[i] * sizeof(int32_t));
	g->row_loss = sq_reallocarray(g->row_loss, g->Rt + 1, sizeof(double));
	g->dec_ids = sq_reallocarray(g->dec_ids, g->Rt + 1, sizeof(int32_t));
	g->gold = sq_reallocarray(g->gold, g->Rt + 1, sizeof(int32_t));
	g->len_gold = sq_reallocarray(g->len_gold, b->n + 1, sizeof(int32_t));
	g->len_sent = sq_reallocarray(g->len_sent, b->n + 1, sizeof(double));
	g->sent_loss = sq_reallocarray(g->sent_loss, b->n + 1, sizeof(double));
	for (i = 0; i < b->n; i++) {
		int32_t *in = g->dec_ids + g->t_first[i];
		int32_t *gold = g->gold + g->t_first[i];
		int n = b->tgt_len[i], S = b->src_len[i];

		if (c->nat) {
			/* the copied source ids, the target without EOS */
			for (t = 0; t < n; t++)
				in[t] = b->src[i][sq_nat_copy(t, S, n)];
			memcpy(gold, b->tgt[i], n * sizeof(int32_t));
			g->len_gold[i] = sq_nat_class(c, S, n);
			continue;
		}
		if (b->dec_in != NULL) {
			memcpy(in, b->dec_in[i], (n + 1) * sizeof(int32_t));
			for (t = 0; t <= n; t++)
				if ((in[t] < 0 || in[t] >= c->tgt_vocab_size) &&
				    !(t == 0 && in[t] == c->decoder_start_id)) {
					sq_seterr("pair %d: decoder input %d "
					    "outside [0, %d)", i, (int)in[t],
					    c->tgt_vocab_size);
					return -1;
				}
		} else {
			in[0] = c->decoder_start_id;
			memcpy(in + 1, b->tgt[i], n * sizeof(int32_t));
		}
		memcpy(gold, b->tgt[i], n * sizeof(int32_t));
		gold[n] = c->eos_id;
	}
	g->pe = sq_reallocarray(g->pe, (size_t)g->max_len + 1, D * sizeof(float));

	plan(g, &cv);
	/*
	 * Grown by realloc, though nothing in it is kept: the arena is
	 * hundreds of MB, mapped apart, and glibc moves such a block with
	 * mremap, so only the new pages fault in, not the whole arena again.
	 */
	if (cv.used > g->cap) {
		g->cap = cv.used;
		g->arena = sq_realloc(g->arena, (size_t)g->cap * sizeof(float));
	}
	cv.base = g->arena;
	cv.used = 0;
	plan(g, &cv);
	return 0;
}


/* ---- forward ---- */

/* The dropout seed of the step: masks differ from step to step. */
static uint64_t
step_seed(const struct sq_graph *g)
{
	return g->o.seed ^ (g->o.step + 1) * 0x9E3779B97F4A7C15ull;
}

static void
drop(struct sq_graph *g, float *x, long n, uint64_t s)
{
	if (g->o.dropout > 0)
		sq_dropout_forward(x, NULL, n, g->o.dropout, step_seed(g), s,
		    g->pool);
}

static void
undrop(struct sq_graph *g, float *dx, long n, uint64_t s)
{
	if (g->o.dropout > 0)
		sq_dropout_backward(dx, NULL, n, g->o.dropout, step_seed(g), s,
		    g->pool);
}

/* f's input of a sublayer entering from in: LN(in) pre-norm, in post. */
static const float *
sub_begin(struct sq_graph *g, struct sub *s, const float *in,
    const struct sq_norm *nm, long R)
{
	const struct sq_config *c = &g->m->cfg;

	s->in = in;
	if (!c->pre_norm)
		return in;
	sq_layernorm_forward_train(s->normed, s->mean, s->rstd, in, nm->g,
	    nm->b, (int)R, c->d_model, c->layer_norm_eps, g->pool);
	return s->normed;
}

/* The stream leaving: y is f's output (R, D), dropped here (y is kept). */
static void
sub_end(struct sq_graph *g, struct sub *s, float *y,
    const struct sq_norm *nm, long R)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model;
	float *dst = c->pre_norm ? s->out : s->sum;

	sq_dropout_add(dst, s->in, y, R * D, g->o.dropout, step_seed(g),
	    s->site, g->pool);
	if (!c->pre_norm)
		sq_layernorm_forward_train(s->out, s->mean, s->rstd, s->sum,
		    nm->g, nm->b, (int)R, (int)D, c->layer_norm_eps, g->pool);
}

/*
 * What a query sees of its sentence's keys: all (cross-attention), those
 * up to itself (decoder self-attention), or those within the model's
 * attention_window (encoder self-attention; all if it is 0).
 */
enum { MASK_NONE, MASK_CAUSAL, MASK_WINDOW };

/*
 * Attention of every sentence over its own rows, split over the pool by
 * sentences (the kernel then runs on one thread: a pool is not reentrant).
 */
struct attn_job {
	struct sq_graph *g;
	struct attn *a;
	const long *q_first, *k_first, *p_off;
	int mask;		/* MASK_* */
	uint64_t site;		/* dropout on the weights, per sentence */
	const float *dout;	/* backward: d(ctx) (Rq, D) */
	float *dq, *dk, *dv;
	const float *dprobs;	/* backward: NULL, or a gradient of the
				   weights for every head, per sentence (Tq,
				   Tk) at p_off / H (the copy attention's) */
};

static void
attn_part(void *arg, int i, int n)
{
	struct attn_job *j = arg;
	struct sq_graph *g = j->g;
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model;
	float *scratch = g->dprobs + i * g->dprobs_stride;
	int causal = j->mask == MASK_CAUSAL;
	int window = j->mask == MASK_WINDOW ? c->attention_window : 0;
	int lo, hi, s;

	sq_pool_share(g->n, 1, i, n, &lo, &hi);
	for (s = lo; s < hi; s++) {
		long q0 = j->q_first[s], k0 = j->k_first[s];
		int Tq = (int)(j->q_first[s + 1] - q0);
		int Tk = (int)(j->k_first[s + 1] - k0);
		struct sq_dropout drop = {g->o.dropout, step_seed(g),
		    j->site | (uint64_t)s << 44};
		/* the term's gradient: lambda scale / (L H) per P W */
		struct sq_guide guide = {g->o.guide * g->scale /
		    (float)(c->decoder_layers * c->n_heads), g->o.guide_width};

		if (j->dout == NULL) {
			sq_attention_forward(j->a->ctx + q0 * D, j->a->probs +
			    j->p_off[s], scratch, j->a->q + q0 * D, j->a->k +
			    k0 * D, j->a->v + k0 * D, Tq, Tk, (int)D,
			    c->n_heads, causal, window, &drop, NULL);
			if (j->a->guided)
				g->guide_sent[s] += sq_guide_penalty(
				    j->a->probs + j->p_off[s], Tq, Tk,
				    c->n_heads, g->o.guide_width);
		} else
			sq_attention_backward(j->dq + q0 * D, j->dk + k0 * D,
			    j->dv + k0 * D, scratch, j->dout + q0 * D,
			    j->a->probs + j->p_off[s], j->a->q + q0 * D,
			    j->a->k + k0 * D, j->a->v + k0 * D, Tq, Tk, (int)D,
			    c->n_heads, causal, window, j->dprobs ? j->dprobs +
			    j->p_off[s] / c->n_heads : NULL, &drop,
			    j->a->guided ? &guide : NULL, NULL);
	}
}

/*
 * Attention sublayer forward: x (Rq, D) the queries' input, kv (Rk, D)
 * the keys' and values' (x itself for self-attention); the output
 * projection into g->y.
 */
static void
attn_forward(struct sq_graph *g, struct attn *a,
    const struct sq_attn_weights *w, const float *x, const float *kv,
    long Rq, long Rk, const long *q_first, const long *k_first,
    const long *p_off, int mask)
{
	int D = g->m->cfg.d_model;
	struct attn_job j = { g, a, q_first, k_first, p_off, mask, a->site,
	    NULL, NULL, NULL, NULL, NULL };

	sq_linear(a->q, x, w->q.w, w->q.b, (int)Rq, D, D, g->pool);
	sq_linear(a->k, kv, w->k.w, w->k.b, (int)Rk, D, D, g->pool);
	sq_linear(a->v, kv, w->v.w, w->v.b, (int)Rk, D, D, g->pool);
	sq_pool_run(g->pool, attn_part, &j);
	sq_linear(g->y, a->ctx, w->out.w, w->out.b, (int)Rq, D, D, g->pool);
}

static void
ffn_forward(struct sq_graph *g, struct ffn *f, const struct sq_linear *fc1,
    const struct sq_linear *fc2, const float *x, long R)
{
	const struct sq_config *c = &g->m->cfg;
	int D = c->d_model, F = c->d_ff;

	sq_linear(f->pre, x, fc1->w, fc1->b, (int)R, D, F, g->pool);
	sq_activate_dropout(f->act, f->pre, R * F, c->activation, g->o.dropout,
	    step_seed(g), f->site, g->pool);
	sq_linear(g->y, f->act, fc2->w, fc2->b, (int)R, F, D, g->pool);
}

/* x0 (R, D) = scale E[ids] + PE, dropped; for the rows of each sentence. */
static void
embed(struct sq_graph *g, float *x0, const float *E, const float *learned,
    const int32_t *ids, const long *first, uint64_t s)
{
	const struct sq_config *c = &g->m->cfg;
	int D = c->d_model, i;

	sq_positions(g->pe, c->position_offset, g->max_len, D, c->positions,
	    learned);
	for (i = 0; i < g->n; i++)
		sq_embed(x0 + first[i] * D, E, ids + first[i], g->pe,
		    c->embed_scale, (int)(first[i + 1] - first[i]), D);
	drop(g, x0, first[g->n] * D, s);
}

/*
 * Input frames: x0 (Rs, D) = stacked W^T + b + PE, dropped, where the
 * stacked rows are k frames each (row-major frames are their own stacks),
 * the last one of a sentence padded with zero frames.
 */
static void
embed_frames(struct sq_graph *g)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model, K = (long)c->subsample * c->frame_dim;
	int i;

	sq_positions(g->pe, c->position_offset, g->max_len, (int)D,
	    c->positions, g->m->enc_pos);
	for (i = 0; i < g->n; i++) {
		long S = g->s_first[i + 1] - g->s_first[i];
		size_t have = (size_t)g->src_len[i] * c->frame_dim;
		float *st = g->stacked + g->s_first[i] * K;

		if (have > 0)
			memcpy(st, g->src_frames[i], have * sizeof(float));
		memset(st + have, 0, ((size_t)S * K - have) * sizeof(float));
	}
	sq_linear(g->enc_x0, g->stacked, g->m->frame_proj.w, g->m->frame_proj.b,
	    (int)g->Rs, (int)K, (int)D, g->pool);
	for (i = 0; i < g->n; i++)
		sq_add(g->enc_x0 + g->s_first[i] * D, g->pe,
		    (g->s_first[i + 1] - g->s_first[i]) * D);
	drop(g, g->enc_x0, g->Rs * D, site(0, -1, SITE_EMBED));
}

/* src_ids: the packed source ids (NULL with input frames). */
static void
encoder_forward(struct sq_graph *g, const int32_t *src_ids)
{
	const struct sq_model *m = g->m;
	const struct sq_config *c = &m->cfg;
	const float *x = g->enc_x0, *in;
	long Rs = g->Rs;
	int l;

	if (c->input == SQ_INPUT_FRAMES)
		embed_frames(g);
	else
		embed(g, g->enc_x0, m->src_embed, m->enc_pos, src_ids,
		    g->s_first, site(0, -1, SITE_EMBED));
	for (l = 0; l < c->encoder_layers; l++) {
		const struct sq_encoder_layer *w = &m->enc[l];
		struct enc_layer *e = &g->enc[l];

		e->sa_sub.site = site(0, l, SITE_SA);
		e->sa.site = site(0, l, SITE_SA_WEIGHTS);
		e->ff_sub.site = site(0, l, SITE_FF_OUT);
		e->ff.site = site(0, l, SITE_FF_HID);
		in = sub_begin(g, &e->sa_sub, x, &w->self_attn_norm, Rs);
		attn_forward(g, &e->sa, &w->self_attn, in, in, Rs, Rs,
		    g->s_first, g->s_first, g->p_ss, MASK_WINDOW);
		sub_end(g, &e->sa_sub, g->y, &w->self_attn_norm, Rs);
		in = sub_begin(g, &e->ff_sub, e->sa_sub.out, &w->final_norm, Rs);
		ffn_forward(g, &e->ff, &w->fc1, &w->fc2, in, Rs);
		sub_end(g, &e->ff_sub, g->y, &w->final_norm, Rs);
		x = e->ff_sub.out;
	}
	if (c->encoder_final_norm)
		sq_layernorm_forward_train(g->mem, g->enc_mean, g->enc_rstd, x,
		    m->enc_final.g, m->enc_final.b, (int)Rs, c->d_model,
		    c->layer_norm_eps, g->pool);
	else
		memcpy(g->mem, x, (size_t)Rs * c->d_model * sizeof(float));
}

/*
 * The length predictor over the memory: each sentence's mean row, the
 * linear layer, and the cross-entropy of its class, whose gradient (for
 * a scale of length_weight) replaces the logits.
 */
static void
length_forward(struct sq_graph *g)
{
	const struct sq_config *c = &g->m->cfg;
	int D = c->d_model, C = sq_nat_classes(c), i;

	for (i = 0; i < g->n; i++)
		sq_mean_rows(g->pooled + (long)i * D, g->mem + g->s_first[i] * D,
		    (int)(g->s_first[i + 1] - g->s_first[i]), D);
	sq_linear(g->len_logits, g->pooled, g->m->len_pred.w, g->m->len_pred.b,
	    g->n, D, C, g->pool);
	sq_xent_forward_backward(&g->len_loss, g->len_sent, g->len_logits,
	    g->len_logits, g->len_gold, g->n, C, 0, g->o.length_weight,
	    g->pool);
}

/* Its backward, for a scale of scale: adds into g->dmem and the weights. */
static void
length_backward(struct sq_graph *g, float scale)
{
	const struct sq_config *c = &g->m->cfg;
	int D = c->d_model, C = sq_nat_classes(c), i;

	sq_scale(g->len_logits, (long)g->n * C, scale, g->pool);
	memset(g->dpooled, 0, (size_t)g->n * D * sizeof(float));
	sq_linear_backward(g->dpooled, G(g->gm->len_pred.w),
	    G(g->gm->len_pred.b), g->len_logits, g->pooled, g->m->len_pred.w,
	    g->n, D, C, g->pool);
	for (i = 0; i < g->n; i++)
		sq_mean_rows_backward(g->dmem + g->s_first[i] * D,
		    g->dpooled + (long)i * D,
		    (int)(g->s_first[i + 1] - g->s_first[i]), D);
}

static void
decoder_forward(struct sq_graph *g)
{
	const struct sq_model *m = g->m;
	const struct sq_config *c = &m->cfg;
	const float *x = g->dec_x0, *in;
	long Rt = g->Rt, Rs = g->Rs;
	int l;

	/* a non-autoregressive decoder reads copied source tokens */
	embed(g, g->dec_x0, c->nat ? m->src_embed : m->tgt_embed, m->dec_pos,
	    g->dec_ids, g->t_first, site(1, -1, SITE_EMBED));
	for (l = 0; l < c->decoder_layers; l++) {
		const struct sq_decoder_layer *w = &m->dec[l];
		struct dec_layer *e = &g->dec[l];

		e->sa_sub.site = site(1, l, SITE_SA);
		e->sa.site = site(1, l, SITE_SA_WEIGHTS);
		e->ca_sub.site = site(1, l, SITE_CA);
		e->ca.site = site(1, l, SITE_CA_WEIGHTS);
		e->ca.guided = g->o.guide > 0;
		e->ff_sub.site = site(1, l, SITE_FF_OUT);
		e->ff.site = site(1, l, SITE_FF_HID);
		in = sub_begin(g, &e->sa_sub, x, &w->self_attn_norm, Rt);
		attn_forward(g, &e->sa, &w->self_attn, in, in, Rt, Rt,
		    g->t_first, g->t_first, g->p_tt,
		    c->nat ? MASK_NONE : MASK_CAUSAL);
		sub_end(g, &e->sa_sub, g->y, &w->self_attn_norm, Rt);
		in = sub_begin(g, &e->ca_sub, e->sa_sub.out, &w->cross_attn_norm,
		    Rt);
		attn_forward(g, &e->ca, &w->cross_attn, in, g->mem, Rt, Rs,
		    g->t_first, g->s_first, g->p_ts, MASK_NONE);
		sub_end(g, &e->ca_sub, g->y, &w->cross_attn_norm, Rt);
		in = sub_begin(g, &e->ff_sub, e->ca_sub.out, &w->final_norm, Rt);
		ffn_forward(g, &e->ff, &w->fc1, &w->fc2, in, Rt);
		sub_end(g, &e->ff_sub, g->y, &w->final_norm, Rt);
		x = e->ff_sub.out;
	}
	if (c->decoder_final_norm)
		sq_layernorm_forward_train(g->hid, g->dec_mean, g->dec_rstd, x,
		    m->dec_final.g, m->dec_final.b, (int)Rt, c->d_model,
		    c->layer_norm_eps, g->pool);
	else
		memcpy(g->hid, x, (size_t)Rt * c->d_model * sizeof(float));
}

/* ---- the copy mechanism (nn/copy.h, train/copy_grad.h) ---- */

/* The copy loss of the rows of a share of the sentences. */
static void
copy_part(void *arg, int i, int n)
{
	struct sq_graph *g = arg;
	const struct sq_config *c = &g->m->cfg;
	const struct attn *ca = &g->dec[c->decoder_layers - 1].ca;
	long V = c->tgt_vocab_size, H = c->n_heads, S, T, r, t;
	float *scratch = g->copy_scratch + 2L * (g->max_len + 1) * i;
	int lo, hi, s;

	sq_pool_share(g->n, 1, i, n, &lo, &hi);
	for (s = lo; s < hi; s++) {
		const int32_t *src = g->src[s];
		long p0 = g->p_ts[s] / H;

		S = g->s_first[s + 1] - g->s_first[s];
		T = g->t_first[s + 1] - g->t_first[s];
		for (t = 0; t < T; t++) {
			float *a = g->copy_a + p0 + t * S;
			float *lp = g->logits + (g->t_first[s] + t) * V;

			r = g->t_first[s] + t;
			sq_copy_attn(a, ca->probs + g->p_ts[s] + t * S, T * S,
			    (int)H, (int)S);
			g->row_loss[r] = sq_copy_xent_row(lp, &g->dgate[r],
			    g->copy_da + p0 + t * S, &g->argmax[r], scratch, lp,
			    g->gate[r], a, src, (int)S, g->gold[r], (int)V,
			    g->o.label_smoothing);
		}
	}
}

/*
 * The loss under the copy mixture: the gate's logits, the log-softmax of
 * the logits, then each row's loss, its gradient left in the logits (for
 * a scale of 1), g->dgate and g->copy_da.
 */
static void
copy_loss(struct sq_graph *g)
{
	const struct sq_model *m = g->m;
	const struct sq_config *c = &m->cfg;
	long r;

	sq_copy_gate(g->gate, g->hid, g->dec[c->decoder_layers - 1].ca.ctx,
	    g->dec_x0, m->p_gen.w, m->p_gen.b, (int)g->Rt, c->d_model);
	sq_logsoftmax(g->logits, (int)g->Rt, c->tgt_vocab_size, g->pool);
	sq_pool_run(g->pool, copy_part, g);
	g->loss = 0.0;
	for (r = 0; r < g->Rt; r++)	/* in order: any thread count */
		g->loss += g->row_loss[r];
}

double
sq_graph_forward(struct sq_graph *g, const struct sq_pairs *b,
    const struct sq_graph_opts *o, long *n_tok)
{
	const struct sq_model *m = g->m;
	const struct sq_config *c = &m->cfg;
	int i, V = c->tgt_vocab_size;

	if (setup(g, b) < 0)
		return -1;
	g->o = *o;
	if (g->rnn != NULL) {
		struct sq_rnn_batch rb = { g->n, g->src_ids, g->s_first,
		    g->dec_ids, g->t_first };

		sq_rnn_graph_forward(g->rnn, &rb, o->dropout, step_seed(g),
		    g->hid);
	} else {
		encoder_forward(g, g->src_ids);
		if (c->nat)
			length_forward(g);
		decoder_forward(g);
	}
	sq_linear(g->logits, g->hid, m->out_proj, m->out_bias, (int)g->Rt,
	    c->d_model, V, g->pool);
	/* the logits become their gradient, for a scale of 1 */
	sq_argmax(g->argmax, g->logits, (int)g->Rt, V, g->pool);
	if (c->copy)
		copy_loss(g);
	else
		sq_xent_forward_backward(&g->loss, g->row_loss, g->logits,
		    g->logits, g->gold, (int)g->Rt, V, o->label_smoothing, 1.0f,
		    g->pool);
	for (i = 0; i < b->n; i++) {
		g->sent_loss[i] = 0;
		for (long r = g->t_first[i]; r < g->t_first[i + 1]; r++)
			g->sent_loss[i] += g->row_loss[r];
		if (c->nat)
			g->sent_loss[i] += o->length_weight * g->len_sent[i];
	}
	if (c->nat)
		g->loss += o->length_weight * g->len_loss;
	g->n_tok = g->Rt;
	*n_tok = g->Rt;
	return g->loss;
}

int
sq_graph_positions(const struct sq_model *m, int tgt_len)
{
	return tgt_len + !m->cfg.nat;
}

/* ---- backward ---- */

/*
 * The start of a sublayer's backward: g->dx holds d(out) (R, D).
 * Returns d(f's output) in g->d1; g->dx becomes the residual path's share
 * of d(in) (the rest is added by sub_back_end()).
 */
static void
sub_back_begin(struct sq_graph *g, struct sub *s, const struct sq_norm *nm,
    const struct sq_norm *gnm, long R)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model;

	if (!c->pre_norm) {
		/* out = LN(sum): d(sum) into d2, the residual carries it */
		memset(g->d2, 0, (size_t)R * D * sizeof(float));
		sq_layernorm_backward(g->d2, G(gnm->g), G(gnm->b), g->dx, s->sum,
		    s->mean, s->rstd, nm->g, (int)R, (int)D, g->pool);
		memcpy(g->dx, g->d2, (size_t)R * D * sizeof(float));
	}
	sq_dropout_copy(g->d1, g->dx, R * D, g->o.dropout, step_seed(g),
	    s->site, g->pool);
}

/*
 * The end: d_fin (R, D) is d(f's input); adds it to g->dx, through the
 * pre-norm's LN.
 */
static void
sub_back_end(struct sq_graph *g, struct sub *s, const struct sq_norm *nm,
    const struct sq_norm *gnm, const float *d_fin, long R)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model, i;

	if (c->pre_norm)
		sq_layernorm_backward(g->dx, G(gnm->g), G(gnm->b), d_fin, s->in,
		    s->mean, s->rstd, nm->g, (int)R, (int)D, g->pool);
	else
		for (i = 0; i < R * D; i++)
			g->dx[i] += d_fin[i];
}

/* The input f read: LN(in) pre-norm, in post-norm. */
static const float *
f_input(const struct sq_graph *g, const struct sub *s)
{
	return g->m->cfg.pre_norm ? s->normed : s->in;
}

/*
 * Attention backward from dy = g->d1 (Rq, D): adds d(x) into dx_q (Rq,
 * D) and d(kv) into dx_kv (Rk, D) (the same array for self-attention).
 * dctx_more (Rq, D) and dprobs (attn_job's) are gradients of the context
 * and of the weights from elsewhere (the copy mechanism's), or NULL.
 */
static void
attn_backward(struct sq_graph *g, struct attn *a,
    const struct sq_attn_weights *w, const struct sq_attn_weights *gw,
    const float *x, const float *kv, float *dx_q, float *dx_kv, long Rq,
    long Rk, const long *q_first, const long *k_first, const long *p_off,
    int mask, const float *dctx_more, const float *dprobs)
{
	int D = g->m->cfg.d_model;
	float *dctx = g->d2, *dq = g->d3, *dk = g->d4, *dv = g->y;
	struct attn_job j = { g, a, q_first, k_first, p_off, mask, a->site,
	    dctx, dq, dk, dv, dprobs };

	if (dctx_more != NULL)
		memcpy(dctx, dctx_more, (size_t)Rq * D * sizeof(float));
	else
		memset(dctx, 0, (size_t)Rq * D * sizeof(float));
	sq_linear_backward(dctx, G(gw->out.w), G(gw->out.b), g->d1, a->ctx,
	    w->out.w, (int)Rq, D, D, g->pool);
	memset(dq, 0, (size_t)Rq * D * sizeof(float));
	memset(dk, 0, (size_t)Rk * D * sizeof(float));
	memset(dv, 0, (size_t)Rk * D * sizeof(float));
	sq_pool_run(g->pool, attn_part, &j);
	sq_linear_backward(dx_q, G(gw->q.w), G(gw->q.b), dq, x, w->q.w,
	    (int)Rq, D, D, g->pool);
	sq_linear_backward(dx_kv, G(gw->k.w), G(gw->k.b), dk, kv, w->k.w,
	    (int)Rk, D, D, g->pool);
	sq_linear_backward(dx_kv, G(gw->v.w), G(gw->v.b), dv, kv, w->v.w,
	    (int)Rk, D, D, g->pool);
}

/* FFN backward from dy = g->d1 (R, D): adds d(x) into dx (R, D). */
static void
ffn_backward(struct sq_graph *g, struct ffn *f, const struct sq_linear *fc1,
    const struct sq_linear *fc2, const struct sq_linear *g1,
    const struct sq_linear *g2, const float *x, float *dx, long R)
{
	const struct sq_config *c = &g->m->cfg;
	int D = c->d_model, F = c->d_ff;

	memset(g->df, 0, (size_t)R * F * sizeof(float));
	sq_linear_backward(g->df, G(g2->w), G(g2->b), g->d1, f->act, fc2->w,
	    (int)R, F, D, g->pool);
	sq_activate_backward(g->df2, f->pre, g->df, R * F, c->activation,
	    g->o.dropout, step_seed(g), f->site, g->pool);
	sq_linear_backward(dx, G(g1->w), G(g1->b), g->df2, x, fc1->w, (int)R,
	    D, F, g->pool);
}

/* An FFN sublayer's whole backward, g->dx from d(out) to d(in). */
static void
ffn_sub_backward(struct sq_graph *g, struct sub *s, struct ffn *f,
    const struct sq_linear *fc1, const struct sq_linear *fc2,
    const struct sq_linear *g1, const struct sq_linear *g2,
    const struct sq_norm *nm, const struct sq_norm *gnm, long R)
{
	long D = g->m->cfg.d_model;
	float *d_fin = g->d3;

	sub_back_begin(g, s, nm, gnm, R);
	memset(d_fin, 0, (size_t)R * D * sizeof(float));
	ffn_backward(g, f, fc1, fc2, g1, g2, f_input(g, s), d_fin, R);
	sub_back_end(g, s, nm, gnm, d_fin, R);
}

/* d(positions): the learned ones (dP not NULL) get dx0 (R, D)'s rows. */
static void
positions_backward(struct sq_graph *g, const float *dx0, float *dP,
    const long *first)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model;

	for (int i = 0; dP != NULL && i < g->n; i++)
		sq_positions_backward(dP, dx0 + first[i] * D, c->position_offset,
		    (int)(first[i + 1] - first[i]), (int)D);
}

/* d(embedding rows) dx0 (R, D) into dE and the learned positions. */
static void
embed_backward(struct sq_graph *g, float *dx0, float *dE, float *dP,
    const int32_t *ids, const long *first, uint64_t s)
{
	const struct sq_config *c = &g->m->cfg;
	long D = c->d_model, R = first[g->n];

	undrop(g, dx0, R * D, s);
	sq_embed_backward(dE, dx0, ids, c->embed_scale, (int)R, (int)D);
	positions_backward(g, dx0, dP, first);
}

/* Input frames: d(x0) into the projection's weight and bias, positions. */
static void
embed_frames_backward(struct sq_graph *g, float *dx0)
{
	const struct sq_config *c = &g->m->cfg;
	const struct sq_model *gm = g->gm;
	long D = c->d_model, K = (long)c->subsample * c->frame_dim;

	undrop(g, dx0, g->Rs * D, site(0, -1, SITE_EMBED));
	sq_linear_backward(NULL, G(gm->frame_proj.w), G(gm->frame_proj.b), dx0,
	    g->stacked, g->m->frame_proj.w, (int)g->Rs, (int)K, (int)D,
	    g->pool);
	positions_backward(g, dx0, G(gm->enc_pos), g->s_first);
}

/*
 * Self-attention sublayer backward, g->dx from d(out) to d(in); the
 * queries, keys and values all came from f's input.
 */
static void
self_sub_backward(struct sq_graph *g, struct sub *s, struct attn *a,
    const struct sq_attn_weights *w, const struct sq_attn_weights *gw,
    const struct sq_norm *nm, const struct sq_norm *gnm, long R,
    const long *first, const long *p_off, int mask)
{
	long D = g->m->cfg.d_model;
	float *d_fin = g->d5;

	sub_back_begin(g, s, nm, gnm, R);
	memset(d_fin, 0, (size_t)R * D * sizeof(float));
	attn_backward(g, a, w, gw, f_input(g, s), f_input(g, s), d_fin, d_fin,
	    R, R, first, first, p_off, mask, NULL, NULL);
	sub_back_end(g, s, nm, gnm, d_fin, R);
}

static void
decoder_backward(struct sq_graph *g)
{
	const struct sq_model *m = g->m, *gm = g->gm;
	const struct sq_config *c = &m->cfg;
	long Rt = g->Rt, Rs = g->Rs, D = c->d_model;
	int l, L = c->decoder_layers;

	memset(g->dmem, 0, (size_t)Rs * D * sizeof(float));
	for (l = L - 1; l >= 0; l--) {
		const struct sq_decoder_layer *w = &m->dec[l];
		const struct sq_decoder_layer *gw = &gm->dec[l];
		struct dec_layer *e = &g->dec[l];
		float *d_fin = g->d5;
		int copy = c->copy && l == L - 1;	/* what copy read */

		ffn_sub_backward(g, &e->ff_sub, &e->ff, &w->fc1, &w->fc2,
		    &gw->fc1, &gw->fc2, &w->final_norm, &gw->final_norm, Rt);
		sub_back_begin(g, &e->ca_sub, &w->cross_attn_norm,
		    &gw->cross_attn_norm, Rt);
		memset(d_fin, 0, (size_t)Rt * D * sizeof(float));
		attn_backward(g, &e->ca, &w->cross_attn, &gw->cross_attn,
		    f_input(g, &e->ca_sub), g->mem, d_fin, g->dmem, Rt, Rs,
		    g->t_first, g->s_first, g->p_ts, MASK_NONE,
		    copy ? g->copy_dctx : NULL, copy ? g->copy_da : NULL);
		sub_back_end(g, &e->ca_sub, &w->cross_attn_norm,
		    &gw->cross_attn_norm, d_fin, Rt);
		self_sub_backward(g, &e->sa_sub, &e->sa, &w->self_attn,
		    &gw->self_attn, &w->self_attn_norm, &gw->self_attn_norm, Rt,
		    g->t_first, g->p_tt, c->nat ? MASK_NONE : MASK_CAUSAL);
	}
	if (c->copy)	/* the gate read the input embeddings */
		sq_add(g->dx, g->copy_dx0, Rt * D);
	embed_backward(g, g->dx, G(c->nat ? gm->src_embed : gm->tgt_embed),
	    G(gm->dec_pos), g->dec_ids, g->t_first, site(1, -1, SITE_EMBED));
}

static void
encoder_backward(struct sq_graph *g, const int32_t *src_ids)
{
	const struct sq_model *m = g->m, *gm = g->gm;
	const struct sq_config *c = &m->cfg;
	long Rs = g->Rs, D = c->d_model;
	const float *last = c->encoder_layers > 0 ?
	    g->enc[c->encoder_layers - 1].ff_sub.out : g->enc_x0;
	int l;

	if (c->encoder_final_norm) {
		memset(g->dx, 0, (size_t)Rs * D * sizeof(float));
		sq_layernorm_backward(g->dx, G(gm->enc_final.g),
		    G(gm->enc_final.b), g->dmem, last, g->enc_mean, g->enc_rstd,
		    m->enc_final.g, (int)Rs, (int)D, g->pool);
	} else
		memcpy(g->dx, g->dmem, (size_t)Rs * D * sizeof(float));
	for (l = c->encoder_layers - 1; l >= 0; l--) {
		const struct sq_encoder_layer *w = &m->enc[l];
		const struct sq_encoder_layer *gw = &gm->enc[l];
		struct enc_layer *e = &g->enc[l];

		ffn_sub_backward(g, &e->ff_sub, &e->ff, &w->fc1, &w->fc2,
		    &gw->fc1, &gw->fc2, &w->final_norm, &gw->final_norm, Rs);
		self_sub_backward(g, &e->sa_sub, &e->sa, &w->self_attn,
		    &gw->self_attn, &w->self_attn_norm, &gw->self_attn_norm, Rs,
		    g->s_first, g->p_ss, MASK_WINDOW);
	}
	if (c->input == SQ_INPUT_FRAMES)
		embed_frames_backward(g, g->dx);
	else
		embed_backward(g, g->dx, G(gm->src_embed), G(gm->enc_pos),
		    src_ids, g->s_first, site(0, -1, SITE_EMBED));
}

/*
 * The copy gate's backward at g->scale: d(hid) in g->d1 gets its share,
 * the last cross-attention's context and the input embeddings theirs in
 * g->copy_dctx and g->copy_dx0, and each head's weights 1/H of the copy
 * attention's gradient (their mean's).
 */
static void
copy_gate_backward(struct sq_graph *g)
{
	const struct sq_model *m = g->m, *gm = g->gm;
	const struct sq_config *c = &m->cfg;
	long Rt = g->Rt, D = c->d_model;
	float scale = g->scale;

	sq_scale(g->dgate, Rt, scale, g->pool);
	sq_scale(g->copy_da, g->p_ts[g->n] / c->n_heads, scale / c->n_heads,
	    g->pool);
	memset(g->copy_dctx, 0, (size_t)Rt * D * sizeof(float));
	memset(g->copy_dx0, 0, (size_t)Rt * D * sizeof(float));
	sq_copy_gate_backward(g->d1, g->copy_dctx, g->copy_dx0,
	    G(gm->p_gen.w), G(gm->p_gen.b), g->dgate, g->hid,
	    g->dec[c->decoder_layers - 1].ca.ctx, g->dec_x0, m->p_gen.w,
	    (int)Rt, (int)D);
}

/* The backward from g->logits, d(loss)/d(logits) as the caller scaled it. */
static void
backward(struct sq_graph *g)
{
	const struct sq_model *m = g->m, *gm = g->gm;
	const struct sq_config *c = &m->cfg;
	long Rt = g->Rt, D = c->d_model;
	int V = c->tgt_vocab_size;
	const float *last;

	memset(g->d1, 0, (size_t)Rt * D * sizeof(float));
	sq_linear_backward(g->d1, G(gm->out_proj), G(gm->out_bias), g->logits,
	    g->hid, m->out_proj, (int)Rt, (int)D, V, g->pool);
	if (g->rnn != NULL) {
		sq_rnn_graph_backward(g->rnn, g->d1);
		return;
	}
	if (c->copy)
		copy_gate_backward(g);
	last = c->decoder_layers > 0 ?
	    g->dec[c->decoder_layers - 1].ff_sub.out : g->dec_x0;
	if (c->decoder_final_norm) {
		memset(g->dx, 0, (size_t)Rt * D * sizeof(float));
		sq_layernorm_backward(g->dx, G(gm->dec_final.g),
		    G(gm->dec_final.b), g->d1, last, g->dec_mean, g->dec_rstd,
		    m->dec_final.g, (int)Rt, (int)D, g->pool);
	} else
		memcpy(g->dx, g->d1, (size_t)Rt * D * sizeof(float));
	decoder_backward(g);
	if (c->nat)
		length_backward(g, g->scale);
	encoder_backward(g, g->src_ids);
}

void
sq_graph_backward(struct sq_graph *g, float scale)
{
	g->scale = scale;
	/* d(logits): the forward left them for a scale of 1 */
	sq_scale(g->logits, g->Rt * g->m->cfg.tgt_vocab_size, scale, g->pool);
	backward(g);
}

void
sq_graph_backward_each(struct sq_graph *g, const float *scale)
{
	long V = g->m->cfg.tgt_vocab_size;

	/* a nat model's length loss and a copy model's gate have one scale
	   (train: no --nat --mrt, no --copy --mrt) */
	SQ_ASSERT(!g->m->cfg.nat && !g->m->cfg.copy);
	for (int i = 0; i < g->n; i++)
		sq_scale(g->logits + g->t_first[i] * V, (g->t_first[i + 1] -
		    g->t_first[i]) * V, scale[i], g->pool);
	backward(g);
}
