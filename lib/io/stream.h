/*
 * stream: the binary format that joins the seqpipe programs (design.md §2,
 * man/seqpipe-stream.5).
 *
 * A stream is one or more (header, records...) sections; `cat a b` of two
 * streams of the same kind and model is a stream.  All integers are
 * little-endian, floats are IEEE-754 binary32 little-endian, there is no
 * padding.  The layout, as C structs (not read with a cast: fields are
 * decoded one by one):
 *
 *   struct header {			 section header, 20 + hdr_len bytes
 *	uint8_t  magic[4];		 "\0SQS": a NUL cannot start a text line
 *	uint16_t major;			 SQ_STREAM_MAJOR; others are refused
 *	uint16_t minor;			 new facts only; readers ignore it
 *	uint32_t kind;			 SQ_STREAM_TOKENS, SQ_STREAM_MEMORY or
 *					 SQ_STREAM_FRAMES
 *	uint32_t hdr_len;		 bytes of what follows up to crc
 *	uint16_t id_len;   char id[id_len];	 model id, UTF-8, may be empty
 *	uint16_t path_len; char path[path_len]; model path hint, may be empty
 *	...				 hdr_len - 4 - id_len - path_len bytes
 *					 that newer minors may add; skipped
 *	uint32_t crc;			 CRC-32 (zlib) of everything from magic
 *					 up to here
 *   };
 *
 *   struct record {			 20-byte record head, then payload
 *	uint8_t  kind;			 SQ_REC_*: never 0, so a NUL where a
 *					 record should start is a new header
 *	uint8_t  flags;			 SQ_RECF_*
 *	uint16_t reserved;		 written 0, ignored
 *	uint32_t len;			 payload bytes as stored
 *	uint64_t key;			 0-based line number of the sentence
 *	uint32_t crc;			 CRC-32 of the first 16 head bytes,
 *					 continued over the stored payload
 *	uint8_t  payload[len];
 *   };
 *
 * With SQ_RECF_ZLIB the stored payload is uint32_t raw_len followed by a
 * zlib (RFC 1950) stream that inflates to raw_len bytes.  Readers skip
 * records of kinds they do not know, or that their stream's kind does not
 * hold (tokens and alignment belong in tokens streams, memory in memory
 * streams), after checking their CRC; they refuse unknown flag bits,
 * tflags bits or dtypes in records they keep.  A record whose len or
 * raw_len exceeds SQ_STREAM_MAX_LEN is refused as corrupt.
 *
 *   tokens payload (SQ_REC_TOKENS):
 *	uint32_t rank;			 place in an n-best list, else 0
 *	float    score;			 log-probability, NaN if none
 *	uint32_t n;			 number of ids
 *	uint32_t tflags;		 bit 0: per-token scores follow
 *	int32_t  ids[n];
 *	float    token_scores[n];	 only with tflags bit 0
 *
 *   memory payload (SQ_REC_MEMORY):
 *	uint32_t n_src;			 source ids
 *	uint32_t rows, cols;		 rows = source positions, cols = width
 *	uint32_t dtype;			 SQ_DTYPE_F32 (the only one so far)
 *	int32_t  src[n_src];
 *	float    data[rows * cols];	 row-major
 *
 *   frames payload (SQ_REC_FRAMES): a sequence of feature vectors (a
 *   model with input frames reads it instead of tokens, e.g. 80
 *   filterbank energies every 10 ms of speech):
 *	uint32_t rows, cols;		 rows = frames, cols = values per frame
 *					 (cols 0 only with rows 0)
 *	uint32_t dtype;			 SQ_DTYPE_F32 (the only one so far)
 *	float    data[rows * cols];	 row-major: frame after frame
 *
 *   alignment payload (SQ_REC_ALIGN), optional:
 *	uint32_t rank;			 as the tokens record it belongs to
 *	uint32_t rows, cols;		 target tokens x source tokens
 *	float    weights[rows * cols];	 row-major
 *
 *   flush (SQ_REC_FLUSH), optional, in either kind of stream: no payload
 *   (len 0), the key of the record before it.  Its writer had no more
 *   input when it wrote it (a line in, its translation out): a reader
 *   that holds records back to batch them runs what it holds when it
 *   meets one and nothing whole has come after it yet.  A stream without
 *   them (a file's) batches as if read from a file.  Readers never hand
 *   it out (sq_stream_wait() reports it).
 *
 * A tokens stream may also be plain text: one sentence per line, ids
 * separated by spaces (what spm_encode --output_format=id prints); line i
 * (0-based) is record key i, rank 0, no score.  Memory and frames
 * streams are binary only.
 */
