/*
 * bench-gemm: the product of the engine's linear layers, y = x W^T + b
 * with W (N, K) row-major as the model file stores it, through each GEMM
 * library issue 8 §1 considers, against OpenBLAS (the engine's path and
 * its float32 reference).  Not part of the library: `make bench-gemm`
 * builds it into build/bench/gemm (it needs libdnnl-dev, libxnnpack-dev
 * and libpthreadpool-dev, which the normal build does not),
 * scripts/bench-gemm runs it and prints the table.
 *
 * usage: gemm LIB THREADS MxKxN...
 *
 * One library per process, so that no two thread pools ever wait side by
 * side.  For each shape it prints a tab-separated line
 * "LIB M K N THREADS median best err note": GFLOP/s (2MNK flops per call),
 * median and best of SAMPLES samples of R calls after a warm-up; err the
 * largest |y - ref| over the output, ref being OpenBLAS's float32 product
 * (for the int8 libraries divided by the largest |ref|); note what the
 * library chose (kernel, ISA).
 *
 * The engine reads a weight matrix once per layer per step, from DRAM,
 * not from cache: each library holds enough copies of W (packed where the
 * library packs) to fill $BENCH_GEMM_POOL_MB (64: twice a server L3
 * slice) and the calls go round them; 0 keeps one copy, in cache.
 * R = $BENCH_SCALE x 3e8 / 2MNK calls (at least 1), so a sample takes a
 * few milliseconds or one call.
 *
 * LIB, and how each is held to THREADS threads:
 *   engine     sq_linear() (lib/nn/ops.c) on a sq_pool of THREADS,
 *              OpenBLAS single-threaded inside, by unpacked weights
 *   engine-packed  the same by weights also packed (lib/nn/packed.h), as
 *              encode, decode and beamsearch load them in float32
 *   openblas   cblas_sgemm (cblas_sgemv for M = 1), the bias copied into
 *              y first; openblas_set_num_threads(THREADS)
 *   dnnl-f32   oneDNN matmul, weights reordered once into the layout the
 *              primitive asks for (format_tag_any); Debian builds oneDNN
 *              with OpenMP: omp_set_num_threads(THREADS)
 *   dnnl-s8    the same over s8 weights (a scale per output row) and s8
 *              activations quantized per call (one scale, max |x|), as
 *              issue 8 §2 needs: s8 x s8 -> s32, scaled and biased here
 *              on oneDNN's OpenMP threads (oneDNN 2.6 takes scales known
 *              only at run time in its gemm:jit path alone, which neither
 *              packs nor uses VNNI, and whose 16-bit sums saturate: it was
 *              tens of times slower and 10% off)
 *   xnn-f32    XNNPACK fully_connected_nc_f32 (it packs W at creation) on
 *              a pthreadpool of THREADS
 *   xnn-qs8    fully_connected_nc_qs8: per-tensor scales, int8 output, its
 *              input and output scales fixed at creation (here calibrated
 *              on this x and y): static quantization only
 *   xsmm-f32   libxsmm JIT kernels over W packed in panels of PANEL rows;
 *              libxsmm has no driver for products this large, so this file
 *              has the one the engine would need: panels split over a
 *              sq_pool of THREADS
 *   xsmm-s8    the same with libxsmm's s8 x u8 -> s32 VNNI kernels: W
 *              packed in panels of groups of 4 along K, x quantized per
 *              call to u8 around 128, corrected by 128 times the sums of
 *              W's rows
 */
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <libxsmm.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include "base/pool.h"
#include "base/util.h"
#include "benchtime.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/packed.h"
#include "nn/vec.h"

#define SAMPLES 5
#define FLOPS_PER_SAMPLE 3e8
#define POOL_MB 64
/* xsmm: rows of W per packed panel (lib/nn/packed.h's layout) and rows
 * of x per kernel call */
#define PANEL SQ_PANEL_ROWS
#define XBLOCK 32
/* columns (values for XNNPACK) per part of a dequantization */
#define DEQ_COLS 512

struct prob {
	int M, K, N;
	int copies;		/* weight copies the calls go round */
	const float *w;		/* (N, K) */
	const float *bias;	/* (N) */
	const float *x;		/* (M, K) */
	const float *ref;	/* (M, N): OpenBLAS */
	float *y;		/* (M, N) */
	char note[200];		/* what the library chose */
};

