/*
 * copy_grad: the copy mechanism's loss, gradient and gate backward (see
 * copy_grad.h).  The log-probabilities are nn/copy.c's, computed by its
 * functions in its order (lp + log s in float, then the join for source
 * tokens), so the loss is minus the score decode --score gives.
 *
 * One row: a pass over the source positions (their tokens' log p and q,
 * everything that needs lp before d overwrites it), one vectorized pass
 * over the vocabulary (P(u) times the common factor), then the source
 * tokens and the target fixed up.
 */
#include <math.h>

#include "nn/copy.h"
#include "nn/vec.h"
#include "train/copy_grad.h"

/* The first source position holding src[j]'s token. */
static int
first_of(const int32_t *src, int j)
{
	int t;

	for (t = 0; t < j && src[t] != src[j]; t++)
		;
	return t;
}

/* d (V) = e^lp * f - c, vectorized */
static void
scaled_probs(float *d, const float *lp, float f, float c, int V)
{
	int v;

	for (v = 0; v + LANES <= V; v += LANES)
		vstore(d + v, vexp(vload(lp + v)) * f - c);
	for (; v < V; v++)
		d[v] = fast_expf(lp[v]) * f - c;
}

double
sq_copy_xent_row(float *d, float *dgate, float *da, int32_t *amax,
    float *scratch, const float *lp, float g, const float *a,
    const int32_t *src, int S, int y, int V, float eps)
{
	float log_s, log_1s, base, f, q, c, w_v, py = fast_expf(lp[y]);
	float f_y, q_y = 1.0f, best_f = 0.0f, e = eps / V, wq;
	double sum_lp = sum(lp, V), adj = 0.0, miss = 0.0, loss;
	int j, v, y_src = 0;

	if (S == 0) {
		*dgate = 0.0f;
		loss = -(1.0 - eps) * lp[y] - (double)e * sum_lp;
		scaled_probs(d, lp, 1.0f, e, V);
		d[y] -= 1.0f - eps;
		return loss;
	}
	sq_copy_log_gate(g, &log_s, &log_1s);
	f_y = lp[y] + log_s;
	if (amax != NULL)
		best_f = lp[*amax] + log_s;
	for (j = 0; j < S; j++) {
		if ((c = sq_copy_mass(a, src, S, j)) < 0.0f) {
			da[j] = da[first_of(src, j)];
			continue;
		}
		v = src[j];
		base = lp[v] + log_s;
		f = sq_copy_join(base, log_1s + logf(c));
		q = expf(base - f);
		w_v = e + (v == y ? 1.0f - eps : 0.0f);
		da[j] = -w_v * expf(fminf(log_1s - f, 80.0f));
		adj += (double)f - base;
		miss += 1.0 - q;
		if (v == y)
			f_y = f, q_y = q, y_src = 1;
		if (amax != NULL && (f > best_f || (f == best_f &&
		    v < *amax)))
			*amax = v, best_f = f;
		scratch[2 * j] = fast_expf(lp[v]);
		scratch[2 * j + 1] = q;
	}
	loss = -(1.0 - eps) * f_y - (double)e * (sum_lp + (double)V * log_s +
	    adj);
	wq = (float)(e * (V - miss) + (1.0 - eps) * q_y);
	*dgate = expf(log_s) - wq;
	scaled_probs(d, lp, wq, e, V);
	for (j = 0; j < S; j++)
		if (first_of(src, j) == j) {
			v = src[j];
			w_v = e + (v == y ? 1.0f - eps : 0.0f);
			d[v] = scratch[2 * j] * wq - w_v * scratch[2 * j + 1];
		}
	if (!y_src)
		d[y] = py * wq - e - (1.0f - eps);
	return loss;
}

void
sq_copy_gate_backward(float *dz, float *dc, float *dx, float *dw,
    float *db, const float *dgate, const float *z, const float *c,
    const float *x, const float *w, int R, int D)
{
	for (int r = 0; r < R; r++) {
		long o = (long)r * D;
		float dg = dgate[r];

		axpy(dz + o, dg, w, D);
		axpy(dc + o, dg, w + D, D);
		axpy(dx + o, dg, w + 2 * D, D);
		axpy(dw, dg, z + o, D);
		axpy(dw + D, dg, c + o, D);
		axpy(dw + 2 * D, dg, x + o, D);
		db[0] += dg;
	}
}
