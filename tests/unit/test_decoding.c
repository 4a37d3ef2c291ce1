/*
 * test_decoding: lib/decoding's --max-len rules and batch plan, against
 * values worked out by hand and against the rules of decoding.h checked
 * over many random inputs.  Prints TAP.
 */
#include <stdlib.h>
#include <string.h>

#include "search/decoding.h"
#include "nn/model.h"
#include "tap.h"
#include "base/util.h"

static void
test_maxlen(void)
{
	struct sq_model m;
	struct sq_maxlen ml;

	memset(&m, 0, sizeof(m));
	m.cfg.max_positions = 64;
	m.cfg.position_offset = 2;
	ok(sq_maxlen_parse(&ml, "2,10") == 0 && ml.a == 2 && ml.b == 10,
	    "'2,10' parses");
	ok(sq_maxlen_steps(&ml, 7, &m) == 24, "2 * 7 + 10 = 24 steps");
	ok(sq_maxlen_steps(&ml, 40, &m) == 62,
	    "capped at max_positions - position_offset (62)");
	ok(sq_maxlen_parse(&ml, "1.5,0.5") == 0 &&
	    sq_maxlen_steps(&ml, 3, &m) == 5, "1.5 * 3 + 0.5 = 5, rounded down");
	ok(sq_maxlen_parse(&ml, "12") == 0 && ml.a == 0 &&
	    sq_maxlen_steps(&ml, 30, &m) == 12, "'12' alone: 12 steps");
	ok(sq_maxlen_parse(&ml, "0,-3") == 0 &&
	    sq_maxlen_steps(&ml, 1, &m) == 0, "never below 0 steps");
	ok(sq_maxlen_parse(&ml, "x") < 0 && sq_maxlen_parse(&ml, "1,") < 0 &&
	    sq_maxlen_parse(&ml, "-1,2") < 0 && sq_maxlen_parse(&ml, "") < 0 &&
	    sq_maxlen_parse(&ml, "1,2,3") < 0 && sq_maxlen_parse(&ml, "nan") < 0,
	    "bad values are refused: %s", sq_errstr());
	/* Marian's rule: the smallest n >= 1 with n >= factor * S */
	ml = (struct sq_maxlen){ .a = 3, .marian = 1 };
	ok(sq_maxlen_steps(&ml, 7, &m) == 21, "Marian, factor 3: 3 * 7 = 21");
	ml.a = 1.5;
	ok(sq_maxlen_steps(&ml, 5, &m) == 8 && sq_maxlen_steps(&ml, 4, &m) == 6,
	    "Marian, factor 1.5: 7.5 rounded up to 8, 6 stays 6");
	ml.a = 0.1;
	ok(sq_maxlen_steps(&ml, 2, &m) == 1 && sq_maxlen_steps(&ml, 0, &m) == 0,
	    "Marian: at least 1 step, none for an empty source");
	ml.a = 3;
	ok(sq_maxlen_steps(&ml, 30, &m) == 62, "Marian: capped at 62 too");
	/* the empty translation: no step for an empty source, any rule */
	ml = (struct sq_maxlen){ .a = 2, .b = 10 };
	ok(sq_maxlen_steps(&ml, 0, &m) == 0 && sq_maxlen_steps(&ml, 1, &m) == 12,
	    "an empty source: 0 steps, not 10; one token: 12");
	ml = (struct sq_maxlen){ .a = 0, .b = 5 };
	ok(sq_maxlen_steps(&ml, 0, &m) == 0, "'5' alone: 0 steps too");
}

static void
test_plan_example(void)
{
	int len[6] = { 5, 1, 5, 3, 9, 1 }, order[6], start[7], nb;
	static const int want_order[6] = { 1, 5, 3, 0, 2, 4 };

	nb = sq_batch_plan(order, start, len, 6, 4, 0);
	ok(nb == 2 && memcmp(order, want_order, sizeof(order)) == 0 &&
	    start[0] == 0 && start[1] == 4 && start[2] == 6,
	    "by length, ties in input order, 4 a batch: {1 5 3 0} {2 4}");
	/* 9 tokens at most, padding counted: 1 1 3 (3x3) | 5 (1x5) | 5 | 9 */
	nb = sq_batch_plan(order, start, len, 6, 32, 9);
	ok(nb == 4 && start[1] == 3 && start[2] == 4 && start[3] == 5 &&
	    start[4] == 6, "batch tokens 9: {1 5 3} {0} {2} {4}");
	nb = sq_batch_plan(order, start, len, 6, 32, 4);
	ok(nb == 5 && start[4] == 5, "a sentence longer than batch tokens "
	    "goes alone");
	ok(sq_batch_plan(order, start, len, 0, 4, 0) == 0 && start[0] == 0,
	    "no sentences, no batches");
}

