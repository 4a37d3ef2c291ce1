/*
 * test_decoder: the decoder's row bookkeeping on a small random model
 * built in memory (no file): rows that are reordered, duplicated and
 * dropped by sq_decoder_select() between steps must get exactly the
 * log-probs they get when each hypothesis is decoded alone from the start
 * (the key/value cache follows its parents by index), for one and two
 * threads; plus the encoder's packing: a sentence's output does not
 * depend on the batch it is in.  And lib/search's beam step function
 * over the decoder, reused here as any program may: a beam of 1 is
 * greedy search.  Post-norm and pre-norm, ReLU and GELU, and a model
 * with the copy mechanism (nn/copy.h), whose rows also carry their
 * sentence's source ids (one repeated: its mass counts once).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/decoder.h"
#include "nn/encoder.h"
#include "nn/model.h"
#include "search/beam.h"
#include "search/decoding.h"
#include "search/greedy.h"
#include "base/pool.h"
#include "base/util.h"
#include "tap.h"

enum { D = 32, H = 4, F = 48, L = 2, V = 37, P = 64, S = 5, T = 6 };

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;

/* every weight array, freed at the end */
static float *weights[512];
static int n_weights;

static float *
rand_vec(long n, float scale)
{
	float *x = sq_malloc(n * sizeof(float));
	long i;

	SQ_ASSERT(n_weights < 512);
	weights[n_weights++] = x;
	for (i = 0; i < n; i++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		x[i] = (float)((rng >> 40) / (double)(1 << 24) * 2.0 - 1.0) *
		    scale;
	}
	return x;
}

static void
linear(struct sq_linear *l, int out, int in)
{
	l->w = rand_vec((long)out * in, 1.0f / sqrtf((float)in));
	l->b = rand_vec(out, 0.1f);
	l->wq = (struct sq_mat){ .dtype = SQ_W_F32, .data = l->w };
}

static void
norm(struct sq_norm *n)
{
	float *g = rand_vec(D, 0.1f);
	int i;

	for (i = 0; i < D; i++)
		g[i] += 1.0f;
	n->g = g;
	n->b = rand_vec(D, 0.1f);
}

static void
attn(struct sq_attn_weights *a)
{
	linear(&a->q, D, D);
	linear(&a->k, D, D);
	linear(&a->v, D, D);
	linear(&a->out, D, D);
}

/* A model in memory: its weights are in weights[]. */
static struct sq_model *
make_model(int pre_norm, int act, int copy)
{
	struct sq_model *m = sq_calloc(1, sizeof(*m));
	struct sq_config *c = &m->cfg;
	int l;

	c->d_model = D, c->n_heads = H, c->d_ff = F;
	c->encoder_layers = c->decoder_layers = L;
	c->src_vocab_size = c->tgt_vocab_size = V;
	c->max_positions = P;
	c->pre_norm = pre_norm;
	c->encoder_final_norm = c->decoder_final_norm = pre_norm;
	c->activation = act;
	c->positions = SQ_POS_SIN_INTERLEAVED;
	c->embed_scale = sqrtf((float)D);
	c->eos_id = 2, c->unk_id = 3, c->bos_id = 1, c->decoder_start_id = 1;
	c->layer_norm_eps = 1e-5f;
	c->copy = c->shared_vocab = copy;
	if (copy)
		linear(&m->p_gen, 1, 3 * D);
	m->src_embed = rand_vec((long)V * D, 0.2f);
	m->tgt_embed = rand_vec((long)V * D, 0.2f);
	m->out_proj = rand_vec((long)V * D, 0.3f);
	m->src_embed_q = (struct sq_mat){ .dtype = SQ_W_F32,
	    .data = m->src_embed };
	m->tgt_embed_q = (struct sq_mat){ .dtype = SQ_W_F32,
	    .data = m->tgt_embed };
	m->out_proj_q = (struct sq_mat){ .dtype = SQ_W_F32,
	    .data = m->out_proj };
	m->enc = sq_calloc(L, sizeof(*m->enc));
	m->dec = sq_calloc(L, sizeof(*m->dec));
	for (l = 0; l < L; l++) {
		attn(&m->enc[l].self_attn);
		norm(&m->enc[l].self_attn_norm);
		linear(&m->enc[l].fc1, F, D);
		linear(&m->enc[l].fc2, D, F);
		norm(&m->enc[l].final_norm);
		attn(&m->dec[l].self_attn);
		norm(&m->dec[l].self_attn_norm);
		attn(&m->dec[l].cross_attn);
		norm(&m->dec[l].cross_attn_norm);
		linear(&m->dec[l].fc1, F, D);
		linear(&m->dec[l].fc2, D, F);
		norm(&m->dec[l].final_norm);
	}
	if (pre_norm) {
		norm(&m->enc_final);
		norm(&m->dec_final);
	}
	return m;
}

