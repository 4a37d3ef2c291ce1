/*
 * decode: memory stream to tokens stream, one hypothesis per sentence:
 * greedy (the arg-max token, ties to the smaller id), or sampled
 * (--temperature, --top-k, --top-p, seeded per record key), optionally
 * continuing forced prefixes (--prefix), or scoring given targets
 * (--score).  Sentences are decoded in batches of --batch-size, one
 * decoder row each; a finished sentence leaves the batch at once.  Output
 * ids never hold EOS; the score is the sum of the log-probabilities of
 * the tokens chosen, EOS's included when it was reached.  A hypothesis
 * that never reaches EOS stops after its maximum length and is output.
 */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decoder.h"
#include "decoding.h"
#include "engine.h"
#include "model.h"
#include "pool.h"
#include "sample.h"
#include "stream.h"
#include "util.h"

#define USAGE "[-qv] [-m model] [-t threads] [--batch-size n] " \
    "[--max-len [a,]b] [--min-len n] [--temperature t] [--top-k k] " \
    "[--top-p p] [--seed s] [--scores] [--alignment] [--no-unk] " \
    "[--prefix file | --score file] [--text] [file ...]"
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
"      --prefix FILE      tokens stream of forced target prefixes\n" \
"      --score FILE       tokens stream of targets to score, not decode\n" \
"      --text             write ids as text, one line per sentence\n" \
"  -q, --quiet            no notes on stderr\n" \
"  -v, --verbose          echo the command line on stderr\n" \
"  -h, --help             print this help and exit\n" \
"  -V, --version          print the version and exit\n"

enum {
	OPT_BATCH_SIZE = 256, OPT_MAX_LEN, OPT_MIN_LEN, OPT_TEMPERATURE,
	OPT_TOP_K, OPT_TOP_P, OPT_SEED, OPT_SCORES, OPT_ALIGNMENT, OPT_NO_UNK,
	OPT_PREFIX, OPT_SCORE, OPT_TEXT
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
	{ "prefix", required_argument, NULL, OPT_PREFIX },
	{ "score", required_argument, NULL, OPT_SCORE },
	{ "text", no_argument, NULL, OPT_TEXT },
	SQ_CLI_LONGOPTS
};

/* One sentence of a batch: its input, then its hypothesis. */
struct sent {
	uint64_t key;
	int n_src;
	int32_t *src;		/* (n_src) */
	float *mem;		/* (n_src, D) */
	int32_t *forced;	/* (n_forced) prefix or target, or NULL */
	int n_forced;
	int max_steps;
	struct sq_sample_rng rng;
	int32_t *ids;		/* (max_steps) output */
	float *tok_scores;	/* (max_steps) */
	float *align;		/* (max_steps, n_src) with --alignment */
	int n;			/* ids so far */
	double score;
	int done;
};

struct decode {
	struct sq_cli cli;
	int batch_size;
	struct sq_maxlen max_len;
	int min_len;
	int sampling, scores, alignment, no_unk, mode;
	uint64_t seed;
	const char *forced_path;	/* --prefix or --score */
	int scoring;			/* --score */
	struct sq_sampler sampler;

	struct sq_model *m;
	struct sq_pool *pool;
	struct sq_decoder *dec;
	struct sq_writer *w;
	struct sq_reader *forced;	/* the --prefix/--score stream */
	char hint[4096];		/* model path for the output header */
	uint64_t n_forced;		/* its records read */

	struct sent *s;			/* (batch_size) */
	int n;
	float *logp;			/* (batch_size, Vt) */
	int32_t *tok;			/* (batch_size) next input per row */
	int *keep;			/* (batch_size) parent rows */
};

/* Steps sentence s may take: --max-len, a target's length + 1, positions. */
static int
steps_for(const struct decode *d, const struct sent *s)
{
	const struct sq_config *c = &d->m->cfg;
	int limit = c->max_positions - c->position_offset;
	int want;

	if (d->scoring)
		want = s->n_forced + 1;
	else {
		want = sq_maxlen_steps(&d->max_len, s->n_src, d->m);
		if (s->forced != NULL)
			want = SQ_MAX(want, s->n_forced + 1);
	}
	return SQ_MIN(want, limit);
}

