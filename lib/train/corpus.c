/*
 * corpus: the parallel corpus read and tokenized (corpus.h), and the
 * SentencePiece models trained on it.
 *
 * Reading: a reader hands out pairs (two files in step, or TSV lines cut
 * at their tab) with their line numbers, and checks what only a reader
 * can (the two files' line counts, a TSV line's tab).  Pairs go in batches
 * of BATCH_LINES to two lib/io/segment segmenters, one per side, which
 * run SentencePiece on the thread pool and hand the ids back in line
 * order, so the corpus does not depend on the number of threads.
 *
 * Invariants: pair i's source is ids[off[2i], off[2i+1]) and its target
 * ids[off[2i+1], off[2i+2]); both are non-empty, but for a corpus of
 * frames, whose sources are frames[foff[i] * dim, foff[i+1] * dim),
 * never empty, and whose source ids are; line[i] grows with i.
 *
 * Vocabulary sampling is Knuth's selection sampling (TAOCP 3.4.2,
 * Algorithm S): a first pass counts the N sentences, the second keeps
 * each with probability (n - taken) / (N - seen), which gives exactly n
 * of them, every n-subset alike, in file order, without holding any.  The
 * draws are splitmix64 from the seed, so the sample is the same on every
 * machine.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base/pool.h"
#include "base/util.h"
#include "io/segment.h"
#include "io/spm.h"
#include "io/stream.h"
#include "train/corpus.h"

#define BATCH_LINES 4096
#define BATCH_BYTES (4 << 20)

struct sq_corpus {
	int32_t *ids;		/* (n_ids) */
	size_t n_ids, cap_ids;
	size_t *off;		/* (2 * n + 1) */
	long *line;		/* (n) */
	long n, cap;
	/* a corpus of frames */
	float *frames;		/* (n_frames, dim) */
	size_t n_frames, cap_frames;
	size_t *foff;		/* (n + 1) first frame of each pair */
	long cap_foff;
	int dim, subsample;	/* dim 0: a corpus of ids */
};

/* ---- reading pairs ---- */

struct reader {
	const char *src, *tgt, *tsv;	/* names; tsv or the other two */
	FILE *fs, *ft;			/* ft: NULL for a TSV */
	char *bs, *bt;
	size_t cs, ct;
	long line;			/* of the pair last read, 1-based */
	/* the pair: borrowed until the next reader_next() */
	const char *s, *t;
	size_t sl, tl;
};

static int
reader_open(struct reader *r, const char *src, const char *tgt,
    const char *tsv)
{
	memset(r, 0, sizeof(*r));
	r->src = src;
	r->tgt = tgt;
	r->tsv = tsv;
	if (tsv == NULL && (src == NULL || tgt == NULL)) {
		sq_seterr("no input: a source and a target file, or a TSV "
		    "file, are needed");
		return -1;
	}
	if ((r->fs = fopen(tsv ? tsv : src, "r")) == NULL) {
		sq_seterr("%s: %s", tsv ? tsv : src, strerror(errno));
		return -1;
	}
	if (tsv == NULL && (r->ft = fopen(tgt, "r")) == NULL) {
		sq_seterr("%s: %s", tgt, strerror(errno));
		fclose(r->fs);
		r->fs = NULL;
		return -1;
	}
	return 0;
}

static void
reader_close(struct reader *r)
{
	if (r->fs)
		fclose(r->fs);
	if (r->ft)
		fclose(r->ft);
	free(r->bs);
	free(r->bt);
	memset(r, 0, sizeof(*r));
}

/*
 * Line (1-based) of f into *buf, without its '\n': its length, -1 at the
 * end, or -2 on a read error (sq_errstr() set).
 */
static ssize_t
read_line(FILE *f, char **buf, size_t *cap, const char *name, long line)
{
	ssize_t n;

	errno = 0;
	if ((n = getline(buf, cap, f)) < 0) {
		if (!ferror(f))
			return -1;
		if (line == 1)
			sq_seterr("%s: %s", name, strerror(errno));
		else
			sq_seterr("%s: line %ld: %s", name, line,
			    strerror(errno));
		return -2;
	}
	if (n > 0 && (*buf)[n - 1] == '\n')
		n--;
	return n;
}

