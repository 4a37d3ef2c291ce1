/*
 * mrt: candidates, their costs, and the risk's gradient for a batch (see
 * mrt.h).
 *
 * The candidate arrays are kept from step to step and grown as needed;
 * their ids are borrowed from the batch (references) and from the
 * sampler's sentences, which live until the graph's backward is done.
 */
#include <stdlib.h>
#include <string.h>

#include "bleu/bleu.h"
#include "io/spm.h"
#include "nn/encoder.h"
#include "nn/model.h"
#include "search/greedy.h"
#include "search/sample.h"
#include "train/mrt.h"
#include "train/risk.h"
#include "base/util.h"

struct sq_mrt {
	const struct sq_model *m;
	struct sq_graph *g;
	struct sq_pool *pool;
	struct sq_spm *tgt;
	struct sq_bleu *bleu;
	struct sq_sampler sampler;
	/* the candidates of the sets that go to the graph, (cap) each */
	const int32_t **src, **cand;
	int *src_len, *cand_len;
	double *cost;
	int *first;		/* (cap + 1) */
	int cap;
	char *ref;		/* the reference's text, (ref_cap) */
	size_t ref_cap;
};

/* sacrebleu's sentence_bleu(): BLEU's defaults with effective order */
static const struct sq_bleu_opts sentence_bleu = {SQ_BLEU_TOK_13A,
    SQ_BLEU_SMOOTH_EXP, 0, 0, 1};

struct sq_mrt *
sq_mrt_new(const struct sq_model *m, struct sq_graph *g,
    struct sq_pool *pool, struct sq_spm *tgt)
{
	struct sq_mrt *r = sq_calloc(1, sizeof(*r));

	r->m = m;
	r->g = g;
	r->pool = pool;
	r->tgt = tgt;
	r->bleu = sq_bleu_new(&sentence_bleu);
	r->sampler = (struct sq_sampler){1.0f, 0, 1.0f, NULL, 0};
	return r;
}

void
sq_mrt_free(struct sq_mrt *r)
{
	if (r == NULL)
		return;
	sq_bleu_free(r->bleu);
	sq_sampler_free(&r->sampler);
	free(r->src);
	free(r->cand);
	free(r->src_len);
	free(r->cand_len);
	free(r->cost);
	free(r->first);
	free(r->ref);
	free(r);
}

/* Room for n candidates. */
static void
reserve(struct sq_mrt *r, int n)
{
	if (n <= r->cap)
		return;
	r->cap = n;
	r->src = sq_reallocarray(r->src, n, sizeof(*r->src));
	r->cand = sq_reallocarray(r->cand, n, sizeof(*r->cand));
	r->src_len = sq_reallocarray(r->src_len, n, sizeof(int));
	r->cand_len = sq_reallocarray(r->cand_len, n, sizeof(int));
	r->cost = sq_reallocarray(r->cost, n, sizeof(double));
	r->first = sq_reallocarray(r->first, n + 1, sizeof(int));
}

/* The reference's text into r->ref (ref_len bytes).  0 or -1. */
static int
reference_text(struct sq_mrt *r, const int32_t *ids, int n, size_t *len)
{
	const char *t;

	if (sq_spm_decode(r->tgt, ids, (size_t)n, &t, len) < 0)
		return -1;
	if (*len + 1 > r->ref_cap) {
		r->ref_cap = *len + 1;
		r->ref = sq_realloc(r->ref, r->ref_cap);
	}
	memcpy(r->ref, t, *len + 1);
	return 0;
}

/*
 * *c = 1 - sentence BLEU / 100 of ids against the reference text, in
 * [0, 1] (a perfect match's BLEU, exp of a mean of logs, can come out a
 * hair above 100).  0 or -1.
 */
static int
cost(struct sq_mrt *r, double *c, const int32_t *ids, int n, size_t ref_len)
{
	struct sq_bleu_stats st;
	struct sq_bleu_score sc;
	const char *h;
	size_t hl;

	if (sq_spm_decode(r->tgt, ids, (size_t)n, &h, &hl) < 0)
		return -1;
	sq_bleu_segment_text(r->bleu, &st, h, hl, r->ref, ref_len);
	sq_bleu_compute(&sc, &st, &sentence_bleu, SQ_BLEU_NUM_INT);
	*c = SQ_MAX(0.0, 1.0 - sc.score / 100.0);
	return 0;
}

