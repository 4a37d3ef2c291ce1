/*
 * i8gemm: int8 weights by int8 activations (see i8gemm.h).  The VNNI
 * kernel keeps a tile of int32 sums in registers (TILE_ROWS below); the
 * plain C loop defines what it computes.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include "base/util.h"
#include "nn/i8gemm.h"
#include "nn/i8gemm_avx2.h"
#include "nn/quant.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_VNNI_KERNEL 1
#define VNNI __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

/*
 * The VNNI kernel's tiles: up to 12 rows by 2 blocks of columns, 24 sums
 * in registers.  (4 blocks for fewer rows, more chains of vpdpbusd in
 * flight, measured slower at one row: 0.70 ms against 0.57 for 32000 x
 * 512.)
 */
#define TILE_ROWS 12
#define MAX_BLOCKS 2

static int
round_up(int n, int to)
{
	return (n + to - 1) / to * to;
}

/* the kernels this CPU runs, chosen once */
enum isa { ISA_C, ISA_AVX2, ISA_AVXVNNI, ISA_VNNI };
static enum isa isa;
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void
choose_isa(void)
{
	isa = sq_i8_avxvnni_available() ? ISA_AVXVNNI :
	    sq_i8_avx2_available() ? ISA_AVX2 : ISA_C;
#ifdef HAVE_VNNI_KERNEL
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vnni"))
		isa = ISA_VNNI;
#endif
}

static enum isa
which_isa(void)
{
	pthread_once(&isa_once, choose_isa);
	return isa;
}

const char *
sq_i8_isa(void)
{
	static const char *const names[] = { "C", "AVX2", "AVX-VNNI",
		"AVX-512 VNNI" };

	return names[which_isa()];
}

long
sq_i8_packed_len(int N, int K)
{
	return (long)round_up(N, SQ_I8_BLOCK) * round_up(K, 4);
}

void
sq_i8_packed_shape(long dims[4], long N, long K)
{
	dims[0] = (N + SQ_I8_BLOCK - 1) / SQ_I8_BLOCK;
	dims[1] = (K + 3) / 4;
	dims[2] = SQ_I8_BLOCK;
	dims[3] = 4;
}

/* where weight (n, k) of a matrix of Kp packed columns is */
static long
packed_at(long Kp, long n, long k)
{
	return n / SQ_I8_BLOCK * Kp * SQ_I8_BLOCK + k / 4 * SQ_I8_BLOCK * 4 +
	    n % SQ_I8_BLOCK * 4 + k % 4;
}

#ifdef HAVE_VNNI_KERNEL
/*
 * Block b of dst from q (N, K a multiple of 4): 4 bytes of each of its
 * 16 rows gathered into a register at a time; rows past N read as zeros.
 */
VNNI static void
pack_block_avx512(int8_t *dst, const int8_t *q, int N, int K, int b)
{
	int n0 = b * SQ_I8_BLOCK, rows = N - n0, k;
	__mmask16 mask = rows >= SQ_I8_BLOCK ? 0xffff :
	    (__mmask16)((1u << rows) - 1);
	__m512i at = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6,
	    7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32(K));
	const int8_t *src = q + (long)n0 * K;

	dst += (long)b * K * SQ_I8_BLOCK;
	for (k = 0; k < K; k += 4)
		_mm512_storeu_si512(dst + (long)k * SQ_I8_BLOCK,
		    _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask,
		    at, src + k, 1));
}

/* p's column sums, block b: vpdpbusd of the bytes by ones (exact) */
VNNI static void
colsum_block_avx512(struct sq_i8_packed *p, int b)
{
	const int8_t *w = p->w + (long)b * p->Kp * SQ_I8_BLOCK;
	__m512i sum = _mm512_setzero_si512(), ones = _mm512_set1_epi8(1);
	int k;

	for (k = 0; k < p->Kp; k += 4)
		sum = _mm512_dpbusd_epi32(sum, ones,
		    _mm512_loadu_si512(w + (long)k * SQ_I8_BLOCK));
	_mm512_storeu_si512(p->colsum + b * SQ_I8_BLOCK,
	    _mm512_mullo_epi32(sum, _mm512_set1_epi32(128)));
}
#endif

/* block b of dst from q (N, K), a byte at a time */
static void
pack_block_c(int8_t *dst, const int8_t *q, int N, int K, int b)
{
	int Kp = round_up(K, 4), n, k;

	for (n = b * SQ_I8_BLOCK; n < (b + 1) * SQ_I8_BLOCK; n++)
		for (k = 0; k < Kp; k++)
			dst[packed_at(Kp, n, k)] = n < N && k < K ?
			    q[(long)n * K + k] : 0;
}

