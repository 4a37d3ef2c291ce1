/*
 * validate: valid loss and greedy BLEU (see validate.h).  Both walk the
 * pairs in order in fixed batches, so a validation is deterministic.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bleu/bleu.h"
#include "io/spm.h"
#include "nn/encoder.h"
#include "nn/model.h"
#include "search/greedy.h"
#include "train/corpus.h"
#include "train/graph.h"
#include "base/util.h"

#define BLEU_BATCH 32

double
sq_validate_loss(struct sq_graph *g, const struct sq_corpus *c,
    long max_tokens)
{
	/* a nat model's whole -log p(y | x): its length's too */
	struct sq_graph_opts o = { .length_weight = 1 };
	long n = sq_corpus_size(c), i, j, tok = 0, t;
	double nll = 0, l;
	const int32_t **src = sq_calloc((size_t)n + 1, sizeof(*src));
	const int32_t **tgt = sq_calloc((size_t)n + 1, sizeof(*tgt));
	const float **fr = sq_calloc((size_t)n + 1, sizeof(*fr));
	int *sl = sq_calloc((size_t)n + 1, sizeof(int));
	int *tl = sq_calloc((size_t)n + 1, sizeof(int));
	int frames = sq_corpus_frame_dim(c) > 0;

	for (i = 0; i < n; i++)
		sq_corpus_pair(c, i, &src[i], &fr[i], &sl[i], &tgt[i], &tl[i]);
	for (i = 0; i < n; i = j) {
		struct sq_pairs b;
		long longest = 0;

		/* consecutive pairs while the padded size fits */
		for (j = i; j < n; j++) {
			long len = SQ_MAX(sq_corpus_src_positions(c, j),
			    tl[j] + 1);

			if (j > i && (j - i + 1) * SQ_MAX(longest, len) >
			    max_tokens)
				break;
			longest = SQ_MAX(longest, len);
		}
		b = (struct sq_pairs){(int)(j - i), src + i, sl + i, tgt + i,
		    tl + i, NULL, frames ? fr + i : NULL};
		if ((l = sq_graph_forward(g, &b, &o, &t)) < 0) {
			nll = -1;
			break;
		}
		nll += l;
		tok += t;
	}
	free(src);
	free(tgt);
	free(fr);
	free(sl);
	free(tl);
	if (nll < 0)
		return -1;
	return tok > 0 ? nll / (double)tok : 0;
}

double
sq_validate_bleu(const struct sq_model *m, struct sq_pool *pool,
    const struct sq_corpus *c, long n, struct sq_spm *tgt)
{
	struct sq_bleu_opts bo = {SQ_BLEU_TOK_13A, SQ_BLEU_SMOOTH_EXP, 0, 0, 0};
	struct sq_greedy_opts go = {0};
	struct sq_bleu_stats total = {0};
	struct sq_bleu_score score;
	struct sq_encoder *enc = sq_encoder_new(m, pool);
	struct sq_greedy *gr;
	struct sq_bleu *bleu = sq_bleu_new(&bo);
	double rc = -1;
	long i;

	go.max_len = (struct sq_maxlen){ .a = 2, .b = 10 };
	go.nat_lengths = m->cfg.nat;	/* its best length alone */
	gr = sq_greedy_new(m, pool, &go, BLEU_BATCH);
	n = SQ_MIN(n, sq_corpus_size(c));
	for (i = 0; i < n; i += BLEU_BATCH) {
		const int32_t *src[BLEU_BATCH], *tgt_ids;
		const float *fr[BLEU_BATCH];
		int len[BLEU_BATCH], k, nb = (int)SQ_MIN(BLEU_BATCH, n - i), tl;
		struct sq_greedy_sent *sents;

		for (k = 0; k < nb; k++)
			sq_corpus_pair(c, i + k, &src[k], &fr[k], &len[k],
			    &tgt_ids, &tl);
		if ((fr[0] != NULL ? sq_encoder_run_frames(enc, nb, fr, len) :
		    sq_encoder_run(enc, nb, src, len)) < 0)
			goto out;
		for (k = 0; k < nb; k++)
			sq_greedy_add(gr, (uint64_t)(i + k),
			    sq_encoder_rows(enc, k), src[k],
			    sq_encoder_out(enc, k), NULL, -1);
		if (sq_greedy_run(gr, &sents) < 0)
			goto out;
		for (k = 0; k < nb; k++) {
			struct sq_bleu_stats st;
			const int32_t *ref;
			const char *h, *r;
			size_t hl, rl;
			char *hyp;
			int ref_len;

			if (sq_spm_decode(tgt, sents[k].ids, (size_t)sents[k].n,
			    &h, &hl) < 0)
				goto out;
			hyp = sq_malloc(hl + 1);	/* the next decode reuses h */
			memcpy(hyp, h, hl + 1);
			ref = sq_corpus_tgt(c, i + k, &ref_len);
			if (sq_spm_decode(tgt, ref, (size_t)ref_len, &r, &rl) < 0) {
				free(hyp);
				goto out;
			}
			sq_bleu_segment_text(bleu, &st, hyp, hl, r, rl);
			free(hyp);
			sq_bleu_add(&total, &st);
		}
		sq_greedy_clear(gr);
	}
	sq_bleu_compute(&score, &total, &bo, SQ_BLEU_NUM_INT);
	rc = score.score;
out:
	sq_greedy_free(gr);
	sq_encoder_free(enc);
	sq_bleu_free(bleu);
	return rc;
}
