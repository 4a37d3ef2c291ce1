/*
 * yml: see yml.h.  An event loop over libyaml's parser: STREAM_START,
 * DOCUMENT_START, MAPPING_START, then key/value pairs until MAPPING_END.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "import/yml.h"
#include "base/util.h"

static char *
scalar(const yaml_event_t *ev, size_t *len)
{
	size_t n = ev->data.scalar.length;
	char *s = sq_malloc(n + 1);

	memcpy(s, ev->data.scalar.value, n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

/* The next event; -1 with the parser's error set. */
static int
next(yaml_parser_t *p, yaml_event_t *ev, const char *where)
{
	if (yaml_parser_parse(p, ev))
		return 0;
	sq_seterr("%s: line %lu: bad YAML: %s", where,
	    (unsigned long)p->problem_mark.line + 1,
	    p->problem ? p->problem : "parse error");
	return -1;
}

static int
bad(yaml_event_t *ev, const char *where, const char *what)
{
	sq_seterr("%s: line %lu: %s", where,
	    (unsigned long)ev->start_mark.line + 1, what);
	yaml_event_delete(ev);
	return -1;
}

/* The pairs of the mapping just started, up to its end. */
static int
read_map(yaml_parser_t *p, struct sq_yml *y, const char *where)
{
	size_t cap = 0;
	yaml_event_t ev;

	for (;;) {
		struct sq_yml_entry *e;

		if (next(p, &ev, where) < 0)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT)
			return bad(&ev, where, "a key that is not a scalar");
		/* y may hold the maps of earlier documents already */
		if ((size_t)y->n >= cap) {
			cap = SQ_MAX(2 * cap, (size_t)y->n + 64);
			y->e = sq_reallocarray(y->e, cap, sizeof(*y->e));
		}
		e = &y->e[y->n++];
		memset(e, 0, sizeof(*e));
		e->key = scalar(&ev, &e->key_len);
		yaml_event_delete(&ev);
		if (next(p, &ev, where) < 0)
			return -1;
		if (ev.type == YAML_SCALAR_EVENT) {
			e->value = scalar(&ev, NULL);
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type != YAML_SEQUENCE_START_EVENT)
			return bad(&ev, where, "a value that is neither a "
			    "scalar nor a list");
		yaml_event_delete(&ev);
		for (;;) {
			if (next(p, &ev, where) < 0)
				return -1;
			if (ev.type == YAML_SEQUENCE_END_EVENT)
				break;
			if (ev.type != YAML_SCALAR_EVENT)
				return bad(&ev, where, "a list item that is "
				    "not a scalar");
			e->items = sq_reallocarray(e->items,
			    (size_t)e->n_items + 1, sizeof(char *));
			e->items[e->n_items++] = scalar(&ev, NULL);
			yaml_event_delete(&ev);
		}
		yaml_event_delete(&ev);
	}
}

struct sq_yml *
sq_yml_parse(const void *text, size_t len, const char *where)
{
	struct sq_yml *y = sq_calloc(1, sizeof(*y));
	yaml_parser_t p;
	yaml_event_t ev;
	int rc = -1, done = 0;

	if (!yaml_parser_initialize(&p)) {
		sq_seterr("%s: cannot start libyaml", where);
		free(y);
		return NULL;
	}
	yaml_parser_set_input_string(&p, text, len);
	while (!done) {
		if (next(&p, &ev, where) < 0)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			yaml_event_delete(&ev);
			if (read_map(&p, y, where) < 0)
				goto out;
			continue;
		case YAML_SCALAR_EVENT:		/* an empty document */
			if (ev.data.scalar.length == 0)
				break;
			/* FALLTHROUGH */
		default:
			bad(&ev, where, "not a YAML map");
			goto out;
		}
		yaml_event_delete(&ev);
	}
	rc = 0;
out:
	yaml_parser_delete(&p);
	if (rc < 0) {
		sq_yml_free(y);
		return NULL;
	}
	return y;
}

void
sq_yml_free(struct sq_yml *y)
{
	if (y == NULL)
		return;
	for (int i = 0; i < y->n; i++) {
		free(y->e[i].key);
		free(y->e[i].value);
		for (int j = 0; j < y->e[i].n_items; j++)
			free(y->e[i].items[j]);
		free(y->e[i].items);
	}
	free(y->e);
	free(y);
}

const struct sq_yml_entry *
sq_yml_get(const struct sq_yml *y, const char *key)
{
	for (int i = y->n - 1; i >= 0; i--)
		if (strcmp(y->e[i].key, key) == 0)
			return &y->e[i];
	return NULL;
}
