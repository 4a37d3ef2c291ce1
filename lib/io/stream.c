/*
 * stream: reader and writer of seqpipe streams, the binary format in
 * stream.h (its header comment is the specification; man/seqpipe-stream.5
 * is the same for users), and of the plain text ids form.
 *
 * Workload: a memory stream carries the encoder's output, about 25 x 512
 * floats per sentence, between processes (a frames stream the features
 * of an utterance, some 300 x 80 floats); a tokens stream carries about a
 * hundred bytes per sentence.  So the reader reads its descriptor with
 * read(2) into one growing buffer (a pipe gives what it has at once, a
 * file comes in 1 MiB blocks), checks a record's CRC in place and, when
 * the payload is 4-aligned and the host little-endian, hands out pointers
 * into that buffer: no copy, no stdio call per field.  Misaligned or
 * compressed payloads go through one reused scratch buffer.  Record
 * pointers are borrowed until the next sq_stream_next().  The writer
 * assembles each record in a reused buffer and gives it to stdio with one
 * fwrite, so a program that exits after record N (on an error too) has
 * written whole records; one killed by a signal loses what stdio still
 * held, and may leave a record cut where its last buffer ended, which the
 * next reader reports as a truncated record.
 *
 * Invariants: nothing is returned before its CRC has been checked and
 * every length in it has been checked against the bytes it came in; after
 * an error the reader only returns -1.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "io/inbuf.h"
#include "io/stream.h"
#include "base/util.h"

#define HEAD_LEN 20		/* record head */
#define FIXED_LEN 16		/* section header up to hdr_len */
#define HDR_MAX (1u << 20)	/* absurd hdr_len */
#define ZLIB_RATIO 1032		/* deflate's maximum compression ratio */
/*
 * Floats barely compress, and what does is their exponent bytes: for
 * memory (and frames) records Huffman coding alone gets the same ratio as level 6
 * (0.93 on encoder-like N(0,1) data) at 3.5x the speed (~140 MB/s).
 */
#define ZLIB_LEVEL 1

enum { TFLAG_SCORES = 1 };

/* A growing text buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
};

struct sq_reader {
	struct sq_inbuf in;		/* [pos, end) not yet used */
	FILE *own;			/* fclose'd at close, or NULL */
	char *name;
	int want_kind;
	struct sq_stream_info info;
	int failed;
	uint64_t n_rec;			/* index of the next record or line */
	unsigned char *scratch;		/* aligned payload copies, inflate */
	size_t scratch_cap;
	int32_t *tids;			/* text ids of the current line */
	size_t tids_cap;
	z_stream z;
	int z_ready;
};

struct sq_writer {
	FILE *f;
	int kind, mode;
	unsigned char *buf;		/* record being assembled */
	size_t cap;
	unsigned char *zbuf;		/* its compressed payload */
	size_t zcap;
	struct sbuf text;
	z_stream z;
	int z_ready;
	uint64_t last_key;		/* of the last record written */
	int unflushed;			/* records after the last flush */
};

/* Little-endian fields. */
static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8 & 0xff;
	p[2] = v >> 16 & 0xff;
	p[3] = v >> 24;
}

static void
put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static float
getf32(const unsigned char *p)
{
	uint32_t u = get32(p);
	float f;

	memcpy(&f, &u, 4);
	return f;
}

static void
putf32(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	put32(p, u);
}

#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_LE 0
static void
swap32s(void *v, size_t n)
{
	uint32_t *u = v;

	for (size_t i = 0; i < n; i++)
		u[i] = __builtin_bswap32(u[i]);
}
#else
#define HOST_LE 1
#define swap32s(v, n) ((void)(v), (void)(n))
#endif

/* n 4-byte values from host order at src to little-endian at dst. */
static void
put_arr32(unsigned char *dst, const void *src, size_t n)
{
	if (n)
		memcpy(dst, src, 4 * n);
	swap32s(dst, n);
}

static uint32_t
crc(uint32_t c, const unsigned char *p, size_t n)
{
	return (uint32_t)crc32(c, p, (uInt)n);
}

/* ---- reader ---- */

/* sq_inbuf_fill() with the error message: bytes available, or -1. */
static long long
fill(struct sq_reader *r, size_t need)
{
	long long got = sq_inbuf_fill(&r->in, need);

	if (got < 0)
		sq_seterr("%s: read error: %s", r->name, strerror(errno));
	return got;
}

/* The scratch buffer, at least n bytes; a growing one keeps its bytes. */
static unsigned char *
scratch(struct sq_reader *r, size_t n)
{
	if (r->scratch_cap < n || !r->scratch) {
		r->scratch_cap = n > 4096 ? n : 4096;
		r->scratch = sq_realloc(r->scratch, r->scratch_cap);
	}
	return r->scratch;
}

static const char *
kind_name(int kind)
{
	switch (kind) {
	case SQ_STREAM_TOKENS: return "tokens";
	case SQ_STREAM_MEMORY: return "memory";
	case SQ_STREAM_FRAMES: return "frames";
	case SQ_STREAM_SOURCE: return "tokens or frames";
	default: return "unknown";
	}
}

/*
 * Error about the header at buf[pos]: the first one is "header", a later
 * one (concatenation) names the record it stands before.
 */
static int
hdr_err(struct sq_reader *r, const char *what)
{
	if (r->info.major == 0)
		sq_seterr("%s: header: %s", r->name, what);
	else
		sq_seterr("%s: record %llu: header of a concatenated stream: %s",
		    r->name, (unsigned long long)r->n_rec, what);
	r->failed = 1;
	return -1;
}

