/*
 * bleu_ngram: counts of n-grams, the Counter of sacrebleu's helpers.py.
 *
 * An n-gram is a span of code points plus a small integer tag (the order,
 * or anything else the caller uses to keep kinds apart).  Word n-grams are
 * spans of a line whose words are joined by single spaces, so the span of
 * words i..i+n-1 is the n-gram itself; character n-grams are spans of the
 * line.  The table borrows the spans: they must outlive its use, until
 * sq_bleu_ngrams_clear().  Open addressing, linear probing; clearing costs the
 * number of entries used, not the capacity.
 */
#ifndef SQ_BLEU_NGRAM_H
#define SQ_BLEU_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "bleu/text.h"

struct sq_bleu_ngram {
	const uint32_t *c;	/* (n) borrowed */
	uint32_t n;
	uint32_t tag;
	uint64_t hash;
	int64_t count;
};

struct sq_bleu_ngrams {
	struct sq_bleu_ngram *e;	/* (cap) slots; c == NULL is free */
	uint32_t *used;		/* (n_used) indices of the occupied slots */
	size_t cap, n_used;
};

void sq_bleu_ngrams_clear(struct sq_bleu_ngrams *t);
void sq_bleu_ngrams_free(struct sq_bleu_ngrams *t);

/* The count of (tag, c[0..n)), inserted with count 0 if absent; n > 0. */
int64_t *sq_bleu_ngrams_slot(struct sq_bleu_ngrams *t, uint32_t tag,
    const uint32_t *c,
    uint32_t n);
/* The count of an n-gram, 0 if absent. */
int64_t sq_bleu_ngrams_get(const struct sq_bleu_ngrams *t, uint32_t tag,
    const uint32_t *c, uint32_t n, uint64_t hash);

/* Words joined by single spaces, so that words i..j are one span. */
struct sq_bleu_words {
	struct sq_bleu_ustr s;
	size_t *start;		/* (n) offset of each word in s */
	size_t n, cap;
};

/* Sets w to the n words (copied). */
void sq_bleu_words_set(struct sq_bleu_words *w,
    const struct sq_bleu_uspan *words, size_t n);
void sq_bleu_words_free(struct sq_bleu_words *w);

/* Counts the word n-grams of w, n = 1..max, each with tag tag0 + n. */
void sq_bleu_ngrams_add_words(struct sq_bleu_ngrams *t,
    const struct sq_bleu_words *w,
    uint32_t tag0, uint32_t max);
/* Counts the character n-grams of c[0..n), n = 1..max, tag tag0 + n. */
void sq_bleu_ngrams_add_chars(struct sq_bleu_ngrams *t, const uint32_t *c,
    size_t n,
    uint32_t tag0, uint32_t max);

/* The i-th occupied entry, 0 <= i < t->n_used. */
static inline const struct sq_bleu_ngram *
sq_bleu_ngrams_at(const struct sq_bleu_ngrams *t, size_t i)
{
	return &t->e[t->used[i]];
}

#endif
