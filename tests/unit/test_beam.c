/*
 * test_beam: lib/search/beam.c against independent checks on a toy model whose
 * log-probs are a hash of (sentence, prefix, token):
 * - a plain reference beam search written here from the rules in beam.h
 *   (explicit token vectors, a full sort of all candidates, no early
 *   stop), over hundreds of random option sets, batched and alone;
 * - exhaustive enumeration: with k larger than the number of paths the
 *   n-best must be the true n-best under the scoring formula;
 * - greedy: k = 1 gives argmax decoding;
 * - early stop changes no output but saves steps.
 * Prints TAP.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/beam.h"
#include "tap.h"
#include "base/util.h"

#define MAXT 16		/* longest hypothesis */
#define MAXR 4096	/* rows per step */
#define MAXV 16
#define START 1
#define EOS 2

/* The toy model. */
struct toy {
	int V;
	int quant;		/* logits in {0..quant}: exact ties; 0: none */
	uint32_t seed;
	/* the step function's own view of each row's prefix */
	int32_t pref[2][MAXR][MAXT];
	int plen[2][MAXR];
	int psent[2][MAXR];
	int cur;
	float out[MAXR * MAXV];
	long rows_seen;
	int calls, fail_at;	/* fail on call fail_at (0: never) */
	int bad;		/* inconsistent step requests seen */
};

static uint32_t
mix(uint32_t h, uint32_t x)
{
	h ^= x + 0x9e3779b9u + (h << 6) + (h >> 2);
	h *= 0x85ebca6bu;
	return h ^ (h >> 13);
}

/* log-probs of the next token after prefix p (n tokens) of sentence s */
static void
toy_logp(const struct toy *m, int s, const int32_t *p, int n, float *out)
{
	double z[MAXV], mx = -1e30, sum = 0;
	uint32_t h = mix(m->seed, (uint32_t)s);
	int i, v;

	for (i = 0; i < n; i++)
		h = mix(h, (uint32_t)p[i] + 7);
	for (v = 0; v < m->V; v++) {
		uint32_t x = mix(h, (uint32_t)v + 1000);

		z[v] = m->quant ? (double)(x % (uint32_t)(m->quant + 1)) :
		    (x % 100000) / 20000.0;
		if (z[v] > mx)
			mx = z[v];
	}
	for (v = 0; v < m->V; v++)
		sum += exp(z[v] - mx);
	for (v = 0; v < m->V; v++)
		out[v] = (float)(z[v] - mx - log(sum));
}

static float *
toy_step(void *ctx, const struct sq_beam_step *st)
{
	struct toy *m = ctx;
	int nx = !m->cur, r, p;

	if (++m->calls == m->fail_at) {
		sq_seterr("toy failure");
		return NULL;
	}
	if (st->n_rows < 1 || st->n_rows > MAXR)
		abort();
	for (r = 0; r < st->n_rows; r++) {
		p = st->parent[r];
		if (r > 0 && st->sent[r] < st->sent[r - 1])
			m->bad++;
		if (st->t == 0) {
			if (p != -1 || st->ids[r] != START)
				m->bad++;
			m->plen[nx][r] = 0;
		} else {
			if (p < 0 || m->psent[m->cur][p] != st->sent[r] ||
			    m->plen[m->cur][p] != st->t - 1) {
				m->bad++;
				abort();
			}
			memcpy(m->pref[nx][r], m->pref[m->cur][p],
			    sizeof(int32_t) * (st->t - 1));
			m->pref[nx][r][st->t - 1] = st->ids[r];
			m->plen[nx][r] = st->t;
		}
		m->psent[nx][r] = st->sent[r];
		toy_logp(m, st->sent[r], m->pref[nx][r], st->t,
		    m->out + (size_t)r * m->V);
	}
	m->cur = nx;
	m->rows_seen += st->n_rows;
	return m->out;
}

/* A finished hypothesis of the reference searches. */
struct ref {
	int32_t ids[MAXT];
	int len, eos;
	float logprob, score;
};

static float
ref_score(const struct sq_beam_opts *o, float logprob, int len)
{
	double lp;

	if (o->alpha == 0)
		lp = 1;
	else if (o->norm == SQ_BEAM_NORM_GNMT)
		lp = pow((5.0 + len) / 6.0, o->alpha);
	else
		lp = len < 1 ? 1 : pow(len, o->alpha);
	return (float)((logprob - (double)o->word_penalty * len) / lp);
}

