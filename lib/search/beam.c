/*
 * beam: batched beam search driving a step function (rules in beam.h).
 *
 * Reference: Marian's BeamSearch and History (beam shrinks as hypotheses
 * finish; score (S - wp*L) / L^alpha with L counting the EOS) and the GNMT
 * length penalty (Wu et al. 2016, eq. 14).  scripts/seqpipe_torch.py has
 * an independent Python implementation of the same rules, which
 * tests/beamsearch.bats compares with this one; tests/unit/test_beam.c
 * checks it against a plain reference, exhaustive enumeration and greedy.
 *
 * State of a run: the live rows of the current step, grouped by sentence
 * in ascending order and ranked best first inside a sentence; a node per
 * kept extension (token, parent node, token log-prob) from which finished
 * hypotheses are traced back at the end.  Invariant per sentence:
 * live rows + finished <= k, and finished <= k.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/beam.h"
#include "base/util.h"

#define SWAP(T, a, b) do { T tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

struct node {
	int32_t tok;
	int parent;		/* node index, -1 for the first token */
	float logp;
};

struct fin {
	int node;		/* last node, -1 for an empty hypothesis */
	int len;		/* tokens, EOS included */
	int eos;
	float logprob;
	float score;
};

struct sent {
	int max_steps, min_len;
	int n_fin;
	struct fin *fin;	/* (k) in finishing order */
};

struct cand {
	float sum;		/* cumulative log-prob */
	float logp;		/* the token's own */
	int row;
	int32_t tok;
};

struct sq_beam {
	struct sq_beam_opts o;	/* o.banned points at banned */
	int32_t *banned;	/* (o.n_banned) the copy */

	struct node *nodes;
	int n_nodes, cap_nodes;

	/* rows of the current and of the next step */
	int n_rows, cap_rows;
	int *row_sent, *row_node, *row_parent;	/* (cap_rows) each */
	float *row_sum;
	int32_t *row_ids;
	int *nx_sent, *nx_node;
	float *nx_sum;

	struct sent *sents;
	struct fin *fins;	/* (cap_sent, k), carved into sents */
	int n_sent, cap_sent;

	struct cand *cands;	/* (k * k) */
	int32_t *hist;		/* (max_steps) scratch for n-gram bans */
	int cap_hist;

	/* results */
	struct sq_beam_hyp *hyps;	/* (n_sent, nbest) */
	int *n_hyps;			/* (n_sent) */
	int32_t *out_ids;
	float *out_logp;
	int cap_out;
};

struct sq_beam *
sq_beam_new(const struct sq_beam_opts *o)
{
	struct sq_beam *bs;
	int i;

	if (o->beam_size < 1) {
		sq_seterr("beam size %d: must be at least 1", o->beam_size);
		return NULL;
	}
	if (o->nbest < 1 || o->nbest > o->beam_size) {
		sq_seterr("n-best %d: must be between 1 and the beam size %d",
		    o->nbest, o->beam_size);
		return NULL;
	}
	if (o->n_vocab < 1 || o->eos_id < 0 || o->eos_id >= o->n_vocab ||
	    o->start_id < -1 || o->start_id >= o->n_vocab) {
		sq_seterr("vocabulary of %d with EOS %d and start %d: bad ids",
		    o->n_vocab, (int)o->eos_id, (int)o->start_id);
		return NULL;
	}
	if (o->no_repeat_ngram < 0 || o->norm < SQ_BEAM_NORM_POWER ||
	    o->norm > SQ_BEAM_NORM_GNMT || !isfinite(o->alpha) ||
	    !isfinite(o->word_penalty) || o->n_banned < 0) {
		sq_seterr("bad beam search options");
		return NULL;
	}
	for (i = 0; i < o->n_banned; i++)
		if (o->banned[i] < 0 || o->banned[i] >= o->n_vocab) {
			sq_seterr("banned id %d: not in the vocabulary of %d",
			    (int)o->banned[i], o->n_vocab);
			return NULL;
		}
	bs = sq_calloc(1, sizeof(*bs));
	bs->o = *o;
	if (o->n_banned > 0) {
		bs->banned = sq_reallocarray(NULL, o->n_banned,
		    sizeof(*bs->banned));
		memcpy(bs->banned, o->banned, o->n_banned * sizeof(*bs->banned));
	}
	bs->o.banned = bs->banned;
	bs->cands = sq_reallocarray(NULL, (size_t)o->beam_size * o->beam_size,
	    sizeof(*bs->cands));
	return bs;
}

