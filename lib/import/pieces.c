/*
 * pieces: vocabularies of imported models (see pieces.h).  YAML through
 * import/yml (libyaml), JSON through Jansson, which undoes \uXXXX escapes
 * and surrogate pairs (Python's json.dump writes every non-ASCII piece
 * so).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/pieces.h"
#include "import/yml.h"
#include "io/spm.h"
#include "base/util.h"

void
sq_pieces_free(struct sq_pieces *v)
{
	for (int i = 0; i < v->n; i++)
		free(v->piece[i]);
	free(v->piece);
	v->piece = NULL;
	v->n = 0;
}

int
sq_pieces_id(const struct sq_pieces *v, const char *piece)
{
	for (int i = 0; i < v->n; i++)
		if (strcmp(v->piece[i], piece) == 0)
			return i;
	return -1;
}

/* Gives id to the piece key (key_len bytes).  0, or -1 with the error. */
static int
set_piece(struct sq_pieces *v, const char *key, size_t key_len, long id,
    const char *where)
{
	if (id < 0 || id >= v->n) {
		sq_seterr("%s: piece '%s': id %ld is not in 0..%d", where, key,
		    id, v->n - 1);
		return -1;
	}
	if (v->piece[id] != NULL) {
		sq_seterr("%s: id %ld given to both '%s' and '%s'", where, id,
		    v->piece[id], key);
		return -1;
	}
	if (strlen(key) != key_len) {
		sq_seterr("%s: piece with a NUL byte (id %ld)", where, id);
		return -1;
	}
	v->piece[id] = sq_strdup(key);
	return 0;
}

int
sq_pieces_yml(struct sq_pieces *v, const void *text, size_t len,
    const char *where)
{
	struct sq_yml *y = sq_yml_parse(text, len, where);
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (y == NULL)
		return -1;
	v->n = y->n;
	v->piece = sq_calloc((size_t)y->n + 1, sizeof(char *));
	for (int i = 0; i < y->n; i++) {
		const struct sq_yml_entry *e = &y->e[i];
		char *end;
		long id;

		if (e->value == NULL) {
			sq_seterr("%s: piece '%s': the id is a list", where,
			    e->key);
			goto out;
		}
		id = strtol(e->value, &end, 10);
		if (*e->value == '\0' || *end != '\0') {
			sq_seterr("%s: piece '%s': id '%s' is not a number",
			    where, e->key, e->value);
			goto out;
		}
		if (set_piece(v, e->key, e->key_len, id, where) < 0)
			goto out;
	}
	rc = 0;
out:
	sq_yml_free(y);
	if (rc < 0)
		sq_pieces_free(v);
	return rc;
}

int
sq_pieces_json(struct sq_pieces *v, const void *text, size_t len,
    const char *where)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *id;
	const char *key;
	size_t key_len;
	void *it;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (root == NULL) {
		sq_seterr("%s: line %d: %s", where, jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		sq_seterr("%s: not a JSON object of piece: id", where);
		goto out;
	}
	v->n = (int)json_object_size(root);
	v->piece = sq_calloc((size_t)v->n + 1, sizeof(char *));
	for (it = json_object_iter(root); it != NULL;
	    it = json_object_iter_next(root, it)) {
		key = json_object_iter_key(it);
		key_len = json_object_iter_key_len(it);
		id = json_object_iter_value(it);
		if (!json_is_integer(id)) {
			sq_seterr("%s: piece '%s': the id is not an integer",
			    where, key);
			goto out;
		}
		if (set_piece(v, key, key_len, (long)json_integer_value(id),
		    where) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	if (rc < 0)
		sq_pieces_free(v);
	return rc;
}

void
sq_pieces_text(struct sq_pieces *v, const char *text, size_t len)
{
	size_t i = 0;

	memset(v, 0, sizeof(*v));
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - text) - i : len - i;
		char *p = sq_malloc(n + 1);

		memcpy(p, text + i, n);
		p[n] = '\0';
		v->piece = sq_reallocarray(v->piece, (size_t)v->n + 1,
		    sizeof(char *));
		v->piece[v->n++] = p;
		i += n + 1;
	}
}

int32_t *
sq_pieces_spm_map(const struct sq_pieces *v, struct sq_spm *s, int n)
{
	int32_t *map = sq_malloc(((size_t)n + 1) * sizeof(int32_t));

	for (int i = 0; i < n; i++) {
		int id = i < v->n ? sq_spm_id(s, v->piece[i]) : -1;
		const char *p = id >= 0 ? sq_spm_piece(s, id) : NULL;

		map[i] = p && strcmp(p, v->piece[i]) == 0 ? id : -1;
	}
	return map;
}
