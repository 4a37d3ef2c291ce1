/*
 * bleu_eval: a metric (BLEU or chrF) over a corpus, as sacrebleu runs it:
 * statistics per segment, the score of their sum, bootstrap confidence
 * intervals and the paired significance tests.
 *
 * Reference: sacrebleu 2.6.0 metrics/base.py (corpus_score,
 * Score.estimate_ci) and significance.py (_bootstrap_resample,
 * estimate_ci, _paired_bs_test, _paired_ar_test).  Random draws are
 * NumPy's (bleu_rng).  sacrebleu sums bootstrap resamples in float32, which
 * is exact for counts below 2^24 and reproduced where it shows (chrF's
 * quotients, add-k); NumPy's means are pairwise sums, also reproduced.
 */
#ifndef SQ_BLEU_EVAL_H
#define SQ_BLEU_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "bleu/bleu.h"
#include "bleu/chrf.h"
#include "bleu/report.h"

enum sq_bleu_metric_kind { SQ_BLEU_METRIC_BLEU, SQ_BLEU_METRIC_CHRF };

struct sq_bleu_metric {
	enum sq_bleu_metric_kind kind;
	struct sq_bleu_opts bleu;
	struct sq_bleu_chrf_opts chrf;
};

/* Statistics per segment in sacrebleu's layout: (n, k), row-major. */
struct sq_bleu_segstats {
	int64_t *v;
	size_t n, k;
};

/* A NumPy seed: the integer whose 32-bit words are w[0..n). */
struct sq_bleu_seed {
	uint32_t w[4];
	size_t n;
};

/*
 * Parses a seed as sacrebleu's int(os.environ['SACREBLEU_SEED']): a
 * non-negative decimal integer below 2^64, or "none" (any case) for 128
 * bits from the system, as NumPy's SeedSequence(None).  Sets norm to
 * str(int(seed)) or "none".  Returns 0, or -1 with sq_errstr() set.
 */
int sq_bleu_seed_parse(struct sq_bleu_seed *s, const char *text, char *norm,
    size_t size);

/*
 * The statistics of the n hypotheses hyp[i] against refs[r][i], r <
 * n_refs.  st->v is allocated; the caller frees it.
 */
void sq_bleu_metric_stats(struct sq_bleu_segstats *st,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_uspan *hyp, struct sq_bleu_uspan *const *refs,
    size_t n,
    size_t n_refs);

/* Column sums of st into sum (k). */
void sq_bleu_segstats_sum(int64_t *sum, const struct sq_bleu_segstats *st);

/*
 * The score of summed statistics sum (k), held as num says, into res
 * (name, score, verbose, signature for nrefs).
 */
void sq_bleu_metric_score(struct sq_bleu_result *res,
    const struct sq_bleu_metric *m,
    const int64_t *sum, long nrefs, enum sq_bleu_num num);

/*
 * --confidence: n_samples resamples of the rows of st, drawn as
 * default_rng(seed).choice(n, (n_samples, n)); sets res->mean and res->ci
 * as Score.estimate_ci does.
 */
void sq_bleu_metric_bootstrap(struct sq_bleu_result *res,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *st, size_t n_samples,
    const struct sq_bleu_seed *seed);

/* A system's result in a paired test (significance.Result). */
struct sq_bleu_paired {
	double score;
	double p;		/* < 0: none (the baseline) */
	double mean, ci;	/* ci < 0: none */
};

/* The baseline of --paired-bs: its bootstrap mean and CI (NumPy's). */
void sq_bleu_paired_baseline(struct sq_bleu_paired *r,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, size_t n_samples,
    const struct sq_bleu_seed *seed);

/*
 * _paired_bs_test (bs) or _paired_ar_test (!bs) of a system against the
 * baseline, with the scores of both in r->score and bl_score.
 */
void sq_bleu_paired_test(struct sq_bleu_paired *r, int bs,
    const struct sq_bleu_metric *m,
    const struct sq_bleu_segstats *bl, double bl_score,
    const struct sq_bleu_segstats *sys,
    size_t n_samples, const struct sq_bleu_seed *seed);

#endif
