/*
 * rnn_graph: arch rnn's training forward and backward (see rnn_graph.h).
 *
 * Dimension letters: Rs source rows and Rt target rows of the batch, n
 * sentences, D width, h = D/2 units per direction of the encoder, Le and
 * Ld layers.  Per side, layer l reads in[l] (the embeddings for l = 0,
 * else the layer below's output after dropout) and writes out[l]; the
 * memory is the encoder's out[Le - 1], the decoder's top states its
 * out[Ld - 1].
 */
#include <stdlib.h>
#include <string.h>

#include "nn/gru.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/rnn_decoder.h"
#include "train/grad.h"
#include "train/gru_grad.h"
#include "train/rnn_graph.h"
#include "base/pool.h"
#include "base/util.h"

/* A gradient field: gm's pointers are const as the model's are. */
#define G(p) ((float *)(p))

/* One side's layers: the inputs, outputs and what the backward needs. */
struct side {
	float **in;		/* (L) (R, D): in[0] the embeddings */
	float **out;		/* (L) (R, D) */
	float **saved;		/* (L) (dirs, R, 4 h) sq_gru_layer()'s */
	struct sq_gru_seq seq;
};

struct sq_rnn_graph {
	const struct sq_model *m, *gm;
	struct sq_pool *pool;
	int n_thr;
	struct sq_rnn_batch b;
	long Rs, Rt;
	float p;
	uint64_t seed;

	float *arena;
	long cap;
	struct side enc, dec;
	float *xp;		/* (max R, 3D) input projections, then their
				   gradient */
	float *keys;		/* (Rs, D) memory W_a^T */
	float *mean, *init;	/* (n, D), (n, Ld D) the bridge's */
	float *h0;		/* (Ld, n, D) init, layer by layer */
	long *p_off;		/* (n + 1) each sentence's Tq Tk weights */
	float *probs;		/* (p_off[n]) attention weights */
	float *ctx;		/* (Rt, D) */
	float *cat;		/* (Rt, 2D) [ctx, top] */
	float *ht;		/* (Rt, D) tanh(W_c cat + b_c), not dropped */
	/* backward */
	float *dcat;		/* (Rt, 2D) */
	float *da, *db;		/* (max R, D) a layer's d(out), d(in) */
	float *dmem, *dkeys;	/* (Rs, D) */
	float *dinit, *dh0;	/* (n, Ld D), (n, D) */
	float *att;		/* (n_thr, max Tq Tk) attention scratch */
	long att_stride;
	float *scratch;		/* (n + 4 max R, D) the walks' */
};

/* Dropout streams: one per (side, layer input), and the outputs. */
static uint64_t
site(int decoder, int layer)
{
	return (uint64_t)decoder << 40 | (uint64_t)(layer + 1) << 8 | 0x52;
}
#define SITE_OUT (site(1, 1 << 20))

struct sq_rnn_graph *
sq_rnn_graph_new(const struct sq_model *m, const struct sq_model *gm,
    struct sq_pool *pool)
{
	struct sq_rnn_graph *r = sq_calloc(1, sizeof(*r));
	const struct sq_config *c = &m->cfg;

	r->m = m;
	r->gm = gm;
	r->pool = pool;
	r->n_thr = sq_pool_threads(pool);
	r->enc.in = sq_calloc((size_t)c->encoder_layers, 3 * sizeof(float *));
	r->enc.out = r->enc.in + c->encoder_layers;
	r->enc.saved = r->enc.out + c->encoder_layers;
	r->dec.in = sq_calloc((size_t)c->decoder_layers, 3 * sizeof(float *));
	r->dec.out = r->dec.in + c->decoder_layers;
	r->dec.saved = r->dec.out + c->decoder_layers;
	return r;
}

void
sq_rnn_graph_free(struct sq_rnn_graph *r)
{
	if (r == NULL)
		return;
	sq_gru_seq_free(&r->enc.seq);
	sq_gru_seq_free(&r->dec.seq);
	free(r->enc.in);
	free(r->dec.in);
	free(r->p_off);
	free(r->arena);
	free(r);
}

/*
 * Carves the arena for the batch: with base NULL it only counts, in
 * floats (64-byte aligned pieces).
 */
