/*
 * engine: the model of a stream (see engine.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "model.h"
#include "stream.h"
#include "util.h"

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