/* The lines left in f (after line lines), or -1 on a read error. */
static long
count_rest(FILE *f, char **buf, size_t *cap, const char *name, long line)
{
	ssize_t n;

	while ((n = read_line(f, buf, cap, name, line + 1)) >= 0)
		line++;
	return n == -2 ? -1 : line;
}

/* The two files' line counts disagree, one of them having ended. */
static int
uneven(struct reader *r, int src_ended)
{
	long ns = r->line, nt = r->line;

	if (src_ended)
		nt = count_rest(r->ft, &r->bt, &r->ct, r->tgt, r->line + 1);
	else
		ns = count_rest(r->fs, &r->bs, &r->cs, r->src, r->line + 1);
	if (ns < 0 || nt < 0)
		return -1;
	if (ns == 0 || nt == 0)
		sq_seterr("%s: empty file (%s has %ld lines)", ns ? r->tgt :
		    r->src, ns ? r->src : r->tgt, ns ? ns : nt);
	else
		sq_seterr("%s has %ld lines, %s %ld", r->src, ns, r->tgt, nt);
	return -1;
}

/* Only ASCII white space ('\r' included), or nothing. */
static int
blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n\v\f", s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

/*
 * The next pair: 1 (r->s, r->t set), 0 at the end, -1 on an error
 * (sq_errstr() set).  A blank TSV line is a pair of two empty sides.
 */
static int
reader_next(struct reader *r)
{
	ssize_t ns, nt;

	if (r->tsv) {
		const char *tab;
		long tabs = 0;

		if ((ns = read_line(r->fs, &r->bs, &r->cs, r->tsv,
		    r->line + 1)) < 0) {
			if (ns == -1 && r->line == 0)
				sq_seterr("%s: empty file", r->tsv);
			return ns == -1 && r->line > 0 ? 0 : -1;
		}
		r->line++;
		r->s = r->t = r->bs;
		r->sl = r->tl = 0;
		if (blank(r->bs, (size_t)ns))
			return 1;
		for (tab = r->bs; (tab = memchr(tab, '\t', (size_t)ns -
		    (size_t)(tab - r->bs))) != NULL; tab++)
			tabs++;
		if (tabs == 0) {
			sq_seterr("%s: line %ld: no tab (source TAB target)",
			    r->tsv, r->line);
			return -1;
		}
		if (tabs > 1) {
			sq_seterr("%s: line %ld: %ld tabs, not one (source TAB "
			    "target)", r->tsv, r->line, tabs);
			return -1;
		}
		tab = memchr(r->bs, '\t', (size_t)ns);
		r->sl = (size_t)(tab - r->bs);
		r->t = tab + 1;
		r->tl = (size_t)ns - r->sl - 1;
		return 1;
	}
	ns = read_line(r->fs, &r->bs, &r->cs, r->src, r->line + 1);
	nt = read_line(r->ft, &r->bt, &r->ct, r->tgt, r->line + 1);
	if (ns == -2 || nt == -2)
		return -1;
	if (ns == -1 && nt == -1) {
		if (r->line > 0)
			return 0;
		sq_seterr("%s: empty file", r->src);
		return -1;
	}
	if (ns == -1 || nt == -1)
		return uneven(r, ns == -1);
	r->line++;
	r->s = r->bs;
	r->sl = (size_t)ns;
	r->t = r->bt;
	r->tl = (size_t)nt;
	return 1;
}

/* The name of the input, for messages about all of it. */
static void
input_name(const char *src, const char *tgt, const char *tsv, char *buf,
    size_t size)
{
	if (tsv)
		snprintf(buf, size, "%s", tsv);
	else
		snprintf(buf, size, "%s, %s", src, tgt);
}

/* ---- UTF-8 ---- */