static long
plan(struct sq_rnn_graph *r, float *base)
{
	const struct sq_config *c = &r->m->cfg;
	long D = c->d_model, n = r->b.n, Rs = r->Rs, Rt = r->Rt;
	long Rmax = SQ_MAX(Rs, Rt), used = 0, max_tt = 1;
	int l, i;
#define TAKE(p, count) do { (p) = base ? base + used : NULL; \
	used += ((count) + 15) / 16 * 16; } while (0)

	for (i = 0; i < n; i++)
		max_tt = SQ_MAX(max_tt, r->p_off[i + 1] - r->p_off[i]);
	for (l = 0; l < c->encoder_layers; l++) {
		TAKE(r->enc.in[l], Rs * D);
		TAKE(r->enc.out[l], Rs * D);
		TAKE(r->enc.saved[l], 2 * Rs * 2 * D);	/* 2 dirs, 4 h */
	}
	for (l = 0; l < c->decoder_layers; l++) {
		TAKE(r->dec.in[l], Rt * D);
		TAKE(r->dec.out[l], Rt * D);
		TAKE(r->dec.saved[l], Rt * 4 * D);
	}
	TAKE(r->xp, Rmax * 3 * D);
	TAKE(r->keys, Rs * D);
	TAKE(r->mean, n * D);
	TAKE(r->init, n * c->decoder_layers * D);
	TAKE(r->h0, n * c->decoder_layers * D);
	TAKE(r->probs, r->p_off[n]);
	TAKE(r->ctx, Rt * D);
	TAKE(r->cat, Rt * 2 * D);
	TAKE(r->ht, Rt * D);
	TAKE(r->dcat, Rt * 2 * D);
	TAKE(r->da, Rmax * D);
	TAKE(r->db, Rmax * D);
	TAKE(r->dmem, Rs * D);
	TAKE(r->dkeys, Rs * D);
	TAKE(r->dinit, n * c->decoder_layers * D);
	TAKE(r->dh0, n * D);
	r->att_stride = max_tt;
	TAKE(r->att, r->n_thr * max_tt);
	TAKE(r->scratch, (n + 4 * Rmax) * D);
#undef TAKE
	return used;
}

static void
setup(struct sq_rnn_graph *r, const struct sq_rnn_batch *b)
{
	long need;
	int i;

	r->b = *b;
	r->Rs = b->s_first[b->n];
	r->Rt = b->t_first[b->n];
	r->p_off = sq_reallocarray(r->p_off, (size_t)b->n + 1, sizeof(long));
	r->p_off[0] = 0;
	for (i = 0; i < b->n; i++)
		r->p_off[i + 1] = r->p_off[i] + (b->t_first[i + 1] -
		    b->t_first[i]) * (b->s_first[i + 1] - b->s_first[i]);
	sq_gru_seq_plan(&r->enc.seq, b->n, b->s_first);
	sq_gru_seq_plan(&r->dec.seq, b->n, b->t_first);
	need = plan(r, NULL);
	if (need > r->cap) {
		free(r->arena);
		r->arena = sq_malloc((size_t)need * sizeof(float));
		r->cap = need;
	}
	plan(r, r->arena);
}

/* ---- forward ---- */

static void
drop(struct sq_rnn_graph *r, float *x, long n, uint64_t s)
{
	if (r->p > 0)
		sq_dropout_forward(x, NULL, n, r->p, r->seed, s, r->pool);
}

static void
undrop(struct sq_rnn_graph *r, float *dx, long n, uint64_t s)
{
	if (r->p > 0)
		sq_dropout_backward(dx, NULL, n, r->p, r->seed, s, r->pool);
}

/* in[0] (R, D) = the embeddings of ids, packed by first, dropped. */
static void
embed(struct sq_rnn_graph *r, struct side *sd, const float *E,
    const int32_t *ids, const long *first, int decoder)
{
	const struct sq_config *c = &r->m->cfg;
	long R = first[r->b.n];

	sq_embed(sd->in[0], E, ids, NULL, c->embed_scale, (int)R, c->d_model);
	drop(r, sd->in[0], R * c->d_model, site(decoder, 0));
}

/*
 * The GRU stack of one side over R rows: the encoder's layers have two
 * directions of D/2 units, the decoder's one of D, started from h0.
 */
static void
stack_forward(struct sq_rnn_graph *r, struct side *sd, long R, int decoder)
{
	const struct sq_model *m = r->m;
	int D = m->cfg.d_model, dirs = decoder ? 1 : 2, H = D / dirs;
	int L = decoder ? m->cfg.decoder_layers : m->cfg.encoder_layers;
	int l, dir;

	for (l = 0; l < L; l++) {
		if (l > 0) {
			memcpy(sd->in[l], sd->out[l - 1], (size_t)R * D *
			    sizeof(float));
			drop(r, sd->in[l], R * D, site(decoder, l));
		}
		for (dir = 0; dir < dirs; dir++) {
			const struct sq_gru *w = decoder ? &m->dec_gru[l] :
			    &m->enc_gru[2 * l + dir];

			sq_linear(r->xp, sd->in[l], w->w_ih, w->b_ih, (int)R, D,
			    3 * H, r->pool);
			sq_gru_layer(sd->out[l] + dir * H, D, sd->saved[l] +
			    dir * R * 4 * H, r->xp, decoder ? r->h0 +
			    (long)l * r->b.n * D : NULL, w, H, dir, &sd->seq,
			    r->scratch, r->pool);
		}
	}
}

