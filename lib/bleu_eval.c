/*
 * bleu_eval: corpus statistics, scores and bootstrap (see bleu_eval.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bleu_eval.h"
#include "bleu_rng.h"
#include "util.h"

size_t
sq_metric_n_stats(const struct sq_metric *m)
{
	return m->kind == SQ_METRIC_BLEU ? 2 + 2 * SQ_BLEU_ORDER :
	    sq_chrf_n_stats(&m->chrf);
}

/* struct sq_bleu_stats <-> sacrebleu's flat list */
static void
bleu_flat(int64_t *v, const struct sq_bleu_stats *s)
{
	v[0] = s->hyp_len;
	v[1] = s->ref_len;
	memcpy(v + 2, s->correct, sizeof(s->correct));
	memcpy(v + 2 + SQ_BLEU_ORDER, s->total, sizeof(s->total));
}

static void
bleu_unflat(struct sq_bleu_stats *s, const int64_t *v)
{
	s->hyp_len = v[0];
	s->ref_len = v[1];
	memcpy(s->correct, v + 2, sizeof(s->correct));
	memcpy(s->total, v + 2 + SQ_BLEU_ORDER, sizeof(s->total));
}

void
sq_metric_stats(struct sq_stats *st, const struct sq_metric *m,
    const struct sq_uspan *hyp, struct sq_uspan *const *refs, size_t n,
    size_t n_refs)
{
	struct sq_bleu *b = NULL;
	struct sq_chrf *c = NULL;
	struct sq_uspan *seg = sq_calloc(n_refs ? n_refs : 1, sizeof(*seg));
	struct sq_bleu_stats bs;
	size_t i, r;

	st->k = sq_metric_n_stats(m);
	st->n = n;
	st->v = sq_calloc(n ? n * st->k : 1, sizeof(*st->v));
	if (m->kind == SQ_METRIC_BLEU)
		b = sq_bleu_new(&m->bleu);
	else
		c = sq_chrf_new(&m->chrf);
	for (i = 0; i < n; i++) {
		for (r = 0; r < n_refs; r++)
			seg[r] = refs[r][i];
		if (b) {
			sq_bleu_segment(b, &bs, hyp[i], seg, n_refs);
			bleu_flat(st->v + i * st->k, &bs);
		} else {
			sq_chrf_segment(c, st->v + i * st->k, hyp[i], seg,
			    n_refs);
		}
	}
	sq_bleu_free(b);
	sq_chrf_free(c);
	free(seg);
}

void
sq_metric_score(struct sq_result *res, const struct sq_metric *m,
    const int64_t *sum, long nrefs, int f32)
{
	struct sq_bleu_stats bs;
	struct sq_bleu_score s;

	memset(res, 0, sizeof(*res));
	if (m->kind == SQ_METRIC_BLEU) {
		bleu_unflat(&bs, sum);
		sq_bleu_compute(&s, &bs, &m->bleu, f32);
		snprintf(res->name, sizeof(res->name), "BLEU");
		res->score = s.score;
		sq_bleu_verbose(res->verbose, sizeof(res->verbose), &s);
		sq_sig_bleu(&res->sig, &m->bleu, nrefs);
		return;
	}
	/* CHRFScore: "chrF" beta, then a "+" per word order */
	snprintf(res->name, sizeof(res->name), "chrF%d", m->chrf.beta);
	for (int i = 0; i < m->chrf.word_order &&
	    strlen(res->name) + 1 < sizeof(res->name); i++)
		strcat(res->name, "+");
	res->score = sq_chrf_score(&m->chrf, sum, f32);
	sq_sig_chrf(&res->sig, &m->chrf, nrefs);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * statistics.mean(): the exact sum rounded once.  A quad sum is exact for
 * scores within 2^60 of each other, which BLEU and chrF scores in (0,
 * 100] always are but for pathological cases.
 */
static double
mean(const double *x, size_t n)
{
	__float128 s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return (double)(s / n);
}

void
sq_metric_bootstrap(struct sq_result *res, const struct sq_metric *m,
    const struct sq_stats *st, size_t n_samples, const uint32_t *seed,
    size_t n_seed)
{
	int64_t *sum = sq_calloc(st->k, sizeof(*sum));
	double *scores = sq_calloc(n_samples ? n_samples : 1, sizeof(*scores));
	struct sq_result r;
	struct sq_rng g;
	size_t i, j, k, row, lo, hi;

	if (st->n == 0 || n_samples == 0)
		goto out;
	sq_rng_seed(&g, seed, n_seed);
	for (i = 0; i < n_samples; i++) {
		memset(sum, 0, st->k * sizeof(*sum));
		for (j = 0; j < st->n; j++) {
			row = (size_t)sq_rng_below(&g, st->n);
			for (k = 0; k < st->k; k++)
				sum[k] += st->v[row * st->k + k];
		}
		sq_metric_score(&r, m, sum, 0, 1);
		scores[i] = r.score;
	}
	/* Score.estimate_ci: 95%, i.e. 1/40 from each end */
	qsort(scores, n_samples, sizeof(*scores), cmp_double);
	lo = n_samples / 40;
	hi = n_samples - lo - 1;
	res->ci = 0.5 * (scores[hi] - scores[lo]);
	res->mean = mean(scores, n_samples);
out:
	free(scores);
	free(sum);
}
