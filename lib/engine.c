/*
 * engine: the model of a stream (see engine.h).
 */
#include <stddef.h>

#include "engine.h"
#include "model.h"
#include "stream.h"
#include "util.h"

struct sq_model *
sq_engine_model(const char *path, const struct sq_reader *r)
{
	const struct sq_stream_info *info = sq_stream_info(r);
	struct sq_model *m;

	if (path == NULL && info->model_path[0] != '\0')
		path = info->model_path;
	if (path == NULL) {
		sq_seterr("no model: use -m FILE or set SEQPIPE_MODEL (the "
		    "input names none)");
		return NULL;
	}
	if ((m = sq_model_open(path)) == NULL)
		return NULL;
	if (sq_stream_check_model(r, m->model_id) < 0) {
		sq_model_close(m);
		return NULL;
	}
	return m;
}
