/*
 * Fuzz harness: train's config file reader (lib/train/opts.c
 * sq_train_opts_read: "key value" lines or a JSON object), over the
 * input as a file.
 */
#include "fuzz.h"
#include "train/opts.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_train_opts o;

	sq_train_opts_init(&o);
	(void)sq_train_opts_read(&o, fz_file(0, data, size));
	sq_train_opts_free(&o);
	return 0;
}