/*
 * Hypothesis h of the test: tokens toks[h][0..T) fed after the start
 * token, over sentence sent_of[h].  Decoded alone: logp (T, V).
 */
static const int sent_of[4] = { 0, 1, 1, 0 };

static void
alone(struct sq_decoder *d, const float *mem, const int32_t *src, int len,
    const int32_t *toks, float *logp)
{
	int32_t tok;
	int t;

	sq_decoder_begin(d, 1, &mem, &src, &len, 1, T);
	for (t = 0; t < T; t++) {
		tok = t == 0 ? 1 : toks[t - 1];
		sq_decoder_step(d, &tok, logp + (long)t * V);
	}
}

static void
test_select(struct sq_model *m, struct sq_pool *pool, const char *name)
{
	struct sq_decoder *d = sq_decoder_new(m, pool);
	struct sq_encoder *e = sq_encoder_new(m, pool);
	int32_t src0[S] = { 4, 5, 6, 5, 8 }, src1[3] = { 9, 10, 11 };
	const int32_t *srcs[2] = { src0, src1 };
	int lens[2] = { S, 3 }, h, t, r;
	int32_t toks[4][T];
	float *mem[2], *ref = sq_malloc(4L * T * V * sizeof(float));
	float *lp = sq_malloc(4L * V * sizeof(float));
	float *lp4 = sq_malloc((long)T * V * sizeof(float));
	double err = 0.0;
	char what[128];

	for (h = 0; h < 4; h++)
		for (t = 0; t < T; t++)	/* 0 and 3 share their first 2 */
			toks[h][t] = 4 + (t < 2 && h == 3 ? 0 : h) * 3 + t;
	sq_encoder_run(e, 2, srcs, lens);
	for (h = 0; h < 2; h++) {
		mem[h] = sq_malloc((long)lens[h] * D * sizeof(float));
		memcpy(mem[h], sq_encoder_out(e, h), (long)lens[h] * D *
		    sizeof(float));
	}
	for (h = 0; h < 4; h++)
		alone(d, mem[sent_of[h]], srcs[sent_of[h]], lens[sent_of[h]],
		    toks[h], ref + (long)h * T * V);

	/*
	 * Together: rows start as sentences 0 and 1; after step 0 row r
	 * becomes hypothesis r (parents 0 1 1 0: duplication); after step 2
	 * hypothesis 3 (which shares hypothesis 0's first two tokens) is
	 * rebuilt from hypothesis 0's row, and the rows come in reverse
	 * order; after step 4 hypothesis 1 is dropped.
	 */
	{
		const float *mems[2] = { mem[0], mem[1] };
		int live[4] = { 0, 1, 2, 3 }, n = 2, par[4], k;
		int32_t in[4] = { 1, 1, 1, 1 };

		sq_decoder_begin(d, 2, mems, srcs, lens, 4, T);
		for (t = 0; t < T; t++) {
			sq_decoder_step(d, in, lp);
			for (r = 0; r < n; r++) {
				h = t == 0 ? -1 : live[r];
				if (h < 0)	/* step 0: rows are sentences */
					for (k = 0; k < 4; k++) {
						if (sent_of[k] == r)
							err = SQ_MAX(err, max_diff(lp +
							    (long)r * V, ref + (long)k *
							    T * V, V));
					}
				else
					err = SQ_MAX(err, max_diff(lp + (long)r * V,
					    ref + ((long)h * T + t) * V, V));
			}
			if (t == 0) {
				int p0[4] = { 0, 1, 1, 0 };

				memcpy(par, p0, sizeof(par));
				n = 4;
			} else if (t == 2) {
				/* rows hold 0 1 2 3; new: 3(from 0) 2 1 0 */
				int p2[4] = { 0, 2, 1, 0 }, l2[4] = { 3, 2, 1, 0 };

				memcpy(par, p2, sizeof(par));
				memcpy(live, l2, sizeof(live));
			} else if (t == 4) {
				/* rows hold 3 2 1 0; drop 1 */
				int p4[3] = { 0, 1, 3 }, l4[3] = { 3, 2, 0 };

				memcpy(par, p4, sizeof(p4));
				memcpy(live, l4, sizeof(l4));
				n = 3;
			} else
				for (r = 0; r < n; r++)
					par[r] = r;
			if (sq_decoder_select(d, par, n) < 0)
				err = INFINITY;
			for (r = 0; r < n; r++)
				in[r] = toks[live[r]][t];
		}
	}
	snprintf(what, sizeof(what), "%s, %d thread(s): reordered, "
	    "duplicated, dropped rows equal rows decoded alone", name,
	    sq_pool_threads(pool));
	ok(err < 1e-5, "%s (max abs diff %.3g)", what, err);

	/*
	 * The arena carved for that batch of 4 rows is carved again for one
	 * row: the same decoder gives what it gave before the batch.
	 */
	alone(d, mem[sent_of[3]], srcs[sent_of[3]], lens[sent_of[3]], toks[3],
	    lp4);
	err = max_diff(lp4, ref + 3L * T * V, (long)T * V);
	ok(err == 0, "%s: a decoder reused after a larger batch gives the "
	    "same log-probs (max abs diff %.3g)", name, err);

	/* the encoder: sentence 1 alone equals sentence 1 in the pair */
	sq_encoder_run(e, 1, srcs + 1, lens + 1);
	err = max_diff(sq_encoder_out(e, 0), mem[1], 3L * D);
	snprintf(what, sizeof(what), "%s: encoder output independent of the "
	    "batch", name);
	ok(err < 1e-5, "%s (max abs diff %.3g)", what, err);

	sq_decoder_free(d);
	sq_encoder_free(e);
	free(mem[0]), free(mem[1]), free(ref), free(lp), free(lp4);
}

