/*
 * bleu: BLEU and chrF of translations against references, a drop-in for
 * the sacrebleu 2.6.0 command line: one system (corpus or sentence level,
 * bootstrap confidence intervals) or several (tables, paired bootstrap and
 * approximate randomization tests), in text, JSON or LaTeX.  This file
 * holds the options, sacrebleu's checks and messages, and the order of
 * the work; lib/bleu_*.c do it.  See man/bleu.1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bleu_corpus.h"
#include "bleu_eval.h"
#include "bleu_input.h"
#include "bleu_systems.h"
#include "cli.h"
#include "util.h"

#define USAGE \
	"[-b] [-lc] [-q] [-sh] [-sl] [--force] [-f format] [-m metric ...]\n" \
	"       [-nr n] [-s method] [-sv value] [-tok tokenizer] [-w width]\n" \
	"       [-cc n] [-cw n] [--chrf-beta n] [--chrf-eps-smoothing]\n" \
	"       [--chrf-lowercase] [--chrf-whitespace] [-ci] [-cin n]\n" \
	"       [-par | -pbs] [-parn n] [-pbsn n] [-j n] [-e encoding]\n" \
	"       ref ... [-i hyp ...]"

#define HELP \
	"  -i, --input HYP ...       hypothesis files (default: stdin)\n" \
	"  -nr, --num-refs N         N tab-separated refs per line (1)\n" \
	"  -m, --metrics M ...       bleu and/or chrf (bleu)\n" \
	"  -sl, --sentence-level     a score per line\n" \
	"  -tok, --tokenize T        13a, intl, zh, char or none (13a)\n" \
	"  -s, --smooth-method S     exp, floor, add-k or none (exp)\n" \
	"  -sv, --smooth-value V     floor: 0.1, add-k: 1\n" \
	"  -lc, --lowercase          case-insensitive BLEU (off)\n" \
	"  --force                   no warning on tokenized input (off)\n" \
	"  -cc, --chrf-char-order N  character n-gram order (6)\n" \
	"  -cw, --chrf-word-order N  word n-gram order, 2 is chrF++ (0)\n" \
	"  --chrf-beta N             weight of recall (2)\n" \
	"  --chrf-whitespace         keep whitespace in char n-grams (off)\n" \
	"  --chrf-lowercase          case-insensitive chrF (off)\n" \
	"  --chrf-eps-smoothing      chrF++.py epsilon smoothing (off)\n" \
	"  -ci, --confidence         bootstrap 95% interval (off)\n" \
	"  -cin, --confidence-n N    bootstrap resamples (1000)\n" \
	"  -par, --paired-ar         approximate randomization test (off)\n" \
	"  -pbs, --paired-bs         paired bootstrap test (off)\n" \
	"  -parn, --paired-ar-n N    randomization trials (10000)\n" \
	"  -pbsn, --paired-bs-n N    bootstrap resamples (1000)\n" \
	"  -j, --paired-jobs N       accepted; one process (1)\n" \
	"  -f, --format F            json or text (json; $SACREBLEU_FORMAT)\n" \
	"  -b, --score-only          print the score only (off)\n" \
	"  -w, --width N             decimals of the score (1)\n" \
	"  -sh, --short              short signature (off)\n" \
	"  -e, --encoding E          input encoding, utf-8 only (utf-8)\n" \
	"  -nc, --no-color           accepted; output has no colour\n" \
	"  -q, --quiet               no notes; warnings still print\n" \
	"  -h, --help                this help\n" \
	"  -V, --version             print the version\n"

enum {
	O_INPUT = 256, O_NREFS, O_METRICS, O_SL, O_TOK, O_SMOOTH, O_SV, O_LC,
	O_FORCE, O_CC, O_CW, O_BETA, O_WS, O_CLC, O_EPS, O_FORMAT, O_B, O_W,
	O_SHORT, O_ENC, O_NC, O_Q, O_HELP, O_VERSION, O_CI, O_CIN, O_PAR,
	O_PBS, O_PARN, O_PBSN, O_JOBS,
};

static const struct option longopts[] = {
	{ "input", no_argument, NULL, O_INPUT },
	{ "i", no_argument, NULL, O_INPUT },
	{ "num-refs", required_argument, NULL, O_NREFS },
	{ "nr", required_argument, NULL, O_NREFS },
	{ "metrics", required_argument, NULL, O_METRICS },
	{ "m", required_argument, NULL, O_METRICS },
	{ "sentence-level", no_argument, NULL, O_SL },
	{ "sl", no_argument, NULL, O_SL },
	{ "tokenize", required_argument, NULL, O_TOK },
	{ "tok", required_argument, NULL, O_TOK },
	{ "smooth-method", required_argument, NULL, O_SMOOTH },
	{ "s", required_argument, NULL, O_SMOOTH },
	{ "smooth-value", required_argument, NULL, O_SV },
	{ "sv", required_argument, NULL, O_SV },
	{ "lowercase", no_argument, NULL, O_LC },
	{ "lc", no_argument, NULL, O_LC },
	{ "force", no_argument, NULL, O_FORCE },
	{ "chrf-char-order", required_argument, NULL, O_CC },
	{ "cc", required_argument, NULL, O_CC },
	{ "chrf-word-order", required_argument, NULL, O_CW },
	{ "cw", required_argument, NULL, O_CW },
	{ "chrf-beta", required_argument, NULL, O_BETA },
	{ "chrf-whitespace", no_argument, NULL, O_WS },
	{ "chrf-lowercase", no_argument, NULL, O_CLC },
	{ "chrf-eps-smoothing", no_argument, NULL, O_EPS },
	{ "confidence", no_argument, NULL, O_CI },
	{ "ci", no_argument, NULL, O_CI },
	{ "confidence-n", required_argument, NULL, O_CIN },
	{ "cin", required_argument, NULL, O_CIN },
	{ "paired-ar", no_argument, NULL, O_PAR },
	{ "par", no_argument, NULL, O_PAR },
	{ "paired-bs", no_argument, NULL, O_PBS },
	{ "pbs", no_argument, NULL, O_PBS },
	{ "paired-ar-n", required_argument, NULL, O_PARN },
	{ "parn", required_argument, NULL, O_PARN },
	{ "paired-bs-n", required_argument, NULL, O_PBSN },
	{ "pbsn", required_argument, NULL, O_PBSN },
	{ "paired-jobs", required_argument, NULL, O_JOBS },
	{ "j", required_argument, NULL, O_JOBS },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "f", required_argument, NULL, O_FORMAT },
	{ "score-only", no_argument, NULL, O_B },
	{ "b", no_argument, NULL, O_B },
	{ "width", required_argument, NULL, O_W },
	{ "w", required_argument, NULL, O_W },
	{ "short", no_argument, NULL, O_SHORT },
	{ "sh", no_argument, NULL, O_SHORT },
	{ "encoding", required_argument, NULL, O_ENC },
	{ "e", required_argument, NULL, O_ENC },
	{ "no-color", no_argument, NULL, O_NC },
	{ "nc", no_argument, NULL, O_NC },
	{ "quiet", no_argument, NULL, O_Q },
	{ "q", no_argument, NULL, O_Q },
	{ "help", no_argument, NULL, O_HELP },
	{ "h", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ "V", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char **refs, **inputs;	/* operands, -i files */
	size_t n_refs, n_inputs;
	int has_input, use_bleu, use_chrf, n_metrics;
	long nr, width;
	int sentence, score_only, short_sig, json, latex, force, confidence;
	int quiet;
	int paired;		/* 'b' --paired-bs, 'a' --paired-ar, else 0 */
	long confidence_n, paired_bs_n, paired_ar_n;
	enum sq_metric_kind order[2];	/* -m order, for paired tests */
	size_t n_order;
	struct sq_bleu_opts bleu;
	struct sq_chrf_opts chrf;
};

