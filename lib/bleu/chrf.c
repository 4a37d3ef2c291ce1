/*
 * bleu_chrf: chrF and chrF++ statistics and score (see bleu_chrf.h).
 *
 * Reference: sacrebleu 2.6.0 metrics/chrf.py and metrics/helpers.py.
 * Character n-grams are taken over code points of the line with all
 * whitespace removed (or kept with whitespace set); word n-grams over the
 * words of _remove_punctuation(), which splits one ASCII punctuation
 * character off the end, else off the start, of each word longer than one
 * character.  The F-score's floating point operations follow the Python
 * order exactly.
 */
#include <stdlib.h>
#include <string.h>

#include "bleu/chrf.h"
#include "bleu/ngram.h"
#include "base/util.h"

struct side {
	struct sq_bleu_ustr chars;	/* the line for character n-grams */
	struct sq_bleu_words words;	/* the words for word n-grams */
	struct sq_bleu_ngrams ng;
};

struct sq_bleu_chrf {
	struct sq_bleu_chrf_opts o;
	struct sq_bleu_ustr low;
	struct sq_bleu_uspan *w;	/* (w_cap) split scratch */
	size_t w_cap;
	struct side hyp, ref;
	int64_t *st;		/* (n_stats) one reference's statistics */
};

struct sq_bleu_chrf *
sq_bleu_chrf_new(const struct sq_bleu_chrf_opts *o)
{
	struct sq_bleu_chrf *c = sq_calloc(1, sizeof(*c));

	c->o = *o;
	c->st = sq_calloc(sq_bleu_chrf_n_stats(o), sizeof(*c->st));
	return c;
}

static void
side_free(struct side *s)
{
	sq_bleu_ustr_free(&s->chars);
	sq_bleu_words_free(&s->words);
	sq_bleu_ngrams_free(&s->ng);
}

void
sq_bleu_chrf_free(struct sq_bleu_chrf *c)
{
	if (!c)
		return;
	sq_bleu_ustr_free(&c->low);
	free(c->w);
	side_free(&c->hyp);
	side_free(&c->ref);
	free(c->st);
	free(c);
}

size_t
sq_bleu_chrf_n_stats(const struct sq_bleu_chrf_opts *o)
{
	return 3 * (size_t)(o->char_order + o->word_order);
}

/* str.split() into c->w; returns the number of words */
static size_t
split(struct sq_bleu_chrf *c, const uint32_t *s, size_t n)
{
	size_t k;

	while ((k = sq_bleu_py_split(c->w, c->w_cap, s, n)) > c->w_cap) {
		c->w_cap = 2 * k;
		c->w = sq_reallocarray(c->w, c->w_cap, sizeof(*c->w));
	}
	return k;
}

