/*
 * qgemm: products by weight matrices stored as F16 (see qgemm.h),
 * weight-only: the weights are widened to float in registers and the
 * activations stay float32.  The widening also serves int8 rows.
 *
 * Workload.  Decoding at batch 1 reads every weight once per step and is
 * bound by memory bandwidth: half of float32's bytes (F16) is what
 * makes it faster.  So a few input rows (up to
 * QUANT_ROW_KERNEL_MAX: a beam at batch 1, a sentence) go through the row
 * kernels (qgemm_isa.h), which read a weight row once for up to four input
 * rows and keep the sums in registers.  Many rows are compute-bound: the
 * weights are widened into a buffer of the thread's, a panel of 64 rows
 * at a time in the layout of libxsmm's kernels, which multiply by it as
 * they do by packed float32 weights (nn/packed.h); without those kernels
 * (below AVX2), 256 rows at a time for OpenBLAS's sgemm.  So large
 * batches run at float32's speed: the widening costs one pass over the
 * weights per product, little next to M passes of multiply-adds.
 *
 * Instruction sets: the row kernels and the widening are written once
 * (qgemm_isa.h) and compiled for AVX-512, for AVX2 with FMA and F16C, and
 * in plain C; qgemm_init() picks the widest the CPU has, once.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/half.h"
#include "nn/i8gemm.h"
#include "nn/model.h"
#include "nn/packed.h"
#include "nn/qgemm.h"
#include "base/util.h"

/*
 * up to this many input rows: the row kernels, four rows at a time.  The
 * widening costs a pass over the weights that writes 4 bytes for each
 * byte read, more than the products themselves for a sentence of 25
 * tokens: encode --dtype int8 at batch 1 (25-token sentences, one thread)
 * took 1.62-2.00 s of CPU with 8 here and 0.87-0.95 s with 32, greedy
 * decoding at batch 32 2.45-2.57 s with 8 and 2.03-2.06 s with 32, both
 * under OpenBLAS's AVX2 (Haswell) kernels; under its AVX-512 (Cooperlake)
 * kernels 32 made encoding 1.27-1.39 -> 0.84-0.98 s and greedy b32 no
 * slower.
 * Above 32 rows the widening won under Cooperlake (beam 4 at batch 32:
 * 1.42 s, against 1.54-1.60 s with the row kernels).  Widened into
 * libxsmm's panels (panel_products()), 8 here was still slower than 32:
 * two threads, greedy b32 1.71 -> 2.22 s, encode b1 0.53 -> 0.81 s.
 */
#define QUANT_ROW_KERNEL_MAX 32
/*
 * weight rows widened per sgemm call: 256 x K floats (0.5 to 2 MB); each
 * call packs the input again, so fewer, wider calls run faster (64 rows:
 * encode at batch 32 took 5.0-5.2 s where 256 took 4.3-4.7 s)
 */
#define BLOCK_ROWS 256

/* ---- the kernels, once per instruction set ---- */

/* plain C: a "register" of one float */
#define QK(name) name##_c
#define QK_ATTR
#define V float
#define LANES 1
#define V_ZERO() 0.0f
#define V_LOAD(p) (*(p))
#define V_LOAD_I8(p) ((float)*(p))
#define V_LOAD_F16(p) sq_half_to_float(*(p))
#define V_FMA(a, b, c) ((a) * (b) + (c))
#define V_SUM(v) (v)
#define V_STORE(p, v) (*(p) = (v))
#define QK_NB 4
#include "nn/qgemm_isa.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/* AVX2 with FMA and F16C: 8 floats a register, 16 registers */
#define QK(name) name##_avx2
#define QK_ATTR __attribute__((target("avx2,fma,f16c")))
#define V __m256
#define LANES 8
#define V_ZERO() _mm256_setzero_ps()
#define V_LOAD(p) _mm256_loadu_ps(p)
#define V_LOAD_I8(p) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32( \
	_mm_loadl_epi64((const __m128i *)(const void *)(p))))
#define V_LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128( \
	(const __m128i *)(const void *)(p)))
#define V_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define V_SUM(v) sum8(v)
#define V_STORE(p, v) _mm256_storeu_ps(p, v)
#define QK_NB 2

QK_ATTR static inline float
sum8(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

#include "nn/qgemm_isa.h"

/* AVX-512 (F): 16 floats a register, 32 registers */
#define QK(name) name##_avx512
#define QK_ATTR __attribute__((target("avx512f")))
#define V __m512
#define LANES 16
#define V_ZERO() _mm512_setzero_ps()
#define V_LOAD(p) _mm512_loadu_ps(p)
#define V_LOAD_I8(p) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32( \
	_mm_loadu_si128((const __m128i *)(const void *)(p))))
#define V_LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256( \
	(const __m256i *)(const void *)(p)))
