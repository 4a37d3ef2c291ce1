/*
 * Fuzz harness: bleu's input readers (lib/bleu/input.c, corpus.c): a
 * reference file (plain or, by its name, gzip), split into -nr tab
 * fields, its UTF-8 decoded, and the same bytes as tab-separated systems
 * on the standard input; then the scores over what was read, so that the
 * tokenizers and n-gram counters see every line.  The first byte is the
 * options: bits 0-1 nr - 1, bits 2-4 the tokenizer, bit 5 lowercase, bit
 * 6 the reference named *.gz, bit 7 systems on stdin.
 */
#include <fcntl.h>
#include <string.h>

#include "fuzz.h"
#include "bleu/bleu.h"
#include "bleu/chrf.h"
#include "bleu/corpus.h"

static char gz_dir[64], gz_path[96];

static void
rm_gz(void)
{
	unlink(gz_path);
	rmdir(gz_dir);
}

/* A name ending in .gz for the input file: a symlink to it. */
static const char *
gz_name(const char *path)
{
	if (!gz_path[0]) {
		strcpy(gz_dir, "/tmp/fuzz-bleu.XXXXXX");
		if (mkdtemp(gz_dir) == NULL)
			abort();
		snprintf(gz_path, sizeof(gz_path), "%s/ref.gz", gz_dir);
		if (symlink(path, gz_path) < 0)
			abort();
		atexit(rm_gz);
	}
	return gz_path;
}

static void
log_none(const char *msg)
{
	(void)msg;
}

/* BLEU and chrF of hyps against refs[0..nr) segment by segment. */
static void
score(const struct sq_bleu_opts *o, const struct sq_bleu_chrf_opts *co,
    const struct sq_bleu_segs *hyps, const struct sq_bleu_segs *refs,
    size_t nr)
{
	struct sq_bleu *b = sq_bleu_new(o);
	struct sq_bleu_chrf *c = sq_bleu_chrf_new(co);
	struct sq_bleu_stats acc = {0}, st;
	struct sq_bleu_score s;
	struct sq_bleu_uspan rr[4];
	int64_t cst[64] = {0}, csum[64] = {0};
	size_t k = sq_bleu_chrf_n_stats(co);

	for (size_t i = 0; i < hyps->n; i++) {
		for (size_t r = 0; r < nr; r++)
			rr[r] = refs[r].s[i];
		sq_bleu_segment(b, &st, hyps->s[i], rr, nr);
		sq_bleu_add(&acc, &st);
		sq_bleu_chrf_segment(c, cst, hyps->s[i], rr, nr);
		for (size_t j = 0; j < k; j++)
			csum[j] += cst[j];
	}
	sq_bleu_compute(&s, &acc, o, SQ_BLEU_NUM_INT);
	fz_sink += (unsigned)s.score;
	fz_sink += (unsigned)sq_bleu_chrf_score(co, csum, SQ_BLEU_NUM_INT);
	sq_bleu_chrf_free(c);
	sq_bleu_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sq_bleu_opts o = {0};
	struct sq_bleu_chrf_opts co = {6, 0, 2, 0, 0, 0};
	struct sq_bleu_segs refs[4] = {{0}};
	struct sq_bleu_lines lines;
	struct sq_bleu_system *sys;
	const char *path;
	size_t nr, n_sys, r;
	int opt, fd;

	if (size < 1)
		return 0;
	opt = data[0];
	nr = 1 + (opt & 3);
	o.tok = (enum sq_bleu_tok_kind)((opt >> 2 & 7) % 5);
	o.lowercase = co.lowercase = opt >> 5 & 1;
	co.word_order = opt >> 5 & 1 ? 2 : 0;
	path = fz_file(0, data + 1, size - 1);
	if (opt >> 6 & 1)
		path = gz_name(path);
	memset(&lines, 0, sizeof(lines));
	if (sq_bleu_corpus_refs(refs, &lines, &path, 1, nr) == 0 && refs[0].n)
		score(&o, &co, &refs[0], refs, nr);
	for (r = 0; r < nr; r++)
		sq_bleu_segs_free(&refs[r]);
	sq_bleu_lines_free(&lines);

	if (!(opt >> 7 & 1))
		return 0;
	if ((fd = open(fz_file(0, data + 1, size - 1), O_RDONLY)) < 0 ||
	    dup2(fd, 0) < 0)
		abort();
	close(fd);
	clearerr(stdin);
	rewind(stdin);
	if (sq_bleu_corpus_systems(&sys, &n_sys, NULL, 0, 1, opt & 1, 1,
	    log_none) == 0) {
		for (size_t s = 1; s < n_sys; s++)
			score(&o, &co, &sys[s].hyp, &sys[0].hyp, 1);
		sq_bleu_systems_free(sys, n_sys);
	}
	return 0;
}
