/*
 * engine: the operands, the model, the pool and the output of the
 * programs that run a model (see engine.h).
 *
 * Invariants: e->m is NULL until the first record, and from then on every
 * operand opened has a header naming e->m (or none); a memory record
 * handed out has n_src rows of D finite floats (none if n_src is 0); a
 * window's ids and floats are copies, since stream records are only
 * borrowed until the next sq_stream_next().
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/engine.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/packed.h"
#include "base/pool.h"
#include "io/stream.h"
#include "base/util.h"

/* m if the stream may be read with it, else NULL (m closed). */
static struct sq_model *
check(struct sq_model *m, const struct sq_reader *r)
{
	if (m != NULL && sq_stream_check_model(r, m->model_id) < 0) {
		sq_model_close(m);
		return NULL;
	}
	return m;
}

/*
 * The model at path in dtype; float32 panels the file stores are
 * multiplied by as they are where this CPU has the kernels for them.
 */
static struct sq_model *
open_model(const char *path, int dtype)
{
	sq_ops_init();
	return sq_packed_available() ? sq_model_open_panels(path, dtype) :
	    sq_model_open_as(path, dtype);
}

/*
 * The model for stream r, its weights in dtype: path if not NULL (-m or
 * $SEQPIPE_MODEL), else r's header hint; NULL with sq_errstr() set when there is none, it does
 * not load, or the stream belongs to another model.
 */
static struct sq_model *
find_model(const char *path, int dtype, const struct sq_reader *r)
{
	const struct sq_stream_info *info = sq_stream_info(r);
	struct sq_model *m;
	char err[1024];

	if (path != NULL)
		return check(open_model(path, dtype), r);
	if (info->model_path[0] == '\0') {
		sq_seterr("no model: use -m FILE or set SEQPIPE_MODEL (the "
		    "input names none)");
		return NULL;
	}
	if ((m = open_model(info->model_path, dtype)) == NULL) {
		snprintf(err, sizeof(err), "%s", sq_errstr());
		sq_seterr("%s (the model the input names; use -m FILE)", err);
		return NULL;
	}
	return check(m, r);
}

/*
 * The model path for an output stream's header: path made absolute (so
 * that a stream kept on disk finds its model from any directory), or
 * path as it is if that fails or does not fit.  Returns buf.
 */
static const char *
hint(const char *path, char *buf, size_t size)
{
	char *abs = realpath(path, NULL);

	snprintf(buf, size, "%s", abs != NULL && strlen(abs) < size ? abs :
	    path);
	free(abs);
	return buf;
}

/*
 * An encoder's input (in_kind SQ_STREAM_SOURCE) must be what its model
 * reads: tokens (text ids too) or frames.  0, or -1 with sq_errstr() set.
 */
static int
check_source(const struct sq_engine *e)
{
	const struct sq_stream_info *info = sq_stream_info(e->r);
	int frames = e->m->cfg.input == SQ_INPUT_FRAMES;

	if (e->in_kind != SQ_STREAM_SOURCE || info->kind ==
	    (frames ? SQ_STREAM_FRAMES : SQ_STREAM_TOKENS))
		return 0;
	sq_seterr("%s: header: %s, but the model %s reads %s (config input "
	    "%s)", e->name, info->is_text ? "text ids" : frames ?
	    "a tokens stream" : "a frames stream", e->m->path, frames ?
	    "frames" : "tokens", frames ? "frames" : "tokens");
	return -1;
}

/* The model, pool and output, for the first record, read from e->r. */
static int
start(struct sq_engine *e)
{
	if ((e->m = find_model(e->model_path, e->dtype, e->r)) == NULL)
		return -1;
	hint(e->model_path ? e->model_path :
	    sq_stream_info(e->r)->model_path, e->hint, sizeof(e->hint));
	e->pool = sq_pool_new(e->threads);
	sq_packed_model(e->m, e->in_kind == SQ_STREAM_SOURCE);
	if (check_source(e) < 0)
		return -1;
	e->w = sq_writer_open(stdout, e->out_kind, e->m->model_id, e->hint,
	    e->mode);
	return e->w == NULL ? -1 : 0;
}

/* Opens the next operand, checking its header against the model. */
static int
open_next(struct sq_engine *e)
{
	const char *path = e->n_paths ? e->paths[e->next_path] : NULL;

	e->next_path++;
	e->n_read = 0;
	e->name = sq_input_name(path);
	if ((e->r = sq_stream_open(path, e->in_kind)) == NULL)
		return -1;
	if (e->m != NULL && (sq_stream_check_model(e->r, e->m->model_id) < 0 ||
	    check_source(e) < 0))
		return -1;
	return 0;
}

