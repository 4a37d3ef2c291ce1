/*
 * test_half: lib/nn/half.c.  Every half converts to a float and back to
 * itself; floats round to the nearest half, ties to even, checked against
 * the compiler's _Float16 where it has one (GCC on x86-64) and against
 * hand-worked values everywhere.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn/half.h"
#include "tap.h"

#ifdef __FLT16_MAX__
static float
bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}
#endif

int
main(void)
{
	static const struct {
		float f;
		uint16_t h;
	} known[] = {
		{0.0f, 0x0000}, {-0.0f, 0x8000}, {1.0f, 0x3c00}, {-2.0f, 0xc000},
		{65504.0f, 0x7bff}, {65520.0f, 0x7c00}, {1e6f, 0x7c00},
		{0x1p-24f, 0x0001}, {0x1p-25f, 0x0000}, {0x1.8p-25f, 0x0001},
		{0x1p-14f, 0x0400}, {1.0009765625f, 0x3c01},
		/* halfway between 1 and 1 + 2^-10: to even (1) */
		{1.00048828125f, 0x3c00},
		/* halfway between 1 + 2^-10 and 1 + 2^-9: to even (up) */
		{1.00146484375f, 0x3c02},
		{INFINITY, 0x7c00}, {-INFINITY, 0xfc00},
	};
	long bad = 0, n = 0;
	uint32_t u;
	int i;

	for (i = 0; i < 65536; i++) {
		float f = sq_half_to_float((uint16_t)i);

		if ((i & 0x7c00) == 0x7c00 && (i & 0x3ff))
			bad += !isnan(f);
		else
			bad += sq_float_to_half(f) != i;
	}
	ok(bad == 0, "every half to float and back to itself (NaNs stay NaN)");
	bad = 0;
	for (i = 0; i < (int)(sizeof(known) / sizeof(known[0])); i++)
		if (sq_float_to_half(known[i].f) != known[i].h) {
			printf("# %a: 0x%04x, expected 0x%04x\n", known[i].f,
			    sq_float_to_half(known[i].f), known[i].h);
			bad++;
		}
	ok(bad == 0, "hand-worked roundings: ties to even, overflow, "
	    "subnormals");
	ok(isnan(sq_half_to_float(sq_float_to_half(NAN))), "NaN stays NaN");
#ifdef __FLT16_MAX__
	bad = 0;
	/* every float from 2^-26 to 2^17, by steps of 2^-20 of the value */
	for (u = 0x32800000; u < 0x48000000; u += 7, n++) {
		_Float16 h = (_Float16)bits(u);
		uint16_t hb;

		memcpy(&hb, &h, sizeof(hb));
		bad += sq_float_to_half(bits(u)) != hb;
		bad += sq_float_to_half(-bits(u)) != (hb | 0x8000);
	}
	ok(bad == 0, "%ld floats round as _Float16 does", 2 * n);
#else
	(void)u;
	(void)n;
	ok(1, "# skip no _Float16 in this compiler");
#endif
	return tap_done();
}
