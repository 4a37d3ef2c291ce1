/*
 * nat_search: decode --nat (nat_search.h).
 *
 * A batch: the sentences to decode are begun once on the decoder (their
 * cross-attention keys and values, their length log-probs); their
 * candidates, sentence after sentence and best ranked first, are the
 * sequences; the sequences run in passes of at most PASS_ROWS positions
 * (one longer sequence alone), which bounds the log-probs held at
 * (PASS_ROWS, Vt), and each pass's rows are read back before the next.
 * A sentence keeps its best candidate so far in its own ids.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/decoder.h"
#include "nn/model.h"
#include "nn/nat.h"
#include "search/greedy.h"
#include "search/nat_search.h"
#include "base/util.h"

/* Positions per pass; 1024 rows of an 8000-piece vocabulary are 32 MB. */
#define PASS_ROWS 1024

struct sq_nat_search {
	const struct sq_model *m;
	struct sq_greedy_opts o;
	struct sq_decoder *dec;

	/* the batch, grown to the largest seen */
	int cap_sent, cap_seq;
	long cap_rows;
	const float **mem;		/* (cap_sent) the decoder's sentences */
	const int32_t **src;		/* (cap_sent) */
	int *len;			/* (cap_sent) their source lengths */
	struct sq_greedy_sent **sent;	/* (cap_sent) where they go */
	double *best;			/* (cap_sent) best log-prob per token */
	float *len_logp;		/* (cap_sent, C) */
	int *seq_sent, *seq_len;	/* (cap_seq) the candidates */
	float *logp;			/* (cap_rows, Vt) a pass */
	int cap_len;
	int32_t *ids;			/* (cap_len) a candidate's tokens */
	float *tok;			/* (cap_len) and their log-probs */
};

struct sq_nat_search *
sq_nat_search_new(const struct sq_model *m, struct sq_pool *pool,
    const struct sq_greedy_opts *o)
{
	struct sq_nat_search *ns = sq_calloc(1, sizeof(*ns));

	ns->m = m;
	ns->o = *o;
	ns->dec = sq_decoder_new(m, pool);
	return ns;
}

void
sq_nat_search_free(struct sq_nat_search *ns)
{
	if (ns == NULL)
		return;
	sq_decoder_free(ns->dec);
	free(ns->mem), free(ns->src), free(ns->len), free(ns->sent);
	free(ns->best), free(ns->len_logp);
	free(ns->seq_sent), free(ns->seq_len), free(ns->logp);
	free(ns->ids), free(ns->tok);
	free(ns);
}

/*
 * Room for n sentences of at most n_seq candidates in all, each at most
 * max_len long.
 */
static void
reserve(struct sq_nat_search *ns, int n, int n_seq, int max_len)
{
	int C = sq_nat_classes(&ns->m->cfg);

	if (n > ns->cap_sent) {
		ns->cap_sent = n;
		ns->mem = sq_reallocarray(ns->mem, n, sizeof(*ns->mem));
		ns->src = sq_reallocarray(ns->src, n, sizeof(*ns->src));
		ns->len = sq_reallocarray(ns->len, n, sizeof(int));
		ns->sent = sq_reallocarray(ns->sent, n, sizeof(*ns->sent));
		ns->best = sq_reallocarray(ns->best, n, sizeof(double));
		ns->len_logp = sq_reallocarray(ns->len_logp, (size_t)n * C,
		    sizeof(float));
	}
	if (n_seq > ns->cap_seq) {
		ns->cap_seq = n_seq;
		ns->seq_sent = sq_reallocarray(ns->seq_sent, n_seq, sizeof(int));
		ns->seq_len = sq_reallocarray(ns->seq_len, n_seq, sizeof(int));
	}
	if (max_len > ns->cap_len) {
		ns->cap_len = max_len;
		ns->ids = sq_reallocarray(ns->ids, max_len, sizeof(int32_t));
		ns->tok = sq_reallocarray(ns->tok, max_len, sizeof(float));
	}
}

/* Whether length a ranks before length b for a source of S tokens. */
static int
ranks_before(const struct sq_config *c, const float *lp, int S, int a,
    int b)
{
	float la = lp[sq_nat_class(c, S, a)], lb = lp[sq_nat_class(c, S, b)];

	if (la != lb)
		return la > lb;
	if (abs(a - S) != abs(b - S))
		return abs(a - S) < abs(b - S);
	return a < b;
}

/*
 * The candidate lengths of sentence s (lp its length log-probs) into
 * out, best first; returns how many (at most nat_lengths).
 */