void
sq_beam_free(struct sq_beam *bs)
{
	if (bs == NULL)
		return;
	free(bs->banned);
	free(bs->nodes);
	free(bs->row_sent); free(bs->row_node); free(bs->row_parent);
	free(bs->row_sum); free(bs->row_ids);
	free(bs->nx_sent); free(bs->nx_node); free(bs->nx_sum);
	free(bs->sents); free(bs->fins);
	free(bs->cands); free(bs->hist);
	free(bs->hyps); free(bs->n_hyps);
	free(bs->out_ids); free(bs->out_logp);
	free(bs);
}

static double
length_penalty(const struct sq_beam_opts *o, int len)
{
	if (o->alpha == 0)
		return 1;
	if (o->norm == SQ_BEAM_NORM_GNMT)
		return pow((5.0 + len) / 6.0, o->alpha);
	return len < 1 ? 1 : pow(len, o->alpha);
}

float
sq_beam_score(const struct sq_beam_opts *o, float logprob, int len)
{
	return (float)(((double)logprob - (double)o->word_penalty * len) /
	    length_penalty(o, len));
}

/* Sizes every per-run array for n_sent sentences and the longest run. */
static void
reserve(struct sq_beam *bs, int n_sent, int max_len)
{
	int k = bs->o.beam_size, i;
	size_t rows = (size_t)n_sent * k;

	if (rows > (size_t)bs->cap_rows) {
		bs->row_sent = sq_reallocarray(bs->row_sent, rows, sizeof(int));
		bs->row_node = sq_reallocarray(bs->row_node, rows, sizeof(int));
		bs->row_parent = sq_reallocarray(bs->row_parent, rows, sizeof(int));
		bs->row_sum = sq_reallocarray(bs->row_sum, rows, sizeof(float));
		bs->row_ids = sq_reallocarray(bs->row_ids, rows, sizeof(int32_t));
		bs->nx_sent = sq_reallocarray(bs->nx_sent, rows, sizeof(int));
		bs->nx_node = sq_reallocarray(bs->nx_node, rows, sizeof(int));
		bs->nx_sum = sq_reallocarray(bs->nx_sum, rows, sizeof(float));
		bs->cap_rows = (int)rows;
	}
	if (n_sent > bs->cap_sent) {
		bs->sents = sq_reallocarray(bs->sents, n_sent, sizeof(*bs->sents));
		bs->fins = sq_reallocarray(bs->fins, rows, sizeof(*bs->fins));
		bs->hyps = sq_reallocarray(bs->hyps, (size_t)n_sent * bs->o.nbest,
		    sizeof(*bs->hyps));
		bs->n_hyps = sq_reallocarray(bs->n_hyps, n_sent, sizeof(int));
		bs->cap_sent = n_sent;
	}
	for (i = 0; i < n_sent; i++)
		bs->sents[i].fin = bs->fins + (size_t)i * k;
	if (max_len > bs->cap_hist) {
		bs->hist = sq_reallocarray(bs->hist, max_len, sizeof(int32_t));
		bs->cap_hist = max_len;
	}
}

static int
add_node(struct sq_beam *bs, int32_t tok, int parent, float logp)
{
	if (bs->n_nodes == bs->cap_nodes) {
		bs->cap_nodes = bs->cap_nodes ? 2 * bs->cap_nodes : 1024;
		bs->nodes = sq_reallocarray(bs->nodes, bs->cap_nodes,
		    sizeof(*bs->nodes));
	}
	bs->nodes[bs->n_nodes] = (struct node){ tok, parent, logp };
	return bs->n_nodes++;
}

static void
finish(struct sq_beam *bs, struct sent *s, int node, int len, int eos,
    float logprob)
{
	struct fin *f = &s->fin[s->n_fin++];

	SQ_ASSERT(s->n_fin <= bs->o.beam_size);
	f->node = node;
	f->len = len;
	f->eos = eos;
	f->logprob = logprob;
	/* empty: 0 under any normalisation (lp(0) may be 0 or overflow) */
	f->score = len > 0 ? sq_beam_score(&bs->o, logprob, len) : 0;
}

/*
 * Sets to -inf, in row logp, every token that would complete an n-gram
 * the hypothesis ending at node already has (its t tokens, without the
 * start token).
 */
static void
ban_repeats(struct sq_beam *bs, float *logp, int node, int t)
{
	int n = bs->o.no_repeat_ngram, i, j;
	int32_t *h = bs->hist;

	if (t < n - 1 || t == 0)
		return;
	for (i = t - 1; i >= 0; i--, node = bs->nodes[node].parent)
		h[i] = bs->nodes[node].tok;
	for (i = 0; i + n <= t; i++) {
		for (j = 0; j < n - 1 && h[i + j] == h[t - n + 1 + j]; j++)
			;
		if (j == n - 1)
			logp[h[i + n - 1]] = -INFINITY;
	}
}

/*
 * The best b tokens of one row into out (best first), by log-prob, ties
 * to the smaller id; -inf (banned) tokens never.  Returns how many.
 */
