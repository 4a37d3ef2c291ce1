/*
 * save: writes a struct sq_model as a seqpipe model file (safetensors;
 * the format is model.h's and man/seqpipe-model.5's), for train and the
 * importers.
 *
 * Layout: by falling element size, so that every tensor is aligned to its
 * size: the float32 tensors (the parameter table's, in its order, with
 * the scales of int8 matrices, then the caller's extra ones), the I32
 * vocabularies, the weights if they are stored as F16, those stored as
 * int8, then the U8 SentencePiece models, with no gaps (a
 * safetensors data area is fully covered); every F32 and I32 tensor then
 * starts 4-aligned because the JSON header is padded with spaces for the
 * data to start at a multiple of 64 bytes, a cache line: so do a model's
 * matrices when its sizes are multiples of 16, and kernels that read
 * them in place split no load across two lines (greedy decoding at batch
 * 1 from float32 panels 40 bytes past a line took 2.11 s, from panels at
 * a line 1.76 s: medians of 7).  The same model gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn/config.h"
#include "nn/half.h"
#include "nn/i8gemm.h"
#include "nn/model.h"
#include "nn/panels.h"
#include "nn/params.h"
#include "nn/quant.h"
#include "base/util.h"

/* One tensor to write: its header entry and its bytes. */
struct blob {
	const char *name;
	const char *dtype;
	int size;		/* of an element: the file's order */
	long dims[4];
	int n_dims;
	const void *data;
	size_t len;
};

static void
add_entry(json_t *root, const struct blob *b, size_t *pos)
{
	json_t *e = json_object(), *shape = json_array(), *off = json_array();

	for (int i = 0; i < b->n_dims; i++)
		json_array_append_new(shape, json_integer(b->dims[i]));
	json_array_append_new(off, json_integer((json_int_t)*pos));
	json_array_append_new(off, json_integer((json_int_t)(*pos + b->len)));
	json_object_set_new(e, "dtype", json_string(b->dtype));
	json_object_set_new(e, "shape", shape);
	json_object_set_new(e, "data_offsets", off);
	json_object_set_new(root, b->name, e);
	*pos += b->len;
}

static json_t *
metadata(const struct sq_model *m, const struct sq_save_opts *x)
{
	json_t *meta = json_object();
	char buf[64];
	int i;

	json_object_set_new(meta, "format", json_string("seqpipe-1"));
	json_object_set_new(meta, "model_id", json_string(m->model_id));
	json_object_set_new(meta, "provenance", json_string(m->provenance ?
	    m->provenance : ""));
	for (i = 0; i < sq_config_n_keys(); i++)
		if (sq_config_applies(&m->cfg, i) &&
		    !sq_config_omitted(&m->cfg, i))
			json_object_set_new(meta, sq_config_key(i), json_string(
			    sq_config_value(&m->cfg, i, buf, sizeof(buf))));
	for (i = 0; x != NULL && i < x->n_meta; i++)
		json_object_set_new(meta, x->meta[i].key,
		    json_string(x->meta[i].value));
	return meta;
}

/*
 * The weights converted for the file: every one as F16 (half, laid out
 * as the params' flat array), or the matrices as int8 (q, likewise) with
 * their rows' scales (scale, one matrix after the other) under the names
 * NAME_scale (names), and those multiplied by in nn/i8gemm.h's packed
 * layout (packed, one after the other); or as float32, those that may
 * be in nn/panels.h's layout (panels, one after the other).  NULL what
 * the dtype and layout do not use.
 */
struct conv {
	uint16_t *half;
	int8_t *q;
	int8_t *packed;
	float *panels;
	float *scale;
	char (*names)[sizeof(((struct sq_param *)0)->name) + 8];
};

/* whether entry p of a model configured c is stored packed in dtype */
static int
packs(const struct sq_config *c, const struct sq_param *p, int dtype)
{
	return dtype == SQ_W_I8 && sq_param_multiplied(c, p);
}

/*
 * Entry p's blob b (and after it, for an I8 matrix, its scales' blob):
 * converted into cv for the dtype.  *srow counts the scales taken so
 * far, *pos the packed bytes or panels' floats.  Returns the blobs made
 * (1 or 2), or -1 with the error set.
 */
