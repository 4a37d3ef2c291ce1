/*
 * pieces: an imported model's vocabulary, its pieces by id, from the
 * forms the releases ship (shared/marian-format.md §3.7): a YAML map of
 * piece to id (Marian's *.vocab.yml), a text file of one piece per line
 * (the line number is the id), or a JSON object of piece to id (Hugging
 * Face's vocab.json); and the model's ids as SentencePiece ids, the
 * vocab.source and vocab.target tensors of a model file (nn/model.h).
 */
#ifndef SQ_PIECES_H
#define SQ_PIECES_H

#include <stddef.h>
#include <stdint.h>

struct sq_spm;

struct sq_pieces {
	char **piece;		/* (n) by id */
	int n;
};

/*
 * A map piece: id whose ids are 0..n-1, each once, from YAML (yml) or
 * JSON (json) text of len bytes.  0, or -1 with sq_errstr() "WHERE:
 * what" (an id out of range or given twice, a piece with a NUL byte).
 * The filled *v is freed with sq_pieces_free().
 */
int sq_pieces_yml(struct sq_pieces *v, const void *text, size_t len,
    const char *where);
int sq_pieces_json(struct sq_pieces *v, const void *text, size_t len,
    const char *where);
/* One piece per line of text (split on '\n' only). */
void sq_pieces_text(struct sq_pieces *v, const char *text, size_t len);
void sq_pieces_free(struct sq_pieces *v);

/* The id of piece, or -1. */
int sq_pieces_id(const struct sq_pieces *v, const char *piece);

/*
 * Model id -> SentencePiece id of the same piece in s, -1 where s has no
 * such piece; n entries (those past v->n are -1).  Caller frees.
 */
int32_t *sq_pieces_spm_map(const struct sq_pieces *v, struct sq_spm *s,
    int n);

#endif
