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
 * The segments are spans into struct sq_lines that the caller keeps.
 * Failures return the exit status sacrebleu uses (1, or 17 for a wrong
 * number of fields) with the message in sq_errstr().
 */
#ifndef SQ_BLEU_CORPUS_H
#define SQ_BLEU_CORPUS_H

#include <stddef.h>

#include "bleu_input.h"
#include "bleu_text.h"

/* One stream of segments. */
struct sq_segs {
	struct sq_uspan *s;	/* (n) */
	size_t n, cap;
};

void sq_segs_free(struct sq_segs *s);

/*
 * The n_paths reference files into lines (n_paths) and refs (n_paths
 * streams, or nr when nr > 1).  Returns 0 or the exit status.
 */
int sq_corpus_refs(struct sq_segs *refs, struct sq_lines *lines,
    const char *const *paths, size_t n_paths, size_t nr);

/* One -i file's hypotheses.  Returns 0 or the exit status. */
int sq_corpus_system(struct sq_segs *hyp, struct sq_lines *lines,
    const char *path);

/*
 * The systems on the standard input: *hyps (*n_sys streams) is allocated;
 * the caller frees it and each stream.  Returns 0 or the exit status.
 */
int sq_corpus_stdin(struct sq_segs **hyps, size_t *n_sys,
    struct sq_lines *lines);

#endif
