/*
 * vec: the vector helpers of the float kernels (lib/nn/ops.c and the
 * training kernels of lib/train/), in one place so that training and
 * inference compute the same bits: dot products, sums and maxima with 16
 * partial lanes in an order that depends on n alone, and the vectorizable
 * exp and erf approximations.  Static inline: include it in a .c file
 * only; GCC and Clang vector extensions (16 floats: one AVX-512 register,
 * two AVX2 ones).
 */
#ifndef SQ_VEC_H
#define SQ_VEC_H

/* the vectors below never cross a non-static function: no ABI notes */
#pragma GCC diagnostic ignored "-Wpsabi"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/model.h"

/*
 * SQ_HOT marks the hot loops over these vectors.  The default build
 * targets baseline x86-64 (a binary built here runs anywhere), so GCC
 * compiles each SQ_HOT function three times, for x86-64-v4 (AVX-512),
 * x86-64-v3 (AVX2, FMA) and the baseline, and the dynamic loader binds
 * the variant the CPU supports when the program starts (function
 * multi-versioning: an ifunc).  The variants do the same operations in
 * the same order (ISO C mode contracts nothing into FMA; only explicit
 * fmaf() fuses), so every variant computes the same bits.  A build for
 * one CPU (./configure --native: __AVX2__ or more) needs no variants;
 * Clang 14 refuses these 64-byte vectors as arguments between functions
 * of different targets, so its builds (the fuzzing build) run the
 * baseline.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__AVX2__)
#define SQ_HOT __attribute__((target_clones("arch=x86-64-v4", \
    "arch=x86-64-v3", "default")))
#else
#define SQ_HOT
#endif

/*
 * exp(x) for x <= 88, vectorizable: x = k ln2 + r with |r| <= ln2/2
 * (Cody-Waite), exp(r) by Cephes' expf polynomial, 2^k by the exponent
 * bits.  Relative error about 2e-7; below -87 it returns about 1e-38.
 */
static inline float
fast_expf(float x)
{
	union { float f; int32_t i; } s;
	float k, r, p;

	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	k = rintf(x * 1.44269504088896341f);
	r = x - k * 0.693359375f;
	r = r + k * 2.12194440e-4f;
	p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	s.i = ((int32_t)k + 127) << 23;
	return p * s.f;
}

/*
 * Vectors of 16 floats (GCC and Clang vector extensions: one AVX-512
 * register, two AVX2 ones).  The reductions keep 16 partial sums in an
 * order that depends on n alone; a plain "s += x[i]" loop would stay
 * scalar without -ffast-math.
 */
#define LANES 16
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(LANES * sizeof(float))));

static inline vf
vload(const float *p)
{
	vf v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void
vstore(float *p, vf v)
{
	memcpy(p, &v, sizeof(v));
}

/* v[0] + ... + v[15], pairing lane l with l + 8, then + 4, + 2, + 1 */
static inline float
hsum(vf v)
{
	v += __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15,
	    0, 1, 2, 3, 4, 5, 6, 7);
	v += __builtin_shufflevector(v, v, 4, 5, 6, 7, 0, 1, 2, 3,
	    8, 9, 10, 11, 12, 13, 14, 15);
	v += __builtin_shufflevector(v, v, 2, 3, 0, 1, 4, 5, 6, 7,
	    8, 9, 10, 11, 12, 13, 14, 15);
	v += __builtin_shufflevector(v, v, 1, 0, 2, 3, 4, 5, 6, 7,
	    8, 9, 10, 11, 12, 13, 14, 15);
	return v[0];
}

static inline float
dot(const float *a, const float *b, int n)
{
	vf acc = { 0 };
	float t = 0.0f;
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		acc += vload(a + i) * vload(b + i);
	for (; i < n; i++)
		t += a[i] * b[i];
	return hsum(acc) + t;
}

static inline float
sum(const float *a, int n)
{
	vf acc = { 0 };
	float t = 0.0f;
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		acc += vload(a + i);
	for (; i < n; i++)
		t += a[i];
	return hsum(acc) + t;
}

/* sum of (a[i] - c)^2 */
static inline float
sqdev(const float *a, float c, int n)
{
	vf acc = { 0 }, d;
	float t = 0.0f;
	int i;

	for (i = 0; i + LANES <= n; i += LANES) {
		d = vload(a + i) - c;
		acc += d * d;
	}
	for (; i < n; i++)
		t += (a[i] - c) * (a[i] - c);
	return hsum(acc) + t;
}