static void
colsum_block_c(struct sq_i8_packed *p, int b)
{
	const int8_t *w = p->w + (long)b * p->Kp * SQ_I8_BLOCK;
	int32_t sum[SQ_I8_BLOCK] = { 0 };
	long k;
	int i;

	/* the bytes of column i are at 4 i to 4 i + 3 of every 64 */
	for (k = 0; k < (long)p->Kp * SQ_I8_BLOCK; k++)
		sum[k % (SQ_I8_BLOCK * 4) / 4] += w[k];
	for (i = 0; i < SQ_I8_BLOCK; i++)
		p->colsum[b * SQ_I8_BLOCK + i] = 128 * sum[i];
}

void
sq_i8_pack_bytes(int8_t *dst, const int8_t *q, int N, int K)
{
	int b, nb = round_up(N, SQ_I8_BLOCK) / SQ_I8_BLOCK;

	/* the byte loop took 0.05 s of an int8 encode of one sentence */
	for (b = 0; b < nb; b++) {
#ifdef HAVE_VNNI_KERNEL
		if (K % 4 == 0 && which_isa() == ISA_VNNI) {
			pack_block_avx512(dst, q, N, K, b);
			continue;
		}
#endif
		pack_block_c(dst, q, N, K, b);
	}
}

void
sq_i8_unpack_row(int8_t *q, const int8_t *bytes, int K, long r)
{
	long Kp = round_up(K, 4);

	for (long k = 0; k < K; k++)
		q[k] = bytes[packed_at(Kp, r, k)];
}

void
sq_i8_dequantize_row(float *out, const int8_t *bytes, float scale, int K,
    long r)
{
	long Kp = round_up(K, 4);

	for (long k = 0; k < K; k++)
		out[k] = scale * bytes[packed_at(Kp, r, k)];
}

void
sq_i8_wrap(struct sq_i8_packed *p, const int8_t *packed, const float *scale,
    int N, int K)
{
	int Np = round_up(N, SQ_I8_BLOCK), b;

	p->N = N;
	p->K = K;
	p->Kp = round_up(K, 4);
	p->w = packed;
	p->mapped = 0;
	p->colsum = sq_calloc(Np, sizeof(int32_t));
	p->scale = sq_calloc(Np, sizeof(float));
	memcpy(p->scale, scale, (size_t)N * sizeof(float));
	for (b = 0; b < Np / SQ_I8_BLOCK; b++) {
#ifdef HAVE_VNNI_KERNEL
		if (which_isa() == ISA_VNNI) {
			colsum_block_avx512(p, b);
			continue;
		}
#endif
		colsum_block_c(p, b);
	}
}

void
sq_i8_pack(struct sq_i8_packed *p, const int8_t *q, const float *scale,
    int N, int K)
{
	size_t bytes = (size_t)sq_i8_packed_len(N, K);
	void *mem;

	/* mapped with its pages in one call: a page fault each 4 kB was
	   most of the time of packing (this VM makes faults slow) */
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (mem == MAP_FAILED)
		sq_die("out of memory packing %zu bytes of int8 weights", bytes);
	sq_i8_pack_bytes(mem, q, N, K);
	sq_i8_wrap(p, mem, scale, N, K);
	p->mapped = bytes;
}

void
sq_i8_free(struct sq_i8_packed *p)
{
	if (p->mapped != 0)
		munmap((void *)p->w, p->mapped);
	free(p->colsum);
	free(p->scale);
	memset(p, 0, sizeof(*p));
}

long
sq_i8_row_len(int K)
{
	return round_up(K, 4);
}

#ifdef HAVE_VNNI_KERNEL
/*
 * One row as sq_i8_quantize_c() gives it, 16 at a time
 * (the baseline's rintf() is a call an element, most of a product's
 * time): the same float32 operations, so the same bits.
 */
