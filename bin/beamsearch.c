/*
 * beamsearch: memory streams to tokens streams by beam search
 * (man/beamsearch.1).  Reads windows of sentences, cuts each into batches
 * of similar source length, runs lib/beam over lib/decoder for each batch
 * (one decoder step serves every live hypothesis of the batch), and
 * writes each sentence's n-best group in input order.
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "search/beam.h"
#include "base/cli.h"
#include "nn/decoder.h"
#include "search/decoding.h"
#include "search/engine.h"
#include "nn/model.h"
#include "base/pool.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qv] [-k size] [-a alpha] [-n nbest] [-m model] [-t threads]\n" \
"       [--length-norm power|gnmt] [--word-penalty w] [--no-repeat-ngram n]\n" \
"       [--max-len [a,]b] [--min-len n] [--batch-size n] [--batch-tokens n]\n" \
"       [--scores] [--text] [file ...]"
#define HELP \
"  -k, --beam-size N        hypotheses kept per sentence (default 4)\n" \
"  -a, --alpha A            length normalisation exponent (default 1)\n" \
"      --length-norm KIND   power: L^A; gnmt: ((5+L)/6)^A (default power)\n" \
"      --word-penalty W     subtract W per token before normalising (default 0)\n" \
"  -n, --nbest N            write the N best of each sentence (default 1)\n" \
"      --no-repeat-ngram N  never repeat an N-gram in a hypothesis (default 0: off)\n" \
"      --max-len [A,]B      at most A*source length+B tokens, EOS included (default 2,10)\n" \
"      --min-len N          no EOS before N tokens (default 0)\n" \
"      --batch-size N       sentences decoded together (default 32)\n" \
"      --batch-tokens N     and at most N source tokens, padding counted (default 0: any)\n" \
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
	OPT_BTOKENS, OPT_SCORES, OPT_TEXT
};

static const struct option longopts[] = {
	{ "beam-size", required_argument, NULL, 'k' },
	{ "alpha", required_argument, NULL, 'a' },
	{ "length-norm", required_argument, NULL, OPT_NORM },
	{ "word-penalty", required_argument, NULL, OPT_WP },
	{ "nbest", required_argument, NULL, 'n' },
	{ "no-repeat-ngram", required_argument, NULL, OPT_NGRAM },
	{ "max-len", required_argument, NULL, OPT_MAXLEN },
	{ "min-len", required_argument, NULL, OPT_MINLEN },
	{ "batch-size", required_argument, NULL, OPT_BSIZE },
	{ "batch-tokens", required_argument, NULL, OPT_BTOKENS },
	{ "scores", no_argument, NULL, OPT_SCORES },
	{ "text", no_argument, NULL, OPT_TEXT },
	{ "model", required_argument, NULL, 'm' },
	{ "threads", required_argument, NULL, 't' },
	SQ_CLI_LONGOPTS
};

/* Sentences per window: enough batches to sort by length. */
#define WINDOW_BATCHES 8

struct opts {
	struct sq_beam_opts beam;
	struct sq_maxlen maxlen;
	int min_len;
	int batch_size;
	long batch_tokens;
	int scores, text;
};

/* The step function over the decoder (lib/search/beam.h's contract). */
struct stepper {
	struct sq_decoder *dec;
	int n_sent;		/* rows after sq_decoder_begin() */
	float *logp;		/* (batch_size * k, Vt) */
	/* the batch, (batch_size) each */
	const float **mem;
	int *src_len, *steps, *min_len;
};

static float *
dec_step(void *ctx, const struct sq_beam_step *st)
{
	struct stepper *sp = ctx;

	/* at t 0 row i is sentence i; sentences with no step are left out */
	if (st->t > 0 || st->n_rows != sp->n_sent) {
		if (sq_decoder_select(sp->dec, st->t > 0 ? st->parent : st->sent,
		    st->n_rows) < 0)
			return NULL;
	}
	if (sq_decoder_step(sp->dec, st->ids, sp->logp) < 0)
		return NULL;
	return sp->logp;
}

/* A window's results, kept until they go out in input order. */
struct results {
	struct sq_record *recs;	/* (window, nbest); ids set when written */
	size_t *off;		/* (window, nbest) of the ids in ids[] */
	int *n_hyps;		/* (window) */
	int32_t *ids;
	float *logp;		/* each id's log-prob */
	size_t n_ids, cap_ids;
};

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
		memcpy(res->ids + res->n_ids, h[j].ids,
		    h[j].n_ids * sizeof(int32_t));
		memcpy(res->logp + res->n_ids, h[j].token_logp,
		    h[j].n_ids * sizeof(float));
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

/* Decodes one batch (sentences order[0..n)) into res. */
static void
run_batch(const struct opts *o, const struct sq_model *m, struct stepper *sp,
    struct sq_beam *bs, const struct sq_memsent *s, const int *order, int n,
    struct results *res)
{
	int i, most = 0;

	for (i = 0; i < n; i++) {
		const struct sq_memsent *x = &s[order[i]];

		sp->mem[i] = x->mem;
		sp->src_len[i] = x->rows;
		sp->steps[i] = sq_maxlen_steps(&o->maxlen, x->n_src, m);
		sp->min_len[i] = o->min_len;
		most = SQ_MAX(most, sp->steps[i]);
	}
	if (sq_decoder_begin(sp->dec, n, sp->mem, sp->src_len,
	    n * o->beam.beam_size, most) < 0)
		sq_die("%s", sq_errstr());
	sp->n_sent = n;
	if (sq_beam_run(bs, n, sp->steps, sp->min_len, dec_step, sp) < 0)
		sq_die("%s", sq_errstr());
	for (i = 0; i < n; i++)
		keep_hyps(res, bs, i, order[i], o->beam.nbest, s[order[i]].key);
}

