/*
 * init: the initial weights of a model to train, deterministic from a
 * seed (the same seed gives the same bits on any machine).
 *
 * As fairseq's and PyTorch's Transformers: every linear weight (out, in)
 * uniform in +-sqrt(6 / (in + out)) (Xavier/Glorot), embeddings normal
 * with standard deviation D^-1/2 (so that scaled by sqrt(D) they have
 * unit variance; the padding row zero), learned positions normal with
 * deviation D^-1/2, biases 0, layer-norm gains 1.  A GRU's weights are
 * uniform in +-1/sqrt(H) as PyTorch's nn.GRU draws them, its biases 0.
 */
#ifndef SQ_TRAIN_INIT_H
#define SQ_TRAIN_INIT_H

#include <stdint.h>

struct sq_model;

/* Fills the weights of m (made by sq_model_new()) from seed. */
void sq_init_weights(struct sq_model *m, uint64_t seed);

/*
 * splitmix64 (Steele et al. 2014): the generator behind every seeded
 * choice of training.  Advances *state and returns 64 random bits.
 */
uint64_t sq_splitmix64(uint64_t *state);

/* A uniform double in [0, 1) from the next 53 bits of *state. */
double sq_uniform(uint64_t *state);

#endif