struct backend {
	const char *name;
	int wbytes;		/* bytes per stored weight: sizes the copies */
	int quantized;		/* err relative to max |ref| */
	void (*init)(int threads);
	void *(*prepare)(struct prob *p);	/* packs the copies */
	void (*run)(void *st, struct prob *p, int copy);
	void (*release)(void *st);
};

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-gemm: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* 64-byte aligned, zeroed; dies when out of memory */
static void *
xalloc(size_t n)
{
	void *p = aligned_alloc(64, (n + 63) / 64 * 64);

	if (p == NULL)
		die("out of memory (%zu bytes)", n);
	return memset(p, 0, n);
}

/* uniform in [-a, a), xorshift64 */
static void
fill(float *v, long n, float a, uint64_t seed)
{
	long i;

	for (i = 0; i < n; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		v[i] = a * ((float)(seed >> 40) / (1 << 23) - 1.0f);
	}
}

/* max |v|, on LANES partial maxima (a scalar max chain would not
 * vectorize, and x is scanned at every call) */
static float
absmax(const float *v, long n)
{
	vf acc = { 0 }, a, zero = { 0 };
	float m = 0.0f, h[LANES];
	long i;
	int j;

	for (i = 0; i + LANES <= n; i += LANES) {
		a = vload(v + i);
		a = vsel(a < zero, -a, a);
		acc = vsel(a > acc, a, acc);
	}
	vstore(h, acc);
	for (j = 0; j < LANES; j++)
		m = h[j] > m ? h[j] : m;
	for (; i < n; i++)
		m = fabsf(v[i]) > m ? fabsf(v[i]) : m;
	return m;
}

/* v / s clamped to [-127, 127], rounded half away from zero */
static inline int
quantize1(float v, float r)
{
	v *= r;
	v = v < -127.0f ? -127.0f : v > 127.0f ? 127.0f : v;
	return (int)(v + (v < 0.0f ? -0.5f : 0.5f));
}

/* the scale that maps max |v| to 127 */
static float
scale_of(const float *v, long n)
{
	float m = absmax(v, n);

	return (m > 0.0f ? m : 1.0f) / 127.0f;
}

/* q = v / s, rounded and clamped to [-127, 127] */
static void
quantize(int8_t *q, const float *v, long n, float s)
{
	float r = 1.0f / s;
	long i;

	for (i = 0; i < n; i++)
		q[i] = (int8_t)quantize1(v[i], r);
}

/* W quantized per output row: q (N, K), scale (N) */
static void
quantize_rows(int8_t *q, float *scale, const float *w, int N, int K)
{
	int n;

	for (n = 0; n < N; n++) {
		scale[n] = scale_of(w + (long)n * K, K);
		quantize(q + (long)n * K, w + (long)n * K, K, scale[n]);
	}
}

/*
 * y = (acc - corr) sx wscale + bias over rows [m0, m1) and columns
 * [n0, n1) of (M, N); corr (N) may be NULL.
 */
static void
dequantize(float *y, const int32_t *acc, const float *corr, float sx,
    const float *wscale, const float *bias, int N, int m0, int m1, int n0,
    int n1)
{
	long o;
	int m, n;

	for (m = m0; m < m1; m++)
		for (n = n0; n < n1; n++) {
			o = (long)m * N + n;
			y[o] = ((float)acc[o] - (corr != NULL ? corr[n] : 0.0f)) *
			    sx * wscale[n] + bias[n];
		}
}

/* ---- OpenBLAS, and the engine's sq_linear ---- */

static struct sq_pool *pool;

/* y = x W^T + b through CBLAS */
static void
blas_linear(float *y, const float *x, const float *w, const float *bias,
    int M, int K, int N)
{
	int i;

	for (i = 0; i < M; i++)
		memcpy(y + (long)i * N, bias, N * sizeof(float));
	if (M == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, 1.0f, w, K, x, 1,
		    1.0f, y, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K,
		    1.0f, x, K, w, K, 1.0f, y, N);
}

struct plain {
	float **w;		/* copies of (N, K) */
	float **pk;		/* engine-packed: the copies packed, else NULL */
	int copies;
};

static void *
plain_prepare(struct prob *p)
{
	struct plain *s = xalloc(sizeof(*s));
	size_t bytes = sizeof(float) * p->N * p->K;
	int c;

	s->pk = NULL;
	s->copies = p->copies;
	s->w = xalloc(sizeof(float *) * s->copies);
	for (c = 0; c < s->copies; c++)
		s->w[c] = memcpy(xalloc(bytes), p->w, bytes);
	snprintf(p->note, sizeof(p->note), "OpenBLAS %s",
	    openblas_get_corename());
	return s;
}

static void
plain_release(void *st)
{
	struct plain *s = st;
	int c;

	for (c = 0; c < s->copies; c++) {
		free(s->w[c]);
		if (s->pk != NULL)
			free(s->pk[c]);
	}
	free(s->w);
	free(s->pk);
	free(s);
}