/* sq_beam_run with sq_beam_decoder_step, k = 1, against sq_greedy. */
static void
test_beam_step(struct sq_model *m, struct sq_pool *pool, const char *name)
{
	struct sq_encoder *e = sq_encoder_new(m, pool);
	int32_t src0[S] = { 4, 5, 6, 5, 8 }, src1[3] = { 9, 10, 11 };
	const int32_t *srcs[2] = { src0, src1 };
	int lens[2] = { S, 3 }, steps[2] = { T, T }, i, same = 1;
	struct sq_greedy_opts go = { .max_len = { .a = 0, .b = T } };
	struct sq_beam_opts bo = { .beam_size = 1, .nbest = 1, .alpha = 1,
	    .start_id = 1, .eos_id = 2, .n_vocab = V };
	struct sq_greedy *g = sq_greedy_new(m, pool, &go, 2);
	struct sq_beam_decoder *bd = sq_beam_decoder_new(m, pool, 2, 1);
	struct sq_beam *bs = sq_beam_new(&bo);
	const struct sq_beam_hyp *h;
	struct sq_greedy_sent *gs;
	const float *mem[2];

	sq_encoder_run(e, 2, srcs, lens);
	for (i = 0; i < 2; i++) {
		mem[i] = sq_encoder_out(e, i);
		sq_greedy_add(g, i, lens[i], srcs[i], mem[i], NULL, -1);
	}
	same = sq_greedy_run(g, &gs) == 2 &&
	    sq_beam_decoder_begin(bd, 2, mem, srcs, lens, T) == 0 &&
	    sq_beam_run(bs, 2, steps, NULL, sq_beam_decoder_step, bd) == 0;
	for (i = 0; same && i < 2; i++)
		same = sq_beam_hyps(bs, i, &h) == 1 && h->n_ids == gs[i].n &&
		    gs[i].n > 1 &&
		    memcmp(h->ids, gs[i].ids, gs[i].n * sizeof(int32_t)) == 0;
	ok(same, "%s, %d thread(s): a beam of 1 over sq_beam_decoder_step "
	    "is greedy search", name, sq_pool_threads(pool));
	sq_greedy_free(g);
	sq_beam_decoder_free(bd);
	sq_beam_free(bs);
	sq_encoder_free(e);
}

int
main(void)
{
	struct sq_pool *two = sq_pool_new(2);
	struct sq_model *post = make_model(0, SQ_ACT_RELU, 0);
	struct sq_model *pre = make_model(1, SQ_ACT_GELU, 0);
	struct sq_model *copy = make_model(1, SQ_ACT_GELU, 1);

	test_select(post, NULL, "post-norm ReLU");
	test_select(post, two, "post-norm ReLU");
	test_select(pre, NULL, "pre-norm GELU");
	test_select(pre, two, "pre-norm GELU");
	test_beam_step(post, NULL, "post-norm ReLU");
	test_beam_step(pre, two, "pre-norm GELU");
	test_select(copy, NULL, "copy");
	test_select(copy, two, "copy");
	test_beam_step(copy, two, "copy");
	sq_pool_free(two);
	free(post->enc), free(post->dec), free(post);
	free(pre->enc), free(pre->dec), free(pre);
	free(copy->enc), free(copy->dec), free(copy);
	while (n_weights > 0)
		free(weights[--n_weights]);
	return tap_done();
}
