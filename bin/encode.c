/*
 * encode: tokens stream (binary or text ids) to memory stream: the
 * Transformer encoder's output for each sentence, keyed and in input
 * order; or, for a model with input frames, frames stream to memory
 * stream.  Sentences are encoded in batches of up to --batch-size
 * sentences and --batch-tokens positions, packed without padding (so no
 * sorting by length is needed: a batch costs its positions, however
 * mixed their lengths); a partial batch as soon as the input pauses
 * (streaming, lib/search/engine.h).  A source longer than the model's
 * positions is cut to them with a note (sq_note(): -q silences it); an
 * empty source gives a memory record of 0 rows; an empty input, an
 * empty output.
 */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "nn/encoder.h"
#include "search/engine.h"
#include "nn/model.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qvz] [-m model] [-t threads] [--batch-size n] " \
    "[--batch-tokens n] [--dtype t] [--text] [file ...]"
#define HELP \
"  -m, --model FILE       model file (default: $SEQPIPE_MODEL, else the one\n" \
"                         the input stream names)\n" \
"  -t, --threads N        threads (default: the online cores)\n" \
"      --batch-size N     sentences per batch (default: 32)\n" \
"      --batch-tokens N   source positions per batch (default: 4096)\n" \
"      --dtype T          weights in f32, f16 or int8 (default: int8 for a\n" \
"                         model stored in int8, else f32)\n" \
"  -z, --compress         compress the records with zlib\n" \
"      --text             write the memory records as text lines\n" \
"  -q, --quiet            no warning of a source cut to the positions\n" \
"  -v, --verbose          echo the command line on stderr\n" \
"  -h, --help             print this help and exit\n" \
"  -V, --version          print the version and exit\n"

enum { OPT_BATCH_SIZE = 256, OPT_BATCH_TOKENS, OPT_DTYPE, OPT_TEXT };

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	{ "batch-size", required_argument, NULL, OPT_BATCH_SIZE },
	{ "batch-tokens", required_argument, NULL, OPT_BATCH_TOKENS },
	{ "dtype", required_argument, NULL, OPT_DTYPE },
	{ "compress", no_argument, NULL, 'z' },
	{ "text", no_argument, NULL, OPT_TEXT },
	SQ_CLI_LONGOPTS
};

/*
 * The sentences waiting to be encoded, copied out of the reader: ids, or
 * with input frames the frames (len frames of frame_dim values each).
 */
struct batch {
	int n, cap;
	int n_empty;		/* of the n, the empty ones: no place taken */
	uint64_t *key;		/* (n) */
	int *len;		/* (n) ids, or frames */
	void **src;		/* (n) each (len) ids or (len, frame_dim) */
	long tokens;		/* encoder positions */
};

struct encode {
	struct sq_cli cli;
	int batch_size;
	long batch_tokens;
	struct sq_engine eng;		/* model, pool and output */
	struct sq_encoder *enc;
	int frames;			/* the model reads frames */
	struct batch b;
};

static void
flush(struct encode *e)
{
	struct batch *b = &e->b;
	struct sq_record rec;
	int i;

	if (b->n == 0)
		return;
	if ((e->frames ? sq_encoder_run_frames(e->enc, b->n,
	    (const float *const *)b->src, b->len) : sq_encoder_run(e->enc,
	    b->n, (const int32_t *const *)b->src, b->len)) < 0)
		sq_die("%s", sq_errstr());	/* sources are checked on input */
	for (i = 0; i < b->n; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.kind = SQ_REC_MEMORY;
		rec.key = b->key[i];
		if (!e->frames) {
			rec.n_src = b->len[i];
			rec.src = b->src[i];
		}
		rec.rows = sq_encoder_rows(e->enc, i);
		rec.cols = e->eng.m->cfg.d_model;
		rec.data = (float *)sq_encoder_out(e->enc, i);
		if (sq_stream_write(e->eng.w, &rec) < 0)
			sq_die("<stdout>: %s", sq_errstr());
		free(b->src[i]);
	}
	if (sq_writer_flush(e->eng.w) < 0)
		sq_die("<stdout>: %s", sq_errstr());
	b->n = b->n_empty = 0;
	b->tokens = 0;
}

/*
 * Takes one tokens (or frames) record into the batch, encoding the batch
 * when full.
 */
