/*
 * copy: the pointer-generator's copy mechanism (See, Liu and Manning
 * 2017, "Get To The Point", §2.2), for a Transformer: the kernels the
 * decoder (nn/decoder) and training (train/graph) share, so that the
 * loss training computes is the score decoding gives.
 *
 * With config copy = 1 the distribution of the next target token is
 *   p(v) = s P_vocab(v) + (1 - s) C(v),  C(v) = sum over source positions
 *          j with src_j = v of a_j
 *   s    = sigmoid(w [z; c; x] + b)                  (p_gen)
 * where P_vocab is the usual softmax of the output projection, z (D) the
 * decoder's output at this position (after the final norm), c (D) the
 * last decoder layer's cross-attention context (the heads' outputs
 * concatenated, before out_proj), x (D) the decoder's input embedding
 * (embed_scale E[y] + PE[t]), w (1, 3D) and b (1) decoder.p_gen, and
 * a (S) the last layer's cross-attention weights averaged over its heads.
 * The source ids index the target vocabulary directly (shared_vocab):
 * with SentencePiece's byte fallback every source string has pieces of
 * that vocabulary, so no extended ids are needed.  An empty source (S =
 * 0) has nothing to copy: p = P_vocab.
 *
 * In log space, as the engine works: with lp = log P_vocab,
 *   log p(v) = lp(v) + log s                          if v is no src_j
 *   log p(v) = logaddexp(lp(v) + log s, log(1 - s) + log C(v))   else
 * (log s = -softplus(-g), log(1 - s) = -softplus(g), g the gate's logit),
 * computed in float in this order by both users.
 */
#ifndef SQ_COPY_H
#define SQ_COPY_H

#include <stdint.h>

/*
 * The gate's logits: gate (R) = w [z; c; x] + b for each row of z, c, x
 * (R, D) each; w (3D) = decoder.p_gen.weight, b (1).
 */
void sq_copy_gate(float *gate, const float *z, const float *c, const float *x,
    const float *w, const float *b, int R, int D);

/*
 * The copy attention of one query: a (S) = the mean over H heads of
 * probs, head h's S weights at probs + h * head_stride (summed in head
 * order, each divided by H).
 */
void sq_copy_attn(float *a, const float *probs, long head_stride, int H,
    int S);

/* log s and log(1 - s) of gate logit g, s = sigmoid(g). */
void sq_copy_log_gate(float g, float *log_s, float *log_1s);

/*
 * C(src[j]), the copy mass of the token at source position j: the sum
 * of a over the positions holding that token, in position order; -1 if
 * an earlier position holds it (each token counts once).
 */
float sq_copy_mass(const float *a, const int32_t *src, int S, int j);

/* log(e^gen + e^copy), gen finite, copy may be -inf. */
float sq_copy_join(float gen, float copy);

/*
 * The mixture of one row, in place: lp (V) holds log P_vocab on entry
 * and log p on return, for gate logit g, copy attention a (S) and
 * source ids src (S) (in [0, V)).  S = 0 leaves lp as it is.
 */
void sq_copy_mix(float *lp, float g, const float *a, const int32_t *src,
    int S, int V);

#endif
