/*
 * graph: the Transformer's training forward and backward over a batch of
 * sentence pairs, teacher-forced (Vaswani et al. 2017 §5; the math of
 * every variant is nn/model.h's and man/seqpipe-model.5's, the kernels
 * are nn/ops.h's for the forward and train/grad.h's for the backward).
 *
 * As in the engine, the sentences of a batch are packed row after row
 * without padding: every position-wise step is one matrix product over
 * all rows of the batch, attention runs per sentence over its own rows.
 * The decoder reads all T target positions at once (position t sees
 * positions <= t: the causal mask), so the forward of a pair computes
 * what the engine computes step by step, and its loss with no label
 * smoothing is minus the log-probability decode --score gives.
 *
 * Sentence i's decoder reads decoder_start_id (-1: the zero vector, whose
 * embedding has no gradient), y_1 .. y_n (or, for scheduled sampling, the
 * caller's inputs of the same length, starting so) and is scored on
 * y_1 .. y_n, EOS: n + 1 positions.
 *
 * For a model of arch rnn the encoder and decoder are train/rnn_graph.h's
 * (the batch, the output projection and the loss stay here).
 *
 * Memory: the activations the backward needs are kept in one arena
 * planned from the batch's sizes (rows, and the attention map sizes) and
 * grown only when a larger batch comes (llm.c's way).  The graph borrows
 * the model, its gradient model and the pool, which must outlive it.
 * One thread at a time.
 */
#ifndef SQ_GRAPH_H
#define SQ_GRAPH_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_graph;

/* A batch of n sentence pairs, borrowed by sq_graph_forward(). */
struct sq_pairs {
	int n;
	const int32_t *const *src;	/* (n) source ids, src_len[i] each */
	const int *src_len;
	const int32_t *const *tgt;	/* (n) target ids, no BOS or EOS */
	const int *tgt_len;
	const int32_t *const *dec_in;	/* NULL: teacher forcing; else (n)
					   decoder inputs, tgt_len[i] + 1 */
};

struct sq_graph_opts {
	float label_smoothing;	/* eps of PyTorch's cross_entropy */
	float dropout;		/* on embeddings, attention weights, the
				   FFN's hidden layer and every sublayer's
				   output; 0 off */
	uint64_t seed;		/* the dropout masks: from (seed, step) */
	uint64_t step;
};

/*
 * A graph for model m whose gradients go to gm, a model with the same
 * config bound to the gradient array (sq_params_bind()), computing with
 * pool (NULL: the caller only).  Caller frees with sq_graph_free().
 */
struct sq_graph *sq_graph_new(const struct sq_model *m,
    const struct sq_model *gm, struct sq_pool *pool);
void sq_graph_free(struct sq_graph *g);

/*
 * The forward over batch b, keeping what the backward needs.  Sets
 * *n_tok to the target positions scored and returns the summed loss
 * (label-smoothed cross-entropy, in nats), or -1 with sq_errstr() set
 * (an id outside the vocabulary, a sentence longer than the positions).
 * The ids are borrowed until sq_graph_backward().
 */
double sq_graph_forward(struct sq_graph *g, const struct sq_pairs *b,
    const struct sq_graph_opts *o, long *n_tok);

/* The argmax token of each scored position of the last forward. */
const int32_t *sq_graph_argmax(const struct sq_graph *g);

/*
 * Adds the gradient of scale times the last forward's loss to gm's
 * arrays (accumulates: zero them between updates).
 */
void sq_graph_backward(struct sq_graph *g, float scale);

#endif
