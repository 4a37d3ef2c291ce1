/*
 * test_packed: products by float32 weights packed for libxsmm's kernels
 * (lib/nn/packed.c) against OpenBLAS's cblas_sgemm on the same weights,
 * for one to many rows (M = 1, 3, 33, 70: whole and partial blocks of
 * rows) and sizes that leave partial panels (K, N not multiples of 16):
 * only summation order separates them, 1e-5 relative.  Then what the
 * engine's threads rely on: a column slice computes the same bits as the
 * whole product, so sq_linear_mat() on one or two threads agree to the
 * bit.  (The number of rows may change the last bits where a panel is
 * partial: libxsmm's kernels for those sum in an order of their own.)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/config.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/packed.h"
#include "base/pool.h"
#include "base/util.h"
#include "tap.h"

/* ref (M, N) = x (M, K) w (N, K)^T + b, by OpenBLAS */
static void
blas_ref(float *ref, const float *x, const float *w, const float *b, int M,
    int K, int N)
{
	int i;

	for (i = 0; i < M; i++)
		memcpy(ref + (long)i * N, b, N * sizeof(float));
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, x,
	    K, w, K, 1.0f, ref, N);
}

static double
max_abs(const float *a, long n)
{
	double m = 0.0;
	long i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i]));
	return m;
}

static void
test_shape(int M, int K, int N, struct sq_pool *pool)
{
	float *w = tap_rand_vec((long)N * K, 1.0f), *b = tap_rand_vec(N, 1.0f);
	float *x = tap_rand_vec((long)M * K, 1.0f);
	float *pk = sq_malloc(sq_panels_size(N, K) * sizeof(float));
	float *ref = sq_malloc(sizeof(float) * M * N);
	float *y = sq_malloc(sizeof(float) * M * N);
	float *ys = sq_malloc(sizeof(float) * M * N);
	struct sq_packed slot = { .panels = pk };
	struct sq_mat wm = { .dtype = SQ_W_F32, .data = w,
	    .packed = &slot };
	int same = 1, rc;
	double d;

	sq_panels_pack(pk, w, N, K);
	blas_ref(ref, x, w, b, M, K, N);
	rc = sq_packed_cols(y, N, x, &wm, b, M, K, N, 0, N);
	d = max_diff(y, ref, (long)M * N);
	ok(rc == 0 && d <= 1e-5 * (1 + max_abs(ref, (long)M * N)),
	    "M=%d K=%d N=%d: packed = cblas_sgemm (max diff %g)", M, K, N, d);

	/* in two column slices at a panel boundary */
	if (N > SQ_PANEL_ROWS) {
		sq_packed_cols(ys, N, x, &wm, b, M, K, N, 0, SQ_PANEL_ROWS);
		sq_packed_cols(ys, N, x, &wm, b, M, K, N, SQ_PANEL_ROWS, N);
		same &= memcmp(ys, y, sizeof(float) * M * N) == 0;
	}
	ok(same, "M=%d K=%d N=%d: each slice alone gives the same bits",
	    M, K, N);

	/* the engine's product, split over the pool or not */
	sq_linear_mat(ys, x, &wm, b, M, K, N, pool);
	d = max_diff(ys, ref, (long)M * N);
	ok(d <= 1e-5 * (1 + max_abs(ref, (long)M * N)) && (M <= 8 ||
	    memcmp(ys, y, sizeof(float) * M * N) == 0),
	    "M=%d K=%d N=%d, %d threads: sq_linear_mat by packed weights "
	    "(max diff %g)", M, K, N, sq_pool_threads(pool), d);

	free(w);
	free(b);
	free(x);
	free(pk);
	free(ref);
	free(y);
	free(ys);
}

/*
 * A matrix given a slot and no copy: its first product by many rows goes
 * without one, the second packs it; a few rows never do.
 */