/* A random plan's sentence count and limits (0 tokens: no limit). */
static void
random_limits(int *n, int *bs, long *bt)
{
	*n = rand() % 100;
	*bs = 1 + rand() % 40;
	*bt = rand() % 3 ? 0 : 1 + rand() % 200;
}

/* The rules of sq_batch_plan() checked on random lengths. */
static void
test_plan_random(void)
{
	int len[100], order[100], start[101], seen[100];
	int iter, n, bs, i, b, nb, bad = 0;
	long bt;

	srand(7);
	for (iter = 0; iter < 500; iter++) {
		random_limits(&n, &bs, &bt);
		for (i = 0; i < n; i++)
			len[i] = rand() % 30;
		nb = sq_batch_plan(order, start, len, n, bs, bt);
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < n; i++) {
			seen[order[i]]++;
			if (i > 0 && (len[order[i]] < len[order[i - 1]] ||
			    (len[order[i]] == len[order[i - 1]] &&
			    order[i] < order[i - 1])))
				bad++;
		}
		for (i = 0; i < n; i++)
			bad += seen[i] != 1;
		bad += start[0] != 0 || start[nb] != n;
		for (b = 0; b < nb; b++) {
			int sz = start[b + 1] - start[b];
			long cost = (long)sz * SQ_MAX(len[order[start[b + 1] - 1]], 1);

			bad += sz < 1 || sz > bs;
			bad += bt > 0 && sz > 1 && cost > bt;
			int e0 = len[order[start[b]]] == 0;

			/* empty sources in batches of their own */
			bad += e0 != (len[order[start[b + 1] - 1]] == 0);
			/* greedy: the next sentence would not have fitted */
			if (b + 1 < nb && sz < bs && e0 ==
			    (len[order[start[b + 1]]] == 0) && (bt == 0 ||
			    (long)(sz + 1) * SQ_MAX(len[order[start[b + 1]]], 1)
			    <= bt))
				bad++;
		}
	}
	ok(bad == 0, "500 random plans: a sorted permutation, batches within "
	    "both limits, each as full as allowed (%d violations)", bad);
}

/* Empty sources change nothing in the batches of the others. */
static void
test_plan_empty(void)
{
	int len[100], sub[100], order[100], start[101], o2[100], s2[101];
	int map[100], iter, n, m, bs, i, b, nb, nb2, e, bad = 0;
	long bt;

	srand(11);
	for (iter = 0; iter < 500; iter++) {
		random_limits(&n, &bs, &bt);
		for (i = m = 0; i < n; i++) {
			len[i] = rand() % 4 ? 1 + rand() % 30 : 0;
			if (len[i] > 0) {
				map[m] = i;
				sub[m++] = len[i];
			}
		}
		nb = sq_batch_plan(order, start, len, n, bs, bt);
		nb2 = sq_batch_plan(o2, s2, sub, m, bs, bt);
		/* the empty ones first, then the plan without them */
		for (e = 0; e < nb && len[order[start[e]]] == 0; e++)
			;
		bad += nb - e != nb2;
		for (b = 0; b < nb2 && nb - e == nb2; b++) {
			bad += start[e + b] - start[e] != s2[b] ||
			    start[e + b + 1] - start[e] != s2[b + 1];
			for (i = s2[b]; i < s2[b + 1]; i++)
				bad += order[start[e] + i] != map[o2[i]];
		}
	}
	ok(bad == 0, "500 random plans with empty sources: the others' "
	    "batches as without them (%d violations)", bad);
}

int
main(void)
{
	test_maxlen();
	test_plan_example();
	test_plan_random();
	test_plan_empty();
	return tap_done();
}