static int
rec_err(struct sq_reader *r, uint64_t key, const char *what)
{
	sq_seterr("%s: record %llu (key %llu): %s", r->name,
	    (unsigned long long)r->n_rec, (unsigned long long)key, what);
	r->failed = 1;
	return -1;
}

/* Copies a header string field with its length check. */
static int
hdr_str(char *dst, size_t dst_size, const unsigned char *p, size_t n)
{
	if (n >= dst_size)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return memchr(dst, '\0', n) ? -1 : 0;
}

/*
 * Reads the section header at buf[pos] (its first byte is NUL).  The
 * first one sets info; a later one must agree with it in kind and model.
 */
static int
read_header(struct sq_reader *r)
{
	char msg[512], id[sizeof(r->info.model_id)];
	char path[sizeof(r->info.model_path)];
	long long got = fill(r, FIXED_LEN);
	const unsigned char *p;
	uint32_t hdr_len, kind;
	uint16_t major, minor, id_len, path_len;

	if (got < 0)
		return r->failed = 1, -1;
	p = r->in.buf + r->in.pos;
	if (memcmp(p, SQ_STREAM_MAGIC, SQ_MIN((size_t)got, 4)) != 0)
		return hdr_err(r, "bad magic: not a seqpipe stream");
	if ((size_t)got < FIXED_LEN) {
		snprintf(msg, sizeof(msg), "truncated header (%lld of at "
		    "least %u bytes)", got, FIXED_LEN + 8);
		return hdr_err(r, msg);
	}
	major = get16(p + 4);
	minor = get16(p + 6);
	kind = get32(p + 8);
	hdr_len = get32(p + 12);
	if (major != SQ_STREAM_MAJOR) {
		snprintf(msg, sizeof(msg), "format version %u.%u, this reader "
		    "knows only major version %u", major, minor,
		    SQ_STREAM_MAJOR);
		return hdr_err(r, msg);
	}
	if (hdr_len < 4 || hdr_len > HDR_MAX) {
		snprintf(msg, sizeof(msg), "bad header length %u", hdr_len);
		return hdr_err(r, msg);
	}
	if ((got = fill(r, FIXED_LEN + hdr_len + 4)) < 0)
		return r->failed = 1, -1;
	p = r->in.buf + r->in.pos;
	if ((size_t)got < FIXED_LEN + hdr_len + 4) {
		snprintf(msg, sizeof(msg), "truncated header (%lld of %u "
		    "bytes)", got, FIXED_LEN + hdr_len + 4);
		return hdr_err(r, msg);
	}
	if (crc(0, p, FIXED_LEN + hdr_len) != get32(p + FIXED_LEN + hdr_len))
		return hdr_err(r, "bad CRC");
	id_len = get16(p + FIXED_LEN);
	if ((uint32_t)id_len + 4 > hdr_len)
		return hdr_err(r, "model id longer than the header");
	path_len = get16(p + FIXED_LEN + 2 + id_len);
	if ((uint32_t)id_len + path_len + 4 > hdr_len)
		return hdr_err(r, "model path longer than the header");
	if (hdr_str(id, sizeof(id), p + FIXED_LEN + 2, id_len) < 0)
		return hdr_err(r, "bad model id (too long or has a NUL)");
	if (hdr_str(path, sizeof(path), p + FIXED_LEN + 4 + id_len,
	    path_len) < 0)
		return hdr_err(r, "bad model path (too long or has a NUL)");
	if (kind != SQ_STREAM_TOKENS && kind != SQ_STREAM_MEMORY &&
	    kind != SQ_STREAM_FRAMES) {
		snprintf(msg, sizeof(msg), "unknown stream kind %u", kind);
		return hdr_err(r, msg);
	}
	if (r->info.major == 0) {
		if (r->want_kind && (int)kind != r->want_kind &&
		    !(r->want_kind == SQ_STREAM_SOURCE &&
		    kind != SQ_STREAM_MEMORY)) {
			snprintf(msg, sizeof(msg), "a %s stream, expected %s",
			    kind_name(kind), kind_name(r->want_kind));
			return hdr_err(r, msg);
		}
		r->info.kind = (int)kind;
		strcpy(r->info.model_id, id);
	} else {
		if ((int)kind != r->info.kind) {
			snprintf(msg, sizeof(msg), "a %s stream after a %s "
			    "stream", kind_name(kind), kind_name(r->info.kind));
			return hdr_err(r, msg);
		}
		if (strcmp(id, r->info.model_id) != 0) {
			snprintf(msg, sizeof(msg), "model \"%.200s\" after "
			    "model \"%.200s\"", id, r->info.model_id);
			return hdr_err(r, msg);
		}
		r->info.section++;
	}
	strcpy(r->info.model_path, path);
	r->info.major = major;
	r->info.minor = minor;
	r->in.pos += FIXED_LEN + hdr_len + 4;
	return 0;
}

/*
 * Inflates a stored zlib payload (raw_len, data) into scratch.  The
 * output buffer grows with what comes out, not to raw_len at once, so a
 * record that claims more than its data inflates to costs no more memory
 * than its data makes.
 */
