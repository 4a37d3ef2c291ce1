/*
 * rnn_graph: the training forward and backward of arch rnn (the math is
 * man/seqpipe-model.5's "The rnn architecture"), behind train/graph.h's
 * API, which keeps the batch, the output projection and the loss.
 *
 * Teacher-forced: the decoder's GRU stack reads every target position of
 * a sentence in one walk (nn/gru.h), attention and the combined output
 * then run over all positions at once.  The backward goes through time
 * (train/gru_grad.h) layer by layer, the decoder's first, its gradient
 * reaching the encoder through the attention's keys and values and the
 * bridge's mean of the memory.  The kernels are those of decoding
 * (nn/gru.h, sq_linear, the attention of train/grad.h that gives
 * sq_attend()'s bits), so without dropout the loss is the score decode
 * --score gives.
 *
 * Dropout p (inverted, masks from train/grad.h's counter-based
 * generator): on both sides' embeddings, between GRU layers (the input of
 * every layer but the first), and on the combined outputs.  Not on the
 * memory, nor on the recurrent states.
 *
 * The activations live in one arena planned from the batch's sizes and
 * grown for a larger batch.  One thread at a time; it borrows the model,
 * its gradient model and the pool.
 */
#ifndef SQ_RNN_GRAPH_H
#define SQ_RNN_GRAPH_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_rnn_graph;

/* A batch packed row after row; borrowed until the backward. */
struct sq_rnn_batch {
	int n;
	const int32_t *src;	/* (Rs) source ids, checked */
	const long *s_first;	/* (n + 1) */
	const int32_t *dec;	/* (Rt) decoder inputs, checked */
	const long *t_first;	/* (n + 1) */
};

/* Caller frees with sq_rnn_graph_free(). */
struct sq_rnn_graph *sq_rnn_graph_new(const struct sq_model *m,
    const struct sq_model *gm, struct sq_pool *pool);
void sq_rnn_graph_free(struct sq_rnn_graph *r);

/*
 * The forward over b: hid (Rt, D) gets the combined outputs, dropped
 * with probability p and the masks of seed (p 0: no dropout).
 */
void sq_rnn_graph_forward(struct sq_rnn_graph *r, const struct sq_rnn_batch *b,
    float p, uint64_t seed, float *hid);

/*
 * Adds the gradients of the last forward to gm's arrays, from dhid (Rt,
 * D), the gradient of hid (overwritten).
 */
void sq_rnn_graph_backward(struct sq_rnn_graph *r, float *dhid);

#endif
