/*
 * greedy: one hypothesis per sentence over lib/decoder (greedy.h).
 *
 * Invariants: the decoder's batch is the sentences allowed a step,
 * in the order added, sentence j of it being s[idx[j]]; row r of the
 * decoder is sentence sq_decoder_sentence(r) of that batch; keep[] and
 * tok[] hold, for the rows going on, their parent row and the token each
 * feeds to the next step.  A sentence allowed no step at all (an empty
 * source) is done before the first step and never reaches the decoder,
 * so it changes nothing for the others, nor takes one of their
 * batch_size places.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/decoder.h"
#include "search/engine.h"
#include "search/greedy.h"
#include "search/nat_search.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "base/util.h"

struct sq_greedy {
	const struct sq_model *m;
	struct sq_greedy_opts o;
	struct sq_decoder *dec;		/* autoregressive, or */
	struct sq_nat_search *nat;	/* non-autoregressive */
	int batch_size;
	struct sq_greedy_sent *s;	/* (cap) */
	int n, cap;
	int n_steps;			/* of s[0..n), those allowed a step */
	float *logp;			/* (batch_size, Vt) */
	int32_t *tok;			/* (batch_size) next input per row */
	int *keep;			/* (batch_size) parent rows */
	const float **mem;		/* (batch_size) the decoder's batch */
	const int32_t **src;		/* (batch_size) */
	int *len;			/* (batch_size) */
	int *idx;			/* (batch_size) its sentences in s */
};

struct sq_greedy *
sq_greedy_new(const struct sq_model *m, struct sq_pool *pool,
    const struct sq_greedy_opts *o, int batch_size)
{
	struct sq_greedy *g = sq_calloc(1, sizeof(*g));

	g->m = m;
	g->o = *o;
	if (o->nat_lengths > 0)
		g->nat = sq_nat_search_new(m, pool, o);
	else
		g->dec = sq_decoder_new(m, pool);
	g->batch_size = batch_size;
	g->cap = batch_size;
	g->s = sq_calloc(g->cap, sizeof(*g->s));
	g->logp = sq_reallocarray(NULL, (size_t)batch_size *
	    m->cfg.tgt_vocab_size, sizeof(float));
	g->tok = sq_calloc(batch_size, sizeof(*g->tok));
	g->keep = sq_calloc(batch_size, sizeof(*g->keep));
	g->mem = sq_calloc(batch_size, sizeof(*g->mem));
	g->src = sq_calloc(batch_size, sizeof(*g->src));
	g->len = sq_calloc(batch_size, sizeof(*g->len));
	g->idx = sq_calloc(batch_size, sizeof(*g->idx));
	return g;
}

/*
 * Steps sentence s may take: --max-len, a target's length + 1, positions;
 * none for an empty source, forced record or not (sq_maxlen_steps()).
 */
static int
steps_for(const struct sq_greedy *g, const struct sq_greedy_sent *s)
{
	const struct sq_config *c = &g->m->cfg;
	int limit = c->max_positions - c->position_offset;
	int want;

	if (s->n_src == 0)
		return 0;
	if (g->o.scoring)	/* a non-autoregressive model writes no EOS */
		want = s->n_forced + (g->o.nat_lengths == 0);
	else {
		want = sq_maxlen_steps(&g->o.max_len, s->n_src, g->m);
		if (s->forced != NULL)
			want = SQ_MAX(want, s->n_forced + 1);
	}
	return SQ_MIN(want, limit);
}

struct sq_greedy_sent *
sq_greedy_add(struct sq_greedy *g, uint64_t key, int n_src,
    const int32_t *src, const float *mem, const int32_t *forced, int n_forced)
{
	struct sq_greedy_sent *s;
	size_t n_mem = (size_t)n_src * g->m->cfg.d_model;

	SQ_ASSERT(!sq_greedy_full(g));
	if (g->n == g->cap) {
		g->cap *= 2;
		g->s = sq_reallocarray(g->s, g->cap, sizeof(*g->s));
	}
	s = &g->s[g->n++];
	memset(s, 0, sizeof(*s));
	s->key = key;
	s->n_src = n_src;
	s->mem = sq_malloc((n_mem + 1) * sizeof(float));
	if (n_mem > 0)
		memcpy(s->mem, mem, n_mem * sizeof(float));
	if (g->nat != NULL || g->m->cfg.copy) {
		s->src = sq_malloc(((size_t)n_src + 1) * sizeof(int32_t));
		if (n_src > 0)
			memcpy(s->src, src, (size_t)n_src * sizeof(int32_t));
	}
	if (n_forced >= 0) {
		s->n_forced = n_forced;
		s->forced = sq_malloc((n_forced + 1) * sizeof(int32_t));
		if (n_forced > 0)
			memcpy(s->forced, forced, n_forced * sizeof(int32_t));
	}
	s->max_steps = steps_for(g, s);
	sq_sample_seed(&s->rng, g->o.seed, key);
	s->ids = sq_malloc((s->max_steps + 1) * sizeof(int32_t));
	s->tok_scores = sq_malloc((s->max_steps + 1) * sizeof(float));
	if (g->o.alignment)
		s->align = sq_calloc((size_t)s->max_steps * n_src + 1,
		    sizeof(float));
	g->n_steps += s->max_steps > 0;
	return s;
}

