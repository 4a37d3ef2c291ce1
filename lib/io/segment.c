/*
 * segment: batches of lines segmented on a pool (segment.h).
 *
 * Invariants: line l of the batch is text[start[l], start[l+1]); thread i
 * segments the lines sq_pool_share() gives it into shares[i], whose items
 * point into its own arenas by offset, since the arenas may move while
 * they fill.  The arenas are never NULL, so that memcpy() of 0 bytes has a
 * pointer.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "io/segment.h"
#include "io/spm.h"
#include "base/util.h"

/* Per-line seeds: golden-ratio steps from the user's seed. */
#define SEED_STEP 0x9E3779B9u

/* One record (or line of pieces), pointing into its share's arena. */
struct item {
	uint64_t key;
	uint32_t rank;
	float score;
	size_t at, n;		/* ids[at, at+n), or text[at, at+n) */
};

/* What one thread made of its share of a batch. */
struct share {
	struct sq_spm *spm;	/* the thread's own, from its first lines on */
	int32_t *ids;
	size_t n_ids, cap_ids;
	char *text;
	size_t n_text, cap_text;
	struct item *items;
	size_t n_items, cap_items;
	int failed;
	size_t fail_line;	/* index in the batch */
	char err[512];
};

struct sq_segment {
	struct sq_segment_opts o;
	struct sq_pool *pool;
	int n_threads;
	struct share *shares;	/* (n_threads) */
	/* the batch: lines back to back without their newlines */
	char *text;
	size_t len, cap;
	size_t *start;		/* (n + 1) */
	size_t n, cap_lines;
	uint64_t key;		/* of line 0 */
	int cur;		/* share being handed out */
	size_t cur_item;
};

/*
 * p, or p grown, with room for need more of its *cap elements of size;
 * never NULL, so that memcpy() of 0 bytes has a pointer.
 */
static void *
reserve(void *p, size_t *cap, size_t used, size_t need, size_t size)
{
	if (p && used + need <= *cap)
		return p;
	*cap = SQ_MAX(2 * *cap, used + need + 1024);
	return sq_reallocarray(p, *cap, size);
}

struct sq_segment *
sq_segment_new(struct sq_spm *spm, struct sq_pool *pool,
    const struct sq_segment_opts *o)
{
	struct sq_segment *s = sq_calloc(1, sizeof(*s));

	s->o = *o;
	s->pool = pool;
	s->n_threads = sq_pool_threads(pool);
	s->shares = sq_calloc(s->n_threads, sizeof(*s->shares));
	s->shares[0].spm = spm;
	return s;
}

void
sq_segment_add(struct sq_segment *s, const char *line, size_t len)
{
	s->text = reserve(s->text, &s->cap, s->len, len, 1);
	s->start = reserve(s->start, &s->cap_lines, s->n, 2,
	    sizeof(*s->start));
	memcpy(s->text + s->len, line, len);
	s->start[s->n] = s->len;
	s->len += len;
	s->start[++s->n] = s->len;
}

size_t
sq_segment_lines(const struct sq_segment *s)
{
	return s->n;
}

size_t
sq_segment_bytes(const struct sq_segment *s)
{
	return s->len;
}

/* Appends an item: n ids, or n bytes of text if text is not NULL. */
static void
push(struct share *sh, uint64_t key, uint32_t rank, float score,
    const int32_t *ids, const char *text, size_t n)
{
	struct item *it;

	sh->items = reserve(sh->items, &sh->cap_items, sh->n_items, 1,
	    sizeof(*sh->items));
	it = &sh->items[sh->n_items++];
	*it = (struct item){ .key = key, .rank = rank, .score = score,
	    .n = n };
	if (text) {
		sh->text = reserve(sh->text, &sh->cap_text, sh->n_text, n, 1);
		memcpy(sh->text + sh->n_text, text, n);
		it->at = sh->n_text;
		sh->n_text += n;
	} else {
		sh->ids = reserve(sh->ids, &sh->cap_ids, sh->n_ids, n,
		    sizeof(*ids));
		if (n > 0)	/* an empty line's ids may be NULL */
			memcpy(sh->ids + sh->n_ids, ids, n * sizeof(*ids));
		it->at = sh->n_ids;
		sh->n_ids += n;
	}
}

