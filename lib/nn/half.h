/*
 * half: IEEE 754 binary16 (F16) to and from float32, for weights stored
 * as F16 in model files.  Portable C on the bit patterns (a compiler's
 * _Float16 is not everywhere: clang 14 on x86-64 has none).
 */
#ifndef SQ_HALF_H
#define SQ_HALF_H

#include <stdint.h>

/* The float32 of h: exact (every half is a float). */
float sq_half_to_float(uint16_t h);

/*
 * The half nearest f, ties to even, as IEEE conversion rounds: overflow
 * to infinity, underflow to subnormals or zero, NaN stays NaN (quiet).
 */
uint16_t sq_float_to_half(float f);

#endif
