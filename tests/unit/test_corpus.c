/*
 * test_corpus: lib/train/corpus and lib/train/batches on small parallel
 * files made on the fly from the GPL-3 text Debian installs
 * (/usr/share/common-licenses/GPL-3; source: its lines, target: the same
 * words in reverse order).
 *
 * Vocabularies: trained through sq_corpus_train_spm(), twice each for the
 * same bytes, from two files and from a TSV for the same bytes, sampled.
 * Corpus: ids against spm_encode --output_format=id on the same model,
 * the same with 1 and 2 threads, CRLF as LF, and the bad inputs: files of
 * different lengths, empty files, TSV lines without one tab, unreadable
 * files, invalid UTF-8, blank sides, overlong pairs dropped and truncated,
 * each error one line naming file (and line), each count exact.  Batches:
 * every pair once per epoch, the token budget, shuffles that differ by
 * epoch and seed and not between runs, and a checksum of one layout, so
 * another machine must give the same batches.  TAP output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "io/spm.h"
#include "tap.h"
#include "train/batches.h"
#include "train/corpus.h"

#define LICENSE "/usr/share/common-licenses/GPL-3"
#define MAX_LINES 2000

static char dir[] = "/tmp/test_corpus.XXXXXX";
static char *src_lines[MAX_LINES], *tgt_lines[MAX_LINES];
static int n_lines;

/* dir/name, in one of a few static buffers. */
static const char *
path(const char *name)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Writes len bytes of text to dir/name; returns its path. */
static const char *
put(const char *name, const char *text, size_t len)
{
	const char *p = path(name);
	FILE *f = fopen(p, "w");

	if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		perror(p);
		exit(1);
	}
	return p;
}

static const char *
puts0(const char *name, const char *text)
{
	return put(name, text, strlen(text));
}

/* The words of s in reverse order, space separated (caller frees). */
static char *
reversed(const char *s)
{
	char *copy = sq_strdup(s), *w[256], *out, *save = NULL, *t;
	size_t n = 0, size = strlen(s) + 2;

	for (t = strtok_r(copy, " ", &save); t && n < 256;
	    t = strtok_r(NULL, " ", &save))
		w[n++] = t;
	out = sq_calloc(1, size);
	while (n-- > 0) {
		strcat(out, w[n]);
		if (n)
			strcat(out, " ");
	}
	free(copy);
	return out;
}

/* The license's non-blank lines, trimmed, and their reversals. */
static void
load_text(void)
{
	FILE *f = fopen(LICENSE, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		perror(LICENSE);
		exit(1);
	}
	while ((n = getline(&line, &cap, f)) > 0 && n_lines < MAX_LINES) {
		char *s = line, *e = line + n;

		while (s < e && strchr(" \t\n", *s))
			s++;
		while (e > s && strchr(" \t\n", e[-1]))
			e--;
		if (e == s)
			continue;
		*e = '\0';
		src_lines[n_lines] = sq_strdup(s);
		tgt_lines[n_lines] = reversed(s);
		n_lines++;
	}
	free(line);
	fclose(f);
}

/* Lines joined, each ending in eol; caller frees. */
static char *
join(char **lines, int n, const char *eol)
{
	size_t size = 1;
	char *out;

	for (int i = 0; i < n; i++)
		size += strlen(lines[i]) + strlen(eol);
	out = sq_calloc(1, size);
	for (int i = 0; i < n; i++) {
		strcat(out, lines[i]);
		strcat(out, eol);
	}
	return out;
}

/* The two sides as a TSV; caller frees. */
static char *
join_tsv(void)
{
	size_t size = 1;
	char *out;

	for (int i = 0; i < n_lines; i++)
		size += strlen(src_lines[i]) + strlen(tgt_lines[i]) + 2;
	out = sq_calloc(1, size);
	for (int i = 0; i < n_lines; i++) {
		strcat(out, src_lines[i]);
		strcat(out, "\t");
		strcat(out, tgt_lines[i]);
		strcat(out, "\n");
	}
	return out;
}

static int
same_bytes(const char *a, size_t na, const char *b, size_t nb)
{
	return na == nb && memcmp(a, b, na) == 0;
}