/* sacrebleu's logged errors: its text, after our name */
static void __attribute__((noreturn))
fail(int status, const char *msg)
{
	sq_warn("%s", msg);
	exit(status);
}

static int
is_operand(const char *s)
{
	return s && (s[0] != '-' || s[1] == '\0');
}

static const char *
push_arg(const char ***v, size_t *n, const char *s)
{
	*v = sq_reallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = s;
	return s;
}

static void
add_metric(struct args *a, const char *m)
{
	if (strcmp(m, "bleu") == 0 && !a->use_bleu)
		a->use_bleu = 1, a->order[a->n_order++] = SQ_METRIC_BLEU;
	else if (strcmp(m, "chrf") == 0 && !a->use_chrf)
		a->use_chrf = 1, a->order[a->n_order++] = SQ_METRIC_CHRF;
	else if (strcmp(m, "bleu") == 0 || strcmp(m, "chrf") == 0)
		;
	else if (strcmp(m, "ter") == 0)
		sq_usage_error("-m ter: TER is not implemented");
	else
		sq_usage_error("-m: '%s': not one of bleu, chrf", m);
	a->n_metrics++;
}

/* -f is case-sensitive (argparse choices), $SACREBLEU_FORMAT is not */
static void
set_format(struct args *a, const char *f, int from_env)
{
	static const char *const names[] = { "json", "text", "latex" };
	int (*cmp)(const char *, const char *) = from_env ? strcasecmp : strcmp;
	int i;

	for (i = 0; i < 3 && cmp(f, names[i]); i++)
		;
	if (i == 3 && !from_env)
		sq_usage_error("-f: '%s': not one of json, text, latex", f);
	if (i < 3) {
		a->json = i == 0;
		a->latex = i == 2;
	}
}

