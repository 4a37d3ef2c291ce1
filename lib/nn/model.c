/*
 * model: opens a seqpipe model file (safetensors, lib/nn/model.h,
 * man/seqpipe-model.5) as a validated read-only map.
 *
 * The container is nn/safetensors' (mapped, its entries checked: offsets
 * inside the data area, no overlaps, byte sizes equal to product(shape)
 * times the dtype size, float32 data 4-aligned).  Loading reads the
 * header only: every check here is arithmetic on the JSON (the config
 * complete and coherent, every tensor the config needs present with the
 * shape it implies, no tensor left unexplained).  The weights are never
 * touched, so opening a 300 MB model costs a few system calls and a
 * header parse.  Once sq_model_open() returns, every pointer in struct
 * sq_model may be dereferenced over its documented shape without checks.
 */
#include <jansson.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"
#include "nn/i8gemm.h"
#include "nn/model.h"
#include "nn/panels.h"
#include "nn/params.h"
#include "nn/safetensors.h"
#include "nn/weights.h"
#include "base/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seqpipe maps little-endian float32 weights directly: big-endian hosts are not supported"
#endif

#define FORMAT "seqpipe-1"

const char *const sq_weight_dtype_names[SQ_W_N] = { "f32", "f16", "int8" };

/* State while opening: the model under construction and its file. */
struct loader {
	struct sq_model *m;
	const char *path;
	struct sq_st *st;
	int panels;		/* float32 panels stay so (open_model()) */
};

/* ---- metadata and config ---- */

/*
 * A model id travels in stream headers and their one-line text forms: 1
 * to size - 1 bytes, no control characters.  Returns 0 or -1.
 */
static int
check_id(const char *path, const char *id, size_t size)
{
	size_t n = strlen(id);

	if (n == 0 || n >= size) {
		sq_seterr("%s: model_id must have 1 to %zu bytes", path,
		    size - 1);
		return -1;
	}
	for (; *id; id++)
		if ((unsigned char)*id < 0x20 || *id == 0x7f) {
			sq_seterr("%s: model_id has a control character", path);
			return -1;
		}
	return 0;
}

/*
 * Reads __metadata__ into m: the format tag, model id, provenance and the
 * config (defaults for missing optional keys).  Returns 0 or -1.
 */
static int
parse_metadata(struct sq_model *m, const char *path, json_t *root)
{
	struct sq_config *c = &m->cfg;
	json_t *meta = json_object_get(root, "__metadata__"), *v;
	const char *k, *s;
	int seen[64] = {0}, i;

	if (!json_is_object(meta)) {
		sq_seterr("%s: no __metadata__ object: not a seqpipe model", path);
		return -1;
	}
	s = json_string_value(json_object_get(meta, "format"));
	if (s == NULL || strcmp(s, FORMAT) != 0) {
		sq_seterr("%s: metadata format is %s%s%s, expected \"" FORMAT
		    "\": not a seqpipe model or a newer one", path,
		    s ? "\"" : "", s ? s : "missing", s ? "\"" : "");
		return -1;
	}
	sq_config_defaults(c);
	m->provenance = "";

	json_object_foreach(meta, k, v) {
		if (!json_is_string(v)) {
			sq_seterr("%s: metadata value of \"%s\" is not a string",
			    path, k);
			return -1;
		}
		s = json_string_value(v);
		if (strcmp(k, "format") == 0)
			continue;
		if (strcmp(k, "provenance") == 0) {
			m->provenance = s;
			continue;
		}
		if (strcmp(k, "model_id") == 0) {
			if (check_id(path, s, sizeof(m->model_id)) < 0)
				return -1;
			memcpy(m->model_id, s, strlen(s) + 1);
			continue;
		}
		if ((i = sq_config_set(c, k, s)) == -2) {
			/* a misspelt config key must not pass for a default */
			if (strchr(k, '.') != NULL)
				continue;
			sq_seterr("%s: unknown metadata key \"%s\" (tools may "
			    "add keys that contain a dot)", path, k);
			return -1;
		}
		if (i < 0) {
			sq_seterr("%s: %s", path, sq_errstr());
			return -1;
		}
		seen[i] = 1;
	}
	if (m->model_id[0] == '\0') {
		sq_seterr("%s: metadata has no model_id", path);
		return -1;
	}
	for (i = 0; i < sq_config_n_keys(); i++) {
		if (seen[i] && !sq_config_applies(c, i)) {
			sq_seterr("%s: config %s does not apply to arch %s",
			    path, sq_config_key(i), sq_config_arch_name(c->arch));
			return -1;
		}
		if (sq_config_required(i) && sq_config_applies(c, i) &&
		    !seen[i]) {
			sq_seterr("%s: config %s missing from the metadata",
			    path, sq_config_key(i));
			return -1;
		}
	}
	sq_config_finish(c);
	return 0;
}

