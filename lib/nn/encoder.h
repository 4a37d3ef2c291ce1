/*
 * encoder: the Transformer encoder over a batch of sentences (Vaswani et
 * al. 2017 §3; the math of every variant is in model.h and
 * man/seqpipe-model.5).
 *
 * The sentences of a batch are packed row after row, without padding:
 * every position-wise step (projections, norms, feed-forward) is one
 * matrix product over all rows, and self-attention runs per sentence over
 * that sentence's rows only, which is what a padding mask computes.  So a
 * sentence's output does not depend on the batch it came in, up to the
 * last bits (the BLAS path depends on the batch's rows: matrix-vector for
 * one), and no padding is computed however mixed the lengths.
 *
 * For a model of arch rnn the same calls run its GRU encoder
 * (nn/rnn_encoder.h) over the same packed rows.
 * A model with input frames reads sequences of feature vectors instead
 * of ids (sq_encoder_run_frames()): each k = subsample consecutive frames
 * are one position, their concatenation projected to the width.  With
 * attention_window N, a position attends to the positions within N of
 * it only, at a cost in N, not in the sentence's length.
 *
 * An encoder is used by one thread at a time; it borrows the model and
 * the pool, which must outlive it.
 */
#ifndef SQ_ENCODER_H
#define SQ_ENCODER_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_encoder;

/*
 * An encoder for model m computing with pool's threads (NULL: the caller
 * only).  Scratch grows to the largest batch seen.  Caller frees with
 * sq_encoder_free().
 */
struct sq_encoder *sq_encoder_new(const struct sq_model *m,
    struct sq_pool *pool);
void sq_encoder_free(struct sq_encoder *e);

/* The longest source the model takes: max_positions - offset. */
int sq_encoder_max_len(const struct sq_model *m);
/*
 * For input frames: the positions n_frames frames make (rounded up: the
 * last group is padded with zero frames), and the most frames the model
 * takes, sq_encoder_max_len() groups of subsample.
 */
int sq_encoder_frame_rows(const struct sq_model *m, int n_frames);
int sq_encoder_max_frames(const struct sq_model *m);

/*
 * Encodes n sentences: sentence i is src[i], len[i] ids, each in
 * [0, Vs), len[i] in [0, sq_encoder_max_len()].  Returns 0, or -1 with
 * sq_errstr() set naming the sentence index and the bad id or length.
 */
int sq_encoder_run(struct sq_encoder *e, int n, const int32_t *const *src,
    const int *len);

/*
 * For a model with input frames: encodes n utterances, utterance i
 * frames[i], n_frames[i] frames of frame_dim values (n_frames[i] in
 * [0, sq_encoder_max_frames()]), into sq_encoder_frame_rows() positions
 * each.  The values are the caller's to check (finite).  Returns 0, or
 * -1 with sq_errstr() set naming the utterance index.
 */
int sq_encoder_run_frames(struct sq_encoder *e, int n,
    const float *const *frames, const int *n_frames);

/*
 * The output of sentence i of the last run: (rows, D) row-major, after
 * the final norm if the model has one, rows = len[i] (ids) or its
 * positions (frames).  Borrowed until the next run.
 */
const float *sq_encoder_out(const struct sq_encoder *e, int i);
/* The rows of sentence i of the last run. */
int sq_encoder_rows(const struct sq_encoder *e, int i);

#endif