VNNI static void
quantize_row_avx512(uint8_t *row, float *sx, const float *x, int K, long ld)
{
	const __m512 inf = _mm512_set1_ps(INFINITY);
	__m512 amax = _mm512_setzero_ps(), inv;
	__mmask16 bad = 0, mask;
	float a;
	int k;

	for (k = 0; k < K; k += SQ_I8_BLOCK) {
		__m512 v;

		mask = K - k >= SQ_I8_BLOCK ? 0xffff :
		    (__mmask16)((1u << (K - k)) - 1);
		v = _mm512_abs_ps(_mm512_maskz_loadu_ps(mask, x + k));
		bad |= _mm512_cmp_ps_mask(v, inf, _CMP_NLT_UQ);
		amax = _mm512_max_ps(amax, v);
	}
	a = _mm512_reduce_max_ps(amax);
	if (bad) {
		memset(row, 128, ld);
		*sx = NAN;
		return;
	}
	*sx = a / 127.0f;
	inv = _mm512_set1_ps(a > 0.0f ? 127.0f / a : 0.0f);
	for (k = 0; k < ld; k += SQ_I8_BLOCK) {
		__m512 r;

		mask = K - k >= SQ_I8_BLOCK ? 0xffff : K <= k ? 0 :
		    (__mmask16)((1u << (K - k)) - 1);
		r = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + k), inv);
		r = _mm512_roundscale_ps(r, _MM_FROUND_TO_NEAREST_INT |
		    _MM_FROUND_NO_EXC);
		r = _mm512_max_ps(_mm512_set1_ps(-127.0f),
		    _mm512_min_ps(_mm512_set1_ps(127.0f), r));
		mask = ld - k >= SQ_I8_BLOCK ? 0xffff :
		    (__mmask16)((1u << (ld - k)) - 1);
		_mm512_mask_cvtepi32_storeu_epi8(row + k, mask, _mm512_add_epi32(
		    _mm512_cvtps_epi32(r), _mm512_set1_epi32(128)));
	}
}
#endif

void
sq_i8_quantize_c(uint8_t *xq, float *sx, const float *x, int M, int K)
{
	long ld = sq_i8_row_len(K), k;
	int m;

	for (m = 0; m < M; m++) {
		uint8_t *row = xq + m * ld;

		/* u8 and s8 are character types: q in place, then + 128 */
		if (sq_quantize_row((int8_t *)row, &sx[m], x + (long)m * K,
		    K) < 0) {
			memset(row, 0, K);
			sx[m] = NAN;
		}
		for (k = 0; k < K; k++)
			row[k] = (uint8_t)((int8_t)row[k] + 128);
		for (; k < ld; k++)
			row[k] = 128;
	}
}

void
sq_i8_quantize(uint8_t *xq, float *sx, const float *x, int M, int K)
{
#ifdef HAVE_VNNI_KERNEL
	if (which_isa() == ISA_VNNI) {
		long ld = sq_i8_row_len(K);

		for (int m = 0; m < M; m++)
			quantize_row_avx512(xq + m * ld, &sx[m], x + (long)m * K,
			    K, ld);
		return;
	}
#endif
	if (which_isa() >= ISA_AVX2)
		sq_i8_quantize_avx2(xq, sx, x, M, K);
	else
		sq_i8_quantize_c(xq, sx, x, M, K);
}

/* the definition, one sum at a time */
void
sq_i8_gemm_c(float *out, int ldo, const uint8_t *xq, const float *sx, int M,
    const struct sq_i8_packed *w, const float *bias, int lo, int hi)
{
	long ld = sq_i8_row_len(w->K);
	int m, n, k;

	for (m = 0; m < M; m++)
		for (n = lo; n < hi; n++) {
			const int8_t *block = w->w + (long)(n / SQ_I8_BLOCK) *
			    w->Kp * SQ_I8_BLOCK + n % SQ_I8_BLOCK * 4;
			int32_t sum = 0;
			float y;

			for (k = 0; k < w->K; k++)
				sum += (xq[m * ld + k] - 128) *
				    block[k / 4 * SQ_I8_BLOCK * 4 + k % 4];
			/* one rounding a statement: no compiler fuses these */
			y = (float)sum * sx[m];
			y = y * w->scale[n];
			if (bias != NULL)
				y = y + bias[n];
			out[(long)m * ldo + n] = y;
		}
}

#ifdef HAVE_VNNI_KERNEL
/*
 * Rows [0, mr) by nb blocks of columns from n0, the columns from hi on
 * left alone (mr, nb constants after inlining).
 */
