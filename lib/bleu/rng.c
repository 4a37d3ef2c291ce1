/*
 * bleu_rng: NumPy's SeedSequence, PCG64 and bounded integers (see
 * bleu_rng.h).  All arithmetic is modulo 2^32, 2^64 or 2^128, as in the
 * C and Cython it follows.
 */
#include "bleu/rng.h"

#define POOL 4

/* SeedSequence's hash constants */
#define INIT_A 0x43b0d7e5U
#define MULT_A 0x931e8875U
#define INIT_B 0x8b51f9ddU
#define MULT_B 0x58f38dedU
#define MIX_MULT_L 0xca01f9ddU
#define MIX_MULT_R 0x4973f715U

static uint32_t
hashmix(uint32_t v, uint32_t *hash)
{
	v ^= *hash;
	*hash *= MULT_A;
	v *= *hash;
	return v ^ (v >> 16);
}

static uint32_t
mix(uint32_t x, uint32_t y)
{
	uint32_t r = MIX_MULT_L * x - MIX_MULT_R * y;

	return r ^ (r >> 16);
}

/* SeedSequence.mix_entropy then generate_state(4, np.uint64) */
static void
seed_words(uint64_t out[4], const uint32_t *w, size_t n)
{
	static const uint32_t zero[1];
	uint32_t pool[POOL], hash = INIT_A, s[8];
	size_t i, j;

	if (n == 0)
		w = zero, n = 1;
	for (i = 0; i < POOL; i++)
		pool[i] = hashmix(i < n ? w[i] : 0, &hash);
	for (i = 0; i < POOL; i++)
		for (j = 0; j < POOL; j++)
			if (i != j)
				pool[j] = mix(pool[j], hashmix(pool[i], &hash));
	for (i = POOL; i < n; i++)
		for (j = 0; j < POOL; j++)
			pool[j] = mix(pool[j], hashmix(w[i], &hash));
	hash = INIT_B;
	for (i = 0; i < 8; i++) {
		uint32_t v = pool[i % POOL] ^ hash;

		hash *= MULT_B;
		v *= hash;
		s[i] = v ^ (v >> 16);
	}
	for (i = 0; i < 4; i++)
		out[i] = (uint64_t)s[2 * i] | (uint64_t)s[2 * i + 1] << 32;
}

#define U128(hi, lo) ((unsigned __int128)(hi) << 64 | (lo))

static void
step(struct sq_bleu_nprng *g)
{
	g->state = g->state * U128(2549297995355413924ULL,
	    4865540595714422341ULL) + g->inc;
}

void
sq_bleu_nprng_seed(struct sq_bleu_nprng *g, const uint32_t *w, size_t n)
{
	uint64_t v[4];

	seed_words(v, w, n);
	g->state = 0;
	g->inc = U128(v[2], v[3]) << 1 | 1;
	step(g);
	g->state += U128(v[0], v[1]);
	step(g);
	g->has_uint32 = 0;
	g->uinteger = 0;
}

uint64_t
sq_bleu_nprng_next64(struct sq_bleu_nprng *g)
{
	uint64_t hi, lo;
	unsigned rot;

	step(g);
	hi = (uint64_t)(g->state >> 64);
	lo = (uint64_t)g->state;
	rot = (unsigned)(hi >> 58);
	lo ^= hi;
	return (lo >> rot) | (lo << ((64 - rot) & 63));
}

static uint32_t
nprng_next32(struct sq_bleu_nprng *g)
{
	uint64_t next;

	if (g->has_uint32) {
		g->has_uint32 = 0;
		return g->uinteger;
	}
	next = sq_bleu_nprng_next64(g);
	g->has_uint32 = 1;
	g->uinteger = (uint32_t)(next >> 32);
	return (uint32_t)next;
}

int
sq_bleu_nprng_bool(struct sq_bleu_nprng *g, struct sq_bleu_nprng_bits *b)
{
	if (!b->left) {
		b->buf = nprng_next32(g);
		b->left = 31;
	} else {
		b->buf >>= 1;
		b->left--;
	}
	return b->buf & 1;
}

uint64_t
sq_bleu_nprng_below(struct sq_bleu_nprng *g, uint64_t n)
{
	uint32_t rng = (uint32_t)(n - 1), excl = rng + 1, left, threshold;
	uint64_t m;

	if (rng == 0)
		return 0;
	if (rng == 0xffffffffU)
		return nprng_next32(g);
	/* Lemire's multiply and reject */
	m = (uint64_t)nprng_next32(g) * excl;
	left = (uint32_t)m;
	if (left < excl) {
		threshold = (UINT32_MAX - rng) % excl;
		while (left < threshold) {
			m = (uint64_t)nprng_next32(g) * excl;
			left = (uint32_t)m;
		}
	}
	return m >> 32;
}
