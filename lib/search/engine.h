/*
 * engine: what the programs that run a model on a stream share (encode,
 * decode, beamsearch): finding the model the stream belongs to, and for
 * encode and decode the loop over an operand's records that opens the
 * model, a thread pool and the output stream at the first record.
 *
 * The model named by -m, else by $SEQPIPE_MODEL, else by the path hint in
 * the input stream's header, so that "tokenize -m M | encode | decode"
 * names the model once (design.md §2).  The stream's model id, when it
 * has one, must be the model's.
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

/*
 * Opens the model for stream r: path if not NULL (from -m or
 * $SEQPIPE_MODEL: sq_cli_model()), else r's header hint.  Returns NULL
 * with sq_errstr() set when there is none, it does not load, or the
 * stream belongs to another model.  Caller frees with sq_model_close().
 */
struct sq_model *sq_engine_model(const char *path, const struct sq_reader *r);

/*
 * The model path to put in an output stream's header: path made absolute
 * (so that a stream kept on disk finds its model from any directory), or
 * path as it is if that fails or does not fit.  Returns buf.
 */
const char *sq_engine_hint(const char *path, char *buf, size_t size);

/*
 * A filter from input streams to one output stream on stdout.  The caller
 * sets the first four fields; the rest start zeroed and are set at the
 * first record, so that an empty input needs no model and gives an empty
 * output (m stays NULL).
 */
struct sq_engine {
	const char *model_path;	/* sq_cli_model(): -m or $SEQPIPE_MODEL */
	int threads;		/* of the pool */
	int out_kind;		/* SQ_STREAM_* of the output */
	int mode;		/* SQ_WRITE_* of the output */
	struct sq_model *m;
	struct sq_pool *pool;
	struct sq_writer *w;	/* its header names m by hint */
	char hint[4096];
};

/* Called for record n_rec (from 0) of operand name, read from r. */
typedef void sq_engine_add_fn(void *ctx, const char *name, uint64_t n_rec,
    struct sq_record *rec, const struct sq_reader *r);

/*
 * Reads operand path (NULL or "-": stdin) as a stream of in_kind,
 * checking its header against e->m when there is one; at the first
 * record of all opens the model (sq_engine_model() with e->model_path,
 * else r's hint), the pool and the output; then calls add for each
 * record.  Returns the records read, or -1 with sq_errstr() set.
 */
long sq_engine_read(struct sq_engine *e, const char *path, int in_kind,
    sq_engine_add_fn *add, void *ctx);

/* Frees the output writer, the pool and the model (NULL ones too). */
void sq_engine_close(struct sq_engine *e);

#endif