/* n floats all finite: 0, or -1 with the error naming the record. */
static int
check_finite(const struct sq_engine *e, const struct sq_record *rec,
    const char *what)
{
	for (size_t t = 0; t < (size_t)rec->rows * rec->cols; t++)
		if (!isfinite(rec->data[t])) {
			sq_seterr("%s: record %llu (key %llu): %s holds %g",
			    e->name, (unsigned long long)e->n_rec,
			    (unsigned long long)rec->key, what, rec->data[t]);
			return -1;
		}
	return 0;
}

/*
 * A memory record the model can decode: rows of D, as many as the
 * source ids (none from a model of frames, whose rows are positions of
 * frames), at most the model's positions.  0, or -1 with sq_errstr() set.
 */
static int
check_memory(const struct sq_engine *e, const struct sq_record *rec)
{
	const struct sq_config *c = &e->m->cfg;
	unsigned long long n = e->n_rec, key = rec->key;
	int frames = c->input == SQ_INPUT_FRAMES;

	if ((frames ? rec->n_src != 0 : rec->rows != rec->n_src) ||
	    (rec->rows > 0 && rec->cols != (uint32_t)c->d_model)) {
		if (frames)
			sq_seterr("%s: record %llu (key %llu): memory of %u x %u "
			    "with %u source ids, the model reads frames: "
			    "rows of %d, no ids", e->name, n, key, rec->rows,
			    rec->cols, rec->n_src, c->d_model);
		else
			sq_seterr("%s: record %llu (key %llu): memory of %u x %u "
			    "for %u source tokens, the model needs %u x %d",
			    e->name, n, key, rec->rows, rec->cols, rec->n_src,
			    rec->n_src, c->d_model);
		return -1;
	}
	if (rec->rows > (uint32_t)(c->max_positions - c->position_offset)) {
		sq_seterr("%s: record %llu (key %llu): %u source positions, "
		    "the model has %d", e->name, n, key, rec->rows,
		    c->max_positions - c->position_offset);
		return -1;
	}
	/* a copy model points at the source ids: they index its vocabulary */
	for (uint32_t t = 0; c->copy && t < rec->n_src; t++)
		if (rec->src[t] < 0 || rec->src[t] >= c->tgt_vocab_size) {
			sq_seterr("%s: record %llu (key %llu): source id %d "
			    "outside the vocabulary [0, %d)", e->name, n, key,
			    (int)rec->src[t], c->tgt_vocab_size);
			return -1;
		}
	return check_finite(e, rec, "memory");
}

/* A frames record of the model's width: 0, or -1 with sq_errstr() set. */
static int
check_frames(const struct sq_engine *e, const struct sq_record *rec)
{
	if (rec->rows > 0 && rec->cols != (uint32_t)e->m->cfg.frame_dim) {
		sq_seterr("%s: record %llu (key %llu): frames of %u values, the "
		    "model reads %d (config frame_dim)", e->name,
		    (unsigned long long)e->n_rec, (unsigned long long)rec->key,
		    rec->cols, e->m->cfg.frame_dim);
		return -1;
	}
	return check_finite(e, rec, "a frame");
}

/*
 * Before a read from e->r: the flush record the caller's batch has been
 * written before, or the input's pause.  SQ_ENGINE_PAUSE for the caller
 * to run what it holds, 0 to read on, -1 on a write error.
 */
static int
pause_point(struct sq_engine *e)
{
	char err[1024];
	int due = e->pause_due;

	e->pause_due = 0;
	if (!due && !sq_stream_wait(e->r))
		return 0;
	if (!due && e->held) {
		e->held = 0;
		e->pause_due = 1;
		return SQ_ENGINE_PAUSE;
	}
	if (e->w != NULL && sq_writer_pause(e->w) < 0) {
		snprintf(err, sizeof(err), "%s", sq_errstr());
		sq_seterr("<stdout>: %s", err);
		return -1;
	}
	return 0;
}

/* A tokens record the encoder can take: 0, or -1 with sq_errstr() set. */
static int
check_tokens(const struct sq_engine *e, const struct sq_record *rec)
{
	int n_vocab = e->m->cfg.src_vocab_size;

	for (uint32_t t = 0; t < rec->n_ids; t++)
		if (rec->ids[t] < 0 || rec->ids[t] >= n_vocab) {
			sq_seterr("%s: record %llu (key %llu): id %d outside "
			    "the source vocabulary [0, %d)", e->name,
			    (unsigned long long)e->n_rec,
			    (unsigned long long)rec->key, (int)rec->ids[t],
			    n_vocab);
			return -1;
		}
	return 0;
}

