/*
 * test_ops: every fast kernel of lib/nn/ops.c against its float32 reference
 * (llm.c's dev/ kernels against the CPU version), on seeded random data
 * with the shapes of a small model and the odd sizes that catch tails.
 * Also the pool: every thread index runs once per run, shares tile a range.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "base/pool.h"
#include "base/util.h"
#include "tap.h"

static void
test_linear(struct sq_pool *pool)
{
	static const int shapes[][3] = {	/* M, K, N */
		{ 1, 64, 200 }, { 1, 512, 2048 }, { 3, 33, 17 },
		{ 25, 512, 512 }, { 32, 256, 1000 }, { 7, 64, 64 },
		{ 4, 512, 600 },
	};
	char what[128];
	size_t s;

	for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
		float *x = tap_rand_vec((long)M * K, 1.0f);
		float *w = tap_rand_vec((long)N * K, 0.1f);
		float *b = tap_rand_vec(N, 0.5f);
		float *y = tap_rand_vec((long)M * N, 1.0f);
		float *yr = tap_rand_vec((long)M * N, 1.0f);
		double e;

		sq_linear(y, x, w, b, M, K, N, pool);
		sq_linear_ref(yr, x, w, b, M, K, N);
		e = max_diff(y, yr, (long)M * N);
		snprintf(what, sizeof(what),
		    "linear M=%d K=%d N=%d, %d threads",
		    M, K, N, sq_pool_threads(pool));
		ok(e < 1e-4, "%s (max abs diff %.3g)", what, e);
		/*
		 * a few rows by 1 MB of weights are split even when small:
		 * sgemv and the row kernels give each column's bits alone
		 * (sgemm's, for more rows, depend on the slice's width)
		 */
		if (M <= 8) {
			sq_linear(yr, x, w, b, M, K, N, NULL);
			ok(memcmp(y, yr, (size_t)M * N * sizeof(float)) == 0,
			    "%s: one thread's bits", what);
		}
		sq_linear(y, x, w, NULL, M, K, N, pool);
		sq_linear_ref(yr, x, w, NULL, M, K, N);
		e = max_diff(y, yr, (long)M * N);
		snprintf(what, sizeof(what), "linear without bias M=%d N=%d",
		    M, N);
		ok(e < 1e-4, "%s (max abs diff %.3g)", what, e);
		free(x), free(w), free(b), free(y), free(yr);
	}
}

static void
test_elementwise(struct sq_pool *pool)
{
	static const char *names[] = { "relu", "gelu", "silu" };
	long n = 4099 * 20;
	float *x = tap_rand_vec(n, 12.0f), *a = sq_malloc(n * sizeof(float));
	float *r = sq_malloc(n * sizeof(float));
	char what[64];
	int act;
	double e;

	for (act = SQ_ACT_RELU; act <= SQ_ACT_SILU; act++) {
		memcpy(a, x, n * sizeof(float));
		memcpy(r, x, n * sizeof(float));
		sq_activate(a, 20, 4099, act, pool);
		sq_activate_ref(r, n, act);
		e = max_diff(a, r, n);
		snprintf(what, sizeof(what), "activation %s", names[act]);
		ok(e < 2e-6 * 12, "%s (max abs diff %.3g)", what, e);
	}
	free(x), free(a), free(r);
}

static void
test_layernorm(struct sq_pool *pool)
{
	int M = 200, D = 515;
	float *x = tap_rand_vec((long)M * D, 3.0f), *g = tap_rand_vec(D, 1.0f);
	float *b = tap_rand_vec(D, 1.0f);
	float *y = sq_malloc((long)M * D * sizeof(float));
	float *yr = sq_malloc((long)M * D * sizeof(float));
	double e;
	int i;

	for (i = 0; i < D; i++)		/* an offset mean: the hard case */
		x[i] += 50.0f;
	sq_layernorm(y, x, g, b, M, D, 1e-5f, NULL);
	sq_layernorm_ref(yr, x, g, b, M, D, 1e-5f);
	e = max_diff(y, yr, (long)M * D);
	ok(e < 1e-4, "layernorm (max abs diff %.3g)", e);
	sq_layernorm(x, x, g, b, M, D, 1e-5f, pool);	/* in place */
	e = max_diff(x, yr, (long)M * D);
	ok(e < 1e-4, "layernorm in place (max abs diff %.3g)", e);
	free(x), free(g), free(b), free(y), free(yr);
}

