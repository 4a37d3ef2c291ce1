/*
 * decoding: what the searches over lib/decoder share (decode, beamsearch;
 * their input comes from lib/search/engine): the --max-len rule, the order
 * in which a window of sentences is cut into batches of similar source
 * length (design.md §5), so results go out in input order, and beam
 * search's step function over the decoder (lib/search/beam's contract),
 * which any program may reuse.
 */
#ifndef SQ_DECODING_H
#define SQ_DECODING_H

#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_beam_step;

/*
 * --max-len a,b: at most floor(a * S + b) steps for a source of S tokens.
 * With marian set, Marian's rule for its max-length-factor a instead (b
 * unused): the smallest n >= 1 with n >= a * S in float32, for S >= 1.
 */
struct sq_maxlen {
	double a, b;
	int marian;
};

/* Parses "a,b" or "b" (a = 0); 0, or -1 with sq_errstr() set. */
int sq_maxlen_parse(struct sq_maxlen *ml, const char *s);

/*
 * Steps allowed (EOS included) for a source of src_len tokens under
 * model m: ml's rule, at least 0 and at most the positions the decoder
 * can embed (max_positions - position_offset).
 *
 * A rule every search follows: an empty source (0 positions) is allowed
 * no step, under any rule, so its only hypothesis is the empty
 * translation, score 0 (man/decode.1).  Decoding it would attend over no
 * key at all, and a model that never saw an empty source makes a
 * sentence up.  (A Marian model's empty line is its </s>: 1 position,
 * not empty; lib/search/marian_search has Marian's rule for it.)
 */
int sq_maxlen_steps(const struct sq_maxlen *ml, int src_len,
    const struct sq_model *m);

/*
 * A rule every search follows: the model's padding is never produced.  A
 * model whose decoder starts from its pad row (Hugging Face's Marian)
 * gives pad a log-prob like any other id; Hugging Face bans it with
 * bad_words_ids, fairseq's search bans pad always.  Sets logp[pad_id] to
 * -inf in the rows of logp (rows, Vt), unless pad_id is -1 or EOS's.
 */
void sq_search_ban(const struct sq_model *m, float *logp, int rows);

/*
 * Cuts n sentences of source lengths len[] into batches of similar
 * length: order[] receives the sentence indices sorted by length (ties in
 * input order) and start[] the first position in order[] of each batch,
 * with start[n_batches] = n.  A batch holds at most batch_size sentences
 * and, unless one alone exceeds it, at most batch_tokens source tokens
 * (0: no limit).  Empty sources (length 0: no step, see sq_maxlen_steps())
 * come first and form batches of their own, so the others are cut into
 * the same batches as without them.  Returns n_batches; start needs
 * n + 1 elements.
 */
int sq_batch_plan(int *order, int *start, const int *len, int n,
    int batch_size, long batch_tokens);

/*
 * Beam search (lib/search/beam) over the decoder of model m, for batches
 * of up to max_sent sentences of k hypotheses each, computing with pool
 * (borrowed, may be NULL).  Caller frees with sq_beam_decoder_free().
 */
struct sq_beam_decoder;
struct sq_beam_decoder *sq_beam_decoder_new(const struct sq_model *m,
    struct sq_pool *pool, int max_sent, int k);
void sq_beam_decoder_free(struct sq_beam_decoder *bd);

/* Monotonic attention of the decoder's rows (sq_decoder_set_monotonic()). */
void sq_beam_decoder_set_monotonic(struct sq_beam_decoder *bd, int window);

/*
 * Starts a batch of n <= max_sent sentences, sentence i of source ids
 * src[i] and memory mem[i] (src_len[i], D), of at most max_steps steps,
 * as sq_decoder_begin().
 * Returns 0, or -1 with sq_errstr() set.
 */
int sq_beam_decoder_begin(struct sq_beam_decoder *bd, int n,
    const float *const *mem, const int32_t *const *src, const int *src_len,
    int max_steps);

/*
 * The step function (a sq_beam_step_fn) of sq_beam_run(..., ctx = bd)
 * after sq_beam_decoder_begin(): selects the rows the search asks for
 * (their parents, or at the first step the sentences that take one) and
 * steps the decoder, banning what sq_search_ban() bans.  Returns (n_rows,
 * Vt) log-probabilities, owned by bd
 * until the next call, or NULL with sq_errstr() set.
 */
float *sq_beam_decoder_step(void *bd, const struct sq_beam_step *st);

#endif
