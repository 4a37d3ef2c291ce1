/*
 * model: opens a seqpipe model file (safetensors, lib/nn/model.h,
 * man/seqpipe-model.5) as a validated read-only map.
 *
 * Reference: the safetensors format (huggingface/safetensors, "Format"):
 * uint64 LE header length N, N bytes of JSON, then the data area; each
 * tensor's data_offsets are [begin, end) relative to the data area.
 *
 * Loading reads the header only: every check below is arithmetic on the
 * JSON (offsets inside the data area, no overlaps, byte sizes equal to
 * product(shape) times the dtype size, float32 data 4-aligned, the config
 * complete and coherent, every tensor the config needs present with the
 * shape it implies, no tensor left unexplained).  The weights are never
 * touched, so opening a 300 MB model costs a few system calls and a
 * header parse.  Once sq_model_open() returns, every pointer in struct
 * sq_model may be dereferenced over its documented shape without checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/config.h"
#include "nn/half.h"
#include "nn/model.h"
#include "nn/params.h"
#include "base/util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seqpipe maps little-endian float32 weights directly: big-endian hosts are not supported"
#endif

/* The safetensors reference refuses headers above 100 MB; so do we. */
#define MAX_HEADER_LEN (100u << 20)
#define FORMAT "seqpipe-1"
#define MAX_DIMS 8

/* One entry of the JSON header, checked and pointing into the map. */
struct tensor {
	const char *name;	/* borrowed from the JSON */
	int dtype;		/* index into dtypes[] */
	int n_dims;
	int64_t dims[MAX_DIMS];
	uint64_t begin, end;	/* in the data area */
	const void *data;
	int used;
};

/* The safetensors dtypes: all are known, only F32 and U8 are used. */
static const struct {
	const char *name;
	int size;
} dtypes[] = {
	{"F32", 4}, {"U8", 1}, {"F64", 8}, {"F16", 2}, {"BF16", 2},
	{"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U64", 8},
	{"U32", 4}, {"U16", 2}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};
enum { DT_F32 = 0, DT_U8 = 1, DT_F16 = 3, DT_I32 = 6 };

/* State while opening: the model under construction and its tensors. */
struct loader {
	struct sq_model *m;
	const char *path;
	struct tensor *t;	/* sorted by name */
	size_t n_t;
	uint64_t data_len;	/* bytes of the data area */
};

static int
tensor_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct tensor *)a)->name,
	    ((const struct tensor *)b)->name);
}