/*
 * Whether s[0..n) is valid UTF-8 (RFC 3629): no stray continuation byte,
 * no truncated or overlong sequence, no surrogate, nothing past U+10FFFF.
 * SentencePiece replaces each byte of what fails here by U+FFFD.
 */
static int
valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], k, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i <= k)
			return 0;
		for (unsigned j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- the corpus ---- */

/*
 * One batch of pairs on its way through the segmenters (a corpus of
 * frames: the target's only, the frames copied aside).
 */
struct batch {
	struct sq_segment *seg[2];	/* source, target */
	const char *name[2];
	long *line;			/* (n) */
	unsigned char *bad;		/* (n): a side not UTF-8 */
	size_t n;
	float *fr;			/* (fr_off[n], dim) the frames */
	size_t *fr_off;			/* (n + 1) */
	size_t fr_cap;
};

static void
append(struct sq_corpus *c, const int32_t *s, size_t sl, const int32_t *t,
    size_t tl, long line)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		c->off = sq_reallocarray(c->off, 2 * (size_t)c->cap + 1,
		    sizeof(*c->off));
		c->line = sq_reallocarray(c->line, (size_t)c->cap,
		    sizeof(*c->line));
	}
	if (c->n_ids + sl + tl > c->cap_ids) {
		c->cap_ids = SQ_MAX(2 * c->cap_ids, c->n_ids + sl + tl + 65536);
		c->ids = sq_reallocarray(c->ids, c->cap_ids, sizeof(*c->ids));
	}
	c->off[2 * c->n] = c->n_ids;
	if (sl > 0)	/* s is NULL for a corpus of frames */
		memcpy(c->ids + c->n_ids, s, sl * sizeof(*s));
	c->n_ids += sl;
	c->off[2 * c->n + 1] = c->n_ids;
	memcpy(c->ids + c->n_ids, t, tl * sizeof(*t));
	c->n_ids += tl;
	c->off[2 * c->n + 2] = c->n_ids;
	c->line[c->n++] = line;
}

/* append() of a pair of nf frames (borrowed f) and target ids. */
static void
append_frames(struct sq_corpus *c, const float *f, size_t nf,
    const int32_t *t, size_t tl, long line)
{
	size_t dim = (size_t)c->dim;

	append(c, NULL, 0, t, tl, line);
	if (c->cap_foff < c->n + 1) {
		c->cap_foff = c->cap + 1;
		c->foff = sq_reallocarray(c->foff, (size_t)c->cap_foff,
		    sizeof(*c->foff));
	}
	if (c->n_frames + nf > c->cap_frames) {
		c->cap_frames = SQ_MAX(2 * c->cap_frames, c->n_frames + nf +
		    4096);
		c->frames = sq_reallocarray(c->frames, c->cap_frames * dim,
		    sizeof(float));
	}
	c->foff[c->n - 1] = c->n_frames;
	memcpy(c->frames + c->n_frames * dim, f, nf * dim * sizeof(float));
	c->n_frames += nf;
	c->foff[c->n] = c->n_frames;
}

static void
batch_free(struct batch *b)
{
	sq_segment_free(b->seg[0]);
	sq_segment_free(b->seg[1]);
	free(b->line);
	free(b->bad);
	free(b->fr);
	free(b->fr_off);
}

/* Counts one pair of a kind, remembering the first. */
static void
count(long *n, long *first, long line)
{
	if ((*n)++ == 0)
		*first = line;
}

/* The next result of side k, which must be there; 0 or -1. */
static int
next_ids(struct batch *b, int k, struct sq_segment_item *it)
{
	size_t at = 0;
	int rc = sq_segment_next(b->seg[k], it, &at);

	if (rc < 0)
		sq_seterr("%s: line %ld: %s", b->name[k], b->line[at],
		    sq_errstr());
	else if (rc == 0)	/* lib/io/segment lost a line: a bug */
		SQ_ASSERT(!"a line without a result");
	return rc < 0 ? -1 : 0;
}

