/*
 * bleu_input: the text files of sacrebleu's command line, as it reads them.
 *
 * sacrebleu opens files with open(path, encoding='utf-8', newline='\n')
 * (gzip.open for names ending in .gz): lines end at LF only, and any byte
 * sequence that is not strict UTF-8 is an error.  Standard input is read
 * through a TextIOWrapper with universal newlines: CR LF, CR and LF all
 * end a line.  A byte-order mark is an ordinary character (U+FEFF).  A
 * last line without a newline is a line; an empty file has no lines.
 */
#ifndef SQ_BLEU_INPUT_H
#define SQ_BLEU_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "bleu/text.h"

struct sq_bleu_lines {
	/* every line's code points, back to back */
	struct sq_bleu_ustr text;
	size_t *off;		/* (n + 1) line i is text.c[off[i]..off[i+1]) */
	size_t n;
};

/*
 * Reads the file path (NULL or "-": standard input) into l.  universal:
 * CR and CR LF end lines too.  Returns 0, or -1 with sq_errstr() set to
 * "NAME: what" (NAME: line N: invalid UTF-8 for bad bytes).
 */
int sq_bleu_lines_read(struct sq_bleu_lines *l, const char *path,
    int universal);
void sq_bleu_lines_free(struct sq_bleu_lines *l);

static inline struct sq_bleu_uspan
sq_bleu_lines_at(const struct sq_bleu_lines *l, size_t i)
{
	struct sq_bleu_uspan s;

	/* no text at all: no pointer to offset (UBSan: offset of NULL) */
	s.c = l->text.c ? l->text.c + l->off[i] : l->text.c;
	s.n = l->off[i + 1] - l->off[i];

	return s;
}

#endif
