/*
 * bleu_chrf: chrF (Popovic 2015) and chrF++ (Popovic 2017) exactly as
 * sacrebleu 2.6.0 computes them (sacrebleu/metrics/chrf.py).
 *
 * Statistics are 3 counts per order, [hyp, ref, match], for character
 * orders 1..char_order then word orders 1..word_order.  A segment keeps
 * the statistics of the reference with the best sentence F-score (the
 * first one on a tie); a corpus sums them.
 */
#ifndef SQ_BLEU_CHRF_H
#define SQ_BLEU_CHRF_H

#include <stddef.h>
#include <stdint.h>

#include "bleu/bleu.h"
#include "bleu/text.h"

struct sq_bleu_chrf_opts {
	int char_order;		/* -cc, default 6 */
	int word_order;		/* -cw, default 0; 2 is chrF++ */
	int beta;		/* default 2 */
	int lowercase;
	int whitespace;		/* keep whitespace in character n-grams */
	int eps_smoothing;	/* chrF++.py/NLTK/Moses style */
};

struct sq_bleu_chrf;

/* Caller frees with sq_bleu_chrf_free(). */
struct sq_bleu_chrf *sq_bleu_chrf_new(const struct sq_bleu_chrf_opts *o);
void sq_bleu_chrf_free(struct sq_bleu_chrf *c);

/* Number of statistics per segment: 3 * (char_order + word_order). */
size_t sq_bleu_chrf_n_stats(const struct sq_bleu_chrf_opts *o);

/* st: (sq_bleu_chrf_n_stats) statistics of one hypothesis against its refs. */
void sq_bleu_chrf_segment(struct sq_bleu_chrf *c, int64_t *st,
    struct sq_bleu_uspan hyp,
    const struct sq_bleu_uspan *refs, size_t n_refs);

/*
 * CHRF._compute_f_score: the score in [0, 100] of (summed) statistics.
 * With SQ_BLEU_NUM_F32, precision and recall are quotients of float32 counts,
 * as in sacrebleu's bootstrap with NumPy 1.x.
 */
double sq_bleu_chrf_score(const struct sq_bleu_chrf_opts *o, const int64_t *st,
    enum sq_bleu_num num);

#endif