static int
row_top(struct cand *out, const float *logp, int n_vocab, int b, int row,
    float sum)
{
	int n = 0, v, i;
	float thresh = -INFINITY;	/* the b-th best so far once full */

	for (v = 0; v < n_vocab; v++) {
		if (!(logp[v] > thresh))
			continue;
		i = n < b ? n++ : b - 1;
		for (; i > 0 && out[i - 1].logp < logp[v]; i--)
			out[i] = out[i - 1];
		out[i] = (struct cand){ 0, logp[v], row, v };
		if (n == b)
			thresh = out[b - 1].logp;
	}
	for (i = 0; i < n; i++)
		out[i].sum = sum + out[i].logp;
	return n;
}

static int
cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;

	if (a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	if (a->row != b->row)
		return a->row < b->row ? -1 : 1;
	if (a->logp != b->logp)
		return a->logp > b->logp ? -1 : 1;
	return a->tok < b->tok ? -1 : a->tok > b->tok;
}

/*
 * The best finished score a live hypothesis of cumulative score sum and
 * t tokens could still reach, at any length t + 1 .. max_steps.
 */
static float
bound(const struct sq_beam *bs, float sum, int t, int max_steps)
{
	float best = -INFINITY, x;
	int len;

	for (len = t + 1; len <= max_steps; len++) {
		x = sq_beam_score(&bs->o, sum, len);
		if (x > best)
			best = x;
	}
	return best;
}

/* The nbest-th finished score of s, ties to the earlier (s has nbest). */
static float
nth_score(const struct sq_beam *bs, const struct sent *s)
{
	float best[64], *b = best, x;
	int n = bs->o.nbest, m = 0, i, j;

	if (n > 64)
		b = sq_malloc(n * sizeof(*b));
	for (i = 0; i < s->n_fin; i++) {	/* keep the n largest, sorted */
		x = s->fin[i].score;
		if (m == n && !(x > b[n - 1]))
			continue;
		j = m < n ? m++ : n - 1;
		for (; j > 0 && b[j - 1] < x; j--)
			b[j] = b[j - 1];
		b[j] = x;
	}
	x = b[n - 1];
	if (b != best)
		free(b);
	return x;
}

/*
 * One step for sentence si, whose live rows are [r0, r1) with log-probs
 * logp: select, finish, and append the survivors to the next rows.
 */
static void
step_sentence(struct sq_beam *bs, int si, int r0, int r1, float *logp,
    int t, int *n_next)
{
	const struct sq_beam_opts *o = &bs->o;
	struct sent *s = &bs->sents[si];
	int V = o->n_vocab, k = o->beam_size;
	int r, n_c = 0, slots, i, first_next = *n_next;
	struct cand *c;

	for (r = r0; r < r1; r++) {
		float *lp = logp + (size_t)r * V;

		for (i = 0; i < o->n_banned; i++)
			lp[o->banned[i]] = -INFINITY;
		if (t < s->min_len)
			lp[o->eos_id] = -INFINITY;
		if (o->no_repeat_ngram > 0)
			ban_repeats(bs, lp, bs->row_node[r], t);
	}
	slots = k - s->n_fin;
	for (r = r0; r < r1 && slots > 0; r++) {
		i = row_top(bs->cands + n_c, logp + (size_t)r * V, V, slots,
		    r - r0, bs->row_sum[r]);
		if (i == 0) {	/* nothing allowed: finished as it stands */
			finish(bs, s, bs->row_node[r], t, 0, bs->row_sum[r]);
			slots--;
		}
		n_c += i;
	}
	qsort(bs->cands, n_c, sizeof(*bs->cands), cand_cmp);
	for (i = 0, c = bs->cands; i < n_c && i < slots; i++, c++) {
		int node = add_node(bs, c->tok, bs->row_node[r0 + c->row],
		    c->logp);

		if (c->tok == o->eos_id || t + 1 >= s->max_steps) {
			finish(bs, s, node, t + 1, c->tok == o->eos_id, c->sum);
			continue;
		}
		bs->nx_sent[*n_next] = si;
		bs->nx_node[*n_next] = node;
		bs->nx_sum[*n_next] = c->sum;
		bs->row_parent[*n_next] = r0 + c->row;
		bs->row_ids[*n_next] = c->tok;
		(*n_next)++;
	}
	/* the first survivor has the best sum, so the best bound */
	if (*n_next > first_next && !o->no_early_stop && s->n_fin >= o->nbest &&
	    bound(bs, bs->nx_sum[first_next], t + 1, s->max_steps) <=
	    nth_score(bs, s))
		*n_next = first_next;
}

