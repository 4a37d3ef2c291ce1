/*
 * tokenize: text lines to a tokens stream with SentencePiece (lib/spm.h).
 *
 * Line i (0-based, counted across all operands as if they were cat'ed) is
 * record key i; every line gives one record (or one n-best group), empty
 * lines and a last line without a newline included.  A line is the bytes
 * before '\n' as SentencePiece's spm_encode reads them (std::getline): a
 * '\r' stays in the text and the model's normalizer decides (the default
 * nmt_nfkc makes it a space, and drops trailing spaces); bytes that are
 * not UTF-8 become U+FFFD inside SentencePiece, one per byte.  --text
 * prints what spm_encode --output_format=id prints, byte for byte.
 *
 * Sampling reseeds SentencePiece's generator for every line with a seed
 * derived from --seed and the key, so a line's sample does not depend on
 * what came before it: shards of the input, each run with --first-key set
 * to the line number it starts at, tokenize as the whole does.
 *
 * Lines are read in batches; the threads of a pool (one SentencePiece
 * handle each) segment contiguous shares of a batch into their own
 * buffers, and the main thread writes the shares in order, so the output
 * does not depend on the number of threads.  An error stops the output at
 * the line that caused it, as if the lines were done one by one.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "pool.h"
#include "spm.h"
#include "stream.h"
#include "util.h"

#define USAGE "[-qv] [-m model | --spm file] [-t threads] " \
	"[--text | --pieces] [--bos] [--eos] [-k key] " \
	"[-n N | --alpha A [--nbest-size N] [--seed S]] [file ...]"
#define HELP \
"  -m, --model FILE    seqpipe model file: use its spm.source\n" \
"                      (default: $SEQPIPE_MODEL)\n" \
"      --spm FILE      a SentencePiece .model file instead\n" \
"  -t, --threads N     threads (default: the online cores)\n" \
"      --text          print ids as text, as spm_encode --output_format=id\n" \
"      --pieces        print pieces as text, as --output_format=piece\n" \
"      --bos           begin every line with the BOS id\n" \
"      --eos           end every line with the EOS id\n" \
"  -k, --first-key N   key of the first line, for a shard that starts at\n" \
"                      line N of the whole (default: 0)\n" \
"  -n, --nbest N       the N best segmentations per line, with scores\n" \
"                      (default: 1, the best only)\n" \
"      --alpha A       sample one segmentation per line, smoothing A\n" \
"                      (default: no sampling)\n" \
"      --nbest-size N  sample from the N best; -1: from all (default: -1)\n" \
"      --seed S        seed of the sampling, applied per line (default: 0)\n" \
"  -q, --quiet         no notes on stderr\n" \
"  -v, --verbose       echo the command line on stderr\n" \
"  -h, --help          this help\n" \
"  -V, --version       the version\n"

/* Per-line seeds: golden-ratio steps from the user's seed. */
#define SEED_STEP 0x9E3779B9u
/* A batch ends after this many lines or bytes of text. */
#define BATCH_LINES 4096
#define BATCH_BYTES (4 << 20)

enum { OPT_SPM = 256, OPT_TEXT, OPT_PIECES, OPT_BOS, OPT_EOS, OPT_ALPHA,
	OPT_NBEST_SIZE, OPT_SEED };

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "spm", required_argument, NULL, OPT_SPM },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "pieces", no_argument, NULL, OPT_PIECES },
	{ "bos", no_argument, NULL, OPT_BOS },
	{ "eos", no_argument, NULL, OPT_EOS },
	{ "first-key", required_argument, NULL, 'k' },
	{ "nbest", required_argument, NULL, 'n' },
	{ "alpha", required_argument, NULL, OPT_ALPHA },
	{ "nbest-size", required_argument, NULL, OPT_NBEST_SIZE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, 't' },
	SQ_CLI_LONGOPTS
};

struct opts {
	int pieces;
	int nbest;		/* 1: the best only */
	int sample;
	float alpha;
	int nbest_size;
	uint32_t seed;
};

