/*
 * frames: feature frames from text lines or an .npy file (see frames.h).
 *
 * The input is read with lib/io/inbuf (pipes as files, one growing
 * buffer); a text line is parsed from a NUL-terminated copy with strtof,
 * each value checked to end at a separator and to be finite.  An .npy is
 * read whole (an utterance is a few hundred KB) and parsed by
 * lib/import/npy.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "import/frames.h"
#include "import/npy.h"
#include "io/inbuf.h"
#include "io/stream.h"

#define NPY_MAGIC "\x93NUMPY"

struct sq_frames_in {
	struct sq_inbuf in;
	FILE *own;		/* fclose'd at close, or NULL (stdin) */
	char *name;
	int dim;
	int npy;		/* an .npy: one record, then the end */
	uint64_t n_rec;		/* records (lines) handed out */
	char *line;		/* (line_cap) the line, NUL-terminated */
	size_t line_cap;
	float *data;		/* (data_cap) the record's values */
	size_t data_cap;
};

struct sq_frames_in *
sq_frames_in_open(const char *path, int dim)
{
	FILE *fp = sq_fopen_input(path);
	struct sq_frames_in *f;
	long long got;

	if (fp == NULL) {
		sq_seterr("%s: %s", sq_input_name(path), strerror(errno));
		return NULL;
	}
	f = sq_calloc(1, sizeof(*f));
	f->own = fp == stdin ? NULL : fp;
	f->name = sq_strdup(sq_input_name(path));
	f->dim = dim;
	f->in.fd = fileno(fp);
	if ((got = sq_inbuf_fill(&f->in, 6)) < 0) {
		sq_seterr("%s: read error: %s", f->name, strerror(errno));
		sq_frames_in_close(f);
		return NULL;
	}
	if (got > 0 && f->in.buf[f->in.pos] == 0) {
		sq_seterr("%s: a seqpipe stream, not frames as text or .npy",
		    f->name);
		sq_frames_in_close(f);
		return NULL;
	}
	f->npy = got >= 6 && memcmp(f->in.buf + f->in.pos, NPY_MAGIC, 6) == 0;
	return f;
}

void
sq_frames_in_close(struct sq_frames_in *f)
{
	if (f == NULL)
		return;
	if (f->own)
		fclose(f->own);
	sq_inbuf_free(&f->in);
	free(f->name);
	free(f->line);
	free(f->data);
	free(f);
}

/* Room for n values in f->data (never NULL, even for none). */
static float *
values(struct sq_frames_in *f, size_t n)
{
	if (f->data == NULL || f->data_cap < n) {
		f->data_cap = SQ_MAX(n, 2 * f->data_cap);
		f->data = sq_reallocarray(f->data, SQ_MAX(f->data_cap, 1),
		    sizeof(float));
	}
	return f->data;
}

/* "FILE: line N (key K): what", with the token at tok if not NULL. */
static int
bad_line(struct sq_frames_in *f, const char *what, const char *tok)
{
	char shown[48] = "";

	if (tok != NULL)
		snprintf(shown, sizeof(shown), " \"%.*s\"",
		    (int)SQ_MIN(strcspn(tok, " \t\r"), 40), tok);
	sq_seterr("%s: line %llu (key %llu): %s%s", f->name,
	    (unsigned long long)f->n_rec + 1, (unsigned long long)f->n_rec,
	    what, shown);
	return -1;
}

/* Parses the NUL-terminated line s into f->data; the value count. */
static long
parse_line(struct sq_frames_in *f, const char *s)
{
	size_t n = 0;

	for (;;) {
		char *end;
		float v;

		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (*s == '\0')
			return (long)n;
		errno = 0;
		v = strtof(s, &end);
		if (end == s || (*end != '\0' && *end != ' ' && *end != '\t' &&
		    *end != '\r'))
			return bad_line(f, "bad value", s);
		if (!isfinite(v))
			return bad_line(f, "value not finite:", s);
		values(f, n + 1)[n] = v;
		n++;
		s = end;
	}
}