/* The forced prefix or target of the record with key key. */
static void
read_forced(struct decode *d, struct sent *s)
{
	struct sq_record rec;
	int rc = sq_stream_next(d->forced, &rec);

	if (rc < 0)
		sq_die("%s", sq_errstr());
	if (rc == 0 || rec.key != s->key)
		sq_die("%s: record %llu: %s, the memory stream has key %llu "
		    "here", d->forced_path, (unsigned long long)d->n_forced,
		    rc == 0 ? "missing" : "another key",
		    (unsigned long long)s->key);
	d->n_forced++;
	s->n_forced = rec.n_ids;
	s->forced = sq_malloc((rec.n_ids + 1) * sizeof(int32_t));
	if (rec.n_ids > 0)
		memcpy(s->forced, rec.ids, rec.n_ids * sizeof(int32_t));
}

/* The token row r (sentence s) takes from its log-probs lp (Vt). */
static int32_t
choose(struct decode *d, struct sent *s, float *lp)
{
	const struct sq_config *c = &d->m->cfg;
	int V = c->tgt_vocab_size, v;
	int32_t best;

	if (d->scoring)
		return s->n < s->n_forced ? s->forced[s->n] : c->eos_id;
	if (s->forced != NULL && s->n < s->n_forced)
		return s->forced[s->n];
	if (d->no_unk && c->unk_id >= 0)
		lp[c->unk_id] = -INFINITY;
	if (s->n < d->min_len)
		lp[c->eos_id] = -INFINITY;
	if (d->sampling) {
		best = sq_sample(&d->sampler, lp, V, &s->rng);
		return best >= 0 ? best : c->eos_id;
	}
	for (best = 0, v = 1; v < V; v++)
		if (lp[v] > lp[best])
			best = v;
	return best;
}

static void
write_batch(struct decode *d)
{
	struct sq_record rec;
	int i;

	for (i = 0; i < d->n; i++) {
		struct sent *s = &d->s[i];

		memset(&rec, 0, sizeof(rec));
		rec.kind = SQ_REC_TOKENS;
		rec.key = s->key;
		rec.score = (float)s->score;
		rec.n_ids = s->n;
		rec.ids = s->ids;
		rec.token_scores = d->scores ? s->tok_scores : NULL;
		if (sq_stream_write(d->w, &rec) < 0)
			sq_die("<stdout>: %s", sq_errstr());
		if (d->alignment && d->mode != SQ_WRITE_TEXT) {
			rec.kind = SQ_REC_ALIGN;
			rec.rows = s->n;
			rec.cols = s->n_src;
			rec.data = s->align;
			if (sq_stream_write(d->w, &rec) < 0)
				sq_die("<stdout>: %s", sq_errstr());
		}
		free(s->src), free(s->mem), free(s->forced), free(s->ids);
		free(s->tok_scores), free(s->align);
	}
	d->n = 0;
}

/* Decodes the batch: every row one step at a time until all are done. */
static void
run_batch(struct decode *d)
{
	const struct sq_config *c = &d->m->cfg;
	int V = c->tgt_vocab_size, i, r, rows, kept, max_steps = 0, S;
	const float **mem = sq_malloc((d->n + 1) * sizeof(*mem));
	int *len = sq_malloc((d->n + 1) * sizeof(int));
	const float *al;

	for (i = 0; i < d->n; i++) {
		mem[i] = d->s[i].mem;
		len[i] = d->s[i].n_src;
		max_steps = SQ_MAX(max_steps, d->s[i].max_steps);
		d->tok[i] = c->decoder_start_id;
	}
	if (sq_decoder_begin(d->dec, d->n, mem, len, d->n, max_steps) < 0)
		sq_die("%s", sq_errstr());
	sq_decoder_set_align(d->dec, d->alignment);
	/* a sentence allowed no step at all is done as it is */
	for (i = 0, kept = 0; i < d->n; i++)
		if (d->s[i].max_steps > 0)
			d->keep[kept++] = i;
		else
			d->s[i].done = 1;
	while ((rows = kept) > 0) {
		if (sq_decoder_select(d->dec, d->keep, rows) < 0 ||
		    sq_decoder_step(d->dec, d->tok, d->logp) < 0)
			sq_die("%s", sq_errstr());
		al = sq_decoder_align(d->dec, &S);
		for (r = 0, kept = 0; r < rows; r++) {
			struct sent *s = &d->s[sq_decoder_sentence(d->dec, r)];
			float *lp = d->logp + (long)r * V;
			int32_t t = choose(d, s, lp);

			s->score += lp[t];
			if (t == c->eos_id) {
				s->done = 1;
				continue;
			}
			if (al != NULL)
				memcpy(s->align + (long)s->n * s->n_src,
				    al + (long)r * S, s->n_src * sizeof(float));
			s->tok_scores[s->n] = lp[t];
			s->ids[s->n++] = t;
			if (s->n >= s->max_steps) {
				s->done = 1;
				continue;
			}
			d->keep[kept] = r;
			d->tok[kept++] = t;
		}
	}
	free(mem);
	free(len);
	write_batch(d);
}