/* Lines read, back to back without their newlines. */
struct batch {
	char *text;
	size_t len, cap;
	size_t *start;		/* (n + 1): line l is text[start[l], start[l+1]) */
	size_t n, cap_lines;
	uint64_t key;		/* of line 0 */
	unsigned long long lineno;	/* of line 0 in its file, from 1 */
};

/* One record (or line of pieces), pointing into its share's arena. */
struct item {
	uint64_t key;
	uint32_t rank;
	float score;
	size_t at, n;		/* ids[at, at+n), or text[at, at+n) */
};

/* What one thread made of its share of a batch. */
struct share {
	struct sq_spm *spm;	/* the thread's own, from its first lines on */
	int32_t *ids;
	size_t n_ids, cap_ids;
	char *text;
	size_t n_text, cap_text;
	struct item *items;
	size_t n_items, cap_items;
	int failed;
	size_t fail_line;	/* index in the batch */
	char err[512];
};

struct job {
	const struct opts *o;
	const struct batch *b;
	struct share *shares;	/* (threads) */
};

/*
 * p, or p grown, with room for need more of its *cap elements of size;
 * never NULL, so that memcpy() of 0 bytes has a pointer.
 */
static void *
reserve(void *p, size_t *cap, size_t used, size_t need, size_t size)
{
	if (p && used + need <= *cap)
		return p;
	*cap = SQ_MAX(2 * *cap, used + need + 1024);
	return sq_reallocarray(p, *cap, size);
}

/* Appends an item: n ids, or n bytes of text if text is not NULL. */
static void
push(struct share *sh, uint64_t key, uint32_t rank, float score,
    const int32_t *ids, const char *text, size_t n)
{
	struct item *it;

	sh->items = reserve(sh->items, &sh->cap_items, sh->n_items, 1,
	    sizeof(*sh->items));
	it = &sh->items[sh->n_items++];
	*it = (struct item){ .key = key, .rank = rank, .score = score,
	    .n = n };
	if (text) {
		sh->text = reserve(sh->text, &sh->cap_text, sh->n_text, n, 1);
		memcpy(sh->text + sh->n_text, text, n);
		it->at = sh->n_text;
		sh->n_text += n;
	} else {
		sh->ids = reserve(sh->ids, &sh->cap_ids, sh->n_ids, n,
		    sizeof(*ids));
		if (n > 0)	/* an empty line's ids may be NULL */
			memcpy(sh->ids + sh->n_ids, ids, n * sizeof(*ids));
		it->at = sh->n_ids;
		sh->n_ids += n;
	}
}

/* What one input line becomes, by mode; 0 or -1 (sq_errstr() set). */
static int
encode_line(struct share *sh, const struct opts *o, const char *line,
    size_t len, uint64_t key)
{
	const struct sq_spm_cand *cands;
	const int32_t *ids;
	const char *text;
	size_t n, i;
	int rc;

	if (o->pieces) {
		if (sq_spm_encode_pieces(sh->spm, line, len, &text, &n) < 0)
			return -1;
		push(sh, key, 0, NAN, NULL, text, n);
		return 0;
	}
	if (o->nbest > 1) {
		if (sq_spm_nbest(sh->spm, line, len, o->nbest, &cands, &n) < 0)
			return -1;
		for (i = 0; i < n; i++)
			push(sh, key, i, cands[i].score, cands[i].ids, NULL,
			    cands[i].n_ids);
		return 0;
	}
	if (o->sample)
		rc = sq_spm_sample(sh->spm, line, len, o->nbest_size,
		    o->alpha, o->seed + (uint32_t)key * SEED_STEP, &ids, &n);
	else
		rc = sq_spm_encode(sh->spm, line, len, &ids, &n);
	if (rc < 0)
		return -1;
	push(sh, key, 0, NAN, ids, NULL, n);
	return 0;
}

/* Thread i of n: its contiguous share of the batch's lines. */
static void
work(void *arg, int i, int n)
{
	struct job *j = arg;
	const struct batch *b = j->b;
	struct share *sh = &j->shares[i];
	int lo, hi, l;

	sh->n_ids = sh->n_text = sh->n_items = 0;
	sh->failed = 0;
	sq_pool_share((int)b->n, 1, i, n, &lo, &hi);
	for (l = lo; l < hi; l++)
		if (encode_line(sh, j->o, b->text + b->start[l],
		    b->start[l + 1] - b->start[l], b->key + l) < 0) {
			sh->failed = 1;
			sh->fail_line = l;
			snprintf(sh->err, sizeof(sh->err), "%s", sq_errstr());
			return;
		}
}