/* ---- binding tensors to the struct ---- */

/*
 * Finds name, checks its dtype and shape (n dims, then the sizes; -1 for
 * any size) and marks it used.  Returns its data, or NULL with the error
 * set (also when absent and optional is 0; absent optional tensors return
 * NULL with *absent set).
 */
static const void *
take(struct loader *l, const char *name, int dtype, int optional, int *absent,
    int n, ...)
{
	struct sq_st_tensor *t = sq_st_find(l->st, name);
	char want[128] = "", got[128] = "";
	int ok = 1, i;
	va_list ap;

	if (absent != NULL)
		*absent = t == NULL;
	if (t == NULL) {
		if (!optional)
			sq_seterr("%s: missing (tensor %s)", l->path, name);
		return NULL;
	}
	if (t->dtype != dtype) {
		sq_seterr("%s: dtype %s, expected %s (tensor %s)", l->path,
		    sq_st_dtype_name(t->dtype), sq_st_dtype_name(dtype), name);
		return NULL;
	}
	va_start(ap, n);
	ok = t->n_dims == n;
	for (i = 0; i < n; i++) {
		long d = va_arg(ap, long);
		size_t w = strlen(want);

		snprintf(want + w, sizeof(want) - w, "%s%ld", i ? ", " : "", d);
		if (i < t->n_dims && d >= 0 && t->dims[i] != d)
			ok = 0;
	}
	va_end(ap);
	if (!ok) {
		for (i = 0; i < t->n_dims; i++) {
			size_t w = strlen(got);

			snprintf(got + w, sizeof(got) - w, "%s%lld",
			    i ? ", " : "", (long long)t->dims[i]);
		}
		sq_seterr("%s: shape (%s), the config implies (%s) (tensor %s)",
		    l->path, got, want, name);
		return NULL;
	}
	t->used = 1;
	return t->data;
}

/*
 * The scales of I8 weight matrix p: the F32 tensor NAME_scale, one per
 * row, each finite and >= 0.  Returns them, or NULL with the error set.
 */
static const float *
take_scales(struct loader *l, const struct sq_param *p)
{
	char name[sizeof(p->name) + 8];
	const float *s;
	long r;

	snprintf(name, sizeof(name), "%s_scale", p->name);
	if ((s = take(l, name, SQ_ST_F32, 0, NULL, 1, p->dims[0])) == NULL)
		return NULL;
	for (r = 0; r < p->dims[0]; r++)
		if (!(s[r] >= 0.0f && s[r] <= FLT_MAX)) {
			sq_seterr("%s: row %ld: scale %g is not a finite number "
			    ">= 0 (tensor %s)", l->path, r, s[r], name);
			return NULL;
		}
	return s;
}

/*
 * I8 matrix p stored in nn/i8gemm.h's packed layout, shape (Np / 16,
 * Kp / 4, 16, 4): its bytes, or NULL with the error set.
 */
static const void *
take_packed(struct loader *l, const struct sq_param *p)
{
	long d[4];

	if (!sq_param_multiplied(&l->m->cfg, p)) {
		sq_seterr("%s: an embedding table not tied to the output "
		    "projection cannot be stored in the packed int8 layout "
		    "(tensor %s)", l->path, p->name);
		return NULL;
	}
	sq_i8_packed_shape(d, p->dims[0], p->dims[1]);
	return take(l, p->name, SQ_ST_I8, 0, NULL, 4, d[0], d[1], d[2], d[3]);
}

/*
 * F32 matrix p stored in nn/panels.h's layout, shape (ceil(N / 64), K,
 * 64): its floats, or NULL with the error set.
 */
static const void *
take_panels(struct loader *l, const struct sq_param *p)
{
	long d[3];

	if (!sq_param_multiplied(&l->m->cfg, p)) {
		sq_seterr("%s: an embedding table not tied to the output "
		    "projection cannot be stored in float32 panels (tensor %s)",
		    l->path, p->name);
		return NULL;
	}
	sq_panels_shape(d, p->dims[0], p->dims[1]);
	return take(l, p->name, SQ_ST_F32, 0, NULL, 3, d[0], d[1], d[2]);
}

/*
 * Entry p of the table as the file stores it, checked: F32 or F16, or
 * for a weight matrix I8 with its scales, by rows or packed, or F32 in
 * panels.  Returns 0 or -1.
 */