VNNI static inline __attribute__((always_inline)) void
tile_avx512(float *out, int ldo, const uint8_t *xq, long ld, const float *sx,
    int mr, const struct sq_i8_packed *w, const float *bias, int n0, int nb,
    int hi)
{
	const int8_t *b0 = w->w + (long)(n0 / SQ_I8_BLOCK) * w->Kp *
	    SQ_I8_BLOCK;
	__m512i acc[TILE_ROWS][MAX_BLOCKS];
	int m, j, k;

	/* unrolled whole (mr, nb constants): the sums stay in registers */
#pragma GCC unroll 12
	for (m = 0; m < mr; m++)
#pragma GCC unroll 2
		for (j = 0; j < nb; j++)
			acc[m][j] = _mm512_setzero_si512();
	for (k = 0; k < w->Kp; k += 4) {
		__m512i wv[MAX_BLOCKS];

#pragma GCC unroll 2
		for (j = 0; j < nb; j++)
			wv[j] = _mm512_loadu_si512(b0 + ((long)j * w->Kp + k) *
			    SQ_I8_BLOCK);
#pragma GCC unroll 12
		for (m = 0; m < mr; m++) {
			int32_t four;
			__m512i a;

			memcpy(&four, xq + m * ld + k, 4);
			a = _mm512_set1_epi32(four);
#pragma GCC unroll 2
			for (j = 0; j < nb; j++)
				acc[m][j] = _mm512_dpbusd_epi32(acc[m][j], a,
				    wv[j]);
		}
	}
#pragma GCC unroll 2
	for (j = 0; j < nb; j++) {
		int n = n0 + j * SQ_I8_BLOCK, cols = hi - n;
		__mmask16 mask = cols >= SQ_I8_BLOCK ? 0xffff :
		    (__mmask16)((1u << cols) - 1);
		__m512i colsum = _mm512_loadu_si512(w->colsum + n);
		__m512 scale = _mm512_loadu_ps(w->scale + n);
		__m512 b = bias != NULL ? _mm512_maskz_loadu_ps(mask, bias + n) :
		    _mm512_setzero_ps();

#pragma GCC unroll 12
		for (m = 0; m < mr; m++) {
			__m512 y = _mm512_cvtepi32_ps(_mm512_sub_epi32(
			    acc[m][j], colsum));

			y = _mm512_mul_ps(y, _mm512_set1_ps(sx[m]));
			y = _mm512_mul_ps(y, scale);
			if (bias != NULL)
				y = _mm512_add_ps(y, b);
			_mm512_mask_storeu_ps(out + (long)m * ldo + n, mask, y);
		}
	}
}

/* nb blocks of columns from n0 by every row, in tiles */
VNNI static void
cols_avx512(float *out, int ldo, const uint8_t *xq, const float *sx, int M,
    const struct sq_i8_packed *w, const float *bias, int n0, int nb, int hi)
{
	long ld = sq_i8_row_len(w->K);
	int m = 0, mr;

#define TILE(r, b) tile_avx512(out + (long)m * ldo, ldo, xq + m * ld, ld, \
    sx + m, r, w, bias, n0, b, hi)
#define TILES(b) switch (mr) { \
	case TILE_ROWS: TILE(TILE_ROWS, b); break; \
	case 8: TILE(8, b); break; \
	case 4: TILE(4, b); break; \
	case 2: TILE(2, b); break; \
	default: TILE(1, b); break; \
	}
	for (; m < M; m += mr) {
		mr = M - m >= TILE_ROWS ? TILE_ROWS : M - m >= 8 ? 8 :
		    M - m >= 4 ? 4 : M - m >= 2 ? 2 : 1;
		if (nb == MAX_BLOCKS)
			TILES(MAX_BLOCKS)
		else
			TILES(1)
	}
#undef TILES
#undef TILE
}
#endif

void
sq_i8_gemm(float *out, int ldo, const uint8_t *xq, const float *sx, int M,
    const struct sq_i8_packed *w, const float *bias, int lo, int hi)
{
#ifdef HAVE_VNNI_KERNEL
	if (which_isa() == ISA_VNNI) {
		int n0, nb;

		for (n0 = lo; n0 < hi; n0 += nb * SQ_I8_BLOCK) {
			nb = hi - n0 > SQ_I8_BLOCK ? MAX_BLOCKS : 1;
			cols_avx512(out, ldo, xq, sx, M, w, bias, n0, nb, hi);
		}
		return;
	}
#endif
	if (which_isa() == ISA_AVXVNNI)
		sq_i8_gemm_vnni_avx2(out, ldo, xq, sx, M, w, bias, lo, hi);
	else if (which_isa() == ISA_AVX2)
		sq_i8_gemm_avx2(out, ldo, xq, sx, M, w, bias, lo, hi);
	else
		sq_i8_gemm_c(out, ldo, xq, sx, M, w, bias, lo, hi);
}
