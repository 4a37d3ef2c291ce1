/*
 * test_stream: lib/stream round trips through a tmpfile: every record kind
 * (tokens, memory, frames, alignment), raw and zlib, per-token scores, borrowed pointers across calls,
 * concatenated sections, text ids input and the text forms; through a
 * pipe, what streaming asks: flush records, and when the input pauses.
 * TAP output.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/stream.h"
#include "tap.h"

/* Deterministic test data: record i of a stream. */
static int32_t ids[64], src[64];
static float scores[64], data[64 * 24];

static void
make_tokens(struct sq_record *rec, uint64_t key, uint32_t n, int with_scores)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = SQ_REC_TOKENS;
	rec->key = key;
	rec->rank = (uint32_t)(key % 3);
	rec->score = key % 2 ? -1.25f * (float)key : NAN;
	rec->n_ids = n;
	for (uint32_t i = 0; i < n; i++) {
		ids[i] = (int32_t)(key * 1000 + i * 7);
		scores[i] = -0.5f * (float)i - 1.0f / 3;
	}
	rec->ids = ids;
	rec->token_scores = with_scores ? scores : NULL;
}

static void
make_memory(struct sq_record *rec, uint64_t key, uint32_t n)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = SQ_REC_MEMORY;
	rec->key = key;
	rec->n_src = n;
	rec->rows = n;
	rec->cols = 24;
	for (uint32_t i = 0; i < n; i++)
		src[i] = (int32_t)(i + key);
	for (uint32_t i = 0; i < n * 24; i++)
		data[i] = sinf((float)(i + key)) * 3.0f;	/* compressible */
	rec->src = src;
	rec->data = data;
}

/* n frames of 24 values (the memory's data); 0 frames have width 0. */
static void
make_frames(struct sq_record *rec, uint64_t key, uint32_t n)
{
	make_memory(rec, key, n);
	rec->kind = SQ_REC_FRAMES;
	rec->n_src = 0;
	rec->src = NULL;
	rec->cols = n ? 24 : 0;
}

/* Record i of the round trip's stream of a kind. */
static void
make_record(struct sq_record *rec, int kind, int i)
{
	if (kind == SQ_STREAM_TOKENS) {
		make_tokens(rec, (uint64_t)i * 5, (uint32_t)(i % 9), i % 2);
		if (i == 7)
			rec->key = UINT64_MAX;
	} else if (kind == SQ_STREAM_FRAMES)
		make_frames(rec, (uint64_t)i, (uint32_t)(i % 5));
	else
		make_memory(rec, (uint64_t)i, (uint32_t)(i % 5));
}

static const char *
kind_name(int kind)
{
	return kind == SQ_STREAM_TOKENS ? "tokens" : kind == SQ_STREAM_MEMORY ?
	    "memory" : "frames";
}

static int
same_float(float a, float b)
{
	return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0;
}

static int
same_record(const struct sq_record *a, const struct sq_record *b)
{
	uint64_t n = (uint64_t)a->rows * a->cols;

	if (a->kind != b->kind || a->key != b->key)
		return 0;
	switch (a->kind) {
	case SQ_REC_TOKENS:
		if (a->rank != b->rank || !same_float(a->score, b->score) ||
		    a->n_ids != b->n_ids || !a->token_scores !=
		    !b->token_scores)
			return 0;
		if (a->n_ids && memcmp(a->ids, b->ids, 4 * a->n_ids))
			return 0;
		if (a->token_scores && a->n_ids && memcmp(a->token_scores,
		    b->token_scores, 4 * a->n_ids))
			return 0;
		return 1;
	case SQ_REC_MEMORY:
		return a->n_src == b->n_src && a->rows == b->rows &&
		    a->cols == b->cols && (!a->n_src || !memcmp(a->src, b->src,
		    4 * a->n_src)) && (!n || !memcmp(a->data, b->data, 4 * n));
	case SQ_REC_FRAMES:
		return a->rows == b->rows && a->cols == b->cols && (!n ||
		    !memcmp(a->data, b->data, 4 * n));
	case SQ_REC_ALIGN:
		return a->rank == b->rank && a->rows == b->rows &&
		    a->cols == b->cols && (!n || !memcmp(a->data, b->data,
		    4 * n));
	}
	return 0;
}

