/*
 * ops: Transformer kernels over float arrays (see ops.h), after llm.c's
 * layer functions.  The fast paths are plain C written for the compiler to
 * vectorize (the hot ones SQ_HOT: a variant per instruction set, chosen
 * when the program starts; see nn/vec.h) plus CBLAS for the products;
 * each has a float32 reference path kept deliberately naive.
 *
 * Dimension letters, used in every shape comment of the engine:
 *   B batch (sentences)   S source length   T target length
 *   D model width         H heads           F feed-forward width
 *   L layers              V vocabulary      M rows of a product
 *   N columns of a product, K its inner size
 *
 * Threads: OpenBLAS runs single-threaded (its own pool would spin and
 * would fight ours); a product is split over our pool by output columns
 * when it is large enough to repay waking a thread (about 30 us here), and
 * never when it is one row: a matrix-vector product is bound by memory
 * bandwidth, which one core already saturates on this machine.
 */
/* the vectors below never cross a non-static function: no ABI notes */
#pragma GCC diagnostic ignored "-Wpsabi"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "nn/packed.h"
#include "nn/i8linear.h"
#include "nn/qgemm.h"
#include "nn/vec.h"
#include "base/pool.h"
#include "base/util.h"

/* Below this many multiply-adds a product stays on the calling thread... */
#define SPLIT_MIN_MACS (4L << 20)
/*
 * ...unless it multiplies a few rows by this many float32 weights (1 MB)
 * or more: it reads each weight once, bound by memory bandwidth, which
 * two threads draw more of than one.  Greedy decoding at batch 1 (all its
 * products, one row by 0.25 to 16 M weights; OpenBLAS's sgemv runs on the
 * calling thread) took 2.84-2.97 s with one thread per product and
 * 2.07-2.10 s split, beam 4 at batch 1 1.62 -> 1.54 s (base model, two
 * threads, means of 5 interleaved runs under OpenBLAS's two kernel sets);
 * int8 weights gained nothing and stay on one (measured again with the
 * int8 kernels of nn/i8gemm.h, 16 sentences of 25 tokens: greedy 0.60 to
 * 0.95 s on one thread, 0.83 to 1.10 s split; beam 4, 8 sentences, 0.54
 * to 0.89 s and 0.61 to 0.77 s).
 */
#define SPLIT_MIN_WEIGHTS (1L << 18)
/* Column slices are multiples of this (the kernels' register block). */
#define COL_ALIGN 16

/*
 * The kernel set is OpenBLAS's own choice (its CPU detection, or
 * $OPENBLAS_CORETYPE when the user sets it).
 *
 * Its threads are none: every product here calls it on one thread, and
 * our own pool splits the work.  OpenBLAS starts its threads when it is
 * loaded, before main(), as many as $OPENBLAS_NUM_THREADS or the cores
 * say, and each spins in sched_yield() for a while (about a tenth of a
 * second here) waiting for work that never comes.  So once the shared
 * libraries are initialized, the program (a constructor of this file's)
 * sets OpenBLAS to one thread and stops those it started:
 * blas_thread_shutdown_() is exported by OpenBLAS's pthreads builds (its
 * fork handling uses it), weak here, as the other BLAS builds an
 * alternative may install lack it.  Measured: encode waiting on its
 * input took 100-110 ms of CPU in its first 0.6 s, now 0-10 ms; with
 * OpenBLAS's threads kept from starting ($OPENBLAS_NUM_THREADS 1 against
 * 2; base model, int8, 2 threads, medians of 5 interleaved runs), greedy
 * decoding at batch 32 took 1.29 s against 1.38 s, encoding 96
 * sentences one at a time 0.38 s against 0.43 s.
 */
extern int blas_thread_shutdown_(void) __attribute__((weak));

__attribute__((constructor)) static void
one_blas_thread(void)
{
	openblas_set_num_threads(1);
	if (blas_thread_shutdown_ != NULL)
		blas_thread_shutdown_();
}

static void
ops_init(void)
{
	sq_qgemm_init();
	sq_packed_init();
}

void
sq_ops_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, ops_init);
}

const char *
sq_ops_blas_core(void)
{
	return openblas_get_corename();
}

/* ---- products ---- */

/*
 * Products of a few rows (beam search at batch 1 has k of them): sgemm
 * would first copy the whole weight matrix into its panel layout, which
 * costs more than the product itself at this size, so up to
 * F32_ROW_KERNEL_MAX rows go through linear_rows4(), which reads each
 * weight row once for four input rows, with 16 partial sums per row kept
 * in registers (the j loop vectorizes without -ffast-math because the
 * lanes never mix until the end).  A row's result depends on its own
 * input only, never on M.
 */
