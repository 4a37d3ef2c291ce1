/*
 * yml: the flat YAML maps Marian writes, read through libyaml: a
 * model's "special:model.yml", decoder.yml, and the piece-to-id
 * vocabularies (*.vocab.yml), shared/marian-format.md §1.3, §3.7.
 *
 * A document is one block or flow mapping whose values are scalars or
 * sequences of scalars.  Every scalar is kept as its string, untyped
 * (YAML 1.1's "yes", "null", "1" are pieces, not booleans or numbers),
 * as PyYAML's BaseLoader reads them; libyaml undoes the quoting (single,
 * double with escapes) and the "? key" complex form.  An empty document
 * is an empty map.  Nested mappings are refused.
 */
#ifndef SQ_YML_H
#define SQ_YML_H

#include <stddef.h>

struct sq_yml_entry {
	char *key;
	size_t key_len;		/* a piece may hold a NUL ("\0") */
	char *value;		/* a scalar, or NULL for a sequence */
	int n_items;		/* a sequence's */
	char **items;		/* (n_items) */
};

struct sq_yml {
	int n;
	struct sq_yml_entry *e;	/* (n) in document order */
};

/*
 * Parses len bytes of YAML at text.  NULL with sq_errstr() "WHERE: line
 * L: what" on failure.  Caller frees with sq_yml_free().
 */
struct sq_yml *sq_yml_parse(const void *text, size_t len, const char *where);
void sq_yml_free(struct sq_yml *y);

/* The entry of key, or NULL (the last one if repeated). */
const struct sq_yml_entry *sq_yml_get(const struct sq_yml *y,
    const char *key);

#endif
