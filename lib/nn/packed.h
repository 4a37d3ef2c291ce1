/*
 * packed: float32 weight matrices packed once, into the panel layout of
 * libxsmm's JIT kernels, so that a product of many rows (encoding, a
 * batch of sentences decoding) multiplies by them directly instead of
 * OpenBLAS copying the weights into its own layout inside every call.
 * For the engine (encode, decode, beamsearch) in float32; training and
 * F16 never pack.  int8 weights have their own layout (nn/i8gemm.h),
 * which every int8 product reads: mapped from the model file where it
 * stores them so (seqpipe-model.5), else made at a matrix's first
 * product.
 *
 * A matrix is packed the second time it is multiplied by more than a few
 * rows, not at load: a program that sees a few rows at a time (a beam
 * at batch 1) or one product (one sentence to encode) pays neither the
 * time nor the memory of a packed copy, which would double the weights'
 * footprint and take 0.13 s of CPU at the start of an encode of the base
 * model (0.23 s for a decode), more than one product saves.  A model
 * file may store them in panels already (seqimport --panels): those are
 * mapped and multiplied by as they are, a few rows too, never copied.
 */
#ifndef SQ_PACKED_H
#define SQ_PACKED_H

#include <stddef.h>

#include "nn/panels.h"

struct sq_i8_packed;
struct sq_mat;
struct sq_model;
struct sq_pool;

/* Where one matrix's packed copy goes: NULL until it is made. */
struct sq_packed {
	const float *panels;	/* float32 weights */
	int uses;		/* products by many rows so far */
	struct sq_i8_packed *i8;	/* int8 weights (nn/i8gemm.h) */
};

/*
 * Once per process (sq_ops_init() calls it): whether libxsmm generates
 * code for this CPU's AVX2 or wider, else nothing is ever packed and the
 * products stay OpenBLAS's.
 */
void sq_packed_init(void);

/* "libxsmm hsw", "libxsmm skx", ...: the kernels, or "none". */
const char *sq_packed_isa(void);

/* Whether this CPU has the kernels (sq_packed_isa() is not "none"). */
int sq_packed_available(void);

/*
 * Lets the weight matrices of one side of m that are multiplied by be
 * packed on first use: with encoder, its layers' and the frame
 * projection (encode); else the decoder's layers', the output projection
 * (even tied to an embedding table) and the length predictor (decode,
 * beamsearch).  Gives those views a struct sq_packed each, of an array
 * of the model's (m->packed).  Whoever calls it frees them and the
 * copies with sq_packed_free() before sq_model_close(): the model
 * loader does not link the products, so that tokenize and detok, which
 * read only its vocabulary, load neither OpenBLAS nor libxsmm.  For float32 weights only when the CPU has
 * libxsmm's kernels; int8 always (every int8 product reads the packed
 * layout); F16 never.  Call it once, after loading.
 */
void sq_packed_model(struct sq_model *m, int encoder);

/*
 * Counts a product of many rows by w (N, K, with w->packed) and returns
 * whether it goes through w->packed->panels: 0 the first time, then 1,
 * w packed at its second product (its panels split over pool).  Safe
 * from several threads (one packs, the others wait for it).
 */
int sq_packed_use(const struct sq_mat *w, long N, long K,
    struct sq_pool *pool);

/*
 * w (N, K, int8, with w->packed) packed for nn/i8gemm.h, made at its
 * first product (packed, or its column sums only if the file stored it
 * packed).  Safe from several threads (one packs, the others wait for
 * it).
 */
const struct sq_i8_packed *sq_packed_i8(const struct sq_mat *w, int N,
    int K);

/*
 * p = w (N, K, int8) for the kernels: packed, or over w's bytes when the
 * file stored them packed (w->i8_packed).  Free it with sq_i8_free().
 */
void sq_packed_i8_make(struct sq_i8_packed *p, const struct sq_mat *w,
    int N, int K);

/* Frees m's packed copies and their array; NULL-safe. */
void sq_packed_free(struct sq_model *m);

/*
 * out (M, ldo) columns [lo, hi) = inp (M, K) times rows [lo, hi) of w
 * transposed, plus bias when not NULL, through w's data if stored in
 * panels (w->panels), else w->packed->panels (made: sq_packed_use()); lo
 * a multiple of SQ_PANEL_ROWS, hi too or w's row count N (= ldo).  A
 * column slice gives the same bits as the whole product, so threads
 * never change a result; the number of rows may change the last bits of
 * a partial last panel (libxsmm's kernels for it sum in their own
 * order).  Returns 0, or -1 if libxsmm gave no
 * kernel for the shape (nothing written: use another path).
 */
int sq_packed_cols(float *out, int ldo, const float *inp,
    const struct sq_mat *w, const float *bias, int M, int K, int N, int lo,
    int hi);

/*
 * The same for one panel made by the caller: out (M, ldo) columns
 * [n0, n0 + width) = inp (M, K) times the width <= SQ_PANEL_ROWS rows
 * [n0, n0 + width) of a weight matrix, packed by sq_panels_pack() into
 * panel, transposed, plus bias when not NULL.  For weights stored in
 * another dtype, widened a panel at a time (nn/qgemm.c).  Returns 0, or
 * -1 with nothing written.
 */
int sq_packed_panel_cols(float *out, int ldo, const float *inp,
    const float *panel, const float *bias, int M, int K, int n0, int width);

#endif