static int
next(struct sq_engine *e, struct sq_record *rec)
{
	int rc;

	for (;;) {
		if (e->r == NULL) {
			if (e->next_path >= SQ_MAX(e->n_paths, 1))
				return 0;
			if (open_next(e) < 0)
				return -1;
		}
		if ((rc = pause_point(e)) != 0)
			return rc;
		if ((rc = sq_stream_next(e->r, rec)) < 0)
			return -1;
		if (rc == 1)
			break;
		if (sq_stream_info(e->r)->is_text)
			e->key_base += e->n_read;
		sq_stream_close(e->r);
		e->r = NULL;
	}
	e->n_rec = e->n_read++;
	e->held = 1;
	if (e->m == NULL && start(e) < 0)
		return -1;
	if (sq_stream_info(e->r)->is_text)
		rec->key += e->key_base;
	if (rec->kind == SQ_REC_MEMORY ? check_memory(e, rec) < 0 :
	    rec->kind == SQ_REC_FRAMES ? check_frames(e, rec) < 0 :
	    check_tokens(e, rec) < 0)
		return -1;
	return 1;
}

int
sq_engine_next(struct sq_engine *e, struct sq_record *rec)
{
	int rc;

	if (e->err[0] == '\0') {
		if ((rc = next(e, rec)) >= 0)
			return rc;
		/* "" would read as no error */
		snprintf(e->err, sizeof(e->err), "%s", sq_errstr()[0] ?
		    sq_errstr() : "error");
	}
	sq_seterr("%s", e->err);
	return -1;
}

const char *
sq_engine_error(const struct sq_engine *e)
{
	return e->err[0] ? e->err : NULL;
}

/* Grows *p (of *cap elements of size sz) to hold need; keeps contents. */
static void *
grow(void *p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return p;
	*cap = SQ_MAX(need, 2 * *cap);
	return sq_reallocarray(p, *cap, sz);
}

/* Copies memory record rec into sentence i of the window. */
static void
keep(struct sq_engine *e, const struct sq_record *rec, int i)
{
	struct sq_memsent *s = &e->sents[i];
	size_t n = (size_t)rec->rows * rec->cols;

	s->key = rec->key;
	s->n_src = (int)rec->n_src;
	s->rows = (int)rec->rows;
	/* offsets for now: the buffers may move while the window fills */
	e->src_off[i] = e->n_ids;
	e->mem_off[i] = e->n_data;
	/* an empty source may come first: no copy from or to NULL */
	if (rec->n_src > 0) {
		e->ids = grow(e->ids, &e->cap_ids, e->n_ids + rec->n_src,
		    sizeof(int32_t));
		memcpy(e->ids + e->n_ids, rec->src,
		    rec->n_src * sizeof(int32_t));
		e->n_ids += rec->n_src;
	}
	if (n > 0) {
		e->data = grow(e->data, &e->cap_data, e->n_data + n,
		    sizeof(float));
		memcpy(e->data + e->n_data, rec->data, n * sizeof(float));
		e->n_data += n;
	}
}

int
sq_engine_window(struct sq_engine *e, int max,
    const struct sq_memsent **sents)
{
	struct sq_record rec;
	int n = 0, full = 0, rc = 1, i;

	e->n_ids = e->n_data = 0;
	while (full < max && n < SQ_HELD * max &&
	    (rc = sq_engine_next(e, &rec)) > 0) {
		if (rc == SQ_ENGINE_PAUSE) {
			if (n > 0)
				break;
			continue;
		}
		if (n == e->cap) {
			e->cap = SQ_MAX(2 * e->cap, max);
			e->sents = sq_reallocarray(e->sents, e->cap,
			    sizeof(*e->sents));
			e->src_off = sq_reallocarray(e->src_off, e->cap,
			    sizeof(size_t));
			e->mem_off = sq_reallocarray(e->mem_off, e->cap,
			    sizeof(size_t));
		}
		full += rec.rows > 0;
		keep(e, &rec, n++);
	}
	if (rc < 0 && n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		e->sents[i].src = e->ids + e->src_off[i];
		e->sents[i].mem = e->data + e->mem_off[i];
	}
	*sents = e->sents;
	return n;
}

void
sq_engine_close(struct sq_engine *e)
{
	sq_stream_close(e->r);
	sq_writer_close(e->w);
	sq_pool_free(e->pool);
	sq_packed_free(e->m);
	sq_model_close(e->m);
	free(e->sents);
	free(e->src_off);
	free(e->mem_off);
	free(e->ids);
	free(e->data);
}
