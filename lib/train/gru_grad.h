/*
 * gru_grad: the backward of nn/gru.h's layer, backpropagation through
 * time over packed sentences.  With the forward's saved r, z, n and
 * hn = W_hn h + b_hn of each row, and dh the gradient of a row's state
 * (its own output's plus what the next step sends back):
 *   dn = dh (1 - z)             dz = dh (h_prev - n)
 *   da_n = dn (1 - n^2)         dr = da_n hn
 *   da_r = dr r (1 - r)         da_z = dz z (1 - z)
 *   d(W_ih x + b_ih) = [da_r, da_z, da_n]
 *   d(W_hh h_prev + b_hh) = [da_r, da_z, da_n r] =: g
 *   d h_prev = dh z + g W_hh,   dW_hh += g^T h_prev,  db_hh += g
 * The input projection's own backward (W_ih, b_ih, x) is the caller's:
 * one sq_linear_backward() over every row of the layer.
 */
#ifndef SQ_GRU_GRAD_H
#define SQ_GRU_GRAD_H

struct sq_gru;
struct sq_gru_seq;
struct sq_pool;

/*
 * Backward of sq_gru_layer() with the same out, ld, saved, h0, w, H,
 * reverse and s: from dout (R, ld), the gradient of the states the layer
 * wrote (read only), writes dxp (R, 3H), the gradient of its xp; adds
 * into dw_hh (3H, H) and db_hh (3H), and into dh0 (n, H) the gradient of
 * the first states when dh0 is not NULL.  scratch holds (n + 4 R) H
 * floats, R the rows of s.
 * The products run on pool, blocked by the sizes alone.
 */
void sq_gru_layer_backward(float *dxp, float *dh0, float *dw_hh,
    float *db_hh, const float *dout, long ld, const float *out,
    const float *saved, const float *h0, const struct sq_gru *w, int H,
    int reverse, const struct sq_gru_seq *s, float *scratch,
    struct sq_pool *pool);

#endif