static int
take_stored(struct loader *l, const struct sq_param *p, struct sq_stored *s)
{
	const struct sq_st_tensor *f = sq_st_find(l->st, p->name);
	int dt = SQ_ST_F32;

	if (f != NULL && (f->dtype == SQ_ST_F16 ||
	    (f->dtype == SQ_ST_I8 && p->has_view)))
		dt = f->dtype;
	s->dtype = dt == SQ_ST_F16 ? SQ_W_F16 : dt == SQ_ST_I8 ? SQ_W_I8 :
	    SQ_W_F32;
	s->i8_packed = dt == SQ_ST_I8 && f->n_dims == 4;
	s->panels = dt == SQ_ST_F32 && f != NULL && f->n_dims == 3 &&
	    p->n_dims == 2;
	s->data = s->i8_packed ? take_packed(l, p) : s->panels ?
	    take_panels(l, p) : p->n_dims == 2 ?
	    take(l, p->name, dt, 0, NULL, 2, p->dims[0], p->dims[1]) :
	    take(l, p->name, dt, 0, NULL, 1, p->dims[0]);
	s->scale = NULL;
	if (s->data == NULL)
		return -1;
	if (dt == SQ_ST_I8 && (s->scale = take_scales(l, p)) == NULL)
		return -1;
	return 0;
}

/*
 * Every tensor of the config's table (nn/params.h), checked and bound to
 * its field and view of the model in the engine dtype (nn/weights.h).
 * Returns 0 or -1.
 */
static int
take_params(struct loader *l, int dtype)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	const struct sq_params *t;
	struct sq_stored *st;
	int i, keep, rc = -1;

	/* each layer has at least 4 tensors: refuse before allocating for a
	   layer count no file could hold */
	if ((size_t)c->encoder_layers + (size_t)c->decoder_layers > l->st->n_t) {
		sq_seterr("%s: config encoder_layers = %d, decoder_layers = %d: "
		    "more layers than the file has tensors (%zu)", l->path,
		    c->encoder_layers, c->decoder_layers, l->st->n_t);
		return -1;
	}
	sq_params_alloc_layers(m);
	t = m->params = sq_params_new(c);
	/* each weight takes at least a byte (I8): refuse sizes the file
	   cannot hold before the conversions allocate for them */
	if ((uint64_t)t->total > l->st->data_len) {
		sq_seterr("%s: config implies %s%ld weights, more than the %llu "
		    "bytes of data can hold", l->path, t->total == LONG_MAX ?
		    "over " : "", t->total, (unsigned long long)l->st->data_len);
		return -1;
	}
	st = sq_calloc((size_t)t->n, sizeof(*st));
	for (i = 0; i < t->n; i++)
		if (take_stored(l, &t->p[i], &st[i]) < 0)
			goto out;
	/* a reader of the vocabularies (SQ_W_STORED) makes no rows either */
	keep = l->panels || dtype == SQ_W_STORED;
	if (dtype == SQ_W_AUTO || dtype == SQ_W_STORED)
		dtype = sq_weights_auto(m, st, dtype == SQ_W_STORED);
	rc = sq_weights_bind(m, st, dtype, keep, l->path);
out:
	free(st);
	return rc;
}

/* An optional U8 SentencePiece model: NULL and 0 if absent. */
static int
take_spm(struct loader *l, const uint8_t **p, size_t *len, const char *name)
{
	int absent;

	*p = take(l, name, SQ_ST_U8, 1, &absent, 1, -1L);
	if (*p == NULL)
		return absent ? 0 : -1;
	*len = (size_t)sq_st_find(l->st, name)->dims[0];
	return 0;
}

/*
 * An optional I32 piece-to-id map of n entries: model id -> SentencePiece
 * id, -1 for a model id with no piece.  NULL if absent.
 */
static int
take_vocab(struct loader *l, const int32_t **map, const char *name, long n)
{
	int absent;
	long i;

	*map = take(l, name, SQ_ST_I32, 1, &absent, 1, n);
	if (*map == NULL)
		return absent ? 0 : -1;
	for (i = 0; i < n; i++)
		if ((*map)[i] < -1) {
			sq_seterr("%s: entry %ld is %d, not a SentencePiece id "
			    "or -1 (tensor %s)", l->path, i, (int)(*map)[i],
			    name);
			return -1;
		}
	return 0;
}

