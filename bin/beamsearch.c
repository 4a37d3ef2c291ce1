/*
 * beamsearch: memory streams to tokens streams by beam search
 * (man/beamsearch.1).  Reads windows of sentences (lib/search/engine;
 * a window ends early when the input pauses: streaming),
 * cuts each into batches of similar source length, runs lib/beam over
 * lib/decoder for each batch (sq_beam_decoder_step: one decoder step
 * serves every live hypothesis of the batch), and writes each sentence's
 * n-best group in input order.  With --marian, or by default for a model
 * that records Marian's settings, the options not given come from
 * lib/search/marian_search, which also bans ids and sets the length rule.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "search/beam.h"
#include "base/cli.h"
#include "search/decoding.h"
#include "search/engine.h"
#include "search/marian_search.h"
#include "nn/model.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qv] [-k size] [-a alpha] [-n nbest] [-m model] [-t threads]\n" \
"       [--marian | --no-marian] [--length-norm power|gnmt] [--word-penalty w]\n" \
"       [--no-repeat-ngram n] [--max-len [a,]b] [--min-len n] [--batch-size n]\n" \
"       [--batch-tokens n] [--monotonic w] [--dtype t] [--scores] [--text]\n" \
"       [file ...]"
#define HELP \
"  -k, --beam-size N        hypotheses kept per sentence (default 4)\n" \
"  -a, --alpha A            length normalisation exponent (default 1)\n" \
"      --marian             Marian's search: no UNK or control byte pieces, at\n" \
"                           most ceil(F*source length) tokens, the model's\n" \
"                           marian.* settings as defaults, else -k 12 -a 0 F 3\n" \
"                           (default: on for a model that records them)\n" \
"      --no-marian          seqpipe's search and defaults even for such a model\n" \
"      --length-norm KIND   power: L^A; gnmt: ((5+L)/6)^A (default power)\n" \
"      --word-penalty W     subtract W per token before normalising (default 0)\n" \
"  -n, --nbest N            write the N best of each sentence (default 1)\n" \
"      --no-repeat-ngram N  never repeat an N-gram in a hypothesis (default 0: off)\n" \
"      --max-len [A,]B      at most A*source length+B tokens, EOS included (default 2,10)\n" \
"      --min-len N          no EOS before N tokens (default 0)\n" \
"      --batch-size N       sentences decoded together (default 32)\n" \
"      --batch-tokens N     and at most N source tokens, padding counted (default 0: any)\n" \
"      --monotonic W        monotonic attention: no source position more than W\n" \
"                           before the last step's focus (default: off)\n" \
"      --dtype T            weights in f32, f16 or int8 (default: int8 for a\n" \
"                           model stored in int8, else f32)\n" \
"      --scores             store each token's log-probability\n" \
"      --text               write text ids, one line per hypothesis\n" \
"  -m, --model FILE         the model (default: $SEQPIPE_MODEL, else the stream's)\n" \
"  -t, --threads N          threads (default: the online cores)\n" \
"  -q, --quiet              accepted; there are no notes\n" \
"  -v, --verbose            echo the command line\n" \
"  -h, --help               print this help and exit\n" \
"  -V, --version            print the version and exit\n"

enum {
	OPT_NORM = 256, OPT_WP, OPT_NGRAM, OPT_MAXLEN, OPT_MINLEN, OPT_BSIZE,
	OPT_BTOKENS, OPT_DTYPE, OPT_SCORES, OPT_TEXT, OPT_MARIAN, OPT_NO_MARIAN,
	OPT_MONOTONIC
};

static const struct option longopts[] = {
	{ "beam-size", required_argument, NULL, 'k' },
	{ "alpha", required_argument, NULL, 'a' },
	{ "marian", no_argument, NULL, OPT_MARIAN },
	{ "no-marian", no_argument, NULL, OPT_NO_MARIAN },
	{ "length-norm", required_argument, NULL, OPT_NORM },
	{ "word-penalty", required_argument, NULL, OPT_WP },
	{ "nbest", required_argument, NULL, 'n' },
	{ "no-repeat-ngram", required_argument, NULL, OPT_NGRAM },
	{ "max-len", required_argument, NULL, OPT_MAXLEN },
	{ "min-len", required_argument, NULL, OPT_MINLEN },
	{ "batch-size", required_argument, NULL, OPT_BSIZE },
	{ "batch-tokens", required_argument, NULL, OPT_BTOKENS },
	{ "monotonic", required_argument, NULL, OPT_MONOTONIC },
	{ "dtype", required_argument, NULL, OPT_DTYPE },
	{ "scores", no_argument, NULL, OPT_SCORES },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	SQ_CLI_LONGOPTS
};

/* Sentences per window: enough batches to sort by length. */
#define WINDOW_BATCHES 8