static unsigned char *
inflate_payload(struct sq_reader *r, uint64_t key, const unsigned char *sp,
    uint32_t len, uint32_t *raw_len)
{
	char msg[256];
	unsigned char *out;
	size_t full, cap;
	int zr;

	if (len < 4)
		return rec_err(r, key, "compressed payload without raw_len"),
		    NULL;
	*raw_len = get32(sp);
	if (*raw_len > SQ_STREAM_MAX_LEN ||
	    (uint64_t)*raw_len > (uint64_t)(len - 4) * ZLIB_RATIO + 64) {
		snprintf(msg, sizeof(msg), "absurd raw_len %u for %u "
		    "compressed bytes", *raw_len, len - 4);
		return rec_err(r, key, msg), NULL;
	}
	if (!r->z_ready) {
		memset(&r->z, 0, sizeof(r->z));
		if (inflateInit(&r->z) != Z_OK)
			return rec_err(r, key, "zlib: inflateInit failed"),
			    NULL;
		r->z_ready = 1;
	} else
		inflateReset(&r->z);
	full = (size_t)*raw_len + 1;	/* one more to see an overlong one */
	cap = SQ_MIN(full, SQ_MAX(r->scratch_cap, 4 * (size_t)len + 4096));
	out = scratch(r, cap);
	r->z.next_in = (unsigned char *)sp + 4;
	r->z.avail_in = len - 4;
	r->z.next_out = out;
	r->z.avail_out = (uInt)cap;
	while ((zr = inflate(&r->z, Z_NO_FLUSH)) == Z_OK) {
		if (r->z.avail_out > 0)
			continue;	/* the input is used up: Z_BUF_ERROR next */
		if (cap == full)
			break;		/* more than raw_len */
		cap = SQ_MIN(full, 2 * cap);
		out = scratch(r, cap);
		r->z.next_out = out + r->z.total_out;
		r->z.avail_out = (uInt)(cap - r->z.total_out);
	}
	if (zr != Z_STREAM_END || r->z.total_out != *raw_len ||
	    r->z.avail_in != 0) {
		if (zr == Z_STREAM_END && r->z.avail_in != 0)
			snprintf(msg, sizeof(msg), "zlib: data after the "
			    "compressed stream");
		else if (zr == Z_STREAM_END || zr == Z_OK)
			snprintf(msg, sizeof(msg), "zlib: payload does not "
			    "inflate to raw_len %u bytes", *raw_len);
		else if (zr == Z_BUF_ERROR)	/* input ended early */
			snprintf(msg, sizeof(msg), "zlib: truncated compressed "
			    "data");
		else
			snprintf(msg, sizeof(msg), "zlib: %s", r->z.msg ?
			    r->z.msg : "corrupt data");
		return rec_err(r, key, msg), NULL;
	}
	return out;
}

/*
 * Bytes of a rows x cols float matrix, or len + 1 if that is more than the
 * len bytes of a payload (4 * rows * cols can overflow 64 bits).
 */
static uint64_t
floats_len(uint64_t rows, uint64_t cols, uint32_t len)
{
	if (cols && rows > ((uint64_t)len / 4) / cols)
		return (uint64_t)len + 1;
	return 4 * rows * cols;
}

/* 1 if no id is negative, else -1 with the error set. */
static int
check_ids(struct sq_reader *r, uint64_t key, const int32_t *ids, uint64_t n,
    const char *what)
{
	char msg[64];

	for (uint64_t i = 0; i < n; i++)
		if (ids[i] < 0) {
			snprintf(msg, sizeof(msg), "negative %s id %d", what,
			    ids[i]);
			return rec_err(r, key, msg);
		}
	return 1;
}

/*
 * The head of a matrix payload of len bytes (what: its kind), at least
 * min: rows, cols and a dtype at q, which must be SQ_DTYPE_F32.  1, or
 * -1 with the error set.
 */
static int
matrix_head(struct sq_reader *r, uint64_t key, const unsigned char *q,
    uint32_t len, uint32_t min, const char *what, uint64_t *rows,
    uint64_t *cols)
{
	char msg[64];
	uint32_t dtype;

	if (len < min) {
		snprintf(msg, sizeof(msg), "%s payload shorter than %u bytes",
		    what, min);
		return rec_err(r, key, msg);
	}
	*rows = get32(q);
	*cols = get32(q + 4);
	dtype = get32(q + 8);
	if (dtype != SQ_DTYPE_F32) {
		snprintf(msg, sizeof(msg), "unknown dtype %u", dtype);
		return rec_err(r, key, msg);
	}
	return 1;
}

/*
 * A payload of a head of fixed bytes and rows x cols floats must be len
 * bytes: 1, or -1 with the error naming it (what: its kind).
 */
static int
floats_fit(struct sq_reader *r, uint64_t key, uint32_t len, uint32_t head,
    uint64_t rows, uint64_t cols, const char *what)
{
	char msg[128];

	if (head + floats_len(rows, cols, len) == len)
		return 1;
	snprintf(msg, sizeof(msg), "%s payload of %u bytes for %llu x %llu "
	    "floats", what, len, (unsigned long long)rows,
	    (unsigned long long)cols);
	return rec_err(r, key, msg);
}