static void
test_on_demand(struct sq_pool *pool)
{
	int M = 40, K = 96, N = 150;
	float *w = tap_rand_vec((long)N * K, 1.0f);
	float *x = tap_rand_vec((long)M * K, 1.0f), *b = tap_rand_vec(N, 1.0f);
	float *ref = sq_malloc(sizeof(float) * M * N);
	float *y = sq_malloc(sizeof(float) * M * N);
	struct sq_packed slot = { 0 };
	struct sq_mat wm = { .dtype = SQ_W_F32, .data = w,
	    .packed = &slot };
	double tol;

	blas_ref(ref, x, w, b, M, K, N);
	tol = 1e-5 * (1 + max_abs(ref, (long)M * N));
	sq_linear_mat(y, x, &wm, b, 4, K, N, pool);
	sq_linear_mat(y, x, &wm, b, 4, K, N, pool);
	ok(slot.panels == NULL && slot.uses == 0,
	    "4 rows, twice: nothing packed, nothing counted");
	sq_linear_mat(y, x, &wm, b, M, K, N, pool);
	ok(slot.panels == NULL && max_diff(y, ref, (long)M * N) <= tol,
	    "%d rows, once: the product, without a packed copy", M);
	sq_linear_mat(y, x, &wm, b, M, K, N, pool);
	ok(slot.panels != NULL && max_diff(y, ref, (long)M * N) <= tol,
	    "%d rows, again: packed, the same product", M);
	free((void *)slot.panels);
	free(w);
	free(x);
	free(b);
	free(ref);
	free(y);
}

/* the slots of a layer's products: n of them into v */
static int
attn_slots(const struct sq_attn_weights *a, const struct sq_packed **v)
{
	v[0] = a->q.wq.packed, v[1] = a->k.wq.packed;
	v[2] = a->v.wq.packed, v[3] = a->out.wq.packed;
	return 4;
}

/* how many of n slots are given (want 1) or not (want 0) */
static int
count_slots(const struct sq_packed **v, int n, int want)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += (v[i] != NULL) == want;
	return k;
}

/*
 * sq_packed_model() gives a slot to every matrix of the side the program
 * runs and none of the other's: a decoder's fc1 was once taken for the
 * encoder's (its offset in the layer equals the frame projection's in the
 * model), and multiplied through OpenBLAS at every step.
 */
static void
test_sides(void)
{
	struct sq_config c;
	const struct sq_packed *v[16];
	int side, l, n, enc_ok, dec_ok;

	sq_config_defaults(&c);
	c.d_model = 8, c.n_heads = 2, c.d_ff = 12;
	c.encoder_layers = 2, c.decoder_layers = 3;
	c.src_vocab_size = c.tgt_vocab_size = 9;
	c.max_positions = 16;
	sq_config_finish(&c);
	for (side = 0; side < 2; side++) {
		struct sq_model *m = sq_model_new(&c, "sides");

		sq_packed_model(m, side);
		enc_ok = dec_ok = 1;
		for (l = 0; l < c.encoder_layers; l++) {
			n = attn_slots(&m->enc[l].self_attn, v);
			v[n++] = m->enc[l].fc1.wq.packed;
			v[n++] = m->enc[l].fc2.wq.packed;
			enc_ok &= count_slots(v, n, side) == n;
		}
		for (l = 0; l < c.decoder_layers; l++) {
			n = attn_slots(&m->dec[l].self_attn, v);
			n += attn_slots(&m->dec[l].cross_attn, v + n);
			v[n++] = m->dec[l].fc1.wq.packed;
			v[n++] = m->dec[l].fc2.wq.packed;
			dec_ok &= count_slots(v, n, !side) == n;
		}
		v[0] = m->out_proj_q.packed;
		dec_ok &= count_slots(v, 1, !side) == 1;
		ok(enc_ok && dec_ok, "packing the %s's side: a slot for each "
		    "of its matrices, none for the other's",
		    side ? "encoder" : "decoder");
		sq_packed_free(m);
		sq_model_close(m);
	}
}

int
main(void)
{
	static const int Ms[] = { 1, 3, 9, 33, 70 };
	static const int KN[][2] = { { 37, 71 }, { 100, 130 }, { 515, 200 },
	    { 64, 64 } };
	struct sq_pool *pools[2] = { sq_pool_new(1), sq_pool_new(2) };
	size_t i, j;

	sq_ops_init();
	if (strcmp(sq_packed_isa(), "none") == 0) {
		printf("1..0 # SKIP libxsmm has no kernels for this CPU\n");
		return 0;
	}
	printf("# kernels: %s\n", sq_packed_isa());
	for (i = 0; i < sizeof(Ms) / sizeof(Ms[0]); i++)
		for (j = 0; j < sizeof(KN) / sizeof(KN[0]); j++)
			test_shape(Ms[i], KN[j][0], KN[j][1],
			    pools[(i + j) % 2]);
	test_on_demand(pools[1]);
	test_sides();
	sq_pool_free(pools[0]);
	sq_pool_free(pools[1]);
	return tap_done();
}