/*
 * A pair too long for o: counted, then 0 to drop it, or 1 with *sl (ids
 * or frames, per o->max_len positions of per_pos each) and *tl cut to fit.
 * 1 for a pair that fits.
 */
static int
fits(const struct sq_corpus_opts *o, struct sq_corpus_stats *st, long line,
    size_t *sl, size_t *tl, size_t per_pos)
{
	size_t max_src = (size_t)o->max_len * per_pos;

	if (o->max_len <= 0 || (*sl <= max_src && *tl + 1 <= (size_t)o->max_len))
		return 1;
	count(&st->too_long, &st->first_too_long, line);
	if (o->too_long != SQ_TOO_LONG_TRUNCATE)
		return 0;
	*sl = SQ_MIN(*sl, max_src);
	*tl = SQ_MIN(*tl, (size_t)o->max_len - 1);
	return 1;
}

/* Tokenizes the batch and keeps what fits; 0 or -1. */
static int
run_batch(struct sq_corpus *c, struct batch *b, const struct sq_corpus_opts *o,
    struct sq_corpus_stats *st)
{
	struct sq_segment_item s, t;
	size_t j, at;

	if (b->n == 0)
		return 0;
	if (sq_segment_run(b->seg[0], 0) < 0 ||
	    sq_segment_run(b->seg[1], 0) < 0)
		return -1;
	for (j = 0; j < b->n; j++) {
		if (next_ids(b, 0, &s) < 0 || next_ids(b, 1, &t) < 0)
			return -1;
		if (s.n == 0 || t.n == 0) {	/* normalized away */
			count(&st->empty, &st->first_empty, b->line[j]);
			continue;
		}
		if (b->bad[j])
			count(&st->bad_utf8, &st->first_bad_utf8, b->line[j]);
		if (!fits(o, st, b->line[j], &s.n, &t.n, 1))
			continue;
		append(c, s.ids, s.n, t.ids, t.n, b->line[j]);
		st->src_tokens += (long)s.n;
		st->tgt_tokens += (long)t.n;
	}
	/* both at their ends: that empties the segmenters for the next */
	if (sq_segment_next(b->seg[0], &s, &at) != 0 ||
	    sq_segment_next(b->seg[1], &t, &at) != 0)
		SQ_ASSERT(!"a result without a line");
	b->n = 0;
	return 0;
}

/*
 * A segmenter of its own over spm (borrowed): plain ids, no BOS, and EOS
 * only where the model wants it after each source (Marian's, as
 * tokenize gives it).
 */
static struct sq_segment *
segmenter(const struct sq_spm *spm, struct sq_pool *pool)
{
	struct sq_segment_opts so = { .nbest = 1 };
	struct sq_spm *dup = sq_spm_dup(spm);

	if (dup == NULL)
		return NULL;
	if (sq_spm_set_options(dup, sq_spm_model_eos(spm) ? "eos" : "",
	    "") < 0) {
		sq_spm_free(dup);
		return NULL;
	}
	return sq_segment_new(dup, pool, &so);
}

/*
 * The end of reading: an error if no pair is left, else the growth room
 * given back.  0 or -1.
 */
static int
finish(struct sq_corpus *c, struct sq_corpus_stats *st, const char *name)
{
	if (c->n == 0) {
		sq_seterr("%s: no pairs (%ld lines: %ld with an empty side, "
		    "%ld too long)", name, st->lines, st->empty, st->too_long);
		return -1;
	}
	st->pairs = c->n;
	c->ids = sq_reallocarray(c->ids, c->n_ids, sizeof(*c->ids));
	c->off = sq_reallocarray(c->off, 2 * (size_t)c->n + 1, sizeof(*c->off));
	c->line = sq_reallocarray(c->line, (size_t)c->n, sizeof(*c->line));
	c->cap = c->n;
	c->cap_ids = c->n_ids;
	return 0;
}

/* ---- a corpus of frames ---- */

/*
 * Record rec of a frames stream, read for target line line: its key
 * must be line - 1, its width the first record's (which sets it), its
 * values finite.  0, or -1 with the error set.
 */
