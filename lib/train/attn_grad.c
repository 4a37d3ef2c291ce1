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
	int Tq, Tk, D, H, causal;
	const struct sq_dropout *drop;		/* NULL: none */
};

/* keys seen by query i */
static inline int
n_keys(const struct attn_job *j, int i)
{
	return j->causal ? SQ_MIN(i + 1, j->Tk) : j->Tk;
}

static inline int
dropping(const struct sq_dropout *drop)
{
	return drop != NULL && drop->p > 0.0f;
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
	int Tq = j->Tq, Tk = j->Tk, D = j->D, dh = D / j->H, i, t, n;
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

		/* S = Q_h K_h^T / sqrt(dh), then softmax: as sq_attend() */
		n = n_keys(j, i);
		for (t = 0; t < n; t++)
			p[t] = dot(qi, j->k + (long)t * D + h * dh, dh) * scale;
		mx = maxf(p, n);
		expsub(p, mx, n);
		s = sum(p, n);
		s = n > 0 ? 1.0f / s : 0.0f;
		for (t = 0; t < n; t++)
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

		n = n_keys(j, i);
		memset(oi, 0, dh * sizeof(float));
		for (t = 0; t < n; t++)
			axpy(oi, Pd[(long)i * Tk + t], j->v + (long)t * D + h * dh,
			    dh);
	}
}

SQ_HOT static void
backward_head(struct attn_job *j, int h)
{
	int Tq = j->Tq, Tk = j->Tk, D = j->D, dh = D / j->H, i, t, n;
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
	/* dS = P (dP - rowsum(dP P)); P is 0 past the keys a query sees */
	for (i = 0; i < Tq; i++) {
		const float *p = P + (long)i * Tk;	/* (Tk) */
		float *g = G + (long)i * Tk;		/* (Tk) */
		float r;

		n = n_keys(j, i);
		r = dot(g, p, n);
		for (t = 0; t < n; t++)
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
    int H, int causal, const struct sq_dropout *drop, struct sq_pool *pool)
{
	struct attn_job j = { out, probs, scratch, NULL, NULL, NULL, NULL, q,
		k, v, Tq, Tk, D, H, causal, drop };

	if (Tq <= 0)
		return;
	run_heads(pool, &j, forward_part);
}

void
sq_attention_backward(float *dq, float *dk, float *dv, float *scratch,
    const float *dout, const float *probs, const float *q, const float *k,
    const float *v, int Tq, int Tk, int D, int H, int causal,
    const struct sq_dropout *drop, struct sq_pool *pool)
{
	struct attn_job j = { NULL, (float *)probs, scratch, dq, dk, dv, dout,
		q, k, v, Tq, Tk, D, H, causal, drop };

	if (Tq <= 0 || Tk <= 0)
		return;
	run_heads(pool, &j, backward_part);
}