static void
add(struct encode *e, const struct sq_record *rec)
{
	struct batch *b = &e->b;
	const struct sq_model *m = e->eng.m;
	int max_len;
	uint32_t len;
	size_t size;
	long rows;

	if (e->enc == NULL) {
		e->enc = sq_encoder_new(m, e->eng.pool);
		e->frames = m->cfg.input == SQ_INPUT_FRAMES;
	}
	max_len = e->frames ? sq_encoder_max_frames(m) : sq_encoder_max_len(m);
	len = e->frames ? rec->rows : rec->n_ids;
	if (len > (uint32_t)max_len) {
		sq_note(&e->cli, "%s: record %llu (key %llu): %u %s, the "
		    "model takes %d: encoding the first %d", e->eng.name,
		    (unsigned long long)e->eng.n_rec,
		    (unsigned long long)rec->key, len, e->frames ? "frames" :
		    "tokens", max_len, max_len);
		len = max_len;
	}
	rows = e->frames ? sq_encoder_frame_rows(m, (int)len) : (long)len;
	if (b->n > 0 && (b->n - b->n_empty == e->batch_size ||
	    b->n == SQ_HELD * e->batch_size ||
	    b->tokens + rows > e->batch_tokens))
		flush(e);
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->key = sq_reallocarray(b->key, b->cap, sizeof(*b->key));
		b->len = sq_reallocarray(b->len, b->cap, sizeof(*b->len));
		b->src = sq_reallocarray(b->src, b->cap, sizeof(*b->src));
	}
	b->key[b->n] = rec->key;
	b->len[b->n] = len;
	size = e->frames ? (size_t)len * m->cfg.frame_dim * sizeof(float) :
	    len * sizeof(int32_t);
	b->src[b->n] = sq_malloc(size + sizeof(float));
	if (len > 0)
		memcpy(b->src[b->n], e->frames ? (void *)rec->data :
		    (void *)rec->ids, size);
	b->tokens += rows;
	b->n_empty += len == 0;
	b->n++;
}

int
main(int argc, char *argv[])
{
	struct encode e = { .batch_size = 32, .batch_tokens = 4096,
	    .eng = { .in_kind = SQ_STREAM_SOURCE,
	    .out_kind = SQ_STREAM_MEMORY, .dtype = SQ_W_AUTO } };
	struct sq_record rec;
	int ch, rc;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "m:t:zqvhV", longopts, NULL)) !=
	    -1)
		switch (ch) {
		case 'm': e.cli.model = optarg; break;
		case 't':
			e.cli.threads = sq_parse_long("-t", optarg, 1, 1024);
			break;
		case OPT_BATCH_SIZE:
			e.batch_size = sq_parse_long("--batch-size", optarg, 1,
			    1 << 20);
			break;
		case OPT_BATCH_TOKENS:
			e.batch_tokens = sq_parse_long("--batch-tokens", optarg,
			    1, INT_MAX);
			break;
		case OPT_DTYPE:
			e.eng.dtype = sq_parse_choice("--dtype", optarg,
			    sq_weight_dtype_names, SQ_W_N);
			break;
		case 'z': e.eng.mode = SQ_WRITE_ZLIB; break;
		case OPT_TEXT: e.eng.mode = SQ_WRITE_TEXT; break;
		default: sq_cli_option(&e.cli, ch);
		}
	e.eng.model_path = sq_cli_model(&e.cli);
	e.eng.threads = sq_cli_threads(&e.cli);
	e.eng.paths = argv + optind;
	e.eng.n_paths = argc - optind;
	sq_cli_echo(&e.cli, argc, argv);
	while ((rc = sq_engine_next(&e.eng, &rec)) > 0)
		if (rc == SQ_ENGINE_PAUSE)	/* streaming: partial batch */
			flush(&e);
		else
			add(&e, &rec);
	/* the whole records before an error go out first */
	if (e.eng.m != NULL)
		flush(&e);
	if (rc < 0)
		sq_die("%s", sq_engine_error(&e.eng));
	sq_encoder_free(e.enc);
	sq_engine_close(&e.eng);
	free(e.b.key), free(e.b.len), free(e.b.src);
	return sq_fshut(stdout, "<stdout>");
}