static int
check_record(struct sq_corpus *c, const struct sq_record *rec,
    const char *path, long line)
{
	unsigned long long n = (unsigned long long)line - 1;
	size_t i;

	if (rec->key != n) {
		sq_seterr("%s: record %llu (key %llu): keys must count the "
		    "target's lines from 0 (expected key %llu)", path, n,
		    (unsigned long long)rec->key, n);
		return -1;
	}
	if (rec->rows > 0 && c->dim == 0)
		c->dim = (int)rec->cols;
	if (rec->rows > 0 && rec->cols != (uint32_t)c->dim) {
		sq_seterr("%s: record %llu (key %llu): frames of %u values, the "
		    "first ones had %d", path, n, n, rec->cols, c->dim);
		return -1;
	}
	for (i = 0; i < (size_t)rec->rows * rec->cols; i++)
		if (!isfinite(rec->data[i])) {
			sq_seterr("%s: record %llu (key %llu): frame %zu holds "
			    "%g", path, n, n, i / rec->cols, rec->data[i]);
			return -1;
		}
	return 0;
}

/* Copies rec's frames into the batch, as its pair b->n. */
static void
keep_frames(struct batch *b, const struct sq_record *rec)
{
	size_t at = b->fr_off[b->n], n = (size_t)rec->rows * rec->cols;

	if (at + n > b->fr_cap) {
		b->fr_cap = SQ_MAX(2 * b->fr_cap, at + n + 65536);
		b->fr = sq_reallocarray(b->fr, b->fr_cap, sizeof(float));
	}
	if (n > 0)
		memcpy(b->fr + at, rec->data, n * sizeof(float));
	b->fr_off[b->n + 1] = at + n;
}

/* Tokenizes the batch's targets and keeps the pairs that fit; 0 or -1. */
static int
run_frames_batch(struct sq_corpus *c, struct batch *b,
    const struct sq_corpus_opts *o, struct sq_corpus_stats *st)
{
	size_t dim = (size_t)c->dim, j, at;
	struct sq_segment_item t;

	if (b->n == 0)
		return 0;
	if (sq_segment_run(b->seg[1], 0) < 0)
		return -1;
	for (j = 0; j < b->n; j++) {
		size_t nf = (b->fr_off[j + 1] - b->fr_off[j]) / dim;

		if (next_ids(b, 1, &t) < 0)
			return -1;
		if (t.n == 0) {		/* normalized away */
			count(&st->empty, &st->first_empty, b->line[j]);
			continue;
		}
		if (b->bad[j])
			count(&st->bad_utf8, &st->first_bad_utf8, b->line[j]);
		if (!fits(o, st, b->line[j], &nf, &t.n, (size_t)c->subsample))
			continue;
		append_frames(c, b->fr + b->fr_off[j], nf, t.ids, t.n,
		    b->line[j]);
		st->src_tokens += (long)((nf + (size_t)c->subsample - 1) /
		    (size_t)c->subsample);
		st->tgt_tokens += (long)t.n;
	}
	if (sq_segment_next(b->seg[1], &t, &at) != 0)
		SQ_ASSERT(!"a result without a line");
	b->n = 0;
	return 0;
}

/* The end of one input before the other's. */
static void
uneven_frames(const struct sq_corpus_opts *o, long line, int frames_ended)
{
	if (frames_ended)
		sq_seterr("%s: no record for line %ld of %s (it has %ld "
		    "records)", o->src_frames, line, o->tgt_path, line - 1);
	else
		sq_seterr("%s: record %ld (key %ld): no line for it in %s (it "
		    "has %ld lines)", o->src_frames, line - 1, line - 1,
		    o->tgt_path, line - 1);
}

static struct sq_corpus *
read_frames(const struct sq_corpus_opts *o, struct sq_spm *tgt_spm,
    struct sq_corpus_stats *st)
{
	struct sq_corpus *c = NULL;
	struct sq_pool *pool = NULL;
	struct sq_reader *fr;
	struct batch b = { 0 };
	struct sq_record rec;
	FILE *ft = NULL;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc;

