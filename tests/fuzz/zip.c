/*
 * Fuzz harness: the importer's ZIP reader (lib/import/zip.c) over bytes
 * in memory: the end record, ZIP64 records and extra fields, the central
 * directory, local headers, stored and deflated members and their CRCs;
 * then the same bytes as an .npz (lib/import/npy.c), each item parsed
 * and read as floats where it holds them.
 */
#include "fuzz.h"
#include "import/npy.h"
#include "import/zip.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_zip *z = sq_zip_open_mem(data, size, "fuzz.zip");
	struct sq_npz *npz;
	char name[256];

	if (z != NULL) {
		(void)sq_zip_find(z, "special:model.yml.npy");
		for (int i = 0; i < z->n; i++) {
			size_t len;
			void *owned;
			const void *p = sq_zip_get(z, i, &len, &owned);

			if (p != NULL)
				fz_touch(p, len);
			free(owned);
		}
		sq_zip_close(z);
	}
	if ((npz = sq_npz_open(NULL, data, size, "fuzz.npz")) == NULL)
		return 0;
	for (int i = 0; i < sq_npz_count(npz); i++) {
		const char *item = sq_npz_name(npz, i, name, sizeof(name));
		struct sq_npy a;

		if (item && sq_npz_get(npz, item, &a) == 1 && a.kind == 'f' &&
		    (a.size == 2 || a.size == 4)) {
			float *f = malloc((size_t)a.numel * 4 + 4);

			(void)sq_npy_floats(f, &a, item);
			free(f);
		}
	}
	sq_npz_close(npz);
	return 0;
}
