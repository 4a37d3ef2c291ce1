/*
 * i8gemm_avx2: int8 products on AVX2 (see i8gemm_avx2.h).  vpmaddubsw
 * would take the u8 activations as they are stored, but it saturates its
 * int16 pair sums (255 x 127 x 2 > 32767): so both sides are widened to
 * int16 and vpmaddwd sums each pair into int32, exactly.  Where the CPU
 * has AVX-VNNI, vpdpbusd does it in one step (below).
 */
#include <math.h>
#include <string.h>

#include "nn/i8gemm.h"
#include "nn/i8gemm_avx2.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

int
sq_i8_avx2_available(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2");
}

/* the largest |x| of 8 lanes */
AVX2 static float
max8_avx2(__m256 v)
{
	__m128 m = _mm_max_ps(_mm256_castps256_ps128(v),
	    _mm256_extractf128_ps(v, 1));

	m = _mm_max_ps(m, _mm_movehl_ps(m, m));
	m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
	return _mm_cvtss_f32(m);
}

/*
 * One row as sq_i8_quantize_c() gives it, 8 at a time, the last K % 8
 * with the same operations one at a time.
 */
AVX2 static void
quantize_row_avx2(uint8_t *row, float *sx, const float *x, int K, long ld)
{
	const __m256 sign = _mm256_set1_ps(-0.0f);
	const __m256 inf = _mm256_set1_ps(INFINITY);
	__m256 amax = _mm256_setzero_ps(), bad = _mm256_setzero_ps(), inv;
	int K8 = K - K % 8, k, fail = 0;
	float a, s;

	for (k = 0; k < K8; k += 8) {
		__m256 v = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + k));

		bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));
		amax = _mm256_max_ps(amax, v);
	}
	a = max8_avx2(amax);
	for (; k < K; k++) {
		fail |= !isfinite(x[k]);
		a = fmaxf(a, fabsf(x[k]));
	}
	if (fail || _mm256_movemask_ps(bad)) {
		memset(row, 128, ld);
		*sx = NAN;
		return;
	}
	*sx = a / 127.0f;
	s = a > 0.0f ? 127.0f / a : 0.0f;
	inv = _mm256_set1_ps(s);
	for (k = 0; k < K8; k += 8) {
		__m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + k),
		    inv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
		__m256i q;
		__m128i w;

		r = _mm256_max_ps(_mm256_set1_ps(-127.0f),
		    _mm256_min_ps(_mm256_set1_ps(127.0f), r));
		q = _mm256_add_epi32(_mm256_cvtps_epi32(r),
		    _mm256_set1_epi32(128));
		/* 8 int32 in [1, 255] to 8 bytes */
		w = _mm_packus_epi32(_mm256_castsi256_si128(q),
		    _mm256_extracti128_si256(q, 1));
		w = _mm_packus_epi16(w, w);
		_mm_storel_epi64((__m128i *)(row + k), w);
	}
	for (; k < K; k++) {
		float r = rintf(x[k] * s);

		row[k] = (uint8_t)((int)fmaxf(-127.0f, fminf(127.0f, r)) + 128);
	}
	for (; k < ld; k++)
		row[k] = 128;
}

void
sq_i8_quantize_avx2(uint8_t *xq, float *sx, const float *x, int M, int K)
{
	long ld = sq_i8_row_len(K);

	for (int m = 0; m < M; m++)
		quantize_row_avx2(xq + m * ld, &sx[m], x + (long)m * K, K, ld);
}

/*
 * mr (1 or 2, a constant after inlining) rows by the block of columns
 * from n0, the columns from hi on left alone.  acc[r][g] holds the pair
 * sums of columns 4g to 4g + 3 of row r, two lanes a column.
 */
AVX2 static inline __attribute__((always_inline)) void
block_avx2(float *out, int ldo, const uint8_t *xq, long ld, const float *sx,
    int mr, const struct sq_i8_packed *w, const float *bias, int n0, int hi)
{
	const int8_t *b = w->w + (long)(n0 / SQ_I8_BLOCK) * w->Kp *
	    SQ_I8_BLOCK;
	const __m256i off = _mm256_set1_epi16(128);
	const __m256i order = _mm256_setr_epi32(0, 1, 4, 5, 2, 3, 6, 7);
	__m256i acc[2][4];
	int r, g, k;

#pragma GCC unroll 2
	for (r = 0; r < mr; r++)
#pragma GCC unroll 4
		for (g = 0; g < 4; g++)
			acc[r][g] = _mm256_setzero_si256();
	for (k = 0; k < w->Kp; k += 4) {
		__m256i wv[4];

#pragma GCC unroll 4
		for (g = 0; g < 4; g++)
			wv[g] = _mm256_cvtepi8_epi16(_mm_loadu_si128(
			    (const __m128i *)(b + (long)k * SQ_I8_BLOCK +
			    16 * g)));
#pragma GCC unroll 2
		for (r = 0; r < mr; r++) {
			int32_t four;
			__m256i xv;

			memcpy(&four, xq + r * ld + k, 4);
			xv = _mm256_sub_epi16(_mm256_cvtepu8_epi16(
			    _mm_set1_epi32(four)), off);
#pragma GCC unroll 4
			for (g = 0; g < 4; g++)
				acc[r][g] = _mm256_add_epi32(acc[r][g],
				    _mm256_madd_epi16(wv[g], xv));
		}
	}
#pragma GCC unroll 2
	for (r = 0; r < mr; r++)
#pragma GCC unroll 2
		for (g = 0; g < 4; g += 2) {
			int n = n0 + 4 * g, c;
			/* the pairs summed: columns 4g .. 4g + 7 in order */
			__m256i sum = _mm256_permutevar8x32_epi32(
			    _mm256_hadd_epi32(acc[r][g], acc[r][g + 1]), order);
			__m256 y = _mm256_cvtepi32_ps(sum);
			float v[8];

			y = _mm256_mul_ps(y, _mm256_set1_ps(sx[r]));
			y = _mm256_mul_ps(y, _mm256_loadu_ps(w->scale + n));
			_mm256_storeu_ps(v, y);
			for (c = 0; c < 8 && n + c < hi; c++)
				out[(long)r * ldo + n + c] = bias != NULL ?
				    v[c] + bias[n + c] : v[c];
		}
}

