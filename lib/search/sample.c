/*
 * sample: temperature, top-k and top-p sampling (see sample.h).
 *
 * Workload: one pass over the vocabulary for plain sampling.  With top-k
 * or top-p the candidates are found without sorting the vocabulary: the
 * tokens above a threshold are collected and sorted, the threshold being
 * lowered (by a factor of 1e4 in probability each time) until they hold
 * enough of them or of the mass; usually the first pass does.
 */
#include <math.h>
#include <stdlib.h>

#include "search/sample.h"
#include "base/util.h"

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
sq_sample_seed(struct sq_sample_rng *g, uint64_t seed, uint64_t key)
{
	uint64_t s = seed;

	g->s = splitmix(&s) ^ key;
	splitmix(&g->s);
}

double
sq_sample_uniform(struct sq_sample_rng *g)
{
	return (splitmix(&g->s) >> 11) * (1.0 / 9007199254740992.0);
}

/* For qsort: descending log-prob, ties to the smaller id. */
static const float *cmp_logp;

static int
by_logp(const void *a, const void *b)
{
	int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;

	if (cmp_logp[i] != cmp_logp[j])
		return cmp_logp[i] > cmp_logp[j] ? -1 : 1;
	return (i > j) - (i < j);
}

/* Draws among cand (n) with weights exp((logp - mx) / T). */
static int32_t
draw(const float *logp, const int32_t *cand, int n, float mx, float T,
    struct sq_sample_rng *g)
{
	double sum = 0.0, u, acc = 0.0;
	int i;

	for (i = 0; i < n; i++)
		sum += exp((logp[cand[i]] - mx) / T);
	u = sq_sample_uniform(g) * sum;
	for (i = 0; i < n; i++) {
		acc += exp((logp[cand[i]] - mx) / T);
		if (u < acc)
			return cand[i];
	}
	return cand[n - 1];	/* u rounded up to sum */
}

int32_t
sq_sample(struct sq_sampler *s, const float *logp, int V, struct sq_sample_rng *g)
{
	float mx = -INFINITY, mn = INFINITY, T = s->temperature, cut;
	int v, n, k, limited = s->top_k > 0 || s->top_p < 1.0f;
	double mass, total, acc;

	for (v = 0; v < V; v++) {
		mx = logp[v] > mx ? logp[v] : mx;
		if (logp[v] > -INFINITY && logp[v] < mn)
			mn = logp[v];
	}
	if (mx == -INFINITY)
		return -1;
	if (s->cap < V) {
		s->idx = sq_reallocarray(s->idx, V, sizeof(int32_t));
		s->cap = V;
	}
	if (!limited) {
		for (v = n = 0; v < V; v++)
			if (logp[v] > -INFINITY)
				s->idx[n++] = v;
		return draw(logp, s->idx, n, mx, T, g);
	}
	/* the mass after temperature, for top-p */
	total = 0.0;
	for (v = 0; v < V; v++)
		total += exp((logp[v] - mx) / T);
	for (cut = mx - 9.2f * T;; cut -= 9.2f * T) {	/* 1e-4 steps */
		for (v = n = 0, mass = 0.0; v < V; v++)
			if (logp[v] >= cut && logp[v] > -INFINITY) {
				s->idx[n++] = v;
				mass += exp((logp[v] - mx) / T);
			}
		/*
		 * Enough when every token below cut is outside the limits:
		 * the top k are in (the nucleus is within them), or without
		 * top-k the mass reaches top_p; or every token is in.
		 */
		if (s->top_k > 0 ? n >= s->top_k : mass >= s->top_p * total)
			break;
		if (cut <= mn)
			break;
	}
	cmp_logp = logp;
	qsort(s->idx, n, sizeof(int32_t), by_logp);
	k = s->top_k > 0 && s->top_k < n ? s->top_k : n;
	if (s->top_p < 1.0f) {
		/* mass of the k kept, then the fewest reaching top_p of it */
		for (v = 0, mass = 0.0; v < k; v++)
			mass += exp((logp[s->idx[v]] - mx) / T);
		for (v = 0, acc = 0.0; v < k; v++) {
			acc += exp((logp[s->idx[v]] - mx) / T);
			if (acc >= s->top_p * mass) {
				v++;
				break;
			}
		}
		k = v;
	}
	return draw(logp, s->idx, k, mx, T, g);
}

void
sq_sampler_free(struct sq_sampler *s)
{
	free(s->idx);
	s->idx = NULL;
	s->cap = 0;
}
