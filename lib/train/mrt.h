/*
 * mrt: minimum-risk training's part of an update (train --mrt; Shen et
 * al. 2016): for each sentence pair of a batch, candidate translations
 * of the source drawn from the current model, each costed by its
 * sentence BLEU against the reference, and the gradient of their
 * expected cost (train/risk.h).
 *
 * The candidates: samples translations drawn by lib/search/greedy's
 * sampling (temperature 1, no top-k or top-p, --max-len 2,10 as train's
 * validation BLEU), with the inference engine on the model's current
 * weights; a sample that reached no EOS is cut to the positions the
 * model embeds.  Duplicates are merged (Q is over distinct candidates),
 * and with the reference option the reference joins the set.  Sample j
 * of pair i draws from sq_sample_seed(seed, key + i * samples + j): the
 * draws are a function of the options, never of threads or timing.
 *
 * The cost: 1 - BLEU / 100, BLEU being sacrebleu's sentence_bleu()
 * (13a tokenization, exp smoothing, effective order) of the candidate's
 * text against the reference's text, both decoded by the target
 * SentencePiece model.
 *
 * A set of one distinct candidate has no gradient (Q = 1): its cost
 * counts in the risk, but it takes no place in the graph's batch.
 */
#ifndef SQ_MRT_H
#define SQ_MRT_H

#include <stdint.h>

#include "train/graph.h"

struct sq_model;
struct sq_pool;
struct sq_spm;
struct sq_mrt;

struct sq_mrt_opts {
	int samples;		/* candidates drawn per source, >= 1 */
	double alpha;		/* Q's sharpness (train/risk.h) */
	int reference;		/* the reference joins each set */
	uint64_t seed, key;	/* the draws (above) */
	struct sq_graph_opts graph;	/* dropout and its seed and step;
					   label smoothing is not used */
};

/*
 * A step maker for model m (its weights may change between steps: each
 * step reads them afresh), whose risk goes through graph g (of m), with
 * pool (may be NULL) and tgt, the target SentencePiece model; all
 * borrowed.  Caller frees with sq_mrt_free().
 */
struct sq_mrt *sq_mrt_new(const struct sq_model *m, struct sq_graph *g,
    struct sq_pool *pool, struct sq_spm *tgt);
void sq_mrt_free(struct sq_mrt *r);

/*
 * Draws and costs the candidates of the n pairs of b, and adds the
 * gradient of scale times the sum of their sets' expected risk to the
 * graph's gradient model.  Returns that sum (in [0, n]), or -1 with
 * sq_errstr() set.
 */
double sq_mrt_step(struct sq_mrt *r, const struct sq_pairs *b,
    const struct sq_mrt_opts *o, float scale);

#endif