/* Orders s's finished hypotheses by score, ties to the earlier. */
static void
rank_finished(struct sent *s)
{
	int i, j;
	struct fin f;

	for (i = 1; i < s->n_fin; i++) {	/* stable insertion sort, n <= k */
		f = s->fin[i];
		for (j = i; j > 0 && s->fin[j - 1].score < f.score; j--)
			s->fin[j] = s->fin[j - 1];
		s->fin[j] = f;
	}
}

/* Traces the n-best of every sentence back into the result arrays. */
static void
collect(struct sq_beam *bs)
{
	int nb = bs->o.nbest, i, j, total = 0, off = 0, node, p;

	for (i = 0; i < bs->n_sent; i++) {
		rank_finished(&bs->sents[i]);
		bs->n_hyps[i] = SQ_MIN(nb, bs->sents[i].n_fin);
		for (j = 0; j < bs->n_hyps[i]; j++)
			total += bs->sents[i].fin[j].len;
	}
	if (total > bs->cap_out || bs->out_ids == NULL) {
		/* at least one: an empty hypothesis's ids are not NULL */
		total = SQ_MAX(total, 1);
		bs->out_ids = sq_reallocarray(bs->out_ids, total, sizeof(int32_t));
		bs->out_logp = sq_reallocarray(bs->out_logp, total, sizeof(float));
		bs->cap_out = total;
	}
	for (i = 0; i < bs->n_sent; i++) {
		for (j = 0; j < bs->n_hyps[i]; j++) {
			const struct fin *f = &bs->sents[i].fin[j];
			struct sq_beam_hyp *h = &bs->hyps[(size_t)i * nb + j];

			h->n_ids = f->len - f->eos;
			h->ids = bs->out_ids + off;
			h->token_logp = bs->out_logp + off;
			h->eos = f->eos;
			h->logprob = f->logprob;
			h->score = f->score;
			node = f->node;
			if (f->eos)
				node = bs->nodes[node].parent;
			for (p = h->n_ids - 1; p >= 0; p--) {
				bs->out_ids[off + p] = bs->nodes[node].tok;
				bs->out_logp[off + p] = bs->nodes[node].logp;
				node = bs->nodes[node].parent;
			}
			off += h->n_ids;
		}
	}
}

int
sq_beam_run(struct sq_beam *bs, int n_sent, const int *max_steps,
    const int *min_len, sq_beam_step_fn step, void *ctx)
{
	int i, t, r, r0, n_next, max_len = 1;
	struct sq_beam_step st;
	float *logp;

	for (i = 0; i < n_sent; i++)
		max_len = SQ_MAX(max_len, max_steps[i]);
	reserve(bs, n_sent, max_len);
	bs->n_sent = n_sent;
	bs->n_nodes = 0;
	bs->n_rows = 0;
	for (i = 0; i < n_sent; i++) {
		struct sent *s = &bs->sents[i];
		int r = bs->n_rows;

		s->max_steps = max_steps[i];
		s->min_len = min_len ? min_len[i] : 0;
		s->n_fin = 0;
		if (s->max_steps < 1) {		/* no step allowed: empty */
			finish(bs, s, -1, 0, 0, 0);
			continue;
		}
		bs->row_sent[r] = i;
		bs->row_node[r] = -1;
		bs->row_sum[r] = 0;
		bs->row_parent[r] = -1;
		bs->row_ids[r] = bs->o.start_id;
		bs->n_rows++;
	}
	for (t = 0; bs->n_rows > 0; t++) {
		st.t = t;
		st.n_rows = bs->n_rows;
		st.sent = bs->row_sent;
		st.parent = bs->row_parent;
		st.ids = bs->row_ids;
		if ((logp = step(ctx, &st)) == NULL)
			return -1;
		/*
		 * row_parent and row_ids now describe the next rows; they are
		 * only read by step(), which is done with them.
		 */
		n_next = 0;
		for (r0 = 0; r0 < bs->n_rows; r0 = r) {
			for (r = r0; r < bs->n_rows &&
			    bs->row_sent[r] == bs->row_sent[r0]; r++)
				;
			step_sentence(bs, bs->row_sent[r0], r0, r, logp, t,
			    &n_next);
		}
		SWAP(int *, bs->row_sent, bs->nx_sent);
		SWAP(int *, bs->row_node, bs->nx_node);
		SWAP(float *, bs->row_sum, bs->nx_sum);
		bs->n_rows = n_next;
	}
	collect(bs);
	return 0;
}

int
sq_beam_hyps(const struct sq_beam *bs, int i, const struct sq_beam_hyp **hyps)
{
	SQ_ASSERT(i >= 0 && i < bs->n_sent);
	*hyps = bs->hyps + (size_t)i * bs->o.nbest;
	return bs->n_hyps[i];
}
