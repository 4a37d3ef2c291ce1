/*
 * attn_grad: multi-head attention over whole sequences for training (see
 * grad.h), forward and backward, one sentence at a time (teacher forcing:
 * every query at once).  The forward is sq_attend()'s arithmetic,
 * operation for operation (lib/nn/vec.h's dot, maxf, fast exp, sum, a
 * multiply by the inverse of the sum, then axpy over the keys in order),
 * so without dropout it gives the very bits decoding gives: the loss
 * training computes is the score inference gives.  The backward's
 * products are cblas_sgemm calls on column slices of q, k, v and dout
 * (row stride D).
 *
 * The guided-attention term (grad.h) adds to dP before the softmax's
 * backward, so its gradient flows through P as the loss's does.
 *
 * Memory: probs (H, Tq, Tk) is kept for the backward; the forward needs
 * scratch of the same shape only for dropout (P must be kept apart from
 * the dropped P'), the backward always (for dP).  The heads are
 * independent: each writes its own column slice of out, dq, dk, dv and
 * its own (Tq, Tk) planes, so splitting them over threads changes no bit.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cblas.h>

#include "nn/vec.h"
#include "train/grad.h"
#include "base/pool.h"
#include "base/util.h"

/* Below this many multiply-adds the heads stay on the calling thread. */
#define SPLIT_MIN_MACS (1L << 20)

struct attn_job {
	float *out, *probs, *scratch;		/* forward */
	float *dq, *dk, *dv;			/* backward */
	const float *dout, *q, *k, *v;
	int Tq, Tk, D, H, causal, window;
	const float *dprobs;			/* (Tq, Tk) or NULL */
	const struct sq_dropout *drop;		/* NULL: none */
	const struct sq_guide *guide;		/* NULL: none */
};

/* The keys [*lo, hi) seen by query i; returns hi. */
static inline int
keys(const struct attn_job *j, int i, int *lo)
{
	int hi = j->causal ? SQ_MIN(i + 1, j->Tk) : j->Tk;

	*lo = 0;
	if (j->window > 0) {
		*lo = SQ_MIN(SQ_MAX(0, i - j->window), hi);
		hi = SQ_MIN(hi, i + j->window + 1);
	}
	return hi;
}

static inline int
dropping(const struct sq_dropout *drop)
{
	return drop != NULL && drop->p > 0.0f;
}

/* W[i,j] of a (Tq, Tk) map (grad.h), in float (expf) */
static float
guide_weight(int i, int j, int Tq, int Tk, float g)
{
	float d = (float)j / (float)Tk - (float)i / (float)Tq;

	return 1.0f - expf(-d * d / (2.0f * g * g));
}

/* dst (Tq, Tk) = src * keep / (1 - p), element (h Tq + i) Tk + j */
static void
drop_plane(float *dst, const float *src, const struct attn_job *j, int h)
{
	long n = (long)j->Tq * j->Tk;

	sq_dropout_apply(dst, src, n, (uint64_t)(h * n), j->drop->p,
	    j->drop->seed, j->drop->stream);
}

SQ_HOT static void
forward_head(struct attn_job *j, int h)
{
	int Tq = j->Tq, Tk = j->Tk, D = j->D, dh = D / j->H, i, t, n, lo;
	long plane = (long)Tq * Tk;
	float *P = j->probs + h * plane;	/* (Tq, Tk) */
	float *Pd = P;				/* P', what multiplies V */
	float scale = 1.0f / sqrtf((float)dh), mx, s;

	if (Tk == 0) {
		for (i = 0; i < Tq; i++)
			memset(j->out + (long)i * D + h * dh, 0,
			    dh * sizeof(float));
		return;
	}
	for (i = 0; i < Tq; i++) {
		const float *qi = j->q + (long)i * D + h * dh;	/* (dh) */
		float *p = P + (long)i * Tk;			/* (Tk) */

		/*
		 * S = Q_h K_h^T / sqrt(dh), then softmax over keys [lo, n):
		 * as sq_attend() over those keys
		 */
		n = keys(j, i, &lo);
		memset(p, 0, (size_t)lo * sizeof(float));
		for (t = lo; t < n; t++)
			p[t] = dot(qi, j->k + (long)t * D + h * dh, dh) * scale;
		mx = maxf(p + lo, n - lo);
		expsub(p + lo, mx, n - lo);
		s = sum(p + lo, n - lo);
		s = n > lo ? 1.0f / s : 0.0f;
		for (t = lo; t < n; t++)
			p[t] *= s;
		memset(p + n, 0, (size_t)(Tk - n) * sizeof(float));
	}
	if (dropping(j->drop)) {
		Pd = j->scratch + h * plane;
		drop_plane(Pd, P, j, h);
	}
	/* O_h = P' V_h, row by row in key order, as sq_attend() */
	for (i = 0; i < Tq; i++) {
		float *oi = j->out + (long)i * D + h * dh;	/* (dh) */

		n = keys(j, i, &lo);
		memset(oi, 0, dh * sizeof(float));
		for (t = lo; t < n; t++)
			axpy(oi, Pd[(long)i * Tk + t], j->v + (long)t * D + h * dh,
			    dh);
	}
}

