/*
 * weights: a model file's weights bound in the engine's dtype (see
 * weights.h).  Two passes over the parameter table: the first sizes the
 * memory the conversions need (float32 copies in m->owned, F16 and int8
 * views in m->q_owned, each piece 64-byte aligned), the second fills it
 * row by row and points the fields and views at it or at the map.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/i8gemm.h"
#include "nn/model.h"
#include "nn/panels.h"
#include "nn/params.h"
#include "nn/quant.h"
#include "nn/weights.h"
#include "base/util.h"

/* Where entry i's float32 copy and converted view go: -1 if nowhere. */
struct place {
	long f;			/* floats into m->owned */
	long q;			/* bytes into m->q_owned */
};

static long
up64(long n)
{
	return (n + 63) & ~63L;
}

/* Bytes of a view of rows x cols in dtype: int8s and then the scales. */
static long
view_bytes(int dtype, long rows, long cols)
{
	return dtype == SQ_W_I8 ? up64(rows * cols) + up64(rows * 4) :
	    up64(rows * cols * 2);
}

int
sq_weights_auto(const struct sq_model *m, const struct sq_stored *st,
    int f16)
{
	int dtype = SQ_W_F32;

	for (int i = 0; i < m->params->n; i++) {
		if (!m->params->p[i].has_view)
			continue;
		if (st[i].dtype == SQ_W_I8)
			return SQ_W_I8;
		if (f16 && st[i].dtype == SQ_W_F16)
			dtype = SQ_W_F16;
	}
	return dtype;
}

/*
 * Row r of a stored tensor of cols columns as floats: in place for F32
 * rows, else written to buf (qbuf: room for a row of int8s unpacked).
 */
static const float *
row_floats(float *buf, int8_t *qbuf, const struct sq_stored *s, long r,
    long cols)
{
	if (s->dtype == SQ_W_F16) {
		sq_widen_row(buf, (const uint16_t *)s->data + r * cols, cols);
		return buf;
	}
	if (s->dtype == SQ_W_I8 && s->i8_packed) {
		sq_i8_unpack_row(qbuf, s->data, (int)cols, r);
		sq_dequantize_row(buf, qbuf, s->scale[r], cols);
		return buf;
	}
	if (s->dtype == SQ_W_I8) {
		sq_dequantize_row(buf, (const int8_t *)s->data + r * cols,
		    s->scale[r], cols);
		return buf;
	}
	if (s->panels) {
		sq_panels_row(buf, s->data, cols, r);
		return buf;
	}
	return (const float *)s->data + r * cols;
}

/* Converts stored s (rows, cols) into the view v, its memory at q. */
static int
convert(struct sq_mat *v, char *q, const struct sq_stored *s, int dtype,
    long rows, long cols, float *buf, int8_t *qbuf, const char *path,
    const char *name)
{
	long r;

	v->dtype = dtype;
	v->data = q;
	v->scale = dtype == SQ_W_I8 ? (const float *)(q + up64(rows * cols)) :
	    NULL;
	for (r = 0; r < rows; r++) {
		const float *w = row_floats(buf, qbuf, s, r, cols);

		if (dtype == SQ_W_I8 && sq_quantize_row((int8_t *)q + r * cols,
		    (float *)v->scale + r, w, cols) < 0) {
			sq_seterr("%s: tensor %s: row %ld: a weight is not "
			    "finite: no int8 scale can hold it", path, name, r);
			return -1;
		}
		if (dtype == SQ_W_F16 && sq_half_row((uint16_t *)q + r * cols,
		    w, cols) < 0) {
			sq_seterr("%s: tensor %s: row %ld: a weight is beyond "
			    "F16's range (65504)", path, name, r);
			return -1;
		}
	}
	return 0;
}

/* whether st is float32 rows, read in place */
static int
f32_rows(const struct sq_stored *st)
{
	return st->dtype == SQ_W_F32 && !st->panels;
}

/*
 * The first pass: what each entry needs, and the totals; keep: float32
 * panels stay so.
 */
