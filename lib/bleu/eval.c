/*
 * bleu_eval: corpus statistics, scores and bootstrap (see bleu_eval.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bleu/eval.h"
#include "bleu/rng.h"
#include "base/util.h"

int
sq_bleu_seed_parse(struct sq_bleu_seed *s, const char *text, char *norm,
    size_t size)
{
	unsigned long long v;
	char *end;
	FILE *f;

	if (strcasecmp(text, "none") == 0) {
		if (!(f = fopen("/dev/urandom", "rb"))) {
			sq_seterr("/dev/urandom: %s", strerror(errno));
			return -1;
		}
		s->n = fread(s->w, sizeof(*s->w), 4, f);
		fclose(f);
		if (s->n != 4) {
			sq_seterr("/dev/urandom: short read");
			return -1;
		}
		snprintf(norm, size, "none");
		return 0;
	}
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end || text[0] < '0' || text[0] > '9') {
		sq_seterr("'%s' is not a non-negative integer", text);
		return -1;
	}
	s->w[0] = (uint32_t)v;
	s->w[1] = (uint32_t)(v >> 32);
	s->n = s->w[1] ? 2 : 1;
	snprintf(norm, size, "%llu", v);
	return 0;
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

/* k: 10 for BLEU (hyp_len, ref_len, 4 matches, 4 totals), 3 per chrF order */
static size_t
metric_n_stats(const struct sq_bleu_metric *m)
{
	return m->kind == SQ_BLEU_METRIC_BLEU ? 2 + 2 * SQ_BLEU_ORDER :
	    sq_bleu_chrf_n_stats(&m->chrf);
}

void
sq_bleu_metric_stats(struct sq_bleu_segstats *st,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_uspan *hyp, struct sq_bleu_uspan *const *refs,
    size_t n,
    size_t n_refs)
{
	struct sq_bleu *b = NULL;
	struct sq_bleu_chrf *c = NULL;
	struct sq_bleu_uspan *seg = sq_calloc(n_refs ? n_refs : 1,
	    sizeof(*seg));
	struct sq_bleu_stats bs;
	size_t i, r;

	st->k = metric_n_stats(m);
	st->n = n;
	st->v = sq_calloc(n ? n * st->k : 1, sizeof(*st->v));
	if (m->kind == SQ_BLEU_METRIC_BLEU)
		b = sq_bleu_new(&m->bleu);
	else
		c = sq_bleu_chrf_new(&m->chrf);
	for (i = 0; i < n; i++) {
		for (r = 0; r < n_refs; r++)
			seg[r] = refs[r][i];
		if (b) {
			sq_bleu_segment(b, &bs, hyp[i], seg, n_refs);
			bleu_flat(st->v + i * st->k, &bs);
		} else {
			sq_bleu_chrf_segment(c, st->v + i * st->k, hyp[i], seg,
			    n_refs);
		}
	}
	sq_bleu_free(b);
	sq_bleu_chrf_free(c);
	free(seg);
}

void
sq_bleu_segstats_sum(int64_t *sum, const struct sq_bleu_segstats *st)
{
	memset(sum, 0, st->k * sizeof(*sum));
	for (size_t j = 0; j < st->n; j++)
		for (size_t k = 0; k < st->k; k++)
			sum[k] += st->v[j * st->k + k];
}

void
sq_bleu_metric_score(struct sq_bleu_result *res, const struct sq_bleu_metric *m,
    const int64_t *sum, long nrefs, enum sq_bleu_num num)
{
	struct sq_bleu_stats bs;
	struct sq_bleu_score s;

	memset(res, 0, sizeof(*res));
	if (m->kind == SQ_BLEU_METRIC_BLEU) {
		bleu_unflat(&bs, sum);
		sq_bleu_compute(&s, &bs, &m->bleu, num);
		snprintf(res->name, sizeof(res->name), "BLEU");
		res->score = s.score;
		sq_bleu_verbose(res->verbose, sizeof(res->verbose), &s);
		sq_bleu_sig_bleu(&res->sig, &m->bleu, nrefs);
		return;
	}
	/* CHRFScore: "chrF" beta, then a "+" per word order */
	snprintf(res->name, sizeof(res->name), "chrF%d", m->chrf.beta);
	for (int i = 0; i < m->chrf.word_order &&
	    strlen(res->name) + 1 < sizeof(res->name); i++)
		strcat(res->name, "+");
	res->score = sq_bleu_chrf_score(&m->chrf, sum, num);
	sq_bleu_sig_chrf(&res->sig, &m->chrf, nrefs);
}

static double
score_of(const struct sq_bleu_metric *m, const int64_t *sum,
    enum sq_bleu_num num)
{
	struct sq_bleu_result r;

