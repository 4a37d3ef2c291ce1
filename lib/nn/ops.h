/*
 * ops: the kernels of the Transformer over float arrays, llm.c style:
 * outputs first, then inputs, then sizes named by the dimension letters
 * defined once in ops.c.  Each fast kernel has a readable float32
 * reference beside it (sq_*_ref), which tests/unit/test_ops.c compares it
 * with.  Matrices are row-major; weights are [out, in] as in PyTorch.
 *
 * Nothing here allocates or fails; sizes are the caller's to check.
 */
#ifndef SQ_OPS_H
#define SQ_OPS_H

#include <stdint.h>

struct sq_config;
struct sq_linear;
struct sq_mat;
struct sq_norm;
struct sq_pool;

/*
 * Once per process, before any product: OpenBLAS is told to use one
 * thread (our pool splits the work instead, and never spins while idle).
 * Safe to call many times, from any thread.
 */
void sq_ops_init(void);
/* The OpenBLAS kernel set in use ("SkylakeX", "Haswell", ...). */
const char *sq_ops_blas_core(void);

/*
 * out (M, N) = inp (M, K) times w (N, K) transposed, plus bias (N) when
 * bias is not NULL: nn.Linear.  One row runs as a matrix-vector product.
 * With a pool, a product big enough to gain is split over its threads by
 * output columns.  An output element's last bits depend on M and on the
 * column slice that computes it (OpenBLAS sums in an order set by its
 * tiles, and the one-row and few-row paths have their own), so batch
 * size and thread count change them: within 5e-5 relative end to end,
 * as seqpipe(7) documents and tests/invariance.bats checks.
 */
void sq_linear(float *out, const float *inp, const float *w,
    const float *bias, int M, int K, int N, struct sq_pool *pool);
void sq_linear_ref(float *out, const float *inp, const float *w,
    const float *bias, int M, int K, int N);

/*
 * sq_linear() by a weight matrix in any dtype (struct sq_mat, nn/model.h):
 * float32 is sq_linear() itself; F16 and int8 are nn/qgemm.h's kernels,
 * split over the pool alike.
 */
void sq_linear_mat(float *out, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int N, struct sq_pool *pool);
/* sq_linear_mat() by a linear layer's engine weights and bias. */
void sq_linear_layer(float *out, const float *inp, const struct sq_linear *L,
    int M, int K, int N, struct sq_pool *pool);

/*
 * out (M, D) = LayerNorm(inp) with gain g (D), bias b (D), epsilon eps;
 * out may be inp.  The element-wise kernels below split their rows over
 * the pool (NULL: the caller) when there are enough of them.
 */
void sq_layernorm(float *out, const float *inp, const float *g,
    const float *b, int M, int D, float eps, struct sq_pool *pool);
void sq_layernorm_ref(float *out, const float *inp, const float *g,
    const float *b, int M, int D, float eps);

/* x (n) += y (n): a residual connection, and its backward. */
void sq_add(float *x, const float *y, long n);

/*
 * The residual connection around a sublayer f, for the encoder and the
 * decoder alike (model.h): pre-norm computes x + f(LN(x)), post-norm
 * LN(x + f(x)).  sq_sublayer_in() returns f's input: LN(x) written to h
 * for pre-norm, x itself for post-norm.  sq_sublayer_out() adds f's
 * output o to x and, for post-norm, normalises x in place.  x, h and o
 * are (M, D) with D = c->d_model; nm is the sublayer's norm.
 */
const float *sq_sublayer_in(float *h, const float *x, const struct sq_norm *nm,
    const struct sq_config *c, int M, struct sq_pool *pool);
void sq_sublayer_out(float *x, const float *o, const struct sq_norm *nm,
    const struct sq_config *c, int M, struct sq_pool *pool);

/* x (M, N) = act(x): SQ_ACT_RELU, SQ_ACT_GELU (erf form), SQ_ACT_SILU. */
void sq_activate(float *x, int M, int N, int act, struct sq_pool *pool);
void sq_activate_ref(float *x, long n, int act);

/* x (M, V): each row replaced by its log-softmax. */
void sq_logsoftmax(float *x, int M, int V, struct sq_pool *pool);
void sq_logsoftmax_ref(float *x, int M, int V);

/*
 * out (M) = the index of the largest of each row of x (M, V), the first
 * one on ties (0 for V == 0): greedy search's choice, the monotonic
 * cross-attention's focus, and the greedy prediction for
 * scheduled sampling in training (call it there before
 * sq_xent_forward_backward() overwrites the logits).
 */
void sq_argmax(int32_t *out, const float *x, int M, int V,
    struct sq_pool *pool);

/*
 * Multi-head attention of one query over n keys (n >= 0):
 *   out (D) = concat over heads h of  sum_t p[h,t] v_t[h]
 *   p[h,:] = softmax_t(q[h] . k_t[h] / sqrt(dh)),  dh = D / H
 * Key and value t are the rows k + cell[t] and v + cell[t] (cell holds
 * offsets in floats), so callers gather cached or shared rows without
 * copying.  probs (H, n) receives p when not NULL.  n == 0 gives out = 0.
 * scratch needs H n floats when probs is NULL.
 */
void sq_attend(float *out, float *probs, float *scratch, const float *q,
    const float *k, const float *v, const long *cell, int n, int D, int H);
void sq_attend_ref(float *out, float *probs, const float *q,
    const float *k, const float *v, const long *cell, int n, int D, int H);

/* out (D) = the mean of the n rows of x (n, D); 0 for n == 0. */
void sq_mean_rows(float *out, const float *x, int n, int D);

/*
 * Position encodings of positions [first, first + n) into out (n, D):
 * rows of learned (P, D) for SQ_POS_LEARNED, else sinusoids computed in
 * double and rounded: SQ_POS_SIN_INTERLEAVED (the paper: sin at 2i, cos at
 * 2i+1, frequency 10000^(-2i/D)) or SQ_POS_SIN_HALF (tensor2tensor,
 * fairseq, Marian: sin in [0, D/2), cos after, frequency
 * exp(-i ln(10000)/(D/2-1))) or SQ_POS_SIN_HALF_HF (that layout, the
 * paper's frequencies: Hugging Face's Marian).  The caller keeps
 * first + n <= P.
 */
void sq_positions(float *out, int first, int n, int D, int kind,
    const float *learned);

/*
 * Embedding: out (n, D) = scale * E[ids[t]] + pe (n, D), pe NULL for no
 * positions (arch rnn); an id of -1 embeds as the zero vector (out = pe:
 * a decoder that starts from zero, decoder_start_id -1).  The other ids
 * are the caller's to check against E's rows.
 */
void sq_embed(float *out, const float *E, const int32_t *ids,
    const float *pe, float scale, int n, int D);
/* sq_embed() from a table in any dtype: its rows widened to float32. */
void sq_embed_mat(float *out, const struct sq_mat *E, const int32_t *ids,
    const float *pe, float scale, int n, int D);

#endif