#define V_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define V_SUM(v) _mm512_reduce_add_ps(v)
#define V_STORE(p, v) _mm512_storeu_ps(p, v)
#define QK_NB 4
#include "nn/qgemm_isa.h"
#endif

/* ---- dispatch ---- */

typedef void rows_fn(float *out, int ldo, const float *inp,
    const struct sq_mat *w, const float *bias, int M, int K, int lo,
    int hi);
typedef void widen_fn(float *dst, const struct sq_mat *w, long r0, int n,
    int K);

static struct {
	rows_fn *rows;
	widen_fn *widen;
	const char *name;
} isa = { rows_c, widen_c, "C" };

/* Per thread: the buffer of widened weight rows, grown as needed. */
struct buf {
	float *p;
	size_t cap;
};

static pthread_key_t buf_key;

static void
buf_free(void *arg)
{
	struct buf *b = arg;

	free(b->p);
	free(b);
}

static float *
thread_buf(size_t n)
{
	struct buf *b = pthread_getspecific(buf_key);

	if (b == NULL) {
		b = sq_calloc(1, sizeof(*b));
		pthread_setspecific(buf_key, b);
	}
	if (b->cap < n) {
		free(b->p);
		b->p = sq_reallocarray(NULL, n, sizeof(float));
		b->cap = n;
	}
	return b->p;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* CPUID leaf 1, ECX bit 29 (Clang 14's __builtin_cpu_supports lacks it) */
static int
has_f16c(void)
{
	unsigned a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#endif

void
sq_qgemm_init(void)
{
	if (pthread_key_create(&buf_key, buf_free) != 0)
		sq_die("qgemm: cannot create a thread-specific key");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		isa.rows = rows_avx512;
		isa.widen = widen_avx512;
		isa.name = "AVX-512";
	} else if (__builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma") && has_f16c()) {
		isa.rows = rows_avx2;
		isa.widen = widen_avx2;
		isa.name = "AVX2";
	}
#endif
}

const char *
sq_qgemm_isa(void)
{
	return isa.name;
}

int
sq_qgemm_panels(int M)
{
	return M > QUANT_ROW_KERNEL_MAX && sq_packed_available();
}

/*
 * Many rows where libxsmm has kernels: the weights widened a panel of
 * rows at a time into the thread's buffer, in the panel layout, and
 * multiplied there (nn/packed.h), about twice sgemm's speed.  The panel
 * is L2-sized (64 x K floats), and the M rows read it from cache.
 * Returns -1, nothing written, if libxsmm gives no kernel.
 */
static int
panel_products(float *out, int ldo, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int lo, int hi)
{
	float *rows = thread_buf((size_t)2 * SQ_PANEL_ROWS * K);
	float *panel = rows + (long)SQ_PANEL_ROWS * K;
	int n0, nb;

	for (n0 = lo; n0 < hi; n0 += nb) {
		nb = SQ_MIN(SQ_PANEL_ROWS, hi - n0);
		isa.widen(rows, w, n0, nb, K);
		sq_panels_pack(panel, rows, nb, K);
		if (sq_packed_panel_cols(out, ldo, inp, panel, bias, M, K, n0,
		    nb) < 0)
			return -1;
	}
	return 0;
}

void
sq_qgemm_cols(float *out, int ldo, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int lo, int hi)
{
	float *wf;
	int i, n0, nb;

	if (M <= QUANT_ROW_KERNEL_MAX) {
		for (i = 0; i < M; i += 4)
			isa.rows(out + (long)i * ldo, ldo, inp + (long)i * K, w,
			    bias, SQ_MIN(4, M - i), K, lo, hi);
		return;
	}
	if (sq_qgemm_panels(M)) {
		if (panel_products(out, ldo, inp, w, bias, M, K, lo, hi) == 0)
			return;
	}
	wf = thread_buf((size_t)BLOCK_ROWS * K);
	for (n0 = lo; n0 < hi; n0 += nb) {
		nb = SQ_MIN(BLOCK_ROWS, hi - n0);
		isa.widen(wf, w, n0, nb, K);
		if (bias != NULL)
			for (i = 0; i < M; i++)
				memcpy(out + (long)i * ldo + n0, bias + n0,
				    nb * sizeof(float));
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, nb, K,
		    1.0f, inp, K, wf, K, bias != NULL ? 1.0f : 0.0f, out + n0,
		    ldo);
	}
}

void
sq_mat_row(float *out, const struct sq_mat *w, long r, int K)
{
	if (w->dtype == SQ_W_F32 && w->panels)	/* a tied output table */
		sq_panels_row(out, w->data, K, r);
	else if (w->dtype == SQ_W_F32)
		memcpy(out, (const float *)w->data + r * K, K * sizeof(float));
	else if (w->i8_packed)	/* a table the output projection shares */
		sq_i8_dequantize_row(out, w->data, w->scale[r], K, r);
	else
		isa.widen(out, w, r, 1, K);
}