/* Sets what option ch says; sv_set: -sv was given. */
static void
option(struct args *a, int ch, int argc, char *argv[], int *sv_set)
{
	int k;

	switch (ch) {
	case O_INPUT:
		a->has_input = 1;
		while (optind < argc && is_operand(argv[optind]))
			push_arg(&a->inputs, &a->n_inputs, argv[optind++]);
		break;
	case O_NREFS:
		a->nr = sq_parse_long("-nr", optarg, 1, 1000000);
		break;
	case O_METRICS:	/* argparse's nargs='+': the last -m wins */
		a->n_metrics = a->use_bleu = a->use_chrf = 0;
		a->n_order = 0;
		add_metric(a, optarg);
		while (optind < argc && is_operand(argv[optind]))
			add_metric(a, argv[optind++]);
		break;
	case O_SL: a->sentence = 1; break;
	case O_TOK:
		if ((k = sq_bleutok_kind(optarg)) < 0)
			sq_usage_error("-tok: '%s': not one of 13a, intl, zh, "
			    "char, none", optarg);
		a->bleu.tok = (enum sq_bleutok_kind)k;
		break;
	case O_SMOOTH:
		if ((k = sq_bleu_smooth_kind(optarg)) < 0)
			sq_usage_error("-s: '%s': not one of exp, floor, "
			    "add-k, none", optarg);
		a->bleu.smooth = (enum sq_bleu_smooth)k;
		break;
	case O_SV:
		a->bleu.smooth_value = sq_parse_double("-sv", optarg, -1e300,
		    1e300);
		*sv_set = 1;
		break;
	case O_LC: a->bleu.lowercase = 1; break;
	case O_FORCE: a->force = 1; break;
	case O_CC:
		a->chrf.char_order = (int)sq_parse_long("-cc", optarg, 0, 1000);
		break;
	case O_CW:
		a->chrf.word_order = (int)sq_parse_long("-cw", optarg, 0, 1000);
		break;
	case O_BETA:
		a->chrf.beta = (int)sq_parse_long("--chrf-beta", optarg, 0,
		    10000);
		break;
	case O_WS: a->chrf.whitespace = 1; break;
	case O_CLC: a->chrf.lowercase = 1; break;
	case O_EPS: a->chrf.eps_smoothing = 1; break;
	case O_CI: a->confidence = 1; break;
	case O_CIN:
		a->confidence_n = sq_parse_long("-cin", optarg, 0, 100000000);
		break;
	case O_PAR: case O_PBS:
		if (a->paired && a->paired != (ch == O_PAR ? 'a' : 'b'))
			sq_usage_error("--paired-ar and --paired-bs exclude "
			    "each other");
		a->paired = ch == O_PAR ? 'a' : 'b';
		break;
	case O_PARN:
		a->paired_ar_n = sq_parse_long("-parn", optarg, 0, 100000000);
		break;
	case O_PBSN:
		a->paired_bs_n = sq_parse_long("-pbsn", optarg, 0, 100000000);
		break;
	case O_JOBS:	/* one process does it all, fast enough */
		sq_parse_long("-j", optarg, 0, 100000);
		break;
	case O_FORMAT: set_format(a, optarg, 0); break;
	case O_B: a->score_only = 1; break;
	case O_W: a->width = sq_parse_long("-w", optarg, 0, 300); break;
	case O_SHORT: a->short_sig = 1; break;
	case O_ENC:
		if (strcasecmp(optarg, "utf-8") && strcasecmp(optarg, "utf8") &&
		    strcasecmp(optarg, "utf_8"))
			sq_usage_error("-e: '%s': only utf-8 is supported",
			    optarg);
		break;
	case O_Q: a->quiet = 1; break;
	case O_NC: break;
	case O_HELP: sq_help_exit();
	case O_VERSION: sq_version_exit();
	default: sq_usage(stderr, 0); exit(2);
	}
}