static void
openblas_init(int threads)
{
	openblas_set_num_threads(threads);
}

static void
openblas_run(void *st, struct prob *p, int c)
{
	struct plain *s = st;

	blas_linear(p->y, p->x, s->w[c], p->bias, p->M, p->K, p->N);
}

static void
engine_init(int threads)
{
	sq_ops_init();
	pool = sq_pool_new(threads);
}

/* the engine's weights as encode, decode and beamsearch load them */
static void *
engine_packed_prepare(struct prob *p)
{
	struct plain *s = plain_prepare(p);
	size_t bytes = sizeof(float) * sq_panels_size(p->N, p->K);
	int c;

	s->pk = xalloc(sizeof(float *) * s->copies);
	for (c = 0; c < s->copies; c++) {
		s->pk[c] = xalloc(bytes);
		sq_panels_pack(s->pk[c], p->w, p->N, p->K);
	}
	snprintf(p->note, sizeof(p->note), "%s, OpenBLAS %s",
	    sq_packed_isa(), openblas_get_corename());
	return s;
}

static void
engine_run(void *st, struct prob *p, int c)
{
	struct plain *s = st;
	struct sq_packed slot = { s->pk != NULL ? s->pk[c] : NULL, 0 };
	struct sq_mat wm = { .dtype = SQ_W_F32, .data = s->w[c],
	    .packed = s->pk != NULL ? &slot : NULL };

	sq_linear_mat(p->y, p->x, &wm, p->bias, p->M, p->K, p->N, pool);
}

/* ---- oneDNN ---- */

static dnnl_engine_t dnnl_eng;
static dnnl_stream_t dnnl_strm;

#define DNNL(call) do {							\
	dnnl_status_t st_ = (call);					\
	if (st_ != dnnl_success)					\
		die("oneDNN: %s: %s", #call, dnnl_status2str(st_));	\
} while (0)

struct dnnl_state {
	dnnl_primitive_t mm;
	dnnl_memory_t src, bias, dst;	/* bias: f32 only */
	dnnl_memory_t *w;	/* copies, in the primitive's layout */
	int copies;
	int8_t *xq;		/* (M, K), s8 only */
	int32_t *acc;		/* (M, N), s8 only */
	float *wscale;		/* (N), s8 only */
};

static void
dnnl_init(int threads)
{
	omp_set_num_threads(threads);
	DNNL(dnnl_engine_create(&dnnl_eng, dnnl_cpu, 0));
	DNNL(dnnl_stream_create(&dnnl_strm, dnnl_eng,
	    dnnl_stream_default_flags));
}

static void
md2(dnnl_memory_desc_t *md, long rows, long cols, dnnl_data_type_t t,
    dnnl_format_tag_t tag)
{
	dnnl_dims_t d = { rows, cols };

	DNNL(dnnl_memory_desc_init_by_tag(md, 2, d, t, tag));
}

static dnnl_memory_t
dnnl_wrap(const dnnl_memory_desc_t *md, const void *data)
{
	dnnl_memory_t m;

	DNNL(dnnl_memory_create(&m, md, dnnl_eng, (void *)data));
	return m;
}

/*
 * The matmul for M rows, its weights in the layout of oneDNN's choice:
 * f32 with the bias, or s8 x s8 -> s32 (oneDNN 2.6 takes scales known at
 * run time only in its slow gemm:jit path, not in brgemm: the caller
 * scales).
 */
static dnnl_primitive_desc_t
dnnl_desc(int M, int K, int N, dnnl_data_type_t t)
{
	dnnl_memory_desc_t src, wei, bias, dst;
	dnnl_matmul_desc_t d;
	dnnl_primitive_desc_t pd;

	md2(&src, M, K, t, dnnl_ab);
	md2(&wei, K, N, t, dnnl_format_tag_any);
	md2(&bias, 1, N, dnnl_f32, dnnl_ab);
	md2(&dst, M, N, t == dnnl_s8 ? dnnl_s32 : dnnl_f32, dnnl_ab);
	DNNL(dnnl_matmul_desc_init(&d, &src, &wei, t == dnnl_s8 ? NULL : &bias,
	    &dst));
	DNNL(dnnl_primitive_desc_create(&pd, &d, NULL, dnnl_eng, NULL));
	return pd;
}

/*
 * Reorders the user's weights (K, N), stored as W (N, K), into each of
 * the copies in the layout md.
 */
