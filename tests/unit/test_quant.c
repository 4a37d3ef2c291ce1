/*
 * test_quant: int8 and F16 weights (lib/nn/quant.c, lib/nn/qgemm.c,
 * lib/nn/i8linear.c).  Quantization against its definition (scale =
 * max |w| / 127, each weight within half a scale, the row's largest
 * kept); the products by F16 weights against sq_linear_ref() on the
 * weights those stand for (widened), for one to many rows, odd sizes
 * that leave tails, column slices and threads: only summation order
 * separates them, 1e-5 relative; the products by int8 weights, which
 * quantize the activations too, to the bits of their definition
 * (nn/i8gemm.h), with and without a packed copy and threads, and close
 * to float32's; rows of embeddings likewise.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/half.h"
#include "nn/i8gemm.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/packed.h"
#include "nn/qgemm.h"
#include "nn/quant.h"
#include "base/pool.h"
#include "base/util.h"
#include "i8ref.h"
#include "tap.h"

static void
test_quantize(void)
{
	float w[100], back[100], s = -1.0f, amax = 0.0f, err = 0.0f;
	float zero[5] = { 0 }, bad[3] = { 1.0f, NAN, 2.0f };
	int8_t q[100];
	int i, at_max = 0, in_range = 1;

	for (i = 0; i < 100; i++) {
		w[i] = tap_urand() * 3.0f;
		amax = fmaxf(amax, fabsf(w[i]));
	}
	ok(sq_quantize_row(q, &s, w, 100) == 0 && s == amax / 127.0f,
	    "int8: the scale is max |w| / 127 (%g)", s);
	sq_dequantize_row(back, q, s, 100);
	for (i = 0; i < 100; i++) {
		err = fmaxf(err, fabsf(back[i] - w[i]));
		at_max += fabsf(w[i]) == amax && abs(q[i]) == 127;
		in_range &= q[i] != -128;
	}
	ok(err <= s * 0.5f * 1.0001f, "int8: every weight within half a scale "
	    "(max error %g, scale %g)", err, s);
	ok(at_max == 1 && in_range, "int8: the largest weight is +-127, all "
	    "in [-127, 127]");
	ok(sq_quantize_row(q, &s, zero, 5) == 0 && s == 0.0f && q[0] == 0 &&
	    q[4] == 0, "int8: a row of zeros has scale 0");
	ok(sq_quantize_row(q, &s, bad, 3) == -1, "int8: a NaN is refused");
	bad[1] = 1e5f;
	ok(sq_half_row((uint16_t *)q, bad, 3) == -1, "F16: 1e5 is refused");
}

/* w (N, K) as the dtype, and wf (N, K) the float32 weights it stands for. */
static void
make_mat(struct sq_mat *m, float *wf, void **mem, const float *w, int N,
    int K, int dtype)
{
	int r;

	*m = (struct sq_mat){ .dtype = dtype };
	if (dtype == SQ_W_I8) {
		int8_t *q = sq_malloc((size_t)N * K);
		float *s = sq_malloc((size_t)N * sizeof(float));

		for (r = 0; r < N; r++) {
			sq_quantize_row(q + (long)r * K, s + r, w + (long)r * K, K);
			sq_dequantize_row(wf + (long)r * K, q + (long)r * K, s[r],
			    K);
		}
		m->data = q;
		m->scale = s;
		mem[0] = q, mem[1] = s;
	} else {
		uint16_t *h = sq_malloc((size_t)N * K * 2);

		sq_half_row(h, w, (long)N * K);
		sq_widen_row(wf, h, (long)N * K);
		m->data = h;
		mem[0] = h, mem[1] = NULL;
	}
}

/* The largest |a - b| / max(1, |b|). */
static double
rel_diff(const float *a, const float *b, long n)
{
	double m = 0.0;
	long i;

	for (i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs(b[i]));

		if (!(d <= m))
			m = d;
	}
	return m;
}

/*
 * m (int8, by rows) stored in the packed layout instead, as a model file
 * may store it, its padding not zero: products with and without a slot
 * give yr's bits (m's by the definition, with bias b), and the slot
 * points at the stored bytes rather than a copy.
 */