/*
 * The output stream, opened at the first record (none for no input).  Its
 * header names the model by absolute path, as encode's and decode's do,
 * so that detok finds it from any directory.
 */
static struct sq_writer *
writer(struct sq_writer **w, const struct sq_model *m, int text)
{
	char hint[4096];

	if (*w == NULL && (*w = sq_writer_open(stdout, SQ_STREAM_TOKENS,
	    m->model_id, sq_engine_hint(m->path, hint, sizeof(hint)),
	    text ? SQ_WRITE_TEXT : SQ_WRITE_BINARY)) == NULL)
		sq_die("%s", sq_errstr());
	return *w;
}

static void
write_results(struct results *res, int n, const struct opts *o,
    const struct sq_model *m, struct sq_writer **w)
{
	int i, j, nbest = o->beam.nbest;

	for (i = 0; i < n; i++)
		for (j = 0; j < res->n_hyps[i]; j++) {
			size_t at = (size_t)i * nbest + j;
			struct sq_record *rec = &res->recs[at];

			rec->ids = res->ids + res->off[at];
			rec->token_scores = o->scores ? res->logp + res->off[at] :
			    NULL;
			if (sq_stream_write(writer(w, m, o->text), rec) < 0)
				sq_die("<stdout>: %s", sq_errstr());
		}
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
			break;
		case 'a':
			o->beam.alpha = sq_parse_double("--alpha", optarg, -10, 10);
			break;
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
		case OPT_SCORES: o->scores = 1; break;
		case OPT_TEXT: o->text = 1; break;
		case 'm': cli->model = optarg; break;
		case 't':
			cli->threads = sq_parse_long("-t", optarg, 1, 1024);
			break;
		default: sq_cli_option(cli, ch);
		}
	if (o->beam.nbest > o->beam.beam_size)
		sq_usage_error("--nbest %d: more than the beam size %d",
		    o->beam.nbest, o->beam.beam_size);
}

int
main(int argc, char *argv[])
{
	struct opts o = {
		.beam = { .beam_size = 4, .nbest = 1, .alpha = 1 },
		.maxlen = { 2, 10 },
		.batch_size = 32,
	};
	struct sq_cli cli = { 0 };
	struct results res = { 0 };
	struct stepper sp = { 0 };
	const struct sq_memsent *s;
	const struct sq_model *m;
	struct sq_memin *in;
	struct sq_writer *w = NULL;
	struct sq_beam *bs;
	struct sq_pool *pool;
	int n, nb, b, i, window, *order, *start, *len;

	sq_cli_begin(argv[0], USAGE, HELP);
	parse(argc, argv, &o, &cli);
	sq_cli_echo(&cli, argc, argv);
	argc -= optind;
	argv += optind;

	if ((in = sq_memin_open(argc, argv, sq_cli_model(&cli))) == NULL)
		sq_die("%s", sq_errstr());
	if ((m = sq_memin_model(in)) == NULL) {	/* and no records */
		if (sq_memin_read(in, 1, &s) != 0)
			sq_die("%s", sq_errstr());
		sq_memin_close(in);
		return sq_fshut(stdout, "<stdout>");
	}
	o.beam.start_id = m->cfg.decoder_start_id;
	o.beam.eos_id = m->cfg.eos_id;
	o.beam.n_vocab = m->cfg.tgt_vocab_size;
	if ((bs = sq_beam_new(&o.beam)) == NULL)
		sq_die("%s: %s", m->path, sq_errstr());
	pool = sq_pool_new(sq_cli_threads(&cli));
	sp.dec = sq_decoder_new(m, pool);
	sp.logp = sq_reallocarray(NULL, (size_t)o.batch_size *
	    o.beam.beam_size, sizeof(float) * m->cfg.tgt_vocab_size);
	sp.mem = sq_reallocarray(NULL, o.batch_size, sizeof(*sp.mem));
	sp.src_len = sq_reallocarray(NULL, o.batch_size, sizeof(int));
	sp.steps = sq_reallocarray(NULL, o.batch_size, sizeof(int));
	sp.min_len = sq_reallocarray(NULL, o.batch_size, sizeof(int));

	window = o.batch_size * WINDOW_BATCHES;
	order = sq_reallocarray(NULL, window, sizeof(int));
	start = sq_reallocarray(NULL, window + 1, sizeof(int));
	len = sq_reallocarray(NULL, window, sizeof(int));
	res.recs = sq_reallocarray(NULL, (size_t)window * o.beam.nbest,
	    sizeof(*res.recs));
	res.off = sq_reallocarray(NULL, (size_t)window * o.beam.nbest,
	    sizeof(*res.off));
	res.n_hyps = sq_reallocarray(NULL, window, sizeof(int));
	while ((n = sq_memin_read(in, window, &s)) > 0) {
		for (i = 0; i < n; i++)
			len[i] = s[i].rows;
		nb = sq_batch_plan(order, start, len, n, o.batch_size,
		    o.batch_tokens);
		res.n_ids = 0;
		for (b = 0; b < nb; b++)
			run_batch(&o, m, &sp, bs, s, order + start[b],
			    start[b + 1] - start[b], &res);
		write_results(&res, n, &o, m, &w);
	}
	if (n < 0)
		sq_die("%s", sq_errstr());
	sq_writer_close(w);
	free(order); free(start); free(len);
	free(res.recs); free(res.off); free(res.n_hyps);
	free(res.ids); free(res.logp);
	free(sp.logp); free(sp.mem); free(sp.src_len); free(sp.steps);
	free(sp.min_len);
	sq_decoder_free(sp.dec);
	sq_pool_free(pool);
	sq_beam_free(bs);
	sq_memin_close(in);
	return sq_fshut(stdout, "<stdout>");
}