	if (o->tgt_path == NULL) {
		sq_seterr("no input: frames need a target file");
		return NULL;
	}
	if ((fr = sq_stream_open(o->src_frames, SQ_STREAM_FRAMES)) == NULL)
		return NULL;
	if ((ft = fopen(o->tgt_path, "r")) == NULL) {
		sq_seterr("%s: %s", o->tgt_path, strerror(errno));
		goto out_close;
	}
	if (o->threads > 1)
		pool = sq_pool_new(o->threads);
	b.name[1] = o->tgt_path;
	if ((b.seg[1] = segmenter(tgt_spm, pool)) == NULL)
		goto out_close;
	b.line = sq_reallocarray(NULL, BATCH_LINES, sizeof(*b.line));
	b.bad = sq_malloc(BATCH_LINES);
	b.fr_off = sq_calloc(BATCH_LINES + 1, sizeof(*b.fr_off));
	c = sq_calloc(1, sizeof(*c));
	c->subsample = SQ_MAX(o->subsample, 1);
	for (;;) {
		if ((n = read_line(ft, &buf, &cap, o->tgt_path, st->lines +
		    1)) == -2 || (rc = sq_stream_next(fr, &rec)) < 0)
			goto out_free;
		if (n == -1 || rc == 0) {
			if (n == -1 && rc == 0)
				break;
			uneven_frames(o, st->lines + 1, rc == 0);
			goto out_free;
		}
		st->lines++;
		if (check_record(c, &rec, o->src_frames, st->lines) < 0)
			goto out_free;
		if (rec.rows == 0 || blank(buf, (size_t)n)) {
			count(&st->empty, &st->first_empty, st->lines);
			continue;
		}
		b.line[b.n] = st->lines;
		b.bad[b.n] = !valid_utf8((const unsigned char *)buf, (size_t)n);
		keep_frames(&b, &rec);
		b.n++;
		sq_segment_add(b.seg[1], buf, (size_t)n);
		if ((b.n == BATCH_LINES || sq_segment_bytes(b.seg[1]) >=
		    BATCH_BYTES) && run_frames_batch(c, &b, o, st) < 0)
			goto out_free;
	}
	if (st->lines == 0) {
		sq_seterr("%s: empty file", o->tgt_path);
		goto out_free;
	}
	if (run_frames_batch(c, &b, o, st) < 0 || finish(c, st,
	    o->src_frames) < 0)
		goto out_free;
	goto out_close;

out_free:
	sq_corpus_free(c);
	c = NULL;
out_close:
	batch_free(&b);
	free(buf);
	sq_pool_free(pool);
	if (ft != NULL)
		fclose(ft);
	sq_stream_close(fr);
	return c;
}

