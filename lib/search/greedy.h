/*
 * greedy: one hypothesis per sentence over lib/decoder, for decode:
 * greedy search (the arg-max token, ties to the smaller id), sampling
 * (lib/sample, seeded per sentence key), forced prefixes continued by
 * either, and forced decoding that scores given targets.  Sentences are
 * added to a batch of up to batch_size, one decoder row each; a finished
 * sentence leaves the batch at once.  A sentence allowed no step takes
 * no row and no place: the batch holds batch_size others besides.  Output ids never hold EOS; the score
 * is the sum of the log-probabilities of the tokens chosen, EOS's included
 * when it was reached.  A hypothesis that never reaches EOS stops after
 * its maximum length.  A sentence of an empty source takes no step (the
 * rule of sq_maxlen_steps()), even with a forced record: its hypothesis
 * is empty, score 0.
 *
 * With nat_lengths > 0 the batch is a non-autoregressive model's
 * (search/nat_search.h): max_steps is then the longest target allowed
 * (a scored target's length, cut to the positions), and a sentence's
 * hypothesis comes from one parallel pass per length candidate.
 */
#ifndef SQ_GREEDY_H
#define SQ_GREEDY_H

#include <stdint.h>

#include "search/decoding.h"
#include "search/sample.h"

struct sq_model;
struct sq_pool;

struct sq_greedy_opts {
	struct sq_maxlen max_len;
	int min_len;		/* no EOS before min_len tokens */
	int no_unk;		/* never choose UNK */
	int alignment;		/* keep cross-attention rows */
	int monotonic;		/* monotonic attention (lib/nn/decoder.h) */
	int window;		/* its window, with monotonic */
	int scoring;		/* forced targets are scored, not continued */
	int sampling;		/* sample with *sampler, else arg-max */
	int nat_lengths;	/* > 0: non-autoregressive, with this many
				   length candidates */
	struct sq_sampler *sampler;	/* borrowed; NULL unless sampling */
	uint64_t seed;
};

/* One sentence of the batch and, after sq_greedy_run(), its hypothesis. */
struct sq_greedy_sent {
	uint64_t key;
	int n_src;
	int32_t *src;		/* (n_src) source ids (copy, nat), else NULL */
	float *mem;		/* (n_src, D) */
	int32_t *forced;	/* (n_forced) prefix or target, or NULL */
	int n_forced;
	int max_steps;		/* steps allowed, EOS included */
	struct sq_sample_rng rng;
	int32_t *ids;		/* (max_steps) output, n of them */
	float *tok_scores;	/* (max_steps) each id's log-prob */
	float *align;		/* (max_steps, n_src) with alignment */
	int n;
	double score;
	int done;
};

struct sq_greedy;

/*
 * A batch of up to batch_size sentences for model m, stepping on pool
 * (borrowed, may be NULL); options o are copied.  Caller frees with
 * sq_greedy_free().
 */
struct sq_greedy *sq_greedy_new(const struct sq_model *m,
    struct sq_pool *pool, const struct sq_greedy_opts *o, int batch_size);

/*
 * Adds a sentence: mem (n_src, D) is copied, and so are forced's n_forced
 * ids when n_forced >= 0 (-1: no forced prefix or target), and the source
 * ids src (n_src) when src is not NULL (a copy model or nat_lengths > 0
 * need them; NULL will do otherwise).  The caller checks mem's shape and
 * the ids against the model first.  Returns the sentence, valid until the
 * next sq_greedy_add() or sq_greedy_clear(); the batch must not be full.
 */
struct sq_greedy_sent *sq_greedy_add(struct sq_greedy *g, uint64_t key,
    int n_src, const int32_t *src, const float *mem, const int32_t *forced,
    int n_forced);

/* Sentences in the batch, those allowed no step included. */
int sq_greedy_count(const struct sq_greedy *g);

/*
 * Whether the batch is full: batch_size of its sentences are allowed a
 * step, or it holds SQ_HELD * batch_size in all (search/engine.h).
 */
int sq_greedy_full(const struct sq_greedy *g);

/*
 * Decodes the batch: every row one step at a time until all are done.
 * Sets *sents to the batch, in the order added, and returns how many, or
 * -1 with sq_errstr() set.  They stay valid until sq_greedy_clear().  The
 * sentences allowed a step are decoded as a batch of their own: those of
 * no step change nothing for them.
 */
int sq_greedy_run(struct sq_greedy *g, struct sq_greedy_sent **sents);

/* Empties the batch, freeing its sentences. */
void sq_greedy_clear(struct sq_greedy *g);

void sq_greedy_free(struct sq_greedy *g);

#endif