SQ_HOT static void
backward_head(struct attn_job *j, int h)
{
	int Tq = j->Tq, Tk = j->Tk, D = j->D, dh = D / j->H, i, t, n, lo;
	long plane = (long)Tq * Tk;
	const float *P = j->probs + h * plane;	/* (Tq, Tk) */
	float *G = j->scratch + h * plane;	/* (Tq, Tk) */
	float scale = 1.0f / sqrtf((float)dh);

	if (Tk == 0 || Tq == 0)
		return;
	/* dV_h += P'^T dO_h: (Tk, Tq) (Tq, dh) */
	if (dropping(j->drop))
		drop_plane(G, P, j, h);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, dh, Tq, 1.0f,
	    dropping(j->drop) ? G : P, Tk, j->dout + h * dh, D, 1.0f,
	    j->dv + h * dh, D);
	/* dP' = dO_h V_h^T: (Tq, dh) (dh, Tk); then dP = dP' keep / (1-p) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Tq, Tk, dh, 1.0f,
	    j->dout + h * dh, D, j->v + h * dh, D, 0.0f, G, Tk);
	if (dropping(j->drop))
		drop_plane(G, G, j, h);
	if (j->dprobs != NULL)	/* a loss that reads P itself */
		for (i = 0; i < Tq; i++)
			for (t = 0; t < Tk; t++)
				G[(long)i * Tk + t] += j->dprobs[(long)i * Tk + t];
	/* dS = P (dP - rowsum(dP P)); P is 0 outside the keys a query sees */
	for (i = 0; i < Tq; i++) {
		const float *p = P + (long)i * Tk;	/* (Tk) */
		float *g = G + (long)i * Tk;		/* (Tk) */
		float r;

		n = keys(j, i, &lo);
		if (j->guide != NULL)
			for (t = lo; t < n; t++)
				g[t] += j->guide->c * guide_weight(i, t, Tq,
				    Tk, j->guide->g);
		r = dot(g + lo, p + lo, n - lo);
		memset(g, 0, (size_t)lo * sizeof(float));
		for (t = lo; t < n; t++)
			g[t] = p[t] * (g[t] - r);
		memset(g + n, 0, (size_t)(Tk - n) * sizeof(float));
	}
	/* dQ_h += dS K_h / sqrt(dh): (Tq, Tk) (Tk, dh) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Tq, dh, Tk,
	    scale, G, Tk, j->k + h * dh, D, 1.0f, j->dq + h * dh, D);
	/* dK_h += dS^T Q_h / sqrt(dh): (Tk, Tq) (Tq, dh) */
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Tk, dh, Tq,
	    scale, G, Tk, j->q + h * dh, D, 1.0f, j->dk + h * dh, D);
}

static void
forward_part(void *arg, int i, int n)
{
	(void)n;
	forward_head(arg, i);
}

static void
backward_part(void *arg, int i, int n)
{
	(void)n;
	backward_head(arg, i);
}

/* one part per head, on the pool when there is enough work */
static void
run_heads(struct sq_pool *pool, struct attn_job *j,
    void (*fn)(void *, int, int))
{
	int h;

	if ((long)j->Tq * j->Tk * j->D >= SPLIT_MIN_MACS && j->H > 1 &&
	    sq_pool_threads(pool) > 1)
		sq_pool_run_parts(pool, fn, j, j->H);
	else
		for (h = 0; h < j->H; h++)
			fn(j, h, j->H);
}

void
sq_attention_forward(float *out, float *probs, float *scratch,
    const float *q, const float *k, const float *v, int Tq, int Tk, int D,
    int H, int causal, int window, const struct sq_dropout *drop,
    struct sq_pool *pool)
{
	struct attn_job j = { out, probs, scratch, NULL, NULL, NULL, NULL, q,
		k, v, Tq, Tk, D, H, causal, window, NULL, drop, NULL };

	if (Tq <= 0)
		return;
	run_heads(pool, &j, forward_part);
}

void
sq_attention_backward(float *dq, float *dk, float *dv, float *scratch,
    const float *dout, const float *probs, const float *q, const float *k,
    const float *v, int Tq, int Tk, int D, int H, int causal, int window,
    const float *dprobs, const struct sq_dropout *drop,
    const struct sq_guide *guide, struct sq_pool *pool)
{
	struct attn_job j = { NULL, (float *)probs, scratch, dq, dk, dv, dout,
		q, k, v, Tq, Tk, D, H, causal, window, dprobs, drop, guide };

	if (Tq <= 0 || Tk <= 0)
		return;
	run_heads(pool, &j, backward_part);
}

double
sq_guide_penalty(const float *probs, int Tq, int Tk, int H, float g)
{
	long plane = (long)Tq * Tk;
	double sum = 0;
	int h, i, t;

	/* W once per (i, j), for every head */
	for (i = 0; i < Tq; i++)
		for (t = 0; t < Tk; t++) {
			double w = guide_weight(i, t, Tq, Tk, g);

			for (h = 0; h < H; h++)
				sum += w * probs[h * plane + (long)i * Tk + t];
		}
	return sum;
}
