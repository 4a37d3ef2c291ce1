/*
 * decode: memory stream to tokens stream, one hypothesis per sentence
 * (man/decode.1): greedy, sampled (--temperature, --top-k, --top-p,
 * seeded per record key), continuing forced prefixes (--prefix), or
 * scoring given targets (--score), or a non-autoregressive model's
 * one-pass decoding (--nat: lib/search/nat_search), by lib/greedy in batches of
 * --batch-size (a partial batch as soon as the input pauses: streaming,
 * lib/search/engine.h).  Checks each memory record and forced record
 * against the model, and writes the hypotheses (and alignments) in input
 * order.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "search/decoding.h"
#include "search/engine.h"
#include "search/greedy.h"
#include "nn/model.h"
#include "search/sample.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qv] [-m model] [-t threads] [--batch-size n] " \
    "[--max-len [a,]b] [--min-len n] [--temperature t] [--top-k k] " \
    "[--top-p p] [--seed s] [--scores] [--alignment] [--no-unk] " \
    "[--monotonic w] [--nat] [--nat-lengths l] " \
    "[--prefix file | --score file] [--dtype t] [--text] [file ...]"
#define HELP \
"  -m, --model FILE       model file (default: $SEQPIPE_MODEL, else the one\n" \
"                         the input stream names)\n" \
"  -t, --threads N        threads (default: the online cores)\n" \
"      --batch-size N     sentences decoded together (default: 32)\n" \
"      --max-len [A,]B    at most A*source_length+B tokens (default: 2,10)\n" \
"      --min-len N        no EOS before N tokens (default: 0)\n" \
"      --temperature T    sample, from softmax(logits/T) (default: greedy)\n" \
"      --top-k K          sample among the K most probable (default: all)\n" \
"      --top-p P          sample from the nucleus of mass P (default: 1)\n" \
"      --seed S           seed of the sampling, per record key (default: 0)\n" \
"      --scores           per-token log-probabilities in the output\n" \
"      --alignment        cross-attention weights as alignment records\n" \
"      --no-unk           never output the UNK token\n" \
"      --monotonic W      monotonic attention: no source position more than W\n" \
"                         before the last step's focus (default: off)\n" \
"      --nat              a non-autoregressive model (train --nat): every\n" \
"                         position at once, for the best of its lengths\n" \
"      --nat-lengths L    length candidates decoded, the best kept (default: 3)\n" \
"      --prefix FILE      tokens stream of forced target prefixes\n" \
"      --score FILE       tokens stream of targets to score, not decode\n" \
"      --dtype T          weights in f32, f16 or int8 (default: int8 for a\n" \
"                         model stored in int8, else f32)\n" \
"      --text             write ids as text, one line per sentence\n" \
"  -q, --quiet            no warning of a --score target cut to the positions\n" \
"  -v, --verbose          echo the command line on stderr\n" \
"  -h, --help             print this help and exit\n" \
"  -V, --version          print the version and exit\n"

enum {
	OPT_BATCH_SIZE = 256, OPT_MAX_LEN, OPT_MIN_LEN, OPT_TEMPERATURE,
	OPT_TOP_K, OPT_TOP_P, OPT_SEED, OPT_SCORES, OPT_ALIGNMENT, OPT_NO_UNK,
	OPT_PREFIX, OPT_SCORE, OPT_DTYPE, OPT_TEXT, OPT_MONOTONIC, OPT_NAT,
	OPT_NAT_LENGTHS
};

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	{ "batch-size", required_argument, NULL, OPT_BATCH_SIZE },
	{ "max-len", required_argument, NULL, OPT_MAX_LEN },
	{ "min-len", required_argument, NULL, OPT_MIN_LEN },
	{ "temperature", required_argument, NULL, OPT_TEMPERATURE },
	{ "top-k", required_argument, NULL, OPT_TOP_K },
	{ "top-p", required_argument, NULL, OPT_TOP_P },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "scores", no_argument, NULL, OPT_SCORES },
	{ "alignment", no_argument, NULL, OPT_ALIGNMENT },
	{ "no-unk", no_argument, NULL, OPT_NO_UNK },
	{ "monotonic", required_argument, NULL, OPT_MONOTONIC },
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "score", required_argument, NULL, OPT_SCORE },
	{ "dtype", required_argument, NULL, OPT_DTYPE },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "nat", no_argument, NULL, OPT_NAT },
	{ "nat-lengths", required_argument, NULL, OPT_NAT_LENGTHS },
	SQ_CLI_LONGOPTS
};

struct decode {
	struct sq_cli cli;
	int batch_size;
	struct sq_greedy_opts o;
	int scores;
	const char *forced_path;	/* --prefix or --score */
	struct sq_sampler sampler;

	struct sq_engine eng;		/* model, pool and output */
	struct sq_greedy *g;
	struct sq_reader *forced;	/* the --prefix/--score stream */
	uint64_t n_forced;		/* its records read */
};

