/*
 * grad: the training kernels (see grad.h) but attention (attn_grad.c),
 * after llm.c's train_gpt2.c: the backward of each forward of
 * lib/nn/ops.c, the label-smoothed cross-entropy of PyTorch, inverted
 * dropout from a counter-based generator, and torch.optim.AdamW.
 *
 * Determinism: a reduction (the loss, the sum of squares, the column sums
 * of dbias, dg, db) is split into blocks whose bounds depend on the sizes
 * alone, each block summed in order on one thread, and the block sums
 * added in order by the caller; the products go through cblas_sgemm in
 * blocks likewise.  So the thread count never changes a bit.  The
 * vector helpers (dot, sum, maxf, fast exp) are lib/nn/vec.h's, the ones
 * the inference kernels use.
 *
 * Workload: per step, the products of linear_backward dominate (twice
 * the forward's multiply-adds); the loss touches M x V logits once for
 * their exponentials and once more for the gradient.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "nn/vec.h"
#include "train/grad.h"
#include "base/pool.h"
#include "base/util.h"

/* Below this many multiply-adds a product stays on the calling thread. */
#define SPLIT_MIN_MACS (4L << 20)
/* Below this many elements element-wise work stays on the caller. */
#define SPLIT_MIN_ELEMS 65536L

/*
 * The range [*lo, *hi) of part i of n over [0, len), in multiples of 16
 * elements (whole vectors, whole cache lines).
 */
static void
share(long len, int i, int n, long *lo, long *hi)
{
	long units = (len + 15) / 16;

	*lo = SQ_MIN(len, units * i / n * 16);
	*hi = SQ_MIN(len, units * (i + 1) / n * 16);
}

/* ---- products ---- */

/*
 * Rows per sgemm block: about an eighth of the rows, a multiple of 16, at
 * least 64 (a block of fewer rows would pack the other operand for too
 * little work).  From the size alone, so the blocks, and so the bits,
 * are the same for any thread count.
 */
static int
block_rows(int rows)
{
	int b = (rows + 7) / 8;

	b = (b + 15) / 16 * 16;
	return SQ_MAX(b, 64);
}

struct linear_job {
	float *dinp, *dw, *dbias;
	const float *dout, *inp, *w;
	int M, K, N;
	int bm, nbm;		/* rows of dinp per block, blocks */
	int bn, nbn;		/* rows (columns if dw_cols) of dw per block, blocks */
	int dw_cols;		/* dw in blocks of columns */
};

/* 16 doubles, one per float of a vf */
typedef double vd __attribute__((vector_size(LANES * sizeof(double))));

/* Columns summed per sweep down the rows: vectors of LANES. */
#define SWEEP 4

/*
 * dbias[lo, hi) += column sums of dout (M, N), in double, row by row:
 * SWEEP vectors of columns at a time (lo is a multiple of 16), the last
 * columns one by one; the order of each column's sum is the rows'.
 */
SQ_HOT static void
colsum(float *dbias, const float *dout, int M, int N, int lo, int hi)
{
	vd acc[SWEEP];
	double t;
	int c0, c, v, nv, m;

	for (c0 = lo; c0 < hi; c0 += SWEEP * LANES) {
		nv = SQ_MIN(SWEEP, (hi - c0) / LANES);
		for (v = 0; v < nv; v++)
			acc[v] = (vd){ 0 };
		for (m = 0; m < M; m++)
			for (v = 0; v < nv; v++)
				acc[v] += __builtin_convertvector(vload(dout +
				    (long)m * N + c0 + v * LANES), vd);
		for (v = 0; v < nv; v++)
			for (c = 0; c < LANES; c++)
				dbias[c0 + v * LANES + c] += (float)acc[v][c];
	}
	for (c = lo + (hi - lo) / LANES * LANES; c < hi; c++) {
		for (t = 0.0, m = 0; m < M; m++)
			t += dout[(long)m * N + c];
		dbias[c] += (float)t;
	}
}