/* The error is one line and holds every one of the strings. */
static int
err_has(const char *a, const char *b)
{
	const char *e = sq_errstr();

	return strchr(e, '\n') == NULL && strstr(e, a) && (!b || strstr(e, b));
}

/*
 * Compares side (0 source, 1 target) of corpus c with spm_encode's ids
 * of file text on model model_path: pair i against line
 * sq_corpus_line(i); max_len > 0: a prefix of at most that many ids.
 * Returns the number of pairs that differ (or -1 if spm_encode failed).
 */
static long
against_spm_encode(const struct sq_corpus *c, int side, const char *text,
    const char *model_path, int max_len)
{
	char cmd[2048], *line = NULL;
	size_t cap = 0;
	long lineno = 0, i = 0, differ = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "spm_encode --model='%s' "
	    "--output_format=id < '%s'", model_path, text);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while (getline(&line, &cap, p) > 0) {
		const int32_t *ids;
		int n, k = 0;
		char *s = line, *end;

		lineno++;
		if (i == sq_corpus_size(c) || sq_corpus_line(c, i) != lineno)
			continue;
		ids = side ? sq_corpus_tgt(c, i, &n) : sq_corpus_src(c, i, &n);
		for (;; k++) {
			long v = strtol(s, &end, 10);

			if (end == s)
				break;
			s = end;
			if (k >= n || ids[k] != v)
				break;
		}
		/* all of the line, or with max_len a truncated prefix */
		strtol(s, &end, 10);
		if (k != n || !(end == s || (max_len > 0 &&
		    n == max_len - side)))
			differ++;
		i++;
	}
	free(line);
	if (pclose(p) != 0 || i != sq_corpus_size(c))
		return -1;
	return differ;
}

static struct sq_corpus *
read2(const char *src, const char *tgt, const char *tsv, int max_len,
    int too_long, int threads, struct sq_spm *s, struct sq_spm *t,
    struct sq_corpus_stats *st)
{
	struct sq_corpus_opts o = { src, tgt, tsv, max_len, too_long,
	    threads, NULL, 1 };

	return sq_corpus_read(&o, s, t, st);
}

/* Two corpora with the same pairs, ids and lines. */
static int
same_corpus(const struct sq_corpus *a, const struct sq_corpus *b)
{
	if (!a || !b || sq_corpus_size(a) != sq_corpus_size(b))
		return 0;
	for (long i = 0; i < sq_corpus_size(a); i++) {
		const int32_t *x, *y;
		int nx, ny;

		if (sq_corpus_line(a, i) != sq_corpus_line(b, i))
			return 0;
		x = sq_corpus_src(a, i, &nx);
		y = sq_corpus_src(b, i, &ny);
		if (nx != ny || memcmp(x, y, nx * sizeof(*x)))
			return 0;
		x = sq_corpus_tgt(a, i, &nx);
		y = sq_corpus_tgt(b, i, &ny);
		if (nx != ny || memcmp(x, y, nx * sizeof(*x)))
			return 0;
	}
	return 1;
}

/* FNV-1a over an epoch's batches as the trainer sees them. */
static uint64_t
batches_sum(const struct sq_batches *b)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (long k = 0; k < sq_batches_count(b); k++) {
		int n;
		const long *idx = sq_batches_get(b, k, &n);

		for (int j = 0; j <= n; j++) {
			uint64_t v = j < n ? (uint64_t)idx[j] : ~0u;

			for (int byte = 0; byte < 8; byte++) {
				h ^= (v >> (8 * byte)) & 0xFF;
				h *= 0x100000001b3u;
			}
		}
	}
	return h;
}

/*
 * An epoch's batches over n pairs of lengths len: each pair once, each
 * batch within max_tokens (or one pair), lengths sorted within a batch.
 */