AVX2 void
sq_i8_gemm_avx2(float *out, int ldo, const uint8_t *xq, const float *sx,
    int M, const struct sq_i8_packed *w, const float *bias, int lo, int hi)
{
	long ld = sq_i8_row_len(w->K);
	int n0, m;

	for (n0 = lo; n0 < hi; n0 += SQ_I8_BLOCK) {
		for (m = 0; m + 2 <= M; m += 2)
			block_avx2(out + (long)m * ldo, ldo, xq + m * ld, ld,
			    sx + m, 2, w, bias, n0, hi);
		if (m < M)
			block_avx2(out + (long)m * ldo, ldo, xq + m * ld, ld,
			    sx + m, 1, w, bias, n0, hi);
	}
}

/*
 * AVX-VNNI: vpdpbusd on 256 bits (Intel's cores since Alder Lake, with or
 * without AVX-512), u8 activations as stored by s8 weights, the weights'
 * column sums taking the 128 back out, exactly, as the AVX-512 VNNI
 * kernel does (nn/i8gemm.c).  Half a block of columns a register.
 */
#define VNNI256 __attribute__((target("avx2,avxvnni")))
/* rows a tile: 2 sums a row, 12 of the 16 registers */
#define VNNI_ROWS 6

int
sq_i8_avxvnni_available(void)
{
	unsigned a, b, c, d;

	/* CPUID leaf 7, subleaf 1, EAX bit 4 */
	return sq_i8_avx2_available() && __get_cpuid_count(7, 1, &a, &b, &c,
	    &d) && (a & (1u << 4));
}

/*
 * mr rows (a constant after inlining) by the block of columns from n0,
 * the columns from hi on left alone.
 */
VNNI256 static inline __attribute__((always_inline)) void
tile_vnni_avx2(float *out, int ldo, const uint8_t *xq, long ld,
    const float *sx, int mr, const struct sq_i8_packed *w, const float *bias,
    int n0, int hi)
{
	const int8_t *b = w->w + (long)(n0 / SQ_I8_BLOCK) * w->Kp *
	    SQ_I8_BLOCK;
	__m256i acc[VNNI_ROWS][2];
	int r, h, k;

#pragma GCC unroll 6
	for (r = 0; r < mr; r++)
		acc[r][0] = acc[r][1] = _mm256_setzero_si256();
	for (k = 0; k < w->Kp; k += 4) {
		__m256i w0 = _mm256_loadu_si256((const __m256i *)(const void *)
		    (b + (long)k * SQ_I8_BLOCK));
		__m256i w1 = _mm256_loadu_si256((const __m256i *)(const void *)
		    (b + (long)k * SQ_I8_BLOCK + 32));

#pragma GCC unroll 6
		for (r = 0; r < mr; r++) {
			int32_t four;
			__m256i a;

			memcpy(&four, xq + r * ld + k, 4);
			a = _mm256_set1_epi32(four);
			acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], a, w0);
			acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], a, w1);
		}
	}
#pragma GCC unroll 2
	for (h = 0; h < 2; h++) {
		int n = n0 + 8 * h, c;
		__m256i colsum = _mm256_loadu_si256((const __m256i *)(const void *)
		    (w->colsum + n));
		__m256 scale = _mm256_loadu_ps(w->scale + n);

		if (n >= hi)
			break;
#pragma GCC unroll 6
		for (r = 0; r < mr; r++) {
			__m256 y = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][h],
			    colsum));
			float v[8];

			y = _mm256_mul_ps(y, _mm256_set1_ps(sx[r]));
			y = _mm256_mul_ps(y, scale);
			_mm256_storeu_ps(v, y);
			for (c = 0; c < 8 && n + c < hi; c++)
				out[(long)r * ldo + n + c] = bias != NULL ?
				    v[c] + bias[n + c] : v[c];
		}
	}
}

VNNI256 void
sq_i8_gemm_vnni_avx2(float *out, int ldo, const uint8_t *xq,
    const float *sx, int M, const struct sq_i8_packed *w, const float *bias,
    int lo, int hi)
{
	long ld = sq_i8_row_len(w->K);
	int n0, m, mr;

#define TILE(r) tile_vnni_avx2(out + (long)m * ldo, ldo, xq + m * ld, ld, \
    sx + m, r, w, bias, n0, hi)
	for (n0 = lo; n0 < hi; n0 += SQ_I8_BLOCK)
		for (m = 0; m < M; m += mr) {
			mr = M - m >= VNNI_ROWS ? VNNI_ROWS : M - m >= 4 ? 4 :
			    M - m >= 2 ? 2 : 1;
			switch (mr) {
			case VNNI_ROWS: TILE(VNNI_ROWS); break;
			case 4: TILE(4); break;
			case 2: TILE(2); break;
			default: TILE(1); break;
			}
		}
#undef TILE
}
#else
int
sq_i8_avx2_available(void)
{
	return 0;
}

int
sq_i8_avxvnni_available(void)
{
	return 0;
}
#endif
