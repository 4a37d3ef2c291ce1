/*
 * bleu_eval: a metric (BLEU or chrF) over a corpus, as sacrebleu's Metric
 * class runs it: statistics per segment, the score of their sum, and the
 * bootstrap estimate of a 95% confidence interval.
 *
 * Reference: sacrebleu 2.6.0 metrics/base.py (corpus_score,
 * Score.estimate_ci) and significance.py (_bootstrap_resample).  The
 * resamples are drawn with NumPy's generator (bleu_rng); sacrebleu sums
 * them in float32, which is exact for counts below 2^24, and divides two
 * float32 counts for chrF's precision and recall, which is reproduced.
 */
#ifndef SQ_BLEU_EVAL_H
#define SQ_BLEU_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "bleu.h"
#include "bleu_chrf.h"
#include "bleu_report.h"

enum sq_metric_kind { SQ_METRIC_BLEU, SQ_METRIC_CHRF };

struct sq_metric {
	enum sq_metric_kind kind;
	struct sq_bleu_opts bleu;
	struct sq_chrf_opts chrf;
};

/* Statistics per segment in sacrebleu's layout: (n, k), row-major. */
struct sq_stats {
	int64_t *v;
	size_t n, k;
};

/* k: 10 for BLEU (hyp_len, ref_len, 4 matches, 4 totals), 3 per chrF order */
size_t sq_metric_n_stats(const struct sq_metric *m);

/*
 * The statistics of the n hypotheses hyp[i] against refs[r][i], r <
 * n_refs.  st->v is allocated; the caller frees it.
 */
void sq_metric_stats(struct sq_stats *st, const struct sq_metric *m,
    const struct sq_uspan *hyp, struct sq_uspan *const *refs, size_t n,
    size_t n_refs);

/*
 * The score of summed statistics sum (k), into res (name, score, verbose,
 * signature for nrefs).  f32: as sacrebleu computes it on a float32
 * bootstrap resample.
 */
void sq_metric_score(struct sq_result *res, const struct sq_metric *m,
    const int64_t *sum, long nrefs, int f32);

/*
 * Bootstrap: n_samples resamples of the rows of st, drawn as
 * default_rng(seed).choice(n, (n_samples, n)) draws them; sets res's mean
 * and half-width of the 95% interval (Score.estimate_ci).
 */
void sq_metric_bootstrap(struct sq_result *res, const struct sq_metric *m,
    const struct sq_stats *st, size_t n_samples, const uint32_t *seed,
    size_t n_seed);

#endif