#define F32_ROW_KERNEL_MAX 8
#define ROW_LANES 16

/*
 * The rows that linear_rows4() and sq_attend() read next are asked for
 * this many rows ahead.  Each row is 2 kB or so, and the hardware's
 * prefetcher does not follow from one row to the next fast enough:
 * beam search at batch 1 in float32 (linear_rows4) took 2.11 s before,
 * 1.81 s after (medians of 7), and int8 greedy decoding at batch 32
 * 1.17 s (attention reordered, below) and 1.12 s.
 */
#define PREFETCH_ROWS 2

/* asks for the cache lines of the n floats at r */
static inline void
prefetch_row(const float *r, int n)
{
	for (int i = 0; i < n; i += 16)
		__builtin_prefetch(r + i);
}

SQ_HOT static void
linear_rows4(float *out, int ldo, const float *inp, const float *w,
    const float *bias, int M, int K, int lo, int hi)
{
	/* rows past M alias row 0: computed, never stored */
	const float *x0 = inp, *x1 = inp + (M > 1) * (long)K;
	const float *x2 = inp + (M > 2) * 2L * K, *x3 = inp + (M > 3) * 3L * K;
	int n, k, j, m, K0 = K - K % ROW_LANES;

	for (n = lo; n < hi; n++) {
		const float *wn = w + (long)n * K;	/* (K) */
		float a0[ROW_LANES] = { 0 }, a1[ROW_LANES] = { 0 };
		float a2[ROW_LANES] = { 0 }, a3[ROW_LANES] = { 0 };
		float s[4] = { 0 };

		if (n + PREFETCH_ROWS < hi)
			prefetch_row(wn + PREFETCH_ROWS * (long)K, K);
		for (k = 0; k < K0; k += ROW_LANES)
			for (j = 0; j < ROW_LANES; j++) {
				float v = wn[k + j];

				a0[j] += v * x0[k + j];
				a1[j] += v * x1[k + j];
				a2[j] += v * x2[k + j];
				a3[j] += v * x3[k + j];
			}
		for (j = 0; j < ROW_LANES; j++) {
			s[0] += a0[j];
			s[1] += a1[j];
			s[2] += a2[j];
			s[3] += a3[j];
		}
		for (m = 0; m < M; m++) {
			float t = s[m] + (bias != NULL ? bias[n] : 0.0f);

			for (k = K0; k < K; k++)
				t += wn[k] * inp[(long)m * K + k];
			out[(long)m * ldo + n] = t;
		}
	}
}

/*
 * sq_linear_mat() for a column slice, single-threaded: out (M, ldo)
 * columns [lo, hi) from rows [lo, hi) of wm, through its packed copy if
 * packed (then lo a multiple of SQ_PANEL_ROWS).
 */
static void
linear_cols(float *out, int ldo, const float *inp, const struct sq_mat *wm,
    const float *bias, int M, int K, int lo, int hi, int packed)
{
	const float *w = wm->data;	/* (N, K) if float32 */
	int i, N = hi - lo;

	if (N <= 0 || M <= 0)
		return;
	if (wm->dtype != SQ_W_F32) {
		sq_qgemm_cols(out, ldo, inp, wm, bias, M, K, lo, hi);
		return;
	}
	if (packed && sq_packed_cols(out, ldo, inp, wm, bias, M, K, ldo, lo,
	    hi) == 0)
		return;
	if (wm->panels)		/* no rows to fall back on */
		sq_die("no libxsmm kernel for %d rows by a %d x %d matrix "
		    "stored in panels", M, ldo, K);
	if (M == 1) {
		if (bias != NULL)
			memcpy(out + lo, bias + lo, N * sizeof(float));
		cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f,
		    w + (long)lo * K, K, inp, 1, bias != NULL ? 1.0f : 0.0f,
		    out + lo, 1);
		return;
	}
	if (M <= F32_ROW_KERNEL_MAX) {
		for (i = 0; i < M; i += 4)
			linear_rows4(out + (long)i * ldo, ldo, inp + (long)i * K,
			    w, bias, SQ_MIN(4, M - i), K, lo, hi);
		return;
	}
	if (bias != NULL)
		for (i = 0; i < M; i++)
			memcpy(out + (long)i * ldo + lo, bias + lo,
			    N * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f,
	    inp, K, w + (long)lo * K, K, bias != NULL ? 1.0f : 0.0f,
	    out + lo, ldo);
}

