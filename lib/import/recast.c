/*
 * recast: a model file's weights in another dtype (see recast.h).  The
 * conversion itself is the writer's (nn/save.c), from the float32
 * weights the loader gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/recast.h"
#include "nn/model.h"
#include "base/util.h"

static const char *const ending[] = { "-f32", "-f16", "-int8" };

void
sq_recast_id(char *id, size_t size, const char *base, int dtype)
{
	size_t n = strlen(base), e;
	int i, had = 0;

	for (i = 0; i < 3; i++) {
		e = strlen(ending[i]);
		if (n > e && strcmp(base + n - e, ending[i]) == 0) {
			n -= e;
			had = 1;
			break;
		}
	}
	snprintf(id, size, "%.*s%s", (int)SQ_MIN(n, size - 6), base,
	    dtype != SQ_W_F32 || had ? ending[dtype] : "");
}

int
sq_recast(const char *in, const char *out, int dtype, int panels,
    const char *tool)
{
	struct sq_model *m = sq_model_open(in);
	struct sq_save_opts so = { .dtype = dtype, .panels = panels };
	struct sq_extra_meta *kv = NULL;
	char id[sizeof(m->model_id)], *prov;
	size_t len;
	int rc;

	if (m == NULL)
		return -1;
	so.n_meta = sq_model_tool_meta(m, &kv);
	so.meta = kv;
	sq_recast_id(id, sizeof(id), m->model_id, dtype);
	memcpy(m->model_id, id, strlen(id) + 1);
	len = strlen(m->provenance) + strlen(tool) + 32;
	prov = sq_malloc(len);
	snprintf(prov, len, "%s%s%s --dtype %s%s", m->provenance,
	    m->provenance[0] ? "; " : "", tool, sq_weight_dtype_names[dtype],
	    panels ? " --panels" : "");
	m->provenance = prov;
	rc = sq_model_save(m, out, &so);
	free(prov);
	free(kv);
	sq_model_close(m);
	return rc;
}