static void
packed_as_stored(const struct sq_mat *m, const float *x, const float *b,
    int M, int K, int N, struct sq_pool *pool, const float *yr)
{
	int8_t *bytes = sq_malloc((size_t)sq_i8_packed_len(N, K));
	float *y = sq_malloc((size_t)M * N * sizeof(float));
	float *y1 = sq_malloc((size_t)M * N * sizeof(float));
	struct sq_packed slot = { 0 };
	struct sq_mat mp = *m;
	int8_t row[K];
	int Np = (N + 15) / 16 * 16, Kp = (K + 3) / 4 * 4, r, k, unpacked = 1;

	sq_i8_pack_bytes(bytes, m->data, N, K);
	/* the padding is ignored (seqpipe-model.5): not zeros here */
	for (r = 0; r < Np; r++)
		for (k = 0; k < Kp; k++)
			if (r >= N || k >= K)
				bytes[(long)r / 16 * Kp * 16 + k / 4 * 64 +
				    r % 16 * 4 + k % 4] = (int8_t)(r - 2 * k);
	for (r = 0; r < N; r++) {
		sq_i8_unpack_row(row, bytes, K, r);
		unpacked &= memcmp(row, (const int8_t *)m->data + (long)r * K,
		    K) == 0;
	}
	ok(unpacked, "int8 weights, K=%d N=%d: every row unpacked as it was "
	    "packed", K, N);
	mp.data = bytes;
	mp.i8_packed = 1;
	sq_linear_mat(y, x, &mp, b, M, K, N, pool);
	mp.packed = &slot;
	sq_linear_mat(y1, x, &mp, b, M, K, N, pool);
	ok(memcmp(y, yr, (size_t)M * N * 4) == 0 && memcmp(y1, yr,
	    (size_t)M * N * 4) == 0 && slot.i8->w == bytes, "int8 weights, "
	    "M=%d K=%d N=%d, stored packed: the definition's bits, the "
	    "stored bytes read in place", M, K, N);
	sq_i8_free(slot.i8);
	free(slot.i8);
	free(bytes), free(y), free(y1);
}

static void
test_products(struct sq_pool *pool)
{
	static const int shapes[][3] = {	/* M, K, N */
		{ 1, 64, 200 }, { 1, 17, 9 }, { 2, 256, 33 }, { 3, 33, 17 },
		{ 4, 512, 64 }, { 5, 100, 31 }, { 8, 64, 70 }, { 9, 48, 130 },
		{ 31, 40, 50 }, { 32, 72, 90 }, { 33, 256, 300 },
		{ 1, 512, 2048 }, { 64, 512, 512 }, { 70, 100, 130 },
	};
	const char *names[] = { "f32", "F16", "int8" };
	size_t s;
	int dt;

	for (dt = SQ_W_F16; dt <= SQ_W_I8; dt++)
		for (s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
			int M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
			float *x = tap_rand_vec((long)M * K, 1.0f);
			float *w = tap_rand_vec((long)N * K, 0.1f);
			float *wf = sq_malloc((size_t)N * K * sizeof(float));
			float *b = tap_rand_vec(N, 0.5f);
			float *y = tap_rand_vec((long)M * N, 1.0f);
			float *yr = tap_rand_vec((long)M * N, 1.0f);
			float *y1 = sq_malloc((size_t)M * N * sizeof(float));
			struct sq_mat m;
			void *mem[2];
			double e, e2;
			int lo = N / 3, hi = N - N / 4;

			make_mat(&m, wf, mem, w, N, K, dt);
			sq_linear_mat(y, x, &m, b, M, K, N, pool);
			sq_linear_mat(y1, x, &m, b, M, K, N, NULL);
			ok(memcmp(y, y1, (size_t)M * N * sizeof(float)) == 0,
			    "%s weights, M=%d K=%d N=%d: %d threads give one's "
			    "bits", names[dt], M, K, N, sq_pool_threads(pool));
			if (dt == SQ_W_I8) {
				/* and through a packed copy made at first use */
				struct sq_packed slot = { 0 };

				i8_reference(yr, x, m.data, m.scale, b, M, K,
				    N);
				ok(memcmp(y, yr, (size_t)M * N * 4) == 0,
				    "int8 weights, M=%d K=%d N=%d, %d threads: "
				    "int8 activations, the definition's bits",
				    M, K, N, sq_pool_threads(pool));
				m.packed = &slot;
				sq_linear_mat(y, x, &m, NULL, M, K, N, pool);
				sq_linear_mat(y1, x, &m, NULL, M, K, N, pool);
				i8_reference(yr, x, m.data, m.scale, NULL, M, K,
				    N);
				ok(slot.i8 != NULL && memcmp(y, yr, (size_t)M * N *
				    4) == 0 && memcmp(y1, yr, (size_t)M * N * 4) ==
				    0, "int8 weights, M=%d K=%d N=%d, no bias: "
				    "packed at the first product, the definition's "
				    "bits", M, K, N);
				m.packed = NULL;
				sq_i8_free(slot.i8);
				free(slot.i8);
				packed_as_stored(&m, x, NULL, M, K, N, pool, yr);
				/* and close to the float32 product */
				sq_linear_ref(y1, x, wf, b, M, K, N);
				sq_linear_mat(y, x, &m, b, M, K, N, NULL);
				e = rel_diff(y, y1, (long)M * N);
				ok(e < 0.02, "int8 weights, M=%d K=%d N=%d: within "
				    "0.02 of the float32 product by the weights "
				    "they stand for (%.2g)", M, K, N, e);
				goto next;
			}
			sq_linear_ref(yr, x, wf, b, M, K, N);
			e = rel_diff(y, yr, (long)M * N);
			sq_linear_mat(y, x, &m, NULL, M, K, N, NULL);
			sq_linear_ref(yr, x, wf, NULL, M, K, N);
			e2 = rel_diff(y, yr, (long)M * N);
			ok(e < 1e-5 && e2 < 1e-5, "%s weights, M=%d K=%d N=%d, "
			    "%d threads, with and without bias: the float32 "
			    "product by the weights they stand for (%.2g, %.2g)",
			    names[dt], M, K, N, sq_pool_threads(pool), e, e2);
			/* a column slice writes its columns and no others */
			memset(y, 0, (size_t)M * N * sizeof(float));
			sq_qgemm_cols(y, N, x, &m, b, M, K, lo, hi);
			sq_linear_ref(yr, x, wf, b, M, K, N);
			for (int i = 0; i < M; i++)
				for (int n = 0; n < N; n++)
					if (n < lo || n >= hi)
						yr[(long)i * N + n] = 0.0f;
			e = rel_diff(y, yr, (long)M * N);
			ok(e < 1e-5, "%s weights, M=%d N=%d: columns [%d, %d) "
			    "alone (%.2g)", names[dt], M, N, lo, hi, e);
next:
			free(x), free(w), free(wf), free(b), free(y), free(yr);
			free(y1);
			free(mem[0]), free(mem[1]);
		}
}