/* Options a model's Marian settings do not override. */
enum { GIVEN_K = 1, GIVEN_ALPHA = 2, GIVEN_WP = 4, GIVEN_MAXLEN = 8 };

struct opts {
	struct sq_beam_opts beam;
	struct sq_maxlen maxlen;
	int min_len;
	int batch_size;
	long batch_tokens;
	int scores, text;
	int window;		/* --monotonic's, -1 off */
	int dtype;		/* enum sq_weight_dtype */
	int marian;		/* 1 --marian, 0 --no-marian, -1 as the model */
	unsigned given;		/* GIVEN_* */
	struct sq_marian_search ms;	/* if marian is 1 */
};

/* The batch being decoded, (batch_size) each. */
struct batch {
	const float **mem;
	const int32_t **src;
	int *src_len, *steps, *min_len;
};

/* A window's plan and results, kept until they go out in input order. */
struct results {
	int cap;		/* window sentences the arrays hold */
	int *order, *start_at, *len;	/* (cap), (cap + 1), (cap): the plan */
	struct sq_record *recs;	/* (cap, nbest); ids set when written */
	size_t *off;		/* (cap, nbest) of the ids in ids[] */
	int *n_hyps;		/* (cap) */
	int32_t *ids;
	float *logp;		/* each id's log-prob */
	size_t n_ids, cap_ids;
};

/* Sizes res for a window of n sentences. */
static void
reserve(struct results *res, int n, int nbest)
{
	if (n <= res->cap)
		return;
	res->cap = n;
	res->order = sq_reallocarray(res->order, n, sizeof(int));
	res->start_at = sq_reallocarray(res->start_at, n + 1, sizeof(int));
	res->len = sq_reallocarray(res->len, n, sizeof(int));
	res->recs = sq_reallocarray(res->recs, (size_t)n * nbest,
	    sizeof(*res->recs));
	res->off = sq_reallocarray(res->off, (size_t)n * nbest,
	    sizeof(*res->off));
	res->n_hyps = sq_reallocarray(res->n_hyps, n, sizeof(int));
}

static void
keep_hyps(struct results *res, struct sq_beam *bs, int bi, int i, int nbest,
    uint64_t key)
{
	const struct sq_beam_hyp *h;
	int n = sq_beam_hyps(bs, bi, &h), j;

	res->n_hyps[i] = n;
	for (j = 0; j < n; j++) {
		size_t at = (size_t)i * nbest + j;
		struct sq_record *rec = &res->recs[at];

		if (res->n_ids + h[j].n_ids > res->cap_ids) {
			res->cap_ids = SQ_MAX(res->n_ids + h[j].n_ids,
			    2 * res->cap_ids);
			res->ids = sq_reallocarray(res->ids, res->cap_ids,
			    sizeof(int32_t));
			res->logp = sq_reallocarray(res->logp, res->cap_ids,
			    sizeof(float));
		}
		if (h[j].n_ids > 0) {	/* else res->ids may still be NULL */
			memcpy(res->ids + res->n_ids, h[j].ids,
			    h[j].n_ids * sizeof(int32_t));
			memcpy(res->logp + res->n_ids, h[j].token_logp,
			    h[j].n_ids * sizeof(float));
		}
		memset(rec, 0, sizeof(*rec));
		rec->kind = SQ_REC_TOKENS;
		rec->key = key;
		rec->rank = j;
		rec->score = h[j].score;
		rec->n_ids = h[j].n_ids;
		res->off[at] = res->n_ids;
		res->n_ids += h[j].n_ids;
	}
}

/* Whether Marian would translate x as empty without searching. */
static int
marian_empty(const struct opts *o, const struct sq_memsent *x)
{
	return o->marian > 0 && sq_marian_empty_source(&o->ms, x->src,
	    x->n_src);
}

/* Decodes one batch (sentences order[0..n)) into res. */
static void
run_batch(const struct opts *o, const struct sq_model *m, struct batch *b,
    struct sq_beam_decoder *bd, struct sq_beam *bs,
    const struct sq_memsent *s, const int *order, int n, struct results *res)
{
	int i, most = 0;

	for (i = 0; i < n; i++) {
		const struct sq_memsent *x = &s[order[i]];

		b->mem[i] = x->mem;
		b->src[i] = x->src;
		b->src_len[i] = x->rows;
		b->steps[i] = marian_empty(o, x) ? 0 :
		    sq_maxlen_steps(&o->maxlen, x->rows, m);
		b->min_len[i] = o->min_len;
		most = SQ_MAX(most, b->steps[i]);
	}
	if (sq_beam_decoder_begin(bd, n, b->mem, b->src, b->src_len,
	    most) < 0 ||
	    sq_beam_run(bs, n, b->steps, b->min_len, sq_beam_decoder_step,
	    bd) < 0)
		sq_die("%s", sq_errstr());
	for (i = 0; i < n; i++) {
		keep_hyps(res, bs, i, order[i], o->beam.nbest, s[order[i]].key);
		/* Marian's empty translation is a forced </s>: L = 1 */
		if (marian_empty(o, &s[order[i]]))
			res->recs[(size_t)order[i] * o->beam.nbest].score =
			    sq_beam_score(&o->beam, 0, 1);
	}
}

