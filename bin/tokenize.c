/*
 * tokenize: text lines to a tokens stream with SentencePiece (lib/io/spm.h).
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
 * to the line number it starts at, tokenize as the whole does.  With
 * --keyed each line brings its key ("KEY TAB TEXT"), so that shards cut
 * anywhere (GNU parallel --block, whose -N miscounts a shard that starts
 * with an empty line) need no first key.
 *
 * Lines are read in batches, which lib/segment segments on a thread pool
 * and hands back in order, so the output does not depend on the number
 * of threads.  A batch ends early when the input is idle (no whole line
 * can be read without waiting: lib/io/inbuf), and its records go out at
 * once with a flush record (streaming, man/seqpipe.7).  An error stops
 * the output at the line that caused it, as if the lines were done one
 * by one.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/pool.h"
#include "io/inbuf.h"
#include "io/segment.h"
#include "io/spm.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qv] [-m model | --spm file] [-t threads] " \
	"[--text | --pieces] [--bos] [--eos] [-k key | --keyed] " \
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
"      --keyed         each line is KEY TAB TEXT: KEY is its record's key\n" \
"                      (default: the line number, from --first-key)\n" \
"  -n, --nbest N       the N best segmentations per line, with scores\n" \
"                      (default: 1, the best only)\n" \
"      --alpha A       sample one segmentation per line, smoothing A\n" \
"                      (default: no sampling)\n" \
"      --nbest-size N  sample from the N best; -1: from all (default: -1)\n" \
"      --seed S        seed of the sampling, applied per line (default: 0)\n" \
"  -q, --quiet         accepted; there are no notes\n" \
"  -v, --verbose       echo the command line on stderr\n" \
"  -h, --help          this help\n" \
"  -V, --version       the version\n"

/* A batch ends after this many lines or bytes of text. */
#define BATCH_LINES 4096
#define BATCH_BYTES (4 << 20)

enum { OPT_SPM = 256, OPT_TEXT, OPT_PIECES, OPT_BOS, OPT_EOS, OPT_ALPHA,
	OPT_NBEST_SIZE, OPT_SEED, OPT_KEYED };

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "spm", required_argument, NULL, OPT_SPM },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "pieces", no_argument, NULL, OPT_PIECES },
	{ "bos", no_argument, NULL, OPT_BOS },
	{ "eos", no_argument, NULL, OPT_EOS },
	{ "first-key", required_argument, NULL, 'k' },
	{ "keyed", no_argument, NULL, OPT_KEYED },
	{ "nbest", required_argument, NULL, 'n' },
	{ "alpha", required_argument, NULL, OPT_ALPHA },
	{ "nbest-size", required_argument, NULL, OPT_NBEST_SIZE },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "threads", required_argument, NULL, 't' },
	SQ_CLI_LONGOPTS
};

/* Segments the batch on the pool and writes it in order; then empties it. */
static void
flush(struct sq_segment *seg, struct sq_writer *w, const char *name,
    uint64_t *key, unsigned long long *lineno)
{
	struct sq_record rec = { .kind = SQ_REC_TOKENS };
	struct sq_segment_item it;
	size_t n = sq_segment_lines(seg), fail;
	int rc;

	if (sq_segment_run(seg, *key) < 0)
		sq_die("%s", sq_errstr());
	while ((rc = sq_segment_next(seg, &it, &fail)) > 0) {
		if (!w) {
			fwrite(it.text, 1, it.n, stdout);
			putchar('\n');
			sq_check_write(stdout, "<stdout>");
			continue;
		}
		rec.key = it.key;
		rec.rank = it.rank;
		rec.score = it.score;
		rec.ids = it.ids;
		rec.n_ids = it.n;
		if (sq_stream_write(w, &rec) < 0)
			sq_die("<stdout>: %s", sq_errstr());
	}
	if (rc < 0)
		sq_die("%s: line %llu: %s", name, *lineno + fail, sq_errstr());
	*key += n;
	*lineno += n;
}

/*
 * Before tokenize waits for input: the stream's flush record, or the
 * pieces printed so far, out now.
 */
static void
out_pause(struct sq_writer *w)
{
	if (w ? sq_writer_pause(w) < 0 : fflush(stdout) != 0)
		sq_die("<stdout>: write error:");
}

/*
 * A --keyed line "KEY\tTEXT": sets *key (decimal, at most LONG_MAX) and
 * *skip (the bytes before TEXT).  Returns 0, or -1 if the line is not so.
 */