/*
 * sacrebleu's argparse command line: operands (the references) and
 * options in any order, except that -i and -m take every operand after
 * them.
 */
static void
parse(struct args *a, int argc, char *argv[])
{
	int ch, sv_set = 0;
	const char *env;

	memset(a, 0, sizeof(*a));
	a->nr = 1;
	a->width = 1;
	a->json = 1;
	a->chrf.char_order = 6;
	a->chrf.beta = 2;
	a->confidence_n = 1000;
	a->paired_bs_n = 1000;
	a->paired_ar_n = 10000;
	while (optind < argc) {
		if (is_operand(argv[optind])) {
			push_arg(&a->refs, &a->n_refs, argv[optind++]);
			continue;
		}
		ch = getopt_long_only(argc, argv, "+", longopts, NULL);
		if (ch == -1)	/* "--" */
			break;
		option(a, ch, argc, argv, &sv_set);
	}
	while (optind < argc)
		push_arg(&a->refs, &a->n_refs, argv[optind++]);
	if (!a->n_metrics) {
		a->use_bleu = a->n_metrics = 1;
		a->order[a->n_order++] = SQ_METRIC_BLEU;
	}
	if (!sv_set)
		a->bleu.smooth_value = sq_bleu_smooth_default(a->bleu.smooth);
	if ((env = getenv("SACREBLEU_FORMAT")) && *env)
		set_format(a, env, 1);
	/* sacrebleu enables effective order for sentence-level BLEU */
	a->bleu.effective_order = a->sentence;
}

/* sacrebleu's notes and warnings, as its logger prints them */
static void
log_msg(const char *msg)
{
	sq_warn("%s", msg);
}

static void
check(int status)
{
	if (status)
		fail(status, sq_errstr());
}

struct corpus {
	struct sq_system *sys;	/* (n_sys) */
	size_t n_sys;
	struct sq_uspan **refs;	/* (n_refs) each as long as every system */
	size_t n_refs;
};

/* The metrics: by name (sacrebleu sorts them), or in -m order. */
static size_t
metrics(struct sq_metric *m, const struct args *a, int given_order)
{
	size_t n;

	for (n = 0; n < a->n_order; n++) {
		m[n].kind = given_order ? a->order[n] :
		    n == 0 && a->use_bleu ? SQ_METRIC_BLEU : SQ_METRIC_CHRF;
		m[n].bleu = a->bleu;
		m[n].chrf = a->chrf;
	}
	return n;
}

static void
print_result(const struct args *a, const struct sq_result *res, int json)
{
	char *s = sq_result_format(res, (int)a->width, a->score_only,
	    a->short_sig && !json, json);

	puts(s);
	free(s);
}

/* -sl: one text line per segment (sacrebleu prints no JSON there) */
static void
sentence_level(const struct args *a, const struct corpus *c)
{
	struct sq_metric m[2];
	struct sq_result res;
	struct sq_stats st;

	metrics(m, a, 0);
	sq_metric_stats(&st, &m[0], c->sys[0].hyp.s, c->refs, c->sys[0].hyp.n,
	    c->n_refs);
	for (size_t i = 0; i < st.n; i++) {
		sq_metric_score(&res, &m[0], st.v + i * st.k,
		    (long)c->n_refs, SQ_NUM_INT);
		print_result(a, &res, 0);
	}
	free(st.v);
}

