/*
 * decoding: the input side shared by decode and beamsearch (decoding.h).
 *
 * Invariants: every sentence handed out has cols == the model's D and
 * comes from an operand whose header names the model (or none); its ids
 * and floats are copies owned by the reader until the next window, since
 * stream records are only borrowed until the next sq_stream_next().
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/decoding.h"
#include "search/engine.h"
#include "nn/model.h"
#include "io/stream.h"
#include "base/util.h"

struct sq_memin {
	char **paths;
	int n_paths, next_path;	/* operands; next one to open */
	struct sq_reader *r;	/* the current one, NULL between */
	struct sq_model *model;
	long n_rec;		/* records read from the current operand */

	struct sq_memsent *sents;	/* (cap) the current window */
	size_t *src_off, *mem_off;	/* (cap) where their copies start */
	int cap;
	int32_t *ids;		/* copies of the window's ids and floats */
	size_t n_ids, cap_ids;
	float *data;
	size_t n_data, cap_data;
};

int
sq_maxlen_parse(struct sq_maxlen *ml, const char *s)
{
	const char *p = s;
	char *end;
	double a = 0, b;

	b = strtod(p, &end);
	if (end != p && *end == ',') {
		a = b;
		p = end + 1;
		b = strtod(p, &end);
	}
	if (end == p || *end || !isfinite(a) || !isfinite(b) || a < 0) {
		sq_seterr("'%s' is not 'a,b' or 'b' with a >= 0", s);
		return -1;
	}
	ml->a = a;
	ml->b = b;
	return 0;
}

int
sq_maxlen_steps(const struct sq_maxlen *ml, int src_len,
    const struct sq_model *m)
{
	double x = floor(ml->a * src_len + ml->b);
	int cap = m->cfg.max_positions - m->cfg.position_offset;

	if (cap < 0)
		cap = 0;
	if (!(x < cap))
		return cap;
	return x < 0 ? 0 : (int)x;
}

/* Opens the next operand, checking its header against the model. */
static int
open_next(struct sq_memin *in)
{
	const char *path = in->n_paths ? in->paths[in->next_path] : NULL;

	in->next_path++;
	in->n_rec = 0;
	if ((in->r = sq_stream_open(path, SQ_STREAM_MEMORY)) == NULL)
		return -1;
	if (in->model && sq_stream_check_model(in->r, in->model->model_id) < 0)
		return -1;
	return 0;
}

struct sq_memin *
sq_memin_open(int n_paths, char **paths, const char *model_arg)
{
	struct sq_memin *in = sq_calloc(1, sizeof(*in));

	in->paths = paths;
	in->n_paths = n_paths;
	if (open_next(in) < 0)
		goto fail;
	if ((model_arg || sq_stream_info(in->r)->model_path[0]) &&
	    (in->model = sq_engine_model(model_arg, in->r)) == NULL)
		goto fail;
	return in;
fail:
	sq_memin_close(in);
	return NULL;
}

const struct sq_model *
sq_memin_model(const struct sq_memin *in)
{
	return in->model;
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

/* The record's fields as this window's copies; -1 on a bad record. */
static int
keep(struct sq_memin *in, const struct sq_record *rec, int i)
{
	struct sq_memsent *s = &in->sents[i];
	size_t D = (size_t)in->model->cfg.d_model;

	if (rec->cols != D && !(rec->rows == 0 && rec->cols == 0)) {
		sq_seterr("%s: record %ld (key %llu): width %u, the model's "
		    "is %zu", sq_input_name(in->n_paths ?
		    in->paths[in->next_path - 1] : NULL), in->n_rec,
		    (unsigned long long)rec->key, rec->cols, D);
		return -1;
	}
	s->key = rec->key;
	s->n_src = (int)rec->n_src;
	s->rows = (int)rec->rows;
	/* offsets for now: the buffers may move while the window fills */
	in->src_off[i] = in->n_ids;
	in->mem_off[i] = in->n_data;
	in->ids = grow(in->ids, &in->cap_ids, in->n_ids + rec->n_src,
	    sizeof(int32_t));
	memcpy(in->ids + in->n_ids, rec->src, rec->n_src * sizeof(int32_t));
	in->n_ids += rec->n_src;
	in->data = grow(in->data, &in->cap_data, in->n_data + rec->rows * D,
	    sizeof(float));
	memcpy(in->data + in->n_data, rec->data, rec->rows * D * sizeof(float));
	in->n_data += rec->rows * D;
	return 0;
}

int
sq_memin_read(struct sq_memin *in, int max, const struct sq_memsent **sents)
{
	struct sq_record rec;
	int n = 0, rc, i;

	in->n_ids = in->n_data = 0;
	if (max > in->cap) {
		in->sents = sq_reallocarray(in->sents, max, sizeof(*in->sents));
		in->src_off = sq_reallocarray(in->src_off, max, sizeof(size_t));
		in->mem_off = sq_reallocarray(in->mem_off, max, sizeof(size_t));
		in->cap = max;
	}
	while (n < max && in->r) {
		if ((rc = sq_stream_next(in->r, &rec)) < 0)
			return -1;
		if (rc == 0) {
			sq_stream_close(in->r);
			in->r = NULL;
			if (in->next_path < in->n_paths && open_next(in) < 0)
				return -1;
			continue;
		}
		if (in->model == NULL &&
		    (in->model = sq_engine_model(NULL, in->r)) == NULL)
			return -1;	/* no model named anywhere */
		if (keep(in, &rec, n) < 0)
			return -1;
		in->n_rec++;
		n++;
	}
	for (i = 0; i < n; i++) {
		in->sents[i].src = in->ids + in->src_off[i];
		in->sents[i].mem = in->data + in->mem_off[i];
	}
	*sents = in->sents;
	return n;
}

void
sq_memin_close(struct sq_memin *in)
{
	if (in == NULL)
		return;
	sq_stream_close(in->r);
	sq_model_close(in->model);
	free(in->sents);
	free(in->src_off);
	free(in->mem_off);
	free(in->ids);
	free(in->data);
	free(in);
}

static int
by_len(const void *pa, const void *pb, void *arg)
{
	const int *len = arg;
	int a = *(const int *)pa, b = *(const int *)pb;

	if (len[a] != len[b])
		return len[a] < len[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

int
sq_batch_plan(int *order, int *start, const int *len, int n, int batch_size,
    long batch_tokens)
{
	int i, nb = 0, first = 0;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_len, (void *)len);
	for (i = 0; i < n; i++) {
		/* sorted: the sentence joining is the longest of its batch */
		long cost = (long)(i - first + 1) * SQ_MAX(len[order[i]], 1);

		if (i > first && (i - first >= batch_size ||
		    (batch_tokens > 0 && cost > batch_tokens))) {
			start[nb++] = first;
			first = i;
		}
	}
	if (n > 0)
		start[nb++] = first;
	start[nb] = n;
	return nb;
}