/* Writes n records of a kind in a mode, reads them back and compares. */
static void
round_trip(int kind, int mode)
{
	const char *mname = mode == SQ_WRITE_ZLIB ? "zlib" : "raw";
	FILE *f = tmpfile();
	struct sq_writer *w = sq_writer_open(f, kind, "model-A", "/m/a.sqm",
	    mode);
	struct sq_reader *r;
	struct sq_record rec, got;
	int n = 40, good = 1, rc;

	ok(w != NULL, "%s writer opens on a file (%s)", kind_name(kind),
	    mname);
	for (int i = 0; i < n; i++) {
		make_record(&rec, kind, i);
		good &= sq_stream_write(w, &rec) == 0;
		if (kind == SQ_STREAM_TOKENS && i % 10 == 3) {
			struct sq_record a = { .kind = SQ_REC_ALIGN, .key = 99,
			    .rank = 2, .rows = 3, .cols = 4, .data = data };
			good &= sq_stream_write(w, &a) == 0;
		}
	}
	sq_writer_close(w);
	ok(good, "%d records written", n);
	rewind(f);
	r = sq_stream_fopen(f, "tmp", kind);
	ok(r != NULL, "reader opens");
	ok(!strcmp(sq_stream_info(r)->model_id, "model-A") &&
	    !strcmp(sq_stream_info(r)->model_path, "/m/a.sqm") &&
	    sq_stream_info(r)->kind == kind && !sq_stream_info(r)->is_text,
	    "header read back");
	good = 1;
	for (int i = 0; i < n; i++) {
		make_record(&rec, kind, i);
		rc = sq_stream_next(r, &got);
		if (rc != 1 || !same_record(&rec, &got) || (kind ==
		    SQ_STREAM_TOKENS ? !got.ids : kind == SQ_STREAM_MEMORY ?
		    !got.src || !got.data : !got.data)) {
			good = 0;
			printf("# record %d differs (rc %d)\n", i, rc);
			break;
		}
	}
	ok(good, "records read back equal, alignment records skipped");
	ok(sq_stream_next(r, &got) == 0, "then EOF");
	ok(sq_stream_next(r, &got) == 0, "EOF again");
	sq_stream_close(r);

	if (kind == SQ_STREAM_TOKENS) {
		int n_align = 0;

		rewind(f);
		r = sq_stream_fopen(f, "tmp", 0);
		while ((rc = sq_stream_next(r, &got)) == 1)
			if (got.kind == SQ_REC_ALIGN)
				n_align += got.rank == 2 && got.rows == 3 &&
				    got.cols == 4 && !memcmp(got.data, data,
				    48);
		ok(rc == 0 && n_align == 4, "a viewer (want 0) gets the "
		    "alignment records (%s)", mname);
		sq_stream_close(r);
	}
	fclose(f);
}

/*
 * SQ_STREAM_SOURCE reads tokens or frames streams, and refuses memory;
 * each kind reader refuses the others, naming both kinds.
 */
static void
source_kind(void)
{
	static const int kinds[] = { SQ_STREAM_TOKENS, SQ_STREAM_MEMORY,
	    SQ_STREAM_FRAMES };
	struct sq_record rec;

	for (int i = 0; i < 3; i++) {
		FILE *f = tmpfile();
		struct sq_writer *w = sq_writer_open(f, kinds[i], "m", "",
		    SQ_WRITE_BINARY);
		struct sq_reader *r;

		make_record(&rec, kinds[i], 3);
		sq_stream_write(w, &rec);
		sq_writer_close(w);
		rewind(f);
		r = sq_stream_fopen(f, "f", SQ_STREAM_SOURCE);
		if (kinds[i] == SQ_STREAM_MEMORY)
			ok(r == NULL && !strcmp(sq_errstr(), "f: header: a "
			    "memory stream, expected tokens or frames"),
			    "a source reader refuses memory: %s", sq_errstr());
		else
			ok(r && sq_stream_info(r)->kind == kinds[i] &&
			    sq_stream_next(r, &rec) == 1 && rec.kind ==
			    (kinds[i] == SQ_STREAM_TOKENS ? SQ_REC_TOKENS :
			    SQ_REC_FRAMES), "a source reader reads %s",
			    kind_name(kinds[i]));
		sq_stream_close(r);
		rewind(f);
		r = sq_stream_fopen(f, "f", kinds[(i + 1) % 3]);
		ok(r == NULL && strstr(sq_errstr(), kind_name(kinds[i])) &&
		    strstr(sq_errstr(), kind_name(kinds[(i + 1) % 3])),
		    "a %s reader refuses %s: %s", kind_name(kinds[(i + 1) % 3]),
		    kind_name(kinds[i]), sq_errstr());
		fclose(f);
	}
}

