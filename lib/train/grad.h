/*
 * grad: the training kernels over float arrays, llm.c style: for each op
 * of the engine (lib/nn/ops.h) a forward that keeps what its backward
 * needs, and the backward; then the loss, dropout, and the optimizer.
 * Outputs first, then inputs, then sizes named by the dimension letters
 * of lib/nn/ops.c (M rows, K inner, N columns, D width, H heads, V
 * vocabulary, Tq queries, Tk keys).  Matrices are row-major, weights
 * [out, in] as in PyTorch.
 *
 * Gradients accumulate: every backward adds (+=) into its outputs, so
 * the gradients of a tied or shared weight add up, and the caller zeroes
 * them once per step.  The exceptions say so (sq_xent_forward_backward
 * and sq_dropout_backward write).
 *
 * Threads: a kernel given a pool (NULL: the caller alone) splits its work
 * into parts chosen from the sizes alone, never from the thread count,
 * and each output element (or partial sum) is computed by one part with
 * the same calls in the same order: the results are bit-identical for
 * any number of threads (tests/unit/test_grad.c checks 1, 2 and 3).
 *
 * Dropout everywhere is inverted dropout (PyTorch's): a kept element is
 * scaled by 1/(1-p).  Whether element i of a stream is kept is a pure
 * function of (seed, stream, i), see sq_dropout_keep(), so masks need not
 * be stored, and do not depend on the thread count or the call order.
 *
 * Nothing here allocates or fails; sizes are the caller's to check.
 */
#ifndef SQ_GRAD_H
#define SQ_GRAD_H

#include <stdint.h>

struct sq_pool;

/* ---- products ---- */

/*
 * Backward of sq_linear(), out (M, N) = inp (M, K) w (N, K)^T + bias:
 *   dinp (M, K) += dout (M, N) w (N, K)        (skipped if dinp is NULL)
 *   dw   (N, K) += dout^T (N, M) inp (M, K)    (skipped if dw is NULL)
 *   dbias (N)   += sum over rows of dout       (skipped if NULL)
 * Through cblas_sgemm, in blocks of rows of dinp and of dw whose size
 * depends on M and N alone; one block is one sgemm call on one thread.
 */
void sq_linear_backward(float *dinp, float *dw, float *dbias,
    const float *dout, const float *inp, const float *w, int M, int K,
    int N, struct sq_pool *pool);

/* ---- layer norm ---- */

/*
 * sq_layernorm() (the same output bits: it is called) that also keeps
 * mean (M) and rstd (M) = 1 / sqrt(var + eps) of each row of inp (M, D),
 * computed by the same expressions.  out may be inp, but the backward
 * needs inp.
 */
void sq_layernorm_forward_train(float *out, float *mean, float *rstd,
    const float *inp, const float *g, const float *b, int M, int D,
    float eps, struct sq_pool *pool);

/*
 * Backward of y = xhat * g + b, xhat = (x - mean) * rstd, per row:
 *   dinp (M, D) += rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat xhat)),
 *                  dxhat = dout * g
 *   dg (D) += sum over rows of dout * xhat,  db (D) += sum of dout
 * (column sums in double, row by row in order).
 */
void sq_layernorm_backward(float *dinp, float *dg, float *db,
    const float *dout, const float *inp, const float *mean,
    const float *rstd, const float *g, int M, int D, struct sq_pool *pool);

/* ---- activations ---- */

/*
 * x (n) = drop(act(pre (n))): sq_activate()'s activation (the same bits)
 * and then sq_dropout_forward()'s dropout (seed, stream), in one pass.
 */
void sq_activate_dropout(float *x, const float *pre, long n, int act,
    float p, uint64_t seed, uint64_t stream, struct sq_pool *pool);

/*
 * Its backward: dx (n) = drop(dy (n)) * act'(pre (n)), the dropout that
 * of sq_activate_dropout() with the same (p, seed, stream) (p <= 0:
 * none), and
 *   SQ_ACT_RELU  1 if pre > 0, else 0
 *   SQ_ACT_GELU  Phi(x) + x phi(x) = (1 + erf(x/sqrt2))/2 + x e^(-x^2/2)/sqrt(2 pi)
 *   SQ_ACT_SILU  s (1 + x (1 - s)),  s = 1 / (1 + e^-x)
 */
void sq_activate_backward(float *dx, const float *pre, const float *dy,
    long n, int act, float p, uint64_t seed, uint64_t stream,
    struct sq_pool *pool);

/* ---- dropout ---- */