	sq_bleu_metric_score(&r, m, sum, 0, num);
	return r.score;
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
py_mean(const double *x, size_t n)
{
	__float128 s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	return (double)(s / n);
}

/* NumPy's pairwise summation of float64 (pairwise_sum_DOUBLE) */
static double
np_sum(const double *x, size_t n)
{
	double r[8], s;
	size_t i, j, n2;

	if (n < 8) {
		for (s = 0., i = 0; i < n; i++)
			s += x[i];
		return s;
	}
	if (n <= 128) {
		memcpy(r, x, sizeof(r));
		for (i = 8; i < n - n % 8; i += 8)
			for (j = 0; j < 8; j++)
				r[j] += x[i + j];
		s = ((r[0] + r[1]) + (r[2] + r[3])) +
		    ((r[4] + r[5]) + (r[6] + r[7]));
		for (; i < n; i++)
			s += x[i];
		return s;
	}
	n2 = n / 2;
	n2 -= n2 % 8;
	return np_sum(x, n2) + np_sum(x + n2, n - n2);
}

/* 95%: 1/40 from each end of the sorted scores; returns the half-width */
static double
ci95(double *x, size_t n)
{
	size_t lo = n / 40, hi = n - lo - 1;

	qsort(x, n, sizeof(*x), cmp_double);
	return 0.5 * (x[hi] - x[lo]);
}

/*
 * Bootstrap resamples of bl (and of sys, with the same draws, if not
 * NULL): their float32 scores into bl_scores and sys_scores (n_samples).
 */
static void
resample(double *bl_scores, double *sys_scores, const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, const struct sq_bleu_segstats *sys,
    size_t n_samples, const struct sq_bleu_seed *seed)
{
	int64_t *a = sq_calloc(2 * bl->k, sizeof(*a)), *b = a + bl->k;
	struct sq_bleu_nprng g;
	size_t i, j, k, row;

	sq_bleu_nprng_seed(&g, seed->w, seed->n);
	for (i = 0; i < n_samples; i++) {
		memset(a, 0, 2 * bl->k * sizeof(*a));
		for (j = 0; j < bl->n; j++) {
			row = (size_t)sq_bleu_nprng_below(&g, bl->n) * bl->k;
			for (k = 0; k < bl->k; k++)
				a[k] += bl->v[row + k];
			for (k = 0; sys && k < bl->k; k++)
				b[k] += sys->v[row + k];
		}
		bl_scores[i] = score_of(m, a, SQ_BLEU_NUM_F32);
		if (sys)
			sys_scores[i] = score_of(m, b, SQ_BLEU_NUM_F32);
	}
	free(a);
}

void
sq_bleu_metric_bootstrap(struct sq_bleu_result *res,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *st, size_t n_samples,
    const struct sq_bleu_seed *seed)
{
	double *x;

	if (st->n == 0 || n_samples == 0)
		return;
	x = sq_calloc(n_samples, sizeof(*x));
	resample(x, NULL, m, st, NULL, n_samples, seed);
	res->ci = ci95(x, n_samples);
	res->mean = py_mean(x, n_samples);	/* order does not matter */
	free(x);
}

void
sq_bleu_paired_baseline(struct sq_bleu_paired *r,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, size_t n_samples,
    const struct sq_bleu_seed *seed)
{
	double *x = sq_calloc(n_samples ? n_samples : 1, sizeof(*x));

	r->p = -1;
	r->mean = 0;
	r->ci = -1;
	if (n_samples && bl->n) {
		resample(x, NULL, m, bl, NULL, n_samples, seed);
		r->ci = ci95(x, n_samples);
		r->mean = np_sum(x, n_samples) / (double)n_samples;
	}
	free(x);
}

/* _compute_p_value: (#{x > diff} + 1) / (n + 1) */
static double
p_value(const double *x, size_t n, double diff)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += x[i] > diff;
	return (double)(c + 1) / (double)(n + 1);
}

/* approximate randomization: shuffled pseudo-systems a and b */
static void
shuffle_scores(double *d, const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, const struct sq_bleu_segstats *sys,
    size_t n_samples, const struct sq_bleu_seed *seed)
{
	int64_t *a = sq_calloc(2 * bl->k, sizeof(*a)), *b = a + bl->k;
	struct sq_bleu_nprng_bits bits = { 0, 0 };
	const int64_t *x, *y;
	struct sq_bleu_nprng g;
	size_t i, j, k;

	sq_bleu_nprng_seed(&g, seed->w, seed->n);
	for (i = 0; i < n_samples; i++) {
		memset(a, 0, 2 * bl->k * sizeof(*a));
		for (j = 0; j < bl->n; j++) {
			/* pos_sel @ bl + neg_sel @ sys, and the converse */
			x = bl->v + j * bl->k;
			y = sys->v + j * bl->k;
			if (!sq_bleu_nprng_bool(&g, &bits)) {
				const int64_t *t = x;

				x = y, y = t;
			}
			for (k = 0; k < bl->k; k++) {
				a[k] += x[k];
				b[k] += y[k];
			}
		}
		d[i] = fabs(score_of(m, a, SQ_BLEU_NUM_I64) -
		    score_of(m, b, SQ_BLEU_NUM_I64));
	}
	free(a);
}

void
sq_bleu_paired_test(struct sq_bleu_paired *r, int bs,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, double bl_score,
    const struct sq_bleu_segstats *sys,
    size_t n_samples, const struct sq_bleu_seed *seed)
{
	double *x = sq_calloc(n_samples ? 2 * n_samples : 1, sizeof(*x));
	double *y = x + n_samples, diff = fabs(bl_score - r->score), mu;
	size_t i;

	r->mean = 0;
	r->ci = -1;
	if (!bs) {
		shuffle_scores(x, m, bl, sys, n_samples, seed);
		r->p = p_value(x, n_samples, diff);
		free(x);
		return;
	}
	resample(x, y, m, bl, sys, n_samples, seed);
	for (i = 0; i < n_samples; i++)
		x[i] = fabs(y[i] - x[i]);
	mu = np_sum(x, n_samples) / (double)n_samples;
	for (i = 0; i < n_samples; i++)
		x[i] -= mu;
	r->p = p_value(x, n_samples, diff);
	/* estimate_ci: the mean of the sorted scores */
	r->ci = ci95(y, n_samples);
	r->mean = np_sum(y, n_samples) / (double)n_samples;
	free(x);
}