/* The residual around a sublayer f, pre-norm and post-norm, by hand. */
static void
test_sublayer(struct sq_pool *pool)
{
	int M = 7, D = 64, pre;
	struct sq_config c = { .d_model = D, .layer_norm_eps = 1e-5f };
	float *x = tap_rand_vec((long)M * D, 2.0f), *o = tap_rand_vec((long)M * D,
	    2.0f);
	struct sq_norm nm = { tap_rand_vec(D, 1.0f), tap_rand_vec(D, 1.0f) };
	float *h = sq_malloc((long)M * D * sizeof(float));
	float *want = sq_malloc((long)M * D * sizeof(float));
	float *y = sq_malloc((long)M * D * sizeof(float));
	const float *in;
	long i;

	for (pre = 0; pre <= 1; pre++) {
		c.pre_norm = pre;
		memcpy(y, x, (long)M * D * sizeof(float));
		in = sq_sublayer_in(h, y, &nm, &c, M, pool);
		if (pre) {	/* x + f(LN(x)): f's input is LN(x) */
			sq_layernorm_ref(want, x, nm.g, nm.b, M, D, 1e-5f);
			ok(in == h && max_diff(h, want, (long)M * D) < 1e-5,
			    "pre-norm: the sublayer reads LN(x)");
			for (i = 0; i < (long)M * D; i++)
				want[i] = x[i] + o[i];
		} else {	/* LN(x + f(x)): f's input is x */
			ok(in == y, "post-norm: the sublayer reads x");
			for (i = 0; i < (long)M * D; i++)
				h[i] = x[i] + o[i];
			sq_layernorm_ref(want, h, nm.g, nm.b, M, D, 1e-5f);
		}
		sq_sublayer_out(y, o, &nm, &c, M, pool);
		ok(max_diff(y, want, (long)M * D) < 1e-5, "%s: the sublayer's "
		    "output joins x as %s", pre ? "pre-norm" : "post-norm",
		    pre ? "x + o" : "LN(x + o)");
	}
	free(x), free(o), free((float *)nm.g), free((float *)nm.b);
	free(h), free(want), free(y);
}

static void
test_logsoftmax(struct sq_pool *pool)
{
	int M = 3, V = 32003;
	float *x = tap_rand_vec((long)M * V, 20.0f);
	float *r = sq_malloc((long)M * V * sizeof(float));
	double e;

	x[5] = -INFINITY;	/* a suppressed token */
	memcpy(r, x, (long)M * V * sizeof(float));
	sq_logsoftmax(x, M, V, pool);
	sq_logsoftmax_ref(r, M, V);
	e = max_diff(x + 6, r + 6, (long)M * V - 6);
	ok(e < 1e-4 && isinf(x[5]) && x[5] < 0,
	    "logsoftmax (max abs diff %.3g)", e);
	free(x), free(r);
}

/* the first index of r's largest value, one at a time */
static int
argmax_ref(const float *r, int n)
{
	int best = 0;

	for (int v = 1; v < n; v++)
		if (r[v] > r[best])
			best = v;
	return best;
}

/*
 * Rows of every length from 1 to 80 (below, at and across the 16 lanes,
 * with tails), of few distinct values so that the largest recurs in
 * several lanes and in the tail, and of -inf (every token banned).
 */
