/*
 * Fuzz harness: the importer's YAML reader (lib/import/yml.c over
 * libyaml): Marian's flat maps, model.yml, decoder.yml and *.vocab.yml.
 * Every entry read is walked, and looked up by its key.
 */
#include <string.h>

#include "fuzz.h"
#include "import/yml.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_yml *y = sq_yml_parse(data, size, "fuzz.yml");

	if (y == NULL)
		return 0;
	for (int i = 0; i < y->n; i++) {
		const struct sq_yml_entry *e = &y->e[i];

		fz_touch(e->key, e->key_len + 1);
		if (e->value)
			fz_touch(e->value, strlen(e->value));
		for (int k = 0; k < e->n_items; k++)
			fz_touch(e->items[k], strlen(e->items[k]));
		(void)sq_yml_get(y, e->key);
	}
	(void)sq_yml_get(y, "type");
	sq_yml_free(y);
	return 0;
}
