/*
 * bleu_corpus: the references and hypotheses of sacrebleu's command line,
 * split as its cli.py splits them.
 *
 * Every line loses its trailing whitespace (str.rstrip()).  References
 * come one stream per file, or -nr N tab-separated streams from a single
 * file (line.split('\t', maxsplit=N - 1), which must give N fields).
 * Hypotheses come one system per -i file, or from the standard input as
 * tab-separated systems, as many as fields on its first line (whose
 * fields keep their own trailing spaces, as in sacrebleu); an empty
 * standard input is one empty hypothesis.
 *
 * The segments are spans into struct sq_bleu_lines that the caller keeps.
 * Failures return the exit status sacrebleu uses (1, or 17 for a wrong
 * number of fields) with the message in sq_errstr().
 *
 * The systems (sq_bleu_corpus_systems) carry the names sacrebleu gives them
 * in its tables and messages; notes and warnings on the way go to the
 * caller's log function, since lib/ prints nothing itself.
 */
#ifndef SQ_BLEU_CORPUS_H
#define SQ_BLEU_CORPUS_H

#include <stddef.h>

#include "bleu/input.h"
#include "bleu/text.h"

/* One stream of segments. */
struct sq_bleu_segs {
	struct sq_bleu_uspan *s;	/* (n) */
	size_t n, cap;
};

void sq_bleu_segs_free(struct sq_bleu_segs *s);

/*
 * The n_paths reference files into lines (n_paths) and refs (n_paths
 * streams, or nr when nr > 1).  Returns 0 or the exit status.
 */
int sq_bleu_corpus_refs(struct sq_bleu_segs *refs, struct sq_bleu_lines *lines,
    const char *const *paths, size_t n_paths, size_t nr);

/* One system: its name and hypotheses. */
struct sq_bleu_system {
	char *name;
	struct sq_bleu_segs hyp;
	/* its text (stdin: all in system 0's) */
	struct sq_bleu_lines lines;
};

/*
 * The systems to evaluate into *sys (*n_sys of them, allocated): one per
 * path, named by it, or with from_stdin the standard input's ("System 1",
 * ...).  A path given twice is an error, except that paired skips a repeat
 * of the baseline (the first) with a note.  paired also renames them as
 * sacrebleu's paired tests do: "Baseline: PATH", or for the standard input
 * "Baseline", "System 1", ...  Notes (none if quiet) and warnings go to
 * log, one message a call.  Returns 0, or the exit status with *sys NULL.
 * The caller frees *sys with sq_bleu_systems_free().
 */
int sq_bleu_corpus_systems(struct sq_bleu_system **sys, size_t *n_sys,
    const char *const *paths, size_t n_paths, int from_stdin, int paired,
    int quiet, void (*log)(const char *msg));

/* Frees the n systems sys and their text; sys may be NULL. */
void sq_bleu_systems_free(struct sq_bleu_system *sys, size_t n);

#endif
