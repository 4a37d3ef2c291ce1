/*
 * i8linear: int8 products for the engine (see i8linear.h).
 */
#include <stdint.h>
#include <stdlib.h>

#include "nn/i8gemm.h"
#include "nn/i8linear.h"
#include "nn/model.h"
#include "nn/packed.h"
#include "base/pool.h"
#include "base/util.h"

struct job {
	float *out;
	const uint8_t *xq;
	const float *sx, *bias;
	const struct sq_i8_packed *w;
	int M;
};

static void
part(void *arg, int i, int n)
{
	struct job *j = arg;
	int lo, hi;

	sq_pool_share(j->w->N, SQ_I8_BLOCK, i, n, &lo, &hi);
	if (lo < hi)
		sq_i8_gemm(j->out, j->w->N, j->xq, j->sx, j->M, j->w, j->bias,
		    lo, hi);
}

void
sq_i8_linear(float *out, const float *inp, const struct sq_mat *w,
    const float *bias, int M, int K, int N, struct sq_pool *pool,
    int parts)
{
	struct sq_i8_packed own;
	struct job j = { out, NULL, NULL, bias, NULL, M };
	uint8_t *xq;
	float *sx;

	if (M <= 0 || N <= 0)
		return;
	xq = sq_reallocarray(NULL, M, sq_i8_row_len(K));
	sx = sq_reallocarray(NULL, M, sizeof(float));
	sq_i8_quantize(xq, sx, inp, M, K);
	if (w->packed != NULL)
		j.w = sq_packed_i8(w, N, K);
	else {
		sq_packed_i8_make(&own, w, N, K);
		j.w = &own;
	}
	j.xq = xq;
	j.sx = sx;
	if (parts > 1)
		sq_pool_run_parts(pool, part, &j, parts);
	else
		sq_i8_gemm(out, N, xq, sx, M, j.w, bias, 0, N);
	if (j.w == &own)
		sq_i8_free(&own);
	free(xq);
	free(sx);
}