/* Pointers from sq_stream_next stay valid until the next call. */
static void
borrowed(void)
{
	FILE *f = tmpfile();
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_MEMORY, "", "", 0);
	struct sq_reader *r;
	struct sq_record rec, a;
	float first[24 * 4];
	int rc, good = 1;

	for (int i = 0; i < 300; i++) {
		make_memory(&rec, (uint64_t)i, 4);
		sq_stream_write(w, &rec);
	}
	sq_writer_close(w);
	rewind(f);
	r = sq_stream_fopen(f, "tmp", SQ_STREAM_MEMORY);
	for (int i = 0; (rc = sq_stream_next(r, &a)) == 1; i++) {
		make_memory(&rec, (uint64_t)i, 4);
		memcpy(first, a.data, sizeof(first));
		/* the record is intact after other work, before next */
		good &= same_record(&rec, &a) &&
		    !memcmp(first, a.data, sizeof(first)) &&
		    ((uintptr_t)a.data & 3) == 0 && ((uintptr_t)a.src & 3) == 0;
	}
	ok(rc == 0 && good, "borrowed record pointers aligned and valid "
	    "until the next call");
	sq_stream_close(r);
	fclose(f);
}

/* A record larger than the reader's first buffer, between small ones. */
static void
big_record(void)
{
	FILE *f = tmpfile();
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_MEMORY, "", "", 0);
	struct sq_record rec = { .kind = SQ_REC_MEMORY, .rows = 700,
	    .cols = 1024 }, got;
	float *big = sq_malloc(700 * 1024 * sizeof(float));
	int good;

	for (int i = 0; i < 700 * 1024; i++)
		big[i] = (float)i;
	rec.data = big;
	for (int i = 0; i < 3; i++) {
		rec.key = (uint64_t)i;
		rec.rows = i == 1 ? 700 : 1;
		sq_stream_write(w, &rec);
	}
	sq_writer_close(w);
	rewind(f);
	struct sq_reader *r = sq_stream_fopen(f, "big", SQ_STREAM_MEMORY);
	good = sq_stream_next(r, &got) == 1 && got.rows == 1;
	good &= sq_stream_next(r, &got) == 1 && got.rows == 700 &&
	    got.key == 1 && !memcmp(got.data, big, 700 * 1024 * 4);
	good &= sq_stream_next(r, &got) == 1 && got.key == 2 &&
	    sq_stream_next(r, &got) == 0;
	ok(good, "a 2.8 MB record between small ones");
	sq_stream_close(r);
	free(big);
	fclose(f);
}

/* Two sections of one model read as one stream; of two models, fail. */
static void
concatenation(void)
{
	FILE *f = tmpfile();
	struct sq_reader *r;
	struct sq_record rec;
	int rc, n = 0;

	for (int s = 0; s < 3; s++) {
		struct sq_writer *w = sq_writer_open(f, SQ_STREAM_TOKENS,
		    s == 2 ? "other" : "m", s ? "/p2" : "/p1",
		    s ? SQ_WRITE_ZLIB : SQ_WRITE_BINARY);
		make_tokens(&rec, (uint64_t)s, 3, 0);
		sq_stream_write(w, &rec);
		if (s == 0) {
			sq_writer_close(w);	/* an empty section too */
			w = sq_writer_open(f, SQ_STREAM_TOKENS, "m", "", 0);
		}
		sq_writer_close(w);
	}
	rewind(f);
	r = sq_stream_fopen(f, "cat", SQ_STREAM_TOKENS);
	while ((rc = sq_stream_next(r, &rec)) == 1) {
		n++;
		ok(rec.key == (uint64_t)n - 1, "section %u record has key %d",
		    sq_stream_info(r)->section, n - 1);
	}
	ok(n == 2 && sq_stream_info(r)->section == 2 &&
	    !strcmp(sq_stream_info(r)->model_path, "/p2"),
	    "two sections of one model read as one stream");
	ok(rc == -1 && strstr(sq_errstr(), "cat: record 2: ") &&
	    strstr(sq_errstr(), "\"other\""), "a section of another model "
	    "is an error naming the record: %s", sq_errstr());
	ok(sq_stream_next(r, &rec) == -1, "and stays one");
	sq_stream_close(r);
	fclose(f);
}