/* Part i: a block of dinp (i < nbm), else a block of dw and dbias. */
static void
linear_part(void *arg, int i, int n)
{
	struct linear_job *j = arg;
	int lo, hi;

	(void)n;
	if (i < j->nbm) {
		lo = i * j->bm;
		hi = SQ_MIN(j->M, lo + j->bm);
		/* dinp[lo:hi] (rows, K) += dout[lo:hi] (rows, N) w (N, K) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
		    hi - lo, j->K, j->N, 1.0f, j->dout + (long)lo * j->N, j->N,
		    j->w, j->K, 1.0f, j->dinp + (long)lo * j->K, j->K);
		return;
	}
	i -= j->nbm;
	lo = i * j->bn;
	if (j->dw_cols) {
		/* dw[:, lo:hi] (N, cols) += dout^T (N, M) inp[:, lo:hi] (M, cols) */
		hi = SQ_MIN(j->K, lo + j->bn);
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, j->N,
		    hi - lo, j->M, 1.0f, j->dout, j->N, j->inp + lo, j->K, 1.0f,
		    j->dw + lo, j->K);
		sq_pool_share(j->N, 16, i, j->nbn, &lo, &hi);
	} else {
		/* dw[lo:hi] (rows, K) += dout[:, lo:hi]^T (rows, M) inp (M, K) */
		hi = SQ_MIN(j->N, lo + j->bn);
		if (j->dw != NULL)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
			    hi - lo, j->K, j->M, 1.0f, j->dout + lo, j->N, j->inp,
			    j->K, 1.0f, j->dw + (long)lo * j->K, j->K);
	}
	if (j->dbias != NULL)
		colsum(j->dbias, j->dout, j->M, j->N, lo, hi);
}

void
sq_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
    const float *inp, const float *w, int M, int K, int N,
    struct sq_pool *pool)
{
	struct linear_job j = { dinp, dw, dbias, dout, inp, w, M, K, N,
		0, 0, 0, 0, 0 };
	int i, parts;

	if (M <= 0 || N <= 0)
		return;
	if (K > 0 && dinp != NULL) {
		j.bm = block_rows(M);
		j.nbm = (M + j.bm - 1) / j.bm;
	}
	/*
	 * Each block of dw packs the whole of the operand it does not
	 * split: inp (M, K) for blocks of rows, dout (M, N) for blocks of
	 * columns.  So the blocks are of columns when K > N (fc2: dout is
	 * the smaller); a column of dbias is summed by one block either way.
	 */
	if ((K > 0 && dw != NULL) || dbias != NULL) {
		j.dw_cols = K > N && dw != NULL;
		j.bn = block_rows(j.dw_cols ? K : N);
		j.nbn = ((j.dw_cols ? K : N) + j.bn - 1) / j.bn;
	}
	parts = j.nbm + j.nbn;
	if ((long)M * K * N >= SPLIT_MIN_MACS && sq_pool_threads(pool) > 1)
		sq_pool_run_parts(pool, linear_part, &j, parts);
	else
		for (i = 0; i < parts; i++)
			linear_part(&j, i, parts);
}

/* ---- layer norm ---- */

/*
 * The statistics of rows [lo, hi), by the expressions of ops.c's
 * layernorm(): mean = sum(x) / D, rstd = 1 / sqrt(sqdev(x, mean) / D +
 * eps), so they are the very numbers its output was computed with.
 */
SQ_HOT static void
ln_stats(float *mean, float *rstd, const float *inp, int D, float eps,
    int lo, int hi)
{
	int i;

	for (i = lo; i < hi; i++) {
		const float *x = inp + (long)i * D;	/* (D) */
		float mu = sum(x, D) / D;

		mean[i] = mu;
		rstd[i] = 1.0f / sqrtf(sqdev(x, mu, D) / D + eps);
	}
}

struct ln_job {
	float *dinp, *dg, *db, *mean, *rstd;
	const float *dout, *inp, *g;
	int M, D;
	float eps;
	int row_parts;		/* backward: parts [0, row_parts) do rows */
};

static void
ln_stats_part(void *arg, int i, int n)
{
	struct ln_job *j = arg;
	int lo, hi;

	sq_pool_share(j->M, 1, i, n, &lo, &hi);
	ln_stats(j->mean, j->rstd, j->inp, j->D, j->eps, lo, hi);
}