/*
 * Whether element index of a stream is kept.  Its random bits: the
 * (index+1)-th output
 * of splitmix64 (Steele, Lea, Flood 2014) started from the state
 * fmix(fmix(seed) ^ stream), fmix being splitmix64's output function
 *   z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) *
 *   0x94D049BB133111EB; z ^= z >> 31
 * i.e. fmix(key + (index + 1) * 0x9E3779B97F4A7C15).  The element is kept
 * when its top 32 bits, read as u / 2^32, are >= p.
 */
int sq_dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, float p);

/*
 * dst[i] = src[i] keep / (1 - p) for i in [0, n), keep that of element
 * first + i of the stream (sq_dropout_keep()); dst may be src.  16
 * elements at a time.
 */
void sq_dropout_apply(float *dst, const float *src, long n, uint64_t first,
    float p, uint64_t seed, uint64_t stream);

/*
 * Where to draw a dropout mask: probability p (0 turns it off; p >= 1
 * drops everything), seed, and a stream telling apart the sites of one
 * step (layer, kind, sentence: the caller's numbering).
 */
struct sq_dropout {
	float p;
	uint64_t seed, stream;
};

/*
 * x (n) = x * keep_i / (1 - p), keep_i = sq_dropout_keep(seed, stream, i,
 * p).  mask (n), when not NULL, gets keep_i (the backward can also
 * recompute it).
 */
void sq_dropout_forward(float *x, uint8_t *mask, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool);

/*
 * In place on a gradient: d (n) = d * keep_i / (1 - p), the gradient of
 * the output on entry, of the input on return.  keep_i from mask, or
 * recomputed from (seed, stream) when mask is NULL.
 */
void sq_dropout_backward(float *d, const uint8_t *mask, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool);

/*
 * dst (n) = src * keep_i / (1 - p), the mask recomputed: a dropout, or
 * its backward, into another array in one pass.  p <= 0 copies.
 */
void sq_dropout_copy(float *dst, const float *src, long n, float p,
    uint64_t seed, uint64_t stream, struct sq_pool *pool);

/*
 * out (n) = x + y * keep_i / (1 - p): a residual connection around a
 * dropout, in one pass; out may be x.  p <= 0 only adds.
 */
void sq_dropout_add(float *out, const float *x, const float *y, long n,
    float p, uint64_t seed, uint64_t stream, struct sq_pool *pool);

/* ---- attention ---- */

/*
 * Multi-head attention of one sentence over whole sequences (teacher
 * forcing); without dropout, the bits of sq_attend() for each query:
 *   out (Tq, D) = concat over heads h of  P'_h V_h
 *   P_h (Tq, Tk) = softmax over keys of  Q_h K_h^T / sqrt(dh),  dh = D/H
 * with Q_h the columns [h dh, (h+1) dh) of q (Tq, D), K_h of k (Tk, D),
 * V_h of v (Tk, D).  causal: query i sees keys j <= i only (P is 0
 * beyond); window > 0: query i sees keys j with |i - j| <= window only
 * (the encoder's attention_window; 0: all).  P' = P, or with drop (not NULL, p > 0) dropout of P with
 * index (h Tq + i) Tk + j in its stream.  probs (H, Tq, Tk) keeps P
 * (before dropout).  scratch (H, Tq, Tk) is needed with dropout only
 * (may be NULL otherwise).  Tk == 0 gives out = 0.  Heads are split over
 * the pool.
 */
void sq_attention_forward(float *out, float *probs, float *scratch,
    const float *q, const float *k, const float *v, int Tq, int Tk, int D,
    int H, int causal, int window, const struct sq_dropout *drop,
    struct sq_pool *pool);

/*
 * Guided attention (Tachibana, Uenoyama and Aihara 2018, §4.1): a loss
 * term c sum over h, i, j of P_h[i,j] W[i,j] on attention probabilities P
 * (before dropout) whose alignment should be near the diagonal, with
 *   W[i,j] = 1 - exp(-(j/Tk - i/Tq)^2 / (2 g^2)),
 * about 0 on the diagonal and 1 far from it; g (the width) > 0.
 */
struct sq_guide {
	float c;	/* the term's coefficient */
	float g;	/* the width */
};

/*
 * sum over h, i, j of probs[h,i,j] W[i,j] for probs (H, Tq, Tk), in
 * double, row by row, key by key, head by head (c not applied).  0 when
 * Tq or Tk is 0.
 */
double sq_guide_penalty(const float *probs, int Tq, int Tk, int H, float g);