/* What one input line becomes, by mode; 0 or -1 (sq_errstr() set). */
static int
encode_line(struct share *sh, const struct sq_segment_opts *o,
    const char *line, size_t len, uint64_t key)
{
	const struct sq_spm_cand *cands;
	const int32_t *ids;
	const char *text;
	size_t n, i;
	int rc;

	if (o->pieces) {
		if (sq_spm_encode_pieces(sh->spm, line, len, &text, &n) < 0)
			return -1;
		push(sh, key, 0, NAN, NULL, text, n);
		return 0;
	}
	if (o->nbest > 1) {
		if (sq_spm_nbest(sh->spm, line, len, o->nbest, &cands, &n) < 0)
			return -1;
		for (i = 0; i < n; i++)
			push(sh, key, i, cands[i].score, cands[i].ids, NULL,
			    cands[i].n_ids);
		return 0;
	}
	if (o->sample)
		rc = sq_spm_sample(sh->spm, line, len, o->nbest_size,
		    o->alpha, o->seed + (uint32_t)key * SEED_STEP, &ids, &n);
	else
		rc = sq_spm_encode(sh->spm, line, len, &ids, &n);
	if (rc < 0)
		return -1;
	push(sh, key, 0, NAN, ids, NULL, n);
	return 0;
}

/* Thread i of n: its contiguous share of the batch's lines. */
static void
work(void *arg, int i, int n)
{
	struct sq_segment *s = arg;
	struct share *sh = &s->shares[i];
	int lo, hi, l;

	sh->n_ids = sh->n_text = sh->n_items = 0;
	sh->failed = 0;
	sq_pool_share((int)s->n, 1, i, n, &lo, &hi);
	for (l = lo; l < hi; l++)
		if (encode_line(sh, &s->o, s->text + s->start[l],
		    s->start[l + 1] - s->start[l], s->key + l) < 0) {
			sh->failed = 1;
			sh->fail_line = l;
			snprintf(sh->err, sizeof(sh->err), "%s", sq_errstr());
			return;
		}
}

int
sq_segment_run(struct sq_segment *s, uint64_t key)
{
	int i, lo, hi;

	s->key = key;
	s->cur = 0;
	s->cur_item = 0;
	if (s->n == 0) {
		s->cur = s->n_threads;	/* nothing to hand out */
		return 0;
	}
	for (i = 1; i < s->n_threads; i++) {
		sq_pool_share((int)s->n, 1, i, s->n_threads, &lo, &hi);
		if (lo < hi && s->shares[i].spm == NULL &&
		    !(s->shares[i].spm = sq_spm_dup(s->shares[0].spm)))
			return -1;
	}
	sq_pool_run(s->pool, work, s);
	return 0;
}

int
sq_segment_next(struct sq_segment *s, struct sq_segment_item *it,
    size_t *line)
{
	for (; s->cur < s->n_threads; s->cur++, s->cur_item = 0) {
		const struct share *sh = &s->shares[s->cur];

		if (s->cur_item < sh->n_items) {
			const struct item *x = &sh->items[s->cur_item++];

			*it = (struct sq_segment_item){ .key = x->key,
			    .rank = x->rank, .score = x->score, .n = x->n };
			if (s->o.pieces)
				it->text = sh->text + x->at;
			else
				it->ids = sh->ids + x->at;
			return 1;
		}
		if (sh->failed) {
			sq_seterr("%s", sh->err);
			*line = sh->fail_line;
			return -1;
		}
	}
	s->n = s->len = 0;
	return 0;
}

void
sq_segment_free(struct sq_segment *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_threads; i++) {
		sq_spm_free(s->shares[i].spm);
		free(s->shares[i].ids);
		free(s->shares[i].text);
		free(s->shares[i].items);
	}
	free(s->shares);
	free(s->text);
	free(s->start);
	free(s);
}
