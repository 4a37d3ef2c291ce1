/*
 * i8linear: sq_linear_mat() (nn/ops.h) for int8 weights, by int8
 * activations (nn/i8gemm.h): the input rows quantized once, the weights
 * packed at their first product (nn/packed.h; a matrix without a slot
 * for its packed copy, packed for this product alone), the columns split
 * over the pool.  The bits of a result depend on its row and column only.
 */
#ifndef SQ_I8LINEAR_H
#define SQ_I8LINEAR_H

struct sq_mat;
struct sq_pool;

/*
 * out (M, N) = inp (M, K) times w (N, K, int8) transposed, plus bias (N)
 * when not NULL, in parts column slices over pool (1: this thread).
 */
void sq_i8_linear(float *out, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int N, struct sq_pool *pool,
    int parts);

#endif
