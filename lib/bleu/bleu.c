/*
 * bleu: BLEU statistics and score (see bleu.h).
 *
 * Reference: sacrebleu 2.6.0 metrics/bleu.py and metrics/helpers.py.
 * A segment is lower-cased (optionally), right-stripped, tokenized and
 * split into words; the words are joined again by single spaces so that
 * an n-gram is one span of that string.  References merge their n-gram
 * counts by maximum, the reference length is the one closest to the
 * hypothesis length (the shorter on a tie), and matches are clipped by
 * the merged reference counts.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bleu/bleu.h"
#include "base/util.h"

struct sq_bleu {
	struct sq_bleu_opts o;
	struct sq_bleu_tok tok;
	struct sq_bleu_ustr low;		/* lowercase scratch */
	struct sq_bleu_uspan *w;		/* (w_cap) split scratch */
	size_t w_cap;
	struct sq_bleu_words *seg;	/* (n_seg) [0] hypothesis, then refs */
	size_t n_seg;
	struct sq_bleu_ngrams hyp, ref, one;
};

static const char *const smooth_names[] = {
	[SQ_BLEU_SMOOTH_EXP] = "exp",
	[SQ_BLEU_SMOOTH_FLOOR] = "floor",
	[SQ_BLEU_SMOOTH_ADDK] = "add-k",
	[SQ_BLEU_SMOOTH_NONE] = "none",
};