/*
 * Gives each thread that has lines of the batch to do its own handle,
 * copied from thread 0's when first needed: a copy rebuilds the model
 * (tens of milliseconds), which a one-line job should not wait for.
 */
static void
dup_handles(struct job *j, const struct batch *b, int n_threads)
{
	int i, lo, hi;

	for (i = 1; i < n_threads; i++) {
		sq_pool_share((int)b->n, 1, i, n_threads, &lo, &hi);
		if (lo < hi && j->shares[i].spm == NULL &&
		    !(j->shares[i].spm = sq_spm_dup(j->shares[0].spm)))
			sq_die("%s", sq_errstr());
	}
}

/* Segments the batch on the pool and writes it in order; then empties it. */
static void
flush(struct sq_pool *pool, struct job *j, struct batch *b,
    struct sq_writer *w, const char *name)
{
	struct sq_record rec = { .kind = SQ_REC_TOKENS };
	int i, k;

	if (b->n == 0)
		return;
	dup_handles(j, b, sq_pool_threads(pool));
	sq_pool_run(pool, work, j);
	for (i = 0; i < sq_pool_threads(pool); i++) {
		const struct share *sh = &j->shares[i];

		for (size_t t = 0; t < sh->n_items; t++) {
			const struct item *it = &sh->items[t];

			if (!w) {
				fwrite(sh->text + it->at, 1, it->n, stdout);
				putchar('\n');
				continue;
			}
			rec.key = it->key;
			rec.rank = it->rank;
			rec.score = it->score;
			rec.ids = sh->ids + it->at;
			rec.n_ids = it->n;
			if (sq_stream_write(w, &rec) < 0)
				sq_die("%s", sq_errstr());
		}
		if (sh->failed)
			sq_die("%s: line %llu: %s", name,
			    b->lineno + sh->fail_line, sh->err);
	}
	k = (int)b->n;
	b->key += k;
	b->lineno += k;
	b->n = b->len = 0;
}

/* Appends a line (without its newline) to the batch. */
static void
add_line(struct batch *b, const char *line, size_t len)
{
	b->text = reserve(b->text, &b->cap, b->len, len, 1);
	b->start = reserve(b->start, &b->cap_lines, b->n, 2,
	    sizeof(*b->start));
	memcpy(b->text + b->len, line, len);
	b->start[b->n] = b->len;
	b->len += len;
	b->start[++b->n] = b->len;
}

/*
 * The SentencePiece model, and the stream header's id and path: those of
 * the .model file (--spm) or of the model file (-m) it comes from.
 */
static struct sq_spm *
load_spm(const char *spm_path, const char *model_path, char *id,
    size_t id_size, char **hint)
{
	const char *path = spm_path ? spm_path : model_path;
	struct sq_spm *spm;

	if (!path)
		sq_usage_error("no model: give -m, --spm or set SEQPIPE_MODEL");
	if (spm_path)
		spm = sq_spm_open(spm_path);
	else
		spm = sq_spm_open_model(model_path, 0, id, id_size);
	if (!spm)
		sq_die("%s", sq_errstr());
	if (spm_path)
		snprintf(id, id_size, "%s", sq_spm_model_id(spm));
	if (!(*hint = realpath(path, NULL)))
		*hint = sq_strdup(path);
	return spm;
}

