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
 * A model with input frames reads src_frames instead of src: src_len[i]
 * frames of frame_dim values, stacked by subsample into
 * ceil(src_len[i] / subsample) positions (nn/encoder.h).  With
 * attention_window the encoder's self-attention sees the positions within
 * the window only, as the engine's.
 *
 * Sentence i's decoder reads decoder_start_id (-1: the zero vector, whose
 * embedding has no gradient), y_1 .. y_n (or, for scheduled sampling, the
 * caller's inputs of the same length, starting so) and is scored on
 * y_1 .. y_n, EOS: n + 1 positions.
 *
 * For a model of arch rnn the encoder and decoder are train/rnn_graph.h's
 * (the batch, the output projection and the loss stay here).
 * A non-autoregressive model (config nat; nn/nat.h) reads instead the
 * source tokens it copies, sees every position (no causal mask), and is
 * scored on y_1 .. y_n: n positions; its length predictor adds
 * length_weight times the cross-entropy of the length class of each
 * pair (never smoothed), so that with a weight of 1 and no smoothing the
 * loss is minus the log-probability decode --nat --score gives.  Its
 * pairs need a source (one to copy).
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
	const int *src_len;		/* ids, or frames */
	const int32_t *const *tgt;	/* (n) target ids, no BOS or EOS */
	const int *tgt_len;
	const int32_t *const *dec_in;	/* NULL: teacher forcing; else (n)
					   decoder inputs, tgt_len[i] + 1 */
	const float *const *src_frames;	/* input frames: (n) src_len[i]
					   frames each, src unused */
};

struct sq_graph_opts {
	float label_smoothing;	/* eps of PyTorch's cross_entropy */
	float dropout;		/* on embeddings, attention weights, the
				   FFN's hidden layer and every sublayer's
				   output; 0 off */
	uint64_t seed;		/* the dropout masks: from (seed, step) */
	uint64_t step;
	float guide;		/* lambda of the guided-attention term on
				   the cross-attention (sq_graph_guide());
				   0 off */
	float guide_width;	/* its width g (train/grad.h's sq_guide) */
	float length_weight;	/* nat: of the length loss (0: none) */
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
 * The ids are copied: b may go before sq_graph_backward(); frames are
 * borrowed until then.
 */
double sq_graph_forward(struct sq_graph *g, const struct sq_pairs *b,
    const struct sq_graph_opts *o, long *n_tok);

/*
 * The positions a target of tgt_len tokens is scored on: tgt_len + 1 (EOS
 * included), tgt_len for a non-autoregressive model.
 */
int sq_graph_positions(const struct sq_model *m, int tgt_len);

/*
 * The guided-attention penalty of the last forward (0 unless o->guide >
 * 0): for every sentence, every query i of its Tq = n + 1 decoder
 * positions, the mean over decoder layers and heads of the expected
 * penalty of its cross-attention probabilities A (before dropout) over
 * the Tk source positions,
 *   sum over sentences and i of (1 / (L H)) sum over l, h, j of
 *   A_lh[i,j] (1 - exp(-(j/Tk - i/Tq)^2 / (2 g^2)))
 * (train/grad.h's sq_guide_penalty()): a sum over the scored positions,
 * as the loss is.  The backward adds the gradient of o->guide times it
 * (times scale) to the loss's.
 */
double sq_graph_guide(const struct sq_graph *g);

/* The argmax token of each scored position of the last forward. */
const int32_t *sq_graph_argmax(const struct sq_graph *g);

/*
 * Each sentence's part of the last forward's loss, (n) in the batch's
 * order: with no label smoothing, minus the log-probability of its
 * target (a nat model's: with its length's, times length_weight).
 * Borrowed until the next forward.
 */
const double *sq_graph_losses(const struct sq_graph *g);

/*
 * Adds the gradient of scale times the last forward's objective, the
 * loss plus o->guide times sq_graph_guide(), to gm's arrays (accumulates:
 * zero them between updates).  Once per forward.
 */
void sq_graph_backward(struct sq_graph *g, float scale);

/*
 * The same for the weighted sum of the sentences' losses, scale (n)
 * the weight of each (minimum-risk training's, train/risk.h).
 */
void sq_graph_backward_each(struct sq_graph *g, const float *scale);

#endif
