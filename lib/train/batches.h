/*
 * batches: an epoch's batches of pairs by token count, for train.
 *
 * The pairs are sorted by length (the longer side, the target counting
 * its EOS: max(source, target + 1), the source in encoder positions), ties broken by a hash of (seed,
 * epoch, pair), and cut in that order into batches whose padded size (the
 * pairs times the longest in the batch) stays within max_tokens; a pair
 * longer than max_tokens alone is a batch of its own.  The order of the
 * batches is then shuffled (Fisher-Yates) by a generator seeded with
 * (seed, epoch).  Like lengths batch together, so little of a batch is
 * padding; the batches and their order change every epoch.
 *
 * Everything is integer arithmetic on splitmix64 (no libc rand(), no
 * floating point) and qsort over a total order, so the same (lengths,
 * max_tokens, seed, epoch) give the same batches on any machine.
 */
#ifndef SQ_TRAIN_BATCHES_H
#define SQ_TRAIN_BATCHES_H

#include <stdint.h>

struct sq_corpus;
struct sq_batches;

/*
 * The batches of epoch epoch over corpus c (borrowed only during the
 * call).  max_tokens < 1 counts as 1 (a batch per pair).  Never NULL;
 * caller frees with sq_batches_free().
 */
struct sq_batches *sq_batches_new(const struct sq_corpus *c,
    long max_tokens, uint64_t seed, long epoch);
/*
 * The same over n pairs whose lengths are len[i] = max(source, target +
 * 1) (sq_batches_new() computes them from the corpus), for other sources
 * of pairs and for tests.
 */
struct sq_batches *sq_batches_from_lengths(const int *len, long n,
    long max_tokens, uint64_t seed, long epoch);
void sq_batches_free(struct sq_batches *b);

/* The number of batches (0 for no pairs). */
long sq_batches_count(const struct sq_batches *b);
/*
 * The pair indices of batch k (0 <= k < count), *n of them (>= 1),
 * shortest first; borrowed while b lives.
 */
const long *sq_batches_get(const struct sq_batches *b, long k, int *n);
/* The padded size of batch k: its pairs times the longest length. */
long sq_batches_tokens(const struct sq_batches *b, long k);

#endif
