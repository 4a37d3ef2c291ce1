/*
 * bleu_corpus: reference and hypothesis streams (see bleu_corpus.h).
 * Reference: sacrebleu 2.6.0 sacrebleu.py, main(), "Read references" and
 * "Read hypotheses".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bleu/corpus.h"
#include "bleu/report.h"
#include "base/util.h"

static void
push(struct sq_bleu_segs *st, struct sq_bleu_uspan x)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 1024;
		st->s = sq_reallocarray(st->s, st->cap, sizeof(*st->s));
	}
	st->s[st->n++] = x;
}

void
sq_bleu_segs_free(struct sq_bleu_segs *s)
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
split_tabs(struct sq_bleu_segs *out, size_t max, struct sq_bleu_uspan x,
    int rstrip)
{
	struct sq_bleu_uspan f = x;
	size_t j = 0, start = 0, k;

	/* by index: x.c is NULL for an empty line, and NULL takes no offset */
	for (k = 0;; k++) {
		while (j < x.n && (x.c[j] != '\t' || k + 1 == max))
			j++;
		f.n = j - start;
		if (k >= max)
			return k + 1;
		if (rstrip)
			f.n = sq_bleu_py_rstrip(f.c, f.n);
		push(&out[k], f);
		if (j == x.n)
			return k + 1;
		start = ++j;
		f.c = x.c + start;
	}
}

/* line i of l, right-stripped */
static struct sq_bleu_uspan
line(const struct sq_bleu_lines *l, size_t i)
{
	struct sq_bleu_uspan x = sq_bleu_lines_at(l, i);

	x.n = sq_bleu_py_rstrip(x.c, x.n);
	return x;
}

int
sq_bleu_corpus_refs(struct sq_bleu_segs *refs, struct sq_bleu_lines *lines,
    const char *const *paths, size_t n_paths, size_t nr)
{
	size_t i, r, k;

	for (r = 0; r < n_paths; r++) {
		if (sq_bleu_lines_read(&lines[r], paths[r], 0) < 0)
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

/* One -i file's hypotheses.  Returns 0 or the exit status. */
static int
corpus_system(struct sq_bleu_segs *hyp, struct sq_bleu_lines *lines,
    const char *path)
{
	if (sq_bleu_lines_read(lines, path, 0) < 0)
		return 1;
	for (size_t i = 0; i < lines->n; i++)
		push(hyp, line(lines, i));
	return 0;
}

/*
 * The systems on the standard input: *hyps (*n_sys streams) is allocated;
 * the caller frees it and each stream.  Returns 0 or the exit status.
 */
static int
corpus_stdin(struct sq_bleu_segs **hyps, size_t *n_sys, struct sq_bleu_lines *l)
{
	static const uint32_t empty[1];
	struct sq_bleu_uspan x = { empty, 0 };
	size_t i, j, n = 1;

	*hyps = NULL;
	*n_sys = 0;
	if (sq_bleu_lines_read(l, NULL, 1) < 0)
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

void
sq_bleu_systems_free(struct sq_bleu_system *sys, size_t n)
{
	if (!sys)
		return;
	for (size_t s = 0; s < n; s++) {
		free(sys[s].name);
		sq_bleu_segs_free(&sys[s].hyp);
		sq_bleu_lines_free(&sys[s].lines);
	}
	free(sys);
}

/* -i FILE...: a system per file, named by the file; *n is how many */
static int
read_paths(struct sq_bleu_system *sys, size_t *n, const char *const *paths,
    size_t n_paths, int paired, int quiet, void (*log)(const char *))
{
	char q[1024], msg[1100];
	size_t i, j;
	int status;

	for (i = 0; i < n_paths; i++) {
		for (j = 0; j < *n && strcmp(sys[j].name, paths[i]); j++)
			;
		if (j < *n && paired && j == 0) {
			snprintf(msg, sizeof(msg), "Ignoring %s as it was also "
			    "given as the baseline.", sq_bleu_pystr_repr(q,
			    sizeof(q), paths[i]));
			if (!quiet)
				log(msg);
			continue;
		}
		if (j < *n) {
			snprintf(msg, sizeof(msg), "%s already used to name a "
			    "system.", sq_bleu_pystr_repr(q, sizeof(q),
			    paths[i]));
			log(msg);
			sq_seterr("Make sure to have a different basename for "
			    "each system.");
			return 1;
		}
		sys[*n].name = sq_strdup(paths[i]);
		if ((status = corpus_system(&sys[*n].hyp, &sys[*n].lines,
		    paths[i])) != 0) {
			free(sys[*n].name);
			return status;
		}
		(*n)++;
	}
	return 0;
}

/* stdin: tab-separated systems "System 1", "System 2", ... */
static struct sq_bleu_system *
read_stdin(size_t *n_sys, int *status)
{
	struct sq_bleu_segs *hyps;
	struct sq_bleu_system *sys;
	struct sq_bleu_lines l;
	char name[32];
	size_t k;

	if ((*status = corpus_stdin(&hyps, n_sys, &l)) != 0) {
		for (k = 0; hyps && k < *n_sys; k++)
			sq_bleu_segs_free(&hyps[k]);
		free(hyps);
		sq_bleu_lines_free(&l);
		return NULL;
	}
	sys = sq_calloc(*n_sys, sizeof(*sys));
	for (k = 0; k < *n_sys; k++) {
		snprintf(name, sizeof(name), "System %zu", k + 1);
		sys[k].name = sq_strdup(name);
		sys[k].hyp = hyps[k];
	}
	sys[0].lines = l;	/* owns the text of every system */
	free(hyps);
	return sys;
}

/* The names of PairedTest: the baseline is system 0 */
static void
name_paired(struct sq_bleu_system *sys, size_t n_sys, int from_stdin)
{
	char name[1100];

	if (!from_stdin && n_sys > 0) {
		snprintf(name, sizeof(name), "Baseline: %s", sys[0].name);
		free(sys[0].name);
		sys[0].name = sq_strdup(name);
		return;
	}
	for (size_t s = 0; s < n_sys; s++) {
		free(sys[s].name);
		if (s)
			snprintf(name, sizeof(name), "System %zu", s);
		sys[s].name = sq_strdup(s ? name : "Baseline");
	}
}

int
sq_bleu_corpus_systems(struct sq_bleu_system **sys, size_t *n_sys,
    const char *const *paths, size_t n_paths, int from_stdin, int paired,
    int quiet, void (*log)(const char *msg))
{
	int status = 0;

	*n_sys = 0;
	if (from_stdin) {
		*sys = read_stdin(n_sys, &status);
	} else {
		*sys = sq_calloc(n_paths ? n_paths : 1, sizeof(**sys));
		status = read_paths(*sys, n_sys, paths, n_paths, paired, quiet,
		    log);
	}
	if (status) {
		sq_bleu_systems_free(*sys, *n_sys);
		*sys = NULL;
		*n_sys = 0;
		return status;
	}
	if (paired)
		name_paired(*sys, *n_sys, from_stdin);
	return 0;
}