static int
batches_ok(const struct sq_batches *b, const int *len, long n,
    long max_tokens)
{
	char *seen = sq_calloc((size_t)n, 1);
	long total = 0;
	int good = 1;

	for (long k = 0; k < sq_batches_count(b); k++) {
		int m, longest = 0;
		const long *idx = sq_batches_get(b, k, &m);

		good &= m >= 1;
		for (int j = 0; j < m; j++) {
			good &= idx[j] >= 0 && idx[j] < n && !seen[idx[j]];
			if (!good)
				break;
			seen[idx[j]] = 1;
			good &= j == 0 || len[idx[j]] >= len[idx[j - 1]];
			longest = SQ_MAX(longest, len[idx[j]]);
		}
		good &= m == 1 || (long)m * longest <= max_tokens;
		good &= sq_batches_tokens(b, k) == (long)m * longest;
		total += m;
	}
	free(seen);
	return good && total == n;
}

static void
test_vocab(char **src_model, size_t *src_len, char **tgt_model,
    size_t *tgt_len)
{
	struct sq_vocab_opts vo = { .vocab_size = 600, .seed = 1 };
	char *a = NULL, *b = NULL, *text;
	size_t na = 0, nb = 0;
	const char *en, *de, *tsv;
	struct sq_spm *s;

	text = join(src_lines, n_lines, "\n");
	en = puts0("train.en", text);
	free(text);
	text = join(tgt_lines, n_lines, "\n");
	de = puts0("train.de", text);
	free(text);
	text = join_tsv();
	tsv = puts0("train.tsv", text);
	free(text);

	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == 0 &&
	    sq_corpus_train_spm(en, de, NULL, 0, &vo, &b, &nb) == 0 &&
	    same_bytes(a, na, b, nb), "unigram, source: two runs, the same "
	    "bytes");
	free(b);
	*src_model = a;
	*src_len = na;
	s = sq_spm_new(a, na);
	ok(s && sq_spm_size(s) == 600 && sq_spm_pad(s) == 0 &&
	    sq_spm_bos(s) == 1 && sq_spm_eos(s) == 2 && sq_spm_unk(s) == 3,
	    "600 pieces; pad 0, bos 1, eos 2, unk 3");
	ok(s && sq_spm_id(s, "<0xFF>") > 3 && sq_spm_id(s, "<0x00>") > 3,
	    "byte fallback pieces <0x00> .. <0xFF>");
	sq_spm_free(s);

	ok(sq_corpus_train_spm(en, de, NULL, 1, &vo, tgt_model, tgt_len) == 0 &&
	    sq_corpus_train_spm(NULL, NULL, tsv, 1, &vo, &b, &nb) == 0 &&
	    same_bytes(*tgt_model, *tgt_len, b, nb),
	    "target: a TSV gives the bytes the two files give");
	free(b);
	b = NULL;

	vo.model_type = "bpe";
	ok(sq_corpus_train_spm(en, de, NULL, 2, &vo, &a, &na) == 0 &&
	    sq_corpus_train_spm(NULL, NULL, tsv, 2, &vo, &b, &nb) == 0 &&
	    same_bytes(a, na, b, nb), "bpe, shared: two runs (files, TSV), "
	    "the same bytes");
	s = sq_spm_new(a, na);
	ok(s && sq_spm_size(s) == 600 && sq_spm_unk(s) == 3,
	    "bpe: 600 pieces, unk 3");
	sq_spm_free(s);
	free(a);
	free(b);

	/* sampling: bounded, seeded, deterministic */
	vo.model_type = NULL;
	vo.vocab_size = 400;
	vo.sample = 200;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == 0 &&
	    sq_corpus_train_spm(en, de, NULL, 0, &vo, &b, &nb) == 0 &&
	    same_bytes(a, na, b, nb), "a sample of 200 lines: two runs, the "
	    "same bytes");
	free(b);
	vo.seed = 2;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &b, &nb) == 0 &&
	    !same_bytes(a, na, b, nb), "another seed, another sample");
	free(b);
	vo.sample = 0;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &b, &nb) == 0 &&
	    !same_bytes(a, na, b, nb), "the sample is not all of it");
	free(a);
	vo.sample = n_lines;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == 0 &&
	    same_bytes(a, na, b, nb), "a sample of all %d lines is all of "
	    "them", n_lines);
	free(a);
	free(b);
	vo.character_coverage = 0.9995;
	vo.sample = 0;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == 0,
	    "character_coverage 0.9995");
	free(a);

	vo.model_type = "word";
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == -1 &&
	    err_has("word", "unigram or bpe"), "model type word: %s",
	    sq_errstr());
	vo.model_type = NULL;
	vo.vocab_size = 100000;
	ok(sq_corpus_train_spm(en, de, NULL, 0, &vo, &a, &na) == -1 &&
	    err_has("SentencePiece", "ocab"), "a vocabulary too large: %s",
	    sq_errstr());
}