/* a where m, else b (C has no ?: on vectors) */
static inline vf
vsel(vi m, vf a, vf b)
{
	return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* fast_expf() on 16 lanes, the same operations in the same order */
static inline vf
vexp(vf x)
{
	vf k, r, p, zero = { 0 };
	vi e;

	x = vsel(x < -87.0f, zero - 87.0f, x);
	x = vsel(x > 88.0f, zero + 88.0f, x);
	/* round to nearest even, as rintf(): add and remove 1.5 * 2^23 */
	k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	r = x - k * 0.693359375f;
	r = r + k * 2.12194440e-4f;
	p = r * 1.9875691500e-4f + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * r * r + r + 1.0f;
	e = (__builtin_convertvector(k, vi) + 127) << 23;
	return p * (vf)e;
}

/*
 * erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7),
 * odd-symmetric, with the exponential above.
 */
static inline float
fast_erff(float x)
{
	float a = fabsf(x), t, y;

	t = 1.0f / (1.0f + 0.3275911f * a);
	y = 1.061405429f;
	y = y * t - 1.453152027f;
	y = y * t + 1.421413741f;
	y = y * t - 0.284496736f;
	y = y * t + 0.254829592f;
	y = 1.0f - y * t * fast_expf(-a * a);
	return x < 0.0f ? -y : y;
}

/* fast_erff() on 16 lanes */
static inline vf
verf(vf x)
{
	vf a = vsel(x < 0.0f, -x, x), t, y;

	t = 1.0f / (1.0f + 0.3275911f * a);
	y = t * 1.061405429f - 1.453152027f;
	y = y * t + 1.421413741f;
	y = y * t - 0.284496736f;
	y = y * t + 0.254829592f;
	y = 1.0f - y * t * vexp(-a * a);
	return vsel(x < 0.0f, -y, y);
}

static inline float
maxf(const float *a, int n)
{
	float m = -INFINITY, h[LANES];
	vf acc, x;
	int i, j;

	if (n >= LANES) {
		acc = vload(a);
		for (i = LANES; i + LANES <= n; i += LANES) {
			x = vload(a + i);
			acc = vsel(x > acc, x, acc);
		}
		vstore(h, acc);
		for (j = 0; j < LANES; j++)
			m = h[j] > m ? h[j] : m;
	} else
		i = 0;
	for (; i < n; i++)
		m = a[i] > m ? a[i] : m;
	return m;
}

/* y += a x */
static inline void
axpy(float *y, float a, const float *x, int n)
{
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		vstore(y + i, vload(y + i) + a * vload(x + i));
	for (; i < n; i++)
		y[i] += a * x[i];
}

/* sum of exp(a[i] - c) */
static inline float
sumexp(const float *a, float c, int n)
{
	vf acc = { 0 };
	float t = 0.0f;
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		acc += vexp(vload(a + i) - c);
	for (; i < n; i++)
		t += fast_expf(a[i] - c);
	return hsum(acc) + t;
}

/* a[i] = exp(a[i] - c) */
static inline void
expsub(float *a, float c, int n)
{
	int i;

	for (i = 0; i + LANES <= n; i += LANES)
		vstore(a + i, vexp(vload(a + i) - c));
	for (; i < n; i++)
		a[i] = fast_expf(a[i] - c);
}

/*
 * One activation (enum sq_activation) on 16 lanes, and act1() on one
 * float: the same math, so a vector body and its scalar tail agree.
 */
static inline vf
vact(vf x, int act)
{
	vf zero = { 0 };

	switch (act) {
	case SQ_ACT_GELU:
		return 0.5f * x * (1.0f + verf(x * 0.70710678118654752f));
	case SQ_ACT_SILU:
		return x / (1.0f + vexp(-x));
	default:
		return vsel(x > 0.0f, x, zero);
	}
}

static inline float
act1(float x, int act)
{
	switch (act) {
	case SQ_ACT_GELU:
		return 0.5f * x * (1.0f + fast_erff(x * 0.70710678118654752f));
	case SQ_ACT_SILU:
		return x / (1.0f + fast_expf(-x));
	default:
		return x > 0.0f ? x : 0.0f;
	}
}

#endif
