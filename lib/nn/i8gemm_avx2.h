/*
 * i8gemm_avx2: the kernels of nn/i8gemm.h for AVX2 CPUs without VNNI,
 * the same bits as the plain C ones: the activations' q (the stored
 * u8 less 128) and the weights widened to int16, vpmaddwd's pairs of
 * products summed exactly in int32.  For i8gemm.c and the tests.
 */
#ifndef SQ_I8GEMM_AVX2_H
#define SQ_I8GEMM_AVX2_H

#include <stdint.h>

struct sq_i8_packed;

/* Whether this CPU runs them (AVX2), and the AVX-VNNI product. */
int sq_i8_avx2_available(void);
int sq_i8_avxvnni_available(void);

/* sq_i8_quantize() and sq_i8_gemm() (nn/i8gemm.h) on AVX2. */
void sq_i8_quantize_avx2(uint8_t *xq, float *sx, const float *x, int M,
    int K);
void sq_i8_gemm_avx2(float *out, int ldo, const uint8_t *xq,
    const float *sx, int M, const struct sq_i8_packed *w, const float *bias,
    int lo, int hi);

/*
 * sq_i8_gemm() with AVX-VNNI's 256-bit vpdpbusd: the same bits, about
 * twice the AVX2 kernel's speed (on CPUs without AVX-512 VNNI: the
 * activations quantized by sq_i8_quantize_avx2()).
 */
void sq_i8_gemm_vnni_avx2(float *out, int ldo, const uint8_t *xq,
    const float *sx, int M, const struct sq_i8_packed *w, const float *bias,
    int lo, int hi);

#endif