/*
 * Its backward, from dout (Tq, D) and the forward's probs, per head:
 *   dV_h += P'^T dO_h,  dP' = dO_h V_h^T,  dP = dP' * keep / (1 - p)
 *                                                 (+ dprobs),
 *   with guide (not NULL): dP += guide->c W (the guided-attention term),
 *   dS = P * (dP - rowsum(dP * P)),
 *   dQ_h += dS K_h / sqrt(dh),  dK_h += dS^T Q_h / sqrt(dh)
 * into dq (Tq, D), dk (Tk, D), dv (Tk, D) (+=).  scratch (H, Tq, Tk).
 * causal, window and drop as given to the forward.  dprobs (Tq, Tk), when
 * not NULL, is the gradient of a loss that reads P itself (before
 * dropout), added to every head's dP (the copy mechanism's, nn/copy.h).
 */
void sq_attention_backward(float *dq, float *dk, float *dv, float *scratch,
    const float *dout, const float *probs, const float *q, const float *k,
    const float *v, int Tq, int Tk, int D, int H, int causal, int window,
    const float *dprobs, const struct sq_dropout *drop,
    const struct sq_guide *guide, struct sq_pool *pool);

/* ---- loss ---- */

/*
 * Softmax cross-entropy with label smoothing eps, as PyTorch's
 * F.cross_entropy(z, y, label_smoothing=eps, reduction="sum"): for each
 * row m of logits (M, V) with target y = target[m] (M) in [0, V):
 *   logp = log_softmax(z)
 *   loss_m = -(1 - eps) logp[y] - (eps / V) sum_v logp[v]
 *   dlogits[m] = scale * (softmax(z) - (1 - eps) onehot(y) - eps / V)
 * Rows with a negative target (padding) are ignored: no loss, dlogits 0.
 * dlogits (M, V) is written, not accumulated, and may be logits itself
 * (the gradient then replaces them).  *loss_sum = the sum of loss_m in
 * double (unscaled); row_loss (M), unless NULL, gets each loss_m (0 for
 * an ignored row).  Returns the number of rows not ignored.
 */
int sq_xent_forward_backward(double *loss_sum, double *row_loss,
    float *dlogits, const float *logits, const int32_t *target, int M,
    int V, float eps, float scale, struct sq_pool *pool);

/* ---- embeddings ---- */

/*
 * Backward of sq_embed(), out[t] = scale E[ids[t]] + pe[t]:
 * dE[ids[t]] += scale * dout[t] for t in [0, n) in order (a repeated id
 * adds up in a fixed order; an id of -1, the zero start vector, has no
 * row and adds nothing), dout (n, D), dE (rows, D).
 */
void sq_embed_backward(float *dE, const float *dout, const int32_t *ids,
    float scale, int n, int D);

/* Learned positions: dP[first + t] += dout[t], dout (n, D), dP (P, D). */
void sq_positions_backward(float *dP, const float *dout, int first, int n,
    int D);

/* Backward of sq_mean_rows(): dx (n, D) += dout (D) / n on every row. */
void sq_mean_rows_backward(float *dx, const float *dout, int n, int D);

/* ---- the step ---- */

/*
 * The sum of x[i]^2 over x (n), in double: for the global norm of
 * gradient clipping.  Partial sums over blocks whose size depends on n
 * alone, added in order.
 */
double sq_sumsq(const float *x, long n, struct sq_pool *pool);

/* x (n) *= s, on the pool when n is large. */
void sq_scale(float *x, long n, float s, struct sq_pool *pool);

/* x (n) = 0, on the pool when n is large (a model's gradients). */
void sq_zero(float *x, long n, struct sq_pool *pool);

/*
 * One step of torch.optim.AdamW (torch 1.13's _single_tensor_adamw: its
 * operations in its order, rounded as its float kernels round, so the
 * same bits as torch on this machine) over p (n), its moments m (n), v
 * (n) and gradient g (n); step is the step number after this update (1
 * for the first):
 *   p *= 1 - lr wd
 *   m = m beta1 + (1 - beta1) g,  v = v beta2 + (1 - beta2) g g
 *   p -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps)
 * The hyperparameters are doubles, as torch's Python floats: pass the
 * options' doubles (a float 0.9 gives 1 - beta1 three ulps off torch's).
 */
void sq_adamw_step(float *p, float *m, float *v, const float *g, long n,
    double lr, double beta1, double beta2, double eps, double weight_decay,
    long step, struct sq_pool *pool);

#endif
