/*
 * engine: the model of a stream and the record loop of the filters that
 * run it (see engine.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/engine.h"
#include "nn/model.h"
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

struct sq_model *
sq_engine_model(const char *path, const struct sq_reader *r)
{
	const struct sq_stream_info *info = sq_stream_info(r);
	struct sq_model *m;
	char err[1024];

	if (path != NULL)
		return check(sq_model_open(path), r);
	if (info->model_path[0] == '\0') {
		sq_seterr("no model: use -m FILE or set SEQPIPE_MODEL (the "
		    "input names none)");
		return NULL;
	}
	if ((m = sq_model_open(info->model_path)) == NULL) {
		snprintf(err, sizeof(err), "%s", sq_errstr());
		sq_seterr("%s (the model the input names; use -m FILE)", err);
		return NULL;
	}
	return check(m, r);
}

const char *
sq_engine_hint(const char *path, char *buf, size_t size)
{
	char *abs = realpath(path, NULL);

	snprintf(buf, size, "%s", abs != NULL && strlen(abs) < size ? abs :
	    path);
	free(abs);
	return buf;
}

/* The model, pool and output, for the first record, read from r. */
static int
start(struct sq_engine *e, const struct sq_reader *r)
{
	if ((e->m = sq_engine_model(e->model_path, r)) == NULL)
		return -1;
	sq_engine_hint(e->model_path ? e->model_path :
	    sq_stream_info(r)->model_path, e->hint, sizeof(e->hint));
	e->pool = sq_pool_new(e->threads);
	e->w = sq_writer_open(stdout, e->out_kind, e->m->model_id, e->hint,
	    e->mode);
	return e->w == NULL ? -1 : 0;
}

long
sq_engine_read(struct sq_engine *e, const char *path, int in_kind,
    sq_engine_add_fn *add, void *ctx)
{
	struct sq_reader *r = sq_stream_open(path, in_kind);
	const char *name = sq_input_name(path);
	struct sq_record rec;
	long n = 0;
	int rc;

	if (r == NULL)
		return -1;
	if (e->m != NULL && sq_stream_check_model(r, e->m->model_id) < 0)
		goto fail;
	while ((rc = sq_stream_next(r, &rec)) == 1) {
		if (e->m == NULL && start(e, r) < 0)
			goto fail;
		add(ctx, name, n++, &rec, r);
	}
	if (rc < 0)
		goto fail;
	sq_stream_close(r);
	return n;
fail:
	sq_stream_close(r);
	return -1;
}

void
sq_engine_close(struct sq_engine *e)
{
	sq_writer_close(e->w);
	sq_pool_free(e->pool);
	sq_model_close(e->m);
}
