/*
 * batches: batches by token count from length buckets (batches.h).
 *
 * The scheme is fairseq's and Marian's (sort by length, fill up to a
 * token budget, shuffle the batches), made deterministic: the sort key is
 * (length, hash, index), a total order, so any qsort gives one result,
 * and every random number is a splitmix64 draw.
 *
 * Invariants: idx[start[b], start[b+1]) are the pairs of batch b in
 * sorted order, (start[b+1] - start[b]) * len of the last <= max_tokens
 * unless the batch is one pair; order is a permutation of 0..n_batches-1.
 */
#include <stdlib.h>

#include "base/util.h"
#include "train/batches.h"
#include "train/corpus.h"

struct sq_batches {
	long *idx;		/* (n): pair indices, batch after batch */
	long *start;		/* (n_batches + 1) */
	int *longest;		/* (n_batches): the length of the last pair */
	long *order;		/* (n_batches): batch k is order[k] */
	long n_batches;
};

/* One pair to sort. */
struct key {
	int len;
	uint64_t hash;
	long i;
};

/* splitmix64's output function: a bijection that mixes all bits. */
static uint64_t
mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* splitmix64: the next draw from state *s. */
static uint64_t
draw(uint64_t *s)
{
	return mix(*s += 0x9E3779B97F4A7C15u);
}

/* Uniform in [0, n), n >= 1: Lemire's multiply, rejecting the bias. */
static uint64_t
below(uint64_t *s, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)draw(s) * n;
	uint64_t low = (uint64_t)m;

	if (low < n) {
		uint64_t t = -n % n;

		while (low < t) {
			m = (unsigned __int128)draw(s) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

static int
cmp_key(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

struct sq_batches *
sq_batches_from_lengths(const int *len, long n, long max_tokens,
    uint64_t seed, long epoch)
{
	struct sq_batches *b = sq_calloc(1, sizeof(*b));
	struct key *k = sq_reallocarray(NULL, (size_t)SQ_MAX(n, 1),
	    sizeof(*k));
	uint64_t salt = mix(seed ^ mix((uint64_t)epoch + 1)), s;
	long i, first;

	if (max_tokens < 1)
		max_tokens = 1;
	for (i = 0; i < n; i++)
		k[i] = (struct key){ len[i], mix(salt + (uint64_t)i), i };
	qsort(k, (size_t)n, sizeof(*k), cmp_key);

	b->idx = sq_reallocarray(NULL, (size_t)SQ_MAX(n, 1), sizeof(long));
	b->start = sq_reallocarray(NULL, (size_t)n + 1, sizeof(long));
	b->longest = sq_reallocarray(NULL, (size_t)SQ_MAX(n, 1), sizeof(int));
	b->start[0] = 0;
	for (i = 0, first = 0; i < n; i++) {
		/* sorted: pair i is the longest of first..i */
		if (i > first &&
		    (i - first + 1) * (long)k[i].len > max_tokens) {
			b->longest[b->n_batches] = k[i - 1].len;
			b->start[++b->n_batches] = i;
			first = i;
		}
		b->idx[i] = k[i].i;
	}
	if (n > 0) {
		b->longest[b->n_batches] = k[n - 1].len;
		b->start[++b->n_batches] = n;
	}
	free(k);

	b->order = sq_reallocarray(NULL, (size_t)SQ_MAX(b->n_batches, 1),
	    sizeof(long));
	for (i = 0; i < b->n_batches; i++)
		b->order[i] = i;
	s = mix(salt ^ 0x5851F42D4C957F2Du);
	for (i = b->n_batches - 1; i > 0; i--) {
		long j = (long)below(&s, (uint64_t)i + 1), t = b->order[i];

		b->order[i] = b->order[j];
		b->order[j] = t;
	}
	return b;
}

struct sq_batches *
sq_batches_new(const struct sq_corpus *c, long max_tokens, uint64_t seed,
    long epoch)
{
	long i, n = sq_corpus_size(c);
	int *len = sq_reallocarray(NULL, (size_t)SQ_MAX(n, 1), sizeof(int));
	struct sq_batches *b;

	for (i = 0; i < n; i++) {
		int tl;

		sq_corpus_tgt(c, i, &tl);
		len[i] = SQ_MAX(sq_corpus_src_positions(c, i), tl + 1);
	}
	b = sq_batches_from_lengths(len, n, max_tokens, seed, epoch);
	free(len);
	return b;
}

void
sq_batches_free(struct sq_batches *b)
{
	if (b == NULL)
		return;
	free(b->idx);
	free(b->start);
	free(b->longest);
	free(b->order);
	free(b);
}

long
sq_batches_count(const struct sq_batches *b)
{
	return b->n_batches;
}

const long *
sq_batches_get(const struct sq_batches *b, long k, int *n)
{
	long j;

	SQ_ASSERT(k >= 0 && k < b->n_batches);
	j = b->order[k];
	*n = (int)(b->start[j + 1] - b->start[j]);
	return b->idx + b->start[j];
}

long
sq_batches_tokens(const struct sq_batches *b, long k)
{
	long j;

	SQ_ASSERT(k >= 0 && k < b->n_batches);
	j = b->order[k];
	return (b->start[j + 1] - b->start[j]) * (long)b->longest[j];
}