int
sq_greedy_count(const struct sq_greedy *g)
{
	return g->n;
}

int
sq_greedy_full(const struct sq_greedy *g)
{
	return g->n_steps == g->batch_size ||
	    g->n == SQ_HELD * g->batch_size;
}

/* The token sentence s takes from its log-probs lp (Vt). */
static int32_t
choose(struct sq_greedy *g, struct sq_greedy_sent *s, float *lp)
{
	const struct sq_config *c = &g->m->cfg;
	int V = c->tgt_vocab_size;
	int32_t best;

	if (g->o.scoring)
		return s->n < s->n_forced ? s->forced[s->n] : c->eos_id;
	if (s->forced != NULL && s->n < s->n_forced)
		return s->forced[s->n];
	sq_search_ban(g->m, lp, 1);
	if (g->o.no_unk && c->unk_id >= 0)
		lp[c->unk_id] = -INFINITY;
	if (s->n < g->o.min_len)
		lp[c->eos_id] = -INFINITY;
	if (g->o.sampling) {
		best = sq_sample(g->o.sampler, lp, V, &s->rng);
		return best >= 0 ? best : c->eos_id;
	}
	sq_argmax(&best, lp, 1, V, NULL);
	return best;
}

int
sq_greedy_run(struct sq_greedy *g, struct sq_greedy_sent **sents)
{
	const struct sq_config *c = &g->m->cfg;
	int V = c->tgt_vocab_size, i, r, rows, kept = 0, max_steps = 0, S;
	const float *al;

	*sents = g->s;
	if (g->nat != NULL)
		return sq_nat_search_run(g->nat, g->s, g->n) < 0 ? -1 : g->n;
	for (i = 0; i < g->n; i++) {
		struct sq_greedy_sent *s = &g->s[i];

		if (s->max_steps == 0) {
			s->done = 1;
			continue;
		}
		g->mem[kept] = s->mem;
		g->src[kept] = s->src;
		g->len[kept] = s->n_src;
		g->idx[kept] = i;
		g->keep[kept] = kept;
		g->tok[kept++] = c->decoder_start_id;
		max_steps = SQ_MAX(max_steps, s->max_steps);
	}
	if (kept == 0)
		return g->n;
	sq_decoder_set_monotonic(g->dec, g->o.monotonic ? g->o.window : -1);
	if (sq_decoder_begin(g->dec, kept, g->mem, g->src, g->len, kept,
	    max_steps) < 0)
		return -1;
	sq_decoder_set_align(g->dec, g->o.alignment);
	while ((rows = kept) > 0) {
		if (sq_decoder_select(g->dec, g->keep, rows) < 0 ||
		    sq_decoder_step(g->dec, g->tok, g->logp) < 0)
			return -1;
		al = sq_decoder_align(g->dec, &S);
		for (r = 0, kept = 0; r < rows; r++) {
			struct sq_greedy_sent *s =
			    &g->s[g->idx[sq_decoder_sentence(g->dec, r)]];
			float *lp = g->logp + (long)r * V;
			int32_t t = choose(g, s, lp);

			s->score += lp[t];
			if (t == c->eos_id) {
				s->done = 1;
				continue;
			}
			if (al != NULL)
				memcpy(s->align + (long)s->n * s->n_src,
				    al + (long)r * S, s->n_src * sizeof(float));
			s->tok_scores[s->n] = lp[t];
			s->ids[s->n++] = t;
			if (s->n >= s->max_steps) {
				s->done = 1;
				continue;
			}
			g->keep[kept] = r;
			g->tok[kept++] = t;
		}
	}
	return g->n;
}

void
sq_greedy_clear(struct sq_greedy *g)
{
	int i;

	for (i = 0; i < g->n; i++) {
		struct sq_greedy_sent *s = &g->s[i];

		free(s->mem), free(s->src), free(s->forced), free(s->ids);
		free(s->tok_scores), free(s->align);
	}
	g->n = g->n_steps = 0;
}

void
sq_greedy_free(struct sq_greedy *g)
{
	if (g == NULL)
		return;
	sq_greedy_clear(g);
	sq_decoder_free(g->dec);
	sq_nat_search_free(g->nat);
	free(g->s), free(g->logp), free(g->tok), free(g->keep);
	free(g->mem), free(g->src), free(g->len), free(g->idx);
	free(g);
}