static int
next_text(struct sq_frames_in *f, struct sq_record *rec)
{
	char *line;
	size_t len;
	long n;

	switch (sq_inbuf_line(&f->in, SQ_STREAM_MAX_LEN - 1, &line, &len)) {
	case 0:
		return 0;
	case -1:
		sq_seterr("%s: read error: %s", f->name, strerror(errno));
		return -1;
	case -2:
		sq_seterr("%s: line %llu (key %llu): longer than %u bytes",
		    f->name, (unsigned long long)f->n_rec + 1,
		    (unsigned long long)f->n_rec, SQ_STREAM_MAX_LEN);
		return -1;
	}
	if (f->line_cap < len + 1) {
		f->line_cap = SQ_MAX(len + 1, 2 * f->line_cap);
		f->line = sq_realloc(f->line, f->line_cap);
	}
	memcpy(f->line, line, len);
	f->line[len] = '\0';
	if (memchr(f->line, '\0', len))
		return bad_line(f, "a NUL byte in the line", NULL);
	if ((n = parse_line(f, f->line)) < 0)
		return -1;
	if (n % f->dim != 0) {
		sq_seterr("%s: line %llu (key %llu): %ld values, not a multiple "
		    "of the frame width %d", f->name,
		    (unsigned long long)f->n_rec + 1,
		    (unsigned long long)f->n_rec, n, f->dim);
		return -1;
	}
	memset(rec, 0, sizeof(*rec));
	rec->kind = SQ_REC_FRAMES;
	rec->key = f->n_rec++;
	rec->rows = (uint32_t)(n / f->dim);
	rec->cols = n > 0 ? (uint32_t)f->dim : 0;
	rec->data = values(f, 0);
	return 1;
}

static int
next_npy(struct sq_frames_in *f, struct sq_record *rec)
{
	struct sq_npy a;
	long long got;
	long rows;

	if (f->n_rec > 0)
		return 0;
	if ((got = sq_inbuf_fill(&f->in, SIZE_MAX)) < 0) {
		sq_seterr("%s: read error: %s", f->name, strerror(errno));
		return -1;
	}
	if (sq_npy_parse(&a, f->in.buf + f->in.pos, (size_t)got, f->name) < 0)
		return -1;
	if (a.n_dims < 1 || a.n_dims > 2 || a.dims[a.n_dims - 1] != f->dim) {
		char shape[64] = "()";
		size_t o = 0;

		for (int i = 0; i < a.n_dims && o < sizeof(shape) - 24; i++)
			o += (size_t)snprintf(shape + o, sizeof(shape) - o,
			    "%s%ld", i ? ", " : "(", a.dims[i]);
		if (a.n_dims > 0)
			snprintf(shape + o, sizeof(shape) - o, "%s)",
			    a.n_dims == 1 ? "," : "");
		sq_seterr("%s: an array of shape %s, expected (frames, %d)",
		    f->name, shape, f->dim);
		return -1;
	}
	rows = a.n_dims == 2 ? a.dims[0] : 1;
	if ((uint64_t)a.numel * 4 + 12 > SQ_STREAM_MAX_LEN) {
		sq_seterr("%s: %ld frames, more than a record holds", f->name,
		    rows);
		return -1;
	}
	if (sq_npy_floats(values(f, (size_t)a.numel), &a, f->name) < 0)
		return -1;
	for (long i = 0; i < a.numel; i++)
		if (!isfinite(f->data[i])) {
			sq_seterr("%s: frame %ld: value %ld is not finite (%g)",
			    f->name, i / f->dim, i % f->dim, f->data[i]);
			return -1;
		}
	memset(rec, 0, sizeof(*rec));
	rec->kind = SQ_REC_FRAMES;
	rec->key = f->n_rec++;
	rec->rows = (uint32_t)rows;
	rec->cols = rows > 0 ? (uint32_t)f->dim : 0;
	rec->data = f->data;
	return 1;
}

int
sq_frames_in_next(struct sq_frames_in *f, struct sq_record *rec)
{
	return f->npy ? next_npy(f, rec) : next_text(f, rec);
}