static void
write_results(struct results *res, int n, const struct opts *o,
    struct sq_writer *w)
{
	int i, j, nbest = o->beam.nbest;

	for (i = 0; i < n; i++)
		for (j = 0; j < res->n_hyps[i]; j++) {
			size_t at = (size_t)i * nbest + j;
			struct sq_record *rec = &res->recs[at];

			rec->ids = res->ids + res->off[at];
			rec->token_scores = o->scores ? res->logp + res->off[at] :
			    NULL;
			if (sq_stream_write(w, rec) < 0)
				sq_die("<stdout>: %s", sq_errstr());
		}
}

static void
check_nbest(const struct opts *o)
{
	if (o->beam.nbest > o->beam.beam_size)
		sq_usage_error("--nbest %d: more than the beam size %d%s",
		    o->beam.nbest, o->beam.beam_size, o->marian > 0 &&
		    !(o->given & GIVEN_K) ? " (Marian's default; -k sets it)" :
		    "");
}

static void
parse(int argc, char *argv[], struct opts *o, struct sq_cli *cli)
{
	int ch;

	while ((ch = getopt_long(argc, argv, "k:a:n:m:t:qvhV", longopts,
	    NULL)) != -1)
		switch (ch) {
		case 'k':
			o->beam.beam_size = sq_parse_long("-k", optarg, 1, 1024);
			o->given |= GIVEN_K;
			break;
		case 'a':
			o->beam.alpha = sq_parse_double("--alpha", optarg, -10, 10);
			o->given |= GIVEN_ALPHA;
			break;
		case OPT_MARIAN: o->marian = 1; break;
		case OPT_NO_MARIAN: o->marian = 0; break;
		case OPT_NORM:
			if (strcmp(optarg, "power") == 0)
				o->beam.norm = SQ_BEAM_NORM_POWER;
			else if (strcmp(optarg, "gnmt") == 0)
				o->beam.norm = SQ_BEAM_NORM_GNMT;
			else
				sq_usage_error("--length-norm: '%s' is not "
				    "power or gnmt", optarg);
			break;
		case OPT_WP:
			o->beam.word_penalty = sq_parse_double("--word-penalty",
			    optarg, -1e6, 1e6);
			o->given |= GIVEN_WP;
			break;
		case 'n':
			o->beam.nbest = sq_parse_long("--nbest", optarg, 1, 1024);
			break;
		case OPT_NGRAM:
			o->beam.no_repeat_ngram = sq_parse_long(
			    "--no-repeat-ngram", optarg, 0, 1024);
			break;
		case OPT_MAXLEN:
			if (sq_maxlen_parse(&o->maxlen, optarg) < 0)
				sq_usage_error("--max-len: %s", sq_errstr());
			o->given |= GIVEN_MAXLEN;
			break;
		case OPT_MINLEN:
			o->min_len = sq_parse_long("--min-len", optarg, 0, 1 << 20);
			break;
		case OPT_BSIZE:
			o->batch_size = sq_parse_long("--batch-size", optarg, 1,
			    1 << 16);
			break;
		case OPT_BTOKENS:
			o->batch_tokens = sq_parse_long("--batch-tokens", optarg,
			    0, 1L << 30);
			break;
		case OPT_MONOTONIC:
			o->window = sq_parse_long("--monotonic", optarg, 0,
			    1 << 20);
			break;
		case OPT_DTYPE:
			o->dtype = sq_parse_choice("--dtype", optarg,
			    sq_weight_dtype_names, SQ_W_N);
			break;
		case OPT_SCORES: o->scores = 1; break;
		case OPT_TEXT: o->text = 1; break;
		case 'm': cli->model = optarg; break;
		case 't':
			cli->threads = sq_parse_long("-t", optarg, 1, 1024);
			break;
		default: sq_cli_option(cli, ch);
		}
	if (o->given & GIVEN_K || o->marian == 0)	/* else known at the model */
		check_nbest(o);
}

/*
 * Marian's settings of model m, under the options given, if o asks for
 * them or m records them.
 */