static void
dnnl_pack(dnnl_memory_t *w, int copies, const dnnl_memory_desc_t *md,
    const void *user, int K, int N, dnnl_data_type_t t)
{
	dnnl_memory_desc_t umd;
	dnnl_primitive_desc_t rpd;
	dnnl_primitive_t r;
	dnnl_memory_t u;
	int c;

	md2(&umd, K, N, t, dnnl_ba);
	u = dnnl_wrap(&umd, user);
	DNNL(dnnl_reorder_primitive_desc_create(&rpd, &umd, dnnl_eng, md,
	    dnnl_eng, NULL));
	DNNL(dnnl_primitive_create(&r, rpd));
	for (c = 0; c < copies; c++) {
		dnnl_exec_arg_t a[2] = { { DNNL_ARG_FROM, u }, { DNNL_ARG_TO, 0 } };

		DNNL(dnnl_memory_create(&w[c], md, dnnl_eng,
		    DNNL_MEMORY_ALLOCATE));
		a[1].memory = w[c];
		DNNL(dnnl_primitive_execute(r, dnnl_strm, 2, a));
	}
	DNNL(dnnl_stream_wait(dnnl_strm));
	DNNL(dnnl_primitive_destroy(r));
	DNNL(dnnl_primitive_desc_destroy(rpd));
	DNNL(dnnl_memory_destroy(u));
}

static void *
dnnl_prepare(struct prob *p, dnnl_data_type_t t)
{
	struct dnnl_state *s = xalloc(sizeof(*s));
	dnnl_primitive_desc_t pd, pd1;
	dnnl_memory_desc_t bmd, ab, ba;
	const dnnl_memory_desc_t *wmd;
	const char *impl;
	int8_t *wq = NULL;
	int same, plain;

	s->copies = p->copies;
	s->w = xalloc(sizeof(dnnl_memory_t) * s->copies);
	if (t == dnnl_s8) {
		s->xq = xalloc((size_t)p->M * p->K);
		s->acc = xalloc(sizeof(int32_t) * p->M * p->N);
		s->wscale = xalloc(sizeof(float) * p->N);
		wq = xalloc((size_t)p->N * p->K);
		quantize_rows(wq, s->wscale, p->w, p->N, p->K);
	}
	pd = dnnl_desc(p->M, p->K, p->N, t);
	/* the engine would pack W once for every M: is this M's layout M=1's? */
	pd1 = dnnl_desc(1, p->K, p->N, t);
	wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
	same = dnnl_memory_desc_equal(wmd,
	    dnnl_primitive_desc_query_md(pd1, dnnl_query_weights_md, 0));
	md2(&ab, p->K, p->N, t, dnnl_ab);
	md2(&ba, p->K, p->N, t, dnnl_ba);
	plain = dnnl_memory_desc_equal(wmd, &ab) ||
	    dnnl_memory_desc_equal(wmd, &ba);
	DNNL(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
	snprintf(p->note, sizeof(p->note), "%s, weights %s, layout %s M=1's",
	    impl, plain ? "plain" : "packed", same ? "as" : "NOT as");
	DNNL(dnnl_primitive_create(&s->mm, pd));
	dnnl_pack(s->w, s->copies, wmd, t == dnnl_s8 ? (void *)wq :
	    (void *)p->w, p->K, p->N, t);
	s->src = dnnl_wrap(dnnl_primitive_desc_query_md(pd,
	    dnnl_query_src_md, 0), t == dnnl_s8 ? (void *)s->xq :
	    (void *)p->x);
	s->dst = dnnl_wrap(dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md,
	    0), t == dnnl_s8 ? (void *)s->acc : (void *)p->y);
	if (t == dnnl_f32) {
		md2(&bmd, 1, p->N, dnnl_f32, dnnl_ab);
		s->bias = dnnl_wrap(&bmd, p->bias);
	}
	DNNL(dnnl_primitive_desc_destroy(pd1));
	DNNL(dnnl_primitive_desc_destroy(pd));
	free(wq);
	return s;
}

static void *
dnnl_prepare_f32(struct prob *p)
{
	return dnnl_prepare(p, dnnl_f32);
}

static void *
dnnl_prepare_s8(struct prob *p)
{
	return dnnl_prepare(p, dnnl_s8);
}

