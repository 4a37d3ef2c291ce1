/*
 * sample: drawing the next token from log-probabilities, with
 * temperature, top-k and top-p (nucleus) filtering (Holtzman et al. 2020;
 * the order of fairseq and Hugging Face: temperature, then top-k, then
 * top-p), and a small seeded generator so that draws depend only on the
 * seed and the record key, never on batching or sharding.
 */
#ifndef SQ_SAMPLE_H
#define SQ_SAMPLE_H

#include <stdint.h>

/* splitmix64 state; seed it with sq_sample_seed(). */
struct sq_sample_rng {
	uint64_t s;
};

/* The generator for one record: a function of seed and key only. */
void sq_sample_seed(struct sq_sample_rng *g, uint64_t seed, uint64_t key);
/* Uniform in [0, 1), 53 bits. */
double sq_sample_uniform(struct sq_sample_rng *g);

struct sq_sampler {
	float temperature;	/* > 0; 1 leaves the distribution as it is */
	int top_k;		/* 0: no limit */
	float top_p;		/* (0, 1]; 1: no limit */
	/* scratch, grown by sq_sample() */
	int32_t *idx;		/* (V) */
	int cap;
};

/*
 * Draws a token from logp (V), log-probabilities (-inf: never drawn).
 * The kept tokens are the top_k most probable (ties to the smaller id),
 * then the fewest of those, most probable first, whose probability
 * reaches top_p; the draw is from their renormalised probabilities
 * softmax(logp / temperature).  Returns the token, or -1 if every token
 * is -inf.  Frees nothing: call sq_sampler_free() at the end.
 */
int32_t sq_sample(struct sq_sampler *s, const float *logp, int V,
    struct sq_sample_rng *g);
void sq_sampler_free(struct sq_sampler *s);

#endif
