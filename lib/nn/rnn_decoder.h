/*
 * rnn_decoder: the decoder of arch rnn one step at a time, the arithmetic
 * behind nn/decoder.h's API for models of that arch (decoder.h keeps the
 * rows, their sentences and the checks; the math is man/seqpipe-model.5's).
 *
 * A row's state is decoder_layers GRU states of D floats.  A sentence's
 * rows start from the bridge's states, tanh(W_b mean(memory) + b_b); each
 * step runs the token's embedding up the GRU stack, attends from the top
 * state over the sentence's memory (Luong's "general" score, scaled as
 * the Transformer's), and combines the context with the top state:
 *   a = softmax(K q / sqrt(D)),  K = memory W_a^T (once per sentence)
 *   c = a memory,  o = tanh(W_c [c; q] + b_c)
 * then the output projection of o.  Choosing parents copies the states
 * (decoder_layers * D floats per row), the recurrent counterpart of the
 * Transformer's key/value cache.
 *
 * Workload per step with R rows: per layer two products of (R, D) by (3D,
 * D), then (R, 2D) by (D, 2D) and the output projection (R, D) by (Vt,
 * D); attention is R * S * D multiply-adds.
 */
#ifndef SQ_RNN_DECODER_H
#define SQ_RNN_DECODER_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_rnn_decoder;

/* Caller frees with sq_rnn_decoder_free(). */
struct sq_rnn_decoder *sq_rnn_decoder_new(const struct sq_model *m,
    struct sq_pool *pool);
void sq_rnn_decoder_free(struct sq_rnn_decoder *r);

/*
 * Starts a batch of n sentences whose memories are packed in mem
 * (first[n], D), sentence i at rows [first[i], first[i + 1]); mem and
 * first are borrowed until the next begin.  Row i is sentence i at its
 * first state; later selections may ask for up to max_rows rows.
 */
void sq_rnn_decoder_begin(struct sq_rnn_decoder *r, int n, const float *mem,
    const long *first, int max_rows);

/*
 * One step of rows rows: row j, of sentence sent[j], reads tokens[j]
 * (inside the target vocabulary, or -1 for the zero vector; checked by
 * the caller), and logp (rows, Vt) gets the log-softmax of the next
 * token.  align, when not NULL, (rows, max_src) gets each row's attention
 * weights over its source, zeros after it (max_src: the longest source).
 */
void sq_rnn_decoder_step(struct sq_rnn_decoder *r, int rows, const int *sent,
    const int32_t *tokens, float *logp, float *align, int max_src);

/* New row j takes the states of old row parent[j] (checked), n rows. */
void sq_rnn_decoder_select(struct sq_rnn_decoder *r, const int *parent,
    int n);

/*
 * The first states of n sentences (training computes them so too): mean
 * (n, D) gets each sentence's mean memory row (zero for an empty source)
 * and init (n, L D) = tanh(mean W_b^T + b_b), layer l's state in columns
 * [l D, (l + 1) D).
 */
void sq_rnn_first_states(float *init, float *mean, const struct sq_model *m,
    const float *mem, const long *first, int n, struct sq_pool *pool);

#endif
