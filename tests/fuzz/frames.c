/*
 * Fuzz harness: frames from plain data (lib/import/frames.c, seqcat
 * --frames): text lines of floats or an .npy, with a frame width its
 * length picks (size % 7 + 1); every record printed and written to a
 * frames stream, so its data is read over the length it claims.
 */
#include "fuzz.h"
#include "import/frames.h"
#include "io/stream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sq_writer *w;
	struct sq_frames_in *f = sq_frames_in_open(fz_file(0, data, size),
	    (int)(size % 7) + 1);
	struct sq_record rec;

	if (f == NULL)
		return 0;
	if (w == NULL)
		w = sq_writer_open(fz_null(), SQ_STREAM_FRAMES, "", "",
		    SQ_WRITE_BINARY);
	while (sq_frames_in_next(f, &rec) > 0) {
		(void)sq_record_print(fz_null(), &rec, 1);
		(void)sq_stream_write(w, &rec);
	}
	sq_frames_in_close(f);
	return 0;
}