void
sq_layernorm_forward_train(float *out, float *mean, float *rstd,
    const float *inp, const float *g, const float *b, int M, int D,
    float eps, struct sq_pool *pool)
{
	struct ln_job j = { NULL, NULL, NULL, mean, rstd, NULL, inp, g, M, D,
		eps, 0 };

	/* the statistics first: out may overwrite inp */
	if ((long)M * D >= SPLIT_MIN_ELEMS && M > 1 &&
	    sq_pool_threads(pool) > 1)
		sq_pool_run(pool, ln_stats_part, &j);
	else
		ln_stats(mean, rstd, inp, D, eps, 0, M);
	sq_layernorm(out, inp, g, b, M, D, eps, pool);
}

/* column c's sums into dg and db */
static inline void
ln_cols_add(struct ln_job *j, int c, double sg, double sb)
{
	if (j->dg != NULL)
		j->dg[c] += (float)sg;
	if (j->db != NULL)
		j->db[c] += (float)sb;
}

/* dinp of rows [lo, hi) */
SQ_HOT static void
ln_back_rows(struct ln_job *j, int lo, int hi)
{
	int D = j->D, i, d;

	for (i = lo; i < hi; i++) {
		const float *x = j->inp + (long)i * D;	/* (D) */
		const float *dy = j->dout + (long)i * D;	/* (D) */
		float *dx = j->dinp + (long)i * D;		/* (D) */
		float mu = j->mean[i], rs = j->rstd[i], a, b, t0 = 0, t1 = 0;
		vf s0 = { 0 }, s1 = { 0 }, xh, dxh;

		/* a = mean(dxhat), b = mean(dxhat * xhat) */
		for (d = 0; d + LANES <= D; d += LANES) {
			xh = (vload(x + d) - mu) * rs;
			dxh = vload(dy + d) * vload(j->g + d);
			s0 += dxh;
			s1 += dxh * xh;
		}
		for (; d < D; d++) {
			float xs = (x[d] - mu) * rs, ds = dy[d] * j->g[d];

			t0 += ds;
			t1 += ds * xs;
		}
		a = (hsum(s0) + t0) / D;
		b = (hsum(s1) + t1) / D;
		for (d = 0; d < D; d++) {
			float xs = (x[d] - mu) * rs, ds = dy[d] * j->g[d];

			dx[d] += rs * (ds - a - xs * b);
		}
	}
}

/*
 * dg, db of columns [lo, hi): sums over all rows in order, in double;
 * whole vectors as colsum() (lo is a multiple of 16), then the last
 * columns one by one.
 */
SQ_HOT static void
ln_back_cols(struct ln_job *j, int lo, int hi)
{
	vd ag[SWEEP], ab[SWEEP];
	double tg, tb;
	vf dy;
	int D = j->D, c0, c, v, nv, m;

	for (c0 = lo; c0 < hi; c0 += SWEEP * LANES) {
		nv = SQ_MIN(SWEEP, (hi - c0) / LANES);
		for (v = 0; v < nv; v++)
			ag[v] = ab[v] = (vd){ 0 };
		for (m = 0; m < j->M; m++) {
			const float *x = j->inp + (long)m * D + c0;
			const float *d = j->dout + (long)m * D + c0;
			float mu = j->mean[m], rs = j->rstd[m];

			for (v = 0; v < nv; v++) {
				dy = vload(d + v * LANES);
				ag[v] += __builtin_convertvector(dy *
				    ((vload(x + v * LANES) - mu) * rs), vd);
				ab[v] += __builtin_convertvector(dy, vd);
			}
		}
		for (v = 0; v < nv; v++)
			for (c = 0; c < LANES; c++)
				ln_cols_add(j, c0 + v * LANES + c, ag[v][c],
				    ab[v][c]);
	}
	for (c = lo + (hi - lo) / LANES * LANES; c < hi; c++) {
		tg = tb = 0.0;
		for (m = 0; m < j->M; m++) {
			float x = j->inp[(long)m * D + c];
			float dy1 = j->dout[(long)m * D + c];

			tg += dy1 * ((x - j->mean[m]) * j->rstd[m]);
			tb += dy1;
		}
		ln_cols_add(j, c, tg, tb);
	}
}