static struct sq_reader *
reader_on(FILE *f, const char *bytes, size_t n, int kind)
{
	f = freopen(NULL, "w+b", f);
	fwrite(bytes, 1, n, f);
	rewind(f);
	return sq_stream_fopen(f, "txt", kind);
}

static void
text_ids(void)
{
	static const char in[] = "5 17 3\n\n  42\t7 \r\n0";
	FILE *f = tmpfile();
	struct sq_reader *r = reader_on(f, in, sizeof(in) - 1,
	    SQ_STREAM_TOKENS);
	struct sq_record rec;
	int rc;

	ok(r && sq_stream_info(r)->is_text, "text ids detected");
	rc = sq_stream_next(r, &rec);
	ok(rc == 1 && rec.key == 0 && rec.n_ids == 3 && rec.ids[0] == 5 &&
	    rec.ids[2] == 3 && isnan(rec.score), "line 1");
	rc = sq_stream_next(r, &rec);
	ok(rc == 1 && rec.key == 1 && rec.n_ids == 0 && rec.ids != NULL,
	    "empty line, empty record, ids not NULL");
	rc = sq_stream_next(r, &rec);
	ok(rc == 1 && rec.key == 2 && rec.n_ids == 2 && rec.ids[0] == 42 &&
	    rec.ids[1] == 7, "tabs, spaces, CR");
	rc = sq_stream_next(r, &rec);
	ok(rc == 1 && rec.key == 3 && rec.n_ids == 1 && rec.ids[0] == 0,
	    "last line without newline");
	ok(sq_stream_next(r, &rec) == 0, "EOF");
	sq_stream_close(r);

	r = reader_on(f, "1 2\n3 2147483648\n", 17, SQ_STREAM_TOKENS);
	sq_stream_next(r, &rec);
	ok(sq_stream_next(r, &rec) == -1 && !strcmp(sq_errstr(), "txt: line 2 "
	    "(key 1): bad token id \"2147483648\" (ids are integers 0 to "
	    "2147483647)"), "int32 overflow names the line");
	sq_stream_close(r);
	r = reader_on(f, "-1\n", 3, SQ_STREAM_TOKENS);
	ok(sq_stream_next(r, &rec) == -1 && strstr(sq_errstr(), "line 1 "),
	    "negative id: %s", sq_errstr());
	sq_stream_close(r);
	r = reader_on(f, "1 2\n", 4, SQ_STREAM_MEMORY);
	ok(r == NULL && strstr(sq_errstr(), "expected a memory stream"),
	    "text ids are no memory stream");
	r = reader_on(f, "1 2\n", 4, SQ_STREAM_FRAMES);
	ok(r == NULL && strstr(sq_errstr(), "expected a frames stream"),
	    "text ids are no frames stream");
	r = reader_on(f, "1 2\n", 4, SQ_STREAM_SOURCE);
	ok(r && sq_stream_info(r)->kind == SQ_STREAM_TOKENS &&
	    sq_stream_next(r, &rec) == 1 && rec.n_ids == 2,
	    "text ids are a source stream: tokens");
	sq_stream_close(r);
	r = reader_on(f, "", 0, SQ_STREAM_MEMORY);
	ok(r && sq_stream_next(r, &rec) == 0, "empty input: empty stream");
	sq_stream_close(r);
	r = reader_on(f, "", 0, SQ_STREAM_SOURCE);
	ok(r && sq_stream_info(r)->kind == SQ_STREAM_TOKENS &&
	    sq_stream_next(r, &rec) == 0, "empty source input: empty tokens "
	    "stream");
	sq_stream_close(r);
	fclose(f);
}

/* The next line of f is want. */
static void
line_is(FILE *f, const char *want, const char *what)
{
	char line[256] = "";

	ok(fgets(line, sizeof(line), f) && !strcmp(line, want), "%s", what);
}

