/*
 * engine: the run-time glue of the programs that run a model on streams
 * (encode, decode, beamsearch), in one place: the operands read one after
 * the other as one stream of records, the model they belong to, the
 * thread pool, and the output stream; for memory streams, each record
 * checked against the model and, for a program that sorts by length,
 * read in windows of owned sentences.
 *
 * The model named by -m, else by $SEQPIPE_MODEL, else by the path hint in
 * the input stream's header, so that "tokenize -m M | encode | decode"
 * names the model once (design.md §2).  The stream's model id, when it
 * has one, must be the model's.  An encoder's input (in_kind
 * SQ_STREAM_SOURCE) must be of the kind its model reads: tokens or
 * frames (config input).  The model, the pool and the output are
 * opened at the first record, so that an empty input needs no model and
 * gives an empty output.
 *
 * A program is then its options and one loop:
 *	while ((rc = sq_engine_next(&e, &rec)) > 0)
 *		if (rc == SQ_ENGINE_PAUSE)
 *			... run the batch held, sq_stream_write(e.w, ...)
 *		else
 *			... rec into the batch (or run it at once)
 * (or sq_engine_window() for windows of memory sentences), and
 * sq_engine_close().
 *
 * Streaming (man/seqpipe.7): when the input pauses (sq_stream_wait(): a
 * line fed in alone), the program runs the partial batch it holds, and
 * the engine then ends the output with a flush record before it waits
 * for more, so the stages downstream run theirs in turn.  From a file,
 * or from a pipe whose writer is busy, batches fill as they always did.
 */
#ifndef SQ_ENGINE_H
#define SQ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct sq_model;
struct sq_pool;
struct sq_reader;
struct sq_record;
struct sq_writer;

/* One memory sentence of a window, owned by the engine until the next. */
/* sq_engine_next(): no record, the input paused: run what you hold. */
#define SQ_ENGINE_PAUSE 2

struct sq_memsent {
	uint64_t key;
	int n_src;
	const int32_t *src;	/* (n_src) */
	int rows;		/* S: source positions */
	const float *mem;	/* (S, D) */
};

/*
 * A filter from input streams to one output stream on stdout.  The caller
 * sets the fields up to mode (zero the rest) and calls sq_engine_next()
 * or sq_engine_window(); m, pool and w are set at the first record (m
 * stays NULL for an empty input), name and n_rec with each record.
 */
struct sq_engine {
	const char *model_path;	/* sq_cli_model(): -m or $SEQPIPE_MODEL */
	int threads;		/* of the pool */
	char **paths;		/* the operands; none: stdin */
	int n_paths;
	int in_kind;		/* SQ_STREAM_* of the operands, or
				   SQ_STREAM_SOURCE: tokens or frames, as
				   the model reads */
	int out_kind;		/* SQ_STREAM_* of the output */
	int mode;		/* SQ_WRITE_* of the output */
	int dtype;		/* the weights' enum sq_weight_dtype
				   (sq_model_open_as()): SQ_W_AUTO unless
				   --dtype */

	struct sq_model *m;
	struct sq_pool *pool;
	struct sq_writer *w;	/* its header names m by absolute path */
	const char *name;	/* the operand of the last record */
	uint64_t n_rec;		/* the last record's index in it, from 0 */

	/* private */
	struct sq_reader *r;	/* the operand being read, NULL between */
	int next_path;		/* operands opened */
	uint64_t n_read;	/* records read from r */
	uint64_t key_base;	/* lines of the earlier text operands */
	int held;		/* records handed out since the last pause */
	int pause_due;		/* a flush record, at the next call */
	char err[512];		/* the error returned, "" before one */
	char hint[4096];
	struct sq_memsent *sents;	/* (cap) the window */
	size_t *src_off, *mem_off;	/* (cap) where their copies start */
	int cap;
	int32_t *ids;		/* copies of the window's ids and floats */
	size_t n_ids, cap_ids;
	float *data;
	size_t n_data, cap_data;
};

/*
 * The next record of all operands, in order, into rec (borrowed until
 * the next call).  Opens the model, pool and output at the first record
 * and checks every operand's header against the model.  The keys of a
 * text ids operand continue from the lines of the earlier ones.  A
 * record is checked against the model: a tokens record's ids (in the
 * source vocabulary), a frames record's width (frame_dim) and values
 * (finite), a memory record's shape (n_src rows of D, or no ids for a
 * model of frames), its positions (at most the model's) and its floats
 * (finite).
 * Returns 1, 0 at the end of the last operand, or -1 with sq_errstr() set
 * to "FILE: record N (key K): what" or the like.  An error is kept: every
 * later call returns -1 again and sq_engine_error() says what it was, so
 * a program can first finish the whole records it holds (the last good
 * record is kept, the error names the next) and then report it.  Returns
 * SQ_ENGINE_PAUSE, with no record, when the input pauses after records
 * it handed out: the caller runs and writes what it holds of them, and
 * the next call writes the output's flush record (sq_writer_pause())
 * before it waits.  A pause with nothing handed out since the last one
 * is passed on at once.
 */
int sq_engine_next(struct sq_engine *e, struct sq_record *rec);

/* The message of the error sq_engine_next() returned, or NULL if none. */
const char *sq_engine_error(const struct sq_engine *e);

/*
 * An empty source (no position: nothing to encode or decode) takes no
 * place in a batch or a window, so the others are computed in the same
 * batches as without it and come out the same to the bit; a batch or a
 * window of N places holds at most SQ_HELD * N sentences in all.
 */
#define SQ_HELD 8

/*
 * The next memory sentences, in input order, up to max of them with
 * positions, copied (and owned until the next call; the previous
 * window's are freed): sets *sents and returns how many, 0 at the end,
 * or -1 as sq_engine_next().  The empty ones (no position: nothing to
 * decode) come along without counting, so that a window holds the same
 * sentences to decode with or without them, up to SQ_HELD * max
 * sentences in all.
 * A window ends early, after at least one sentence, when the input
 * pauses; the next call passes the pause on.  The sentences read before
 * an error come first as a window of their own; the call after it
 * returns -1.
 */
int sq_engine_window(struct sq_engine *e, int max,
    const struct sq_memsent **sents);

/* Frees the window, the reader, the writer, the pool and the model. */
void sq_engine_close(struct sq_engine *e);

#endif
