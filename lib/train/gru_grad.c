/*
 * gru_grad: backpropagation through time of a GRU layer (see
 * gru_grad.h).  The steps run backwards; at step t the sentences longer
 * than t are the first B of the walk's order, so the gradient each sends
 * to its state before, carry[j], stays at its index j from one step to
 * the next.  Workload: per step two products of the B active rows by
 * W_hh (3H, H), as the forward's one.
 */
#include <string.h>

#include "nn/gru.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "train/grad.h"
#include "train/gru_grad.h"

/* The state row j read at step t: the row before, h0's, or zeros. */
static const float *
state_before(const float *out, long ld, const float *h0,
    const struct sq_gru_seq *s, int j, int t, int reverse, int H)
{
	if (t > 0)
		return out + sq_gru_seq_row(s, j, t - 1, reverse) * ld;
	return h0 != NULL ? h0 + (long)s->order[j] * H : NULL;
}

void
sq_gru_layer_backward(float *dxp, float *dh0, float *dw_hh,
    float *db_hh, const float *dout, long ld, const float *out,
    const float *saved, const float *h0, const struct sq_gru *w, int H,
    int reverse, const struct sq_gru_seq *s, float *scratch,
    struct sq_pool *pool)
{
	long nH = (long)s->n * H, R = s->first[s->n] - s->first[0], q = R;
	float *carry = scratch;		/* (n, H) d(state) from step t + 1 */
	float *prev = scratch + nH;	/* (R, H) the states before, and */
	float *g = prev + R * H;	/* (R, 3H) d(W_hh h + b_hh), both in
					   the order the steps visit the rows */
	int t, j, k, B;

	memset(carry, 0, (size_t)nH * sizeof(float));
	for (t = s->max_len - 1; t >= 0; t--) {
		B = sq_gru_seq_active(s, t);
		q -= B;		/* this step's rows: [q, q + B) */
		for (j = 0; j < B; j++) {
			long row = sq_gru_seq_row(s, j, t, reverse);
			const float *sv = saved + row * 4 * H;	/* r z n hn */
			const float *hp = state_before(out, ld, h0, s, j, t,
			    reverse, H);
			const float *dy = dout + row * ld;
			float *c = carry + (long)j * H, *pj = prev + (q + j) * H;
			float *dx = dxp + row * 3 * H, *gj = g + (q + j) * 3 * H;

			for (k = 0; k < H; k++) {
				float r = sv[k], z = sv[H + k], n = sv[2 * H + k];
				float hk = hp != NULL ? hp[k] : 0.0f;
				float dh = dy[k] + c[k];
				float dan = dh * (1.0f - z) * (1.0f - n * n);
				float dz = dh * (hk - n) * z * (1.0f - z);
				float dr = dan * sv[3 * H + k] * r * (1.0f - r);

				dx[k] = gj[k] = dr;
				dx[H + k] = gj[H + k] = dz;
				dx[2 * H + k] = dan;
				gj[2 * H + k] = dan * r;
				c[k] = dh * z;
				pj[k] = hk;
			}
		}
		/* carry += g W_hh */
		sq_linear_backward(carry, NULL, NULL, g + q * 3 * H, prev + q * H,
		    w->w_hh, B, H, 3 * H, pool);
	}
	/* dW_hh += g^T prev, db_hh += g: one product over every row */
	sq_linear_backward(NULL, dw_hh, db_hh, g, prev, w->w_hh, (int)R, H,
	    3 * H, pool);
	for (j = 0; dh0 != NULL && j < s->n; j++)
		sq_add(dh0 + (long)s->order[j] * H, carry + (long)j * H, H);
}