/* Fills rec from a checked raw payload p of len bytes (4-aligned). */
static int
decode(struct sq_reader *r, int kind, uint64_t key, unsigned char *p,
    uint32_t len, struct sq_record *rec)
{
	char msg[256];
	uint64_t n, rows, cols, need;

	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->key = key;
	rec->score = NAN;
	switch (kind) {
	case SQ_REC_TOKENS: {
		uint32_t tflags;

		if (len < 16)
			return rec_err(r, key, "tokens payload shorter than "
			    "16 bytes");
		n = get32(p + 8);
		tflags = get32(p + 12);
		if (tflags & ~(uint32_t)TFLAG_SCORES) {
			snprintf(msg, sizeof(msg), "unknown token flags 0x%x",
			    tflags);
			return rec_err(r, key, msg);
		}
		need = 16 + 4 * n * (tflags & TFLAG_SCORES ? 2 : 1);
		if (need != len) {
			snprintf(msg, sizeof(msg), "tokens payload of %u bytes "
			    "for %llu ids (%llu bytes)", len,
			    (unsigned long long)n, (unsigned long long)need);
			return rec_err(r, key, msg);
		}
		rec->rank = get32(p);
		rec->score = getf32(p + 4);
		rec->n_ids = (uint32_t)n;
		rec->ids = (int32_t *)(void *)(p + 16);
		swap32s(rec->ids, n);
		if (tflags & TFLAG_SCORES) {
			rec->token_scores = (float *)(void *)(p + 16 + 4 * n);
			swap32s(rec->token_scores, n);
		}
		return check_ids(r, key, rec->ids, n, "token");
	}
	case SQ_REC_MEMORY:
		if (matrix_head(r, key, p + 4, len, 16, "memory", &rows,
		    &cols) < 0)
			return -1;
		n = get32(p);
		need = 16 + 4 * n + floats_len(rows, cols, len);
		if (need != len) {
			snprintf(msg, sizeof(msg), "memory payload of %u bytes "
			    "for %llu ids and %llu x %llu floats", len,
			    (unsigned long long)n, (unsigned long long)rows,
			    (unsigned long long)cols);
			return rec_err(r, key, msg);
		}
		rec->n_src = (uint32_t)n;
		rec->src = (int32_t *)(void *)(p + 16);
		rec->rows = (uint32_t)rows;
		rec->cols = (uint32_t)cols;
		rec->data = (float *)(void *)(p + 16 + 4 * n);
		swap32s(rec->src, n);
		swap32s(rec->data, rows * cols);
		return check_ids(r, key, rec->src, n, "source");
	case SQ_REC_FRAMES:
		if (matrix_head(r, key, p, len, 12, "frames", &rows, &cols) < 0)
			return -1;
		if (cols == 0 && rows > 0) {
			snprintf(msg, sizeof(msg), "%llu frames of 0 values",
			    (unsigned long long)rows);
			return rec_err(r, key, msg);
		}
		if (floats_fit(r, key, len, 12, rows, cols, "frames") < 0)
			return -1;
		rec->rows = (uint32_t)rows;
		rec->cols = (uint32_t)cols;
		rec->data = (float *)(void *)(p + 12);
		swap32s(rec->data, rows * cols);
		return 1;
	case SQ_REC_ALIGN:
		if (len < 12)
			return rec_err(r, key, "alignment payload shorter than "
			    "12 bytes");
		rows = get32(p + 4);
		cols = get32(p + 8);
		if (floats_fit(r, key, len, 12, rows, cols, "alignment") < 0)
			return -1;
		rec->rank = get32(p);
		rec->rows = (uint32_t)rows;
		rec->cols = (uint32_t)cols;
		rec->data = (float *)(void *)(p + 12);
		swap32s(rec->data, rows * cols);
		return 1;
	}
	SQ_ASSERT(0);
	return -1;
}

/*
 * Does the caller get records of this kind?  Never one its stream kind
 * cannot hold, so a writer of the same kind takes every record read.
 */
static int
wanted(const struct sq_reader *r, int kind)
{
	if (r->info.kind == SQ_STREAM_MEMORY)
		return kind == SQ_REC_MEMORY;
	if (r->info.kind == SQ_STREAM_FRAMES)
		return kind == SQ_REC_FRAMES;
	return kind == SQ_REC_TOKENS || (kind == SQ_REC_ALIGN &&
	    r->want_kind == 0);
}

static int
next_binary(struct sq_reader *r, struct sq_record *rec)
{
	char msg[256];

	for (;;) {
		long long got = fill(r, HEAD_LEN);
		unsigned char *h, *sp, *p;
		uint32_t len, raw_len;
		uint64_t key;
		int kind, flags;

		if (got < 0)
			return r->failed = 1, -1;
		if (got == 0)
			return 0;
		h = r->in.buf + r->in.pos;
		if (h[0] == 0) {
			if (read_header(r) < 0)
				return -1;
			continue;
		}
		if ((size_t)got < HEAD_LEN) {
			snprintf(msg, sizeof(msg), "truncated record head (%lld "
			    "of %u bytes)", got, HEAD_LEN);
			sq_seterr("%s: record %llu: %s", r->name,
			    (unsigned long long)r->n_rec, msg);
			return r->failed = 1, -1;
		}
		kind = h[0];
		flags = h[1];
		len = get32(h + 4);
		key = get64(h + 8);
		if (len > SQ_STREAM_MAX_LEN) {
			snprintf(msg, sizeof(msg), "absurd payload length %u "
			    "(corrupt record head?)", len);
			return rec_err(r, key, msg);
		}
		if ((got = fill(r, HEAD_LEN + (size_t)len)) < 0)
			return r->failed = 1, -1;
		h = r->in.buf + r->in.pos;
		if ((size_t)got < HEAD_LEN + (size_t)len) {
			snprintf(msg, sizeof(msg), "truncated payload (%lld of "
			    "%u bytes)", got - HEAD_LEN, len);
			return rec_err(r, key, msg);
		}
		sp = h + HEAD_LEN;
		if (crc(crc(0, h, 16), sp, len) != get32(h + 16))
			return rec_err(r, key, "bad CRC");
		r->in.pos += HEAD_LEN + (size_t)len;
		if (!wanted(r, kind)) {
			r->n_rec++;
			continue;
		}
		if (flags & ~SQ_RECF_ZLIB) {
			snprintf(msg, sizeof(msg), "unknown record flags 0x%x",
			    flags);
			return rec_err(r, key, msg);
		}
		raw_len = len;
		if (flags & SQ_RECF_ZLIB) {
			if (!(p = inflate_payload(r, key, sp, len, &raw_len)))
				return -1;
		} else if (!HOST_LE || ((uintptr_t)sp & 3) != 0) {
			p = memcpy(scratch(r, len), sp, len);
		} else
			p = sp;
		if (decode(r, kind, key, p, raw_len, rec) < 0)
			return -1;
		r->n_rec++;
		return 1;
	}
}