static void
dnnl_run(void *st, struct prob *p, int c)
{
	struct dnnl_state *s = st;
	dnnl_exec_arg_t a[4] = {
		{ DNNL_ARG_SRC, s->src }, { DNNL_ARG_WEIGHTS, s->w[c] },
		{ DNNL_ARG_DST, s->dst }, { DNNL_ARG_BIAS, s->bias },
	};
	long xn = (long)p->M * p->K;
	float sx = 0.0f;
	int n0;

	if (s->xq != NULL) {
		sx = scale_of(p->x, xn);
		quantize(s->xq, p->x, xn, sx);
	}
	DNNL(dnnl_primitive_execute(s->mm, dnnl_strm, s->xq != NULL ? 3 : 4,
	    a));
	DNNL(dnnl_stream_wait(dnnl_strm));
	if (s->xq == NULL)
		return;
	/* on oneDNN's own OpenMP threads */
#pragma omp parallel for schedule(static)
	for (n0 = 0; n0 < p->N; n0 += DEQ_COLS)
		dequantize(p->y, s->acc, NULL, sx, s->wscale, p->bias, p->N,
		    0, p->M, n0, SQ_MIN(n0 + DEQ_COLS, p->N));
}

static void
dnnl_release(void *st)
{
	struct dnnl_state *s = st;
	int c;

	for (c = 0; c < s->copies; c++)
		DNNL(dnnl_memory_destroy(s->w[c]));
	DNNL(dnnl_memory_destroy(s->src));
	DNNL(dnnl_memory_destroy(s->dst));
	if (s->bias != NULL)
		DNNL(dnnl_memory_destroy(s->bias));
	DNNL(dnnl_primitive_destroy(s->mm));
	free(s->w);
	free(s->xq);
	free(s->acc);
	free(s->wscale);
	free(s);
}

/* ---- XNNPACK ---- */

static pthreadpool_t xnn_pool;

#define XNN(call) do {							\
	enum xnn_status st_ = (call);					\
	if (st_ != xnn_status_success)					\
		die("XNNPACK: %s: status %d", #call, (int)st_);		\
} while (0)

struct xnn_state {
	xnn_operator_t *op;	/* copies */
	int copies;
	int8_t *xq, *yq;	/* (M, K), (M, N): qs8 only */
	float sx, sy;		/* their fixed scales */
};

static void
xnn_init(int threads)
{
	XNN(xnn_initialize(NULL));
	xnn_pool = pthreadpool_create(threads);
	if (xnn_pool == NULL)
		die("pthreadpool_create(%d) failed", threads);
}

static struct xnn_state *
xnn_state_new(struct prob *p)
{
	struct xnn_state *s = xalloc(sizeof(*s));

	s->copies = p->copies;
	s->op = xalloc(sizeof(xnn_operator_t) * s->copies);
	snprintf(p->note, sizeof(p->note), "kernels not reported");
	return s;
}

static void *
xnn_prepare_f32(struct prob *p)
{
	struct xnn_state *s = xnn_state_new(p);
	int c;

	for (c = 0; c < s->copies; c++)
		XNN(xnn_create_fully_connected_nc_f32(p->K, p->N, p->K, p->N,
		    p->w, p->bias, -INFINITY, INFINITY, 0, &s->op[c]));
	return s;
}

static void *
xnn_prepare_qs8(struct prob *p)
{
	struct xnn_state *s = xnn_state_new(p);
	long wn = (long)p->N * p->K;
	int8_t *wq = xalloc(wn);
	int32_t *b = xalloc(sizeof(int32_t) * p->N);
	float sw = scale_of(p->w, wn);
	int c, n;

	s->sx = scale_of(p->x, (long)p->M * p->K);
	s->sy = scale_of(p->ref, (long)p->M * p->N);
	s->xq = xalloc((size_t)p->M * p->K);
	s->yq = xalloc((size_t)p->M * p->N);
	quantize(wq, p->w, wn, sw);
	for (n = 0; n < p->N; n++)
		b[n] = (int32_t)lrintf(p->bias[n] / (s->sx * sw));
	for (c = 0; c < s->copies; c++)
		XNN(xnn_create_fully_connected_nc_qs8(p->K, p->N, p->K, p->N,
		    0, s->sx, sw, wq, b, 0, s->sy, -127, 127, 0, &s->op[c]));
	free(wq);
	free(b);
	return s;
}

struct xnn_job {
	struct xnn_state *s;
	struct prob *p;
};

/* y = yq sy, block b of DEQ_COLS values, on XNNPACK's pool */
static void
xnn_dequantize(void *arg, size_t b)
{
	struct xnn_job *j = arg;
	long i = (long)b * DEQ_COLS, end = (long)j->p->M * j->p->N;

	end = SQ_MIN(end, i + DEQ_COLS);
	for (; i < end; i++)
		j->p->y[i] = j->s->yq[i] * j->s->sy;
}