/* Attention of a share of the sentences: forward, or backward. */
struct att_job {
	struct sq_rnn_graph *r;
	int backward;
};

static void
att_part(void *arg, int i, int n)
{
	struct att_job *j = arg;
	struct sq_rnn_graph *r = j->r;
	const struct sq_config *c = &r->m->cfg;
	long D = c->d_model;
	const float *mem = r->enc.out[c->encoder_layers - 1];
	const float *top = r->dec.out[c->decoder_layers - 1];
	int lo, hi, s;

	sq_pool_share(r->b.n, 1, i, n, &lo, &hi);
	for (s = lo; s < hi; s++) {
		long q0 = r->b.t_first[s], k0 = r->b.s_first[s];
		int Tq = (int)(r->b.t_first[s + 1] - q0);
		int Tk = (int)(r->b.s_first[s + 1] - k0);

		if (!j->backward)
			sq_attention_forward(r->ctx + q0 * D, r->probs +
			    r->p_off[s], NULL, top + q0 * D, r->keys + k0 * D,
			    mem + k0 * D, Tq, Tk, (int)D, 1, 0, 0, NULL, NULL);
		else	/* d(top) in da, d(ctx) in db */
			sq_attention_backward(r->da + q0 * D, r->dkeys + k0 * D,
			    r->dmem + k0 * D, r->att + (long)i * r->att_stride,
			    r->db + q0 * D, r->probs + r->p_off[s], top + q0 * D,
			    r->keys + k0 * D, mem + k0 * D, Tq, Tk, (int)D, 1, 0,
			    0, NULL, NULL, NULL, NULL);
	}
}

void
sq_rnn_graph_forward(struct sq_rnn_graph *r, const struct sq_rnn_batch *b,
    float p, uint64_t seed, float *hid)
{
	const struct sq_model *m = r->m;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, L = c->decoder_layers, n = b->n, Rt, t, l, i;
	struct att_job aj = { r, 0 };
	const float *mem, *top;

	setup(r, b);
	r->p = p;
	r->seed = seed;
	Rt = r->Rt;
	embed(r, &r->enc, m->src_embed, b->src, b->s_first, 0);
	stack_forward(r, &r->enc, r->Rs, 0);
	mem = r->enc.out[c->encoder_layers - 1];
	sq_linear(r->keys, mem, m->attn_key, NULL, (int)r->Rs, (int)D, (int)D,
	    r->pool);
	sq_rnn_first_states(r->init, r->mean, m, mem, b->s_first, (int)n,
	    r->pool);
	for (l = 0; l < L; l++)
		for (i = 0; i < n; i++)
			memcpy(r->h0 + (l * n + i) * D, r->init + (i * L + l) * D,
			    (size_t)D * sizeof(float));
	embed(r, &r->dec, m->tgt_embed, b->dec, b->t_first, 1);
	stack_forward(r, &r->dec, Rt, 1);
	top = r->dec.out[L - 1];
	sq_pool_run(r->pool, att_part, &aj);
	for (t = 0; t < Rt; t++) {
		memcpy(r->cat + t * 2 * D, r->ctx + t * D, (size_t)D *
		    sizeof(float));
		memcpy(r->cat + t * 2 * D + D, top + t * D, (size_t)D *
		    sizeof(float));
	}
	sq_linear(r->ht, r->cat, m->attn_out.w, m->attn_out.b, (int)Rt,
	    (int)(2 * D), (int)D, r->pool);
	sq_tanh(r->ht, Rt * D);
	memcpy(hid, r->ht, (size_t)Rt * D * sizeof(float));
	drop(r, hid, Rt * D, SITE_OUT);
}

/* ---- backward ---- */

/*
 * The stack of one side backwards, from r->da (R, D), the gradient of its
 * last layer's output.  The decoder adds its first states' gradient to
 * r->dinit.  Ends with d(embeddings) in r->da, not yet undropped.
 */
