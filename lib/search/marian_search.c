/*
 * marian_search: Marian's search settings of a model (marian_search.h).
 *
 * The defaults are marian-decoder's (marian-dev src/common/config_parser.cpp,
 * shared/marian-format.md §1.2): beam-size 12, normalize 0, word-penalty
 * 0, max-length-factor 3, allow-unk false.  OPUS-MT releases ship
 * beam-size 4 and normalize 1 in decoder.yml, which seqimport records.
 * The byte pieces are those Marian's vocabularies suppress unless
 * --allow-special (DefaultVocab::populateControlChars): the 32 strings
 * "<0x00>".."<0x1F>", two upper-case hex digits.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search/marian_search.h"
#include "io/spm.h"
#include "nn/model.h"
#include "base/util.h"

static const char *const keys[] = {
	"marian.beam-size", "marian.normalize", "marian.word-penalty",
	"marian.max-length-factor", "marian.allow-unk"
};

int
sq_marian_recorded(const struct sq_model *m)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (sq_model_meta(m, keys[i]) != NULL)
			return 1;
	return 0;
}

/*
 * The metadata value of key as a number in [lo, hi] (an integer if
 * integer) into *v, left alone if m has no such key.  0 or -1.
 */
static int
meta_num(const struct sq_model *m, const char *key, double lo, double hi,
    int integer, double *v)
{
	const char *s = sq_model_meta(m, key);
	char *end;
	double x;

	if (s == NULL)
		return 0;
	errno = 0;
	x = strtod(s, &end);
	if (errno || end == s || *end || !(x >= lo && x <= hi) ||
	    (integer && x != floor(x))) {
		sq_seterr("%s: metadata %s '%s': not %s in [%g, %g]", m->path,
		    key, s, integer ? "an integer" : "a number", lo, hi);
		return -1;
	}
	*v = x;
	return 0;
}

/* Whether piece is one of "<0x00>".."<0x1F>". */
static int
control_piece(const char *piece)
{
	char want[8];
	unsigned long v;

	if (piece == NULL || strlen(piece) != 6 || strncmp(piece, "<0x", 3))
		return 0;
	v = strtoul(piece + 3, NULL, 16);
	snprintf(want, sizeof(want), "<0x%02lX>", v);
	return v < 0x20 && strcmp(piece, want) == 0;
}

/*
 * Appends to ms->banned every target id of m whose piece is a control
 * byte piece.  A model without a target SentencePiece model has none.
 */
static int
ban_control_pieces(struct sq_marian_search *ms, const struct sq_model *m)
{
	int n_vocab = m->cfg.tgt_vocab_size, i;
	struct sq_spm *sp;

	if (m->spm_tgt == NULL)
		return 0;
	if ((sp = sq_spm_new(m->spm_tgt, m->spm_tgt_len)) == NULL) {
		sq_seterr("%s: target SentencePiece model: %s", m->path,
		    sq_errstr());
		return -1;
	}
	for (i = 0; i < n_vocab; i++)
		if (control_piece(sq_spm_piece(sp, m->vocab_tgt ?
		    m->vocab_tgt[i] : i)))
			ms->banned[ms->n_banned++] = i;
	sq_spm_free(sp);
	return 0;
}

int
sq_marian_search_get(struct sq_marian_search *ms, const struct sq_model *m)
{
	double k = 12, alpha = 0, wp = 0, factor = 3, unk = 0, eos = -1;

	memset(ms, 0, sizeof(*ms));
	if (meta_num(m, keys[0], 1, 1024, 1, &k) < 0 ||
	    meta_num(m, keys[1], -10, 10, 0, &alpha) < 0 ||
	    meta_num(m, keys[2], -1e6, 1e6, 0, &wp) < 0 ||
	    meta_num(m, keys[3], 0, 1e6, 0, &factor) < 0 ||
	    meta_num(m, keys[4], 0, 1, 1, &unk) < 0 ||
	    meta_num(m, "marian.source-eos-id", 0, m->cfg.src_vocab_size - 1,
	    1, &eos) < 0)
		return -1;
	ms->beam_size = (int)k;
	ms->alpha = (float)alpha;
	ms->word_penalty = (float)wp;
	ms->max_length_factor = (float)factor;
	ms->allow_unk = (int)unk;
	ms->src_eos = (int32_t)eos;
	/* at most UNK and every id */
	ms->banned = sq_reallocarray(NULL, (size_t)m->cfg.tgt_vocab_size + 1,
	    sizeof(*ms->banned));
	if (!ms->allow_unk && m->cfg.unk_id >= 0)
		ms->banned[ms->n_banned++] = m->cfg.unk_id;
	if (ban_control_pieces(ms, m) < 0) {
		sq_marian_search_free(ms);
		return -1;
	}
	return 0;
}

void
sq_marian_search_free(struct sq_marian_search *ms)
{
	free(ms->banned);
	ms->banned = NULL;
	ms->n_banned = 0;
}

int
sq_marian_empty_source(const struct sq_marian_search *ms,
    const int32_t *src, int n_src)
{
	return n_src > 0 && ms->src_eos >= 0 && src[0] == ms->src_eos;
}
