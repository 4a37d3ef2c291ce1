/*
 * Fuzz harness: reading a checkpoint of train (lib/train/trainer.c
 * resume()): a model file whose extra.* tensors hold the optimizer state
 * and whose train.* metadata the position of the run.  The harness does
 * what resume does with them: looks up each, reads the Adam vectors over
 * the length sq_model_extra() gives, and parses the numbers.
 */
#include <string.h>

#include "fuzz.h"
#include "nn/model.h"
#include "nn/params.h"

static const char *const keys[] = {"train.step", "train.epoch",
    "train.batch", "train.best", "train.bad", "train.options"};
static const char *const extras[] = {"extra.adam.m", "extra.adam.v",
    "extra.", "extra.missing", "encoder.embed_tokens.weight",
    "__metadata__"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_model *m = sq_model_open(fz_file(0, data, size));

	if (m == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *s = sq_model_meta(m, keys[i]);
		char *end;

		if (s != NULL) {
			fz_touch(s, strlen(s));
			fz_sink += (unsigned)strtol(s, &end, 10);
			fz_sink += (unsigned)strtod(s, &end);
		}
	}
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
		long n = -1;
		const float *v = sq_model_extra(m, extras[i], &n);

		if (v != NULL) {
			if (n < 0)
				abort();
			fz_touch(v, (size_t)n * 4);
		}
	}
	sq_model_close(m);
	return 0;
}
