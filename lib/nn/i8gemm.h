/*
 * i8gemm: products of int8 weights by int8 activations, with exact
 * integer sums (the step toward int8 arithmetic in the engine, issue 8:
 * today's int8 products widen the weights to float32 and run at float32's
 * speed at batch 32).
 *
 * The activations are quantized a row at a time as the weights are
 * (nn/quant.h: scale = max |x| / 127, q = x / scale rounded to nearest,
 * ties to even), and a product is
 *     out[m, n] = (float)(sum_k qx[m, k] qw[n, k]) * sx[m] * sw[n] + b[n]
 * in that order, each step rounded to float32, the sum an exact int32.
 * So the bits of a result depend on its own row and column only: not on
 * the number of rows, the column split, the threads or the kernel.  The
 * kernels: AVX-512 VNNI (vpdpbusd, u8 x s8: the activations are stored
 * plus 128 and the weights' column sums take the 128 back out, exactly),
 * AVX-VNNI (the same on 256 bits) and AVX2 (nn/i8gemm_avx2.h), and
 * plain C, which all give the same bits.
 */
#ifndef SQ_I8GEMM_H
#define SQ_I8GEMM_H

#include <stdint.h>

/* the columns of a packed block: one AVX-512 register of int32 sums */
#define SQ_I8_BLOCK 16

/*
 * Weights (N, K) packed for the kernels: K rounded up to a multiple of 4
 * (Kp) and N to a multiple of SQ_I8_BLOCK (Np); block b of SQ_I8_BLOCK
 * rows holds, for each group of 4 k, the 4 bytes of each row in turn (64
 * bytes, the layout vpdpbusd multiplies).  What the padding holds does
 * not change a result: padded columns are never written, and padded k
 * meet activations of 0.  A model file may store the bytes so
 * (seqpipe-model.5), to be mapped instead of packed.
 */
struct sq_i8_packed {
	int N, K, Kp;
	const int8_t *w;	/* (Np / SQ_I8_BLOCK, Kp / 4, SQ_I8_BLOCK, 4) */
	int32_t *colsum;	/* (Np): 128 times the sum of row n's weights */
	float *scale;		/* (Np): the rows' scales, 0 in the padding */
	size_t mapped;		/* bytes at w mapped by sq_i8_pack(), else 0 */
};

/* "AVX-512 VNNI", "AVX-VNNI", "AVX2" or "C": the kernels this CPU runs. */
const char *sq_i8_isa(void);

/* The bytes of w for (N, K), Np times Kp. */
long sq_i8_packed_len(int N, int K);

/*
 * dims = the shape of those bytes as a model file stores them (its
 * loader and its writer): (Np / SQ_I8_BLOCK, Kp / 4, SQ_I8_BLOCK, 4).
 */
void sq_i8_packed_shape(long dims[4], long N, long K);

/* dst (sq_i8_packed_len(N, K) bytes) = q (N, K) packed, padding zero. */
void sq_i8_pack_bytes(int8_t *dst, const int8_t *q, int N, int K);

/* Row r of the packed bytes of an (N, K) matrix into q (K). */
void sq_i8_unpack_row(int8_t *q, const int8_t *bytes, int K, long r);

/*
 * Row r of the packed bytes of an (N, K) matrix as floats, scale times
 * each int8 (a row of an embedding table stored packed).
 */
void sq_i8_dequantize_row(float *out, const int8_t *bytes, float scale,
    int K, long r);

/*
 * p = q (N, K) with a scale per row (nn/quant.h's layout), packed into
 * memory of its own; or, by sq_i8_wrap(), over bytes the caller keeps
 * (packed: a mapped model file's).  The caller frees either with
 * sq_i8_free().  Dies if out of memory.
 */
void sq_i8_pack(struct sq_i8_packed *p, const int8_t *q, const float *scale,
    int N, int K);
void sq_i8_wrap(struct sq_i8_packed *p, const int8_t *packed,
    const float *scale, int N, int K);
void sq_i8_free(struct sq_i8_packed *p);

/* The bytes of one quantized activation row for weights of K columns. */
long sq_i8_row_len(int K);

/*
 * xq (M, sq_i8_row_len(K)) and sx (M): the rows of x (M, K) quantized,
 * stored plus 128 (u8).  A row holding a NaN or an infinity gets the
 * scale NaN, so its products are NaN as a float32 product's would be.
 */
void sq_i8_quantize(uint8_t *xq, float *sx, const float *x, int M, int K);

/*
 * out (M, ldo) columns [lo, hi) = the quantized rows (xq, sx) times rows
 * [lo, hi) of w transposed, plus bias (w->N) when not NULL, as defined
 * above.  lo is a multiple of SQ_I8_BLOCK; hi is one too, or w->N.
 */
void sq_i8_gemm(float *out, int ldo, const uint8_t *xq, const float *sx,
    int M, const struct sq_i8_packed *w, const float *bias, int lo, int hi);

/*
 * The plain C kernels that sq_i8_quantize() and sq_i8_gemm() run without
 * VNNI, callable on any CPU so that the tests hold both to the same bits.
 */
void sq_i8_quantize_c(uint8_t *xq, float *sx, const float *x, int M, int K);
void sq_i8_gemm_c(float *out, int ldo, const uint8_t *xq, const float *sx,
    int M, const struct sq_i8_packed *w, const float *bias, int lo, int hi);

#endif