static int
param_blobs(struct blob *b, const struct sq_config *c,
    const struct sq_param *p, const float *w, int dtype, struct conv *cv,
    long *srow, long *pos, int i)
{
	long r, rows = p->dims[0], cols = p->dims[1];

	b[0] = (struct blob){p->name, "F32", 4, {p->dims[0], p->dims[1]},
	    p->n_dims, w, (size_t)p->numel * 4};
	if (dtype == SQ_W_F16) {
		for (r = 0; r < p->numel; r++)
			cv->half[p->offset + r] = sq_float_to_half(w[r]);
		b[0].dtype = "F16";
		b[0].size = 2;
		b[0].data = cv->half + p->offset;
		b[0].len = (size_t)p->numel * 2;
	}
	if (cv->panels != NULL && sq_param_multiplied(c, p)) {
		sq_panels_pack(cv->panels + *pos, w, rows, cols);
		b[0].data = cv->panels + *pos;
		b[0].len = sq_panels_size(rows, cols) * 4;
		b[0].n_dims = 3;
		sq_panels_shape(b[0].dims, rows, cols);
		*pos += (long)sq_panels_size(rows, cols);
	}
	if (dtype != SQ_W_I8 || !p->has_view)
		return 1;
	for (r = 0; r < rows; r++)
		if (sq_quantize_row(cv->q + p->offset + r * cols,
		    cv->scale + *srow + r, w + r * cols, cols) < 0) {
			sq_seterr("tensor %s: row %ld: a weight is not finite: "
			    "no int8 scale can hold it", p->name, r);
			return -1;
		}
	b[0].dtype = "I8";
	b[0].size = 1;
	b[0].data = cv->q + p->offset;
	b[0].len = (size_t)p->numel;
	if (packs(c, p, dtype)) {
		sq_i8_pack_bytes(cv->packed + *pos, cv->q + p->offset, rows,
		    cols);
		b[0].data = cv->packed + *pos;
		b[0].len = (size_t)sq_i8_packed_len(rows, cols);
		b[0].n_dims = 4;
		sq_i8_packed_shape(b[0].dims, rows, cols);
		*pos += (long)b[0].len;
	}
	snprintf(cv->names[i], sizeof(cv->names[i]), "%s_scale", p->name);
	b[1] = (struct blob){cv->names[i], "F32", 4, {rows}, 1,
	    cv->scale + *srow, (size_t)rows * 4};
	*srow += rows;
	return 2;
}

/*
 * The tensors of m and x in file order: b has room for 2 params->n +
 * x->n_tensors + 4.  Returns how many, or -1 with the error set.
 */
static int
list_blobs(struct blob *b, const struct sq_model *m,
    const struct sq_save_opts *x, struct conv *cv)
{
	const struct sq_params *t = m->params;
	const struct sq_config *c = &m->cfg;
	int dtype = x != NULL ? x->dtype : SQ_W_F32, n = 0, i, k;
	long srow = 0, pos = 0;

	for (i = 0; i < t->n; i++, n += k) {
		const struct sq_param *p = &t->p[i];

		k = param_blobs(b + n, c, p, *sq_param_field(
		    (struct sq_model *)m, p), dtype, cv, &srow, &pos, i);
		if (k < 0)
			return -1;
	}
	for (i = 0; x != NULL && i < x->n_tensors; i++, n++)
		b[n] = (struct blob){x->tensors[i].name, "F32", 4,
		    {x->tensors[i].numel}, 1, x->tensors[i].data,
		    (size_t)x->tensors[i].numel * sizeof(float)};
	if (m->vocab_src != NULL)
		b[n++] = (struct blob){"vocab.source", "I32", 4,
		    {c->src_vocab_size}, 1, m->vocab_src,
		    (size_t)c->src_vocab_size * 4};
	if (m->vocab_tgt != NULL && !c->shared_vocab)
		b[n++] = (struct blob){"vocab.target", "I32", 4,
		    {c->tgt_vocab_size}, 1, m->vocab_tgt,
		    (size_t)c->tgt_vocab_size * 4};
	if (m->spm_src != NULL)
		b[n++] = (struct blob){"spm.source", "U8", 1,
		    {(long)m->spm_src_len}, 1, m->spm_src, m->spm_src_len};
	if (m->spm_tgt != NULL && !c->shared_vocab)
		b[n++] = (struct blob){"spm.target", "U8", 1,
		    {(long)m->spm_tgt_len}, 1, m->spm_tgt, m->spm_tgt_len};
	return n;
}

/*
 * The buffers of cv for saving m in dtype, float32 in panels where they
 * may be if panels.  Free with conv_free().
 */