static void
xnn_run(void *st, struct prob *p, int c)
{
	struct xnn_state *s = st;
	struct xnn_job j = { s, p };
	long yn = (long)p->M * p->N;

	if (s->xq == NULL) {
		XNN(xnn_setup_fully_connected_nc_f32(s->op[c], p->M, p->x,
		    p->y, xnn_pool));
		XNN(xnn_run_operator(s->op[c], xnn_pool));
		return;
	}
	quantize(s->xq, p->x, (long)p->M * p->K, s->sx);
	XNN(xnn_setup_fully_connected_nc_qs8(s->op[c], p->M, s->xq, s->yq,
	    xnn_pool));
	XNN(xnn_run_operator(s->op[c], xnn_pool));
	pthreadpool_parallelize_1d(xnn_pool, xnn_dequantize, &j,
	    (yn + DEQ_COLS - 1) / DEQ_COLS, 0);
}

static void
xnn_release(void *st)
{
	struct xnn_state *s = st;
	int c;

	for (c = 0; c < s->copies; c++)
		XNN(xnn_delete_operator(s->op[c]));
	free(s->op);
	free(s->xq);
	free(s->yq);
	free(s);
}

/* ---- libxsmm ---- */

/*
 * W packed in panels of PANEL rows, each column-major (K, PANEL) so that
 * a panel is the A of a column-major kernel C (PANEL, m) += A (PANEL, K)
 * B (K, m), with B = x^T and C = y^T read in place (ld K and N).  The
 * last panel is padded with zero rows.  In s8, A is in VNNI order
 * (K/4, PANEL, 4) and K a multiple of 4.
 */
struct xsmm_state {
	void **panels;		/* copies of (P, K, PANEL) */
	int copies, P;
	/* kernels [rows of the panel: full, last][rows of x: full, last] */
	libxsmm_smmfunction f[2][2];
	libxsmm_subimmfunction q[2][2];
	uint8_t *xq;		/* (M, K), u8 = s8 + 128 */
	int32_t *acc;		/* (M, N) */
	float *wscale, *corr;	/* (N): row scales, 128 * row sums */
	float sx;
};

struct xsmm_job {
	struct xsmm_state *s;
	struct prob *p;
	int copy;
};

static void
xsmm_init(int threads)
{
	libxsmm_init();
	pool = sq_pool_new(threads);
}

/*
 * The kernels for full and last panels, full and last blocks of rows of
 * x (the same kernel twice when PANEL divides N, etc.).
 */
static void
xsmm_kernels(struct xsmm_state *s, struct prob *p)
{
	libxsmm_blasint lda = PANEL, ldb = p->K, ldc = p->N;
	int i, j, m, n;
	float one = 1.0f;
	int ione = 1, izero = 0;
	int pf = LIBXSMM_PREFETCH_NONE;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			m = i == 0 || p->N % PANEL == 0 ? SQ_MIN(PANEL,
			    p->N) : p->N % PANEL;
			n = j == 0 || p->M % XBLOCK == 0 ? SQ_MIN(XBLOCK,
			    p->M) : p->M % XBLOCK;
			if (s->corr == NULL)
				s->f[i][j] = libxsmm_smmdispatch(m, n, p->K,
				    &lda, &ldb, &ldc, &one, &one, NULL, &pf);
			else
				s->q[i][j] = libxsmm_subimmdispatch(m, n,
				    p->K, &lda, &ldb, &ldc, &ione, &izero,
				    NULL, &pf);
			if (s->f[i][j] == NULL && s->q[i][j] == NULL)
				die("libxsmm: no %s kernel for %dx%dx%d",
				    s->corr == NULL ? "f32" : "s8", m, n, p->K);
		}
}

static struct xsmm_state *
xsmm_state_new(struct prob *p, int s8)
{
	struct xsmm_state *s = xalloc(sizeof(*s));

	s->copies = p->copies;
	s->P = (p->N + PANEL - 1) / PANEL;
	s->panels = xalloc(sizeof(void *) * s->copies);
	if (s8) {
		if (p->K % 4 != 0)
			die("libxsmm s8: K = %d is not a multiple of 4", p->K);
		s->xq = xalloc((size_t)p->M * p->K);
		s->acc = xalloc(sizeof(int32_t) * p->M * p->N);
		s->wscale = xalloc(sizeof(float) * p->N);
		s->corr = xalloc(sizeof(float) * p->N);
	}
	xsmm_kernels(s, p);
	snprintf(p->note, sizeof(p->note), "libxsmm target %s",
	    libxsmm_get_target_arch());
	return s;
}