static int
tensor_cmp_begin(const void *a, const void *b)
{
	const struct tensor *x = *(const struct tensor *const *)a;
	const struct tensor *y = *(const struct tensor *const *)b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

static uint64_t
get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/*
 * Checks the 8-byte length prefix against a file of file_len bytes and
 * parses the JSON header that follows (hdr points at it).  Returns the
 * parsed object or NULL with the error set.
 */
static json_t *
parse_header(const char *path, const unsigned char *hdr, uint64_t hdr_len,
    uint64_t file_len)
{
	json_error_t jerr;
	json_t *root;

	if (hdr_len > MAX_HEADER_LEN) {
		sq_seterr("%s: header length %llu is over the 100 MB limit: "
		    "not a safetensors file", path, (unsigned long long)hdr_len);
		return NULL;
	}
	if (hdr_len > file_len - 8) {
		sq_seterr("%s: header length %llu runs past the end of the "
		    "file (%llu bytes): truncated or not a safetensors file",
		    path, (unsigned long long)hdr_len,
		    (unsigned long long)file_len);
		return NULL;
	}
	root = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (root == NULL) {
		sq_seterr("%s: bad JSON header at byte %d: %s", path,
		    jerr.position, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		sq_seterr("%s: JSON header is not an object", path);
		json_decref(root);
		return NULL;
	}
	return root;
}

/*
 * Fills t from one header entry and checks it against a data area of
 * data_len bytes.  Returns 0 or -1.
 */
static int
parse_tensor(struct tensor *t, const char *path, const char *name,
    json_t *v, uint64_t data_len)
{
	json_t *dt, *shape, *off, *x;
	uint64_t n_elem = 1, size;
	size_t i;

	t->name = name;
	if (!json_is_object(v)) {
		sq_seterr("%s: header entry is not an object (tensor %s)",
		    path, name);
		return -1;
	}
	dt = json_object_get(v, "dtype");
	shape = json_object_get(v, "shape");
	off = json_object_get(v, "data_offsets");
	if (!json_is_string(dt) || !json_is_array(shape) ||
	    !json_is_array(off) || json_array_size(off) != 2) {
		sq_seterr("%s: entry needs \"dtype\", \"shape\" and a pair "
		    "\"data_offsets\" (tensor %s)", path, name);
		return -1;
	}
	t->dtype = -1;
	for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
		if (strcmp(json_string_value(dt), dtypes[i].name) == 0)
			t->dtype = (int)i;
	if (t->dtype < 0) {
		sq_seterr("%s: unknown dtype \"%s\" (tensor %s)", path,
		    json_string_value(dt), name);
		return -1;
	}
	if (json_array_size(shape) > MAX_DIMS) {
		sq_seterr("%s: %zu dimensions, at most %d (tensor %s)", path,
		    json_array_size(shape), MAX_DIMS, name);
		return -1;
	}
	t->n_dims = (int)json_array_size(shape);
	json_array_foreach(shape, i, x) {
		json_int_t d = json_is_integer(x) ? json_integer_value(x) : -1;

		/* n_elem <= 2^56, so n_elem * size (size <= 8) cannot wrap */
		if (d < 0 || (d > 0 && n_elem > (UINT64_C(1) << 56) / (uint64_t)d)) {
			sq_seterr("%s: bad shape (tensor %s)", path, name);
			return -1;
		}
		t->dims[i] = d;
		n_elem *= (uint64_t)d;
	}
	for (i = 0; i < 2; i++) {
		x = json_array_get(off, i);
		if (!json_is_integer(x) || json_integer_value(x) < 0) {
			sq_seterr("%s: bad data_offsets (tensor %s)", path, name);
			return -1;
		}
	}
	t->begin = (uint64_t)json_integer_value(json_array_get(off, 0));
	t->end = (uint64_t)json_integer_value(json_array_get(off, 1));
	if (t->begin > t->end || t->end > data_len) {
		sq_seterr("%s: data_offsets [%llu, %llu] outside the data area "
		    "of %llu bytes: truncated file? (tensor %s)", path,
		    (unsigned long long)t->begin, (unsigned long long)t->end,
		    (unsigned long long)data_len, name);
		return -1;
	}
	size = n_elem * (uint64_t)dtypes[t->dtype].size;
	if (t->end - t->begin != size) {
		sq_seterr("%s: %llu data bytes, expected %llu for %llu %s "
		    "elements (tensor %s)", path,
		    (unsigned long long)(t->end - t->begin),
		    (unsigned long long)size, (unsigned long long)n_elem,
		    dtypes[t->dtype].name, name);
		return -1;
	}
	return 0;
}

/*
 * Parses every tensor entry of root into l->t (sorted by name), with data
 * pointers into the data area at data (data_len bytes, file offset
 * data_pos), and checks that no two overlap and that float data is
 * aligned.  Returns 0 or -1.
 */
static int
parse_tensors(struct loader *l, json_t *root, const unsigned char *data,
    uint64_t data_pos, uint64_t data_len)
{
	struct tensor **by_begin;
	const struct tensor *prev;
	const char *name;
	json_t *v;
	size_t i;
	int rc = -1;

	l->data_len = data_len;
	l->t = sq_calloc(json_object_size(root) + 1, sizeof(*l->t));
	json_object_foreach(root, name, v) {
		struct tensor *t = &l->t[l->n_t];

		if (strcmp(name, "__metadata__") == 0)
			continue;
		if (parse_tensor(t, l->path, name, v, data_len) < 0)
			return -1;
		t->data = data + t->begin;
		/* other multi-byte dtypes are refused later anyway */
		if ((((t->dtype == DT_F32 || t->dtype == DT_I32) &&
		    (data_pos + t->begin) % 4 != 0) || (t->dtype == DT_F16 &&
		    (data_pos + t->begin) % 2 != 0))) {
			sq_seterr("%s: data at file offset %llu is not 4-byte "
			    "aligned, which %s access needs: rewrite the file "
			    "with aligned offsets (tensor %s)", l->path,
			    (unsigned long long)(data_pos + t->begin),
			    dtypes[t->dtype].name, name);
			return -1;
		}
		l->n_t++;
	}
	qsort(l->t, l->n_t, sizeof(*l->t), tensor_cmp_name);

	by_begin = sq_calloc(l->n_t + 1, sizeof(*by_begin));
	for (i = 0; i < l->n_t; i++)
		by_begin[i] = &l->t[i];
	qsort(by_begin, l->n_t, sizeof(*by_begin), tensor_cmp_begin);
	/* against the tensor reaching furthest so far; empty tensors occupy
	   no bytes and overlap nothing */
	for (i = 0, prev = NULL; i < l->n_t; i++) {
		const struct tensor *b = by_begin[i];

		if (b->begin == b->end)
			continue;
		if (prev != NULL && prev->end > b->begin) {
			sq_seterr("%s: data overlaps tensor %s (tensor %s)",
			    l->path, prev->name, b->name);
			goto out;
		}
		if (prev == NULL || b->end > prev->end)
			prev = b;
	}
	rc = 0;
out:
	free(by_begin);
	return rc;
}

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
	for (i = 0; i < sq_config_n_keys(); i++)
		if (sq_config_required(i) && !seen[i]) {
			sq_seterr("%s: config %s missing from the metadata",
			    path, sq_config_key(i));
			return -1;
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
	struct tensor key = {.name = name}, *t;
	char want[128] = "", got[128] = "";
	int ok = 1, i;
	va_list ap;

	t = bsearch(&key, l->t, l->n_t, sizeof(*l->t), tensor_cmp_name);
	if (absent != NULL)
		*absent = t == NULL;
	if (t == NULL) {
		if (!optional)
			sq_seterr("%s: missing (tensor %s)", l->path, name);
		return NULL;
	}
	if (t->dtype != dtype) {
		sq_seterr("%s: dtype %s, expected %s (tensor %s)", l->path,
		    dtypes[t->dtype].name, dtypes[dtype].name, name);
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
 * Every tensor of the config's table (nn/params.h), checked and bound to
 * its field of the model.  Returns 0 or -1.
 */
static int
take_params(struct loader *l)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	const struct sq_params *t;
	int i;

	/* each layer has over 10 tensors: refuse before allocating for a
	   layer count no file could hold */
	if ((size_t)c->encoder_layers + (size_t)c->decoder_layers > l->n_t) {
		sq_seterr("%s: config encoder_layers = %d, decoder_layers = %d: "
		    "more layers than the file has tensors (%zu)", l->path,
		    c->encoder_layers, c->decoder_layers, l->n_t);
		return -1;
	}
	m->enc = sq_calloc((size_t)c->encoder_layers, sizeof(*m->enc));
	m->dec = sq_calloc((size_t)c->decoder_layers, sizeof(*m->dec));
	t = m->params = sq_params_new(c);
	/* each weight takes at least 2 bytes (F16): refuse sizes the file
	   cannot hold before the F16 widening below allocates for them */
	if ((uint64_t)t->total > l->data_len / 2) {
		sq_seterr("%s: config implies %s%ld weights, more than the %llu "
		    "bytes of data can hold", l->path, t->total == LONG_MAX ?
		    "over " : "", t->total, (unsigned long long)l->data_len);
		return -1;
	}
	for (i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];
		struct tensor key = {.name = p->name}, *f;
		int dt = DT_F32;
		const void *data;

		/* F16 weights are widened once, into memory of the model's */
		f = bsearch(&key, l->t, l->n_t, sizeof(*l->t), tensor_cmp_name);
		if (f != NULL && f->dtype == DT_F16)
			dt = DT_F16;
		data = p->n_dims == 2 ?
		    take(l, p->name, dt, 0, NULL, 2, p->dims[0], p->dims[1]) :
		    take(l, p->name, dt, 0, NULL, 1, p->dims[0]);
		if (data == NULL)
			return -1;
		if (dt == DT_F16) {
			const uint16_t *h = data;

			if (m->owned == NULL)
				m->owned = sq_malloc((size_t)t->total *
				    sizeof(float));
			for (long k = 0; k < p->numel; k++)
				m->owned[p->offset + k] = sq_half_to_float(h[k]);
			data = m->owned + p->offset;
		}
		*sq_param_field(m, p) = data;
	}
	sq_params_tie(m);
	return 0;
}

/* An optional U8 SentencePiece model: NULL and 0 if absent. */
static int
take_spm(struct loader *l, const uint8_t **p, size_t *len, const char *name)
{
	struct tensor key = {.name = name}, *t;
	int absent;

	*p = take(l, name, DT_U8, 1, &absent, 1, -1L);
	if (*p == NULL)
		return absent ? 0 : -1;
	t = bsearch(&key, l->t, l->n_t, sizeof(*l->t), tensor_cmp_name);
	*len = (size_t)t->dims[0];
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

	*map = take(l, name, DT_I32, 1, &absent, 1, n);
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
take_all(struct loader *l)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	size_t i;

	if (take_params(l) < 0)
		return -1;
	if (take_spm(l, &m->spm_src, &m->spm_src_len, "spm.source") < 0)
		return -1;
	if (c->shared_vocab) {
		m->spm_tgt = m->spm_src;
		m->spm_tgt_len = m->spm_src_len;
	} else if (take_spm(l, &m->spm_tgt, &m->spm_tgt_len, "spm.target") < 0)
		return -1;
	if (take_vocab(l, &m->vocab_src, "vocab.source", c->src_vocab_size) < 0)
		return -1;
	if (c->shared_vocab)
		m->vocab_tgt = m->vocab_src;
	else if (take_vocab(l, &m->vocab_tgt, "vocab.target",
	    c->tgt_vocab_size) < 0)
		return -1;

	/* a tensor nobody reads is a config that does not say what it is */
	for (i = 0; i < l->n_t; i++)
		if (!l->t[i].used && strncmp(l->t[i].name, "extra.", 6) != 0) {
			sq_seterr("%s: unexpected tensor for this config: "
			    "unknown name, or a tensor that a tie_* or other "
			    "config key makes unused (tensor %s)", l->path,
			    l->t[i].name);
			return -1;
		}
	return 0;
}

/*
 * Opens path read-only and returns its descriptor and size, refusing
 * anything but a regular file of at least 8 bytes.  Returns -1 on failure.
 */
static int
open_file(const char *path, uint64_t *size)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		sq_seterr("%s: not a regular file", path);
		goto out_close;
	}
	if (st.st_size < 8) {
		sq_seterr("%s: %lld bytes, too short for a safetensors header",
		    path, (long long)st.st_size);
		goto out_close;
	}
	*size = (uint64_t)st.st_size;
	return fd;
out_close:
	close(fd);
	return -1;
}