/*
 * The int8 table m (V, D) stored packed, as a table tied to the output
 * projection is: rows ids looked up give ref, as from rows.
 */
static void
packed_rows(const struct sq_mat *m, const int32_t *ids, const float *pe,
    const float *ref, int V, int D)
{
	int8_t *bytes = sq_malloc((size_t)sq_i8_packed_len(V, D));
	float *out = sq_malloc(2 * (size_t)D * sizeof(float));
	struct sq_mat mp = *m;

	sq_i8_pack_bytes(bytes, m->data, V, D);
	mp.data = bytes;
	mp.i8_packed = 1;
	sq_embed_mat(out, &mp, ids, pe, 3.0f, 2, D);
	ok(memcmp(out, ref, 2 * (size_t)D * sizeof(float)) == 0, "int8 "
	    "embeddings from a table stored packed: the same bits");
	free(bytes), free(out);
}

static void
test_rows(void)
{
	enum { V = 13, D = 40 };
	float *E = tap_rand_vec((long)V * D, 1.0f), Ef[V * D], pe[2 * D];
	float out[2 * D], ref[2 * D];
	int32_t ids[2] = { 7, 12 };
	struct sq_mat m;
	void *mem[2];
	int dt, d, t;

	for (d = 0; d < 2 * D; d++)
		pe[d] = tap_urand();
	for (dt = SQ_W_F16; dt <= SQ_W_I8; dt++) {
		make_mat(&m, Ef, mem, E, V, D, dt);
		sq_embed_mat(out, &m, ids, pe, 3.0f, 2, D);
		for (t = 0; t < 2; t++)
			for (d = 0; d < D; d++)
				ref[t * D + d] = 3.0f * Ef[ids[t] * D + d] +
				    pe[t * D + d];
		ok(memcmp(out, ref, sizeof(out)) == 0, "%s embeddings: the "
		    "rows they stand for, to the bit", dt == SQ_W_I8 ? "int8" :
		    "F16");
		if (dt == SQ_W_I8)
			packed_rows(&m, ids, pe, ref, V, D);
		free(mem[0]), free(mem[1]);
	}
	free(E);
}

int
main(void)
{
	struct sq_pool *pool = sq_pool_new(3);

	sq_ops_init();
	printf("# kernels: %s\n", sq_qgemm_isa());
	test_quantize();
	test_products(NULL);
	test_products(pool);
	test_rows();
	sq_pool_free(pool);
	return tap_done();
}