static void
text_forms(void)
{
	FILE *f = tmpfile();
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_TOKENS, "m", "",
	    SQ_WRITE_TEXT);
	struct sq_record rec;
	int32_t two[2] = { -3, 2147483647 };
	float one[2] = { 0.1f, -2.5f };

	make_tokens(&rec, 1, 3, 1);
	sq_stream_write(w, &rec);
	rec.n_ids = 0;
	sq_stream_write(w, &rec);
	rec.n_ids = 2;
	rec.ids = two;
	rec.token_scores = one;
	rec.score = 1e-10f;
	sq_record_print(f, &rec, 1);
	sq_writer_close(w);
	rewind(f);
	line_is(f, "1000 1007 1014\n", "plain tokens");
	line_is(f, "\n", "plain empty record: empty line");
	line_is(f, "T 1 1 1e-10 -3 2147483647 | 0.1 -2.5\n",
	    "verbose tokens with scores");
	fclose(f);

	f = tmpfile();
	w = sq_writer_open(f, SQ_STREAM_FRAMES, "", "", SQ_WRITE_TEXT);
	rec = (struct sq_record){ .kind = SQ_REC_FRAMES, .key = 4, .rows = 2,
	    .cols = 2, .data = (float[]){ 0.5f, -1, 1e-3f, 2 } };
	sq_stream_write(w, &rec);
	sq_record_print(f, &rec, 1);
	rec.rows = rec.cols = 0;
	sq_stream_write(w, &rec);
	sq_writer_close(w);
	rewind(f);
	line_is(f, "0.5 -1 0.001 2\n", "plain frames: the values");
	line_is(f, "F 4 2 2 0.5 -1 0.001 2\n", "verbose frames");
	line_is(f, "\n", "plain empty frames: empty line");
	fclose(f);
}


/* The bytes of a tokens record of key key, as a writer puts them. */
static char *
record_bytes(uint64_t key, size_t *n)
{
	char *p = NULL, *rec;
	size_t len = 0;
	FILE *f = open_memstream(&p, &len);
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_TOKENS, "m", "", 0);
	struct sq_record r;
	long head;

	fflush(f);
	head = (long)len;
	make_tokens(&r, key, 4, 0);
	sq_stream_write(w, &r);
	sq_writer_close(w);
	fclose(f);
	*n = len - (size_t)head;
	rec = memcpy(malloc(*n), p + head, *n);
	free(p);
	return rec;
}

static void
pause_records(void)
{
	char *p = NULL;
	size_t len = 0, at;
	FILE *f = open_memstream(&p, &len);
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_TOKENS, "m", "", 0);
	struct sq_record rec;

	sq_writer_pause(w);
	at = len;
	ok(at > 0 && sq_writer_pause(w) == 0 && len == at,
	    "a pause before any record writes no flush record");
	make_tokens(&rec, 41, 2, 0);
	sq_stream_write(w, &rec);
	sq_writer_flush(w);
	at = len;
	sq_writer_pause(w);
	ok(len == at + 20 && p[at] == SQ_REC_FLUSH && p[at + 4] == 0 &&
	    p[at + 8] == 41, "a pause after a record: a flush record of 20 "
	    "bytes, payload 0, the record's key");
	sq_writer_pause(w);
	ok(len == at + 20, "and no second one until the next record");
	sq_writer_close(w);
	fclose(f);
	free(p);
}

/* A pipe's two ends as streams. */
static void
open_pipe(FILE **rf, FILE **wf)
{
	int fd[2];

	if (pipe(fd) < 0)
		abort();
	*rf = fdopen(fd[0], "rb");
	*wf = fdopen(fd[1], "wb");
}

/*
 * In a child: a record of key key (paused: a flush record instead) on w,
 * written while the parent waits (or before it does: the answer is the
 * same).  The parent's stdio buffer is empty at the fork.
 */
static pid_t
write_later(struct sq_writer *w, FILE *wf, uint64_t key, int paused)
{
	struct sq_record rec;
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	usleep(100000);
	make_tokens(&rec, key, 3, 0);
	if (paused)
		sq_writer_pause(w);
	else
		sq_stream_write(w, &rec);
	fflush(wf);
	_exit(0);
}