int
main(void)
{
	char *sm = NULL, *tm = NULL, *text, *crlf;
	size_t sn = 0, tn = 0;
	char *en, *de, *smp, *tmp;
	const char *bad_en, *bad_de;
	struct sq_corpus_stats st;
	struct sq_corpus *c, *c2;
	struct sq_spm *s, *t;
	struct sq_vocab_opts vo = { .vocab_size = 600 };
	char *a;
	size_t na;
	int n;

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}
	load_text();
	ok(n_lines > 500, "%d lines of %s", n_lines, LICENSE);

	test_vocab(&sm, &sn, &tm, &tn);
	smp = sq_strdup(put("src.model", sm, sn));	/* path() recycles */
	tmp = sq_strdup(put("tgt.model", tm, tn));
	s = sq_spm_new(sm, sn);
	t = sq_spm_new(tm, tn);
	en = sq_strdup(path("train.en"));
	de = sq_strdup(path("train.de"));

	/* the corpus against spm_encode */
	c = read2(en, de, NULL, 0, SQ_TOO_LONG_DROP, 1, s, t, &st);
	ok(c && sq_corpus_size(c) == n_lines && st.lines == n_lines &&
	    st.pairs == n_lines && st.empty == 0 && st.bad_utf8 == 0 &&
	    st.too_long == 0, "all %d pairs read", n_lines);
	ok(c && against_spm_encode(c, 0, en, smp, 0) == 0,
	    "source ids = spm_encode --output_format=id");
	ok(c && against_spm_encode(c, 1, de, tmp, 0) == 0,
	    "target ids = spm_encode --output_format=id");
	c2 = read2(en, de, NULL, 0, SQ_TOO_LONG_DROP, 2, s, t, NULL);
	ok(same_corpus(c, c2), "2 threads: the same corpus");
	sq_corpus_free(c2);
	c2 = read2(NULL, NULL, path("train.tsv"), 0, 0, 2, s, t, NULL);
	ok(same_corpus(c, c2), "the TSV: the same corpus");
	sq_corpus_free(c2);
	text = join(src_lines, n_lines, "\r\n");
	crlf = join(tgt_lines, n_lines, "\r\n");
	puts0("crlf.en", text);
	puts0("crlf.de", crlf);
	free(text);
	free(crlf);
	c2 = read2(path("crlf.en"), path("crlf.de"), NULL, 0, 0, 2, s, t,
	    NULL);
	ok(same_corpus(c, c2), "CRLF files: the ids of the LF ones");
	sq_corpus_free(c2);
	ok(c && sq_spm_set_options(s, "bos:eos", NULL) == 0 &&
	    (c2 = read2(en, de, NULL, 0, 0, 1, s, t, NULL)) &&
	    same_corpus(c, c2), "a handle set to add BOS/EOS: no BOS/EOS");
	sq_spm_set_options(s, "", NULL);
	sq_corpus_free(c2);

	/* batches of the corpus */
	if (c) {
		long np = sq_corpus_size(c), i;
		int *len = sq_malloc(np * sizeof(int));
		struct sq_batches *b1, *b1b, *b2, *b3;
		long maxlen = 0;

		for (i = 0; i < np; i++) {
			int sl, tl;

			sq_corpus_src(c, i, &sl);
			sq_corpus_tgt(c, i, &tl);
			len[i] = SQ_MAX(sl, tl + 1);
			maxlen = SQ_MAX(maxlen, len[i]);
		}
		b1 = sq_batches_new(c, 200, 7, 1);
		b1b = sq_batches_new(c, 200, 7, 1);
		b2 = sq_batches_new(c, 200, 7, 2);
		b3 = sq_batches_new(c, 200, 8, 1);
		ok(batches_ok(b1, len, np, 200) && batches_ok(b2, len, np, 200)
		    && batches_ok(b3, len, np, 200), "each pair once, within "
		    "200 tokens: %ld batches", sq_batches_count(b1));
		ok(batches_sum(b1) == batches_sum(b1b), "the same seed and "
		    "epoch: the same batches");
		ok(batches_sum(b1) != batches_sum(b2), "another epoch: other "
		    "batches");
		ok(batches_sum(b1) != batches_sum(b3), "another seed: other "
		    "batches");
		sq_batches_free(b1);
		sq_batches_free(b1b);
		sq_batches_free(b2);
		sq_batches_free(b3);
		b1 = sq_batches_new(c, maxlen - 1, 7, 1);
		ok(batches_ok(b1, len, np, maxlen - 1), "max_tokens below the "
		    "longest pair (%ld): it is a batch alone", maxlen);
		sq_batches_free(b1);
		b1 = sq_batches_new(c, 0, 7, 1);
		ok(sq_batches_count(b1) == np && batches_ok(b1, len, np, 1),
		    "max_tokens 0: a batch per pair");
		sq_batches_free(b1);
		free(len);
	}
	sq_corpus_free(c);

	/* one layout, fixed: the same on every machine */
	{
		int len[1000];
		struct sq_batches *b;

		for (int i = 0; i < 1000; i++)
			len[i] = 1 + (i * 7919) % 97;
		b = sq_batches_from_lengths(len, 1000, 300, 42, 3);
		ok(batches_ok(b, len, 1000, 300), "1000 pairs: each once, "
		    "within 300 tokens");
		printf("# checksum %016llx, %ld batches\n",
		    (unsigned long long)batches_sum(b), sq_batches_count(b));
		ok(batches_sum(b) == 0xb37dfd4ee898aa81ull, "the checksum of a "
		    "fixed layout (seed 42, epoch 3)");
		sq_batches_free(b);
		b = sq_batches_from_lengths(len, 0, 300, 42, 3);
		ok(sq_batches_count(b) == 0, "no pairs: no batches");
		sq_batches_free(b);
	}

	/* blank sides, bad UTF-8, overlong pairs */
	{
		static const char bad_src[] =
		    "the program is free software\n"	/* 1 */
		    "\n"				/* 2: blank */
		    "you can redistribute it\n"		/* 3 */
		    "\xff\xfe copyright \xc3\n"		/* 4: bad UTF-8 */
		    "LONG\n"				/* 5: long source */
		    "the license\n"			/* 6 */
		    " \t \r\n"				/* 7: blank */
		    "warranty\n"			/* 8: long target */
		    "modify it";			/* 9: no newline */
		static const char bad_tgt[] =
		    "software free is program the\n"
		    "nothing on the other side\n"
		    "it redistribute can you\n"
		    "copyright\n"
		    "short\n"
		    "license the\n"
		    "other side\n"
		    "LONG\n"
		    "it modify";
		char *long_line = sq_calloc(1, 8192), *sx, *tx;
		size_t cut;

		for (int i = 0; i < 100; i++)
			strcat(long_line, "terms and conditions ");
		sx = sq_calloc(1, 16384);
		tx = sq_calloc(1, 16384);
		cut = strstr(bad_src, "LONG") - bad_src;
		memcpy(sx, bad_src, cut);
		strcat(sx, long_line);
		strcat(sx, bad_src + cut + 4);
		cut = strstr(bad_tgt, "LONG") - bad_tgt;
		memcpy(tx, bad_tgt, cut);
		strcat(tx, long_line);
		strcat(tx, bad_tgt + cut + 4);
		bad_en = puts0("bad.en", sx);
		bad_de = puts0("bad.de", tx);

		c = read2(bad_en, bad_de, NULL, 64, SQ_TOO_LONG_DROP, 2, s, t,
		    &st);
		ok(c && st.lines == 9 && st.empty == 2 && st.first_empty == 2 &&
		    st.bad_utf8 == 1 && st.first_bad_utf8 == 4 &&
		    st.too_long == 2 && st.first_too_long == 5 &&
		    st.pairs == 5 && sq_corpus_size(c) == 5,
		    "drop: 9 lines, 2 empty, 1 bad UTF-8, 2 too long, 5 kept");
		ok(c && sq_corpus_line(c, 0) == 1 &&
		    sq_corpus_line(c, 1) == 3 && sq_corpus_line(c, 2) == 4 &&
		    sq_corpus_line(c, 3) == 6 && sq_corpus_line(c, 4) == 9,
		    "lines 1 3 4 6 9 kept");
		ok(c && against_spm_encode(c, 0, bad_en, smp, 0) == 0 &&
		    against_spm_encode(c, 1, bad_de, tmp, 0) == 0,
		    "bad UTF-8 as spm_encode: U+FFFD");
		sq_corpus_free(c);

		c = read2(bad_en, bad_de, NULL, 64, SQ_TOO_LONG_TRUNCATE, 1, s,
		    t, &st);
		ok(c && st.too_long == 2 && st.pairs == 7 &&
		    sq_corpus_size(c) == 7 && sq_corpus_line(c, 3) == 5,
		    "truncate: 7 kept");
		ok(c && (sq_corpus_src(c, 3, &n), n == 64) &&
		    (sq_corpus_tgt(c, 5, &n), n == 63),
		    "truncated to 64 source, 63 target ids");
		ok(c && against_spm_encode(c, 0, bad_en, smp, 64) == 0 &&
		    against_spm_encode(c, 1, bad_de, tmp, 64) == 0,
		    "truncated: prefixes of spm_encode's ids");
		sq_corpus_free(c);
		ok(st.src_tokens > 0 && st.tgt_tokens > 0, "token counts");

		/* the boundaries: L source ids fit L, L target ids do not */
		c = read2(NULL, NULL, puts0("long.tsv", long_line), 0, 0, 1,
		    s, t, &st);
		SQ_ASSERT(c == NULL);	/* no tab: a message to ignore */
		sx[0] = '\0';
		strcat(sx, long_line);
		strcat(sx, "\tshort\n");
		bad_en = puts0("long-src.tsv", sx);
		tx[0] = '\0';
		strcat(tx, "short\t");
		strcat(tx, long_line);
		bad_de = puts0("long-tgt.tsv", tx);
		c = read2(NULL, NULL, bad_en, 0, 0, 1, s, t, &st);
		c2 = read2(NULL, NULL, bad_de, 0, 0, 1, s, t, &st);
		if (c && c2) {
			int ls, lt;

			sq_corpus_src(c, 0, &ls);
			sq_corpus_tgt(c2, 0, &lt);
			sq_corpus_free(c);
			sq_corpus_free(c2);
			c = read2(NULL, NULL, bad_en, ls, 0, 1, s, t, &st);
			ok(c && st.too_long == 0, "max_len %d: a source of %d "
			    "ids fits", ls, ls);
			sq_corpus_free(c);
			c = read2(NULL, NULL, bad_en, ls - 1, 0, 1, s, t, &st);
			ok(!c && st.too_long == 1 && err_has("long-src.tsv: no "
			    "pairs (1 lines: 0 with an empty side, 1 too long)",
			    NULL), "max_len %d: it does not: %s", ls - 1,
			    sq_errstr());
			c = read2(NULL, NULL, bad_de, lt + 1, 0, 1, s, t, &st);
			ok(c && st.too_long == 0, "max_len %d: a target of %d "
			    "ids fits (with EOS)", lt + 1, lt);
			sq_corpus_free(c);
			c = read2(NULL, NULL, bad_de, lt, 0, 1, s, t, &st);
			ok(!c && st.too_long == 1, "max_len %d: it does not",
			    lt);
		} else {
			ok(0, "read the long pairs");
			sq_corpus_free(c2);
		}
		sq_corpus_free(c);
		free(sx);
		free(tx);
		free(long_line);
	}

	/* errors: one line, naming the file and the line */
	puts0("a.en", "one\ntwo\nthree\nfour\nfive\n");
	puts0("a.de", "eins\nzwei\ndrei\nvier");
	ok(!read2(path("a.en"), path("a.de"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("a.en has 5 lines, ", "a.de 4"), "%s", sq_errstr());
	ok(!read2(path("a.de"), path("a.en"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("a.de has 4 lines, ", "a.en 5"), "%s", sq_errstr());
	ok(sq_corpus_train_spm(path("a.en"), path("a.de"), NULL, 0, &vo, &a,
	    &na) == -1 && err_has("a.en has 5 lines, ", "a.de 4"),
	    "training a vocabulary: %s", sq_errstr());
	puts0("empty", "");
	ok(!read2(path("empty"), path("a.de"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("empty: empty file", "a.de has 4 lines"), "%s",
	    sq_errstr());
	ok(!read2(path("a.de"), path("empty"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("empty: empty file", "a.de has 4 lines"), "%s",
	    sq_errstr());
	ok(!read2(path("empty"), path("empty"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("empty: empty file", NULL), "%s", sq_errstr());
	ok(!read2(NULL, NULL, path("empty"), 0, 0, 1, s, t, &st) &&
	    err_has("empty: empty file", NULL), "TSV: %s", sq_errstr());
	ok(sq_corpus_train_spm(NULL, NULL, path("empty"), 2, &vo, &a, &na) ==
	    -1 && err_has("empty: empty file", NULL), "training a "
	    "vocabulary: %s", sq_errstr());
	puts0("blank.en", "\n \n\t\n");
	puts0("blank.de", "a\nb\nc\n");
	ok(!read2(path("blank.en"), path("blank.de"), NULL, 0, 0, 1, s, t,
	    &st) && err_has("blank.en, ", "blank.de: no pairs (3 lines: 3 "
	    "with an empty side, 0 too long)"), "%s", sq_errstr());
	ok(sq_corpus_train_spm(path("blank.en"), path("blank.de"), NULL, 1,
	    &vo, &a, &na) == -1 && err_has("blank.en, ",
	    "blank.de: no pairs (3 lines"), "training a vocabulary: %s",
	    sq_errstr());
	puts0("x.tsv", "a\tb\n\nc\td\ne f\n");
	ok(!read2(NULL, NULL, path("x.tsv"), 0, 0, 1, s, t, &st) &&
	    err_has("x.tsv: line 4: no tab", NULL), "%s", sq_errstr());
	ok(sq_corpus_train_spm(NULL, NULL, path("x.tsv"), 0, &vo, &a, &na) ==
	    -1 && err_has("x.tsv: line 4: no tab", NULL),
	    "training a vocabulary: %s", sq_errstr());
	puts0("y.tsv", "a\tb\nc\td\te\n");
	ok(!read2(NULL, NULL, path("y.tsv"), 0, 0, 1, s, t, &st) &&
	    err_has("y.tsv: line 2: 2 tabs, not one", NULL), "%s",
	    sq_errstr());
	puts0("z.tsv", "a\tb\n\t\n \tc\nd\t\r\n");
	ok((c = read2(NULL, NULL, path("z.tsv"), 0, 0, 1, s, t, &st)) &&
	    st.lines == 4 && st.empty == 3 && st.first_empty == 2 &&
	    sq_corpus_size(c) == 1, "TSV: empty sides skipped, counted");
	sq_corpus_free(c);
	ok(!read2(path("none.en"), path("a.de"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("none.en: No such file or directory", NULL), "%s",
	    sq_errstr());
	ok(!read2(path("a.en"), path("none.de"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("none.de: No such file or directory", NULL), "%s",
	    sq_errstr());
	mkdir(path("adir"), 0700);
	ok(!read2(path("adir"), path("a.de"), NULL, 0, 0, 1, s, t, &st) &&
	    err_has("adir: Is a directory", NULL), "%s", sq_errstr());
	ok(!read2(path("a.en"), NULL, NULL, 0, 0, 1, s, t, &st) &&
	    err_has("no input", NULL), "%s", sq_errstr());
	ok(!read2(path("a.en"), path("a.en"), NULL, 1, 0, 1, s, t, &st) &&
	    err_has("max_len 1", NULL), "%s", sq_errstr());

	sq_spm_free(s);
	sq_spm_free(t);
	free(en);
	free(de);
	free(smp);
	free(tmp);
	free(sm);
	free(tm);
	for (int i = 0; i < n_lines; i++) {
		free(src_lines[i]);
		free(tgt_lines[i]);
	}
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			ok(0, "remove %s", dir);
	}
	return tap_done();
}