struct sq_corpus *
sq_corpus_read(const struct sq_corpus_opts *o, struct sq_spm *src_spm,
    struct sq_spm *tgt_spm, struct sq_corpus_stats *st)
{
	struct sq_corpus_stats dummy;
	struct sq_corpus *c = NULL;
	struct sq_pool *pool = NULL;
	struct batch b = { 0 };
	struct reader r;
	char name[1024];
	int rc;

	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (o->max_len < 0 || o->max_len == 1) {
		sq_seterr("max_len %d: a pair needs 2 positions at least",
		    o->max_len);
		return NULL;
	}
	if (o->src_frames != NULL)
		return read_frames(o, tgt_spm, st);
	if (reader_open(&r, o->src_path, o->tgt_path, o->tsv_path) < 0)
		return NULL;
	if (o->threads > 1)
		pool = sq_pool_new(o->threads);
	b.name[0] = r.tsv ? r.tsv : r.src;
	b.name[1] = r.tsv ? r.tsv : r.tgt;
	if ((b.seg[0] = segmenter(src_spm, pool)) == NULL ||
	    (b.seg[1] = segmenter(tgt_spm, pool)) == NULL)
		goto out_free;
	b.line = sq_reallocarray(NULL, BATCH_LINES, sizeof(*b.line));
	b.bad = sq_malloc(BATCH_LINES);
	c = sq_calloc(1, sizeof(*c));
	while ((rc = reader_next(&r)) > 0) {
		st->lines++;
		if (blank(r.s, r.sl) || blank(r.t, r.tl)) {
			count(&st->empty, &st->first_empty, r.line);
			continue;
		}
		b.line[b.n] = r.line;
		b.bad[b.n] = !valid_utf8((const unsigned char *)r.s, r.sl) ||
		    !valid_utf8((const unsigned char *)r.t, r.tl);
		b.n++;
		sq_segment_add(b.seg[0], r.s, r.sl);
		sq_segment_add(b.seg[1], r.t, r.tl);
		if ((b.n == BATCH_LINES || sq_segment_bytes(b.seg[0]) +
		    sq_segment_bytes(b.seg[1]) >= BATCH_BYTES) &&
		    run_batch(c, &b, o, st) < 0)
			goto out_free;
	}
	input_name(r.src, r.tgt, r.tsv, name, sizeof(name));
	if (rc < 0 || run_batch(c, &b, o, st) < 0 || finish(c, st, name) < 0)
		goto out_free;
	goto out_close;

out_free:
	sq_corpus_free(c);
	c = NULL;
out_close:
	batch_free(&b);
	sq_pool_free(pool);
	reader_close(&r);
	return c;
}

void
sq_corpus_free(struct sq_corpus *c)
{
	if (c == NULL)
		return;
	free(c->ids);
	free(c->off);
	free(c->line);
	free(c->frames);
	free(c->foff);
	free(c);
}

long
sq_corpus_size(const struct sq_corpus *c)
{
	return c->n;
}

const int32_t *
sq_corpus_src(const struct sq_corpus *c, long i, int *len)
{
	SQ_ASSERT(i >= 0 && i < c->n);
	*len = (int)(c->off[2 * i + 1] - c->off[2 * i]);
	return c->ids + c->off[2 * i];
}

const int32_t *
sq_corpus_tgt(const struct sq_corpus *c, long i, int *len)
{
	SQ_ASSERT(i >= 0 && i < c->n);
	*len = (int)(c->off[2 * i + 2] - c->off[2 * i + 1]);
	return c->ids + c->off[2 * i + 1];
}

int
sq_corpus_frame_dim(const struct sq_corpus *c)
{
	return c->dim;
}

/* Pair i's frames, *n of them (>= 1), row-major, borrowed while c lives. */
static const float *
frames_of(const struct sq_corpus *c, long i, int *n)
{
	SQ_ASSERT(c->dim > 0 && i >= 0 && i < c->n);
	*n = (int)(c->foff[i + 1] - c->foff[i]);
	return c->frames + c->foff[i] * (size_t)c->dim;
}

int
sq_corpus_src_positions(const struct sq_corpus *c, long i)
{
	int n;

	if (c->dim > 0) {
		frames_of(c, i, &n);
		return (n + c->subsample - 1) / c->subsample;
	}
	sq_corpus_src(c, i, &n);
	return n;
}

void
sq_corpus_pair(const struct sq_corpus *c, long i, const int32_t **src,
    const float **frames, int *src_len, const int32_t **tgt, int *tgt_len)
{
	*src = sq_corpus_src(c, i, src_len);
	*frames = c->dim > 0 ? frames_of(c, i, src_len) : NULL;
	*tgt = sq_corpus_tgt(c, i, tgt_len);
}

long
sq_corpus_line(const struct sq_corpus *c, long i)
{
	SQ_ASSERT(i >= 0 && i < c->n);
	return c->line[i];
}

/* ---- SentencePiece models ---- */