static void
stack_backward(struct sq_rnn_graph *r, struct side *sd, long R, int decoder)
{
	const struct sq_model *m = r->m, *gm = r->gm;
	long D = m->cfg.d_model, n = r->b.n, i;
	int dirs = decoder ? 1 : 2, H = (int)D / dirs;
	int L = decoder ? m->cfg.decoder_layers : m->cfg.encoder_layers;
	int l, dir;
	float *t;

	for (l = L - 1; l >= 0; l--) {
		memset(r->db, 0, (size_t)R * D * sizeof(float));
		for (dir = 0; dir < dirs; dir++) {
			const struct sq_gru *w = decoder ? &m->dec_gru[l] :
			    &m->enc_gru[2 * l + dir];
			const struct sq_gru *gw = decoder ? &gm->dec_gru[l] :
			    &gm->enc_gru[2 * l + dir];

			if (decoder)
				memset(r->dh0, 0, (size_t)n * D * sizeof(float));
			sq_gru_layer_backward(r->xp, decoder ? r->dh0 : NULL,
			    G(gw->w_hh), G(gw->b_hh), r->da + dir * H, D,
			    sd->out[l] + dir * H, sd->saved[l] + dir * R * 4 * H,
			    decoder ? r->h0 + l * n * D : NULL, w, H, dir,
			    &sd->seq, r->scratch, r->pool);
			sq_linear_backward(r->db, G(gw->w_ih), G(gw->b_ih), r->xp,
			    sd->in[l], w->w_ih, (int)R, (int)D, 3 * H, r->pool);
			for (i = 0; decoder && i < n; i++)
				sq_add(r->dinit + (i * m->cfg.decoder_layers + l) *
				    D, r->dh0 + i * D, D);
		}
		/* d(in[l]) is d(out[l - 1]) through the dropout */
		t = r->da, r->da = r->db, r->db = t;
		if (l > 0)
			undrop(r, r->da, R * D, site(decoder, l));
	}
}

void
sq_rnn_graph_backward(struct sq_rnn_graph *r, float *dhid)
{
	const struct sq_model *m = r->m, *gm = r->gm;
	const struct sq_config *c = &m->cfg;
	long D = c->d_model, L = c->decoder_layers, n = r->b.n;
	long Rs = r->Rs, Rt = r->Rt, t, i, s, S, k;
	const float *mem = r->enc.out[c->encoder_layers - 1];
	struct att_job aj = { r, 1 };

	/* the combined output: d(pre-tanh), then d(cat) */
	undrop(r, dhid, Rt * D, SITE_OUT);
	for (t = 0; t < Rt * D; t++)
		dhid[t] *= 1.0f - r->ht[t] * r->ht[t];
	memset(r->dcat, 0, (size_t)Rt * 2 * D * sizeof(float));
	sq_linear_backward(r->dcat, G(gm->attn_out.w), G(gm->attn_out.b), dhid,
	    r->cat, m->attn_out.w, (int)Rt, (int)(2 * D), (int)D, r->pool);
	/* d(ctx) into db, d(top) into da; attention adds to da and dmem */
	for (t = 0; t < Rt; t++) {
		memcpy(r->db + t * D, r->dcat + t * 2 * D, (size_t)D *
		    sizeof(float));
		memcpy(r->da + t * D, r->dcat + t * 2 * D + D, (size_t)D *
		    sizeof(float));
	}
	memset(r->dmem, 0, (size_t)Rs * D * sizeof(float));
	memset(r->dkeys, 0, (size_t)Rs * D * sizeof(float));
	sq_pool_run(r->pool, att_part, &aj);
	sq_linear_backward(r->dmem, G(gm->attn_key), NULL, r->dkeys, mem,
	    m->attn_key, (int)Rs, (int)D, (int)D, r->pool);

	memset(r->dinit, 0, (size_t)n * L * D * sizeof(float));
	stack_backward(r, &r->dec, Rt, 1);
	undrop(r, r->da, Rt * D, site(1, 0));
	sq_embed_backward(G(gm->tgt_embed), r->da, r->b.dec, c->embed_scale,
	    (int)Rt, (int)D);

	/* the bridge: init = tanh(mean W_b^T + b_b), mean of the memory */
	for (t = 0; t < n * L * D; t++)
		r->dinit[t] *= 1.0f - r->init[t] * r->init[t];
	memset(r->dh0, 0, (size_t)n * D * sizeof(float));
	sq_linear_backward(r->dh0, G(gm->bridge.w), G(gm->bridge.b), r->dinit,
	    r->mean, m->bridge.w, (int)n, (int)D, (int)(L * D), r->pool);
	for (i = 0; i < n; i++) {
		S = r->b.s_first[i + 1] - r->b.s_first[i];
		for (s = 0; s < S; s++)
			for (k = 0; k < D; k++)
				r->dmem[(r->b.s_first[i] + s) * D + k] +=
				    r->dh0[i * D + k] / (float)S;
	}

	memcpy(r->da, r->dmem, (size_t)Rs * D * sizeof(float));
	stack_backward(r, &r->enc, Rs, 0);
	undrop(r, r->da, Rs * D, site(0, 0));
	sq_embed_backward(G(gm->src_embed), r->da, r->b.src, c->embed_scale,
	    (int)Rs, (int)D);
}
