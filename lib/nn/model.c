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
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/model.h"
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
enum { DT_F32 = 0, DT_U8 = 1 };

/* State while opening: the model under construction and its tensors. */
struct loader {
	struct sq_model *m;
	const char *path;
	struct tensor *t;	/* sorted by name */
	size_t n_t;
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

	l->t = sq_calloc(json_object_size(root) + 1, sizeof(*l->t));
	json_object_foreach(root, name, v) {
		struct tensor *t = &l->t[l->n_t];

		if (strcmp(name, "__metadata__") == 0)
			continue;
		if (parse_tensor(t, l->path, name, v, data_len) < 0)
			return -1;
		t->data = data + t->begin;
		/* other multi-byte dtypes are refused later anyway */
		if (t->dtype == DT_F32 && (data_pos + t->begin) % 4 != 0) {
			sq_seterr("%s: data at file offset %llu is not 4-byte "
			    "aligned, which F32 access needs: rewrite the file "
			    "with aligned offsets (tensor %s)", l->path,
			    (unsigned long long)(data_pos + t->begin), name);
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

/* The config keys, in struct order; kind says how the value parses. */
enum { K_INT, K_BOOL, K_FLOAT, K_ACT, K_POS };
static const struct {
	const char *key;
	size_t off;
	int kind;
	int required;
} keys[] = {
#define F(name, kind, req) {#name, offsetof(struct sq_config, name), kind, req}
	F(d_model, K_INT, 1), F(n_heads, K_INT, 1), F(d_ff, K_INT, 1),
	F(encoder_layers, K_INT, 1), F(decoder_layers, K_INT, 1),
	F(src_vocab_size, K_INT, 1), F(tgt_vocab_size, K_INT, 1),
	F(max_positions, K_INT, 0), F(pre_norm, K_BOOL, 0),
	F(encoder_final_norm, K_BOOL, 0), F(decoder_final_norm, K_BOOL, 0),
	F(activation, K_ACT, 0), F(positions, K_POS, 0),
	F(position_offset, K_INT, 0), F(embed_scale, K_FLOAT, 0),
	F(tie_src_tgt, K_BOOL, 0), F(tie_output, K_BOOL, 0),
	F(output_bias, K_BOOL, 0), F(shared_vocab, K_BOOL, 0),
	F(bos_id, K_INT, 0), F(eos_id, K_INT, 0), F(pad_id, K_INT, 0),
	F(unk_id, K_INT, 0), F(decoder_start_id, K_INT, 0),
	F(layer_norm_eps, K_FLOAT, 0),
#undef F
};

static const char *const activations[] = {"relu", "gelu", "silu"};
static const char *const pos_kinds[] = {
	"sinusoidal", "sinusoidal_half", "learned"
};

static int
lookup_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Parses one config value s into the field at p.  Returns 0 or -1. */
static int
parse_value(void *p, int kind, const char *s)
{
	char *end;
	long v;
	float f;

	switch (kind) {
	case K_INT:
	case K_BOOL:
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s == '\0' || *end != '\0' || errno || v < -1 || v > INT32_MAX ||
		    (kind == K_BOOL && v != 0 && v != 1))
			return -1;
		*(int *)p = (int)v;
		return 0;
	case K_FLOAT:
		errno = 0;
		f = strtof(s, &end);
		if (*s == '\0' || *end != '\0' || errno || !isfinite(f))
			return -1;
		*(float *)p = f;
		return 0;
	case K_ACT:
		return (*(int *)p = lookup_name(s, activations, 3)) < 0 ? -1 : 0;
	case K_POS:
		return (*(int *)p = lookup_name(s, pos_kinds, 3)) < 0 ? -1 : 0;
	}
	return -1;
}

static const char *
kind_hint(int kind)
{
	switch (kind) {
	case K_INT: return "an integer";
	case K_BOOL: return "0 or 1";
	case K_FLOAT: return "a finite number";
	case K_ACT: return "relu, gelu or silu";
	default: return "sinusoidal, sinusoidal_half or learned";
	}
}

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
	int seen[sizeof(keys) / sizeof(keys[0])] = {0};
	size_t i;

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
	memset(c, 0, sizeof(*c));
	c->max_positions = 1024;
	c->activation = SQ_ACT_RELU;
	c->positions = SQ_POS_SIN_INTERLEAVED;
	c->embed_scale = NAN;		/* sqrt(D), once D is known */
	c->bos_id = 1;
	c->eos_id = 2;
	c->pad_id = 0;
	c->unk_id = 3;
	c->decoder_start_id = -2;	/* bos_id or eos_id, once known */
	c->layer_norm_eps = 1e-5f;
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
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(k, keys[i].key) == 0)
				break;
		if (i == sizeof(keys) / sizeof(keys[0])) {
			/* a misspelt config key must not pass for a default */
			if (strchr(k, '.') != NULL)
				continue;
			sq_seterr("%s: unknown metadata key \"%s\" (tools may "
			    "add keys that contain a dot)", path, k);
			return -1;
		}
		if (parse_value((char *)c + keys[i].off, keys[i].kind, s) < 0) {
			sq_seterr("%s: config %s = \"%s\": expected %s", path,
			    k, s, kind_hint(keys[i].kind));
			return -1;
		}
		seen[i] = 1;
	}
	if (m->model_id[0] == '\0') {
		sq_seterr("%s: metadata has no model_id", path);
		return -1;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].required && !seen[i]) {
			sq_seterr("%s: config %s missing from the metadata",
			    path, keys[i].key);
			return -1;
		}
	if (isnan(c->embed_scale))
		c->embed_scale = sqrtf((float)c->d_model);
	if (c->decoder_start_id == -2)	/* fairseq starts with EOS */
		c->decoder_start_id = c->bos_id >= 0 ? c->bos_id : c->eos_id;
	return 0;
}