/* The sentences that train a model, handed to SentencePiece one by one. */
struct feed {
	struct reader r;
	int which;		/* 0 source, 1 target, 2 both */
	int side;		/* next side of the pair to look at; 2: none */
	long total, want;	/* sentences, and how many to keep */
	long seen, taken;
	uint64_t rng;		/* splitmix64 state */
	int failed;
	char err[512];
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

/* The next pair without a blank side: 1, 0 at the end, -1. */
static int
next_pair(struct reader *r)
{
	int rc;

	while ((rc = reader_next(r)) > 0)
		if (!blank(r->s, r->sl) && !blank(r->t, r->tl))
			return 1;
	return rc;
}

/* sq_spm_next_fn: the sampled sentences in file order, NULL at the end. */
static const char *
feed_next(void *ctx, size_t *len)
{
	struct feed *f = ctx;
	int rc;

	while (f->taken < f->want) {
		if (f->side == 2) {
			if ((rc = next_pair(&f->r)) <= 0) {
				if (rc < 0) {
					f->failed = 1;
					snprintf(f->err, sizeof(f->err), "%s",
					    sq_errstr());
				}
				return NULL;
			}
			f->side = f->which == 1 ? 1 : 0;
		}
		int side = f->side;
		uint64_t left = (uint64_t)(f->total - f->seen++);
		/* keep with probability (want - taken) / left, exactly */
		int keep = (uint64_t)(((unsigned __int128)splitmix64(&f->rng) *
		    left) >> 64) < (uint64_t)(f->want - f->taken);

		f->side = f->which == 2 && side == 0 ? 1 : 2;
		if (!keep)
			continue;
		f->taken++;
		*len = side ? f->r.tl : f->r.sl;
		return side ? f->r.t : f->r.s;
	}
	return NULL;
}

int
sq_corpus_train_spm(const char *src_path, const char *tgt_path,
    const char *tsv_path, int which, const struct sq_vocab_opts *o,
    char **model, size_t *len)
{
	struct feed f = { 0 };
	char options[512];
	const char *type = o->model_type ? o->model_type : "unigram";
	long lines;
	int rc;

	if (which < 0 || which > 2) {
		sq_seterr("which %d: 0 (source), 1 (target) or 2 (both)",
		    which);
		return -1;
	}
	if (strcmp(type, "unigram") != 0 && strcmp(type, "bpe") != 0) {
		sq_seterr("SentencePiece model type \"%s\": unigram or bpe",
		    type);
		return -1;
	}
	/* first pass: count */
	if (reader_open(&f.r, src_path, tgt_path, tsv_path) < 0)
		return -1;
	while ((rc = next_pair(&f.r)) > 0)
		f.total += which == 2 ? 2 : 1;
	lines = f.r.line;
	reader_close(&f.r);
	if (rc < 0)
		return -1;
	if (f.total == 0) {
		char name[1024];

		input_name(src_path, tgt_path, tsv_path, name, sizeof(name));
		sq_seterr("%s: no pairs (%ld lines, each with an empty side)",
		    name, lines);
		return -1;
	}
	/* second pass: SentencePiece reads the sample */
	f.which = which;
	f.side = 2;
	f.want = SQ_MIN(f.total, o->sample > 0 ? o->sample : 1000000);
	f.rng = o->seed;
	snprintf(options, sizeof(options), "--model_type=%s "
	    "--vocab_size=%d --character_coverage=%.9g --byte_fallback=true "
	    "--pad_id=0 --bos_id=1 --eos_id=2 --unk_id=3 "
	    "--input_sentence_size=0 --shuffle_input_sentence=false "
	    "--num_threads=%d", type, o->vocab_size > 0 ? o->vocab_size : 8000,
	    o->character_coverage > 0 ? o->character_coverage : 1.0,
	    o->threads > 0 ? o->threads : 1);
	if (reader_open(&f.r, src_path, tgt_path, tsv_path) < 0)
		return -1;
	rc = sq_spm_train(options, feed_next, &f, !o->verbose, model, len);
	reader_close(&f.r);
	if (f.failed) {	/* the file changed between the passes */
		if (rc == 0)
			free(*model);
		sq_seterr("%s", f.err);
		return -1;
	}
	return rc;
}