/* Decodes the batch and writes its records, in the order read. */
static void
run_batch(struct decode *d)
{
	struct sq_greedy_sent *s;
	struct sq_record rec;
	int i, n;

	if ((n = sq_greedy_run(d->g, &s)) < 0)
		sq_die("%s", sq_errstr());
	for (i = 0; i < n; i++) {
		memset(&rec, 0, sizeof(rec));
		rec.kind = SQ_REC_TOKENS;
		rec.key = s[i].key;
		rec.score = (float)s[i].score;
		rec.n_ids = s[i].n;
		rec.ids = s[i].ids;
		rec.token_scores = d->scores ? s[i].tok_scores : NULL;
		if (sq_stream_write(d->eng.w, &rec) < 0)
			sq_die("<stdout>: %s", sq_errstr());
		if (d->o.alignment && d->eng.mode != SQ_WRITE_TEXT) {
			rec.kind = SQ_REC_ALIGN;
			rec.rows = s[i].n;
			rec.cols = s[i].n_src;
			rec.data = s[i].align;
			if (sq_stream_write(d->eng.w, &rec) < 0)
				sq_die("<stdout>: %s", sq_errstr());
		}
	}
	if (sq_writer_flush(d->eng.w) < 0)
		sq_die("<stdout>: %s", sq_errstr());
	sq_greedy_clear(d->g);
}

/* The decoder and the forced stream, at the first record. */
static void
start(struct decode *d)
{
	const struct sq_model *m = d->eng.m;

	if (m->cfg.nat && d->o.nat_lengths == 0)
		sq_die("%s: a non-autoregressive model (config nat 1): decode "
		    "it with --nat", m->path);
	if (!m->cfg.nat && d->o.nat_lengths > 0)
		sq_die("%s: an autoregressive model (config nat 0): --nat needs "
		    "a model of train --nat", m->path);
	if (m->cfg.arch == SQ_ARCH_RNN && d->o.monotonic)
		sq_die("%s: --monotonic acts on the Transformer's "
		    "cross-attention, not an arch rnn model's", m->path);
	d->g = sq_greedy_new(d->eng.m, d->eng.pool, &d->o, d->batch_size);
	if (d->forced_path != NULL &&
	    (d->forced = sq_stream_open(d->forced_path, SQ_STREAM_TOKENS)) ==
	    NULL)
		sq_die("%s", sq_errstr());
	if (d->forced != NULL &&
	    sq_stream_check_model(d->forced, d->eng.m->model_id) < 0)
		sq_die("%s", sq_errstr());
}

/*
 * The forced prefix or target of memory record mem, checked: 0, or -1
 * with sq_errstr() set.  An empty source's only translation is the empty
 * one (lib/search/decoding.h), so its forced record must be empty: there
 * is nothing to continue, and nothing to score a target against.
 */
static int
read_forced(struct decode *d, const struct sq_record *mem,
    struct sq_record *rec)
{
	uint64_t key = mem->key;
	int rc = sq_stream_next(d->forced, rec);
	uint32_t t;

	if (rc < 0)
		return -1;
	if (rc == 0 || rec->key != key) {
		sq_seterr("%s: record %llu: %s, the memory stream has key %llu "
		    "here", d->forced_path, (unsigned long long)d->n_forced,
		    rc == 0 ? "missing" : "another key",
		    (unsigned long long)key);
		return -1;
	}
	d->n_forced++;
	for (t = 0; t < rec->n_ids; t++)
		if (rec->ids[t] < 0 ||
		    rec->ids[t] >= d->eng.m->cfg.tgt_vocab_size) {
			sq_seterr("%s: record %llu (key %llu): id %d outside "
			    "the target vocabulary [0, %d)", d->forced_path,
			    (unsigned long long)(d->n_forced - 1),
			    (unsigned long long)key, (int)rec->ids[t],
			    d->eng.m->cfg.tgt_vocab_size);
			return -1;
		}
	if (mem->rows == 0 && rec->n_ids > 0) {
		sq_seterr("%s: record %llu (key %llu): a %s of %u tokens for an "
		    "empty source, whose only translation is the empty one",
		    d->forced_path, (unsigned long long)(d->n_forced - 1),
		    (unsigned long long)key, d->o.scoring ? "target" : "prefix",
		    rec->n_ids);
		return -1;
	}
	return 0;
}

/*
 * Takes one memory record into the batch, decoding the batch when full.
 * 0, or -1 with sq_errstr() set when its forced record is bad (the batch
 * keeps the sentences before it).
 */