static void
start(struct decode *d, const struct sq_reader *r)
{
	const char *path = sq_cli_model(&d->cli);

	if ((d->m = sq_engine_model(path, r)) == NULL)
		sq_die("%s", sq_errstr());
	d->pool = sq_pool_new(sq_cli_threads(&d->cli));
	d->dec = sq_decoder_new(d->m, d->pool);
	d->w = sq_writer_open(stdout, SQ_STREAM_TOKENS, d->m->model_id,
	    sq_engine_hint(path ? path : sq_stream_info(r)->model_path,
	    d->hint, sizeof(d->hint)), d->mode);
	if (d->w == NULL)
		sq_die("%s", sq_errstr());
	d->s = sq_calloc(d->batch_size, sizeof(*d->s));
	d->logp = sq_reallocarray(NULL, (size_t)d->batch_size *
	    d->m->cfg.tgt_vocab_size, sizeof(float));
	d->tok = sq_calloc(d->batch_size, sizeof(*d->tok));
	d->keep = sq_calloc(d->batch_size, sizeof(*d->keep));
	if (d->forced_path != NULL &&
	    (d->forced = sq_stream_open(d->forced_path, SQ_STREAM_TOKENS)) ==
	    NULL)
		sq_die("%s", sq_errstr());
	if (d->forced != NULL &&
	    sq_stream_check_model(d->forced, d->m->model_id) < 0)
		sq_die("%s", sq_errstr());
}

/* Takes one memory record into the batch, decoding the batch when full. */
static void
add(struct decode *d, const char *name, uint64_t n_rec,
    const struct sq_record *rec)
{
	const struct sq_config *c = &d->m->cfg;
	struct sent *s;
	uint32_t t;

	if (rec->cols != (uint32_t)c->d_model || rec->rows != rec->n_src)
		sq_die("%s: record %llu (key %llu): memory of %u x %u for %u "
		    "source tokens, the model needs %u x %d", name,
		    (unsigned long long)n_rec, (unsigned long long)rec->key,
		    rec->rows, rec->cols, rec->n_src, rec->n_src, c->d_model);
	if (rec->n_src > (uint32_t)(c->max_positions - c->position_offset))
		sq_die("%s: record %llu (key %llu): %u source positions, the "
		    "model has %d", name, (unsigned long long)n_rec,
		    (unsigned long long)rec->key, rec->n_src,
		    c->max_positions - c->position_offset);
	for (t = 0; t < (uint32_t)rec->rows * rec->cols; t++)
		if (!isfinite(rec->data[t]))
			sq_die("%s: record %llu (key %llu): memory holds %g",
			    name, (unsigned long long)n_rec,
			    (unsigned long long)rec->key, rec->data[t]);
	s = &d->s[d->n++];
	memset(s, 0, sizeof(*s));
	s->key = rec->key;
	s->n_src = rec->n_src;
	s->src = sq_malloc((rec->n_src + 1) * sizeof(int32_t));
	s->mem = sq_malloc(((size_t)rec->rows * rec->cols + 1) * sizeof(float));
	if (rec->n_src > 0) {
		memcpy(s->src, rec->src, rec->n_src * sizeof(int32_t));
		memcpy(s->mem, rec->data, (size_t)rec->rows * rec->cols *
		    sizeof(float));
	}
	if (d->forced != NULL)
		read_forced(d, s);
	for (t = 0; t < (uint32_t)s->n_forced; t++)
		if (s->forced[t] < 0 || s->forced[t] >= c->tgt_vocab_size)
			sq_die("%s: record %llu (key %llu): id %d outside the "
			    "target vocabulary [0, %d)", d->forced_path,
			    (unsigned long long)(d->n_forced - 1),
			    (unsigned long long)s->key, (int)s->forced[t],
			    c->tgt_vocab_size);
	s->max_steps = steps_for(d, s);
	if (d->scoring && s->n_forced + 1 > s->max_steps)
		sq_warn("%s: record %llu (key %llu): a target of %d tokens, "
		    "the model has %d positions: scoring the first %d",
		    d->forced_path, (unsigned long long)(d->n_forced - 1),
		    (unsigned long long)s->key, s->n_forced, s->max_steps,
		    s->max_steps);
	sq_sample_seed(&s->rng, d->seed, s->key);
	s->ids = sq_malloc((s->max_steps + 1) * sizeof(int32_t));
	s->tok_scores = sq_malloc((s->max_steps + 1) * sizeof(float));
	if (d->alignment)
		s->align = sq_calloc((size_t)s->max_steps * s->n_src + 1,
		    sizeof(float));
	if (d->n == d->batch_size)
		run_batch(d);
}