static void
ln_back_part(void *arg, int i, int n)
{
	struct ln_job *j = arg;
	int lo, hi;

	if (i < j->row_parts) {
		sq_pool_share(j->M, 1, i, j->row_parts, &lo, &hi);
		if (j->dinp != NULL)
			ln_back_rows(j, lo, hi);
	} else {
		sq_pool_share(j->D, 16, i - j->row_parts, n - j->row_parts,
		    &lo, &hi);
		ln_back_cols(j, lo, hi);
	}
}

void
sq_layernorm_backward(float *dinp, float *dg, float *db, const float *dout,
    const float *inp, const float *mean, const float *rstd, const float *g,
    int M, int D, struct sq_pool *pool)
{
	struct ln_job j = { dinp, dg, db, (float *)mean, (float *)rstd, dout,
		inp, g, M, D, 0, 0 };
	int n = sq_pool_threads(pool);

	/*
	 * Rows and columns are independent: half the parts do rows, half
	 * columns.  Every element is computed the same way whatever the
	 * split.
	 */
	if ((long)M * D >= SPLIT_MIN_ELEMS && n > 1) {
		j.row_parts = n;
		sq_pool_run_parts(pool, ln_back_part, &j, 2 * n);
	} else {
		if (dinp != NULL)
			ln_back_rows(&j, 0, M);
		ln_back_cols(&j, 0, D);
	}
}

/* ---- activations ---- */

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT2PI 0.39894228040143268f

/* act'(x) on 16 lanes; the scalar version below does the same math */
static inline vf
vact_grad(vf x, int act)
{
	vf zero = { 0 }, s;

	switch (act) {
	case SQ_ACT_GELU:
		return 0.5f * (1.0f + verf(x * INV_SQRT2)) +
		    x * vexp(-0.5f * x * x) * INV_SQRT2PI;
	case SQ_ACT_SILU:
		s = 1.0f / (1.0f + vexp(-x));
		return s * (1.0f + x * (1.0f - s));
	default:
		return vsel(x > 0.0f, zero + 1.0f, zero);
	}
}

static inline float
act_grad1(float x, int act)
{
	float s;

	switch (act) {
	case SQ_ACT_GELU:
		return 0.5f * (1.0f + fast_erff(x * INV_SQRT2)) +
		    x * fast_expf(-0.5f * x * x) * INV_SQRT2PI;
	case SQ_ACT_SILU:
		s = 1.0f / (1.0f + fast_expf(-x));
		return s * (1.0f + x * (1.0f - s));
	default:
		return x > 0.0f ? 1.0f : 0.0f;
	}
}

/* ---- dropout ---- */

static inline uint64_t
fmix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline uint64_t
drop_key(uint64_t seed, uint64_t stream)
{
	return fmix(fmix(seed) ^ stream);
}

static uint64_t
dropout_bits(uint64_t seed, uint64_t stream, uint64_t index)
{
	return fmix(drop_key(seed, stream) + (index + 1) *
	    0x9E3779B97F4A7C15ull);
}

/* keep when the top 32 bits >= p 2^32: a threshold in [0, 2^32] */
static inline uint64_t
drop_threshold(float p)
{
	double t = (double)p * 4294967296.0;

	return t <= 0.0 ? 0 : t >= 4294967296.0 ? 1ull << 32 :
	    (uint64_t)ceil(t);
}

int
sq_dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, float p)
{
	return (dropout_bits(seed, stream, index) >> 32) >=
	    drop_threshold(p);
}

/* 64-bit lanes, one per float of a vf */
typedef uint64_t vu64 __attribute__((vector_size(LANES * sizeof(uint64_t))));

/* fmix() on every lane */
static inline vu64
vfmix(vu64 z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline float
drop_scale(float p)
{
	return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
}

/* A stream's dropout, its key and threshold computed once. */
struct dropper {
	uint64_t key, thr;
	float s;
	int on;			/* p > 0: else every element is kept as is */
};

static struct dropper
dropper(float p, uint64_t seed, uint64_t stream)
{
	struct dropper d = { drop_key(seed, stream), drop_threshold(p),
		drop_scale(p), p > 0.0f };

	return d;
}

/*
 * x (16 lanes) dropped as the elements first .. first + 15.  Always
 * inlined: GCC would otherwise split off its slow path as a function that
 * takes and returns the vector through memory on baseline x86-64.
 */
static inline __attribute__((always_inline)) vf
vdrop(const struct dropper *d, vf x, uint64_t first)
{
	const vu64 lane = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
		15, 16 };
	vf zero = { 0 };
	vi keep;

	if (!d->on)
		return x;
	keep = __builtin_convertvector(vfmix(d->key + (first + lane) *
	    0x9E3779B97F4A7C15ull) >> 32 >= d->thr, vi);
	return vsel(keep, x * d->s, zero);
}

