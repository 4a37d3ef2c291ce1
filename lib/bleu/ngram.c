/*
 * bleu_ngram: a hash table of borrowed code point spans with counts.
 * See bleu_ngram.h.  The load factor stays under 1/2.
 */
#include <stdlib.h>
#include <string.h>

#include "bleu/ngram.h"
#include "base/util.h"

/* The hash of an n-gram; entries keep it, so one table looks up another. */
static uint64_t
ngrams_hash(uint32_t tag, const uint32_t *c, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)tag << 32 | n);

	for (uint32_t i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

void
sq_bleu_ngrams_clear(struct sq_bleu_ngrams *t)
{
	for (size_t i = 0; i < t->n_used; i++)
		t->e[t->used[i]].c = NULL;
	t->n_used = 0;
}

void
sq_bleu_ngrams_free(struct sq_bleu_ngrams *t)
{
	if (!t)
		return;
	free(t->e);
	free(t->used);
	memset(t, 0, sizeof(*t));
}

static int
same(const struct sq_bleu_ngram *e, uint64_t hash, uint32_t tag,
    const uint32_t *c, uint32_t n)
{
	return e->hash == hash && e->tag == tag && e->n == n &&
	    (e->c == c || memcmp(e->c, c, n * sizeof(*c)) == 0);
}

static void
grow(struct sq_bleu_ngrams *t)
{
	struct sq_bleu_ngram *old = t->e;
	size_t oldcap = t->cap, i, j, k = 0;

	t->cap = oldcap ? 2 * oldcap : 256;
	t->e = sq_calloc(t->cap, sizeof(*t->e));
	t->used = sq_reallocarray(t->used, t->cap / 2, sizeof(*t->used));
	for (i = 0; i < oldcap; i++) {
		if (!old[i].c)
			continue;
		for (j = old[i].hash & (t->cap - 1); t->e[j].c;
		    j = (j + 1) & (t->cap - 1))
			;
		t->e[j] = old[i];
		t->used[k++] = (uint32_t)j;
	}
	t->n_used = k;
	free(old);
}

int64_t *
sq_bleu_ngrams_slot(struct sq_bleu_ngrams *t, uint32_t tag, const uint32_t *c,
    uint32_t n)
{
	uint64_t h = ngrams_hash(tag, c, n);
	size_t j;

	if (2 * (t->n_used + 1) > t->cap)
		grow(t);
	for (j = h & (t->cap - 1); t->e[j].c; j = (j + 1) & (t->cap - 1))
		if (same(&t->e[j], h, tag, c, n))
			return &t->e[j].count;
	t->e[j].c = c;
	t->e[j].n = n;
	t->e[j].tag = tag;
	t->e[j].hash = h;
	t->e[j].count = 0;
	t->used[t->n_used++] = (uint32_t)j;
	return &t->e[j].count;
}

int64_t
sq_bleu_ngrams_get(const struct sq_bleu_ngrams *t, uint32_t tag,
    const uint32_t *c,
    uint32_t n, uint64_t hash)
{
	size_t j;

	if (!t->cap)
		return 0;
	for (j = hash & (t->cap - 1); t->e[j].c; j = (j + 1) & (t->cap - 1))
		if (same(&t->e[j], hash, tag, c, n))
			return t->e[j].count;
	return 0;
}

void
sq_bleu_words_set(struct sq_bleu_words *w, const struct sq_bleu_uspan *words,
    size_t n)
{
	if (n > w->cap) {
		w->cap = n;
		w->start = sq_reallocarray(w->start, n, sizeof(*w->start));
	}
	w->s.n = 0;
	for (size_t i = 0; i < n; i++) {
		if (i)
			sq_bleu_ustr_push(&w->s, ' ');
		w->start[i] = w->s.n;
		sq_bleu_ustr_append(&w->s, words[i].c, words[i].n);
	}
	w->n = n;
}

void
sq_bleu_words_free(struct sq_bleu_words *w)
{
	if (!w)
		return;
	sq_bleu_ustr_free(&w->s);
	free(w->start);
	w->start = NULL;
	w->n = w->cap = 0;
}

void
sq_bleu_ngrams_add_words(struct sq_bleu_ngrams *t,
    const struct sq_bleu_words *w,
    uint32_t tag0, uint32_t max)
{
	size_t i, end;

	for (uint32_t n = 1; n <= max; n++)
		for (i = 0; i + n <= w->n; i++) {
			end = i + n < w->n ? w->start[i + n] - 1 : w->s.n;
			++*sq_bleu_ngrams_slot(t, tag0 + n,
			    w->s.c + w->start[i],
			    (uint32_t)(end - w->start[i]));
		}
}

void
sq_bleu_ngrams_add_chars(struct sq_bleu_ngrams *t, const uint32_t *c, size_t n,
    uint32_t tag0, uint32_t max)
{
	for (uint32_t k = 1; k <= max; k++)
		for (size_t i = 0; i + k <= n; i++)
			++*sq_bleu_ngrams_slot(t, tag0 + k, c + i, k);
}