static void
conv_new(struct conv *cv, const struct sq_model *m, int dtype, int panels)
{
	const struct sq_params *t = m->params;
	long rows = 0, packed = 0;
	size_t floats = 0;
	int i;

	memset(cv, 0, sizeof(*cv));
	for (i = 0; panels && dtype == SQ_W_F32 && i < t->n; i++)
		if (sq_param_multiplied(&m->cfg, &t->p[i]))
			floats += sq_panels_size(t->p[i].dims[0],
			    t->p[i].dims[1]);
	if (floats > 0)
		cv->panels = sq_reallocarray(NULL, floats, sizeof(float));
	if (dtype == SQ_W_F16)
		cv->half = sq_reallocarray(NULL, (size_t)t->total,
		    sizeof(*cv->half));
	if (dtype != SQ_W_I8)
		return;
	for (i = 0; i < t->n; i++) {
		rows += t->p[i].has_view ? t->p[i].dims[0] : 0;
		if (packs(&m->cfg, &t->p[i], dtype))
			packed += sq_i8_packed_len(t->p[i].dims[0],
			    t->p[i].dims[1]);
	}
	cv->q = sq_malloc((size_t)t->total);
	cv->packed = sq_malloc((size_t)packed + 1);
	cv->scale = sq_reallocarray(NULL, (size_t)rows + 1, sizeof(float));
	cv->names = sq_calloc((size_t)t->n, sizeof(*cv->names));
}

static void
conv_free(struct conv *cv)
{
	free(cv->half);
	free(cv->q);
	free(cv->packed);
	free(cv->panels);
	free(cv->scale);
	free(cv->names);
}

/* Stable: by falling element size, list order within a size. */
static void
order_blobs(struct blob *b, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && b[j - 1].size < b[j].size; j--) {
			struct blob tmp = b[j];

			b[j] = b[j - 1];
			b[j - 1] = tmp;
		}
}

static int
write_all(int fd, const void *p, size_t n)
{
	const char *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The header: 8-byte length, then JSON padded to end at 64 n. */
static char *
header(const struct sq_model *m, const struct sq_save_opts *x,
    const struct blob *b, int n, size_t *len)
{
	json_t *root = json_object();
	size_t pos = 0, jlen, padded;
	char *json, *out;
	int i;

	json_object_set_new(root, "__metadata__", metadata(m, x));
	for (i = 0; i < n; i++)
		add_entry(root, &b[i], &pos);
	json = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (json == NULL)
		sq_die("out of memory (model header)");
	jlen = strlen(json);
	padded = (8 + jlen + 63) / 64 * 64 - 8;
	out = sq_malloc(8 + padded);
	for (i = 0; i < 8; i++)
		out[i] = (char)((uint64_t)padded >> (8 * i));
	memcpy(out + 8, json, jlen);
	memset(out + 8 + jlen, ' ', padded - jlen);
	free(json);
	*len = 8 + padded;
	return out;
}

int
sq_model_save(const struct sq_model *m, const char *path,
    const struct sq_save_opts *x)
{
	struct blob *b = sq_calloc(2 * (size_t)m->params->n + 4 +
	    (x ? x->n_tensors : 0), sizeof(*b));
	size_t plen = strlen(path), hlen;
	char *tmp = sq_malloc(plen + 16), *hdr = NULL;
	struct conv cv;
	struct stat st;
	mode_t mask;
	int fd = -1, n, i, err, in_place = 0;

	conv_new(&cv, m, x != NULL ? x->dtype : SQ_W_F32, x != NULL &&
	    x->panels);
	if ((n = list_blobs(b, m, x, &cv)) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", sq_errstr());
		sq_seterr("%s: %s", path, msg);
		goto out;
	}
	order_blobs(b, n);
	hdr = header(m, x, b, n, &hlen);
	snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
	in_place = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
	if (in_place)
		fd = open(path, O_WRONLY | O_TRUNC);
	else if ((fd = mkstemp(tmp)) < 0) {
		sq_seterr("%s: cannot create a file beside it: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fd < 0)
		goto fail;
	mask = umask(0);
	umask(mask);
	if ((!in_place && fchmod(fd, 0666 & ~mask) < 0) ||
	    write_all(fd, hdr, hlen) < 0)
		goto fail;
	for (i = 0; i < n; i++)
		if (write_all(fd, b[i].data, b[i].len) < 0)
			goto fail;
	if ((!in_place && fsync(fd) < 0) || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (!in_place && rename(tmp, path) < 0)
		goto fail;
	conv_free(&cv);
	free(b);
	free(hdr);
	free(tmp);
	return 0;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (!in_place)
		unlink(tmp);
	sq_seterr("%s: %s", path, strerror(err));
out:
	conv_free(&cv);
	free(b);
	free(hdr);
	free(tmp);
	return -1;
}