static void *
xsmm_prepare_f32(struct prob *p)
{
	struct xsmm_state *s = xsmm_state_new(p, 0);
	size_t bytes = sizeof(float) * sq_panels_size(p->N, p->K);
	int c;

	for (c = 0; c < s->copies; c++) {
		s->panels[c] = xalloc(bytes);
		sq_panels_pack(s->panels[c], p->w, p->N, p->K);
	}
	return s;
}

static void *
xsmm_prepare_s8(struct prob *p)
{
	struct xsmm_state *s = xsmm_state_new(p, 1);
	long wn = (long)p->N * p->K;
	size_t bytes = (size_t)s->P * PANEL * p->K;
	int8_t *wq = xalloc(wn), *a;
	int c, n, k;
	long sum;

	quantize_rows(wq, s->wscale, p->w, p->N, p->K);
	for (n = 0; n < p->N; n++) {
		for (sum = 0, k = 0; k < p->K; k++)
			sum += wq[(long)n * p->K + k];
		s->corr[n] = 128.0f * sum;
	}
	for (c = 0; c < s->copies; c++) {
		s->panels[c] = a = xalloc(bytes);
		for (n = 0; n < p->N; n++)
			for (k = 0; k < p->K; k++)
				a[(long)(n / PANEL) * PANEL * p->K +
				    ((long)(k / 4) * PANEL + n % PANEL) * 4 +
				    k % 4] = wq[(long)n * p->K + k];
	}
	free(wq);
	return s;
}

/* part i of n: the panels [lo, hi), all rows of x */
static void
xsmm_part(void *arg, int i, int n)
{
	struct xsmm_job *j = arg;
	struct xsmm_state *s = j->s;
	struct prob *p = j->p;
	int lo, hi, b, m0, r, last, tail, rows, width, n0;
	long pk = (long)PANEL * p->K;

	sq_pool_share(s->P, 1, i, n, &lo, &hi);
	for (b = lo; b < hi; b++) {
		n0 = b * PANEL;
		width = SQ_MIN(PANEL, p->N - n0);
		last = b == s->P - 1 && width < PANEL;
		for (m0 = 0; m0 < p->M; m0 += XBLOCK) {
			rows = SQ_MIN(XBLOCK, p->M - m0);
			tail = rows < SQ_MIN(XBLOCK, p->M);
			if (s->corr == NULL) {
				const float *a = (const float *)s->panels[j->copy] + b * pk;

				for (r = 0; r < rows; r++)
					memcpy(p->y + (long)(m0 + r) * p->N + n0,
					    p->bias + n0, width * sizeof(float));
				s->f[last][tail](a,
				    p->x + (long)m0 * p->K,
				    p->y + (long)m0 * p->N + n0);
			} else {
				const char *a = (const char *)s->panels[j->copy] + b * pk;

				s->q[last][tail](a,
				    s->xq + (long)m0 * p->K,
				    s->acc + (long)m0 * p->N + n0);
			}
		}
		if (s->corr != NULL)
			dequantize(p->y, s->acc, s->corr, s->sx, s->wscale,
			    p->bias, p->N, 0, p->M, n0, n0 + width);
	}
}

static void
xsmm_run(void *st, struct prob *p, int c)
{
	struct xsmm_state *s = st;
	struct xsmm_job j = { s, p, c };
	long xn = (long)p->M * p->K, i;

	if (s->corr != NULL) {
		s->sx = scale_of(p->x, xn);
		for (i = 0; i < xn; i++)
			s->xq[i] = (uint8_t)(128 + quantize1(p->x[i],
			    1.0f / s->sx));
	}
	sq_pool_run(pool, xsmm_part, &j);
}

static void
xsmm_release(void *st)
{
	struct xsmm_state *s = st;
	int c;

	for (c = 0; c < s->copies; c++)
		free(s->panels[c]);
	free(s->panels);
	free(s->xq);
	free(s->acc);
	free(s->wscale);
	free(s->corr);
	free(s);
}

static const struct backend backends[] = {
	{ "engine", 4, 0, engine_init, plain_prepare, engine_run,
	    plain_release },
	{ "engine-packed", 8, 0, engine_init, engine_packed_prepare,
	    engine_run, plain_release },
	{ "openblas", 4, 0, openblas_init, plain_prepare, openblas_run,
	    plain_release },
	{ "dnnl-f32", 4, 0, dnnl_init, dnnl_prepare_f32, dnnl_run,
	    dnnl_release },
	{ "dnnl-s8", 1, 1, dnnl_init, dnnl_prepare_s8, dnnl_run,
	    dnnl_release },
	{ "xnn-f32", 4, 0, xnn_init, xnn_prepare_f32, xnn_run, xnn_release },
	{ "xnn-qs8", 1, 1, xnn_init, xnn_prepare_qs8, xnn_run, xnn_release },
	{ "xsmm-f32", 4, 0, xsmm_init, xsmm_prepare_f32, xsmm_run,
	    xsmm_release },
	{ "xsmm-s8", 1, 1, xsmm_init, xsmm_prepare_s8, xsmm_run,
	    xsmm_release },
};

