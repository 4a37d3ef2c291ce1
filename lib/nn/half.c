/*
 * half: binary16 <-> binary32 on bit patterns (see half.h).  binary16 has
 * 1 sign bit, 5 exponent bits (bias 15) and 10 fraction bits; binary32 1,
 * 8 (bias 127) and 23.
 */
#include <string.h>

#include "nn/half.h"

static float
from_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

float
sq_half_to_float(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, frac = h & 0x3ff;

	if (exp == 0x1f)		/* infinity or NaN */
		return from_bits(sign | 0x7f800000 | frac << 13);
	if (exp == 0) {			/* zero or subnormal: frac * 2^-24 */
		float f = (float)frac * 0x1p-24f;

		return sign ? -f : f;
	}
	return from_bits(sign | (exp + 127 - 15) << 23 | frac << 13);
}

uint16_t
sq_float_to_half(float f)
{
	uint32_t u, sign, exp, frac, half, rest;
	int e;

	memcpy(&u, &f, sizeof(u));
	sign = (u >> 16) & 0x8000;
	exp = (u >> 23) & 0xff;
	frac = u & 0x7fffff;
	if (exp == 0xff)		/* infinity, or a quiet NaN */
		return (uint16_t)(sign | 0x7c00 | (frac ? 0x200 | frac >> 13 : 0));
	e = (int)exp - 127 + 15;
	if (e >= 0x1f)			/* too large: infinity */
		return (uint16_t)(sign | 0x7c00);
	if (e <= 0) {			/* subnormal or zero in half */
		if (e < -10)
			return (uint16_t)sign;
		frac |= 0x800000;	/* the implicit bit */
		half = frac >> (14 - e);
		rest = frac & ((1u << (14 - e)) - 1);
		if (rest > 1u << (13 - e) || (rest == 1u << (13 - e) &&
		    (half & 1)))
			half++;
		return (uint16_t)(sign | half);
	}
	half = (uint32_t)e << 10 | frac >> 13;
	rest = frac & 0x1fff;
	/* ties to even; a carry into the exponent is still right */
	if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
		half++;
	return (uint16_t)(sign | half);
}
