/*
 * decoding: the search rules shared by decode and beamsearch, and beam
 * search's step function over the decoder (decoding.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/decoder.h"
#include "search/beam.h"
#include "search/decoding.h"
#include "nn/model.h"
#include "base/util.h"

struct sq_beam_decoder {
	const struct sq_model *m;
	struct sq_decoder *dec;
	int k;			/* hypotheses per sentence */
	int n_sent;		/* rows after sq_decoder_begin() */
	float *logp;		/* (max_sent * k, Vt) */
};

int
sq_maxlen_parse(struct sq_maxlen *ml, const char *s)
{
	const char *p = s;
	char *end;
	double a = 0, b;

	b = strtod(p, &end);
	if (end != p && *end == ',') {
		a = b;
		p = end + 1;
		b = strtod(p, &end);
	}
	if (end == p || *end || !isfinite(a) || !isfinite(b) || a < 0) {
		sq_seterr("'%s' is not 'a,b' or 'b' with a >= 0", s);
		return -1;
	}
	ml->a = a;
	ml->b = b;
	ml->marian = 0;
	return 0;
}

int
sq_maxlen_steps(const struct sq_maxlen *ml, int src_len,
    const struct sq_model *m)
{
	int cap = m->cfg.max_positions - m->cfg.position_offset;
	double x;

	if (src_len < 1)	/* the empty translation */
		return 0;
	/*
	 * Marian checks "steps so far >= factor * source width" after each
	 * step, comparing in float, and always takes the first step.
	 */
	if (ml->marian)
		x = SQ_MAX(1.0, ceilf((float)ml->a * (float)src_len));
	else
		x = floor(ml->a * src_len + ml->b);

	if (cap < 0)
		cap = 0;
	if (!(x < cap))
		return cap;
	return x < 0 ? 0 : (int)x;
}

void
sq_search_ban(const struct sq_model *m, float *logp, int rows)
{
	const struct sq_config *c = &m->cfg;

	if (c->pad_id < 0 || c->pad_id == c->eos_id)
		return;
	for (int r = 0; r < rows; r++)
		logp[(long)r * c->tgt_vocab_size + c->pad_id] = -INFINITY;
}

static int
by_len(const void *pa, const void *pb, void *arg)
{
	const int *len = arg;
	int a = *(const int *)pa, b = *(const int *)pb;

	if (len[a] != len[b])
		return len[a] < len[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

int
sq_batch_plan(int *order, int *start, const int *len, int n, int batch_size,
    long batch_tokens)
{
	int i, nb = 0, first = 0;

	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), by_len, (void *)len);
	/* (the last test: the first source with positions after empty ones) */
	for (i = 0; i < n; i++) {
		/* sorted: the sentence joining is the longest of its batch */
		long cost = (long)(i - first + 1) * SQ_MAX(len[order[i]], 1);

		if (i > first && (i - first >= batch_size ||
		    (batch_tokens > 0 && cost > batch_tokens) ||
		    (len[order[i]] > 0 && len[order[i - 1]] == 0))) {
			start[nb++] = first;
			first = i;
		}
	}
	if (n > 0)
		start[nb++] = first;
	start[nb] = n;
	return nb;
}

struct sq_beam_decoder *
sq_beam_decoder_new(const struct sq_model *m, struct sq_pool *pool,
    int max_sent, int k)
{
	struct sq_beam_decoder *bd = sq_calloc(1, sizeof(*bd));

	bd->m = m;
	bd->dec = sq_decoder_new(m, pool);
	bd->k = k;
	bd->logp = sq_reallocarray(NULL, (size_t)max_sent * k,
	    sizeof(float) * m->cfg.tgt_vocab_size);
	return bd;
}

void
sq_beam_decoder_free(struct sq_beam_decoder *bd)
{
	if (bd != NULL) {
		sq_decoder_free(bd->dec);
		free(bd->logp);
	}
	free(bd);
}

void
sq_beam_decoder_set_monotonic(struct sq_beam_decoder *bd, int window)
{
	sq_decoder_set_monotonic(bd->dec, window);
}

int
sq_beam_decoder_begin(struct sq_beam_decoder *bd, int n,
    const float *const *mem, const int32_t *const *src, const int *src_len,
    int max_steps)
{
	bd->n_sent = n;
	return sq_decoder_begin(bd->dec, n, mem, src, src_len, n * bd->k,
	    max_steps);
}

float *
sq_beam_decoder_step(void *ctx, const struct sq_beam_step *st)
{
	struct sq_beam_decoder *bd = ctx;

	/* at t 0 row i is sentence i; sentences with no step are left out */
	if (st->t > 0 || st->n_rows != bd->n_sent) {
		if (sq_decoder_select(bd->dec, st->t > 0 ? st->parent : st->sent,
		    st->n_rows) < 0)
			return NULL;
	}
	if (sq_decoder_step(bd->dec, st->ids, bd->logp) < 0)
		return NULL;
	sq_search_ban(bd->m, bd->logp, st->n_rows);
	return bd->logp;
}