struct linear_job {
	float *out;
	const float *inp;
	const struct sq_mat *w;
	const float *bias;
	int M, K, N;
	int packed;		/* through w's packed copy */
	int panels;		/* by panels: split at their multiples */
};

static void
linear_part(void *arg, int i, int n)
{
	struct linear_job *j = arg;
	int lo, hi;

	sq_pool_share(j->N, j->panels ? SQ_PANEL_ROWS : COL_ALIGN, i, n,
	    &lo, &hi);
	linear_cols(j->out, j->N, j->inp, j->w, j->bias, j->M, j->K, lo, hi,
	    j->packed);
}

void
sq_linear(float *out, const float *inp, const float *w, const float *bias,
    int M, int K, int N, struct sq_pool *pool)
{
	struct sq_mat wm = { .dtype = SQ_W_F32, .data = w };

	sq_linear_mat(out, inp, &wm, bias, M, K, N, pool);
}

void
sq_linear_layer(float *out, const float *inp, const struct sq_linear *L,
    int M, int K, int N, struct sq_pool *pool)
{
	sq_linear_mat(out, inp, &L->wq, L->b, M, K, N, pool);
}

/* whether a product is split over the pool's threads (above) */
static int
worth_splitting(const struct sq_mat *w, int M, int K, int N)
{
	return (long)M * K * N >= SPLIT_MIN_MACS ||
	    (w->dtype == SQ_W_F32 && M <= F32_ROW_KERNEL_MAX &&
	    (long)K * N >= SPLIT_MIN_WEIGHTS);
}

void
sq_linear_mat(float *out, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int N, struct sq_pool *pool)
{
	struct linear_job j = { out, inp, w, bias, M, K, N, 0, 0 };
	int parts = worth_splitting(w, M, K, N) && sq_pool_threads(pool) > 1 ?
	    sq_pool_threads(pool) * (M <= 128 ? 4 : 1) : 1;

	if (w->dtype == SQ_W_I8) {
		sq_i8_linear(out, inp, w, bias, M, K, N, pool, parts);
		return;
	}
	/* a few rows are bound by the weights' bandwidth, and
	   linear_rows4() reads them as fast as a packed copy would; the
	   kernels read panels a file stores as fast */
	if (w->dtype == SQ_W_F32 && w->panels)
		j.packed = 1;
	else if (w->dtype == SQ_W_F32 && w->packed != NULL &&
	    M > F32_ROW_KERNEL_MAX)
		j.packed = sq_packed_use(w, N, K, pool);
	j.panels = w->dtype == SQ_W_F32 ? j.packed : sq_qgemm_panels(M);
	/*
	 * A few rows (decoding): parts of a quarter of a thread's share, so
	 * a late worker still takes its half; many rows (encoding): one part
	 * per thread, as each part packs the whole input again.
	 */
	if (parts > 1)
		sq_pool_run_parts(pool, linear_part, &j, parts);
	else
		linear_cols(out, N, inp, w, bias, M, K, 0, N, j.packed);
}

void
sq_linear_ref(float *out, const float *inp, const float *w,
    const float *bias, int M, int K, int N)
{
	int i, o, k;

	for (i = 0; i < M; i++)
		for (o = 0; o < N; o++) {
			float s = bias != NULL ? bias[o] : 0.0f;

			for (k = 0; k < K; k++)
				s += inp[(long)i * K + k] * w[(long)o * K + k];
			out[(long)i * N + o] = s;
		}
}

/* ---- element-wise ---- */

SQ_HOT void
sq_add(float *x, const float *y, long n)
{
	long i;

	for (i = 0; i < n; i++)
		x[i] += y[i];
}

SQ_HOT static void
activate(float *x, long n, int act)
{
	long i;

	for (i = 0; i + LANES <= n; i += LANES)
		vstore(x + i, vact(vload(x + i), act));
	for (; i < n; i++)
		x[i] = act1(x[i], act);
}

void
sq_activate_ref(float *x, long n, int act)
{
	long i;

	for (i = 0; i < n; i++)
		switch (act) {
		case SQ_ACT_RELU:
			x[i] = fmaxf(x[i], 0.0f);
			break;
		case SQ_ACT_GELU:
			x[i] = 0.5f * x[i] * (1.0f + erff(x[i] / sqrtf(2.0f)));
			break;
		case SQ_ACT_SILU:
			x[i] = x[i] / (1.0f + expf(-x[i]));
			break;
		}
}