/* The banned tokens after prefix p (n tokens) are set to -inf. */
static void
ref_bans(const struct sq_beam_opts *o, const int32_t *p, int n, int min_len,
    float *lp)
{
	int g = o->no_repeat_ngram, i, j, same;

	for (i = 0; i < o->n_banned; i++)
		lp[o->banned[i]] = -INFINITY;
	if (n < min_len)
		lp[EOS] = -INFINITY;
	if (g < 1)
		return;
	for (i = 0; i + g <= n; i++) {
		same = 1;
		for (j = 0; j < g - 1; j++)
			if (p[i + j] != p[n - g + 1 + j])
				same = 0;
		if (same)
			lp[p[i + g - 1]] = -INFINITY;
	}
}

struct rcand {
	float sum, lp;
	int row;
	int32_t tok;
};

static int
rcand_cmp(const void *pa, const void *pb)
{
	const struct rcand *a = pa, *b = pb;

	if (a->sum != b->sum)
		return a->sum > b->sum ? -1 : 1;
	if (a->row != b->row)
		return a->row - b->row;
	if (a->lp != b->lp)
		return a->lp > b->lp ? -1 : 1;
	return a->tok - b->tok;
}

static void
add_fin(struct ref *fin, int *n_fin, const int32_t *ids, int len, int eos,
    float logprob, const struct sq_beam_opts *o)
{
	struct ref *f = &fin[(*n_fin)++];

	memcpy(f->ids, ids, sizeof(int32_t) * (len - eos));
	f->len = len;
	f->eos = eos;
	f->logprob = logprob;
	f->score = ref_score(o, logprob, len);
}

/* Stable sort by score, best first. */
static void
ref_rank(struct ref *fin, int n)
{
	int i, j;
	struct ref f;

	for (i = 1; i < n; i++) {
		f = fin[i];
		for (j = i; j > 0 && fin[j - 1].score < f.score; j--)
			fin[j] = fin[j - 1];
		fin[j] = f;
	}
}

/* The rules of beam.h, plainly, for one sentence.  Returns n finished. */
static int
ref_beam(const struct toy *m, const struct sq_beam_opts *o, int s, int M,
    int min_len, struct ref *fin)
{
	static int32_t live[MAXR][MAXT], nlive[MAXR][MAXT];
	static float lsum[MAXR], nsum[MAXR];
	static struct rcand c[MAXR * MAXV];
	int n_live = 1, n_fin = 0, t, r, v, n_c, slots, i, nn;
	float lp[MAXV];

	lsum[0] = 0;
	for (t = 0; n_live > 0; t++) {
		slots = o->beam_size - n_fin;
		n_c = 0;
		for (r = 0; r < n_live; r++) {
			int any = 0;

			toy_logp(m, s, live[r], t, lp);
			ref_bans(o, live[r], t, min_len, lp);
			for (v = 0; v < m->V; v++)
				if (lp[v] != -INFINITY) {
					c[n_c++] = (struct rcand){ lsum[r] + lp[v],
					    lp[v], r, v };
					any = 1;
				}
			if (!any) {
				add_fin(fin, &n_fin, live[r], t, 0, lsum[r], o);
				slots--;
			}
		}
		qsort(c, n_c, sizeof(*c), rcand_cmp);
		nn = 0;
		for (i = 0; i < n_c && i < slots; i++) {
			int32_t seq[MAXT];

			memcpy(seq, live[c[i].row], sizeof(int32_t) * t);
			seq[t] = c[i].tok;
			if (c[i].tok == EOS || t + 1 >= M) {
				add_fin(fin, &n_fin, seq, t + 1, c[i].tok == EOS,
				    c[i].sum, o);
				continue;
			}
			memcpy(nlive[nn], seq, sizeof(int32_t) * (t + 1));
			nsum[nn++] = c[i].sum;
		}
		memcpy(live, nlive, sizeof(live[0]) * nn);
		memcpy(lsum, nsum, sizeof(float) * nn);
		n_live = nn;
	}
	ref_rank(fin, n_fin);
	return n_fin;
}

/* Every complete path, for exhaustive checks.  Returns n. */
static void
enumerate(const struct toy *m, const struct sq_beam_opts *o, int s, int M,
    int min_len, int32_t *p, int t, float sum, struct ref *all, int *n)
{
	float lp[MAXV];
	int v, any = 0;

	toy_logp(m, s, p, t, lp);
	ref_bans(o, p, t, min_len, lp);
	for (v = 0; v < m->V; v++) {
		if (lp[v] == -INFINITY)
			continue;
		any = 1;
		p[t] = v;
		if (v == EOS || t + 1 >= M) {
			add_fin(all, n, p, t + 1, v == EOS, sum + lp[v], o);
		} else {
			enumerate(m, o, s, M, min_len, p, t + 1, sum + lp[v],
			    all, n);
		}
	}
	if (!any)
		add_fin(all, n, p, t, 0, sum, o);
}

