/*
 * bleu_tok: sacrebleu's BLEU tokenizers: 13a, intl, zh, char and none.
 *
 * Each one is a faithful re-implementation of sacrebleu 2.6.0's rules
 * (sacrebleu/tokenizers/tokenizer_*.py): the regular expressions become
 * passes over code points that match, left to right and without overlap,
 * exactly what Python's re.sub matches.  The output is the tokenized line:
 * tokens separated by whitespace, for sq_py_split().
 */
#ifndef SQ_BLEU_TOK_H
#define SQ_BLEU_TOK_H

#include "bleu/text.h"

enum sq_bleutok_kind {
	SQ_BLEUTOK_13A,
	SQ_BLEUTOK_INTL,
	SQ_BLEUTOK_ZH,
	SQ_BLEUTOK_CHAR,
	SQ_BLEUTOK_NONE,
};

struct sq_bleutok {
	enum sq_bleutok_kind kind;
	struct sq_ustr a, b;	/* scratch: the passes ping-pong */
};

/* The kind named by name ("13a", "intl", ...), or -1 if unknown. */
int sq_bleutok_kind(const char *name);
/* The name of a kind, as the signature prints it. */
const char *sq_bleutok_name(enum sq_bleutok_kind kind);

void sq_bleutok_init(struct sq_bleutok *t, enum sq_bleutok_kind kind);
void sq_bleutok_free(struct sq_bleutok *t);

/*
 * Tokenizes c[0..n).  The result is borrowed: c itself (none) or t's
 * scratch, valid until the next call.
 */
struct sq_uspan sq_bleutok_run(struct sq_bleutok *t, const uint32_t *c,
    size_t n);

#endif
