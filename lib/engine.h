/*
 * engine: what the programs that run a model on a stream share (encode,
 * decode, beamsearch): finding the model the stream belongs to.
 *
 * The model named by -m, else by $SEQPIPE_MODEL, else by the path hint in
 * the input stream's header, so that "tokenize -m M | encode | decode"
 * names the model once (design.md §2).  The stream's model id, when it
 * has one, must be the model's.
 */
#ifndef SQ_ENGINE_H
#define SQ_ENGINE_H

#include <stddef.h>

struct sq_model;
struct sq_reader;

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

#endif
