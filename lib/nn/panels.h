/*
 * panels: the layout of float32 weight matrices that libxsmm's kernels
 * multiply by (nn/packed.h).  W (N, K) is cut into panels of
 * SQ_PANEL_ROWS rows; each is stored column-major, (K, SQ_PANEL_ROWS),
 * and the last one is padded with zero rows.  A model file may store a
 * matrix so (seqpipe-model.5: F32, shape (ceil(N / 64), K, 64)); the
 * engine packs the others itself.  No products here: a program that
 * only writes or reads the layout (seqimport, train) links no libxsmm.
 */
#ifndef SQ_PANELS_H
#define SQ_PANELS_H

#include <stddef.h>

/* Output columns per panel: column slices of a product start at these. */
#define SQ_PANEL_ROWS 64

/* The floats w (N, K) takes in panels, padding included. */
size_t sq_panels_size(long N, long K);

/* dims (3) = the shape a model file gives w (N, K) in panels. */
void sq_panels_shape(long *dims, long N, long K);

/* dst (sq_panels_size(N, K) floats) = w (N, K) in panels. */
void sq_panels_pack(float *dst, const float *w, long N, long K);

/* out (K) = row r of the matrix that panels hold, K columns. */
void sq_panels_row(float *out, const float *panels, long K, long r);

#endif