struct sq_model *
sq_model_open(const char *path)
{
	struct loader l = {.path = path};
	struct sq_model *m;
	uint64_t size, hdr_len;
	int fd;

	if ((fd = open_file(path, &size)) < 0)
		return NULL;
	m = sq_calloc(1, sizeof(*m));
	l.m = m;
	m->path = sq_strdup(path);
	m->map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		sq_seterr("%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	m->map_len = size;
	hdr_len = get_le64(m->map);
	m->json = parse_header(path, (unsigned char *)m->map + 8, hdr_len, size);
	if (m->json == NULL ||
	    parse_metadata(m, path, m->json) < 0 ||
	    sq_config_check(&m->cfg, path) < 0 ||
	    parse_tensors(&l, m->json, (unsigned char *)m->map + 8 + hdr_len,
	    8 + hdr_len, size - 8 - hdr_len) < 0 ||
	    take_all(&l) < 0)
		goto fail;
	free(l.t);
	return m;
fail:
	free(l.t);
	sq_model_close(m);
	return NULL;
}

void
sq_model_close(struct sq_model *m)
{
	if (m == NULL)
		return;
	if (m->map != NULL)
		munmap(m->map, m->map_len);
	json_decref(m->json);
	free(m->enc);
	free(m->dec);
	free(m->owned);
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
	m->enc = sq_calloc((size_t)c->encoder_layers, sizeof(*m->enc));
	m->dec = sq_calloc((size_t)c->decoder_layers, sizeof(*m->dec));
	m->params = sq_params_new(c);
	m->owned = sq_calloc((size_t)m->params->total, sizeof(float));
	sq_params_bind(m->params, m, m->owned);
	return m;
}

const float *
sq_model_extra(const struct sq_model *m, const char *name, long *numel)
{
	json_t *e, *shape, *off;
	const unsigned char *data;
	uint64_t b, end;

	if (m->json == NULL || strncmp(name, "extra.", 6) != 0)
		return NULL;
	e = json_object_get(m->json, name);
	shape = json_object_get(e, "shape");
	off = json_object_get(e, "data_offsets");
	if (!json_is_string(json_object_get(e, "dtype")) ||
	    strcmp(json_string_value(json_object_get(e, "dtype")), "F32") != 0 ||
	    json_array_size(shape) != 1)
		return NULL;
	/* the loader checked every entry's offsets, sizes and alignment */
	b = (uint64_t)json_integer_value(json_array_get(off, 0));
	end = (uint64_t)json_integer_value(json_array_get(off, 1));
	data = (const unsigned char *)m->map + 8 + get_le64(m->map);
	*numel = (long)((end - b) / 4);
	return (const float *)(data + b);
}

const char *
sq_model_meta(const struct sq_model *m, const char *key)
{
	if (m->json == NULL)
		return NULL;
	return json_string_value(json_object_get(json_object_get(m->json,
	    "__metadata__"), key));
}

int
sq_model_tool_meta(const struct sq_model *m, struct sq_extra_meta **kv)
{
	json_t *meta = json_object_get(m->json, "__metadata__"), *v;
	const char *k;
	int n = 0;

	*kv = NULL;
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
	unsigned char len8[8], *hdr = NULL;
	json_t *root = NULL;
	const char *s;
	uint64_t size, hdr_len;
	int fd, rc = -1;

	if ((fd = open_file(path, &size)) < 0)
		return -1;
	if (pread(fd, len8, 8, 0) != 8) {
		sq_seterr("%s: cannot read the header length", path);
		goto out;
	}
	hdr_len = get_le64(len8);
	if (hdr_len <= MAX_HEADER_LEN && hdr_len <= size - 8) {
		hdr = sq_malloc(hdr_len + 1);
		if (pread(fd, hdr, hdr_len, 8) != (ssize_t)hdr_len) {
			sq_seterr("%s: cannot read the header", path);
			goto out;
		}
	}
	if ((root = parse_header(path, hdr, hdr_len, size)) == NULL)
		goto out;
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
	free(hdr);
	close(fd);
	return rc;
}
