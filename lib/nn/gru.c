/*
 * gru: nn.GRU's step and a layer's walk over packed sentences (see
 * gru.h).  Workload of a layer over R rows: the state products, R (3H, H)
 * multiply-adds in steps of at most n rows, one sgemm per step; the gate
 * arithmetic is O(R H) and runs vectorized on the calling thread.
 */
/* the vectors below never cross a non-static function: no ABI notes */
#pragma GCC diagnostic ignored "-Wpsabi"

#include <stdlib.h>
#include <string.h>

#include "nn/gru.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/vec.h"
#include "base/util.h"

static inline vf
vsigmoid(vf x)
{
	return 1.0f / (1.0f + vexp(-x));
}

/* tanh(x) = 2 sigmoid(2x) - 1: saturates to +-1 without overflow */
static inline vf
vtanh(vf x)
{
	return 2.0f / (1.0f + vexp(-2.0f * x)) - 1.0f;
}

static inline float
sigmoid1(float x)
{
	return 1.0f / (1.0f + fast_expf(-x));
}

static inline float
tanh1(float x)
{
	return 2.0f / (1.0f + fast_expf(-2.0f * x)) - 1.0f;
}

void
sq_gru_cell(float *out, float *saved, const float *xp, const float *hp,
    const float *h, int H)
{
	int i;

	for (i = 0; i + LANES <= H; i += LANES) {
		vf r = vsigmoid(vload(xp + i) + vload(hp + i));
		vf z = vsigmoid(vload(xp + H + i) + vload(hp + H + i));
		vf hn = vload(hp + 2 * H + i);
		vf nn = vtanh(vload(xp + 2 * H + i) + r * hn);

		if (saved != NULL) {
			vstore(saved + i, r);
			vstore(saved + H + i, z);
			vstore(saved + 2 * H + i, nn);
			vstore(saved + 3 * H + i, hn);
		}
		vstore(out + i, nn + z * (vload(h + i) - nn));
	}
	for (; i < H; i++) {
		float r = sigmoid1(xp[i] + hp[i]);
		float z = sigmoid1(xp[H + i] + hp[H + i]);
		float hn = hp[2 * H + i];
		float nn = tanh1(xp[2 * H + i] + r * hn);

		if (saved != NULL) {
			saved[i] = r;
			saved[H + i] = z;
			saved[2 * H + i] = nn;
			saved[3 * H + i] = hn;
		}
		out[i] = nn + z * (h[i] - nn);
	}
}

void
sq_tanh(float *x, long n)
{
	long i;

	for (i = 0; i + LANES <= n; i += LANES)
		vstore(x + i, vtanh(vload(x + i)));
	for (; i < n; i++)
		x[i] = tanh1(x[i]);
}

/* ---- packed sentences ---- */

static long
len_of(const long *first, int i)
{
	return first[i + 1] - first[i];
}

/* qsort_r()'s comparison: falling length, then rising index */
static int
by_length(const void *a, const void *b, void *first)
{
	int i = *(const int *)a, j = *(const int *)b;
	long li = len_of(first, i), lj = len_of(first, j);

	if (li != lj)
		return li > lj ? -1 : 1;
	return (i > j) - (i < j);
}

void
sq_gru_seq_plan(struct sq_gru_seq *s, int n, const long *first)
{
	int i;

	s->n = n;
	s->first = first;
	s->order = sq_reallocarray(s->order, (size_t)n + 1, sizeof(int));
	for (i = 0; i < n; i++)
		s->order[i] = i;
	qsort_r(s->order, (size_t)n, sizeof(int), by_length, (void *)first);
	s->max_len = n > 0 ? (int)len_of(first, s->order[0]) : 0;
}

void
sq_gru_seq_free(struct sq_gru_seq *s)
{
	free(s->order);
	s->order = NULL;
}

int
sq_gru_seq_active(const struct sq_gru_seq *s, int t)
{
	int lo = 0, hi = s->n;	/* the first j with length <= t */

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (len_of(s->first, s->order[mid]) > t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long
sq_gru_seq_row(const struct sq_gru_seq *s, int j, int t, int reverse)
{
	int i = s->order[j];

	return reverse ? s->first[i + 1] - 1 - t : s->first[i] + t;
}

void
sq_gru_layer(float *out, long ld, float *saved, const float *xp,
    const float *h0, const struct sq_gru *w, int H, int reverse,
    const struct sq_gru_seq *s, float *scratch, struct sq_pool *pool)
{
	float *prev = scratch;			/* (n, H) */
	float *hp = scratch + (long)s->n * H;	/* (n, 3H) */
	int t, j, B;

	for (t = 0; t < s->max_len; t++) {
		B = sq_gru_seq_active(s, t);
		for (j = 0; j < B; j++) {
			float *p = prev + (long)j * H;

			if (t > 0)
				memcpy(p, out + (sq_gru_seq_row(s, j, t - 1,
				    reverse)) * ld, (size_t)H * sizeof(float));
			else if (h0 != NULL)
				memcpy(p, h0 + (long)s->order[j] * H,
				    (size_t)H * sizeof(float));
			else
				memset(p, 0, (size_t)H * sizeof(float));
		}
		sq_linear(hp, prev, w->w_hh, w->b_hh, B, H, 3 * H, pool);
		for (j = 0; j < B; j++) {
			long r = sq_gru_seq_row(s, j, t, reverse);

			sq_gru_cell(out + r * ld, saved ? saved + r * 4 * H :
			    NULL, xp + r * 3 * H, hp + (long)j * 3 * H,
			    prev + (long)j * H, H);
		}
	}
}
