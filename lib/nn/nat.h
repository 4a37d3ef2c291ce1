/*
 * nat: the rules of a non-autoregressive model (config nat; the math is
 * nn/model.h's and man/seqpipe-model.5's) that its training
 * (train/graph) and its decoding (nn/decoder, search/nat_search) share,
 * so that the two cannot drift apart.
 */
#ifndef SQ_NAT_H
#define SQ_NAT_H

#include "nn/model.h"

/* The length predictor's classes: the offsets T - S in [-K, K]. */
static inline int
sq_nat_classes(const struct sq_config *c)
{
	return 2 * c->nat_max_offset + 1;
}

/*
 * The class of a target of T positions for a source of S: its offset
 * T - S clamped to [-K, K], plus K.
 */
static inline int
sq_nat_class(const struct sq_config *c, int S, int T)
{
	int K = c->nat_max_offset, d = T - S;

	return (d < -K ? -K : d > K ? K : d) + K;
}

/*
 * The source position target position i of T copies (the uniform copy
 * of Gu et al. 2018): floor(i S / T), in [0, S) for i in [0, T).
 */
static inline int
sq_nat_copy(int i, int S, int T)
{
	return (int)((long)i * S / T);
}

#endif