/* Does hypothesis h equal reference f? */
static int
same_hyp(const struct sq_beam_hyp *h, const struct ref *f, float tol)
{
	int n = f->len - f->eos;

	return h->n_ids == n && h->eos == f->eos &&
	    memcmp(h->ids, f->ids, sizeof(int32_t) * n) == 0 &&
	    fabsf(h->score - f->score) <= tol &&
	    fabsf(h->logprob - f->logprob) <= tol;
}

static uint32_t rng = 12345;

static int
rnd(int n)
{
	rng = rng * 1103515245u + 12345u;
	return (int)((rng >> 16) % (uint32_t)n);
}

static void
random_opts(struct sq_beam_opts *o, struct toy *m)
{
	static const float alphas[] = { 0, 0.6f, 1, 1.5f };
	static const float wps[] = { 0, 0.5f, -0.3f };
	static int32_t banned[2];

	memset(o, 0, sizeof(*o));
	m->V = 3 + rnd(6);
	m->quant = rnd(3);
	m->seed = rng;
	o->beam_size = 1 + rnd(5);
	o->nbest = 1 + rnd(o->beam_size);
	o->alpha = alphas[rnd(4)];
	o->norm = rnd(2) ? SQ_BEAM_NORM_GNMT : SQ_BEAM_NORM_POWER;
	o->word_penalty = wps[rnd(3)];
	o->no_repeat_ngram = rnd(3) ? 0 : 1 + rnd(3);
	o->start_id = START;
	o->eos_id = EOS;
	o->n_vocab = m->V;
	if (rnd(3) == 0) {	/* one or two ids never chosen, EOS possibly */
		o->n_banned = 1 + rnd(2);	/* below 3: test_exhaustive's V */
		banned[0] = rnd(3);
		banned[1] = rnd(3);
		o->banned = banned;
	}
}

/* Batched runs of n sentences against ref_beam, with and without early stop. */
static void
test_random(void)
{
	static struct toy m;
	static struct ref fin[MAXR];
	struct sq_beam_opts o;
	struct sq_beam *bs;
	const struct sq_beam_hyp *h;
	int iter, s, n_sent, M[8], mn[8], n, nf, j, es, bad = 0, badsteps = 0;
	long rows[2] = { 0, 0 };

	for (iter = 0; iter < 400; iter++) {
		random_opts(&o, &m);
		n_sent = 1 + rnd(8);
		for (s = 0; s < n_sent; s++) {
			M[s] = 1 + rnd(7);
			mn[s] = rnd(4);
		}
		for (es = 0; es < 2; es++) {
			o.no_early_stop = es;
			bs = sq_beam_new(&o);
			m.cur = 0; m.bad = 0; m.calls = 0; m.fail_at = 0;
			m.rows_seen = 0;
			if (sq_beam_run(bs, n_sent, M, mn, toy_step, &m) != 0)
				bad++;
			badsteps += m.bad;
			rows[es] += m.rows_seen;
			for (s = 0; s < n_sent; s++) {
				nf = ref_beam(&m, &o, s, M[s], mn[s], fin);
				n = sq_beam_hyps(bs, s, &h);
				if (n != SQ_MIN(nf, o.nbest)) {
					bad++;
					continue;
				}
				for (j = 0; j < n; j++)
					if (!same_hyp(&h[j], &fin[j], 0))
						bad++;
			}
			sq_beam_free(bs);
		}
	}
	ok(bad == 0, "400 random option sets, batched: equal to the plain "
	    "reference, with and without early stop (%d differences)", bad);
	ok(badsteps == 0, "step requests: rows grouped by sentence, parents "
	    "consistent (%d bad)", badsteps);
	ok(rows[0] < rows[1], "early stop saves steps (%ld rows vs %ld)",
	    rows[0], rows[1]);
}

