/*
 * bleu_rng: NumPy's default random generator, bit for bit, for sacrebleu's
 * bootstrap resampling (np.random.default_rng(seed).choice(n, size)).
 *
 * Reference: NumPy 1.24, numpy/random/bit_generator.pyx (SeedSequence:
 * entropy mixed into a pool of four 32-bit words, then generate_state),
 * numpy/random/src/pcg64 (PCG64: the 128-bit LCG with the XSL RR output,
 * 32-bit draws taken from the low then the high half of a 64-bit draw) and
 * numpy/random/src/distributions (Lemire's bounded integers on 32-bit
 * draws for ranges below 2^32).
 */
#ifndef SQ_BLEU_RNG_H
#define SQ_BLEU_RNG_H

#include <stddef.h>
#include <stdint.h>

struct sq_rng {
	unsigned __int128 state, inc;
	int has_uint32;
	uint32_t uinteger;
};

/*
 * Seeds g as default_rng(SeedSequence(entropy)) does, where the entropy is
 * the integer whose 32-bit words, least significant first, are w[0..n).
 */
void sq_rng_seed(struct sq_rng *g, const uint32_t *w, size_t n);

uint64_t sq_rng_next64(struct sq_rng *g);
uint32_t sq_rng_next32(struct sq_rng *g);

/*
 * One element of Generator.integers(0, n) (int64), for 1 <= n <= 2^32:
 * a uniform integer in [0, n).
 */
uint64_t sq_rng_below(struct sq_rng *g, uint64_t n);

#endif
