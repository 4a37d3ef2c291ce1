/*
 * i8ref: the int8 product by its definition (nn/i8gemm.h), one sum at a
 * time, for the unit tests that hold the kernels and the engine to it.
 */
#ifndef SQ_I8REF_H
#define SQ_I8REF_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn/quant.h"
#include "base/util.h"

/*
 * out (M, N) = x (M, K) times q (N, K, int8, scales sw) transposed, plus
 * bias (N) when not NULL: each row of x quantized as a weight row is
 * (NaN scale for a row holding a NaN or an infinity), the sums exact,
 * then three float32 roundings in order.
 */
static inline void
i8_reference(float *out, const float *x, const int8_t *q, const float *sw,
    const float *bias, int M, int K, int N)
{
	int8_t *qx = sq_calloc(K, 1);
	float sx, y;
	int m, n, k;

	for (m = 0; m < M; m++) {
		if (sq_quantize_row(qx, &sx, x + (long)m * K, K) < 0)
			sx = NAN;
		for (n = 0; n < N; n++) {
			int64_t sum = 0;

			for (k = 0; k < K; k++)
				sum += qx[k] * q[(long)n * K + k];
			y = (float)sum * sx;
			y = y * sw[n];
			if (bias != NULL)
				y = y + bias[n];
			out[(long)m * N + n] = y;
		}
	}
	free(qx);
}

#endif
