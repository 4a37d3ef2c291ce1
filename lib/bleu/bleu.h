/*
 * bleu: corpus and sentence BLEU exactly as sacrebleu 2.6.0 computes it
 * (sacrebleu/metrics/bleu.py, Papineni et al. 2002).
 *
 * A segment gives sufficient statistics (hypothesis length, closest
 * reference length, matched and total n-grams for n = 1..4); a corpus
 * score sums them and applies smoothing and the brevity penalty with the
 * same floating point operations, in the same order, as the Python code,
 * so every printed digit agrees.
 */
#ifndef SQ_BLEU_H
#define SQ_BLEU_H

#include <stddef.h>
#include <stdint.h>

#include "bleu/ngram.h"
#include "bleu/text.h"
#include "bleu/tok.h"

#define SQ_BLEU_ORDER 4	/* sacrebleu's MAX_NGRAM_ORDER */

enum sq_bleu_smooth {
	SQ_BLEU_SMOOTH_EXP,	/* NIST geometric decay (default) */
	SQ_BLEU_SMOOTH_FLOOR,	/* zero counts become smooth_value */
	SQ_BLEU_SMOOTH_ADDK,	/* add smooth_value for n > 1 */
	SQ_BLEU_SMOOTH_NONE,
};

struct sq_bleu_opts {
	enum sq_bleu_tok_kind tok;
	enum sq_bleu_smooth smooth;
	double smooth_value;	/* used by floor and add-k */
	int lowercase;
	int effective_order;	/* skip orders without n-grams (-sl) */
};

/* Per segment, summed over a corpus: [hyp_len, ref_len, correct, total] */
struct sq_bleu_stats {
	int64_t hyp_len, ref_len;
	int64_t correct[SQ_BLEU_ORDER], total[SQ_BLEU_ORDER];
};

struct sq_bleu_score {
	double score, bp, ratio;
	double prec[SQ_BLEU_ORDER];	/* percentages */
	int64_t hyp_len, ref_len;
};

struct sq_bleu;

/* Parses "exp", "floor", "add-k" or "none"; -1 if unknown. */
int sq_bleu_smooth_kind(const char *name);
const char *sq_bleu_smooth_name(enum sq_bleu_smooth s);
/* sacrebleu's SMOOTH_DEFAULTS: 0.1 for floor, 1 for add-k, else 0. */
double sq_bleu_smooth_default(enum sq_bleu_smooth s);

/* Caller frees with sq_bleu_free(). */
struct sq_bleu *sq_bleu_new(const struct sq_bleu_opts *o);
void sq_bleu_free(struct sq_bleu *b);

/* Statistics of one hypothesis against its n_refs references. */
void sq_bleu_segment(struct sq_bleu *b, struct sq_bleu_stats *st,
    struct sq_bleu_uspan hyp, const struct sq_bleu_uspan *refs, size_t n_refs);

/*
 * Statistics of hypothesis text hyp (hyp_len bytes of UTF-8) against one
 * reference text ref: sq_bleu_segment() on their code points.  An
 * invalid byte ends a text there (train's texts come from SentencePiece,
 * whose output is valid UTF-8).
 */
void sq_bleu_segment_text(struct sq_bleu *b, struct sq_bleu_stats *st,
    const char *hyp, size_t hyp_len, const char *ref, size_t ref_len);

/* acc += st: corpus statistics from segments' (train's validation). */
void sq_bleu_add(struct sq_bleu_stats *acc, const struct sq_bleu_stats *st);

/*
 * How sacrebleu holds summed counts: Python ints; NumPy float32 (bootstrap
 * resamples); NumPy int64 (approximate randomization).  It shows in add-k
 * smoothing, whose sums are rounded to float32 or truncated to integers,
 * and in chrF's float32 quotients.
 */
enum sq_bleu_num { SQ_BLEU_NUM_INT, SQ_BLEU_NUM_F32, SQ_BLEU_NUM_I64 };

/* BLEU.compute_bleu() on summed statistics held as num says. */
void sq_bleu_compute(struct sq_bleu_score *s, const struct sq_bleu_stats *st,
    const struct sq_bleu_opts *o, enum sq_bleu_num num);

/*
 * Writes the verbose part, "P1/P2/P3/P4 (BP = x ratio = x hyp_len = n
 * ref_len = n)", into buf; returns snprintf's result.
 */
int sq_bleu_verbose(char *buf, size_t size, const struct sq_bleu_score *s);

#endif