#ifndef SQ_STREAM_H
#define SQ_STREAM_H

#include <stdint.h>
#include <stdio.h>

#define SQ_STREAM_MAGIC "\0SQS"
#define SQ_STREAM_MAJOR 1
#define SQ_STREAM_MINOR 0
#define SQ_STREAM_MAX_LEN (1u << 30)	/* largest payload, stored or raw */

enum sq_stream_kind {
	SQ_STREAM_TOKENS = 1, SQ_STREAM_MEMORY = 2, SQ_STREAM_FRAMES = 3
};
/*
 * Not a stream kind but what an encoder reads: a tokens stream (text ids
 * too) or a frames stream, as its model says (sq_stream_open()).
 */
#define SQ_STREAM_SOURCE 16
enum sq_rec_kind {
	SQ_REC_TOKENS = 1, SQ_REC_MEMORY = 2, SQ_REC_ALIGN = 3, SQ_REC_FLUSH = 4,
	SQ_REC_FRAMES = 5
};
enum sq_rec_flags { SQ_RECF_ZLIB = 1 };
enum sq_dtype { SQ_DTYPE_F32 = 0 };

/*
 * One decoded record.  From sq_stream_next() all pointers are borrowed
 * until the next call on the same reader, and those of the record's kind
 * are never NULL (even for 0 elements) except token_scores when absent;
 * the others are NULL and their counts 0.  For sq_stream_write() the
 * caller owns them, and a pointer may be NULL when its count is 0.
 */
struct sq_record {
	int kind;		/* SQ_REC_* */
	uint64_t key;
	/* tokens and alignment */
	uint32_t rank;
	float score;		/* NaN: none */
	uint32_t n_ids;
	int32_t *ids;		/* (n_ids) */
	float *token_scores;	/* (n_ids) or NULL */
	/* memory */
	uint32_t n_src;
	int32_t *src;		/* (n_src) */
	/* memory, frames and alignment */
	uint32_t rows, cols;
	float *data;		/* (rows, cols): memory, frames or alignment
				   weights */
};

/* What a section header says. */
struct sq_stream_info {
	int kind;		/* SQ_STREAM_* */
	char model_id[256];	/* "" if none */
	char model_path[4096];	/* hint, "" if none; the latest section's */
	int is_text;		/* plain-text ids, no header at all */
	int major, minor;	/* format version of the latest header */
	uint32_t section;	/* 0-based section of the latest header */
};

struct sq_reader;
struct sq_writer;

/*
 * Opens a reader on path (NULL or "-": stdin).  want_kind is the stream
 * kind the caller accepts (a text ids stream counts as tokens),
 * SQ_STREAM_SOURCE for tokens or frames (the caller checks which its
 * model reads), or 0 for any kind (a viewer).  Reads the first header at once, so
 * sq_stream_info() is valid on return.  Returns NULL with sq_errstr() set
 * on failure; an empty input is a valid empty stream of want_kind.  The
 * reader reads the descriptor with read(2) in large blocks.  Caller frees
 * with sq_stream_close().
 */
struct sq_reader *sq_stream_open(const char *path, int want_kind);
/*
 * The reader on an already open FILE (not closed by sq_stream_close).
 * It reads fileno(f) directly: nothing may have been read from f by stdio.
 */
struct sq_reader *sq_stream_fopen(FILE *f, const char *name, int want_kind);
const struct sq_stream_info *sq_stream_info(const struct sq_reader *r);