int
main(int argc, char *argv[])
{
	struct sq_cli cli = { 0 };
	struct opts o = { .nbest = 1, .nbest_size = -1 };
	const char *spm_path = NULL;
	struct sq_writer *w = NULL;
	struct sq_pool *pool;
	struct batch b = { 0 };
	struct job j = { .o = &o, .b = &b };
	int ch, text = 0, bos = 0, eos = 0, have_size = 0, i, n_threads;
	char id[256], *hint, *line = NULL;
	size_t cap = 0;
	ssize_t len;

	sq_cli_begin(argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "k:m:n:t:qvhV", longopts, NULL)) != -1)
		switch (ch) {
		case 'm': cli.model = optarg; break;
		case OPT_SPM: spm_path = optarg; break;
		case OPT_TEXT: text = 1; break;
		case OPT_PIECES: o.pieces = 1; break;
		case OPT_BOS: bos = 1; break;
		case OPT_EOS: eos = 1; break;
		case 'k':
			b.key = sq_parse_long("--first-key", optarg, 0, LONG_MAX);
			break;
		case 'n':
			o.nbest = sq_parse_long("--nbest", optarg, 1, 10000);
			break;
		case OPT_ALPHA:
			o.sample = 1;
			o.alpha = sq_parse_double("--alpha", optarg, 0, 1e6);
			break;
		case OPT_NBEST_SIZE:
			have_size = 1;
			o.nbest_size = sq_parse_long("--nbest-size", optarg, -1,
			    INT_MAX);
			break;
		case OPT_SEED:
			o.seed = sq_parse_long("--seed", optarg, 0, UINT32_MAX);
			break;
		case 't':
			cli.threads = sq_parse_long("--threads", optarg, 1, 1024);
			break;
		default: sq_cli_option(&cli, ch);
		}
	if (spm_path && cli.model)
		sq_usage_error("-m and --spm exclude each other");
	if (have_size && !o.sample)
		sq_usage_error("--nbest-size needs --alpha");
	if (o.sample && o.nbest > 1)
		sq_usage_error("--nbest and --alpha exclude each other");
	if (o.pieces && (o.sample || o.nbest > 1 || text))
		sq_usage_error("--pieces goes with neither --text, --nbest "
		    "nor --alpha");
	sq_cli_echo(&cli, argc, argv);

	n_threads = sq_cli_threads(&cli);
	pool = sq_pool_new(n_threads);
	j.shares = sq_calloc(n_threads, sizeof(*j.shares));
	j.shares[0].spm = load_spm(spm_path, spm_path ? NULL :
	    sq_cli_model(&cli), id, sizeof(id), &hint);
	if (sq_spm_set_options(j.shares[0].spm, bos && eos ? "bos:eos" : bos ?
	    "bos" : eos ? "eos" : "", NULL) < 0)
		sq_die("%s", sq_errstr());
	/* big buffers: the lines are short and many */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!o.pieces && !(w = sq_writer_open(stdout, SQ_STREAM_TOKENS, id,
	    hint, text ? SQ_WRITE_TEXT : SQ_WRITE_BINARY)))
		sq_die("%s", sq_errstr());

	for (i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : NULL;
		const char *name = sq_input_name(path);
		FILE *f;

		if (!(f = sq_fopen_input(path)))
			sq_die("%s:", name);
		setvbuf(f, NULL, _IOFBF, 1 << 16);
		b.lineno = 1;
		while ((len = getline(&line, &cap, f)) > 0) {
			if (line[len - 1] == '\n')
				len--;
			/* no text starts so: a stream was piped in by mistake */
			if (b.n == 0 && b.lineno == 1 && len >= 4 &&
			    memcmp(line, SQ_STREAM_MAGIC, 4) == 0)
				sq_die("%s: a seqpipe stream, not text", name);
			add_line(&b, line, len);
			if (b.n == BATCH_LINES || b.len >= BATCH_BYTES)
				flush(pool, &j, &b, w, name);
		}
		if (ferror(f))
			sq_die("%s:", name);
		flush(pool, &j, &b, w, name);
		if (f != stdin)
			fclose(f);
	}
	if (w)
		sq_writer_close(w);
	for (i = 0; i < n_threads; i++) {
		sq_spm_free(j.shares[i].spm);
		free(j.shares[i].ids);
		free(j.shares[i].text);
		free(j.shares[i].items);
	}
	free(j.shares);
	sq_pool_free(pool);
	free(b.text);
	free(b.start);
	free(line);
	free(hint);
	return sq_fshut(stdout, "<stdout>");
}