static void
marian_defaults(struct opts *o, const struct sq_model *m)
{
	if (o->marian == 0 || (o->marian < 0 && !sq_marian_recorded(m))) {
		o->marian = 0;
		return;
	}
	o->marian = 1;
	if (sq_marian_search_get(&o->ms, m) < 0)
		sq_die("%s", sq_errstr());
	if (!(o->given & GIVEN_K))
		o->beam.beam_size = o->ms.beam_size;
	if (!(o->given & GIVEN_ALPHA))
		o->beam.alpha = o->ms.alpha;
	if (!(o->given & GIVEN_WP))
		o->beam.word_penalty = o->ms.word_penalty;
	if (!(o->given & GIVEN_MAXLEN))
		o->maxlen = (struct sq_maxlen){ o->ms.max_length_factor, 0, 1 };
	o->beam.banned = o->ms.banned;
	o->beam.n_banned = o->ms.n_banned;
}

/* The search and the batch, for model m, at the first window. */
static struct sq_beam *
start(struct opts *o, const struct sq_engine *e, struct sq_beam_decoder **bd,
    struct batch *b)
{
	const struct sq_model *m = e->m;
	struct sq_beam *bs;

	if (m->cfg.arch == SQ_ARCH_RNN && o->window >= 0)
		sq_die("%s: --monotonic acts on the Transformer's "
		    "cross-attention, not an arch rnn model's", m->path);
	marian_defaults(o, m);
	check_nbest(o);
	o->beam.start_id = m->cfg.decoder_start_id;
	o->beam.eos_id = m->cfg.eos_id;
	o->beam.n_vocab = m->cfg.tgt_vocab_size;
	if ((bs = sq_beam_new(&o->beam)) == NULL)
		sq_die("%s: %s", m->path, sq_errstr());
	*bd = sq_beam_decoder_new(m, e->pool, o->batch_size, o->beam.beam_size);
	sq_beam_decoder_set_monotonic(*bd, o->window);
	b->mem = sq_reallocarray(NULL, o->batch_size, sizeof(*b->mem));
	b->src = sq_reallocarray(NULL, o->batch_size, sizeof(*b->src));
	b->src_len = sq_reallocarray(NULL, o->batch_size, sizeof(int));
	b->steps = sq_reallocarray(NULL, o->batch_size, sizeof(int));
	b->min_len = sq_reallocarray(NULL, o->batch_size, sizeof(int));
	return bs;
}

int
main(int argc, char *argv[])
{
	struct opts o = {
		.beam = { .beam_size = 4, .nbest = 1, .alpha = 1 },
		.maxlen = { .a = 2, .b = 10 },
		.batch_size = 32,
		.window = -1,
		.marian = -1,
		.dtype = SQ_W_AUTO,
	};
	struct sq_cli cli = { 0 };
	struct sq_engine e = { .in_kind = SQ_STREAM_MEMORY,
	    .out_kind = SQ_STREAM_TOKENS };
	struct results res = { 0 };
	struct batch batch = { 0 };
	const struct sq_memsent *s;
	struct sq_beam_decoder *bd = NULL;
	struct sq_beam *bs = NULL;
	int n, nb, b, i, window;

	sq_cli_begin(&argv[0], USAGE, HELP);
	parse(argc, argv, &o, &cli);
	sq_cli_echo(&cli, argc, argv);
	e.model_path = sq_cli_model(&cli);
	e.threads = sq_cli_threads(&cli);
	e.paths = argv + optind;
	e.n_paths = argc - optind;
	e.mode = o.text ? SQ_WRITE_TEXT : SQ_WRITE_BINARY;
	e.dtype = o.dtype;

	/* sentences with positions; the empty ones come along uncounted */
	window = o.batch_size * WINDOW_BATCHES;
	while ((n = sq_engine_window(&e, window, &s)) > 0) {
		if (bs == NULL)
			bs = start(&o, &e, &bd, &batch);
		reserve(&res, n, o.beam.nbest);
		for (i = 0; i < n; i++)
			res.len[i] = s[i].rows;
		nb = sq_batch_plan(res.order, res.start_at, res.len, n,
		    o.batch_size, o.batch_tokens);
		res.n_ids = 0;
		for (b = 0; b < nb; b++)
			run_batch(&o, e.m, &batch, bd, bs, s,
			    res.order + res.start_at[b],
			    res.start_at[b + 1] - res.start_at[b], &res);
		write_results(&res, n, &o, e.w);
		if (sq_writer_flush(e.w) < 0)
			sq_die("<stdout>: %s", sq_errstr());
	}
	if (n < 0)
		sq_die("%s", sq_errstr());
	free(res.order); free(res.start_at); free(res.len);
	free(res.recs); free(res.off); free(res.n_hyps);
	free(res.ids); free(res.logp);
	free(batch.mem); free(batch.src); free(batch.src_len); free(batch.steps);
	free(batch.min_len);
	sq_beam_decoder_free(bd);
	sq_beam_free(bs);
	sq_marian_search_free(&o.ms);
	sq_engine_close(&e);
	return sq_fshut(stdout, "<stdout>");
}
