/*
 * decoding: what the programs that turn memory streams into tokens share
 * (decode, beamsearch): the --max-len rule, the model found for the input
 * (-m, else $SEQPIPE_MODEL, else the stream header's path hint) and
 * checked against every operand's header, the input read in windows of
 * owned sentences, and the order in which a window is cut into batches of
 * similar source length (design.md §5), so results go out in input order.
 */
#ifndef SQ_DECODING_H
#define SQ_DECODING_H

#include <stdint.h>

struct sq_model;

/* --max-len a,b: at most floor(a * S + b) steps for a source of S tokens. */
struct sq_maxlen {
	double a, b;
};

/* Parses "a,b" or "b" (a = 0); 0, or -1 with sq_errstr() set. */
int sq_maxlen_parse(struct sq_maxlen *ml, const char *s);

/*
 * Steps allowed (EOS included) for a source of src_len tokens under
 * model m: floor(a * src_len + b), at least 0 and at most the positions
 * the decoder can embed (max_positions - position_offset).
 */
int sq_maxlen_steps(const struct sq_maxlen *ml, int src_len,
    const struct sq_model *m);

/* One input sentence, owned by the window it was read into. */
struct sq_memsent {
	uint64_t key;
	int n_src;
	const int32_t *src;	/* (n_src) */
	int rows;		/* S: source positions */
	const float *mem;	/* (S, D) */
};

struct sq_memin;

/*
 * Opens the operands (n_paths 0: stdin) as memory streams, one after the
 * other.  The model: model_arg (-m or $SEQPIPE_MODEL, may be NULL), else
 * the first operand's header path hint, found and checked by
 * sq_engine_model(); it is opened (mmap) at once when known.  Returns NULL with sq_errstr() set on failure; an input with no
 * records and no model is not a failure (sq_memin_model() is then NULL).
 * Caller frees with sq_memin_close(), which closes the model too.
 */
struct sq_memin *sq_memin_open(int n_paths, char **paths,
    const char *model_arg);
const struct sq_model *sq_memin_model(const struct sq_memin *in);

/*
 * Reads the next up to max sentences, in input order, copying them
 * (earlier windows' sentences are freed); each operand's header is
 * checked against the model and each record's width against D.  Sets
 * *sents and returns how many, 0 at the end of the last operand, or -1
 * with sq_errstr() set to "FILE: record N (key K): what".
 */
int sq_memin_read(struct sq_memin *in, int max,
    const struct sq_memsent **sents);
void sq_memin_close(struct sq_memin *in);

/*
 * Cuts n sentences of source lengths len[] into batches of similar
 * length: order[] receives the sentence indices sorted by length (ties in
 * input order) and start[] the first position in order[] of each batch,
 * with start[n_batches] = n.  A batch holds at most batch_size sentences
 * and, unless one alone exceeds it, at most batch_tokens source tokens
 * (0: no limit).  Returns n_batches; start needs n + 1 elements.
 */
int sq_batch_plan(int *order, int *start, const int *len, int n,
    int batch_size, long batch_tokens);

#endif