static double
env_double(const char *name, double dflt)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (v == NULL || *v == '\0')
		return dflt;
	d = strtod(v, &end);
	if (*end != '\0' || d < 0)
		die("$%s: not a number >= 0: %s", name, v);
	return d;
}

/* One shape: prints its line. */
static void
bench(const struct backend *be, int threads, int M, int K, int N)
{
	struct prob p = { .M = M, .K = K, .N = N };
	double flops = 2.0 * M * K * N, g[SAMPLES], t, scale, pool_mb;
	float *w, *bias, *x, *ref, err = 0.0f;
	long i, reps, r, yn = (long)M * N, call = 0;
	void *st;
	int s;

	scale = env_double("BENCH_SCALE", 1.0);
	pool_mb = env_double("BENCH_GEMM_POOL_MB", POOL_MB);
	p.copies = (int)ceil(pool_mb * (1 << 20) / ((double)N * K *
	    be->wbytes));
	p.copies = p.copies < 1 ? 1 : p.copies;
	reps = (long)ceil(scale * FLOPS_PER_SAMPLE / flops);
	reps = reps < 1 ? 1 : reps;
	p.w = w = xalloc(sizeof(float) * N * K);
	p.bias = bias = xalloc(sizeof(float) * N);
	p.x = x = xalloc(sizeof(float) * M * K);
	p.ref = ref = xalloc(sizeof(float) * yn);
	p.y = xalloc(sizeof(float) * yn);
	fill(w, (long)N * K, 1.0f / sqrtf(K), 1 + M + K + N);
	fill(bias, N, 0.1f, 2 + N);
	fill(x, (long)M * K, 1.0f, 3 + M * K);
	blas_linear(ref, x, w, bias, M, K, N);

	st = be->prepare(&p);
	for (r = 0; r < SQ_MIN(reps, p.copies) || r < 1; r++)
		be->run(st, &p, call++ % p.copies);
	for (s = 0; s < SAMPLES; s++) {
		t = now();
		for (r = 0; r < reps; r++)
			be->run(st, &p, call++ % p.copies);
		g[s] = reps * flops / (now() - t) * 1e-9;
	}
	qsort(g, SAMPLES, sizeof(double), cmp_double);

	memset(p.y, 0, sizeof(float) * yn);
	be->run(st, &p, 0);
	for (i = 0; i < yn; i++)
		err = fmaxf(err, fabsf(p.y[i] - ref[i]));
	if (be->quantized)
		err /= absmax(ref, yn);
	printf("%s\t%d\t%d\t%d\t%d\t%.2f\t%.2f\t%.3g\t%s; %d weight copies, "
	    "%ld calls per sample\n", be->name, M, K, N, threads,
	    g[SAMPLES / 2], g[SAMPLES - 1], err, p.note, p.copies, reps);
	fflush(stdout);
	be->release(st);
	free(w);
	free(bias);
	free(x);
	free(ref);
	free(p.y);
}

int
main(int argc, char *argv[])
{
	const struct backend *be = NULL;
	size_t i;
	int threads, a, M, K, N;
	char end;

	if (argc < 4) {
		fprintf(stderr, "usage: gemm LIB THREADS MxKxN...\n");
		return 2;
	}
	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(argv[1], backends[i].name) == 0)
			be = &backends[i];
	if (be == NULL) {
		fprintf(stderr, "bench-gemm: unknown library %s\n", argv[1]);
		return 2;
	}
	threads = atoi(argv[2]);
	if (threads < 1) {
		fprintf(stderr, "bench-gemm: bad thread count %s\n", argv[2]);
		return 2;
	}
	for (a = 3; a < argc; a++)
		if (sscanf(argv[a], "%dx%dx%d%c", &M, &K, &N, &end) != 3 ||
		    M < 1 || K < 1 || N < 1) {
			fprintf(stderr, "bench-gemm: bad shape %s (MxKxN)\n",
			    argv[a]);
			return 2;
		}
	be->init(threads);
	for (a = 3; a < argc; a++) {
		sscanf(argv[a], "%dx%dx%d", &M, &K, &N);
		bench(be, threads, M, K, N);
	}
	return 0;
}