/*
 * Looks at the units (headers, records) buffered from buf[pos + *at] on,
 * without using them up, for sq_stream_wait().  Returns 1 at a record
 * next_binary() hands out, or at bytes it fails on at once; 0 when the
 * buffer ends before the next whole unit, with *at where that unit
 * starts and *need the bytes from pos that would complete its head or
 * itself.  Sets *paused at a flush record, and leaves it at records the
 * reader skips: those do not end the writer's pause.
 */
static int
scan(const struct sq_reader *r, size_t *at, size_t *need, int *paused)
{
	for (;;) {
		const unsigned char *p = r->in.buf + r->in.pos + *at;
		size_t avail = r->in.end - r->in.pos - *at, len, head;

		head = avail > 0 && p[0] == 0 ? FIXED_LEN : HEAD_LEN;
		if (avail < head) {
			*need = *at + head;
			return 0;
		}
		if (p[0] == 0) {
			uint32_t hdr_len = get32(p + 12);
			if (memcmp(p, SQ_STREAM_MAGIC, 4) != 0 || hdr_len < 4 ||
			    hdr_len > HDR_MAX)
				return 1;
			len = FIXED_LEN + hdr_len + 4;
		} else {
			uint32_t n = get32(p + 4);
			if (n > SQ_STREAM_MAX_LEN)
				return 1;
			len = HEAD_LEN + n;
		}
		if (avail < len) {
			*need = *at + len;
			return 0;
		}
		if (p[0] != 0 && wanted(r, p[0]))
			return 1;
		if (p[0] == SQ_REC_FLUSH)
			*paused = 1;
		*at += len;
	}
}

/* Shows a bad token safely: at most 32 bytes, unprintables as \xNN. */
static void
show_token(char *dst, size_t size, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < 32 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"')
			dst[o++] = (char)c;
		else
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", c);
	}
	if (n > 32 && o + 4 < size)
		o += (size_t)snprintf(dst + o, size - o, "...");
	dst[o] = '\0';
}

/* Parses one line of text ids [s, s + n) into r->tids. */
static int
parse_ids(struct sq_reader *r, const char *s, size_t n, uint32_t *n_ids)
{
	size_t i = 0, k = 0;

	if (!r->tids)	/* never NULL, even for an empty record */
		r->tids = sq_reallocarray(NULL, r->tids_cap = 256, 4);
	for (;;) {
		while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		if (i == n)
			break;
		size_t start = i;
		uint64_t v = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9' && v <= INT32_MAX)
			v = v * 10 + (uint64_t)(s[i++] - '0');
		if (i == start || v > INT32_MAX || (i < n && s[i] != ' ' &&
		    s[i] != '\t' && s[i] != '\r')) {
			char tok[200];
			size_t e = i;
			while (e < n && s[e] != ' ' && s[e] != '\t' &&
			    s[e] != '\r')
				e++;
			show_token(tok, sizeof(tok), s + start, e - start);
			sq_seterr("%s: line %llu (key %llu): bad token id "
			    "\"%s\" (ids are integers 0 to 2147483647)",
			    r->name, (unsigned long long)r->n_rec + 1,
			    (unsigned long long)r->n_rec, tok);
			return r->failed = 1, -1;
		}
		if (k == r->tids_cap)
			r->tids = sq_reallocarray(r->tids, r->tids_cap *= 2, 4);
		r->tids[k++] = (int32_t)v;
	}
	*n_ids = (uint32_t)k;
	return 0;
}

static int
next_text(struct sq_reader *r, struct sq_record *rec)
{
	size_t len;
	char *line;

	switch (sq_inbuf_line(&r->in, SQ_STREAM_MAX_LEN - 1, &line, &len)) {
	case 0:
		return 0;
	case -1:
		sq_seterr("%s: read error: %s", r->name, strerror(errno));
		return r->failed = 1, -1;
	case -2:
		sq_seterr("%s: line %llu (key %llu): line longer than %u bytes",
		    r->name, (unsigned long long)r->n_rec + 1,
		    (unsigned long long)r->n_rec, SQ_STREAM_MAX_LEN);
		return r->failed = 1, -1;
	}
	memset(rec, 0, sizeof(*rec));
	if (parse_ids(r, line, len, &rec->n_ids) < 0)
		return -1;
	rec->kind = SQ_REC_TOKENS;
	rec->key = r->n_rec++;
	rec->score = NAN;
	rec->ids = r->tids;
	return 1;
}