/* x dropped as element i */
static inline float
drop1(const struct dropper *d, float x, uint64_t i)
{
	if (!d->on)
		return x;
	return (fmix(d->key + (i + 1) * 0x9E3779B97F4A7C15ull) >> 32) >=
	    d->thr ? x * d->s : 0.0f;
}

/* dst[i] = drop(src[i]) as element first + i, i in [0, n) */
SQ_HOT static void
drop_copy(float *dst, const float *src, long n, uint64_t first,
    const struct dropper *d)
{
	long i;

	for (i = 0; i + LANES <= n; i += LANES)
		vstore(dst + i, vdrop(d, vload(src + i), first + i));
	for (; i < n; i++)
		dst[i] = drop1(d, src[i], first + i);
}

void
sq_dropout_apply(float *dst, const float *src, long n, uint64_t first,
    float p, uint64_t seed, uint64_t stream)
{
	struct dropper d = dropper(p, seed, stream);

	drop_copy(dst, src, n, first, &d);
}

/* x[lo, hi) = a + drop(b) */
SQ_HOT static void
drop_add(float *x, const float *a, const float *b, long lo, long hi,
    const struct dropper *d)
{
	long i;

	for (i = lo; i + LANES <= hi; i += LANES)
		vstore(x + i, vload(a + i) + vdrop(d, vload(b + i), i));
	for (; i < hi; i++)
		x[i] = a[i] + drop1(d, b[i], i);
}

/*
 * x[lo, hi) = x * keep / (1 - p); mask gets keep; cmask, if given, is it.
 */
static void
drop_range(float *x, uint8_t *mask, const uint8_t *cmask, long lo, long hi,
    float p, uint64_t seed, uint64_t stream)
{
	uint64_t key = drop_key(seed, stream), thr = drop_threshold(p);
	float s = drop_scale(p);
	long i;


	for (i = lo; i < hi; i++) {
		int keep = cmask != NULL ? cmask[i] != 0 :
		    (fmix(key + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull) >>
		    32) >= thr;

		x[i] = keep ? x[i] * s : 0.0f;
		if (mask != NULL)
			mask[i] = (uint8_t)keep;
	}
}

/* dx[lo, hi) = drop(dy) act'(pre) */
SQ_HOT static void
act_back(float *dx, const float *pre, const float *dy, long lo, long hi,
    int act, const struct dropper *d)
{
	long i;

	for (i = lo; i + LANES <= hi; i += LANES)
		vstore(dx + i, vdrop(d, vload(dy + i), i) *
		    vact_grad(vload(pre + i), act));
	for (; i < hi; i++)
		dx[i] = drop1(d, dy[i], i) * act_grad1(pre[i], act);
}

/* x[lo, hi) = drop(act(pre)) */
SQ_HOT static void
act_drop(float *x, const float *pre, long lo, long hi, int act,
    const struct dropper *d)
{
	long i;

	for (i = lo; i + LANES <= hi; i += LANES)
		vstore(x + i, vdrop(d, vact(vload(pre + i), act), i));
	for (; i < hi; i++)
		x[i] = drop1(d, act1(pre[i], act), i);
}

struct elem_job {
	int kind;
	float *x, *y;			/* outputs */
	const float *a, *b;		/* inputs */
	uint8_t *mask;
	const uint8_t *cmask;
	long n;
	int act;
	float p;		/* ELEM_SCALE: the factor */
	uint64_t seed, stream;
	struct dropper d;
};

enum { ELEM_ACT_DROP, ELEM_ACT_BACK, ELEM_DROP_FWD, ELEM_DROP_BACK,
    ELEM_DROP_COPY, ELEM_DROP_ADD, ELEM_SCALE, ELEM_ZERO };

