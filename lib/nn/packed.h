/*
 * packed: float32 weight matrices packed once, at load, into the panel
 * layout of libxsmm's JIT kernels, so that a product of many rows
 * (encoding, a batch of sentences decoding) multiplies by them directly
 * instead of OpenBLAS copying the weights into its own layout inside
 * every call.  For the engine (encode, decode, beamsearch) in float32;
 * training and the other dtypes never pack.
 */
#ifndef SQ_PACKED_H
#define SQ_PACKED_H

#include <stddef.h>

struct sq_mat;
struct sq_model;
struct sq_pool;

/* Output columns per panel: column slices of a product start at these. */
#define SQ_PACKED_PANEL 64

/*
 * Once per process (sq_ops_init() calls it): whether libxsmm generates
 * code for this CPU's AVX2 or wider, else nothing is ever packed and the
 * products stay OpenBLAS's.
 */
void sq_packed_init(void);

/* "libxsmm hsw", "libxsmm skx", ...: the kernels, or "none". */
const char *sq_packed_isa(void);

/*
 * The floats w (N, K) takes packed, and dst (that many) = w packed.
 */
size_t sq_packed_size(long N, long K);
void sq_packed_pack(float *dst, const float *w, long N, long K);

/*
 * Packs the float32 weight matrices of one side of m that are multiplied
 * by: with encoder, its layers' and the frame projection (encode); else
 * the decoder's layers', the output projection (even tied to an
 * embedding table) and the length predictor (decode, beamsearch).  One
 * allocation of the model's (m->packed, freed by sq_model_close()), the
 * views' packed fields pointed into it, the work split over pool.
 * Nothing when the CPU has no kernels or m is not float32.  Call it
 * once, after loading.
 */
void sq_packed_model(struct sq_model *m, int encoder, struct sq_pool *pool);

/*
 * out (M, ldo) columns [lo, hi) = inp (M, K) times rows [lo, hi) of w
 * transposed, plus bias when not NULL, through w->packed (not NULL); lo
 * a multiple of SQ_PACKED_PANEL, hi too or w's row count N (= ldo).  A
 * column slice gives the same bits as the whole product, so threads
 * never change a result; the number of rows may change the last bits of
 * a partial last panel (libxsmm's kernels for it sum in their own
 * order).  Returns 0, or -1 if libxsmm gave no
 * kernel for the shape (nothing written: use another path).
 */
int sq_packed_cols(float *out, int ldo, const float *inp,
    const struct sq_mat *w, const float *bias, int M, int K, int N, int lo,
    int hi);

#endif