struct sq_reader *
sq_stream_fopen(FILE *f, const char *name, int want_kind)
{
	struct sq_reader *r = sq_calloc(1, sizeof(*r));
	long long got;

	r->in.fd = fileno(f);
	r->name = sq_strdup(name);
	r->want_kind = want_kind;
	/* an empty input: a stream of the kind wanted, tokens if either */
	r->info.kind = want_kind == SQ_STREAM_SOURCE ? SQ_STREAM_TOKENS :
	    want_kind;
	if ((got = fill(r, 1)) < 0)
		goto fail;
	if (got > 0 && r->in.buf[r->in.pos] != 0) {
		if (want_kind == SQ_STREAM_MEMORY ||
		    want_kind == SQ_STREAM_FRAMES) {
			sq_seterr("%s: header: text, expected a %s stream",
			    name, kind_name(want_kind));
			goto fail;
		}
		r->info.is_text = 1;
		r->info.kind = SQ_STREAM_TOKENS;
	} else if (got > 0 && read_header(r) < 0)
		goto fail;
	return r;
fail:
	sq_stream_close(r);
	return NULL;
}

struct sq_reader *
sq_stream_open(const char *path, int want_kind)
{
	const char *name = sq_input_name(path);
	FILE *f = sq_fopen_input(path);
	struct sq_reader *r;

	if (!f) {
		sq_seterr("%s: %s", name, strerror(errno));
		return NULL;
	}
	r = sq_stream_fopen(f, name, want_kind);
	if (f != stdin) {
		if (r)
			r->own = f;
		else
			fclose(f);
	}
	return r;
}

const struct sq_stream_info *
sq_stream_info(const struct sq_reader *r)
{
	return &r->info;
}

int
sq_stream_check_model(const struct sq_reader *r, const char *model_id)
{
	const char *id = r->info.model_id;

	if (!id[0] || !model_id || strcmp(id, model_id) == 0)
		return 0;
	sq_seterr("%s: header: stream of model \"%.200s\" (%.1000s), not "
	    "\"%.200s\"", r->name, id, r->info.model_path[0] ?
	    r->info.model_path : "no path", model_id);
	return -1;
}

int
sq_stream_next(struct sq_reader *r, struct sq_record *rec)
{
	if (r->failed)
		return -1;
	return r->info.is_text ? next_text(r, rec) : next_binary(r, rec);
}

int
sq_stream_wait(struct sq_reader *r)
{
	size_t at = 0, need = 1;
	int paused = 0;

	if (r->failed)
		return 0;
	if (r->info.is_text)
		return !sq_inbuf_line_ready(&r->in);
	for (;;) {
		if (scan(r, &at, &need, &paused) || r->in.eof)
			return 0;
		switch (sq_inbuf_poll(&r->in, need)) {
		case 1:
			continue;
		case -1:
			return 0;	/* next() meets the error */
		}
		if (paused)
			return 1;
		/* the writer is busy: wait for the unit it is writing */
		if (sq_inbuf_fill(&r->in, need) < 0)
			return 0;
	}
}

void
sq_stream_close(struct sq_reader *r)
{
	if (!r)
		return;
	if (r->own)
		fclose(r->own);
	if (r->z_ready)
		inflateEnd(&r->z);
	free(r->name);
	sq_inbuf_free(&r->in);
	free(r->scratch);
	free(r->tids);
	free(r);
}

/* ---- text form ---- */

static void
sb_reserve(struct sbuf *b, size_t n)
{
	if (b->cap - b->len < n) {
		b->cap = SQ_MAX(2 * b->cap, b->len + n);
		b->p = sq_realloc(b->p, b->cap);
	}
}

static void
sb_u64(struct sbuf *b, uint64_t v)
{
	char t[24];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	sb_reserve(b, (size_t)n);
	while (n)
		b->p[b->len++] = t[--n];
}

