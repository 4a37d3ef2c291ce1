/*
 * quant: weight rows in reduced precision, for the engine's --dtype and
 * for model files that store them so (man/seqpipe-model.5).
 *
 * int8: CTranslate2's symmetric scheme, one scale per row (an output
 * unit of a linear layer, a vocabulary entry of an embedding): scale =
 * max |w| / 127, q = w / scale rounded to nearest (ties to even), so q
 * is in [-127, 127] and the row's largest weight is kept exactly up to
 * the rounding of the scale; a row of zeros has scale 0.  A weight is
 * then scale * q, within scale / 2 of the original.
 */
#ifndef SQ_QUANT_H
#define SQ_QUANT_H

#include <stdint.h>

/*
 * q (n) and *scale: the row w (n) in int8.  Returns 0, or -1 if w holds
 * a non-finite number (no scale can hold it).
 */
int sq_quantize_row(int8_t *q, float *scale, const float *w, long n);

/* w (n) = scale * q (n). */
void sq_dequantize_row(float *w, const int8_t *q, float scale, long n);

/*
 * h (n): the row w (n) in F16, nearest.  Returns 0, or -1 if a finite
 * weight is beyond F16's range (65504) and would become infinite.
 */
int sq_half_row(uint16_t *h, const float *w, long n);

/* w (n) = h (n) widened (exact). */
void sq_widen_row(float *w, const uint16_t *h, long n);

#endif