static int
is_punct(uint32_t c)
{
	return c > 0x20 && c < 0x7f && !(c >= '0' && c <= '9') &&
	    !((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* CHRF._remove_punctuation of the n words in c->w, in place (room 2n) */
static size_t
remove_punctuation(struct sq_bleu_chrf *c, size_t n)
{
	struct sq_bleu_uspan *w = c->w, x;
	size_t i, k = 2 * n;

	if (n == 0)
		return 0;
	/* move the words to the back half, then write the front */
	memmove(w + n, w, n * sizeof(*w));
	for (i = n, k = 0; i < 2 * n; i++) {
		x = w[i];
		if (x.n == 1) {
			w[k++] = x;
		} else if (is_punct(x.c[x.n - 1])) {
			w[k].c = x.c, w[k++].n = x.n - 1;
			w[k].c = x.c + x.n - 1, w[k++].n = 1;
		} else if (is_punct(x.c[0])) {
			w[k].c = x.c, w[k++].n = 1;
			w[k].c = x.c + 1, w[k++].n = x.n - 1;
		} else {
			w[k++] = x;
		}
	}
	return k;
}

/* Extracts the n-grams of line x into s. */
static void
extract(struct sq_bleu_chrf *c, struct side *s, struct sq_bleu_uspan x)
{
	size_t n;

	if (c->o.lowercase)
		x = sq_bleu_py_lowered(&c->low, x);
	s->chars.n = 0;
	if (c->o.whitespace) {
		sq_bleu_ustr_append(&s->chars, x.c, x.n);
	} else {
		n = split(c, x.c, x.n);
		for (size_t i = 0; i < n; i++)
			sq_bleu_ustr_append(&s->chars, c->w[i].c, c->w[i].n);
	}
	sq_bleu_ngrams_clear(&s->ng);
	sq_bleu_ngrams_add_chars(&s->ng, s->chars.c, s->chars.n, 0,
	    (uint32_t)c->o.char_order);
	if (c->o.word_order > 0) {
		n = split(c, x.c, x.n);
		if (2 * n > c->w_cap) {
			c->w_cap = 2 * n;
			c->w = sq_reallocarray(c->w, c->w_cap, sizeof(*c->w));
		}
		n = remove_punctuation(c, n);
		sq_bleu_words_set(&s->words, c->w, n);
		sq_bleu_ngrams_add_words(&s->ng, &s->words,
		    (uint32_t)c->o.char_order, (uint32_t)c->o.word_order);
	}
}

/* Number of n-grams of order k (1-based, chars then words) in s. */
static int64_t
n_ngrams(const struct sq_bleu_chrf *c, const struct side *s, int k)
{
	int64_t len = k <= c->o.char_order ? (int64_t)s->chars.n :
	    (int64_t)s->words.n;
	int n = k <= c->o.char_order ? k : k - c->o.char_order;

	return len - n + 1 > 0 ? len - n + 1 : 0;
}

void
sq_bleu_chrf_segment(struct sq_bleu_chrf *c, int64_t *st,
    struct sq_bleu_uspan hyp,
    const struct sq_bleu_uspan *refs, size_t n_refs)
{
	size_t n_st = sq_bleu_chrf_n_stats(&c->o), i;
	int order = c->o.char_order + c->o.word_order, k;
	double f, best = -1.0;
	const struct sq_bleu_ngram *e;
	int64_t m;

	memset(st, 0, n_st * sizeof(*st));
	extract(c, &c->hyp, hyp);
	for (size_t r = 0; r < n_refs; r++) {
		extract(c, &c->ref, refs[r]);
		memset(c->st, 0, n_st * sizeof(*c->st));
		for (k = 1; k <= order; k++) {
			c->st[3 * (k - 1) + 1] = n_ngrams(c, &c->ref, k);
			/* no hits counted if the reference has no n-gram */
			if (c->st[3 * (k - 1) + 1] > 0)
				c->st[3 * (k - 1)] = n_ngrams(c, &c->hyp, k);
		}
		for (i = 0; i < c->hyp.ng.n_used; i++) {
			e = sq_bleu_ngrams_at(&c->hyp.ng, i);
			m = sq_bleu_ngrams_get(&c->ref.ng, e->tag, e->c, e->n,
			    e->hash);
			c->st[3 * (e->tag - 1) + 2] += m < e->count ? m :
			    e->count;
		}
		f = sq_bleu_chrf_score(&c->o, c->st, SQ_BLEU_NUM_INT);
		if (f > best) {
			best = f;
			memcpy(st, c->st, n_st * sizeof(*st));
		}
	}
}

double
sq_bleu_chrf_score(const struct sq_bleu_chrf_opts *o, const int64_t *st,
    enum sq_bleu_num num)
{
	const double eps = 1e-16;
	double score = 0.0, avg_prec = 0.0, avg_rec = 0.0, prec, rec, denom;
	int order = o->char_order + o->word_order, eff = 0;
	int factor = o->beta * o->beta;

	for (int i = 0; i < order; i++) {
		int64_t n_hyp = st[3 * i], n_ref = st[3 * i + 1];
		int64_t n_match = st[3 * i + 2];

		prec = n_hyp > 0 ? (double)n_match / (double)n_hyp : eps;
		rec = n_ref > 0 ? (double)n_match / (double)n_ref : eps;
		if (num == SQ_BLEU_NUM_F32 && n_hyp > 0)
			prec = (float)n_match / (float)n_hyp;
		if (num == SQ_BLEU_NUM_F32 && n_ref > 0)
			rec = (float)n_match / (float)n_ref;
		denom = factor * prec + rec;
		score += denom > 0 ? (1 + factor) * prec * rec / denom : eps;
		if (n_hyp > 0 && n_ref > 0) {
			avg_prec += prec;
			avg_rec += rec;
			eff++;
		}
	}
	if (o->eps_smoothing)
		return 100 * score / order;
	if (eff == 0) {
		avg_prec = avg_rec = 0.0;
	} else {
		avg_prec /= eff;
		avg_rec /= eff;
	}
	if (avg_prec + avg_rec != 0) {
		score = (1 + factor) * avg_prec * avg_rec;
		score /= factor * avg_prec + avg_rec;
		return 100 * score;
	}
	return 0.0;
}