/* ---- normalisation ---- */

SQ_HOT static void
layernorm(float *out, const float *inp, const float *g, const float *b,
    int M, int D, float eps)
{
	int i, d;

	for (i = 0; i < M; i++) {
		const float *x = inp + (long)i * D;	/* (D) */
		float *y = out + (long)i * D;		/* (D) */
		float mean = sum(x, D) / D;
		float rs = 1.0f / sqrtf(sqdev(x, mean, D) / D + eps);

		for (d = 0; d < D; d++)
			y[d] = (x[d] - mean) * rs * g[d] + b[d];
	}
}

void
sq_layernorm_ref(float *out, const float *inp, const float *g,
    const float *b, int M, int D, float eps)
{
	int i, d;

	for (i = 0; i < M; i++) {
		double mean = 0.0, var = 0.0;

		for (d = 0; d < D; d++)
			mean += inp[(long)i * D + d];
		mean /= D;
		for (d = 0; d < D; d++) {
			double c = inp[(long)i * D + d] - mean;

			var += c * c;
		}
		var /= D;
		for (d = 0; d < D; d++)
			out[(long)i * D + d] = (float)((inp[(long)i * D + d] -
			    mean) / sqrt(var + eps)) * g[d] + b[d];
	}
}

SQ_HOT static void
logsoftmax(float *x, int M, int V)
{
	int i, v;

	for (i = 0; i < M; i++) {
		float *r = x + (long)i * V;	/* (V) */
		float mx = maxf(r, V);
		float lse = mx + logf(sumexp(r, mx, V));

		for (v = 0; v < V; v++)
			r[v] -= lse;
	}
}

void
sq_logsoftmax_ref(float *x, int M, int V)
{
	int i, v;

	for (i = 0; i < M; i++) {
		float *r = x + (long)i * V;
		double mx = -INFINITY, s = 0.0;

		for (v = 0; v < V; v++)
			mx = fmax(mx, r[v]);
		for (v = 0; v < V; v++)
			s += exp(r[v] - mx);
		for (v = 0; v < V; v++)
			r[v] = (float)(r[v] - mx - log(s));
	}
}

/*
 * Row-parallel element-wise work: worth a second thread only when there
 * is enough of it to repay the wake-up.
 */
#define SPLIT_MIN_ELEMS 65536

struct rows_job {
	int kind;		/* which kernel */
	float *out;
	const float *inp, *g, *b;
	int M, D, act;
	float eps;
};

enum { JOB_NORM, JOB_ACT, JOB_LOGSOFTMAX };

static void
rows_part(void *arg, int i, int n)
{
	struct rows_job *j = arg;
	long D = j->D;
	int lo, hi;

	sq_pool_share(j->M, 1, i, n, &lo, &hi);
	switch (j->kind) {
	case JOB_NORM:
		layernorm(j->out + lo * D, j->inp + lo * D, j->g, j->b,
		    hi - lo, j->D, j->eps);
		break;
	case JOB_ACT:
		activate(j->out + lo * D, (hi - lo) * D, j->act);
		break;
	case JOB_LOGSOFTMAX:
		logsoftmax(j->out + lo * D, hi - lo, j->D);
		break;
	}
}

static void
rows_run(struct sq_pool *pool, struct rows_job *j)
{
	if (j->M > 1 && (long)j->M * j->D >= SPLIT_MIN_ELEMS &&
	    sq_pool_threads(pool) > 1)
		sq_pool_run(pool, rows_part, j);
	else
		rows_part(j, 0, 1);
}

struct argmax_job {
	int32_t *out;
	const float *x;
	int M, V;
};

/*
 * The first index of r's largest value (0 if n is 0), in one pass: each
 * of 16 lanes keeps its largest and where it first saw it, then the
 * lanes' largest wins, the lowest index on ties.  Greedy search compared
 * each value with the best so far, one at a time, which took 2.9% of its
 * time in int8 at batch 32; a vector maximum followed by a scalar search
 * for it, 1.8%.
 */
