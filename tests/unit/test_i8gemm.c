/*
 * test_i8gemm: int8 weights by int8 activations (lib/nn/i8gemm.c)
 * against the definition in i8gemm.h, computed here from the unpacked
 * weights: each row of x quantized by sq_quantize_row(), the sums in
 * 64-bit integers, then the three float32 roundings in order.  The
 * results must be those bits, from the kernel this CPU runs and from the
 * plain C one, for shapes that leave every row, column and K tail, for
 * column slices, and for the sums' extremes.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/i8gemm.h"
#include "nn/i8gemm_avx2.h"
#include "nn/quant.h"
#include "base/util.h"
#include "i8ref.h"
#include "tap.h"

struct problem {
	int M, N, K;
	int8_t *q;		/* (N, K) weights */
	float *sw, *x, *bias;	/* (N), (M, K), (N) */
	struct sq_i8_packed p;
};

static void
make_problem(struct problem *t, int M, int N, int K, int extreme)
{
	long i;

	t->M = M, t->N = N, t->K = K;
	t->q = sq_calloc((size_t)N * K, 1);
	t->sw = sq_calloc(N, sizeof(float));
	t->x = sq_calloc((size_t)M * K, sizeof(float));
	t->bias = sq_calloc(N, sizeof(float));
	for (i = 0; i < (long)N * K; i++)
		t->q[i] = extreme ? (i % 2 ? -127 : 127) :
		    (int8_t)lrintf(tap_urand() * 127.0f);
	for (i = 0; i < N; i++) {
		t->sw[i] = (tap_urand() + 1.5f) * 0.01f;
		t->bias[i] = tap_urand();
	}
	for (i = 0; i < (long)M * K; i++)
		t->x[i] = extreme ? (i % 2 ? -3.0f : 3.0f) : tap_urand() * 4.0f;
	sq_i8_pack(&t->p, t->q, t->sw, N, K);
}

static void
free_problem(struct problem *t)
{
	sq_i8_free(&t->p);
	free(t->q);
	free(t->sw);
	free(t->x);
	free(t->bias);
}

/* out (M, N): the definition, from the unpacked weights */
static void
reference(float *out, const struct problem *t, int with_bias)
{
	i8_reference(out, t->x, t->q, t->sw, with_bias ? t->bias : NULL,
	    t->M, t->K, t->N);
}

typedef void quantize_fn(uint8_t *, float *, const float *, int, int);
typedef void gemm_fn(float *, int, const uint8_t *, const float *, int,
    const struct sq_i8_packed *, const float *, int, int);

static int
always(void)
{
	return 1;
}

/* the kernels this CPU runs, and each set that it can run */
struct kernels {
	const char *name;
	quantize_fn *quantize;
	gemm_fn *gemm;
	int (*available)(void);
} cpu = { NULL, sq_i8_quantize, sq_i8_gemm, always };
static const struct kernels sets[] = {
	{ "C", sq_i8_quantize_c, sq_i8_gemm_c, always },
	{ "AVX2", sq_i8_quantize_avx2, sq_i8_gemm_avx2, sq_i8_avx2_available },
	{ "AVX-VNNI", sq_i8_quantize_avx2, sq_i8_gemm_vnni_avx2,
	    sq_i8_avxvnni_available },
};
#define N_SETS (int)(sizeof(sets) / sizeof(sets[0]))

/* whether kernel's out over columns [lo, hi) is the reference's there and
   leaves the other columns' sentinel alone */
static int
same_bits(const struct kernels *kernel, const struct problem *t, int with_bias, int lo,
    int hi)
{
	long len = sq_i8_row_len(t->K), i;
	uint8_t *xq = sq_calloc((size_t)t->M * len, 1);
	float *sx = sq_calloc(t->M, sizeof(float));
	float *ref = sq_calloc((size_t)t->M * t->N, sizeof(float));
	float *out = sq_calloc((size_t)t->M * t->N, sizeof(float));
	int good = 1;

	reference(ref, t, with_bias);
	kernel->quantize(xq, sx, t->x, t->M, t->K);
	for (i = 0; i < (long)t->M * t->N; i++)
		out[i] = -12345.0f;
	kernel->gemm(out, t->N, xq, sx, t->M, &t->p, with_bias ? t->bias : NULL,
	    lo, hi);
	for (i = 0; i < (long)t->M * t->N; i++) {
		int n = i % t->N;
		float want = n >= lo && n < hi ? ref[i] : -12345.0f;

		if (memcmp(&out[i], &want, sizeof(float)) != 0 &&
		    !(isnan(out[i]) && isnan(want))) {
			if (good)
				printf("# row %ld col %d: %.9g, want %.9g\n",
				    i / t->N, n, out[i], want);
			good = 0;
		}
	}
	free(xq);
	free(sx);
	free(ref);
	free(out);
	return good;
}

/* same_bits() for every set this CPU can run */
static int
every_set(const struct problem *t, int with_bias, int lo, int hi)
{
	int good = 1;

	for (int i = 0; i < N_SETS; i++)
		if (sets[i].available())
			good &= same_bits(&sets[i], t, with_bias, lo, hi);
	return good;
}