static int
add(struct decode *d, const struct sq_record *rec)
{
	const struct sq_greedy_sent *s;
	struct sq_record f = { 0 };

	if (d->g == NULL)
		start(d);
	if (d->forced != NULL && read_forced(d, rec, &f) < 0)
		return -1;
	s = sq_greedy_add(d->g, rec->key, rec->rows, rec->src, rec->data,
	    f.ids, d->forced != NULL ? (int)f.n_ids : -1);
	/* (an empty source's target is empty and has no step; a --nat
	   model's target has no EOS) */
	if (d->o.scoring && s->n_src > 0 &&
	    s->n_forced + (d->o.nat_lengths == 0) > s->max_steps)
		sq_note(&d->cli, "%s: record %llu (key %llu): a target of %d "
		    "tokens, the model has %d positions: scoring the first %d",
		    d->forced_path, (unsigned long long)(d->n_forced - 1),
		    (unsigned long long)s->key, s->n_forced, s->max_steps,
		    s->max_steps);
	if (sq_greedy_full(d->g))
		run_batch(d);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct decode d = { .batch_size = 32, .o = { .max_len = { .a = 2, .b = 10 } },
	    .sampler = { .temperature = 1, .top_p = 1 },
	    .eng = { .in_kind = SQ_STREAM_MEMORY,
	    .out_kind = SQ_STREAM_TOKENS, .dtype = SQ_W_AUTO } };
	struct sq_record rec;
	char err[512];
	int ch, rc, nat = 0, nat_lengths = 3;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "m:t:qvhV", longopts, NULL)) !=
	    -1)
		switch (ch) {
		case 'm': d.cli.model = optarg; break;
		case 't':
			d.cli.threads = sq_parse_long("-t", optarg, 1, 1024);
			break;
		case OPT_BATCH_SIZE:
			d.batch_size = sq_parse_long("--batch-size", optarg, 1,
			    1 << 16);
			break;
		case OPT_MAX_LEN:
			if (sq_maxlen_parse(&d.o.max_len, optarg) < 0)
				sq_usage_error("--max-len: %s", sq_errstr());
			break;
		case OPT_MIN_LEN:
			d.o.min_len = sq_parse_long("--min-len", optarg, 0,
			    1 << 20);
			break;
		case OPT_TEMPERATURE:
			d.sampler.temperature = sq_parse_double(
			    "--temperature", optarg, 1e-6, 1e6);
			d.o.sampling = 1;
			break;
		case OPT_TOP_K:
			d.sampler.top_k = sq_parse_long("--top-k", optarg, 1,
			    1 << 30);
			d.o.sampling = 1;
			break;
		case OPT_TOP_P:
			d.sampler.top_p = sq_parse_double("--top-p", optarg,
			    1e-9, 1);
			d.o.sampling = 1;
			break;
		case OPT_SEED:
			d.o.seed = sq_parse_long("--seed", optarg, 0, LONG_MAX);
			break;
		case OPT_SCORES: d.scores = 1; break;
		case OPT_ALIGNMENT: d.o.alignment = 1; break;
		case OPT_NO_UNK: d.o.no_unk = 1; break;
		case OPT_MONOTONIC:
			d.o.window = sq_parse_long("--monotonic", optarg, 0,
			    1 << 20);
			d.o.monotonic = 1;
			break;
		case OPT_PREFIX: case OPT_SCORE:
			if (d.forced_path != NULL)
				sq_usage_error("--prefix and --score exclude "
				    "each other");
			d.forced_path = optarg;
			d.o.scoring = ch == OPT_SCORE;
			break;
		case OPT_DTYPE:
			d.eng.dtype = sq_parse_choice("--dtype", optarg,
			    sq_weight_dtype_names, SQ_W_N);
			break;
		case OPT_TEXT: d.eng.mode = SQ_WRITE_TEXT; break;
		case OPT_NAT: nat = 1; break;
		case OPT_NAT_LENGTHS:
			nat_lengths = sq_parse_long("--nat-lengths", optarg, 1,
			    64);
			nat = 1;
			break;
		default: sq_cli_option(&d.cli, ch);
		}
	if (d.o.scoring && d.o.sampling)
		sq_usage_error("--score excludes sampling options");
	if (nat && (d.o.sampling || d.o.alignment || d.o.monotonic ||
	    (d.forced_path != NULL && !d.o.scoring)))
		sq_usage_error("--nat excludes sampling, --alignment, "
		    "--monotonic and --prefix");
	d.o.nat_lengths = nat ? nat_lengths : 0;
	if (d.o.alignment && d.eng.mode == SQ_WRITE_TEXT)
		sq_usage_error("--alignment needs a binary output (no --text)");
	d.o.sampler = &d.sampler;
	d.eng.model_path = sq_cli_model(&d.cli);
	d.eng.threads = sq_cli_threads(&d.cli);
	d.eng.paths = argv + optind;
	d.eng.n_paths = argc - optind;
	sq_cli_echo(&d.cli, argc, argv);
	while ((rc = sq_engine_next(&d.eng, &rec)) > 0) {
		if (rc == SQ_ENGINE_PAUSE) {	/* streaming */
			if (d.g != NULL && sq_greedy_count(d.g) > 0)
				run_batch(&d);
		} else if (add(&d, &rec) != 0)
			break;
	}
	if (rc != 0)
		snprintf(err, sizeof(err), "%s", rc > 0 ? sq_errstr() :
		    sq_engine_error(&d.eng));
	/* the whole records before an error go out first */
	if (d.g != NULL && sq_greedy_count(d.g) > 0)
		run_batch(&d);
	if (rc != 0)
		sq_die("%s", err);
	sq_stream_close(d.forced);
	sq_sampler_free(&d.sampler);
	sq_greedy_free(d.g);
	sq_engine_close(&d.eng);
	return sq_fshut(stdout, "<stdout>");
}
