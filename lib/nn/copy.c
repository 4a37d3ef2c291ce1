/*
 * copy: the pointer-generator's kernels (see copy.h).  Scalar code over
 * one row at a time: per decoding step they cost O(S^2 + V) against the
 * output projection's D V multiply-adds, so they never show.
 *
 * A source token's mass is summed over its positions in position order
 * (O(S^2) compares, no scratch), so the decoder and training, which call
 * the same functions on the same weights, get the same bits.
 */
#include <math.h>

#include "nn/copy.h"
#include "nn/vec.h"

void
sq_copy_gate(float *gate, const float *z, const float *c, const float *x,
    const float *w, const float *b, int R, int D)
{
	for (int r = 0; r < R; r++) {
		long o = (long)r * D;

		gate[r] = dot(z + o, w, D) + dot(c + o, w + D, D) +
		    dot(x + o, w + 2 * D, D) + b[0];
	}
}

void
sq_copy_attn(float *a, const float *probs, long head_stride, int H, int S)
{
	for (int j = 0; j < S; j++) {
		float acc = 0.0f;

		for (int h = 0; h < H; h++)
			acc += probs[h * head_stride + j] / H;
		a[j] = acc;
	}
}

/* log(1 + e^x) without overflow */
static float
softplus(float x)
{
	return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
}

void
sq_copy_log_gate(float g, float *log_s, float *log_1s)
{
	*log_s = -softplus(-g);
	*log_1s = -softplus(g);
}

float
sq_copy_mass(const float *a, const int32_t *src, int S, int j)
{
	float c = 0.0f;
	int t;

	for (t = 0; t < j; t++)
		if (src[t] == src[j])
			return -1.0f;
	for (t = j; t < S; t++)
		if (src[t] == src[j])
			c += a[t];
	return c;
}

float
sq_copy_join(float gen, float copy)
{
	float hi = gen > copy ? gen : copy, lo = gen > copy ? copy : gen;

	if (lo == -INFINITY)
		return hi;
	return hi + log1pf(expf(lo - hi));
}

void
sq_copy_mix(float *lp, float g, const float *a, const int32_t *src, int S,
    int V)
{
	float log_s, log_1s, c;
	int v, j;

	if (S == 0)
		return;
	sq_copy_log_gate(g, &log_s, &log_1s);
	for (v = 0; v < V; v++)
		lp[v] += log_s;
	for (j = 0; j < S; j++)
		if ((c = sq_copy_mass(a, src, S, j)) >= 0.0f)
			lp[src[j]] = sq_copy_join(lp[src[j]], log_1s + logf(c));
}