static int
split_key(const char *line, size_t len, uint64_t *key, size_t *skip)
{
	uint64_t k = 0;
	size_t i;

	for (i = 0; i < len && line[i] >= '0' && line[i] <= '9'; i++) {
		if (k > ((uint64_t)LONG_MAX - 9) / 10)
			return -1;
		k = 10 * k + (uint64_t)(line[i] - '0');
	}
	if (i == 0 || i == len || line[i] != '\t')
		return -1;
	*key = k;
	*skip = i + 1;
	return 0;
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
	struct sq_segment_opts o = { .nbest = 1, .nbest_size = -1 };
	const char *spm_path = NULL;
	struct sq_writer *w = NULL;
	struct sq_pool *pool;
	struct sq_segment *seg;
	struct sq_spm *spm;
	uint64_t key = 0;
	unsigned long long lineno;
	int ch, text = 0, bos = 0, eos = 0, have_size = 0, keyed = 0, have_key = 0;
	int i, rc, idle, err;
	char id[256], *hint, *line;
	size_t len, skip = 0;
	uint64_t line_key;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "k:m:n:t:qvhV", longopts, NULL)) != -1)
		switch (ch) {
		case 'm': cli.model = optarg; break;
		case OPT_SPM: spm_path = optarg; break;
		case OPT_TEXT: text = 1; break;
		case OPT_PIECES: o.pieces = 1; break;
		case OPT_BOS: bos = 1; break;
		case OPT_EOS: eos = 1; break;
		case 'k':
			key = sq_parse_long("--first-key", optarg, 0, LONG_MAX);
			have_key = 1;
			break;
		case OPT_KEYED: keyed = 1; break;
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
	if (keyed && have_key)
		sq_usage_error("--keyed and --first-key exclude each other");
	if (have_size && !o.sample)
		sq_usage_error("--nbest-size needs --alpha");
	if (o.sample && o.nbest > 1)
		sq_usage_error("--nbest and --alpha exclude each other");
	if (o.pieces && (o.sample || o.nbest > 1 || text))
		sq_usage_error("--pieces goes with neither --text, --nbest "
		    "nor --alpha");
	sq_cli_echo(&cli, argc, argv);

	pool = sq_pool_new(sq_cli_threads(&cli));
	spm = load_spm(spm_path, spm_path ? NULL : sq_cli_model(&cli), id,
	    sizeof(id), &hint);
	eos = eos || sq_spm_model_eos(spm);	/* Marian models end with </s> */
	if (sq_spm_set_options(spm, bos && eos ? "bos:eos" : bos ? "bos" :
	    eos ? "eos" : "", NULL) < 0)
		sq_die("%s", sq_errstr());
	seg = sq_segment_new(spm, pool, &o);
	/* big buffers: the lines are short and many */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!o.pieces && !(w = sq_writer_open(stdout, SQ_STREAM_TOKENS, id,
	    hint, text ? SQ_WRITE_TEXT : SQ_WRITE_BINARY)))
		sq_die("%s", sq_errstr());

	for (i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : NULL;
		const char *name = sq_input_name(path);
		struct sq_inbuf in = { 0 };
		FILE *f;

		if (!(f = sq_fopen_input(path)))
			sq_die("%s:", name);
		in.fd = fileno(f);
		lineno = 1;
		while ((rc = sq_inbuf_line(&in, SIZE_MAX, &line, &len)) > 0) {
			/* no text starts so: a stream was piped in by mistake */
			if (sq_segment_lines(seg) == 0 && lineno == 1 &&
			    len >= 4 &&
			    memcmp(line, SQ_STREAM_MAGIC, 4) == 0)
				sq_die("%s: a seqpipe stream, not text", name);
			if (keyed) {
				size_t at = sq_segment_lines(seg);

				if (split_key(line, len, &line_key, &skip) < 0) {
					/* the lines before it are output */
					flush(seg, w, name, &key, &lineno);
					sq_die("%s: line %llu: not KEY TAB TEXT "
					    "(--keyed)", name, lineno);
				}
				/* a batch holds consecutive keys */
				if (at > 0 && line_key != key + at)
					flush(seg, w, name, &key, &lineno);
				if (sq_segment_lines(seg) == 0)
					key = line_key;
			}
			sq_segment_add(seg, line + skip, len - skip);
			idle = !sq_inbuf_line_ready(&in);
			if (idle || sq_segment_lines(seg) == BATCH_LINES ||
			    sq_segment_bytes(seg) >= BATCH_BYTES)
				flush(seg, w, name, &key, &lineno);
			if (idle)	/* streaming: the lines so far, out */
				out_pause(w);
		}
		/* the lines read before a read error still go out */
		err = rc < 0 ? errno : 0;
		flush(seg, w, name, &key, &lineno);
		sq_inbuf_free(&in);
		if (err)
			sq_die("%s: line %llu: %s", name, lineno, strerror(err));
		if (f != stdin)
			fclose(f);
	}
	if (w)
		sq_writer_close(w);
	sq_segment_free(seg);
	sq_pool_free(pool);
	free(hint);
	return sq_fshut(stdout, "<stdout>");
}
