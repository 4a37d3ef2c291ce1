/*
 * decoder: the Transformer decoder, one target position per call, for
 * greedy search, sampling, forced decoding and beam search alike
 * (Vaswani et al. 2017 §3; PyTorch's nn.TransformerDecoderLayer and
 * fairseq's TransformerDecoderLayer for the variants in struct sq_config).
 *
 * Rows.  The unit of work is a row: one hypothesis (target prefix) of one
 * sentence.  sq_decoder_begin() starts a batch of n sentences with one row
 * each (row i is sentence i, empty prefix).  Each sq_decoder_step() feeds
 * one token to every row and returns every row's next-token log-probs.
 * sq_decoder_select() then says which rows go on and from which parents:
 * greedy search and sampling drop finished sentences with it, beam search
 * expands a sentence to k rows after the first step and afterwards keeps,
 * per sentence, the k rows whose parents the beam chose.  Every row of a
 * sentence shares that sentence's cross-attention keys and values, which
 * sq_decoder_begin() computes once per sentence and layer.
 *
 * The self-attention cache.  Step t writes the key and value of row r into
 * cell (t, r) of each layer.  A row keeps, for each earlier step, the index
 * of the cell its ancestor wrote then; sq_decoder_select() copies those
 * index lists (steps ints per row), never keys or values, so choosing
 * parents costs O(rows * steps) integers however wide the model is (the
 * cells are tagged by index, as whisper.cpp's kv_self cells by sequence).
 *
 * Workload: rows are batched into one matrix product per weight per step;
 * with one row the products run as matrix-vector products (memory-bound:
 * each step reads every decoder weight once).  Work is split over the
 * pool's threads by output columns.  Deterministic: the same rows, tokens
 * and parents give the same log-probs, for any number of threads.  A row
 * never sees another row's numbers, but a batch of another size may
 * differ in the last bits (the BLAS path depends on the number of rows:
 * matrix-vector for one, sgemm for many).
 *
 * Arch rnn.  For a model of that arch the same calls run its GRU decoder
 * (nn/rnn_decoder.h): a row's recurrent states take the place of the
 * cache, sq_decoder_select() copies them from the parents (decoder_layers
 * * D floats per row), and the alignment is its one attention's weights.
 *
 * A decoder is used by one thread at a time; it borrows the model and the
 * pool, which must outlive it.
 */
#ifndef SQ_DECODER_H
#define SQ_DECODER_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_decoder;

/*
 * A decoder for model m, computing with the threads of pool (NULL: the
 * calling thread only).  Scratch grows to the largest batch seen and is
 * kept.  Caller frees with sq_decoder_free().
 */
struct sq_decoder *sq_decoder_new(const struct sq_model *m,
    struct sq_pool *pool);
void sq_decoder_free(struct sq_decoder *d);

/*
 * Starts a batch of n >= 0 sentences.  Sentence i's encoder output is
 * mem[i], (src_len[i], D) row-major, borrowed until the next
 * sq_decoder_begin() or sq_decoder_free(), and its source ids src[i]
 * (src_len[i]), borrowed likewise; src may be NULL unless the model
 * copies (config copy, nn/copy.h; the ids must then be in the target
 * vocabulary, which shared_vocab makes the source's).  src_len[i] may be 0 (the
 * cross-attention of an empty source is then 0 plus the output bias, as
 * PyTorch computes it over an empty sequence).  Computes the cross-attention
 * keys and values of every layer for every sentence.  Afterwards there are
 * n rows, row i being sentence i with an empty prefix, and no step taken.
 *
 * max_rows bounds the rows any later sq_decoder_select() may ask for (n for
 * greedy search, n*k for a beam of k); max_steps bounds the steps of this
 * batch, at most cfg.max_positions.  Returns 0, or -1 with sq_errstr() set
 * (bad sizes).
 */
int sq_decoder_begin(struct sq_decoder *d, int n, const float *const *mem,
    const int32_t *const *src, const int *src_len, int max_rows,
    int max_steps);