static int
candidates(const struct sq_nat_search *ns, const struct sq_greedy_sent *s,
    const float *lp, int *out)
{
	const struct sq_config *c = &ns->m->cfg;
	int hi = s->max_steps, lo = SQ_MIN(SQ_MAX(1, ns->o.min_len), hi);
	int n = 0, T, k, best;

	if (ns->o.scoring) {
		out[0] = s->max_steps;	/* the target, cut to the positions */
		return 1;
	}
	while (n < ns->o.nat_lengths) {
		for (best = -1, T = lo; T <= hi; T++) {
			for (k = 0; k < n && out[k] != T; k++)
				;
			if (k == n && (best < 0 ||
			    ranks_before(c, lp, s->n_src, T, best)))
				best = T;
		}
		if (best < 0)
			break;
		out[n++] = best;
	}
	return n;
}

/* The token position r takes from its log-probs lp (Vt). */
static int32_t
choose(const struct sq_nat_search *ns, const float *lp)
{
	const struct sq_config *c = &ns->m->cfg;
	int32_t v, best = -1;

	for (v = 0; v < c->tgt_vocab_size; v++) {
		if (v == c->pad_id || v == c->bos_id || v == c->eos_id ||
		    (ns->o.no_unk && v == c->unk_id))
			continue;
		if (best < 0 || lp[v] > lp[best])
			best = v;
	}
	return best;
}

/*
 * Reads back the sequences [q0, q1) of the pass just run: each one's
 * tokens and log-probs, into its sentence if its log-prob per token
 * beats the best.
 */
static void
take(struct sq_nat_search *ns, int q0, int q1, const int *first_seq)
{
	const struct sq_config *c = &ns->m->cfg;
	int V = c->tgt_vocab_size, C = sq_nat_classes(c), q, i;
	const float *lp = ns->logp;

	for (q = q0; q < q1; q++) {
		int k = ns->seq_sent[q], T = ns->seq_len[q];
		struct sq_greedy_sent *s = ns->sent[k];
		double sum = ns->len_logp[(long)k * C + sq_nat_class(c, s->n_src,
		    T)], mean;
		int32_t *ids = ns->ids;
		float *tok = ns->tok;

		for (i = 0; i < T; i++, lp += V) {
			ids[i] = ns->o.scoring ? s->forced[i] : choose(ns, lp);
			tok[i] = lp[ids[i]];
			sum += tok[i];
		}
		mean = sum / SQ_MAX(T, 1);
		if (q != first_seq[k] && !(mean > ns->best[k]))
			continue;
		ns->best[k] = mean;
		memcpy(s->ids, ids, (size_t)T * sizeof(int32_t));
		memcpy(s->tok_scores, tok, (size_t)T * sizeof(float));
		s->n = T;
		s->score = sum;
	}
}

int
sq_nat_search_run(struct sq_nat_search *ns, struct sq_greedy_sent *s, int n)
{
	const struct sq_config *c = &ns->m->cfg;
	int C = sq_nat_classes(c), L = ns->o.nat_lengths, i, k = 0, q, n_seq;
	int max_len = 0, q0;
	int *first_seq;
	long rows, room;

	for (i = 0; i < n; i++)
		max_len = SQ_MAX(max_len, s[i].max_steps);
	reserve(ns, n, n * SQ_MAX(L, 1), max_len + 1);
	for (i = 0; i < n; i++) {
		s[i].done = 1;
		if (s[i].n_src == 0 || (!ns->o.scoring && s[i].max_steps < 1))
			continue;	/* the empty hypothesis, score 0 */
		ns->mem[k] = s[i].mem;
		ns->src[k] = s[i].src;
		ns->len[k] = s[i].n_src;
		ns->sent[k++] = &s[i];
	}
	if (k == 0)
		return 0;
	room = SQ_MAX(PASS_ROWS, max_len);
	if (sq_decoder_begin_nat(ns->dec, k, ns->mem, ns->src, ns->len,
	    (int)SQ_MAX(room, k), max_len) < 0 ||
	    sq_decoder_length(ns->dec, ns->len_logp) < 0)
		return -1;
	first_seq = sq_reallocarray(NULL, k, sizeof(int));
	for (i = 0, n_seq = 0; i < k; i++) {
		int m = candidates(ns, ns->sent[i], ns->len_logp + (long)i * C,
		    ns->seq_len + n_seq);

		first_seq[i] = n_seq;
		for (q = n_seq; q < n_seq + m; q++)
			ns->seq_sent[q] = i;
		n_seq += m;
	}
	if (room > ns->cap_rows) {
		ns->cap_rows = room;
		ns->logp = sq_reallocarray(ns->logp, (size_t)room,
		    (size_t)c->tgt_vocab_size * sizeof(float));
	}
	for (q0 = 0; q0 < n_seq; q0 = q) {
		for (q = q0, rows = 0; q < n_seq && (q == q0 ||
		    rows + ns->seq_len[q] <= room); q++)
			rows += ns->seq_len[q];
		if (sq_decoder_nat(ns->dec, q - q0, ns->seq_sent + q0,
		    ns->seq_len + q0, ns->logp) < 0) {
			free(first_seq);
			return -1;
		}
		take(ns, q0, q, first_seq);
	}
	free(first_seq);
	return 0;
}
