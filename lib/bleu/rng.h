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

struct sq_bleu_nprng {
	unsigned __int128 state, inc;
	int has_uint32;
	uint32_t uinteger;
};

/*
 * Seeds g as default_rng(SeedSequence(entropy)) does, where the entropy is
 * the integer whose 32-bit words, least significant first, are w[0..n).
 */
void sq_bleu_nprng_seed(struct sq_bleu_nprng *g, const uint32_t *w, size_t n);

uint64_t sq_bleu_nprng_next64(struct sq_bleu_nprng *g);

/*
 * One element of Generator.integers(0, n) (int64), for 1 <= n <= 2^32:
 * a uniform integer in [0, n).
 */
uint64_t sq_bleu_nprng_below(struct sq_bleu_nprng *g, uint64_t n);

/*
 * Generator.integers(2, size, dtype=bool), one at a time: each 32-bit draw
 * gives 32 booleans, least significant bit first.  A zeroed struct
 * sq_bleu_nprng_bits starts a new call of integers().
 */
struct sq_bleu_nprng_bits {
	uint32_t buf;
	int left;
};

int sq_bleu_nprng_bool(struct sq_bleu_nprng *g, struct sq_bleu_nprng_bits *b);

#endif