/* Checks the config for coherence.  Returns 0 or -1. */
static int
check_config(const struct sq_config *c, const char *path)
{
#define BAD(...) do { sq_seterr(__VA_ARGS__); return -1; } while (0)
	int v_min = SQ_MIN(c->src_vocab_size, c->tgt_vocab_size);

	if (c->d_model < 1 || c->n_heads < 1 || c->d_ff < 1)
		BAD("%s: config d_model, n_heads and d_ff must be positive", path);
	if (c->d_model % c->n_heads != 0)
		BAD("%s: config n_heads = %d does not divide d_model = %d",
		    path, c->n_heads, c->d_model);
	if (c->encoder_layers < 1 || c->decoder_layers < 1)
		BAD("%s: config encoder_layers and decoder_layers must be "
		    "positive", path);
	if (c->src_vocab_size < 1 || c->tgt_vocab_size < 1)
		BAD("%s: config src_vocab_size and tgt_vocab_size must be "
		    "positive", path);
	if (c->max_positions < 1 || c->position_offset < 0)
		BAD("%s: config max_positions must be positive and "
		    "position_offset not negative", path);
	if (c->positions != SQ_POS_LEARNED && c->d_model % 2 != 0)
		BAD("%s: config d_model = %d: sinusoidal positions need an "
		    "even width", path, c->d_model);
	if (c->positions == SQ_POS_SIN_HALF && c->d_model < 4)
		BAD("%s: config d_model = %d: sinusoidal_half positions need "
		    "a width of at least 4", path, c->d_model);
	if (!(c->layer_norm_eps > 0))
		BAD("%s: config layer_norm_eps must be positive", path);
	if ((c->tie_src_tgt || c->shared_vocab) &&
	    c->src_vocab_size != c->tgt_vocab_size)
		BAD("%s: config %s needs src_vocab_size = tgt_vocab_size "
		    "(%d, %d)", path, c->tie_src_tgt ? "tie_src_tgt" :
		    "shared_vocab", c->src_vocab_size, c->tgt_vocab_size);
	if (c->eos_id < 0 || c->eos_id >= v_min)
		BAD("%s: config eos_id = %d outside both vocabularies (%d)",
		    path, c->eos_id, v_min);
	if (c->decoder_start_id < 0 || c->decoder_start_id >= c->tgt_vocab_size)
		BAD("%s: config decoder_start_id = %d outside the target "
		    "vocabulary (%d)", path, c->decoder_start_id,
		    c->tgt_vocab_size);
	if (c->bos_id >= v_min || c->pad_id >= v_min || c->unk_id >= v_min)
		BAD("%s: config bos_id, pad_id, unk_id (%d, %d, %d) must be "
		    "-1 (none) or inside both vocabularies (%d)", path,
		    c->bos_id, c->pad_id, c->unk_id, v_min);
	return 0;
#undef BAD
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

/* A required float32 tensor of shape (a) or (a, b): b = 0 means 1-D. */
static const float *
take_f32(struct loader *l, const char *name, long a, long b)
{
	return b ? take(l, name, DT_F32, 0, NULL, 2, a, b) :
	    take(l, name, DT_F32, 0, NULL, 1, a);
}

/*
 * prefix.weight, (out, in) or with in = 0 (out), and prefix.bias (out):
 * a linear layer or a layer norm.  Returns 0 or -1.
 */
static int
take_wb(struct loader *l, const float **w, const float **b,
    const char *prefix, long out, long in)
{
	char name[160];

	snprintf(name, sizeof(name), "%s.weight", prefix);
	if ((*w = take_f32(l, name, out, in)) == NULL)
		return -1;
	snprintf(name, sizeof(name), "%s.bias", prefix);
	return (*b = take_f32(l, name, out, 0)) == NULL ? -1 : 0;
}

static int
take_linear(struct loader *l, struct sq_linear *lin, const char *prefix,
    long out, long in)
{
	return take_wb(l, &lin->w, &lin->b, prefix, out, in);
}

static int
take_norm(struct loader *l, struct sq_norm *nm, const char *prefix, long d)
{
	return take_wb(l, &nm->g, &nm->b, prefix, d, 0);
}

static int
take_attn(struct loader *l, struct sq_attn_weights *a, const char *prefix,
    long d)
{
	static const char *const proj[] = {"q_proj", "k_proj", "v_proj",
	    "out_proj"};
	struct sq_linear *lin[] = {&a->q, &a->k, &a->v, &a->out};
	char name[160];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, proj[i]);
		if (take_linear(l, lin[i], name, d, d) < 0)
			return -1;
	}
	return 0;
}