/*
 * The non-autoregressive decoder (a model of config nat; model.h has the
 * math).  sq_decoder_begin_nat() starts a batch as sq_decoder_begin()
 * does (the cross-attention keys and values of every sentence, once),
 * and also borrows each sentence's source ids src[i] (src_len[i] of
 * them, which the decoder's inputs copy) until the next begin.  Then any
 * number of sq_decoder_nat() passes, each of at most max_rows positions
 * in all, every sequence at most max_len (<= the model's positions)
 * long, and sq_decoder_length() for the length predictor.  Returns 0,
 * or -1 with sq_errstr() set (bad sizes, an autoregressive model).
 * sq_decoder_begin() and sq_decoder_step() refuse a non-autoregressive
 * model, and these an autoregressive one.
 */
int sq_decoder_begin_nat(struct sq_decoder *d, int n, const float *const *mem,
    const int32_t *const *src, const int *src_len, int max_rows,
    int max_len);

/*
 * One pass over n target sequences at once: sequence q has len[q] >= 0
 * positions and belongs to sentence sent[q] of the batch (whose source
 * is not empty if len[q] > 0); a sentence may have several (length
 * candidates).  Every position is a row, sequence after sequence:
 * logp (sum of len, Vt) receives each position's log-softmax.  Each
 * sequence is computed apart from the others (up to the last bits, as
 * any batch).  Returns 0, or -1 with sq_errstr() set.
 */
int sq_decoder_nat(struct sq_decoder *d, int n, const int *sent,
    const int *len, float *logp);

/*
 * The length predictor's log-probs of every sentence of the batch:
 * logp (n, 2K+1), row i over the offsets T - S_i = -K .. K (nn/nat.h).
 * Returns 0, or -1 with sq_errstr() set (not a sq_decoder_begin_nat()
 * batch).
 */
int sq_decoder_length(struct sq_decoder *d, float *logp);

/* The sentence (index into the begin() batch) row r belongs to. */
int sq_decoder_sentence(const struct sq_decoder *d, int r);

/*
 * One step for every row: row r reads tokens[r] as its next input (at the
 * first step normally cfg.decoder_start_id, which may be -1, the zero
 * vector, when the config says so; afterwards the token chosen for it) and
 * logp (rows, Vt) receives, row by row, the log-probabilities of the
 * token that follows (log-softmax, or for a copy model the mixture of
 * nn/copy.h).  With alignment on (see
 * sq_decoder_set_align()) it also records the step's cross-attention.
 * Returns 0, or -1 with sq_errstr() set when max_steps steps were taken
 * or a token is outside [0, Vt) (and is not that -1).
 */
int sq_decoder_step(struct sq_decoder *d, const int32_t *tokens,
    float *logp);

/*
 * Chooses the rows that go on: new row r (0 <= r < n) continues old row
 * parent[r], taking over its sentence, prefix and cache.  Parents may
 * repeat (a beam that expands) or be left out (a finished hypothesis or
 * sentence); 0 <= n <= max_rows.  Rows of one sentence need not be
 * adjacent.  Costs n * steps integer copies.  Returns 0, or -1 with
 * sq_errstr() set on a parent out of range or n > max_rows.
 */
int sq_decoder_select(struct sq_decoder *d, const int *parent, int n);

/*
 * Alignment: when on, each step also keeps the cross-attention weights of
 * the last decoder layer averaged over heads (the usual choice, as fairseq
 * and CTranslate2 return).  Off by default (it costs a little per step).
 */
void sq_decoder_set_align(struct sq_decoder *d, int on);

/*
 * Monotonic attention, for tasks whose alignment moves forward (speech,
 * transliteration): at each step, the cross-attention of every layer and
 * head of row r sees only the source positions j >= focus_r - window,
 * focus_r being the arg-max (the first, on ties) of the previous step's
 * alignment of the row (the last layer's weights averaged over heads, as
 * sq_decoder_align() gives them), 0 before the first step.  A row
 * inherits its parent's focus through sq_decoder_select().  window < 0
 * turns it off (the default): then the decoder computes what it computed
 * before, bit for bit.  Set it before sq_decoder_begin().
 */
void sq_decoder_set_monotonic(struct sq_decoder *d, int window);

/*
 * The last step's alignment: (rows, S) with S the longest source of the
 * batch; row r has the weights of its sentence's src_len positions (they
 * sum to 1) and zeros after them.  Borrowed until the next call on d;
 * NULL if alignment is off or no step was taken.
 */
const float *sq_decoder_align(const struct sq_decoder *d, int *S);

#endif
