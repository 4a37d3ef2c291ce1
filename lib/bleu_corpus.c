/*
 * bleu_corpus: reference and hypothesis streams (see bleu_corpus.h).
 * Reference: sacrebleu 2.6.0 sacrebleu.py, main(), "Read references" and
 * "Read hypotheses".
 */
#include <stdlib.h>

#include "bleu_corpus.h"
#include "util.h"

static void
push(struct sq_segs *st, struct sq_uspan x)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 1024;
		st->s = sq_reallocarray(st->s, st->cap, sizeof(*st->s));
	}
	st->s[st->n++] = x;
}

void
sq_segs_free(struct sq_segs *s)
{
	if (!s)
		return;
	free(s->s);
	s->s = NULL;
	s->n = s->cap = 0;
}

/*
 * str.split('\t', maxsplit=max - 1): the fields of x, each pushed on
 * out[k] while k < max; returns how many there are (up to max).
 */
static size_t
split_tabs(struct sq_segs *out, size_t max, struct sq_uspan x, int rstrip)
{
	struct sq_uspan f = x;
	size_t j = 0, k;

	for (k = 0;; k++) {
		while (j < x.n && (x.c[j] != '\t' || k + 1 == max))
			j++;
		f.n = (size_t)(x.c + j - f.c);
		if (k >= max)
			return k + 1;
		if (rstrip)
			f.n = sq_py_rstrip(f.c, f.n);
		push(&out[k], f);
		if (j == x.n)
			return k + 1;
		f.c = x.c + ++j;
	}
}

/* line i of l, right-stripped */
static struct sq_uspan
line(const struct sq_lines *l, size_t i)
{
	struct sq_uspan x = sq_lines_at(l, i);

	x.n = sq_py_rstrip(x.c, x.n);
	return x;
}

int
sq_corpus_refs(struct sq_segs *refs, struct sq_lines *lines,
    const char *const *paths, size_t n_paths, size_t nr)
{
	size_t i, r, k;

	for (r = 0; r < n_paths; r++) {
		if (sq_lines_read(&lines[r], paths[r], 0) < 0)
			return 1;
		for (i = 0; i < lines[r].n; i++) {
			if (nr == 1) {
				push(&refs[r], line(&lines[r], i));
				continue;
			}
			k = split_tabs(refs, nr, line(&lines[r], i), 0);
			if (k != nr) {
				sq_seterr("FATAL: line %zu: expected %zu "
				    "fields, but found %zu.", i + 1, nr, k);
				return 17;
			}
		}
	}
	return 0;
}

int
sq_corpus_system(struct sq_segs *hyp, struct sq_lines *lines,
    const char *path)
{
	if (sq_lines_read(lines, path, 0) < 0)
		return 1;
	for (size_t i = 0; i < lines->n; i++)
		push(hyp, line(lines, i));
	return 0;
}

int
sq_corpus_stdin(struct sq_segs **hyps, size_t *n_sys, struct sq_lines *l)
{
	static const uint32_t empty[1];
	struct sq_uspan x = { empty, 0 };
	size_t i, j, n = 1;

	*hyps = NULL;
	*n_sys = 0;
	if (sq_lines_read(l, NULL, 1) < 0)
		return 1;
	if (l->n > 0)
		x = line(l, 0);
	for (j = 0; j < x.n; j++)
		n += x.c[j] == '\t';
	*hyps = sq_calloc(n, sizeof(**hyps));
	*n_sys = n;
	split_tabs(*hyps, n, x, 0);	/* readline() gives '' if empty */
	for (i = 1; i < l->n; i++) {
		/* count them all: more fields than systems is an error too */
		x = line(l, i);
		for (j = 0, n = 1; j < x.n; j++)
			n += x.c[j] == '\t';
		if (n != *n_sys) {
			sq_seterr("FATAL: the number of tab-delimited fields "
			    "in the input stream differ across lines.");
			return 17;
		}
		split_tabs(*hyps, n, x, 1);
	}
	return 0;
}