static void
decode_file(struct decode *d, const char *path)
{
	struct sq_reader *r = sq_stream_open(path, SQ_STREAM_MEMORY);
	const char *name = sq_input_name(path);
	struct sq_record rec;
	uint64_t n = 0;
	int rc;

	if (r == NULL)
		sq_die("%s", sq_errstr());
	if (d->m != NULL && sq_stream_check_model(r, d->m->model_id) < 0)
		sq_die("%s", sq_errstr());
	while ((rc = sq_stream_next(r, &rec)) == 1) {
		if (d->m == NULL)
			start(d, r);
		add(d, name, n++, &rec);
	}
	if (rc < 0)
		sq_die("%s", sq_errstr());
	sq_stream_close(r);
}

int
main(int argc, char *argv[])
{
	struct decode d = { .batch_size = 32, .max_len = { 2, 10 },
	    .sampler = { .temperature = 1, .top_p = 1 } };
	int ch, i;

	sq_cli_begin(argv[0], USAGE, HELP);
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
			if (sq_maxlen_parse(&d.max_len, optarg) < 0)
				sq_usage_error("--max-len: %s", sq_errstr());
			break;
		case OPT_MIN_LEN:
			d.min_len = sq_parse_long("--min-len", optarg, 0,
			    1 << 20);
			break;
		case OPT_TEMPERATURE:
			d.sampler.temperature = sq_parse_double(
			    "--temperature", optarg, 1e-6, 1e6);
			d.sampling = 1;
			break;
		case OPT_TOP_K:
			d.sampler.top_k = sq_parse_long("--top-k", optarg, 1,
			    1 << 30);
			d.sampling = 1;
			break;
		case OPT_TOP_P:
			d.sampler.top_p = sq_parse_double("--top-p", optarg,
			    1e-9, 1);
			d.sampling = 1;
			break;
		case OPT_SEED:
			d.seed = sq_parse_long("--seed", optarg, 0, LONG_MAX);
			break;
		case OPT_SCORES: d.scores = 1; break;
		case OPT_ALIGNMENT: d.alignment = 1; break;
		case OPT_NO_UNK: d.no_unk = 1; break;
		case OPT_PREFIX: case OPT_SCORE:
			if (d.forced_path != NULL)
				sq_usage_error("--prefix and --score exclude "
				    "each other");
			d.forced_path = optarg;
			d.scoring = ch == OPT_SCORE;
			break;
		case OPT_TEXT: d.mode = SQ_WRITE_TEXT; break;
		default: sq_cli_option(&d.cli, ch);
		}
	if (d.scoring && d.sampling)
		sq_usage_error("--score excludes sampling options");
	if (d.alignment && d.mode == SQ_WRITE_TEXT)
		sq_usage_error("--alignment needs a binary output (no --text)");
	sq_cli_echo(&d.cli, argc, argv);
	if (optind == argc)
		decode_file(&d, NULL);
	for (i = optind; i < argc; i++)
		decode_file(&d, argv[i]);
	if (d.m != NULL) {
		if (d.n > 0)
			run_batch(&d);
		sq_writer_close(d.w);
	}
	sq_stream_close(d.forced);
	sq_sampler_free(&d.sampler);
	sq_decoder_free(d.dec);
	sq_pool_free(d.pool);
	sq_model_close(d.m);
	free(d.s), free(d.logp), free(d.tok), free(d.keep);
	return sq_fshut(stdout, "<stdout>");
}
