/*
 * Fuzz harness: the SentencePiece wrapper's load from bytes (lib/io/spm.cc
 * sq_spm_new: a serialized ModelProto, as a model file's spm.* tensor
 * holds it).  A model that loads encodes and decodes a few lines, as
 * tokenize and detok would, and names its pieces.  libsentencepiece
 * itself is not instrumented: the coverage seen is the wrapper's.
 */
#include <string.h>

#include "fuzz.h"
#include "io/spm.h"

static const char *const lines[] = {"", "Hello, world.", "  a  b\tc ",
    "\xc3\xa9t\xc3\xa9 \xe2\x96\x81 \xe4\xb8\xad\xe6\x96\x87", "\xff\xfe"};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_spm *s = sq_spm_new(data, size);
	const int32_t *ids;
	const char *out;
	size_t n, len;
	int v;

	if (s == NULL)
		return 0;
	fz_touch(sq_spm_model_id(s), strlen(sq_spm_model_id(s)));
	v = sq_spm_size(s);
	for (int i = 0; i < v && i < 2000; i++) {
		const char *p = sq_spm_piece(s, i);

		if (p)
			fz_sink += (unsigned)sq_spm_id(s, p);
	}
	fz_sink += (unsigned)(sq_spm_bos(s) + sq_spm_eos(s) + sq_spm_unk(s) +
	    sq_spm_pad(s));
	for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
		if (sq_spm_encode(s, lines[k], strlen(lines[k]), &ids, &n) == 0) {
			int32_t *copy = malloc(n * 4 + 4);

			if (n)
				memcpy(copy, ids, n * 4);
			if (sq_spm_decode(s, copy, n, &out, &len) == 0)
				fz_touch(out, len);
			free(copy);
		}
		if (sq_spm_encode_pieces(s, lines[k], strlen(lines[k]), &out,
		    &len) == 0)
			fz_touch(out, len);
	}
	/* ids the model does not have are an error, not a read */
	{
		int32_t bad[3] = {0, v, -1};

		(void)sq_spm_decode(s, bad, 3, &out, &len);
	}
	sq_spm_free(s);
	return 0;
}