static void
test_shapes(void)
{
	static const int shapes[][3] = {
		{ 1, 16, 4 }, { 1, 1, 1 }, { 2, 17, 3 }, { 3, 31, 5 },
		{ 5, 32, 64 }, { 8, 33, 7 }, { 11, 48, 512 }, { 12, 64, 129 },
		{ 13, 100, 33 }, { 25, 47, 256 }, { 37, 96, 513 },
		{ 70, 40, 60 },
	};
	size_t s;
	int b;

	for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct problem t;

		make_problem(&t, shapes[s][0], shapes[s][1], shapes[s][2], 0);
		for (b = 0; b < 2 * (N_SETS + 1); b++) {
			const struct kernels *k = b < 2 ? &cpu :
			    &sets[b / 2 - 1];

			if (!k->available())
				continue;
			ok(same_bits(k, &t, b % 2, 0, t.N),
			    "%s: M %d N %d K %d%s: the definition's bits",
			    k->name, t.M, t.N, t.K, b % 2 ? ", bias" : "");
		}
		free_problem(&t);
	}
}

static void
test_slices(void)
{
	struct problem t;

	make_problem(&t, 14, 75, 100, 0);
	ok(same_bits(&cpu, &t, 1, 16, 48) && same_bits(&cpu, &t, 1, 48, 75) &&
	    same_bits(&cpu, &t, 1, 32, 48),
	    "%s: column slices [16, 48), [48, 75), [32, 48): their columns, "
	    "the others untouched", cpu.name);
	ok(every_set(&t, 1, 16, 48) && every_set(&t, 1, 48, 75),
	    "C (and AVX2, AVX-VNNI): column slices: their columns, the others "
	    "untouched");
	free_problem(&t);
}

static void
test_extremes(void)
{
	struct problem t;

	/* 2048 products of 127 x 255 in the u8 x s8 sums: no overflow */
	make_problem(&t, 13, 33, 2048, 1);
	ok(same_bits(&cpu, &t, 0, 0, t.N),
	    "%s: K 2048 of +-127 x +-127: exact sums", cpu.name);
	ok(every_set(&t, 0, 0, t.N),
	    "C (and AVX2, AVX-VNNI): K 2048 of +-127 x +-127: exact sums");
	free_problem(&t);

	make_problem(&t, 4, 20, 9, 0);
	memset(t.x + 9, 0, 9 * sizeof(float));
	t.x[2 * 9 + 4] = NAN;
	t.x[3 * 9 + 1] = -INFINITY;
	ok(same_bits(&cpu, &t, 1, 0, t.N) && every_set(&t, 1, 0, t.N),
	    "a row of zeros gives the bias; a row with a NaN or an infinity "
	    "gives NaN");
	free_problem(&t);
}

static void
test_quantize(void)
{
	/* max |x| 127: scale 1, and the halves are exact ties */
	float x[5] = { 63.5f, -127.0f, 0.5f, 1.5f, -2.5f }, sx, sy;
	uint8_t xq[8], yq[8];

	sq_i8_quantize(xq, &sx, x, 1, 5);
	sq_i8_quantize_c(yq, &sy, x, 1, 5);
	ok(sx == 1.0f && xq[0] == 128 + 64 && xq[1] == 1 && xq[2] == 128 &&
	    xq[3] == 130 && xq[4] == 126 && xq[5] == 128 && xq[6] == 128 &&
	    xq[7] == 128 && sq_i8_row_len(5) == 8 &&
	    memcmp(xq, yq, 8) == 0 && sx == sy,
	    "quantized (%s and C): q + 128, ties to even, the row padded "
	    "with q = 0 to a multiple of 4 (%d %d %d %d %d)", cpu.name, xq[0],
	    xq[1], xq[2], xq[3], xq[4]);
}

/* many rows of many lengths, with ties and a NaN: the two quantizers'
   bytes and scales */
static void
test_quantizers_agree(void)
{
	enum { M = 7, K = 77 };
	float x[M * K], sx[M], sy[M];
	uint8_t xq[M * 80], yq[M * 80];
	int i, K2;

	for (i = 0; i < M * K; i++)
		x[i] = i % 3 ? tap_urand() * 5.0f : (float)(i % 255 - 127) / 2;
	x[4 * K + 9] = NAN;
	for (K2 = 1; K2 <= K; K2 += 19) {
		sq_i8_quantize(xq, sx, x, M, K2);
		sq_i8_quantize_c(yq, sy, x, M, K2);
		if (memcmp(xq, yq, M * sq_i8_row_len(K2)) != 0 ||
		    memcmp(sx, sy, sizeof(sx)) != 0)
			break;
		if (!sq_i8_avx2_available())
			continue;
		sq_i8_quantize_avx2(yq, sy, x, M, K2);
		if (memcmp(xq, yq, M * sq_i8_row_len(K2)) != 0 ||
		    memcmp(sx, sy, sizeof(sx)) != 0)
			break;
	}
	ok(K2 > K, "%s, C (and AVX2) quantize 7 rows of 1 to 77 floats to "
	    "the same bytes and scales", cpu.name);
}

int
main(void)
{
	cpu.name = sq_i8_isa();
	test_quantize();
	test_quantizers_agree();
	test_shapes();
	test_slices();
	test_extremes();
	return tap_done();
}
