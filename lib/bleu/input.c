/*
 * bleu_input: whole text files as lines of code points (see bleu_input.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "bleu/input.h"
#include "base/util.h"

struct bytes {
	char *p;
	size_t n, cap;
};

/* Room to read into: 64 KiB at first, doubled when full. */
static void
bytes_room(struct bytes *b)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 65536;
		b->p = sq_realloc(b->p, b->cap);
	}
}

static int
slurp(struct bytes *b, const char *path, const char *name)
{
	size_t len = path ? strlen(path) : 0, k;
	FILE *f;
	gzFile gz;
	int r;

	if (len > 3 && strcmp(path + len - 3, ".gz") == 0) {
		if (!(gz = gzopen(path, "rb"))) {
			sq_seterr("%s: %s", name,
			    strerror(errno ? errno : ENOMEM));
			return -1;
		}
		do {
			bytes_room(b);
			r = gzread(gz, b->p + b->n, (unsigned)(b->cap - b->n));
			if (r > 0)
				b->n += (size_t)r;
		} while (r > 0);
		if (r < 0) {
			sq_seterr("%s: %s", name, gzerror(gz, &r));
			gzclose(gz);
			return -1;
		}
		gzclose(gz);
		return 0;
	}
	if (!(f = sq_fopen_input(path))) {
		sq_seterr("%s: %s", name, strerror(errno));
		return -1;
	}
	do {
		bytes_room(b);
		k = fread(b->p + b->n, 1, b->cap - b->n, f);
		b->n += k;
	} while (k > 0);
	if (ferror(f)) {
		sq_seterr("%s: %s", name, strerror(errno));
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	return 0;
}

int
sq_bleu_lines_read(struct sq_bleu_lines *l, const char *path, int universal)
{
	const char *name = sq_input_name(path);
	struct bytes b = { 0 };
	size_t i = 0, start, cap = 1024, bad;

	memset(l, 0, sizeof(*l));
	if (slurp(&b, path, name) < 0) {
		free(b.p);
		return -1;
	}
	l->off = sq_reallocarray(NULL, cap, sizeof(*l->off));
	l->off[0] = 0;
	while (i < b.n) {
		start = i;
		while (i < b.n && b.p[i] != '\n' &&
		    !(universal && b.p[i] == '\r'))
			i++;
		if (sq_bleu_utf8_decode(&l->text, b.p + start, i - start,
		    &bad) < 0) {
			sq_seterr("%s: line %zu: invalid UTF-8", name,
			    l->n + 1);
			free(b.p);
			sq_bleu_lines_free(l);
			return -1;
		}
		if (i + 1 < b.n && b.p[i] == '\r' && b.p[i + 1] == '\n')
			i++;
		if (i < b.n)
			i++;
		if (l->n + 2 > cap) {
			cap *= 2;
			l->off = sq_reallocarray(l->off, cap, sizeof(*l->off));
		}
		l->off[++l->n] = l->text.n;
	}
	free(b.p);
	return 0;
}

void
sq_bleu_lines_free(struct sq_bleu_lines *l)
{
	if (!l)
		return;
	sq_bleu_ustr_free(&l->text);
	free(l->off);
	l->off = NULL;
	l->n = 0;
}
