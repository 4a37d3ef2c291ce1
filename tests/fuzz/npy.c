/*
 * Fuzz harness: the importer's .npy parser (lib/import/npy.c): magic,
 * version, header length, the Python dict literal (descr, fortran_order,
 * shape) and the data length it implies; floats widened as the importer
 * does.
 */
#include "fuzz.h"
#include "import/npy.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_npy a;

	if (sq_npy_parse(&a, data, size, "fuzz.npy") < 0)
		return 0;
	fz_touch(a.data, (size_t)a.numel * (size_t)a.size);
	if (a.kind == 'f') {
		float *f = malloc((size_t)a.numel * 4 + 4);

		(void)sq_npy_floats(f, &a, "fuzz.npy");
		free(f);
	}
	return 0;
}