/*
 * With the model id of the model the caller runs: 0 if the stream belongs
 * to it or says nothing (text ids, empty input, empty id), else -1 with
 * sq_errstr() set to "FILE: header: stream of model ID (PATH), not ID".
 */
int sq_stream_check_model(const struct sq_reader *r, const char *model_id);

/*
 * Reads the next record: one of the stream's own kind (SQ_REC_TOKENS,
 * SQ_REC_MEMORY or SQ_REC_FRAMES) or, with want_kind 0, also SQ_REC_ALIGN in a tokens
 * stream.  Other records are skipped after their CRC is checked: unknown
 * kinds, and known kinds the stream kind does not hold.  Returns 1 with *rec filled, 0 at
 * the end, -1 on an error with sq_errstr() set to
 * "FILE: record N (key K): what" (N counts records from 0 over the whole
 * input, skipped ones included; text ids say "line N (key K)", N from 1).
 * Every later call returns -1 again.
 */
int sq_stream_next(struct sq_reader *r, struct sq_record *rec);

/*
 * For a caller that holds records back for a batch, before it asks for
 * more: waits until sq_stream_next() has a record at once (or the end,
 * or an error): 0; or until the producer is idle: 1, and the caller runs
 * what it holds.  Idle means no whole record (or line) can be read now
 * and, in a binary stream, the last unit read is a flush record.  Text
 * ids carry none, so there nothing to read now is idle, at once.  In a
 * binary stream without a flush record after the last record the writer
 * is busy: its next record is waited for as a file's would be, and a
 * flush record that comes instead is seen.  A regular file is never
 * idle.  The flush record stays for sq_stream_next() to skip.
 */
int sq_stream_wait(struct sq_reader *r);
void sq_stream_close(struct sq_reader *r);

/* Writer modes. */
enum sq_write_mode {
	SQ_WRITE_BINARY = 0,
	SQ_WRITE_ZLIB = 1,	/* binary, payloads compressed */
	SQ_WRITE_TEXT = 2	/* the plain text form (sq_record_print) */
};

/*
 * Starts a stream on f.  Binary modes refuse a terminal (as gzip does):
 * NULL with sq_errstr() set.  The header is written at once.  Caller
 * frees with sq_writer_close(), which does not close f.
 */
struct sq_writer *sq_writer_open(FILE *f, int kind, const char *model_id,
    const char *model_path, int mode);
/* Writes one record; 0 or -1 (write error, sq_errstr() set). */
int sq_stream_write(struct sq_writer *w, const struct sq_record *rec);
/*
 * Hands what stdio holds of the stream to the descriptor now (after a
 * batch: no output waits in a buffer while the program computes or
 * waits).  0 or -1 (write error, sq_errstr() set).
 */
int sq_writer_flush(struct sq_writer *w);
/*
 * For a producer about to wait for input: a flush record (binary modes,
 * if a record was written since the last one), then sq_writer_flush(),
 * so that the stage downstream runs what it holds.  0 or -1.
 */
int sq_writer_pause(struct sq_writer *w);
void sq_writer_close(struct sq_writer *w);

/*
 * The text form of a record, one line with its newline; 0 or -1 (write
 * error, sq_errstr() set).  Numbers are decimal, floats the shortest
 * decimal that reads back to the same float32 ("nan", "inf", "-inf").
 *   plain (verbose 0, what a SQ_WRITE_TEXT stream holds): tokens are
 *	"id id id" (spm_encode's form; empty record: empty line); memory
 *	and alignment records use the verbose form; frames, see below
 *   verbose (seqcat):
 *	"T key rank score id ..." and, with per-token scores,
 *	    " | s s ..." after the ids
 *	"M key n_src rows cols src ... data ..."  (data row-major)
 *	"F key rows cols data ..."
 *	"A key rank rows cols w ..."
 *   frames records' plain form is their data alone, "v v v ...", row-major:
 *   what seqcat --frames reads back.
 */
int sq_record_print(FILE *f, const struct sq_record *rec, int verbose);

#endif