static void
test_argmax(struct sq_pool *pool)
{
	enum { M = 40, N_MAX = 80 };
	float *x = sq_malloc((long)M * N_MAX * sizeof(float));
	int32_t got[M];
	int n, m, bad = 0;
	unsigned seed = 7;

	for (n = 1; n <= N_MAX; n++) {
		for (m = 0; m < M * n; m++) {
			seed = seed * 1103515245u + 12345u;
			x[m] = (float)((seed >> 16) % (m % 3 + 2));
		}
		for (m = 0; m < n; m++)
			x[m] = -INFINITY;	/* row 0: all banned */
		x[(long)(M - 1) * n + n - 1] = 9.0f;	/* the last one wins */
		sq_argmax(got, x, M, n, pool);
		for (m = 0; m < M; m++)
			bad += got[m] != argmax_ref(x + (long)m * n, n);
	}
	ok(bad == 0, "argmax: the first largest of rows of 1 to %d values, "
	    "ties across lanes and tails (%d wrong)", N_MAX, bad);
	got[0] = -1;
	sq_argmax(got, NULL, 1, 0, pool);	/* reads nothing */
	ok(got[0] == 0, "argmax of an empty row: 0 (got %d)", got[0]);
	free(x);
}

static void
test_attend(void)
{
	int D = 64, H = 4, n, t;

	for (n = 0; n <= 37; n += 37) {
		float *q = tap_rand_vec(D, 2.0f), *k = tap_rand_vec((long)2 * n * D,
		    2.0f);
		float *v = tap_rand_vec((long)2 * n * D, 1.0f);
		float o[64], orf[64], p[4 * 37 + 1], pr[4 * 37 + 1], s[38];
		float o2[64], *sc = sq_malloc((size_t)(H * n + 1) *
		    sizeof(float));
		long cell[38];
		char what[64];
		double e;

		for (t = 0; t < n; t++)	/* every other row, reversed */
			cell[t] = (long)(2 * (n - 1 - t)) * D;
		sq_attend(o, p, s, q, k, v, cell, n, D, H);
		sq_attend_ref(orf, pr, q, k, v, cell, n, D, H);
		e = SQ_MAX(max_diff(o, orf, D), max_diff(p, pr, (long)H * n));
		snprintf(what, sizeof(what), "attend over %d keys", n);
		ok(e < 1e-5, "%s (max abs diff %.3g)", what, e);
		/* without probs, in a scratch of H n (+ 1) floats, on the
		   heap where AddressSanitizer sees past its end */
		sq_attend(o2, NULL, sc, q, k, v, cell, n, D, H);
		ok(memcmp(o, o2, sizeof(o)) == 0, "%s without probs: the "
		    "same bits, in H n floats of scratch", what);
		free(sc);
		free(q), free(k), free(v);
	}
}

static void
count_runs(void *arg, int i, int n)
{
	int *seen = arg;

	SQ_UNUSED(n);
	__atomic_add_fetch(&seen[i], 1, __ATOMIC_RELAXED);
}

static void
test_pool(void)
{
	struct sq_pool *p = sq_pool_new(3);
	int seen[3] = { 0, 0, 0 }, r, i, lo, hi, prev = 0, good = 1;

	for (r = 0; r < 100; r++)
		sq_pool_run(p, count_runs, seen);
	ok(seen[0] == 100 && seen[1] == 100 && seen[2] == 100,
	    "pool runs every part once per run");
	{
		int parts[7] = { 0 }, k, good7 = 1;

		for (r = 0; r < 50; r++)
			sq_pool_run_parts(p, count_runs, parts, 7);
		for (k = 0; k < 7; k++)
			good7 &= parts[k] == 50;
		ok(good7, "pool runs 7 parts on 3 threads, each once per run");
	}
	for (i = 0; i < 3; i++) {
		sq_pool_share(1000, 16, i, 3, &lo, &hi);
		good &= lo == prev && lo % 16 == 0 && hi >= lo;
		prev = hi;
	}
	ok(good && prev == 1000, "pool shares tile the range");
	sq_pool_free(p);
	sq_pool_free(NULL);
}

int
main(void)
{
	struct sq_pool *pool = sq_pool_new(2);

	sq_ops_init();
	printf("# BLAS kernels: %s\n", sq_ops_blas_core());
	test_linear(NULL);
	test_linear(pool);
	test_elementwise(pool);
	test_layernorm(pool);
	test_sublayer(pool);
	test_logsoftmax(pool);
	test_argmax(NULL);
	test_argmax(pool);
	test_attend();
	test_pool();
	sq_pool_free(pool);
	return tap_done();
}
