/*
 * rnn_encoder: the encoder of arch rnn (man/seqpipe-model.5): the source
 * embeddings through encoder_layers bidirectional GRU layers of D/2 units
 * per direction (nn/gru.h), each layer reading the concatenated [forward,
 * reverse] states of the one below; the memory is the last layer's
 * concatenated states, (S, D), as PyTorch's bidirectional nn.GRU outputs
 * them.  nn/encoder.h's API runs it for models of that arch.
 *
 * Sentences are packed row after row as in the Transformer's encoder; a
 * layer runs one product over all rows for the input projections and one
 * per step for the states.  One thread at a time; it borrows the model
 * and the pool.
 */
#ifndef SQ_RNN_ENCODER_H
#define SQ_RNN_ENCODER_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_rnn_encoder;

/* Caller frees with sq_rnn_encoder_free(). */
struct sq_rnn_encoder *sq_rnn_encoder_new(const struct sq_model *m,
    struct sq_pool *pool);
void sq_rnn_encoder_free(struct sq_rnn_encoder *e);

/*
 * Encodes n sentences of checked ids: sentence i is src[i], its rows
 * [first[i], first[i + 1]).  Returns the memory of all rows, (first[n],
 * D), borrowed until the next run.
 */
const float *sq_rnn_encoder_run(struct sq_rnn_encoder *e, int n,
    const int32_t *const *src, const long *first);

#endif
