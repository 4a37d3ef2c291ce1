/*
 * bleu_tok: sacrebleu's BLEU tokenizers: 13a, intl, zh, char and none.
 *
 * Each one is a faithful re-implementation of sacrebleu 2.6.0's rules
 * (sacrebleu/tokenizers/tokenizer_*.py): the regular expressions become
 * passes over code points that match, left to right and without overlap,
 * exactly what Python's re.sub matches.  The output is the tokenized line:
 * tokens separated by whitespace, for sq_bleu_py_split().
 */
#ifndef SQ_BLEU_TOK_H
#define SQ_BLEU_TOK_H

#include "bleu/text.h"

enum sq_bleu_tok_kind {
	SQ_BLEU_TOK_13A,
	SQ_BLEU_TOK_INTL,
	SQ_BLEU_TOK_ZH,
	SQ_BLEU_TOK_CHAR,
	SQ_BLEU_TOK_NONE,
};

struct sq_bleu_tok {
	enum sq_bleu_tok_kind kind;
	struct sq_bleu_ustr a, b;	/* scratch: the passes ping-pong */
};

/* The kind named by name ("13a", "intl", ...), or -1 if unknown. */
int sq_bleu_tok_kind(const char *name);
/* The name of a kind, as the signature prints it. */
const char *sq_bleu_tok_name(enum sq_bleu_tok_kind kind);

void sq_bleu_tok_init(struct sq_bleu_tok *t, enum sq_bleu_tok_kind kind);
void sq_bleu_tok_free(struct sq_bleu_tok *t);

/*
 * Tokenizes c[0..n).  The result is borrowed: c itself (none) or t's
 * scratch, valid until the next call.
 */
struct sq_bleu_uspan sq_bleu_tok_run(struct sq_bleu_tok *t, const uint32_t *c,
    size_t n);

#endif