SQ_HOT static void
elem_part(void *arg, int i, int n)
{
	struct elem_job *j = arg;
	long lo, hi;

	share(j->n, i, n, &lo, &hi);
	switch (j->kind) {
	case ELEM_ACT_DROP:
		act_drop(j->x, j->a, lo, hi, j->act, &j->d);
		break;
	case ELEM_ACT_BACK:
		act_back(j->x, j->a, j->b, lo, hi, j->act, &j->d);
		break;
	case ELEM_DROP_FWD:
	case ELEM_DROP_BACK:
		if (j->mask == NULL && j->cmask == NULL)
			drop_copy(j->x + lo, j->x + lo, hi - lo, (uint64_t)lo,
			    &j->d);
		else
			drop_range(j->x, j->mask, j->cmask, lo, hi, j->p,
			    j->seed, j->stream);
		break;
	case ELEM_DROP_COPY:
		drop_copy(j->x + lo, j->a + lo, hi - lo, (uint64_t)lo, &j->d);
		break;
	case ELEM_DROP_ADD:
		drop_add(j->x, j->a, j->b, lo, hi, &j->d);
		break;
	case ELEM_SCALE:
		for (; lo + LANES <= hi; lo += LANES)
			vstore(j->x + lo, vload(j->x + lo) * j->p);
		for (; lo < hi; lo++)
			j->x[lo] *= j->p;
		break;
	case ELEM_ZERO:
		memset(j->x + lo, 0, (size_t)(hi - lo) * sizeof(float));
		break;
	}
}

static void
elem_run(struct sq_pool *pool, struct elem_job *j)
{
	if (j->n >= SPLIT_MIN_ELEMS && sq_pool_threads(pool) > 1)
		sq_pool_run(pool, elem_part, j);
	else
		elem_part(j, 0, 1);
}

void
sq_activate_dropout(float *x, const float *pre, long n, int act, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_ACT_DROP, x, NULL, pre, NULL, NULL, NULL, n,
		act, p, seed, stream, dropper(p, seed, stream) };

	elem_run(pool, &j);
}

void
sq_activate_backward(float *dx, const float *pre, const float *dy, long n,
    int act, float p, uint64_t seed, uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_ACT_BACK, dx, NULL, pre, dy, NULL, NULL, n,
		act, p, seed, stream, dropper(p, seed, stream) };

	elem_run(pool, &j);
}

void
sq_dropout_forward(float *x, uint8_t *mask, long n, float p, uint64_t seed,
    uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_DROP_FWD, x, NULL, NULL, NULL, mask, NULL,
		n, 0, p, seed, stream, dropper(p, seed, stream) };

	if (p <= 0.0f && mask == NULL)
		return;
	elem_run(pool, &j);
}

void
sq_dropout_backward(float *d, const uint8_t *mask, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_DROP_BACK, d, NULL, NULL, NULL, NULL, mask,
		n, 0, p, seed, stream, dropper(p, seed, stream) };

	if (p <= 0.0f)
		return;
	elem_run(pool, &j);
}

void
sq_dropout_copy(float *dst, const float *src, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_DROP_COPY, dst, NULL, src, NULL, NULL,
		NULL, n, 0, p, seed, stream, dropper(p, seed, stream) };

	elem_run(pool, &j);
}

void
sq_dropout_add(float *out, const float *x, const float *y, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_DROP_ADD, out, NULL, x, y, NULL, NULL, n,
		0, p, seed, stream, dropper(p, seed, stream) };

	elem_run(pool, &j);
}

/* ---- loss ---- */

/* The rows are summed in at most this many blocks (see the top). */
#define LOSS_BLOCKS 64

struct xent_job {
	float *d;
	double *row_loss;	/* (M) or NULL */
	const float *z;
	const int32_t *y;
	int32_t *amax;
	int M, V;
	float eps, scale;
	int rows, nblk;		/* rows per block, blocks */
	double loss[LOSS_BLOCKS];
	int count[LOSS_BLOCKS];
};