/* k beyond the number of paths: the n-best is the true n-best. */
static void
test_exhaustive(void)
{
	static struct toy m;
	static struct ref all[MAXR];
	struct sq_beam_opts o;
	struct sq_beam *bs;
	const struct sq_beam_hyp *h;
	int32_t p[MAXT];
	int iter, n_all, n, j, M, mn, bad = 0;

	for (iter = 0; iter < 60; iter++) {
		random_opts(&o, &m);
		m.quant = 0;	/* no ties: enumeration order is not finish order */
		m.V = 3 + rnd(2);
		o.n_vocab = m.V;
		o.beam_size = 200;
		o.nbest = 1 + rnd(6);
		M = 1 + rnd(4);
		mn = rnd(3);
		n_all = 0;
		enumerate(&m, &o, 0, M, mn, p, 0, 0, all, &n_all);
		ref_rank(all, n_all);
		bs = sq_beam_new(&o);
		m.cur = 0; m.fail_at = 0;
		sq_beam_run(bs, 1, &M, &mn, toy_step, &m);
		n = sq_beam_hyps(bs, 0, &h);
		if (n != SQ_MIN(n_all, o.nbest))
			bad++;
		for (j = 0; j < n && j < n_all; j++)
			if (!same_hyp(&h[j], &all[j], 1e-6f))
				bad++;
		sq_beam_free(bs);
	}
	ok(bad == 0, "k beyond all paths: n-best equals exhaustive enumeration "
	    "(%d differences)", bad);
}

/* k = 1 is greedy: argmax (first of equals) until EOS or max steps. */
static void
test_greedy(void)
{
	static struct toy m;
	struct sq_beam_opts o;
	struct sq_beam *bs;
	const struct sq_beam_hyp *h;
	int32_t g[MAXT];
	float lp[MAXV];
	int iter, t, v, best, M, mn, bad = 0, n_g;

	for (iter = 0; iter < 200; iter++) {
		random_opts(&o, &m);
		o.beam_size = o.nbest = 1;
		o.no_repeat_ngram = 0;
		o.n_banned = 0;
		M = 1 + rnd(10);
		mn = rnd(3);
		n_g = 0;
		for (t = 0; t < M; t++) {
			toy_logp(&m, 0, g, t, lp);
			best = 0;	/* never EOS */
			for (v = 0; v < m.V; v++)
				if (!(t < mn && v == EOS) && lp[v] > lp[best])
					best = v;
			if (best == EOS)
				break;
			g[n_g++] = best;
		}
		bs = sq_beam_new(&o);
		m.cur = 0; m.fail_at = 0;
		sq_beam_run(bs, 1, &M, &mn, toy_step, &m);
		sq_beam_hyps(bs, 0, &h);
		if (h->n_ids != n_g || memcmp(h->ids, g, n_g * sizeof(*g)))
			bad++;
		sq_beam_free(bs);
	}
	ok(bad == 0, "k 1 gives greedy's output, ties included (%d differ)", bad);
}

