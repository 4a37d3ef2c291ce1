/*
 * marian_search: Marian's beam search settings for a model (beamsearch
 * --marian, and the default for a model imported from an OPUS-MT release;
 * man/beamsearch.1 has the user's view).
 *
 * lib/search/beam already is Marian's search (BeamSearch::search and
 * History in marian-dev src/translator, shared/marian-format.md §3.8):
 * the beam shrinks by one for each hypothesis that ends, a hypothesis of
 * L tokens (its </s> counted) and path score S scores
 * (S - wp * L) / L^alpha.  What Marian adds is set here: the defaults
 * marian-decoder would run with (seqimport keeps decoder.yml's as
 * "marian.*" metadata), the ids it never emits (<unk> unless allow-unk,
 * and the byte pieces <0x00>..<0x1F> SentencePiece's byte fallback
 * adds), its length cap (lib/search/decoding's sq_maxlen, marian set) and
 * its empty translation of an empty source.
 */
#ifndef SQ_MARIAN_SEARCH_H
#define SQ_MARIAN_SEARCH_H

#include <stdint.h>

struct sq_model;

struct sq_marian_search {
	int beam_size;		/* marian.beam-size, else 12 */
	float alpha;		/* marian.normalize, else 0 */
	float word_penalty;	/* marian.word-penalty, else 0 */
	float max_length_factor;	/* marian.max-length-factor, else 3 */
	int allow_unk;		/* marian.allow-unk, else 0 */
	int32_t src_eos;	/* marian.source-eos-id, else -1 */
	int32_t *banned;	/* (n_banned) target ids never emitted */
	int n_banned;
};

/* Whether model m records Marian search settings (marian.* keys). */
int sq_marian_recorded(const struct sq_model *m);

/*
 * Marian's settings for model m into ms: the recorded ones, else
 * marian-decoder's defaults (in the comments above).  Returns 0, or -1
 * with sq_errstr() "PATH: metadata KEY 'VALUE': what" on a bad value.
 * Free ms->banned with sq_marian_search_free().
 */
int sq_marian_search_get(struct sq_marian_search *ms,
    const struct sq_model *m);
void sq_marian_search_free(struct sq_marian_search *ms);

/*
 * Whether Marian translates a source (src, n_src) as empty without
 * searching: it does so when the source starts with its </s> (an empty
 * line), and lists that empty translation, score 0, for every beam slot.
 * A source of no token is not one of these: it has seqpipe's empty
 * translation (lib/search/decoding.h), not Marian's forced </s>.
 */
int sq_marian_empty_source(const struct sq_marian_search *ms,
    const int32_t *src, int n_src);

#endif