/* Row m: returns its loss, writes its gradient (see grad.h). */
SQ_HOT static double
xent_row(float *d, const float *z, int y, int V, float eps, float scale)
{
	float mx, s, sz, zy, a, c;
	double lse;
	int v;

	if (y < 0) {
		memset(d, 0, (size_t)V * sizeof(float));
		return 0.0;
	}
	/* read all we need of z first: d may be z */
	mx = maxf(z, V);
	sz = sum(z, V);
	zy = z[y];
	for (v = 0; v + LANES <= V; v += LANES)
		vstore(d + v, vexp(vload(z + v) - mx));
	for (; v < V; v++)
		d[v] = fast_expf(z[v] - mx);
	s = sum(d, V);
	lse = mx + log((double)s);
	/* d = scale (e / s - eps / V), then the target's -scale (1 - eps) */
	a = scale / s;
	c = scale * eps / V;
	for (v = 0; v + LANES <= V; v += LANES)
		vstore(d + v, vload(d + v) * a - c);
	for (; v < V; v++)
		d[v] = d[v] * a - c;
	d[y] -= scale * (1.0f - eps);
	/* -(1-eps)(zy - lse) - (eps/V)(sz - V lse) */
	return lse - (1.0 - eps) * zy - (double)eps / V * sz;
}

static void
xent_part(void *arg, int i, int n)
{
	struct xent_job *j = arg;
	int b, lo, hi, m, blo = j->nblk * i / n, bhi = j->nblk * (i + 1) / n;

	for (b = blo; b < bhi; b++) {
		lo = b * j->rows;
		hi = SQ_MIN(j->M, lo + j->rows);
		j->loss[b] = 0.0;
		j->count[b] = 0;
		for (m = lo; m < hi; m++) {
			long o = (long)m * j->V;
			double l = xent_row(j->d + o, j->z + o, j->y[m], j->V,
			    j->eps, j->scale);

			if (j->row_loss != NULL)
				j->row_loss[m] = l;
			j->loss[b] += l;
			j->count[b] += j->y[m] >= 0;
		}
	}
}

int
sq_xent_forward_backward(double *loss_sum, double *row_loss, float *dlogits,
    const float *logits, const int32_t *target, int M, int V, float eps,
    float scale, struct sq_pool *pool)
{
	struct xent_job j;
	int b, n = 0;

	memset(&j, 0, sizeof(j));
	j.d = dlogits, j.row_loss = row_loss, j.z = logits, j.y = target;
	j.M = M, j.V = V, j.eps = eps, j.scale = scale;
	j.rows = SQ_MAX(1, (M + LOSS_BLOCKS - 1) / LOSS_BLOCKS);
	j.nblk = (M + j.rows - 1) / j.rows;
	if ((long)M * V >= SPLIT_MIN_ELEMS && sq_pool_threads(pool) > 1)
		sq_pool_run(pool, xent_part, &j);
	else
		xent_part(&j, 0, 1);
	*loss_sum = 0.0;
	for (b = 0; b < j.nblk; b++) {
		*loss_sum += j.loss[b];
		n += j.count[b];
	}
	return n;
}

/* ---- embeddings ---- */

void
sq_embed_backward(float *dE, const float *dout, const int32_t *ids,
    float scale, int n, int D)
{
	int t;

	for (t = 0; t < n; t++)
		if (ids[t] >= 0)	/* -1, the zero start, has no row */
			axpy(dE + (long)ids[t] * D, scale, dout + (long)t * D,
			    D);
}

void
sq_positions_backward(float *dP, const float *dout, int first, int n, int D)
{
	sq_add(dP + (long)first * D, dout, (long)n * D);
}

void
sq_mean_rows_backward(float *dx, const float *dout, int n, int D)
{
	int t, d;

	for (t = 0; t < n; t++)
		for (d = 0; d < D; d++)
			dx[(long)t * D + d] += dout[d] / (float)n;
}

/* ---- the step ---- */

/* The flat array is summed in at most this many blocks, in order. */
#define SUMSQ_BLOCKS 256

struct sumsq_job {
	const float *x;
	long n, bs;
	int nblk;
	double part[SUMSQ_BLOCKS];
};

/* sum of x[i]^2 over [lo, hi) in double, 8 lanes then in order */
SQ_HOT static double
sumsq_range(const float *x, long lo, long hi)
{
	double acc[8] = { 0 }, s = 0.0;
	long i;
	int l;

	for (i = lo; i + 8 <= hi; i += 8)
		for (l = 0; l < 8; l++)
			acc[l] += (double)x[i + l] * x[i + l];
	for (; i < hi; i++)
		s += (double)x[i] * x[i];
	for (l = 0; l < 8; l++)
		s += acc[l];
	return s;
}

