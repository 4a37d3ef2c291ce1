/*
 * frames: feature frames from plain data (seqcat --frames): the records
 * of a frames stream (lib/io/stream.h, man/seqpipe-stream.5) made from
 * text lines or from a NumPy .npy file, so that features computed by any
 * tool (a filterbank in Python, awk over a spectrogram) enter a model
 * with input frames.
 *
 * Text: one utterance per line, its values as decimal floats (what
 * strtof reads) separated by spaces or tabs, frame after frame, dim
 * values each; a carriage return before the newline is ignored; an empty
 * line is an utterance of no frames.  That is what "seqcat -t" prints of
 * a frames stream, so the two round-trip.  Line i (0-based) is record
 * key i.
 *
 * .npy (told by its first bytes, the magic "\x93NUMPY"): one utterance,
 * record key 0, an array of shape (frames, dim) of float16, float32 or
 * float64 (NumPy's default), or (dim) for a single frame.
 *
 * Every value must be finite: a NaN in the features would make every
 * output of the model NaN.
 */
#ifndef SQ_IMPORT_FRAMES_H
#define SQ_IMPORT_FRAMES_H

struct sq_record;
struct sq_frames_in;

/*
 * Opens path (NULL or "-": stdin) for frames of dim values.  Returns NULL
 * with sq_errstr() set ("FILE: what") on failure.  Caller frees with
 * sq_frames_in_close(), which closes the file (not stdin).
 */
struct sq_frames_in *sq_frames_in_open(const char *path, int dim);

/*
 * The next utterance as a SQ_REC_FRAMES record (rows frames of cols = dim
 * values; an empty one 0 x 0), its data borrowed until the next call.
 * Returns 1, 0 at the end, or -1 with sq_errstr() set to "FILE: line N
 * (key K): what" (text) or "FILE: what" (.npy).
 */
int sq_frames_in_next(struct sq_frames_in *f, struct sq_record *rec);

void sq_frames_in_close(struct sq_frames_in *f);

#endif
