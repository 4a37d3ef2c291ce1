/*
 * quant: int8 and F16 rows (see quant.h).  Load-time work, once per
 * weight: plain loops.
 */
#include <math.h>

#include "nn/half.h"
#include "nn/quant.h"

int
sq_quantize_row(int8_t *q, float *scale, const float *w, long n)
{
	float amax = 0.0f, inv;
	long i;

	for (i = 0; i < n; i++) {
		if (!isfinite(w[i]))
			return -1;
		amax = fmaxf(amax, fabsf(w[i]));
	}
	*scale = amax / 127.0f;
	inv = amax > 0.0f ? 127.0f / amax : 0.0f;
	for (i = 0; i < n; i++) {
		/* |w| inv <= 127 up to rounding: clamp what rounds over */
		float r = rintf(w[i] * inv);

		q[i] = (int8_t)fmaxf(-127.0f, fminf(127.0f, r));
	}
	return 0;
}

void
sq_dequantize_row(float *w, const int8_t *q, float scale, long n)
{
	long i;

	for (i = 0; i < n; i++)
		w[i] = scale * q[i];
}

int
sq_half_row(uint16_t *h, const float *w, long n)
{
	long i;

	for (i = 0; i < n; i++) {
		if (isfinite(w[i]) && fabsf(w[i]) > 65504.0f)
			return -1;
		h[i] = sq_float_to_half(w[i]);
	}
	return 0;
}

void
sq_widen_row(float *w, const uint16_t *h, long n)
{
	long i;

	for (i = 0; i < n; i++)
		w[i] = sq_half_to_float(h[i]);
}
