/*
 * Fuzz harness: the stream reader (lib/io/stream.c), binary sections and
 * text ids alike.  The input is read once, by a reader of the kind
 * its length picks (size % 5: a viewer of any kind, tokens, memory,
 * frames, or an encoder's tokens-or-frames: one open per run), and every
 * record it gives is printed and written back, binary and compressed, so
 * each of its pointers is read over the length it claims; before each
 * record, sq_stream_wait() looks ahead over what follows (a file: it
 * never waits).  The writers
 * live across runs: a deflate state per run would cost more than the
 * reading.
 */
#include <math.h>

#include "fuzz.h"
#include "io/stream.h"

static void
read_all(const char *path, int want)
{
	struct sq_reader *r = sq_stream_open(path, want);
	static struct sq_writer *ws[4][2];	/* by kind: binary, zlib */
	struct sq_writer *w = NULL, *z = NULL;
	struct sq_record rec;
	int kind;

	if (r == NULL)
		return;
	(void)sq_stream_check_model(r, "fuzz");
	kind = sq_stream_info(r)->kind;
	if (kind == SQ_STREAM_TOKENS || kind == SQ_STREAM_MEMORY ||
	    kind == SQ_STREAM_FRAMES) {
		if (ws[kind][0] == NULL) {
			ws[kind][0] = sq_writer_open(fz_null(), kind, "fuzz", "",
			    SQ_WRITE_BINARY);
			ws[kind][1] = sq_writer_open(fz_null(), kind, "fuzz", "",
			    SQ_WRITE_ZLIB);
		}
		w = ws[kind][0];
		z = ws[kind][1];
	}
	while (sq_stream_wait(r) == 0 && sq_stream_next(r, &rec) > 0) {
		(void)sq_record_print(fz_null(), &rec, 1);
		(void)sq_record_print(fz_null(), &rec, 0);
		if (w && (rec.kind != SQ_REC_ALIGN || kind == SQ_STREAM_TOKENS)) {
			(void)sq_stream_write(w, &rec);
			(void)sq_stream_write(z, &rec);
		}
	}
	sq_stream_close(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int want[] = { 0, SQ_STREAM_TOKENS, SQ_STREAM_MEMORY,
	    SQ_STREAM_FRAMES, SQ_STREAM_SOURCE };

	read_all(fz_file(0, data, size), want[size % 5]);
	return 0;
}