static void
test_misc(void)
{
	static struct toy m;
	struct sq_beam_opts o;
	struct sq_beam *bs;
	const struct sq_beam_hyp *h;
	int M[3] = { 5, 1, 4 }, n, s, good;

	random_opts(&o, &m);
	o.beam_size = 3;
	o.nbest = 4;
	ok(sq_beam_new(&o) == NULL && strstr(sq_errstr(), "n-best"),
	    "n-best above the beam size is refused: %s", sq_errstr());
	o.nbest = 2;
	o.eos_id = m.V;
	ok(sq_beam_new(&o) == NULL, "EOS outside the vocabulary is refused");
	o.eos_id = EOS;
	{
		int32_t out[1] = { m.V };

		o.banned = out;
		o.n_banned = 1;
		ok(sq_beam_new(&o) == NULL && strstr(sq_errstr(), "banned"),
		    "a banned id outside the vocabulary is refused: %s",
		    sq_errstr());
		o.n_banned = 0;
	}

	bs = sq_beam_new(&o);
	m.cur = 0; m.calls = 0; m.fail_at = 2;
	ok(sq_beam_run(bs, 3, M, NULL, toy_step, &m) == -1 &&
	    strcmp(sq_errstr(), "toy failure") == 0,
	    "a failing step function fails the run");
	m.cur = 0; m.fail_at = 0;
	ok(sq_beam_run(bs, 3, M, NULL, toy_step, &m) == 0,
	    "the same search object runs again after a failure");
	good = 1;
	for (s = 0; s < 3; s++) {
		n = sq_beam_hyps(bs, s, &h);
		good &= n == 2 && h[0].score >= h[1].score &&
		    h[0].n_ids <= M[s] && h[0].n_ids + h[0].eos <= M[s];
	}
	ok(good, "every sentence yields n-best hypotheses, best first, "
	    "within max steps");
	/* max_steps 1: one token, cut or EOS */
	n = sq_beam_hyps(bs, 1, &h);
	ok(n == 2 && h[0].n_ids + h[0].eos == 1 && h[1].n_ids + h[1].eos == 1,
	    "max steps 1 gives one-token hypotheses");
	sq_beam_free(bs);
	sq_beam_free(NULL);
	ok(1, "sq_beam_free(NULL)");

	/* V = 1 with only EOS, min_len 1: stuck at the start, empty output */
	memset(&o, 0, sizeof(o));
	o.beam_size = o.nbest = 1;
	o.start_id = 0;
	o.eos_id = 0;
	o.n_vocab = 1;
	bs = sq_beam_new(&o);
	m.V = 1;
	m.cur = 0;
	{
		int M1 = 3, mn1 = 1;

		/* the toy uses EOS 2; with V 1 token 0 is EOS here */
		sq_beam_run(bs, 1, &M1, &mn1, toy_step, &m);
	}
	n = sq_beam_hyps(bs, 0, &h);
	ok(n == 1, "a hypothesis with nothing allowed still yields output");
	sq_beam_free(bs);

	/* max_steps 0: an empty hypothesis without a step */
	random_opts(&o, &m);
	o.nbest = 1;
	bs = sq_beam_new(&o);
	{
		int M2[3] = { 3, 0, 2 };

		m.cur = 0; m.calls = 0; m.fail_at = 0; m.bad = 0;
		sq_beam_run(bs, 3, M2, NULL, toy_step, &m);
		good = m.bad == 0 && sq_beam_hyps(bs, 1, &h) == 1 &&
		    h->n_ids == 0 && h->eos == 0 && h->score == 0;
		good &= sq_beam_hyps(bs, 2, &h) == 1 && h->n_ids + h->eos >= 1;
		M2[0] = M2[2] = 0;
		m.calls = 0;
		sq_beam_run(bs, 3, M2, NULL, toy_step, &m);
		good &= m.calls == 0 && sq_beam_hyps(bs, 0, &h) == 1;
	}
	ok(good, "max steps 0: an empty hypothesis, no step for it");
	sq_beam_free(bs);

	/* its score is 0, +0, even where lp(0) is 0 or overflows */
	{
		static const float alphas[] = { 1, -0.6f, 5000, -5000 };
		int M0 = 0, i;

		good = 1;
		for (i = 0; i < 8; i++) {
			memset(&o, 0, sizeof(o));
			o.beam_size = 3;
			o.nbest = 2;
			o.alpha = alphas[i % 4];
			o.norm = i < 4 ? SQ_BEAM_NORM_GNMT : SQ_BEAM_NORM_POWER;
			o.word_penalty = -0.5f;
			o.start_id = START;
			o.eos_id = EOS;
			o.n_vocab = 5;
			bs = sq_beam_new(&o);
			sq_beam_run(bs, 1, &M0, NULL, toy_step, &m);
			good &= sq_beam_hyps(bs, 0, &h) == 1 && h->n_ids == 0 &&
			    h->logprob == 0 && h->score == 0 && !signbit(h->score);
			sq_beam_free(bs);
		}
	}
	ok(good, "the empty hypothesis scores +0 under any normalisation");
}

static void
test_scores(void)
{
	struct sq_beam_opts o;

	memset(&o, 0, sizeof(o));
	o.alpha = 1;
	ok(fabsf(sq_beam_score(&o, -6, 3) - -2) < 1e-6,
	    "score -6 over 3 tokens, alpha 1: -2");
	o.word_penalty = 1;
	ok(fabsf(sq_beam_score(&o, -6, 3) - -3) < 1e-6,
	    "word penalty 1: (-6 - 3) / 3 = -3");
	o.word_penalty = 0;
	o.norm = SQ_BEAM_NORM_GNMT;
	o.alpha = 0.6f;
	ok(fabsf(sq_beam_score(&o, -6, 7) - (float)(-6 / pow(2, 0.6))) < 1e-6,
	    "GNMT: -6 / ((5 + 7) / 6)^0.6");
	o.alpha = 0;
	ok(sq_beam_score(&o, -6, 7) == -6, "alpha 0: the log-prob itself");
}

int
main(void)
{
	test_scores();
	test_random();
	test_exhaustive();
	test_greedy();
	test_misc();
	return tap_done();
}