/* Metric._extract_corpus_statistics' warning, for BLEU without --force */
static void
warn_tokenized(const struct args *a, const struct sq_metric *m,
    const struct sq_segs *hyp)
{
	const struct sq_uspan *h;
	size_t i, k = 0;

	if (m->kind != SQ_METRIC_BLEU || a->force)
		return;
	for (i = 0; i < hyp->n; i++) {
		h = &hyp->s[i];
		k += h->n >= 2 && h->c[h->n - 2] == ' ' &&
		    h->c[h->n - 1] == '.';
	}
	if (k < 100)
		return;
	sq_warn("That's 100 lines that end in a tokenized period ('.')");
	sq_warn("It looks like you forgot to detokenize your test data, "
	    "which may hurt your score.");
	sq_warn("If you insist your data is detokenized, or don't care, you "
	    "can suppress this message with the `force` parameter.");
}

/*
 * $SACREBLEU_SEED (default 12345) into s; returns it lower-cased, and
 * in norm as Python's str(int(seed)).
 */
static const char *
get_seed(struct sq_seed *s, char *norm, size_t size)
{
	static char lower[32];
	const char *e = getenv("SACREBLEU_SEED");
	size_t i;

	if (!e)
		e = "12345";
	for (i = 0; e[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(e[i] >= 'A' && e[i] <= 'Z' ? e[i] + 32 :
		    e[i]);
	lower[i] = '\0';
	if (sq_seed_parse(s, e, norm, size) < 0)
		sq_die("SACREBLEU_SEED: %s", sq_errstr());
	return lower;
}

/* The statistics and score of metric m for system s. */
static void
evaluate(struct sq_stats *st, struct sq_result *res, const struct args *a,
    const struct sq_metric *m, const struct corpus *c, size_t s)
{
	int64_t *sum;

	sq_metric_stats(st, m, c->sys[s].hyp.s, c->refs, c->sys[s].hyp.n,
	    c->n_refs);
	warn_tokenized(a, m, &c->sys[s].hyp);
	sum = sq_calloc(st->k, sizeof(*sum));
	sq_stats_sum(sum, st);
	sq_metric_score(res, m, sum, (long)c->n_refs, SQ_NUM_INT);
	free(sum);
}

static void
corpus_level(const struct args *a, const struct corpus *c)
{
	struct sq_metric m[2];
	struct sq_result res[2];
	struct sq_stats st;
	struct sq_seed seed;
	const char *seed_text = NULL;
	char *out[2], norm[32];
	size_t n_m = metrics(m, a, 0), i, w = 0, len[2];

	if (a->confidence && a->confidence_n > 1)
		seed_text = get_seed(&seed, norm, sizeof(norm));
	for (i = 0; i < n_m; i++) {
		evaluate(&st, &res[i], a, &m[i], c, 0);
		if (seed_text) {
			sq_metric_bootstrap(&res[i], &m[i], &st,
			    (size_t)a->confidence_n, &seed);
			sq_sig_bootstrap(&res[i].sig, "bs", a->confidence_n,
			    seed_text);
		}
		free(st.v);
		out[i] = sq_result_format(&res[i], (int)a->width,
		    a->score_only, a->short_sig && !a->json, a->json);
	}
	/* utils.print_single_results */
	if (a->json && n_m > 1) {
		printf("[\n%s,\n%s\n]\n", out[0], out[1]);
	} else if (a->json || a->score_only || n_m == 1) {
		for (i = 0; i < n_m; i++)
			puts(out[i]);
	} else {
		/* align the lines on their '=' */
		for (i = 0; i < n_m; i++) {
			len[i] = (size_t)(strchr(out[i], '=') - out[i]) - 1;
			w = len[i] > w ? len[i] : w;
		}
		for (i = 0; i < n_m; i++)
			printf("%*s%.*s%s\n", (int)(w - len[i]), "",
			    (int)len[i], out[i], out[i] + len[i]);
	}
	for (i = 0; i < n_m; i++)
		free(out[i]);
}

/* PairedTest: the baseline is system 0 */
static void
paired(const struct args *a, const struct corpus *c, struct sq_systable *t,
    struct sq_metric *m)
{
	long n_samples = a->paired == 'b' ? a->paired_bs_n : a->paired_ar_n;
	struct sq_stats *bl = sq_calloc(t->n_m, sizeof(*bl)), st;
	struct sq_seed seed, sys_seed;
	struct sq_result res;
	char norm[32], q[1024];
	size_t s, j;

	if (n_samples <= 0)
		n_samples = a->paired == 'b' ? 1000 : 10000;
	get_seed(&seed, norm, sizeof(norm));
	sys_seed = seed;
	/* "self._seed if self._seed else None": 0 is no seed */
	if (strcmp(norm, "0") == 0 &&
	    sq_seed_parse(&sys_seed, "none", norm, sizeof(norm)) < 0)
		sq_die("%s", sq_errstr());
	t->r = sq_calloc(t->n_sys * t->n_m, sizeof(*t->r));
	for (j = 0; j < t->n_m; j++) {
		if (!a->quiet)
			sq_warn("Pre-computing %s statistics for %s",
			    m[j].kind == SQ_METRIC_BLEU ? "BLEU" : "CHRF",
			    sq_pystr_repr(q, sizeof(q), c->sys[0].name));
		evaluate(&bl[j], &res, a, &m[j], c, 0);
		t->names[j] = m[j].kind == SQ_METRIC_BLEU ? "BLEU" : NULL;
		if (a->paired == 'b')
			sq_paired_baseline(&t->r[j], &m[j], &bl[j],
			    (size_t)n_samples, &seed);
		else
			t->r[j].p = t->r[j].ci = -1;
		t->r[j].score = res.score;
		sq_sig_bootstrap(&res.sig, a->paired == 'b' ? "bs" : "ar",
		    n_samples, norm);
		sq_sig_string(t->sig[j], sizeof(t->sig[j]), &res.sig,
		    a->short_sig);
		t->names[j] = sq_strdup(res.name);
	}
	for (s = 1; s < t->n_sys; s++)
		for (j = 0; j < t->n_m; j++) {
			if (!a->quiet)
				sq_warn("Computing %s for %s and extracting "
				    "sufficient statistics", t->names[j],
				    sq_pystr_repr(q, sizeof(q), c->sys[s].name));
			evaluate(&st, &res, a, &m[j], c, s);
			if (!a->quiet)
				sq_warn(a->paired == 'b' ? " > Performing "
				    "paired bootstrap resampling test (# "
				    "resamples: %ld)" : " > Performing "
				    "approximate randomization test (# "
				    "trials: %ld)", n_samples);
			t->r[s * t->n_m + j].score = res.score;
			sq_paired_test(&t->r[s * t->n_m + j], a->paired == 'b',
			    &m[j], &bl[j], t->r[j].score, &st,
			    (size_t)n_samples, &sys_seed);
			free(st.v);
		}
	for (j = 0; j < t->n_m; j++)
		free(bl[j].v);
	free(bl);
}

/* Several systems without a test: each score, formatted as text */
static void
plain(const struct args *a, const struct corpus *c, struct sq_systable *t,
    struct sq_metric *m)
{
	struct sq_result res;
	struct sq_stats st;
	size_t s, j, k;

	t->cell = sq_calloc(t->n_sys * t->n_m, sizeof(*t->cell));
	for (s = 0; s < t->n_sys; s++)
		for (j = 0; j < t->n_m; j++) {
			evaluate(&st, &res, a, &m[j], c, s);
			free(st.v);
			k = s * t->n_m + j;
			t->cell[k] = sq_malloc(400);
			snprintf(t->cell[k], 400, "%.*f", (int)a->width,
			    res.score);
			if (s > 0)
				continue;
			t->names[j] = sq_strdup(res.name);
			sq_sig_string(t->sig[j], sizeof(t->sig[j]), &res.sig,
			    a->short_sig);
		}
}

static void
multi_system(const struct args *a, const struct corpus *c)
{
	struct sq_systable t = { 0 };
	struct sq_metric m[2];
	const char **names;
	size_t s, j;

	if (!a->quiet)
		sq_warn("Found %zu systems.", c->n_sys);
	if (c->n_sys == 0 && (!a->json || a->paired))	/* sacrebleu crashes */
		sq_die("-i: no hypothesis file");
	t.n_sys = c->n_sys;
	t.n_m = metrics(m, a, a->paired != 0);
	if (a->paired)
		paired(a, c, &t, m);
	else
		plain(a, c, &t, m);
	t.width = (int)a->width;
	t.paired = a->paired;
	t.latex = a->latex;
	t.n_samples = a->paired == 'b' ? a->paired_bs_n : a->paired_ar_n;
	t.sys_names = names = sq_calloc(c->n_sys, sizeof(*names));
	for (s = 0; s < c->n_sys; s++)
		names[s] = c->sys[s].name;
	if (a->json)
		sq_systable_json(stdout, &t);
	else
		sq_systable_text(stdout, &t);
	free(names);
	for (j = 0; j < t.n_m; j++)
		free((char *)t.names[j]);
	for (s = 0; t.cell && s < t.n_sys * t.n_m; s++)
		free(t.cell[s]);
	free(t.cell);
	free(t.r);
}

int
main(int argc, char *argv[])
{
	struct args a;
	struct corpus c = { 0 };
	struct sq_segs *refs;
	struct sq_lines *ref_lines;
	size_t r, s;

	sq_cli_begin(argv[0], USAGE, HELP);
	parse(&a, argc, argv);
	if (a.sentence && a.n_metrics > 1)
		fail(1, "Only one metric can be used in sentence-level mode.");
	if (a.nr != 1 && a.n_refs > 1) {
		sq_warn("The --num-refs argument allows you to provide any "
		    "number of tab-delimited references in a single file.");
		sq_warn("You can only use it with externally provided "
		    "references, however (i.e., not with `-t`),");
		fail(1, "and you cannot then provide multiple reference "
		    "files.");
	}
	if (a.n_refs == 0)
		fail(1, "If manual references given, make sure to provide them "
		    "before the -i/--input argument to avoid confusion.");

	c.n_refs = a.n_refs > (size_t)a.nr ? a.n_refs : (size_t)a.nr;
	refs = sq_calloc(c.n_refs, sizeof(*refs));
	ref_lines = sq_calloc(a.n_refs, sizeof(*ref_lines));
	check(sq_corpus_refs(refs, ref_lines, a.refs, a.n_refs, (size_t)a.nr));
	check(sq_corpus_systems(&c.sys, &c.n_sys, a.inputs, a.n_inputs,
	    !a.has_input, a.paired, a.quiet, log_msg));
	if (a.sentence && c.n_sys > 1)
		fail(1, "Only one system can be evaluated in sentence-level "
		    "mode.");
	if (a.sentence && (a.confidence || a.paired))
		fail(1, "Statistical tests are unavailable in sentence-level "
		    "mode.");
	if (a.paired && c.n_sys == 1)
		fail(1, "Paired tests require multiple input systems given to "
		    "--input (-i).");
	if (c.n_sys > 1 && a.confidence)
		fail(1, "Use paired tests (--paired) for multiple systems.");
	for (s = 0; s < c.n_sys; s++) {
		if (c.sys[s].hyp.n == 0)
			fail(1, "Test set None contains no sentence");
		for (r = 0; r < c.n_refs; r++)
			if (refs[r].n != c.sys[s].hyp.n)
				fail(1, "System and reference streams have "
				    "different lengths.");
	}
	c.refs = sq_calloc(c.n_refs, sizeof(*c.refs));
	for (r = 0; r < c.n_refs; r++)
		c.refs[r] = refs[r].s;

	if (a.sentence)
		sentence_level(&a, &c);
	else if (c.n_sys == 1)
		corpus_level(&a, &c);
	else
		multi_system(&a, &c);

	for (r = 0; r < a.n_refs; r++)
		sq_lines_free(&ref_lines[r]);
	for (r = 0; r < c.n_refs; r++)
		sq_segs_free(&refs[r]);
	sq_systems_free(c.sys, c.n_sys);
	free(refs);
	free(ref_lines);
	free(c.refs);
	free(a.refs);
	free(a.inputs);
	return sq_fshut(stdout, "<stdout>");
}