static void
sb_i32(struct sbuf *b, int32_t v)
{
	if (v < 0) {
		sb_reserve(b, 1);
		b->p[b->len++] = '-';
	}
	sb_u64(b, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

static void
sb_char(struct sbuf *b, char c)
{
	sb_reserve(b, 1);
	b->p[b->len++] = c;
}

/* The shortest %g that reads back as the same float. */
static void
sb_f32(struct sbuf *b, float x)
{
	char t[48];
	int n = 0;

	for (int prec = 6; prec <= 9; prec++) {
		n = snprintf(t, sizeof(t), "%.*g", prec, x);
		if (isnan(x) || strtof(t, NULL) == x)
			break;
	}
	sb_reserve(b, (size_t)n);
	memcpy(b->p + b->len, t, (size_t)n);
	b->len += (size_t)n;
}

static void
sb_ids(struct sbuf *b, const int32_t *ids, uint32_t n, int lead)
{
	for (uint32_t i = 0; i < n; i++) {
		if (i || lead)
			sb_char(b, ' ');
		sb_i32(b, ids[i]);
	}
}

/* The floats, each after a space (lead), or between spaces (not lead). */
static void
sb_floats(struct sbuf *b, const float *v, uint64_t n, int lead)
{
	for (uint64_t i = 0; i < n; i++) {
		if (i || lead)
			sb_char(b, ' ');
		sb_f32(b, v[i]);
	}
}

/* "TAG v v v": a verbose line's tag and its counts. */
static void
sb_tagged(struct sbuf *b, char tag, const uint64_t *v, int n)
{
	sb_char(b, tag);
	for (int i = 0; i < n; i++) {
		sb_char(b, ' ');
		sb_u64(b, v[i]);
	}
}

/* Appends the text form of rec (see sq_record_print) to b. */
static void
format_record(struct sbuf *b, const struct sq_record *rec, int verbose)
{
	uint64_t n_data = (uint64_t)rec->rows * rec->cols;

	switch (rec->kind) {
	case SQ_REC_TOKENS:
		if (!verbose) {
			sb_ids(b, rec->ids, rec->n_ids, 0);
			break;
		}
		sb_tagged(b, 'T', (uint64_t[]){ rec->key, rec->rank }, 2);
		sb_char(b, ' ');
		sb_f32(b, rec->score);
		sb_ids(b, rec->ids, rec->n_ids, 1);
		if (rec->token_scores) {
			sb_char(b, ' ');
			sb_char(b, '|');
			sb_floats(b, rec->token_scores, rec->n_ids, 1);
		}
		break;
	case SQ_REC_MEMORY:
		sb_tagged(b, 'M', (uint64_t[]){ rec->key, rec->n_src, rec->rows,
		    rec->cols }, 4);
		sb_ids(b, rec->src, rec->n_src, 1);
		sb_floats(b, rec->data, n_data, 1);
		break;
	case SQ_REC_FRAMES:
		if (verbose)
			sb_tagged(b, 'F', (uint64_t[]){ rec->key, rec->rows,
			    rec->cols }, 3);
		sb_floats(b, rec->data, n_data, verbose);
		break;
	case SQ_REC_ALIGN:
		sb_tagged(b, 'A', (uint64_t[]){ rec->key, rec->rank, rec->rows,
		    rec->cols }, 4);
		sb_floats(b, rec->data, n_data, 1);
		break;
	default:
		SQ_ASSERT(!"record kind this library does not know");
	}
	sb_char(b, '\n');
}

static int
write_out(FILE *f, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, f) != n) {
		sq_seterr("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sq_record_print(FILE *f, const struct sq_record *rec, int verbose)
{
	struct sbuf b = { 0 };
	int ret;

	format_record(&b, rec, verbose);
	ret = write_out(f, b.p, b.len);
	free(b.p);
	return ret;
}

/* ---- writer ---- */

struct sq_writer *
sq_writer_open(FILE *f, int kind, const char *model_id,
    const char *model_path, int mode)
{
	size_t id_len = model_id ? strlen(model_id) : 0;
	size_t path_len = model_path ? strlen(model_path) : 0;
	struct sq_writer *w;
	unsigned char *h;
	size_t hdr_len = 4 + id_len + path_len;

	SQ_ASSERT(kind == SQ_STREAM_TOKENS || kind == SQ_STREAM_MEMORY ||
	    kind == SQ_STREAM_FRAMES);
	if (mode != SQ_WRITE_TEXT && isatty(fileno(f))) {
		sq_seterr("will not write a binary stream to a terminal "
		    "(redirect it, or use --text)");
		return NULL;
	}
	if (id_len >= sizeof(((struct sq_stream_info *)0)->model_id)) {
		sq_seterr("model id longer than 255 bytes");
		return NULL;
	}
	if (path_len >= sizeof(((struct sq_stream_info *)0)->model_path)) {
		sq_seterr("model path longer than 4095 bytes");
		return NULL;
	}
	w = sq_calloc(1, sizeof(*w));
	w->f = f;
	w->kind = kind;
	w->mode = mode;
	if (mode == SQ_WRITE_TEXT)
		return w;
	w->cap = FIXED_LEN + hdr_len + 4;
	h = w->buf = sq_malloc(w->cap);
	memcpy(h, SQ_STREAM_MAGIC, 4);
	put16(h + 4, SQ_STREAM_MAJOR);
	put16(h + 6, SQ_STREAM_MINOR);
	put32(h + 8, (uint32_t)kind);
	put32(h + 12, (uint32_t)hdr_len);
	put16(h + 16, (uint16_t)id_len);
	if (id_len)
		memcpy(h + 18, model_id, id_len);
	put16(h + 18 + id_len, (uint16_t)path_len);
	if (path_len)
		memcpy(h + 20 + id_len, model_path, path_len);
	put32(h + FIXED_LEN + hdr_len, crc(0, h, FIXED_LEN + hdr_len));
	if (write_out(f, h, FIXED_LEN + hdr_len + 4) < 0) {
		sq_writer_close(w);
		return NULL;
	}
	return w;
}

/* Deflates w->buf's payload of len bytes into w->zbuf; its stored size. */
static size_t
deflate_payload(struct sq_writer *w, size_t len)
{
	size_t bound;

	if (!w->z_ready) {
		if (deflateInit2(&w->z, ZLIB_LEVEL, Z_DEFLATED, 15, 8,
		    w->kind != SQ_STREAM_TOKENS ? Z_HUFFMAN_ONLY :
		    Z_DEFAULT_STRATEGY) != Z_OK)
			return 0;
		w->z_ready = 1;
	} else
		deflateReset(&w->z);
	bound = HEAD_LEN + 4 + deflateBound(&w->z, (uLong)len);
	if (w->zcap < bound) {
		free(w->zbuf);
		w->zbuf = sq_malloc(w->zcap = bound);
	}
	w->z.next_in = w->buf + HEAD_LEN;
	w->z.avail_in = (uInt)len;
	w->z.next_out = w->zbuf + HEAD_LEN + 4;
	w->z.avail_out = (uInt)(bound - HEAD_LEN - 4);
	if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
		return 0;
	put32(w->zbuf + HEAD_LEN, (uint32_t)len);
	return 4 + w->z.total_out;
}

/*
 * Completes the head of the record at out (its payload of len bytes
 * follows the head) and writes it out.
 */
static int
put_record(struct sq_writer *w, unsigned char *out, int kind, int flags,
    size_t len, uint64_t key)
{
	out[0] = (unsigned char)kind;
	out[1] = (unsigned char)flags;
	put16(out + 2, 0);
	put32(out + 4, (uint32_t)len);
	put64(out + 8, key);
	put32(out + 16, crc(crc(0, out, 16), out + HEAD_LEN, len));
	w->last_key = key;
	w->unflushed = kind != SQ_REC_FLUSH;
	return write_out(w->f, out, HEAD_LEN + len);
}

int
sq_stream_write(struct sq_writer *w, const struct sq_record *rec)
{
	uint64_t n_data = (uint64_t)rec->rows * rec->cols, len;
	unsigned char *p, *out;
	int flags = 0;

	if (w->mode == SQ_WRITE_TEXT) {
		w->text.len = 0;
		format_record(&w->text, rec, 0);
		return write_out(w->f, w->text.p, w->text.len);
	}
	switch (rec->kind) {
	case SQ_REC_TOKENS:
		SQ_ASSERT(w->kind == SQ_STREAM_TOKENS);
		len = 16 + 4 * (uint64_t)rec->n_ids *
		    (rec->token_scores ? 2 : 1);
		break;
	case SQ_REC_MEMORY:
		SQ_ASSERT(w->kind == SQ_STREAM_MEMORY);
		len = 16 + 4 * (uint64_t)rec->n_src + 4 * n_data;
		break;
	case SQ_REC_FRAMES:
		SQ_ASSERT(w->kind == SQ_STREAM_FRAMES);
		SQ_ASSERT(rec->cols > 0 || rec->rows == 0);
		len = 12 + 4 * n_data;
		break;
	case SQ_REC_ALIGN:
		SQ_ASSERT(w->kind == SQ_STREAM_TOKENS);
		len = 12 + 4 * n_data;
		break;
	default:
		SQ_ASSERT(!"record kind this library does not know");
		return -1;
	}
	if (len > SQ_STREAM_MAX_LEN) {
		sq_seterr("record (key %llu) of %llu bytes, more than the "
		    "format allows", (unsigned long long)rec->key,
		    (unsigned long long)len);
		return -1;
	}
	if (w->cap < HEAD_LEN + len) {
		free(w->buf);
		w->buf = sq_malloc(w->cap = HEAD_LEN + len);
	}
	p = w->buf + HEAD_LEN;
	switch (rec->kind) {
	case SQ_REC_TOKENS:
		put32(p, rec->rank);
		putf32(p + 4, rec->score);
		put32(p + 8, rec->n_ids);
		put32(p + 12, rec->token_scores ? TFLAG_SCORES : 0);
		put_arr32(p + 16, rec->ids, rec->n_ids);
		if (rec->token_scores)
			put_arr32(p + 16 + 4 * (size_t)rec->n_ids,
			    rec->token_scores, rec->n_ids);
		break;
	case SQ_REC_MEMORY:
		put32(p, rec->n_src);
		put32(p + 4, rec->rows);
		put32(p + 8, rec->cols);
		put32(p + 12, SQ_DTYPE_F32);
		put_arr32(p + 16, rec->src, rec->n_src);
		put_arr32(p + 16 + 4 * (size_t)rec->n_src, rec->data, n_data);
		break;
	case SQ_REC_FRAMES:
		put32(p, rec->rows);
		put32(p + 4, rec->cols);
		put32(p + 8, SQ_DTYPE_F32);
		put_arr32(p + 12, rec->data, n_data);
		break;
	case SQ_REC_ALIGN:
		put32(p, rec->rank);
		put32(p + 4, rec->rows);
		put32(p + 8, rec->cols);
		put_arr32(p + 12, rec->data, n_data);
		break;
	}
	out = w->buf;
	if (w->mode == SQ_WRITE_ZLIB) {
		size_t zlen = deflate_payload(w, (size_t)len);
		if (zlen == 0) {
			sq_seterr("zlib: deflate failed");
			return -1;
		}
		if (zlen < len) {	/* else stored raw: the flag is per record */
			out = w->zbuf;
			len = zlen;
			flags = SQ_RECF_ZLIB;
		}
	}
	return put_record(w, out, rec->kind, flags, (size_t)len, rec->key);
}

int
sq_writer_flush(struct sq_writer *w)
{
	if (fflush(w->f) != 0) {
		sq_seterr("write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
sq_writer_pause(struct sq_writer *w)
{
	unsigned char head[HEAD_LEN];

	if (w->mode != SQ_WRITE_TEXT && w->unflushed &&
	    put_record(w, head, SQ_REC_FLUSH, 0, 0, w->last_key) < 0)
		return -1;
	w->unflushed = 0;
	return sq_writer_flush(w);
}

void
sq_writer_close(struct sq_writer *w)
{
	if (!w)
		return;
	if (w->z_ready)
		deflateEnd(&w->z);
	free(w->buf);
	free(w->zbuf);
	free(w->text.p);
	free(w);
}
