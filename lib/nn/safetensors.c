/*
 * safetensors: the container, mapped and checked (see safetensors.h).
 *
 * Reference: the safetensors format (huggingface/safetensors, "Format"):
 * uint64 LE header length N, N bytes of JSON, then the data area; each
 * tensor's data_offsets are [begin, end) relative to the data area.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/safetensors.h"
#include "base/util.h"

/* The safetensors reference refuses headers above 100 MB; so do we. */
#define MAX_HEADER_LEN (100u << 20)

/* enum sq_st_dtype's names and element sizes */
static const struct {
	const char *name;
	int size;
} dtypes[] = {
	{"F32", 4}, {"U8", 1}, {"F64", 8}, {"F16", 2}, {"BF16", 2},
	{"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U64", 8},
	{"U32", 4}, {"U16", 2}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

const char *
sq_st_dtype_name(int dtype)
{
	return dtypes[dtype].name;
}

static int
tensor_cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct sq_st_tensor *)a)->name,
	    ((const struct sq_st_tensor *)b)->name);
}

static int
tensor_cmp_begin(const void *a, const void *b)
{
	const struct sq_st_tensor *x = *(const struct sq_st_tensor *const *)a;
	const struct sq_st_tensor *y = *(const struct sq_st_tensor *const *)b;

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
parse_tensor(struct sq_st_tensor *t, const char *path, const char *name,
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
	if (json_array_size(shape) > SQ_ST_MAX_DIMS) {
		sq_seterr("%s: %zu dimensions, at most %d (tensor %s)", path,
		    json_array_size(shape), SQ_ST_MAX_DIMS, name);
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

int
sq_st_read_tensors(struct sq_st *st)
{
	struct sq_st_tensor **by_begin;
	const struct sq_st_tensor *prev;
	uint64_t data_pos = (uint64_t)(st->data - (unsigned char *)st->map);
	json_t *root = st->json, *v;
	const char *name;
	size_t i;
	int rc = -1;

	st->t = sq_calloc(json_object_size(root) + 1, sizeof(*st->t));
	json_object_foreach(root, name, v) {
		struct sq_st_tensor *t = &st->t[st->n_t];

		if (strcmp(name, "__metadata__") == 0)
			continue;
		if (parse_tensor(t, st->path, name, v, st->data_len) < 0)
			return -1;
		t->data = st->data + t->begin;
		/* other multi-byte dtypes are the caller's to refuse */
		if ((((t->dtype == SQ_ST_F32 || t->dtype == SQ_ST_I32) &&
		    (data_pos + t->begin) % 4 != 0) || (t->dtype == SQ_ST_F16 &&
		    (data_pos + t->begin) % 2 != 0))) {
			sq_seterr("%s: data at file offset %llu is not 4-byte "
			    "aligned, which %s access needs: rewrite the file "
			    "with aligned offsets (tensor %s)", st->path,
			    (unsigned long long)(data_pos + t->begin),
			    dtypes[t->dtype].name, name);
			return -1;
		}
		st->n_t++;
	}
	qsort(st->t, st->n_t, sizeof(*st->t), tensor_cmp_name);

	by_begin = sq_calloc(st->n_t + 1, sizeof(*by_begin));
	for (i = 0; i < st->n_t; i++)
		by_begin[i] = &st->t[i];
	qsort(by_begin, st->n_t, sizeof(*by_begin), tensor_cmp_begin);
	/* against the tensor reaching furthest so far; empty tensors occupy
	   no bytes and overlap nothing */
	for (i = 0, prev = NULL; i < st->n_t; i++) {
		const struct sq_st_tensor *b = by_begin[i];

		if (b->begin == b->end)
			continue;
		if (prev != NULL && prev->end > b->begin) {
			sq_seterr("%s: data overlaps tensor %s (tensor %s)",
			    st->path, prev->name, b->name);
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

struct sq_st_tensor *
sq_st_find(const struct sq_st *st, const char *name)
{
	struct sq_st_tensor key = {.name = name};

	if (st->n_t == 0)
		return NULL;
	return bsearch(&key, st->t, st->n_t, sizeof(*st->t), tensor_cmp_name);
}

const char *
sq_st_meta(const struct sq_st *st, const char *key)
{
	return json_string_value(json_object_get(json_object_get(st->json,
	    "__metadata__"), key));
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

struct sq_st *
sq_st_open(const char *path)
{
	struct sq_st *st;
	uint64_t size, hdr_len;
	int fd;

	if ((fd = open_file(path, &size)) < 0)
		return NULL;
	st = sq_calloc(1, sizeof(*st));
	st->path = sq_strdup(path);
	st->map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (st->map == MAP_FAILED) {
		st->map = NULL;
		sq_seterr("%s: mmap: %s", path, strerror(errno));
		goto fail;
	}
	st->map_len = size;
	hdr_len = get_le64(st->map);
	st->json = parse_header(path, (unsigned char *)st->map + 8, hdr_len,
	    size);
	if (st->json == NULL)
		goto fail;
	st->data = (unsigned char *)st->map + 8 + hdr_len;
	st->data_len = size - 8 - hdr_len;
	return st;
fail:
	sq_st_close(st);
	return NULL;
}

void
sq_st_close(struct sq_st *st)
{
	if (st == NULL)
		return;
	if (st->map != NULL)
		munmap(st->map, st->map_len);
	json_decref(st->json);
	free(st->t);
	free(st->path);
	free(st);
}

void *
sq_st_peek(const char *path)
{
	unsigned char len8[8], *hdr = NULL;
	json_t *root = NULL;
	uint64_t size, hdr_len;
	int fd;

	if ((fd = open_file(path, &size)) < 0)
		return NULL;
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
	root = parse_header(path, hdr, hdr_len, size);
out:
	free(hdr);
	close(fd);
	return root;
}