/*
 * Adds candidate ids (n) of source src to the set that began at index
 * start, unless the set has it already.  Returns 0, or -1 with the error
 * set.
 */
static int
add(struct sq_mrt *r, int *n_cand, int start, const int32_t *src,
    int src_len, const int32_t *ids, int n, size_t ref_len)
{
	int k = *n_cand;

	for (int j = start; j < k; j++)
		if (r->cand_len[j] == n && (n == 0 ||
		    memcmp(r->cand[j], ids, (size_t)n * sizeof(*ids)) == 0))
			return 0;
	if (cost(r, &r->cost[k], ids, n, ref_len) < 0)
		return -1;
	r->src[k] = src;
	r->src_len[k] = src_len;
	r->cand[k] = ids;
	r->cand_len[k] = n;
	*n_cand = k + 1;
	return 0;
}

/*
 * The candidate sets of b from the sampler's sentences s (samples per
 * pair, in order): sets of two or more into r's arrays (*n_sets of them,
 * r->first[*n_sets] candidates), the cost of the others added to *fixed.
 * Returns 0 or -1.
 */
static int
make_sets(struct sq_mrt *r, const struct sq_pairs *b,
    const struct sq_mrt_opts *o, const struct sq_greedy_sent *s,
    int *n_sets, double *fixed)
{
	const struct sq_config *c = &r->m->cfg;
	int longest = c->max_positions - c->position_offset - 1;
	int n_cand = 0, k = 0;

	reserve(r, b->n * (o->samples + 1));
	r->first[0] = 0;
	for (int i = 0; i < b->n; i++) {
		const int32_t *src = b->src[i];
		size_t ref_len;
		int start = n_cand;

		if (reference_text(r, b->tgt[i], b->tgt_len[i], &ref_len) < 0)
			return -1;
		if (o->reference && add(r, &n_cand, start, src, b->src_len[i],
		    b->tgt[i], b->tgt_len[i], ref_len) < 0)
			return -1;
		for (int j = 0; j < o->samples; j++) {
			const struct sq_greedy_sent *d = &s[i * o->samples + j];

			if (add(r, &n_cand, start, src, b->src_len[i], d->ids,
			    SQ_MIN(d->n, longest), ref_len) < 0)
				return -1;
		}
		if (n_cand - start == 1) {
			*fixed += r->cost[start];
			n_cand = start;
		} else
			r->first[++k] = n_cand;
	}
	*n_sets = k;
	return 0;
}

double
sq_mrt_step(struct sq_mrt *r, const struct sq_pairs *b,
    const struct sq_mrt_opts *o, float scale)
{
	struct sq_greedy_opts go = {0};
	struct sq_encoder *enc = sq_encoder_new(r->m, r->pool);
	struct sq_greedy *gr;
	struct sq_greedy_sent *s;
	double risk = -1, fixed = 0, sum = 0;
	int n_sets;

	go.max_len = (struct sq_maxlen){ .a = 2, .b = 10 };
	go.sampling = 1;
	go.sampler = &r->sampler;
	go.seed = o->seed;
	gr = sq_greedy_new(r->m, r->pool, &go, b->n * o->samples);
	if (sq_encoder_run(enc, b->n, b->src, b->src_len) < 0)
		goto out;
	for (int i = 0; i < b->n; i++)
		for (int j = 0; j < o->samples; j++)
			sq_greedy_add(gr, o->key + (uint64_t)(i * o->samples + j),
			    b->src_len[i], b->src[i], sq_encoder_out(enc, i),
			    NULL, -1);
	if (sq_greedy_run(gr, &s) < 0 ||
	    make_sets(r, b, o, s, &n_sets, &fixed) < 0)
		goto out;
	if (n_sets > 0) {
		struct sq_pairs p = {r->first[n_sets], r->src, r->src_len,
		    r->cand, r->cand_len, NULL, NULL};

		if ((sum = sq_risk_graph(r->g, &p, r->first, n_sets, r->cost,
		    o->alpha, &o->graph, scale)) < 0)
			goto out;
	}
	risk = sum + fixed;
out:
	sq_greedy_free(gr);
	sq_encoder_free(enc);
	return risk;
}