static void
plan(struct place *pl, long *n_f, long *n_q, const struct sq_params *t,
    const struct sq_stored *st, int dtype, int keep)
{
	*n_f = *n_q = 0;
	for (int i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];
		int view = p->has_view && dtype != SQ_W_F32;

		pl[i].f = pl[i].q = -1;
		if (!view && !f32_rows(&st[i]) && !(keep && st[i].panels)) {
			pl[i].f = *n_f;
			*n_f += up64(p->numel * 4) / 4;
		}
		if (view && st[i].dtype != dtype) {
			pl[i].q = *n_q;
			*n_q += view_bytes(dtype, p->dims[0], p->dims[1]);
		}
	}
}

int
sq_weights_bind(struct sq_model *m, const struct sq_stored *st, int dtype,
    int keep_panels, const char *path)
{
	const struct sq_params *t = m->params;
	struct place *pl = sq_calloc((size_t)t->n, sizeof(*pl));
	float *buf = NULL;
	int8_t *qbuf = NULL;
	char *q0;
	long n_f, n_q, cols_max = 1;
	int i, rc = -1;

	/* the GRU model multiplies through float tables, not views */
	if (m->cfg.arch == SQ_ARCH_RNN && dtype != SQ_W_F32) {
		sq_seterr("%s: an arch rnn model runs in float32 only (--dtype "
		    "f32)", path);
		free(pl);
		return -1;
	}
	/* the engine's products read panels in float32 alone; the GRU's
	   read rows */
	keep_panels = keep_panels && dtype == SQ_W_F32 &&
	    m->cfg.arch != SQ_ARCH_RNN;
	plan(pl, &n_f, &n_q, t, st, dtype, keep_panels);
	m->dtype = dtype;
	m->owned = n_f ? sq_malloc((size_t)n_f * sizeof(float)) : NULL;
	/* the pieces at multiples of 64 bytes from a 64-aligned start */
	m->q_owned = n_q ? sq_malloc((size_t)n_q + 63) : NULL;
	q0 = (char *)(((uintptr_t)m->q_owned + 63) & ~(uintptr_t)63);
	for (i = 0; i < t->n; i++)
		cols_max = SQ_MAX(cols_max, t->p[i].dims[1]);
	buf = sq_reallocarray(NULL, (size_t)cols_max, sizeof(float));
	qbuf = sq_malloc((size_t)cols_max);
	for (i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];
		const float **field = sq_param_field(m, p);
		long rows = p->n_dims == 2 ? p->dims[0] : 1, r;
		long cols = p->numel / (rows ? rows : 1);

		*field = NULL;
		if (pl[i].f >= 0) {
			/* widened, dequantized or unpanelled (never F32
			   rows) in place */
			for (r = 0; r < rows; r++)
				row_floats(m->owned + pl[i].f + r * cols, qbuf,
				    &st[i], r, cols);
			*field = m->owned + pl[i].f;
		} else if (f32_rows(&st[i]))
			*field = st[i].data;
		if (!p->has_view)
			continue;
		if (dtype == SQ_W_F32 && *field == NULL)	/* kept panels */
			*sq_param_view(m, p) = (struct sq_mat){
				.dtype = SQ_W_F32, .data = st[i].data,
				.panels = 1 };
		else if (dtype == SQ_W_F32)
			*sq_param_view(m, p) = (struct sq_mat){
				.dtype = SQ_W_F32, .data = *field };
		else if (pl[i].q < 0)
			*sq_param_view(m, p) = (struct sq_mat){
				.dtype = dtype, .data = st[i].data,
				.scale = st[i].scale,
				.i8_packed = st[i].i8_packed };
		else if (convert(sq_param_view(m, p), q0 + pl[i].q, &st[i],
		    dtype, rows, cols, buf, qbuf, path, p->name) < 0)
			goto out;
		if (dtype != SQ_W_F32)
			*field = NULL;
	}
	sq_params_tie(m);
	rc = 0;
out:
	free(qbuf);
	free(buf);
	free(pl);
	return rc;
}
