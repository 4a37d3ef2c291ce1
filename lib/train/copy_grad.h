/*
 * copy_grad: the training side of the copy mechanism (nn/copy.h): the
 * loss of one scored position under the mixture and its gradient, and
 * the gate's backward.  Conventions are train/grad.h's.
 *
 * With p(v) = s P(v) + (1 - s) C(v) (nn/copy.h), P = softmax(z), s =
 * sigmoid(g), the label-smoothed loss L = -sum_v w_v log p(v), w_v =
 * (1 - eps) [v = y] + eps / V, and q_v = s P(v) / p(v) (the share of p(v)
 * the vocabulary gives; 1 for a token no source position holds):
 *   dL/dz_u = P(u) sum_v w_v q_v - w_u q_u
 *   dL/dg   = s - sum_v w_v q_v
 *   dL/da_j = -w_{src_j} (1 - s) / p(src_j)
 * The first is bounded as softmax cross-entropy's; the last is computed
 * as -w exp(log(1 - s) - log p) with the exponent held at 80 at most
 * (only an attention weight below ~1e-35 could ask for more, and what
 * the softmax backward makes of it, P dP, is bounded by 1).
 */
#ifndef SQ_COPY_GRAD_H
#define SQ_COPY_GRAD_H

#include <stdint.h>

/*
 * One scored position: lp (V) the log-softmax of the vocabulary logits,
 * g the gate's logit, a (S) the copy attention, src (S) the source ids,
 * y the target, eps the label smoothing.  Writes d (V) = dL/dz (d may be
 * lp: lp is read first), *dgate and da (S) = dL/da, and, if amax is not
 * NULL, turns *amax, the arg-max of lp (the first on ties), into the
 * arg-max of p (the smaller id on ties).  scratch holds 2 S floats.
 * With S = 0 (nothing to copy) p = P: softmax cross-entropy, dgate 0.
 * Returns L.
 */
double sq_copy_xent_row(float *d, float *dgate, float *da, int32_t *amax,
    float *scratch, const float *lp, float g, const float *a,
    const int32_t *src, int S, int y, int V, float eps);

/*
 * Backward of sq_copy_gate(), gate = w [z; c; x] + b over R rows of D:
 * dz, dc, dx (R, D) += dgate w_z, dgate w_c, dgate w_x (w's thirds);
 * dw (3D) += sum over rows of dgate [z; c; x], db (1) += sum of dgate,
 * row by row in order.
 */
void sq_copy_gate_backward(float *dz, float *dc, float *dx, float *dw,
    float *db, const float *dgate, const float *z, const float *c,
    const float *x, const float *w, int R, int D);

#endif