SQ_HOT static int
argmax_row(const float *r, int n)
{
	vi at = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	vi idx = at, gt;
	vf best, x;
	float lane_best[LANES], m;
	int32_t lane_at[LANES];
	int i = 1, j, k = 0;

	if (n <= 0)
		return 0;
	m = r[0];
	if (n >= LANES) {
		best = vload(r);
		for (i = LANES; i + LANES <= n; i += LANES) {
			idx += LANES;
			x = vload(r + i);
			gt = x > best;
			best = vsel(gt, x, best);
			at = (gt & idx) | (~gt & at);
		}
		vstore(lane_best, best);
		memcpy(lane_at, &at, sizeof(at));
		m = lane_best[0];
		k = lane_at[0];
		for (j = 1; j < LANES; j++)
			if (lane_best[j] > m ||
			    (lane_best[j] == m && lane_at[j] < k)) {
				m = lane_best[j];
				k = lane_at[j];
			}
	}
	for (; i < n; i++)
		if (r[i] > m) {
			m = r[i];
			k = i;
		}
	return k;
}

SQ_HOT static void
argmax_part(void *arg, int i, int n)
{
	struct argmax_job *j = arg;
	int lo, hi, m;

	sq_pool_share(j->M, 1, i, n, &lo, &hi);
	for (m = lo; m < hi; m++)
		j->out[m] = argmax_row(j->x + (long)m * j->V, j->V);
}

void
sq_argmax(int32_t *out, const float *x, int M, int V, struct sq_pool *pool)
{
	struct argmax_job j = { out, x, M, V };

	if ((long)M * V >= SPLIT_MIN_ELEMS && M > 1 &&
	    sq_pool_threads(pool) > 1)
		sq_pool_run(pool, argmax_part, &j);
	else
		argmax_part(&j, 0, 1);
}

void
sq_layernorm(float *out, const float *inp, const float *g, const float *b,
    int M, int D, float eps, struct sq_pool *pool)
{
	struct rows_job j = { JOB_NORM, out, inp, g, b, M, D, 0, eps };

	rows_run(pool, &j);
}

const float *
sq_sublayer_in(float *h, const float *x, const struct sq_norm *nm,
    const struct sq_config *c, int M, struct sq_pool *pool)
{
	if (!c->pre_norm)
		return x;
	sq_layernorm(h, x, nm->g, nm->b, M, c->d_model, c->layer_norm_eps,
	    pool);
	return h;
}

void
sq_sublayer_out(float *x, const float *o, const struct sq_norm *nm,
    const struct sq_config *c, int M, struct sq_pool *pool)
{
	sq_add(x, o, (long)M * c->d_model);
	if (!c->pre_norm)
		sq_layernorm(x, x, nm->g, nm->b, M, c->d_model,
		    c->layer_norm_eps, pool);
}

void
sq_activate(float *x, int M, int N, int act, struct sq_pool *pool)
{
	struct rows_job j = { JOB_ACT, x, NULL, NULL, NULL, M, N, act, 0 };

	rows_run(pool, &j);
}

void
sq_logsoftmax(float *x, int M, int V, struct sq_pool *pool)
{
	struct rows_job j = { JOB_LOGSOFTMAX, x, NULL, NULL, NULL, M, V, 0, 0 };

	rows_run(pool, &j);
}

/* ---- attention ---- */

/*
 * Each key row and each value row is read once, whole, for all heads:
 * the rows are 2 kB apart or scattered (a cache's cells), and taken a
 * head's 256 bytes at a time they missed the cache once per head (80% of
 * the samples of this function were those loads, at batch 32; int8
 * greedy decoding went from 1.21 to 1.17 s, medians of 7).  Each head's
 * sums still run over t in order, so the bits are the same.
 */
SQ_HOT void
sq_attend(float *out, float *probs, float *scratch, const float *q,
    const float *k, const float *v, const long *cell, int n, int D, int H)
{
	int dh = D / H, h, t;
	float scale = 1.0f / sqrtf((float)dh);
	float *p = probs != NULL ? probs : scratch;	/* (H, n) */

	for (t = 0; t < n; t++) {
		if (t + PREFETCH_ROWS < n)
			prefetch_row(k + cell[t + PREFETCH_ROWS], D);
		for (h = 0; h < H; h++)
			p[(long)h * n + t] = dot(q + h * dh, k + cell[t] +
			    h * dh, dh) * scale;
	}
	for (h = 0; h < H; h++) {
		float *ph = p + (long)h * n, mx, s;

		mx = maxf(ph, n);
		expsub(ph, mx, n);
		s = sum(ph, n);
		s = n > 0 ? 1.0f / s : 0.0f;
		for (t = 0; t < n; t++)
			ph[t] *= s;
	}
	memset(out, 0, D * sizeof(float));
	for (t = 0; t < n; t++) {
		if (t + PREFETCH_ROWS < n)
			prefetch_row(v + cell[t + PREFETCH_ROWS], D);
		for (h = 0; h < H; h++)
			axpy(out + h * dh, p[(long)h * n + t], v + cell[t] +
			    h * dh, dh);
	}
}