static void
sumsq_part(void *arg, int i, int n)
{
	struct sumsq_job *j = arg;
	int b, blo = j->nblk * i / n, bhi = j->nblk * (i + 1) / n;

	for (b = blo; b < bhi; b++)
		j->part[b] = sumsq_range(j->x, b * j->bs,
		    SQ_MIN(j->n, (b + 1) * j->bs));
}

double
sq_sumsq(const float *x, long n, struct sq_pool *pool)
{
	struct sumsq_job j;
	double s = 0.0;
	int b;

	if (n <= 0)
		return 0.0;
	j.x = x, j.n = n;
	j.bs = (n + SUMSQ_BLOCKS - 1) / SUMSQ_BLOCKS;
	j.bs = SQ_MAX(4096, (j.bs + 15) / 16 * 16);
	j.nblk = (int)((n + j.bs - 1) / j.bs);
	if (n >= SPLIT_MIN_ELEMS && sq_pool_threads(pool) > 1)
		sq_pool_run(pool, sumsq_part, &j);
	else
		sumsq_part(&j, 0, 1);
	for (b = 0; b < j.nblk; b++)
		s += j.part[b];
	return s;
}

void
sq_scale(float *x, long n, float s, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_SCALE, x, NULL, NULL, NULL, NULL, NULL, n,
		0, s, 0, 0, { 0, 0, 0.0f, 0 } };

	elem_run(pool, &j);
}

void
sq_zero(float *x, long n, struct sq_pool *pool)
{
	struct elem_job j = { ELEM_ZERO, x, NULL, NULL, NULL, NULL, NULL, n,
		0, 0.0f, 0, 0, { 0, 0, 0.0f, 0 } };

	elem_run(pool, &j);
}

struct adamw_job {
	float *p, *m, *v;
	const float *g;
	long n;
	float decay, b1, a1, b2, a2, bc2s, eps, neg_step;
};

/*
 * torch's float kernels, as measured against torch 1.13 on this machine
 * (tests/train_kernels.py): mul_ by a scalar rounded to float, add_ with
 * alpha as a fused multiply-add, addcmul_ as fma(value t1, t2, self),
 * sqrt, div_ by a scalar (a true division), add_, addcdiv_ as self +
 * value t1 / t2 unfused.  (C11 mode contracts nothing: the fmaf calls
 * are the only fused operations.)
 */
SQ_HOT static void
adamw_range(struct adamw_job *j, long lo, long hi)
{
	long i;

	for (i = lo; i < hi; i++) {
		float g = j->g[i], m, v, den;

		j->p[i] = j->p[i] * j->decay;
		m = fmaf(j->a1, g, j->m[i] * j->b1);
		v = fmaf(j->a2 * g, g, j->v[i] * j->b2);
		den = sqrtf(v) / j->bc2s + j->eps;
		j->p[i] = j->p[i] + j->neg_step * m / den;
		j->m[i] = m;
		j->v[i] = v;
	}
}

static void
adamw_part(void *arg, int i, int n)
{
	struct adamw_job *j = arg;
	long lo, hi;

	share(j->n, i, n, &lo, &hi);
	adamw_range(j, lo, hi);
}

void
sq_adamw_step(float *p, float *m, float *v, const float *g, long n,
    double lr, double beta1, double beta2, double eps, double weight_decay,
    long step, struct sq_pool *pool)
{
	/* the scalars as torch computes them, in double (Python floats) */
	double bc1 = 1.0 - pow(beta1, (double)step);
	double bc2 = 1.0 - pow(beta2, (double)step);
	struct adamw_job j = { p, m, v, g, n,
		(float)(1.0 - lr * weight_decay), (float)beta1,
		(float)(1.0 - beta1), (float)beta2, (float)(1.0 - beta2),
		(float)sqrt(bc2), (float)eps, (float)(-(lr / bc1)) };

	if (n >= SPLIT_MIN_ELEMS && sq_pool_threads(pool) > 1)
		sq_pool_run(pool, adamw_part, &j);
	else
		adamw_range(&j, 0, n);
}
