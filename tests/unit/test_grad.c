/*
 * test_grad: the training kernels of lib/train/grad.h.  Each backward is
 * checked against central finite differences of a double-precision
 * reference forward written here (step 1e-6 on inputs held exactly in
 * double, so the numeric gradient is good to about 1e-9 and the error
 * measured is the float kernel's).  The scalar loss is L = sum(out * R)
 * with R random, so dout = R.  The error reported is
 * max |analytic - numeric| / max |numeric| over all inputs; a gradient
 * with a known bug must fail that check (the checker's own test).
 *
 * Also: the forwards against the inference kernels (sq_layernorm bit for
 * bit, sq_attend within float rounding), bit-identical results on 1, 2
 * and 3 threads, dropout's mask statistics, AdamW against a double
 * reference of torch's formula.  With "adamw FILE" or "xent FILE" as
 * arguments it runs that kernel on numbers from FILE and prints the
 * results instead (tests/train_kernels.bats compares them with torch).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "train/grad.h"
#include "base/pool.h"
#include "base/util.h"
#include "tap.h"

static float *
zeros(long n)
{
	return sq_calloc(n + 1, sizeof(float));
}

static double *
to_double(const float *x, long n)
{
	double *d = sq_malloc((n + 1) * sizeof(double));
	long i;

	for (i = 0; i < n; i++)
		d[i] = x[i];
	return d;
}

/* ---- the checker ---- */

/*
 * num (n) = dL/dx by central differences, L = f(ctx) a double forward
 * reading x.
 */
static void
fd_grad(double *num, double *x, long n, double (*f)(void *), void *ctx)
{
	const double h = 1e-6;
	long i;

	for (i = 0; i < n; i++) {
		double x0 = x[i], lp, lm;

		x[i] = x0 + h;
		lp = f(ctx);
		x[i] = x0 - h;
		lm = f(ctx);
		x[i] = x0;
		num[i] = (lp - lm) / (2 * h);
	}
}

/* max |a - num| / max |num| */
static double
grad_err(const float *a, const double *num, long n)
{
	double e = 0.0, m = 0.0;
	long i;

	for (i = 0; i < n; i++) {
		e = fmax(e, fabs(a[i] - num[i]));
		m = fmax(m, fabs(num[i]));
		if (isnan(a[i]))
			return INFINITY;
	}
	return e / fmax(m, 1e-30);
}

/* The tolerance of every gradient check; achieved errors are ~1e-7. */
#define GRAD_TOL 1e-5

/* the check itself: err < GRAD_TOL, reported with the error */
static int
check(const char *what, const float *a, const double *num, long n)
{
	double e = grad_err(a, num, n);

	ok(e < GRAD_TOL, "%s (rel err %.2g)", what, e);
	return e < GRAD_TOL;
}