int
sq_bleu_smooth_kind(const char *name)
{
	for (size_t i = 0; i < 4; i++)
		if (strcmp(name, smooth_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
sq_bleu_smooth_name(enum sq_bleu_smooth s)
{
	return smooth_names[s];
}

double
sq_bleu_smooth_default(enum sq_bleu_smooth s)
{
	return s == SQ_BLEU_SMOOTH_FLOOR ? 0.1 :
	    s == SQ_BLEU_SMOOTH_ADDK ? 1 : 0;
}

struct sq_bleu *
sq_bleu_new(const struct sq_bleu_opts *o)
{
	struct sq_bleu *b = sq_calloc(1, sizeof(*b));

	b->o = *o;
	sq_bleu_tok_init(&b->tok, o->tok);
	return b;
}

void
sq_bleu_free(struct sq_bleu *b)
{
	if (!b)
		return;
	sq_bleu_tok_free(&b->tok);
	sq_bleu_ustr_free(&b->low);
	free(b->w);
	for (size_t i = 0; i < b->n_seg; i++)
		sq_bleu_words_free(&b->seg[i]);
	free(b->seg);
	sq_bleu_ngrams_free(&b->hyp);
	sq_bleu_ngrams_free(&b->ref);
	sq_bleu_ngrams_free(&b->one);
	free(b);
}

/* BLEU._preprocess_segment, then split(): the words of x into sg */
static void
preprocess(struct sq_bleu *b, struct sq_bleu_words *sg, struct sq_bleu_uspan x)
{
	struct sq_bleu_uspan t;
	size_t n;

	if (b->o.lowercase)
		x = sq_bleu_py_lowered(&b->low, x);
	t = sq_bleu_tok_run(&b->tok, x.c, sq_bleu_py_rstrip(x.c, x.n));
	while ((n = sq_bleu_py_split(b->w, b->w_cap, t.c, t.n)) > b->w_cap) {
		b->w_cap = n;
		b->w = sq_reallocarray(b->w, n, sizeof(*b->w));
	}
	sq_bleu_words_set(sg, b->w, n);
}

/* BLEU._get_closest_ref_len */
static int64_t
closest_ref_len(const struct sq_bleu *b, size_t n_refs, int64_t hyp_len)
{
	int64_t best_diff = -1, best = -1, len, diff;

	for (size_t r = 1; r <= n_refs; r++) {
		len = (int64_t)b->seg[r].n;
		diff = hyp_len > len ? hyp_len - len : len - hyp_len;
		if (best_diff == -1 || diff < best_diff) {
			best_diff = diff;
			best = len;
		} else if (diff == best_diff && len < best) {
			best = len;
		}
	}
	return best;
}

void
sq_bleu_segment(struct sq_bleu *b, struct sq_bleu_stats *st,
    struct sq_bleu_uspan hyp, const struct sq_bleu_uspan *refs, size_t n_refs)
{
	const struct sq_bleu_ngram *e;
	int64_t *slot, m;
	size_t r, i;

	if (n_refs + 1 > b->n_seg) {
		b->seg = sq_reallocarray(b->seg, n_refs + 1, sizeof(*b->seg));
		memset(b->seg + b->n_seg, 0,
		    (n_refs + 1 - b->n_seg) * sizeof(*b->seg));
		b->n_seg = n_refs + 1;
	}
	/* the merged reference counts: max over references */
	sq_bleu_ngrams_clear(&b->ref);
	for (r = 1; r <= n_refs; r++) {
		preprocess(b, &b->seg[r], refs[r - 1]);
		sq_bleu_ngrams_clear(&b->one);
		sq_bleu_ngrams_add_words(r == 1 ? &b->ref : &b->one, &b->seg[r],
		    0,
		    SQ_BLEU_ORDER);
		for (i = 0; i < b->one.n_used; i++) {
			e = sq_bleu_ngrams_at(&b->one, i);
			slot = sq_bleu_ngrams_slot(&b->ref, e->tag, e->c, e->n);
			if (e->count > *slot)
				*slot = e->count;
		}
	}
	preprocess(b, &b->seg[0], hyp);
	sq_bleu_ngrams_clear(&b->hyp);
	sq_bleu_ngrams_add_words(&b->hyp, &b->seg[0], 0, SQ_BLEU_ORDER);

	memset(st, 0, sizeof(*st));
	st->hyp_len = (int64_t)b->seg[0].n;
	st->ref_len = closest_ref_len(b, n_refs, st->hyp_len);
	for (i = 0; i < b->hyp.n_used; i++) {
		e = sq_bleu_ngrams_at(&b->hyp, i);
		st->total[e->tag - 1] += e->count;
		m = sq_bleu_ngrams_get(&b->ref, e->tag, e->c, e->n, e->hash);
		st->correct[e->tag - 1] += m < e->count ? m : e->count;
	}
}

void
sq_bleu_segment_text(struct sq_bleu *b, struct sq_bleu_stats *st,
    const char *hyp, size_t hyp_len, const char *ref, size_t ref_len)
{
	struct sq_bleu_ustr h = {0}, r = {0};
	struct sq_bleu_uspan hs, rs;
	size_t bad;

	sq_bleu_utf8_decode(&h, hyp, hyp_len, &bad);
	sq_bleu_utf8_decode(&r, ref, ref_len, &bad);
	hs = (struct sq_bleu_uspan){h.c, h.n};
	rs = (struct sq_bleu_uspan){r.c, r.n};
	sq_bleu_segment(b, st, hs, &rs, 1);
	sq_bleu_ustr_free(&h);
	sq_bleu_ustr_free(&r);
}

void
sq_bleu_add(struct sq_bleu_stats *acc, const struct sq_bleu_stats *st)
{
	acc->hyp_len += st->hyp_len;
	acc->ref_len += st->ref_len;
	for (int n = 0; n < SQ_BLEU_ORDER; n++) {
		acc->correct[n] += st->correct[n];
		acc->total[n] += st->total[n];
	}
}

/* utils.my_log: log floored at a very low number */
static double
my_log(double x)
{
	return x == 0.0 ? -9999999999.0 : log(x);
}

void
sq_bleu_compute(struct sq_bleu_score *s, const struct sq_bleu_stats *st,
    const struct sq_bleu_opts *o, enum sq_bleu_num num)
{
	double correct[SQ_BLEU_ORDER], total[SQ_BLEU_ORDER];
	double smooth_mteval = 1.0, sum = 0.0;
	int n, eff_order = SQ_BLEU_ORDER, any = 0;

	memset(s, 0, sizeof(*s));
	s->hyp_len = st->hyp_len;
	s->ref_len = st->ref_len;
	s->ratio = st->ref_len ? (double)st->hyp_len / (double)st->ref_len : 0;
	s->bp = 1.0;
	if (st->hyp_len < st->ref_len)
		s->bp = st->hyp_len > 0 ? exp(1 - (double)st->ref_len /
		    (double)st->hyp_len) : 0.0;
	for (n = 0; n < SQ_BLEU_ORDER; n++) {
		correct[n] = (double)st->correct[n];
		total[n] = (double)st->total[n];
		any |= st->correct[n] != 0;
	}
	if (!any)	/* early stop if there are no matches (#141) */
		return;
	for (n = 1; n <= SQ_BLEU_ORDER; n++) {
		if (o->smooth == SQ_BLEU_SMOOTH_ADDK && n > 1) {
			correct[n - 1] += o->smooth_value;
			total[n - 1] += o->smooth_value;
			if (num == SQ_BLEU_NUM_F32) {
				correct[n - 1] = (float)correct[n - 1];
				total[n - 1] = (float)total[n - 1];
			} else if (num == SQ_BLEU_NUM_I64) {
				correct[n - 1] = trunc(correct[n - 1]);
				total[n - 1] = trunc(total[n - 1]);
			}
		}
		if (total[n - 1] == 0)
			break;
		if (o->effective_order)
			eff_order = n;
		if (correct[n - 1] == 0) {
			if (o->smooth == SQ_BLEU_SMOOTH_EXP) {
				smooth_mteval *= 2;
				s->prec[n - 1] = 100. / (smooth_mteval *
				    total[n - 1]);
			} else if (o->smooth == SQ_BLEU_SMOOTH_FLOOR) {
				s->prec[n - 1] = 100. * o->smooth_value /
				    total[n - 1];
			}
		} else {
			s->prec[n - 1] = 100. * correct[n - 1] / total[n - 1];
		}
	}
	for (n = 0; n < eff_order; n++)
		sum += my_log(s->prec[n]);
	s->score = s->bp * exp(sum / eff_order);
}

int
sq_bleu_verbose(char *buf, size_t size, const struct sq_bleu_score *s)
{
	return snprintf(buf, size, "%.1f/%.1f/%.1f/%.1f (BP = %.3f "
	    "ratio = %.3f hyp_len = %lld ref_len = %lld)", s->prec[0],
	    s->prec[1], s->prec[2], s->prec[3], s->bp, s->ratio,
	    (long long)s->hyp_len, (long long)s->ref_len);
}