static void
wait_binary(void)
{
	struct sq_writer *w;
	struct sq_reader *r;
	struct sq_record rec;
	FILE *rf, *wf;
	size_t n;
	char *half = record_bytes(3, &n);
	pid_t pid;

	open_pipe(&rf, &wf);
	w = sq_writer_open(wf, SQ_STREAM_TOKENS, "m", "", 0);
	make_tokens(&rec, 0, 3, 0);
	sq_stream_write(w, &rec);
	sq_writer_flush(w);
	r = sq_stream_fopen(rf, "pipe", SQ_STREAM_TOKENS);
	ok(sq_stream_wait(r) == 0, "a record is there: 0 at once");
	ok(sq_stream_next(r, &rec) == 1 && rec.key == 0, "and read");
	pid = write_later(w, wf, 0, 1);
	ok(sq_stream_wait(r) == 1, "the writer was busy; its flush record, "
	    "when it comes, with nothing after it: 1 (paused)");
	waitpid(pid, NULL, 0);
	ok(sq_stream_wait(r) == 1, "and again, asked again");
	make_tokens(&rec, 1, 3, 0);
	sq_stream_write(w, &rec);
	sq_writer_flush(w);
	ok(sq_stream_wait(r) == 0, "a record after the flush record: 0");
	ok(sq_stream_next(r, &rec) == 1 && rec.key == 1,
	    "the flush record is skipped, the record read");
	pid = write_later(w, wf, 2, 0);
	ok(sq_stream_wait(r) == 0 && sq_stream_next(r, &rec) == 1 &&
	    rec.key == 2, "a record that comes while it waits: 0, and read");
	waitpid(pid, NULL, 0);
	sq_writer_pause(w);
	fwrite(half, 1, n / 2, wf);
	fflush(wf);
	ok(sq_stream_wait(r) == 1, "a flush record, then half a record: 1");
	fwrite(half + n / 2, 1, n - n / 2, wf);
	fflush(wf);
	ok(sq_stream_wait(r) == 0, "the rest of it comes: 0");
	ok(sq_stream_next(r, &rec) == 1 && rec.key == 3 && rec.n_ids == 4,
	    "and it reads whole");
	sq_writer_pause(w);
	sq_writer_close(w);
	fclose(wf);
	ok(sq_stream_wait(r) == 0, "the end of the input: 0");
	ok(sq_stream_next(r, &rec) == 0, "the end, after a flush record");
	sq_stream_close(r);
	fclose(rf);
	free(half);
}

static void
wait_text(void)
{
	struct sq_reader *r;
	struct sq_record rec;
	FILE *rf, *wf;

	open_pipe(&rf, &wf);
	fputs("1 2\n3", wf);
	fflush(wf);
	r = sq_stream_fopen(rf, "pipe", SQ_STREAM_TOKENS);
	ok(sq_stream_wait(r) == 0, "text ids: a whole line is there: 0");
	ok(sq_stream_next(r, &rec) == 1 && rec.n_ids == 2, "and read");
	ok(sq_stream_wait(r) == 1, "text ids: half a line and no more: 1 "
	    "at once (text has no flush records)");
	fputs(" 4\n", wf);
	fflush(wf);
	ok(sq_stream_wait(r) == 0, "the rest of the line comes: 0");
	ok(sq_stream_next(r, &rec) == 1 && rec.n_ids == 2 && rec.ids[1] == 4,
	    "and it reads whole");
	fclose(wf);
	ok(sq_stream_wait(r) == 0 && sq_stream_next(r, &rec) == 0,
	    "the end: 0");
	sq_stream_close(r);
	fclose(rf);
}

/* A file never pauses, flush records or not. */
static void
wait_file(void)
{
	FILE *f = tmpfile();
	struct sq_writer *w = sq_writer_open(f, SQ_STREAM_TOKENS, "m", "", 0);
	struct sq_reader *r;
	struct sq_record rec;
	int i, paused = 0, n = 0;

	for (i = 0; i < 5; i++) {
		make_tokens(&rec, (uint64_t)i, 3, 0);
		sq_stream_write(w, &rec);
		sq_writer_pause(w);
	}
	sq_writer_close(w);
	rewind(f);
	r = sq_stream_fopen(f, "file", SQ_STREAM_TOKENS);
	while (sq_stream_next(r, &rec) == 1) {
		ok(rec.kind == SQ_REC_TOKENS && rec.key == (uint64_t)n,
		    "file record %d", n);
		n++;
		paused |= sq_stream_wait(r);
	}
	ok(n == 5 && !paused, "a file with flush records: 5 records, never "
	    "paused");
	sq_stream_close(r);
	fclose(f);
}

int
main(void)
{
	round_trip(SQ_STREAM_TOKENS, SQ_WRITE_BINARY);
	round_trip(SQ_STREAM_TOKENS, SQ_WRITE_ZLIB);
	round_trip(SQ_STREAM_MEMORY, SQ_WRITE_BINARY);
	round_trip(SQ_STREAM_MEMORY, SQ_WRITE_ZLIB);
	round_trip(SQ_STREAM_FRAMES, SQ_WRITE_BINARY);
	round_trip(SQ_STREAM_FRAMES, SQ_WRITE_ZLIB);
	source_kind();
	borrowed();
	big_record();
	concatenation();
	text_ids();
	text_forms();
	pause_records();
	wait_binary();
	wait_text();
	wait_file();
	return tap_done();
}