/* q[h] . k_t[h] / sqrt(dh) in double, for the reference. */
static double
score_ref(const float *q, const float *k, const long *cell, int t, int h,
    int dh)
{
	double dot = 0.0;
	int e;

	for (e = 0; e < dh; e++)
		dot += (double)q[h * dh + e] * k[cell[t] + h * dh + e];
	return dot / sqrt((double)dh);
}

/* Computes each score again where it needs it: no scratch to allocate. */
void
sq_attend_ref(float *out, float *probs, const float *q, const float *k,
    const float *v, const long *cell, int n, int D, int H)
{
	int dh = D / H, h, t, e;

	for (h = 0; h < H; h++) {
		double mx = -INFINITY, s = 0.0;

		for (t = 0; t < n; t++)
			mx = fmax(mx, score_ref(q, k, cell, t, h, dh));
		for (t = 0; t < n; t++)
			s += exp(score_ref(q, k, cell, t, h, dh) - mx);
		for (e = 0; e < dh; e++) {
			double o = 0.0;

			for (t = 0; t < n; t++)
				o += exp(score_ref(q, k, cell, t, h, dh) - mx) /
				    s * v[cell[t] + h * dh + e];
			out[h * dh + e] = (float)o;
		}
		if (probs != NULL)
			for (t = 0; t < n; t++)
				probs[(long)h * n + t] =
				    (float)(exp(score_ref(q,
				    k, cell, t, h, dh) - mx) / s);
	}
}

/* ---- positions ---- */

static void
sinusoid(float *out, int pos, int D, int kind)
{
	int i, half = D / 2;

	if (kind == SQ_POS_SIN_INTERLEAVED) {
		for (i = 0; i < half; i++) {
			double a = pos * exp(-log(10000.0) * 2.0 * i / D);

			out[2 * i] = (float)sin(a);
			out[2 * i + 1] = (float)cos(a);
		}
	} else {
		/* spread by D/2 - 1 (tensor2tensor), or D/2 (the paper's) */
		double step = kind == SQ_POS_SIN_HALF_HF ? log(10000.0) / half :
		    log(10000.0) / (half > 1 ? half - 1 : 1);

		for (i = 0; i < half; i++) {
			double a = pos * exp(-step * i);

			out[i] = (float)sin(a);
			out[half + i] = (float)cos(a);
		}
	}
}

void
sq_positions(float *out, int first, int n, int D, int kind,
    const float *learned)
{
	int t;

	if (kind == SQ_POS_LEARNED) {
		memcpy(out, learned + (long)first * D,
		    (long)n * D * sizeof(float));
		return;
	}
	for (t = 0; t < n; t++)
		sinusoid(out + (long)t * D, first + t, D, kind);
}

void
sq_embed(float *out, const float *E, const int32_t *ids, const float *pe,
    float scale, int n, int D)
{
	struct sq_mat Em = { .dtype = SQ_W_F32, .data = E };

	sq_embed_mat(out, &Em, ids, pe, scale, n, D);
}

void
sq_embed_mat(float *out, const struct sq_mat *E, const int32_t *ids,
    const float *pe, float scale, int n, int D)
{
	int t, d;

	for (t = 0; t < n; t++) {
		float *o = out + (long)t * D;		/* (D) */
		const float *p = pe ? pe + (long)t * D : NULL;	/* (D) */
		const float *e = o;			/* (D) the row */

		if (ids[t] < 0) {	/* the zero start vector */
			if (p != NULL)
				memcpy(o, p, (size_t)D * sizeof(float));
			else
				memset(o, 0, (size_t)D * sizeof(float));
			continue;
		}
		/* a float32 row is read in place, another widened or
		   gathered from panels into o */
		if (E->dtype == SQ_W_F32 && !E->panels)
			e = (const float *)E->data + (long)ids[t] * D;
		else
			sq_mat_row(o, E, ids[t], D);
		for (d = 0; d < D; d++)
			o[d] = scale * e[d] + (p != NULL ? p[d] : 0);
	}
}

void
sq_mean_rows(float *out, const float *x, int n, int D)
{
	int t, d;

	memset(out, 0, (size_t)D * sizeof(float));
	for (t = 0; t < n; t++)
		for (d = 0; d < D; d++)
			out[d] += x[(long)t * D + d];
	for (d = 0; n > 0 && d < D; d++)
		out[d] /= (float)n;
}