static int
take_all(struct loader *l, int dtype)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	size_t i;

	if (take_params(l, dtype) < 0)
		return -1;
	/* a model of frames has no source vocabulary: spm.source is unused */
	if (c->input == SQ_INPUT_TOKENS &&
	    take_spm(l, &m->spm_src, &m->spm_src_len, "spm.source") < 0)
		return -1;
	if (c->shared_vocab) {
		m->spm_tgt = m->spm_src;
		m->spm_tgt_len = m->spm_src_len;
	} else if (take_spm(l, &m->spm_tgt, &m->spm_tgt_len, "spm.target") < 0)
		return -1;
	if (c->input == SQ_INPUT_TOKENS && take_vocab(l, &m->vocab_src,
	    "vocab.source", c->src_vocab_size) < 0)
		return -1;
	if (c->shared_vocab)
		m->vocab_tgt = m->vocab_src;
	else if (take_vocab(l, &m->vocab_tgt, "vocab.target",
	    c->tgt_vocab_size) < 0)
		return -1;

	/* a tensor nobody reads is a config that does not say what it is */
	for (i = 0; i < l->st->n_t; i++)
		if (!l->st->t[i].used &&
		    strncmp(l->st->t[i].name, "extra.", 6) != 0) {
			sq_seterr("%s: unexpected tensor for this config: "
			    "unknown name, or a tensor that a tie_* or other "
			    "config key makes unused (tensor %s)", l->path,
			    l->st->t[i].name);
			return -1;
		}
	return 0;
}

struct sq_model *
sq_model_open(const char *path)
{
	return sq_model_open_as(path, SQ_W_F32);
}

/* sq_model_open_as(), float32 panels kept as panels or not */
static struct sq_model *
open_model(const char *path, int dtype, int panels)
{
	struct loader l = {.path = path, .panels = panels};
	struct sq_model *m = sq_calloc(1, sizeof(*m));

	l.m = m;
	m->path = sq_strdup(path);
	if ((m->file = l.st = sq_st_open(path)) == NULL ||
	    parse_metadata(m, path, m->file->json) < 0 ||
	    sq_config_check(&m->cfg, path) < 0 ||
	    sq_st_read_tensors(l.st) < 0 ||
	    take_all(&l, dtype) < 0) {
		sq_model_close(m);
		return NULL;
	}
	return m;
}

struct sq_model *
sq_model_open_as(const char *path, int dtype)
{
	return open_model(path, dtype, 0);
}

struct sq_model *
sq_model_open_panels(const char *path, int dtype)
{
	return open_model(path, dtype, 1);
}

void
sq_model_close(struct sq_model *m)
{
	if (m == NULL)
		return;
	sq_st_close(m->file);
	sq_params_free_layers(m);
	free(m->owned);
	free(m->q_owned);
	sq_params_free(m->params);
	free(m->path);
	free(m);
}

struct sq_model *
sq_model_new(const struct sq_config *c, const char *id)
{
	struct sq_model *m;

	if (sq_config_check(c, "new model") < 0 ||
	    check_id("new model", id, sizeof(m->model_id)) < 0)
		return NULL;
	m = sq_calloc(1, sizeof(*m));
	m->cfg = *c;
	memcpy(m->model_id, id, strlen(id) + 1);
	m->provenance = "";
	sq_params_alloc_layers(m);
	m->params = sq_params_new(c);
	m->owned = sq_calloc((size_t)m->params->total, sizeof(float));
	sq_params_bind(m->params, m, m->owned);
	return m;
}

const float *
sq_model_extra(const struct sq_model *m, const char *name, long *numel)
{
	const struct sq_st_tensor *t;

	if (m->file == NULL || strncmp(name, "extra.", 6) != 0 ||
	    (t = sq_st_find(m->file, name)) == NULL ||
	    t->dtype != SQ_ST_F32 || t->n_dims != 1)
		return NULL;
	*numel = (long)t->dims[0];
	return t->data;
}

const char *
sq_model_meta(const struct sq_model *m, const char *key)
{
	return m->file ? sq_st_meta(m->file, key) : NULL;
}

int
sq_model_tool_meta(const struct sq_model *m, struct sq_extra_meta **kv)
{
	json_t *meta, *v;
	const char *k;
	int n = 0;

	*kv = NULL;
	if (m->file == NULL)
		return 0;
	meta = json_object_get(m->file->json, "__metadata__");
	json_object_foreach(meta, k, v)
		if (strchr(k, '.') != NULL) {
			*kv = sq_reallocarray(*kv, (size_t)n + 1, sizeof(**kv));
			(*kv)[n].key = k;
			(*kv)[n++].value = json_string_value(v);
		}
	return n;
}

int
sq_model_peek_id(const char *path, char *id, size_t id_size)
{
	json_t *root = sq_st_peek(path);
	const char *s;
	int rc = -1;

	if (root == NULL)
		return -1;
	s = json_string_value(json_object_get(
	    json_object_get(root, "__metadata__"), "model_id"));
	if (s == NULL) {
		sq_seterr("%s: metadata has no model_id: not a seqpipe model",
		    path);
		goto out;
	}
	if (check_id(path, s, id_size) < 0)
		goto out;
	memcpy(id, s, strlen(s) + 1);
	rc = 0;
out:
	json_decref(root);
	return rc;
}