/*
 * What a layer of either stack has, under prefix p: self-attention, its
 * norm, the FFN and the final norm.  Returns 0 or -1.
 */
static int
take_layer(struct loader *l, const char *p, struct sq_attn_weights *sa,
    struct sq_norm *sa_norm, struct sq_linear *fc1, struct sq_linear *fc2,
    struct sq_norm *final)
{
	long d = l->m->cfg.d_model, f = l->m->cfg.d_ff;
	char name[160];

	snprintf(name, sizeof(name), "%s.self_attn", p);
	if (take_attn(l, sa, name, d) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.self_attn_layer_norm", p);
	if (take_norm(l, sa_norm, name, d) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.fc1", p);
	if (take_linear(l, fc1, name, f, d) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.fc2", p);
	if (take_linear(l, fc2, name, d, f) < 0)
		return -1;
	snprintf(name, sizeof(name), "%s.final_layer_norm", p);
	return take_norm(l, final, name, d);
}

static int
take_layers(struct loader *l)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	long d = c->d_model;
	char p[96], name[160];
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
	for (i = 0; i < c->encoder_layers; i++) {
		struct sq_encoder_layer *e = &m->enc[i];

		snprintf(p, sizeof(p), "encoder.layers.%d", i);
		if (take_layer(l, p, &e->self_attn, &e->self_attn_norm, &e->fc1,
		    &e->fc2, &e->final_norm) < 0)
			return -1;
	}
	for (i = 0; i < c->decoder_layers; i++) {
		struct sq_decoder_layer *e = &m->dec[i];

		snprintf(p, sizeof(p), "decoder.layers.%d", i);
		if (take_layer(l, p, &e->self_attn, &e->self_attn_norm, &e->fc1,
		    &e->fc2, &e->final_norm) < 0)
			return -1;
		snprintf(name, sizeof(name), "%s.encoder_attn", p);
		if (take_attn(l, &e->cross_attn, name, d) < 0)
			return -1;
		snprintf(name, sizeof(name), "%s.encoder_attn_layer_norm", p);
		if (take_norm(l, &e->cross_attn_norm, name, d) < 0)
			return -1;
	}
	if (c->encoder_final_norm &&
	    take_norm(l, &m->enc_final, "encoder.layer_norm", d) < 0)
		return -1;
	if (c->decoder_final_norm &&
	    take_norm(l, &m->dec_final, "decoder.layer_norm", d) < 0)
		return -1;
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

static int
take_all(struct loader *l)
{
	struct sq_model *m = l->m;
	const struct sq_config *c = &m->cfg;
	long d = c->d_model;
	size_t i;

	m->src_embed = take_f32(l, "encoder.embed_tokens.weight",
	    c->src_vocab_size, d);
	if (m->src_embed == NULL)
		return -1;
	m->tgt_embed = c->tie_src_tgt ? m->src_embed :
	    take_f32(l, "decoder.embed_tokens.weight", c->tgt_vocab_size, d);
	if (m->tgt_embed == NULL)
		return -1;
	if (c->positions == SQ_POS_LEARNED) {
		m->enc_pos = take_f32(l, "encoder.embed_positions.weight",
		    c->max_positions, d);
		m->dec_pos = take_f32(l, "decoder.embed_positions.weight",
		    c->max_positions, d);
		if (m->enc_pos == NULL || m->dec_pos == NULL)
			return -1;
	}
	if (take_layers(l) < 0)
		return -1;
	m->out_proj = c->tie_output ? m->tgt_embed :
	    take_f32(l, "output_projection.weight", c->tgt_vocab_size, d);
	if (m->out_proj == NULL)
		return -1;
	if (c->output_bias && (m->out_bias = take_f32(l,
	    "output_projection.bias", c->tgt_vocab_size, 0)) == NULL)
		return -1;
	if (take_spm(l, &m->spm_src, &m->spm_src_len, "spm.source") < 0)
		return -1;
	if (c->shared_vocab) {
		m->spm_tgt = m->spm_src;
		m->spm_tgt_len = m->spm_src_len;
	} else if (take_spm(l, &m->spm_tgt, &m->spm_tgt_len, "spm.target") < 0)
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
	    check_config(&m->cfg, path) < 0 ||
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
	free(m->path);
	free(m);
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
