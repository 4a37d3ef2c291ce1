/*
 * positions: the tables of position encodings the encoder and the decoder
 * keep, made on demand (lib/nn/ops.c, which computes them, allocates
 * nothing).
 */
#ifndef SQ_POSITIONS_H
#define SQ_POSITIONS_H

/*
 * Grows a table of positions [first, first + n): when n exceeds *n_pe,
 * *pe is reallocated to (n, D) and filled by sq_positions() (kind and
 * learned as there), and *n_pe becomes n.  A table is as long as the
 * longest sentence seen so far, not max_positions, whose sines and cosines
 * cost start-up.  The caller frees *pe.
 */
void sq_positions_reserve(float **pe, int *n_pe, int n, int D, int first,
    int kind, const float *learned);

#endif