/* the bits of two float arrays agree */
static int
same(const float *a, const float *b, long n)
{
	return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

/* ---- linear ---- */

struct lin {
	double *x, *w, *b;	/* (M, K), (N, K), (N) */
	const float *r;		/* (M, N) */
	int M, K, N;
};

static double
lin_loss(void *arg)
{
	struct lin *c = arg;
	double L = 0.0;
	int m, n, k;

	for (m = 0; m < c->M; m++)
		for (n = 0; n < c->N; n++) {
			double s = c->b[n];

			for (k = 0; k < c->K; k++)
				s += c->x[(long)m * c->K + k] *
				    c->w[(long)n * c->K + k];
			L += s * c->r[(long)m * c->N + n];
		}
	return L;
}

static void
test_linear(void)
{
	int M = 9, K = 20, N = 17;
	float *x = tap_rand_vec((long)M * K, 1.0f), *w = tap_rand_vec((long)N * K, 0.5f);
	float *r = tap_rand_vec((long)M * N, 1.0f);
	float *dx = tap_rand_vec((long)M * K, 1.0f), *dw = tap_rand_vec((long)N * K, 1.0f);
	float *db = tap_rand_vec(N, 1.0f);
	float *dx0 = sq_malloc((long)M * K * sizeof(float));
	float *dw0 = sq_malloc((long)N * K * sizeof(float));
	float *db0 = sq_malloc(N * sizeof(float));
	float *bf = tap_rand_vec(N, 0.5f);
	struct lin c = { to_double(x, (long)M * K), to_double(w, (long)N * K),
		to_double(bf, N), r, M, K, N };
	double *nx = sq_malloc((long)M * K * sizeof(double));
	double *nw = sq_malloc((long)N * K * sizeof(double));
	double *nb = sq_malloc(N * sizeof(double));
	long i;

	/* += semantics: start from random gradients, subtract them after */
	memcpy(dx0, dx, (long)M * K * sizeof(float));
	memcpy(dw0, dw, (long)N * K * sizeof(float));
	memcpy(db0, db, N * sizeof(float));
	sq_linear_backward(dx, dw, db, r, x, w, M, K, N, NULL);
	for (i = 0; i < (long)M * K; i++)
		dx[i] -= dx0[i];
	for (i = 0; i < (long)N * K; i++)
		dw[i] -= dw0[i];
	for (i = 0; i < N; i++)
		db[i] -= db0[i];
	fd_grad(nx, c.x, (long)M * K, lin_loss, &c);
	fd_grad(nw, c.w, (long)N * K, lin_loss, &c);
	fd_grad(nb, c.b, N, lin_loss, &c);
	check("linear backward dinp (+=)", dx, nx, (long)M * K);
	check("linear backward dw (+=)", dw, nw, (long)N * K);
	check("linear backward dbias (+=)", db, nb, N);

	/* the checker's own test: a dw off by 0.1% must fail */
	for (i = 0; i < (long)N * K; i++)
		dw0[i] = dw[i] * 1.001f;
	ok(grad_err(dw0, nw, (long)N * K) > GRAD_TOL,
	    "checker: a dw scaled by 1.001 is caught (rel err %.2g)",
	    grad_err(dw0, nw, (long)N * K));
	/* ... and a single wrong element */
	memcpy(dw0, dw, (long)N * K * sizeof(float));
	dw0[7] += 1e-3f * (float)fabs(nw[7]) + 1e-4f;
	ok(grad_err(dw0, nw, (long)N * K) > GRAD_TOL,
	    "checker: one wrong element of dw is caught (rel err %.2g)",
	    grad_err(dw0, nw, (long)N * K));

	/* from zero, with dinp and dbias NULL: the same dw */
	memset(dx0, 0, (long)M * K * sizeof(float));
	memset(dw0, 0, (long)N * K * sizeof(float));
	memset(db0, 0, N * sizeof(float));
	sq_linear_backward(dx0, dw0, db0, r, x, w, M, K, N, NULL);
	memset(dw, 0, (long)N * K * sizeof(float));
	sq_linear_backward(NULL, dw, NULL, r, x, w, M, K, N, NULL);
	ok(same(dw, dw0, (long)N * K), "linear backward with dinp and dbias NULL");
	free(x), free(w), free(r), free(dx), free(dw), free(db), free(dx0);
	free(dw0), free(db0), free(bf), free(nx), free(nw), free(nb);
	free(c.x), free(c.w), free(c.b);
}

/* Big products: blocks, pool; against double sums; same bits on 1-3 threads */
static void
test_linear_big(struct sq_pool **pools, int M, int K, int N)
{
	int m, n, k, t;
	float *x = tap_rand_vec((long)M * K, 1.0f), *w = tap_rand_vec((long)N * K, 0.5f);
	float *r = tap_rand_vec((long)M * N, 1.0f);
	float *dx[3], *dw[3], *db[3];
	double ex = 0, ew = 0, eb = 0, mx = 0, mw = 0, mb = 0;
	int same_bits = 1;

	for (t = 0; t < 3; t++) {
		dx[t] = zeros((long)M * K), dw[t] = zeros((long)N * K);
		db[t] = zeros(N);
		sq_linear_backward(dx[t], dw[t], db[t], r, x, w, M, K, N,
		    pools[t]);
		if (t > 0)
			same_bits &= same(dx[t], dx[0], (long)M * K) &&
			    same(dw[t], dw[0], (long)N * K) &&
			    same(db[t], db[0], N);
	}
	for (m = 0; m < M; m++)
		for (k = 0; k < K; k++) {
			double s = 0;

			for (n = 0; n < N; n++)
				s += (double)r[(long)m * N + n] * w[(long)n * K + k];
			ex = fmax(ex, fabs(dx[0][(long)m * K + k] - s));
			mx = fmax(mx, fabs(s));
		}
	for (n = 0; n < N; n++) {
		double sb = 0;

		for (k = 0; k < K; k++) {
			double s = 0;

			for (m = 0; m < M; m++)
				s += (double)r[(long)m * N + n] * x[(long)m * K + k];
			ew = fmax(ew, fabs(dw[0][(long)n * K + k] - s));
			mw = fmax(mw, fabs(s));
		}
		for (m = 0; m < M; m++)
			sb += r[(long)m * N + n];
		eb = fmax(eb, fabs(db[0][n] - sb));
		mb = fmax(mb, fabs(sb));
	}
	ok(ex / mx < 1e-6 && ew / mw < 1e-6 && eb / mb < 1e-6,
	    "linear backward M=%d K=%d N=%d against double (rel err %.2g %.2g %.2g)",
	    M, K, N, ex / mx, ew / mw, eb / mb);
	ok(same_bits, "linear backward M=%d K=%d N=%d: the same bits on 1, 2 "
	    "and 3 threads", M, K, N);
	for (t = 0; t < 3; t++)
		free(dx[t]), free(dw[t]), free(db[t]);
	free(x), free(w), free(r);
}

/* ---- layer norm ---- */

struct ln {
	double *x, *g, *b;
	const float *r;
	int M, D;
	double eps;
};

static double
ln_loss(void *arg)
{
	struct ln *c = arg;
	double L = 0.0;
	int m, d;

	for (m = 0; m < c->M; m++) {
		const double *x = c->x + (long)m * c->D;
		double mu = 0, var = 0, rs;

		for (d = 0; d < c->D; d++)
			mu += x[d];
		mu /= c->D;
		for (d = 0; d < c->D; d++)
			var += (x[d] - mu) * (x[d] - mu);
		rs = 1.0 / sqrt(var / c->D + c->eps);
		for (d = 0; d < c->D; d++)
			L += ((x[d] - mu) * rs * c->g[d] + c->b[d]) *
			    c->r[(long)m * c->D + d];
	}
	return L;
}

static void
test_layernorm(struct sq_pool **pools)
{
	int M = 4, D = 37, i, t;
	long n = (long)M * D;
	float *x = tap_rand_vec(n, 2.0f), *g = tap_rand_vec(D, 1.0f), *b = tap_rand_vec(D, 1.0f);
	float *r = tap_rand_vec(n, 1.0f), *y = zeros(n), *y2 = zeros(n);
	float mean[4], rstd[4];
	float *dx = zeros(n), *dg = zeros(D), *db = zeros(D), *bad = zeros(n);
	struct ln c;
	double *nx = sq_malloc(n * sizeof(double)), *ng = sq_malloc(D * sizeof(double));
	double *nb = sq_malloc(D * sizeof(double));

	for (i = 0; i < D; i++)
		x[i] += 10.0f;	/* an offset mean */
	sq_layernorm_forward_train(y, mean, rstd, x, g, b, M, D, 1e-5f, NULL);
	sq_layernorm(y2, x, g, b, M, D, 1e-5f, NULL);
	ok(same(y, y2, n), "layernorm forward_train: the bits of sq_layernorm");
	sq_layernorm_backward(dx, dg, db, r, x, mean, rstd, g, M, D, NULL);
	c.x = to_double(x, n), c.g = to_double(g, D), c.b = to_double(b, D);
	c.r = r, c.M = M, c.D = D, c.eps = 1e-5;
	fd_grad(nx, c.x, n, ln_loss, &c);
	fd_grad(ng, c.g, D, ln_loss, &c);
	fd_grad(nb, c.b, D, ln_loss, &c);
	check("layernorm backward dinp", dx, nx, n);
	check("layernorm backward dg", dg, ng, D);
	check("layernorm backward db", db, nb, D);

	/* the classic bug: forgetting the mean(dxhat) term must be caught */
	for (i = 0; i < M; i++) {
		double a = 0;
		int d;

		for (d = 0; d < D; d++)
			a += (double)r[i * D + d] * g[d];
		a /= D;
		for (d = 0; d < D; d++)
			bad[i * D + d] = dx[i * D + d] + rstd[i] * (float)a;
	}
	ok(grad_err(bad, nx, n) > GRAD_TOL,
	    "checker: layernorm dinp without the mean term is caught (rel err %.2g)",
	    grad_err(bad, nx, n));
	free(x), free(g), free(b), free(r), free(y), free(y2), free(dx);
	free(dg), free(db), free(bad), free(nx), free(ng), free(nb);
	free(c.x), free(c.g), free(c.b);

	/* many rows: threads, and in-place forward */
	{
		int Mb = 300, Db = 384, same_bits = 1;
		long nb2 = (long)Mb * Db;
		float *xb = tap_rand_vec(nb2, 3.0f), *gb = tap_rand_vec(Db, 1.0f);
		float *bb = tap_rand_vec(Db, 1.0f), *rb = tap_rand_vec(nb2, 1.0f);
		float *yb = zeros(nb2), *yr = zeros(nb2), *xi = zeros(nb2);
		float *mb = zeros(Mb), *sb = zeros(Mb), *mb2 = zeros(Mb), *sb2 = zeros(Mb);
		float *dxb[3], *dgb[3], *dbb[3];

		sq_layernorm(yr, xb, gb, bb, Mb, Db, 1e-5f, NULL);
		for (t = 0; t < 3; t++) {
			sq_layernorm_forward_train(yb, mb2, sb2, xb, gb, bb, Mb, Db,
			    1e-5f, pools[t]);
			same_bits &= same(yb, yr, nb2);
			if (t == 0)
				memcpy(mb, mb2, Mb * sizeof(float)),
				memcpy(sb, sb2, Mb * sizeof(float));
			same_bits &= same(mb, mb2, Mb) && same(sb, sb2, Mb);
		}
		memcpy(xi, xb, nb2 * sizeof(float));
		sq_layernorm_forward_train(xi, mb2, sb2, xi, gb, bb, Mb, Db, 1e-5f,
		    pools[1]);
		ok(same_bits && same(xi, yr, nb2) && same(mb, mb2, Mb) &&
		    same(sb, sb2, Mb),
		    "layernorm forward_train M=%d D=%d: the bits of sq_layernorm "
		    "on 1-3 threads and in place", Mb, Db);
		same_bits = 1;
		for (t = 0; t < 3; t++) {
			dxb[t] = zeros(nb2), dgb[t] = zeros(Db), dbb[t] = zeros(Db);
			sq_layernorm_backward(dxb[t], dgb[t], dbb[t], rb, xb, mb, sb,
			    gb, Mb, Db, pools[t]);
			if (t > 0)
				same_bits &= same(dxb[t], dxb[0], nb2) &&
				    same(dgb[t], dgb[0], Db) &&
				    same(dbb[t], dbb[0], Db);
		}
		ok(same_bits, "layernorm backward: the same bits on 1, 2 and 3 threads");
		for (t = 0; t < 3; t++)
			free(dxb[t]), free(dgb[t]), free(dbb[t]);
		free(xb), free(gb), free(bb), free(rb), free(yb), free(yr);
		free(xi), free(mb), free(sb), free(mb2), free(sb2);
	}
}

/* ---- activations ---- */

struct act {
	double *x;
	const float *r;
	long n;
	int act;
};

static double
act_ref(double x, int act)
{
	switch (act) {
	case SQ_ACT_GELU:
		return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
	case SQ_ACT_SILU:
		return x / (1.0 + exp(-x));
	default:
		return x > 0 ? x : 0;
	}
}

static double
act_loss(void *arg)
{
	struct act *c = arg;
	double L = 0;
	long i;

	for (i = 0; i < c->n; i++)
		L += act_ref(c->x[i], c->act) * c->r[i];
	return L;
}

static void
test_activations(struct sq_pool **pools)
{
	static const char *names[] = { "relu", "gelu", "silu" };
	long n = 67, i;
	float *x = tap_rand_vec(n, 5.0f), *r = tap_rand_vec(n, 1.0f);
	float *dx = zeros(n), *bad = zeros(n);
	double *num = sq_malloc(n * sizeof(double));
	struct act c;
	char what[64];

	for (i = 0; i < n; i++)		/* keep off ReLU's kink */
		if (fabsf(x[i]) < 1e-2f)
			x[i] = 0.5f;
	c.x = to_double(x, n), c.r = r, c.n = n;
	for (c.act = SQ_ACT_RELU; c.act <= SQ_ACT_SILU; c.act++) {
		memset(dx, 0, n * sizeof(float));
		sq_activate_backward(dx, x, r, n, c.act, 0.0f, 0, 0, NULL);
		fd_grad(num, c.x, n, act_loss, &c);
		snprintf(what, sizeof(what), "activation backward %s",
		    names[c.act]);
		check(what, dx, num, n);
		if (c.act == SQ_ACT_GELU) {
			/* GELU's derivative without its x phi(x) term */
			for (i = 0; i < n; i++)
				bad[i] = r[i] * 0.5f * (1.0f + erff(x[i] / sqrtf(2.0f)));
			ok(grad_err(bad, num, n) > GRAD_TOL,
			    "checker: GELU' without x phi(x) is caught (rel err %.2g)",
			    grad_err(bad, num, n));
		}
	}
	free(x), free(r), free(dx), free(bad), free(num), free(c.x);

	/* many elements: threads */
	{
		long nb = 200003;
		float *xb = tap_rand_vec(nb, 6.0f), *rb = tap_rand_vec(nb, 1.0f);
		float *d[3];
		int t, act, good = 1;

		for (act = SQ_ACT_RELU; act <= SQ_ACT_SILU; act++)
			for (t = 0; t < 3; t++) {
				d[t] = zeros(nb);
				sq_activate_backward(d[t], xb, rb, nb, act, 0.0f, 0, 0,
				    pools[t]);
				if (t > 0)
					good &= same(d[t], d[0], nb);
				if (t == 2)
					free(d[0]), free(d[1]), free(d[2]);
			}
		ok(good, "activation backward: the same bits on 1, 2 and 3 threads");
		free(xb), free(rb);
	}
}

/* ---- attention ---- */

struct attn {
	double *q, *k, *v;
	const float *r;
	int Tq, Tk, D, H, causal, window;
	const struct sq_dropout *drop;
	const struct sq_guide *guide;	/* adds c sum P W, P before dropout */
};

static double
attn_loss(void *arg)
{
	struct attn *c = arg;
	int dh = c->D / c->H, h, i, j, e;
	double L = 0, p[64];

	for (h = 0; h < c->H; h++)
		for (i = 0; i < c->Tq; i++) {
			int n = c->causal ? SQ_MIN(i + 1, c->Tk) : c->Tk;
			double mx = -INFINITY, s = 0;

			/* keys outside the window: probability 0 */
			for (j = 0; j < n; j++)
				p[j] = -INFINITY;
			for (j = 0; j < n; j++) {
				if (c->window > 0 && abs(i - j) > c->window)
					continue;
				double d = 0;

				for (e = 0; e < dh; e++)
					d += c->q[i * c->D + h * dh + e] *
					    c->k[j * c->D + h * dh + e];
				p[j] = d / sqrt((double)dh);
				mx = fmax(mx, p[j]);
			}
			for (j = 0; j < n; j++)
				s += p[j] = exp(p[j] - mx);
			for (j = 0; j < n; j++) {
				p[j] /= s;
				if (c->guide != NULL) {
					/* W from the formula, in double */
					double d = (double)j / c->Tk -
					    (double)i / c->Tq, g = c->guide->g;

					L += c->guide->c * p[j] * (1 - exp(-d *
					    d / (2 * g * g)));
				}
				if (c->drop != NULL)
					p[j] = sq_dropout_keep(c->drop->seed,
					    c->drop->stream, ((uint64_t)h * c->Tq + i) *
					    c->Tk + j, c->drop->p) ?
					    p[j] / (1.0 - c->drop->p) : 0.0;
			}
			for (e = 0; e < dh; e++) {
				double o = 0;

				for (j = 0; j < n; j++)
					o += p[j] * c->v[j * c->D + h * dh + e];
				L += o * c->r[i * c->D + h * dh + e];
			}
		}
	return L;
}

static void
attn_case(int Tq, int Tk, int D, int H, int causal, int window,
    const struct sq_dropout *drop, const struct sq_guide *guide)
{
	long nq = (long)Tq * D, nk = (long)Tk * D, np = (long)H * Tq * Tk;
	float *q = tap_rand_vec(nq, 1.5f), *k = tap_rand_vec(nk, 1.5f);
	float *v = tap_rand_vec(nk, 1.0f), *r = tap_rand_vec(nq, 1.0f);
	float *out = zeros(nq), *probs = zeros(np), *scr = zeros(np);
	float *dq = zeros(nq), *dk = zeros(nk), *dv = zeros(nk);
	double *num = sq_malloc((nq + nk + 1) * sizeof(double));
	struct attn c;
	char what[128];

	sq_attention_forward(out, probs, scr, q, k, v, Tq, Tk, D, H, causal,
	    window, drop, NULL);
	sq_attention_backward(dq, dk, dv, scr, r, probs, q, k, v, Tq, Tk, D, H,
	    causal, window, NULL, drop, guide, NULL);
	c.q = to_double(q, nq), c.k = to_double(k, nk), c.v = to_double(v, nk);
	c.r = r, c.Tq = Tq, c.Tk = Tk, c.D = D, c.H = H, c.causal = causal;
	c.window = window, c.drop = drop;
	c.guide = guide;
	{
		/* the forward's loss (and guide penalty) against the reference's */
		double L = 0, Lr = attn_loss(&c);
		long i;

		for (i = 0; i < nq; i++)
			L += (double)out[i] * r[i];
		if (guide != NULL)
			L += guide->c * sq_guide_penalty(probs, Tq, Tk, H,
			    guide->g);
		snprintf(what, sizeof(what), "attention forward Tq=%d Tk=%d "
		    "H=%d%s window %d%s%s", Tq, Tk, H, causal ? " causal" : "",
		    window, drop ? " dropout" : "", guide ? " guided" : "");
		ok(fabs(L - Lr) <= 1e-5 * (fabs(Lr) + 1), "%s (loss %.9g vs %.9g)",
		    what, L, Lr);
	}
	snprintf(what, sizeof(what), "attention backward Tq=%d Tk=%d H=%d%s "
	    "window %d%s%s", Tq, Tk, H, causal ? " causal" : "", window,
	    drop ? " dropout" : "", guide ? " guided" : "");
	fd_grad(num, c.q, nq, attn_loss, &c);
	{
		char w2[160];

		snprintf(w2, sizeof(w2), "%s dq", what);
		check(w2, dq, num, nq);
		fd_grad(num, c.k, nk, attn_loss, &c);
		snprintf(w2, sizeof(w2), "%s dk", what);
		check(w2, dk, num, nk);
		fd_grad(num, c.v, nk, attn_loss, &c);
		snprintf(w2, sizeof(w2), "%s dv", what);
		check(w2, dv, num, nk);
	}
	free(q), free(k), free(v), free(r), free(out), free(probs), free(scr);
	free(dq), free(dk), free(dv), free(num), free(c.q), free(c.k), free(c.v);
}

/*
 * The forward against sq_attend() query by query (what decoding
 * computes, and the encoder over its window of keys): the same bits; and
 * the same bits on 1-3 threads.
 */
static void
attn_vs_attend(struct sq_pool **pools, int T, int D, int H, int causal,
    int window)
{
	long n = (long)T * D, np = (long)H * T * T;
	float *q = tap_rand_vec(n, 2.0f), *k = tap_rand_vec(n, 2.0f), *v = tap_rand_vec(n, 1.0f);
	float *out = zeros(n), *probs = zeros(np), *o2 = zeros(n), *p2 = zeros(np);
	float *ref = zeros(n), *pr = zeros(np), *scr = zeros(T), *r = tap_rand_vec(n, 1);
	float *dq[3], *dk[3], *dv[3], *gs = zeros(np);
	long *cell = sq_malloc(T * sizeof(long));
	double eo = 0, mo = 0, ep = 0;
	int i, t, h, same_bits = 1;

	for (t = 0; t < T; t++)
		cell[t] = (long)t * D;
	for (i = 0; i < T; i++) {
		int hi = causal ? i + 1 : T, lo = 0, nk;
		float pp[16 * 256];

		if (window > 0) {
			lo = SQ_MAX(0, i - window);
			hi = SQ_MIN(hi, i + window + 1);
		}
		nk = hi - lo;
		sq_attend(ref + (long)i * D, pp, scr, q + (long)i * D,
		    k + (long)lo * D, v + (long)lo * D, cell, nk, D, H);
		for (h = 0; h < H; h++)
			for (t = 0; t < nk; t++)
				pr[((long)h * T + i) * T + lo + t] = pp[h * nk + t];
	}
	sq_attention_forward(out, probs, NULL, q, k, v, T, T, D, H, causal,
	    window, NULL, NULL);
	for (i = 0; i < n; i++) {
		eo = fmax(eo, fabs(out[i] - ref[i]));
		mo = fmax(mo, fabs(ref[i]));
	}
	for (i = 0; i < np; i++)
		ep = fmax(ep, fabs(probs[i] - pr[i]));
	ok(same(out, ref, n) && same(probs, pr, np),
	    "attention forward T=%d D=%d H=%d%s window %d: the bits of "
	    "sq_attend (out rel err %.2g, probs abs err %.2g)", T, D, H,
	    causal ? " causal" : "", window, eo / mo, ep);
	for (t = 0; t < 3; t++) {
		sq_attention_forward(o2, p2, NULL, q, k, v, T, T, D, H, causal,
		    window, NULL, pools[t]);
		same_bits &= same(o2, out, n) && same(p2, probs, np);
		dq[t] = zeros(n), dk[t] = zeros(n), dv[t] = zeros(n);
		sq_attention_backward(dq[t], dk[t], dv[t], gs, r, probs, q, k, v,
		    T, T, D, H, causal, window, NULL, NULL, NULL, pools[t]);
		if (t > 0)
			same_bits &= same(dq[t], dq[0], n) &&
			    same(dk[t], dk[0], n) && same(dv[t], dv[0], n);
	}
	ok(same_bits, "attention T=%d D=%d: the same bits on 1, 2 and 3 threads",
	    T, D);
	for (t = 0; t < 3; t++)
		free(dq[t]), free(dk[t]), free(dv[t]);
	free(q), free(k), free(v), free(out), free(probs), free(o2), free(p2);
	free(ref), free(pr), free(scr), free(r), free(gs), free(cell);
}

static void
test_attention(struct sq_pool **pools)
{
	struct sq_dropout drop = { 0.3f, 1234, 7 };
	/* a strong term, so its share of the gradient is checked */
	struct sq_guide guide = { 3.0f, 0.2f };
	float out[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };

	attn_case(5, 6, 8, 2, 0, 0, NULL, NULL);	/* cross-attention */
	attn_case(6, 6, 12, 3, 1, 0, NULL, NULL);	/* masked self-attention */
	attn_case(7, 7, 32, 2, 1, 0, NULL, NULL);	/* dh 16: vector paths */
	attn_case(5, 6, 8, 2, 1, 0, &drop, NULL);
	attn_case(4, 5, 8, 2, 0, 0, &drop, NULL);
	attn_case(8, 8, 12, 3, 0, 2, NULL, NULL);	/* encoder, window 2 */
	attn_case(7, 7, 8, 2, 0, 1, &drop, NULL);
	attn_case(7, 4, 8, 2, 0, 0, NULL, &guide);	/* guided attention */
	attn_case(4, 6, 8, 2, 0, 0, &drop, &guide);
	sq_attention_forward(out, NULL, NULL, out, NULL, NULL, 1, 0, 8, 2, 0,
	    0, NULL, NULL);
	ok(out[0] == 0 && out[7] == 0, "attention over no keys gives 0");
	attn_vs_attend(pools, 50, 64, 4, 1, 0);
	attn_vs_attend(pools, 37, 512, 8, 0, 0);
	attn_vs_attend(pools, 41, 64, 4, 0, 6);
}

/* ---- loss ---- */

struct xent {
	double *z;
	const int32_t *y;
	int M, V;
	double eps;
};

static double
xent_loss(void *arg)
{
	struct xent *c = arg;
	double L = 0;
	int m, v;

	for (m = 0; m < c->M; m++) {
		const double *z = c->z + (long)m * c->V;
		double mx = -INFINITY, s = 0, lse, sl = 0;

		if (c->y[m] < 0)
			continue;
		for (v = 0; v < c->V; v++)
			mx = fmax(mx, z[v]);
		for (v = 0; v < c->V; v++)
			s += exp(z[v] - mx);
		lse = mx + log(s);
		for (v = 0; v < c->V; v++)
			sl += z[v] - lse;
		L += -(1 - c->eps) * (z[c->y[m]] - lse) - c->eps / c->V * sl;
	}
	return L;
}

static void
test_xent(struct sq_pool **pools)
{
	int M = 5, V = 37, m, t;
	int32_t y[5] = { 3, -1, 36, 0, 17 }, am[5];
	long n = (long)M * V;
	float *z = tap_rand_vec(n, 4.0f), *d = zeros(n), *za = zeros(n);
	double *num = sq_malloc(n * sizeof(double)), loss, loss2, eps;
	struct xent c;
	char what[80];
	int cnt, good;

	c.z = to_double(z, n), c.y = y, c.M = M, c.V = V;
	for (eps = 0.0; eps <= 0.1; eps += 0.1) {
		c.eps = (float)eps;
		cnt = sq_xent_forward_backward(&loss, NULL, d, z, y, M, V, (float)eps,
		    1.0f, NULL);
		fd_grad(num, c.z, n, xent_loss, &c);
		snprintf(what, sizeof(what), "xent eps=%.1f dlogits", eps);
		check(what, d, num, n);
		ok(cnt == 4 && fabs(loss - xent_loss(&c)) < 1e-6 * xent_loss(&c),
		    "xent eps=%.1f loss %.9g vs %.9g, %d rows counted", eps, loss,
		    xent_loss(&c), cnt);
	}
	/* scale, and dlogits aliasing logits */
	memcpy(za, z, n * sizeof(float));
	sq_xent_forward_backward(&loss, NULL, d, z, y, M, V, 0.1f, 0.25f, NULL);
	sq_xent_forward_backward(&loss2, NULL, za, za, y, M, V, 0.1f, 0.25f, NULL);
	good = same(d, za, n) && loss == loss2;
	for (m = 0; m < n; m++)
		good &= fabs(d[m] - 0.25 * num[m]) < 1e-6;
	ok(good, "xent: scale multiplies dlogits, in place gives the same bits");
	ok(d[V] == 0 && d[2 * V - 1] == 0, "xent: an ignored row gets dlogits 0");
	{	/* each row's own loss, 0 for an ignored one, summing to the whole */
		double rl[5], sum = 0;
		struct xent one = c;

		sq_xent_forward_backward(&loss, rl, d, z, y, M, V, 0.1f, 1.0f,
		    NULL);
		one.M = 1, one.eps = 0.1f;
		good = 1;
		for (m = 0; m < M; m++) {
			one.z = c.z + (long)m * V, one.y = y + m;
			good &= fabs(rl[m] - xent_loss(&one)) < 1e-6;
			sum += rl[m];
		}
		ok(good && rl[1] == 0 && fabs(sum - loss) < 1e-9 * loss,
		    "xent: row losses are each row's, and sum to the loss");
	}
	sq_argmax(am, z, M, V, NULL);
	good = 1;
	for (m = 0; m < M; m++)
		for (t = 0; t < V; t++)
			good &= z[(long)m * V + t] < z[(long)m * V + am[m]] ||
			    (z[(long)m * V + t] == z[(long)m * V + am[m]] &&
			    t >= am[m]);
	ok(good, "argmax: the first largest of each row");
	free(z), free(d), free(za), free(num), free(c.z);

	/* many rows: threads */
	{
		int Mb = 70, Vb = 3001, i;
		long nb = (long)Mb * Vb;
		float *zb = tap_rand_vec(nb, 8.0f), *db[3];
		int32_t *yb = sq_malloc(Mb * sizeof(int32_t)), amb[3][70];
		double lb[3];

		for (i = 0; i < Mb; i++)
			yb[i] = i % 9 == 4 ? -1 : (i * 977) % Vb;
		good = 1;
		for (t = 0; t < 3; t++) {
			db[t] = zeros(nb);
			cnt = sq_xent_forward_backward(&lb[t], NULL, db[t], zb, yb, Mb, Vb,
			    0.1f, 0.5f, pools[t]);
			sq_argmax(amb[t], zb, Mb, Vb, pools[t]);
			if (t > 0)
				good &= same(db[t], db[0], nb) && lb[t] == lb[0] &&
				    !memcmp(amb[t], amb[0], sizeof(amb[0]));
		}
		ok(good && cnt == Mb - 8,
		    "xent M=%d V=%d: the same bits on 1, 2 and 3 threads", Mb, Vb);
		for (t = 0; t < 3; t++)
			free(db[t]);
		free(zb), free(yb);
	}
}

/* ---- embeddings ---- */

struct emb {
	double *E, *P;
	const int32_t *ids;
	const float *r;
	int n, D, first;
	double scale;
};

static double
emb_loss(void *arg)
{
	struct emb *c = arg;
	double L = 0;
	int t, d;

	for (t = 0; t < c->n; t++)
		for (d = 0; d < c->D; d++)
			L += (c->scale * c->E[c->ids[t] * c->D + d] +
			    c->P[(c->first + t) * c->D + d]) * c->r[t * c->D + d];
	return L;
}

static void
test_embed(void)
{
	int rows = 6, Pn = 9, n = 5, D = 19, first = 2;
	int32_t ids[5] = { 4, 1, 4, 0, 4 };	/* repeats add up */
	float *E = tap_rand_vec((long)rows * D, 1.0f), *P = tap_rand_vec((long)Pn * D, 1.0f);
	float *r = tap_rand_vec((long)n * D, 1.0f), *dE = zeros((long)rows * D);
	float *dP = zeros((long)Pn * D), out[5 * 19], pe[5 * 19];
	double *num = sq_malloc((long)rows * Pn * D * sizeof(double));
	struct emb c = { to_double(E, (long)rows * D), to_double(P, (long)Pn * D),
		ids, r, n, D, first, 4.358898943540674 };
	double L = 0;
	long i;

	sq_positions(pe, first, n, D, SQ_POS_LEARNED, P);
	sq_embed(out, E, ids, pe, (float)c.scale, n, D);
	for (i = 0; i < (long)n * D; i++)
		L += (double)out[i] * r[i];
	ok(fabs(L - emb_loss(&c)) < 1e-5 * fabs(L), "embed: the reference forward is sq_embed's");
	sq_embed_backward(dE, r, ids, (float)c.scale, n, D);
	sq_positions_backward(dP, r, first, n, D);
	fd_grad(num, c.E, (long)rows * D, emb_loss, &c);
	check("embed backward dE (tokens repeated)", dE, num, (long)rows * D);
	fd_grad(num, c.P, (long)Pn * D, emb_loss, &c);
	check("learned positions backward dP", dP, num, (long)Pn * D);
	free(E), free(P), free(r), free(dE), free(dP), free(num), free(c.E);
	free(c.P);
}

/* ---- dropout ---- */

static void
test_dropout(struct sq_pool **pools)
{
	long n = 300007, i, kept = 0;
	float p = 0.25f, *x = tap_rand_vec(n, 1.0f), *x0 = zeros(n), *y[3], *d = zeros(n);
	uint8_t *mask = sq_malloc(n);
	int t, good = 1, agree = 1;

	memcpy(x0, x, n * sizeof(float));
	for (t = 0; t < 3; t++) {
		y[t] = zeros(n);
		memcpy(y[t], x, n * sizeof(float));
		sq_dropout_forward(y[t], t == 0 ? mask : NULL, n, p, 42, 3,
		    pools[t]);
		if (t > 0)
			good &= same(y[t], y[0], n);
	}
	for (i = 0; i < n; i++) {
		int k = sq_dropout_keep(42, 3, i, p);

		kept += mask[i];
		agree &= mask[i] == k &&
		    y[0][i] == (k ? x0[i] * (1.0f / (1.0f - p)) : 0.0f);
	}
	ok(good, "dropout forward: the same bits on 1, 2 and 3 threads");
	ok(agree, "dropout forward: kept elements scaled by 1/(1-p), the mask is "
	    "sq_dropout_keep's");
	/* binomial: sd = sqrt(n p (1-p)) = 237; allow 5 sd */
	ok(fabs(kept - n * (1.0 - p)) < 5 * sqrt(n * p * (1 - p)),
	    "dropout keeps %ld of %ld (expected %.0f)", kept, n, n * (1.0 - p));
	/* the backward: recomputed mask = stored mask; it is the forward's map */
	memcpy(d, x0, n * sizeof(float));
	sq_dropout_backward(d, NULL, n, p, 42, 3, pools[1]);
	memcpy(x, x0, n * sizeof(float));
	sq_dropout_backward(x, mask, n, p, 42, 3, NULL);
	ok(same(d, y[0], n) && same(x, y[0], n),
	    "dropout backward, mask stored or recomputed, is the same linear map");
	memcpy(x, x0, n * sizeof(float));
	sq_dropout_forward(x, NULL, n, p, 42, 4, NULL);
	ok(!same(x, y[0], n), "another stream, another mask");
	memcpy(x, x0, n * sizeof(float));
	sq_dropout_forward(x, NULL, n, 0.0f, 42, 3, NULL);
	ok(same(x, x0, n), "dropout with p = 0 is the identity");
	for (t = 0; t < 3; t++)
		free(y[t]);
	free(x), free(x0), free(d), free(mask);
}

/*
 * The fused passes give the bits of the separate ones: sq_dropout_add as
 * dropout then add, sq_dropout_copy as copy then dropout backward,
 * sq_activate_dropout as sq_activate then dropout, and
 * sq_activate_backward with a dropout as dropout backward then without.
 */
static void
test_dropout_fused(struct sq_pool **pools)
{
	long n = 100003, i;
	float p = 0.3f, *x = tap_rand_vec(n, 2.0f), *y = tap_rand_vec(n, 1.0f);
	float *want = zeros(n), *tmp = zeros(n), *got = zeros(n);
	int t, act, add = 1, copy = 1, fwd = 1, back = 1;

	for (t = 0; t < 3; t++) {
		memcpy(tmp, y, n * sizeof(float));
		sq_dropout_forward(tmp, NULL, n, p, 9, 5, NULL);
		for (i = 0; i < n; i++)
			want[i] = x[i] + tmp[i];
		sq_dropout_add(got, x, y, n, p, 9, 5, pools[t]);
		add &= same(got, want, n);
		memcpy(want, y, n * sizeof(float));
		sq_dropout_backward(want, NULL, n, p, 9, 6, NULL);
		sq_dropout_copy(got, y, n, p, 9, 6, pools[t]);
		copy &= same(got, want, n);
		for (act = SQ_ACT_RELU; act <= SQ_ACT_SILU; act++) {
			memcpy(want, x, n * sizeof(float));
			sq_activate(want, 1, (int)n, act, NULL);
			sq_dropout_forward(want, NULL, n, p, 9, 7, NULL);
			sq_activate_dropout(got, x, n, act, p, 9, 7, pools[t]);
			fwd &= same(got, want, n);
			memcpy(tmp, y, n * sizeof(float));
			sq_dropout_backward(tmp, NULL, n, p, 9, 7, NULL);
			sq_activate_backward(want, x, tmp, n, act, 0.0f, 0, 0,
			    NULL);
			sq_activate_backward(got, x, y, n, act, p, 9, 7,
			    pools[t]);
			back &= same(got, want, n);
		}
	}
	ok(add, "sq_dropout_add: dropout then add, on 1, 2 and 3 threads");
	ok(copy, "sq_dropout_copy: copy then dropout, on 1, 2 and 3 threads");
	ok(fwd, "sq_activate_dropout: activation then dropout, on 1-3 threads");
	ok(back, "sq_activate_backward with dropout: dropout backward then "
	    "activation backward, on 1-3 threads");
	free(x), free(y), free(want), free(tmp), free(got);
}

/* ---- the step ---- */

static void
test_sumsq(struct sq_pool **pools)
{
	long n = 1000003, i;
	float *x = tap_rand_vec(n, 3.0f);
	double s[3], ref = 0;
	float x0 = x[0], x2 = x[2];
	int t;

	for (i = 0; i < n; i++)
		ref += (double)x[i] * x[i];
	for (t = 0; t < 3; t++)
		s[t] = sq_sumsq(x, n, pools[t]);
	ok(fabs(s[0] - ref) < 1e-12 * ref, "sumsq against a double loop "
	    "(rel err %.2g)", fabs(s[0] - ref) / ref);
	ok(s[1] == s[0] && s[2] == s[0],
	    "sumsq: the same bits on 1, 2 and 3 threads");
	ok(sq_sumsq(x, 0, NULL) == 0 && sq_sumsq(x, 3, NULL) ==
	    (double)x[0] * x[0] + (double)x[1] * x[1] + (double)x[2] * x[2],
	    "sumsq of 0 and 3 elements");
	sq_scale(x, 3, 0.5f, NULL);
	ok(x[0] == 0.5f * x0 && x[2] == 0.5f * x2, "scale");
	free(x);
}

/*
 * torch 1.13's _single_tensor_adamw in double, one step (step >= 1)
 */
static void
adamw_ref(double *p, double *m, double *v, const float *g, long n, double lr,
    double b1, double b2, double eps, double wd, long step)
{
	double bc1 = 1 - pow(b1, step), bc2 = 1 - pow(b2, step);
	long i;

	for (i = 0; i < n; i++) {
		p[i] *= 1 - lr * wd;
		m[i] = m[i] * b1 + (1 - b1) * g[i];
		v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
		p[i] -= lr / bc1 * m[i] / (sqrt(v[i]) / sqrt(bc2) + eps);
	}
}

static void
test_adamw(struct sq_pool **pools)
{
	long n = 100003, i;
	float *p = tap_rand_vec(n, 1.0f), *m = zeros(n), *v = zeros(n), *g;
	double *pd = to_double(p, n), *md = to_double(m, n), *vd = to_double(v, n);
	float *pp[3], *mm[3], *vv[3];
	double e = 0;
	long step;
	int t, good = 1;

	for (t = 0; t < 3; t++)
		pp[t] = zeros(n), mm[t] = zeros(n), vv[t] = zeros(n),
		memcpy(pp[t], p, n * sizeof(float));
	for (step = 1; step <= 5; step++) {
		g = tap_rand_vec(n, step == 3 ? 1e-4f : 0.3f);
		for (t = 0; t < 3; t++)
			sq_adamw_step(pp[t], mm[t], vv[t], g, n, 1e-3, 0.9, 0.98,
			    1e-8, 0.01, step, pools[t]);
		adamw_ref(pd, md, vd, g, n, 1e-3, 0.9, 0.98, 1e-8, 0.01, step);
		free(g);
	}
	for (i = 0; i < n; i++)
		e = fmax(e, fabs(pp[0][i] - pd[i]) / fmax(fabs(pd[i]), 1e-3));
	for (t = 1; t < 3; t++)
		good &= same(pp[t], pp[0], n) && same(mm[t], mm[0], n) &&
		    same(vv[t], vv[0], n);
	ok(e < 2e-6, "adamw: 5 steps against torch's formula in double "
	    "(max rel err %.2g)", e);
	ok(good, "adamw: the same bits on 1, 2 and 3 threads");
	for (t = 0; t < 3; t++)
		free(pp[t]), free(mm[t]), free(vv[t]);
	free(p), free(m), free(v), free(pd), free(md), free(vd);
}

/* ---- dump modes, for tests/train_kernels.bats ---- */

static float *
read_floats(FILE *f, long n)
{
	float *x = sq_malloc((n + 1) * sizeof(float));
	long i;

	for (i = 0; i < n; i++)
		if (fscanf(f, "%f", &x[i]) != 1)
			sq_die("short input at number %ld", i);
	return x;
}

/*
 * adamw: reads "n steps lr beta1 beta2 eps wd", then p (n), then steps
 * gradients (n each); prints p, m, v after the steps, one per line.
 */
static int
dump_adamw(FILE *f)
{
	long n, steps, s, i;
	double lr, b1, b2, eps, wd;
	float *p, *m, *v, *g;

	if (fscanf(f, "%ld %ld %lf %lf %lf %lf %lf", &n, &steps, &lr, &b1, &b2,
	    &eps, &wd) != 7 || n < 1)
		sq_die("bad header");
	p = read_floats(f, n), m = zeros(n), v = zeros(n);
	for (s = 1; s <= steps; s++) {
		g = read_floats(f, n);
		sq_adamw_step(p, m, v, g, n, lr, b1, b2, eps, wd, s, NULL);
		free(g);
	}
	for (i = 0; i < n; i++)
		printf("%.9g %.9g %.9g\n", p[i], m[i], v[i]);
	free(p), free(m), free(v);
	return 0;
}

/*
 * xent: reads "M V eps", logits (M V), targets (M, -1 ignored); prints
 * the loss sum and the rows counted, then dlogits (scale 1), one a line.
 */
static int
dump_xent(FILE *f)
{
	int M, V, m, cnt;
	float eps, *z, *d;
	int32_t *y;
	double loss;
	long i;

	if (fscanf(f, "%d %d %f", &M, &V, &eps) != 3 || M < 1 || V < 1)
		sq_die("bad header");
	z = read_floats(f, (long)M * V), d = zeros((long)M * V);
	y = sq_malloc(M * sizeof(int32_t));
	for (m = 0; m < M; m++)
		if (fscanf(f, "%" SCNd32, &y[m]) != 1 || y[m] >= V)
			sq_die("bad target %d", m);
	cnt = sq_xent_forward_backward(&loss, NULL, d, z, y, M, V, eps, 1.0f, NULL);
	printf("%.17g %d\n", loss, cnt);
	for (i = 0; i < (long)M * V; i++)
		printf("%.9g\n", d[i]);
	free(z), free(d), free(y);
	return 0;
}

static int
dump(const char *mode, const char *path)
{
	FILE *f = fopen(path, "r");
	int rc;

	if (f == NULL)
		sq_die("%s:", path);
	if (strcmp(mode, "adamw") == 0)
		rc = dump_adamw(f);
	else if (strcmp(mode, "xent") == 0)
		rc = dump_xent(f);
	else
		sq_die("unknown mode %s", mode);
	fclose(f);
	return rc != 0 || sq_fshut(stdout, "<stdout>") != 0;
}

int
main(int argc, char *argv[])
{
	struct sq_pool *pools[3];

	sq_setprogname(argv[0]);
	sq_ops_init();
	if (argc == 3)
		return dump(argv[1], argv[2]);
	pools[0] = NULL;
	pools[1] = sq_pool_new(2);
	pools[2] = sq_pool_new(3);
	test_linear();
	/* dw in blocks of rows (N >= K), then of columns (K > N) */
	test_linear_big(pools, 300, 96, 170);
	test_linear_big(pools, 300, 170, 96);
	test_layernorm(pools);
	test_activations(pools);
	test_attention(pools);
	test_xent(pools);
	test_embed();
	test_dropout(pools);
	test_dropout_fused(pools);
	test_sumsq(pools);
	test_adamw(pools);
	sq_pool_free(pools[1]);
	sq_pool_free(pools[2]);
	return tap_done();
}
