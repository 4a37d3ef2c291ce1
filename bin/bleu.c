/*
 * bleu: BLEU and chrF of translations against references, a drop-in for
 * the sacrebleu 2.6.0 command line: one system (corpus or sentence level,
 * bootstrap confidence intervals) or several (tables, paired bootstrap and
 * approximate randomization tests), in text, JSON or LaTeX.  This file
 * holds sacrebleu's argparse command line, its checks of the options, and
 * the order of the work: lib/bleu/corpus.c reads the references and the
 * systems, lib/bleu/run.c checks them against the mode, evaluates and
 * writes; their notes and warnings come back here to go to stderr.  See
 * man/bleu.1.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bleu/corpus.h"
#include "bleu/eval.h"
#include "bleu/run.h"
#include "base/cli.h"
#include "base/util.h"

#define USAGE \
	"[-b] [-lc] [-q] [-sh] [-sl] [--force] [-f format] [-m metric ...]\n" \
	"       [-nr n] [-s method] [-sv value] [-tok tokenizer] [-l src-tgt]\n" \
	"       [-w width]\n" \
	"       [-cc n] [-cw n] [--chrf-beta n] [--chrf-eps-smoothing]\n" \
	"       [--chrf-lowercase] [--chrf-whitespace] [-ci] [-cin n]\n" \
	"       [-par | -pbs] [-parn n] [-pbsn n] [-j n] [-e encoding]\n" \
	"       ref ... [-i hyp ...]"

#define HELP \
	"  -i, --input HYP ...       hypothesis files (default: stdin)\n" \
	"  -nr, --num-refs N         N tab-separated refs per line (1)\n" \
	"  -m, --metrics M ...       bleu and/or chrf (bleu)\n" \
	"  -sl, --sentence-level     a score per line\n" \
	"  -tok, --tokenize T        13a, intl, zh, char or none (13a, or\n" \
	"                            zh for -l ..-zh)\n" \
	"  -l, --language-pair S-T   source and target language: T picks BLEU's\n" \
	"                            tokenizer (zh: zh; ja, ko: not implemented)\n" \
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
	O_PBS, O_PARN, O_PBSN, O_JOBS, O_LANG,
};

/* an option's long name and sacrebleu's short one (-nr): the same option */
#define OPT2(l, s, has, val) \
	{ l, has, NULL, val }, { s, has, NULL, val }

static const struct option longopts[] = {
	OPT2("input", "i", no_argument, O_INPUT),
	OPT2("num-refs", "nr", required_argument, O_NREFS),
	OPT2("metrics", "m", required_argument, O_METRICS),
	OPT2("sentence-level", "sl", no_argument, O_SL),
	OPT2("tokenize", "tok", required_argument, O_TOK),
	OPT2("language-pair", "l", required_argument, O_LANG),
	OPT2("smooth-method", "s", required_argument, O_SMOOTH),
	OPT2("smooth-value", "sv", required_argument, O_SV),
	OPT2("lowercase", "lc", no_argument, O_LC),
	{ "force", no_argument, NULL, O_FORCE },
	OPT2("chrf-char-order", "cc", required_argument, O_CC),
	OPT2("chrf-word-order", "cw", required_argument, O_CW),
	{ "chrf-beta", required_argument, NULL, O_BETA },
	{ "chrf-whitespace", no_argument, NULL, O_WS },
	{ "chrf-lowercase", no_argument, NULL, O_CLC },
	{ "chrf-eps-smoothing", no_argument, NULL, O_EPS },
	OPT2("confidence", "ci", no_argument, O_CI),
	OPT2("confidence-n", "cin", required_argument, O_CIN),
	OPT2("paired-ar", "par", no_argument, O_PAR),
	OPT2("paired-bs", "pbs", no_argument, O_PBS),
	OPT2("paired-ar-n", "parn", required_argument, O_PARN),
	OPT2("paired-bs-n", "pbsn", required_argument, O_PBSN),
	OPT2("paired-jobs", "j", required_argument, O_JOBS),
	OPT2("format", "f", required_argument, O_FORMAT),
	OPT2("score-only", "b", no_argument, O_B),
	OPT2("width", "w", required_argument, O_W),
	OPT2("short", "sh", no_argument, O_SHORT),
	OPT2("encoding", "e", required_argument, O_ENC),
	OPT2("no-color", "nc", no_argument, O_NC),
	OPT2("quiet", "q", no_argument, O_Q),
	OPT2("help", "h", no_argument, O_HELP),
	OPT2("version", "V", no_argument, O_VERSION),
	{ NULL, 0, NULL, 0 },
};

struct args {
	const char **refs, **inputs;	/* operands, -i files */
	size_t n_refs, n_inputs;
	int has_input, use_chrf, n_metrics;
	long nr;
	const char *langpair;		/* -l */
	struct sq_bleu_run run;		/* what the evaluation reads */
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
	if (strcmp(m, "bleu") == 0 && !a->run.use_bleu)
		a->run.use_bleu = 1,
		    a->run.order[a->run.n_order++] = SQ_BLEU_METRIC_BLEU;
	else if (strcmp(m, "chrf") == 0 && !a->use_chrf)
		a->use_chrf = 1,
		    a->run.order[a->run.n_order++] = SQ_BLEU_METRIC_CHRF;
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
		a->run.json = i == 0;
		a->run.latex = i == 2;
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
		a->n_metrics = a->run.use_bleu = a->use_chrf = 0;
		a->run.n_order = 0;
		add_metric(a, optarg);
		while (optind < argc && is_operand(argv[optind]))
			add_metric(a, argv[optind++]);
		break;
	case O_SL: a->run.sentence = 1; break;
	case O_TOK:
		if ((k = sq_bleu_tok_kind(optarg)) < 0)
			sq_usage_error("-tok: '%s': not one of 13a, intl, zh, "
			    "char, none", optarg);
		a->run.bleu.tok = (enum sq_bleu_tok_kind)k;
		a->run.tok_given = 1;
		break;
	case O_LANG: a->langpair = optarg; break;
	case O_SMOOTH:
		if ((k = sq_bleu_smooth_kind(optarg)) < 0)
			sq_usage_error("-s: '%s': not one of exp, floor, "
			    "add-k, none", optarg);
		a->run.bleu.smooth = (enum sq_bleu_smooth)k;
		break;
	case O_SV:
		a->run.bleu.smooth_value = sq_parse_double("-sv", optarg,
		    -1e300, 1e300);
		*sv_set = 1;
		break;
	case O_LC: a->run.bleu.lowercase = 1; break;
	case O_FORCE: a->run.force = 1; break;
	case O_CC:
		a->run.chrf.char_order = (int)sq_parse_long("-cc", optarg, 0,
		    1000);
		break;
	case O_CW:
		a->run.chrf.word_order = (int)sq_parse_long("-cw", optarg, 0,
		    1000);
		break;
	case O_BETA:
		a->run.chrf.beta = (int)sq_parse_long("--chrf-beta", optarg, 0,
		    10000);
		break;
	case O_WS: a->run.chrf.whitespace = 1; break;
	case O_CLC: a->run.chrf.lowercase = 1; break;
	case O_EPS: a->run.chrf.eps_smoothing = 1; break;
	case O_CI: a->run.confidence = 1; break;
	case O_CIN:
		a->run.confidence_n = sq_parse_long("-cin", optarg, 0,
		    100000000);
		break;
	case O_PAR: case O_PBS:
		if (a->run.paired && a->run.paired != (ch == O_PAR ? 'a' : 'b'))
			sq_usage_error("--paired-ar and --paired-bs exclude "
			    "each other");
		a->run.paired = ch == O_PAR ? 'a' : 'b';
		break;
	case O_PARN:
		a->run.paired_ar_n = sq_parse_long("-parn", optarg, 0,
		    100000000);
		break;
	case O_PBSN:
		a->run.paired_bs_n = sq_parse_long("-pbsn", optarg, 0,
		    100000000);
		break;
	case O_JOBS:	/* one process does it all, fast enough */
		sq_parse_long("-j", optarg, 0, 100000);
		break;
	case O_FORMAT: set_format(a, optarg, 0); break;
	case O_B: a->run.score_only = 1; break;
	case O_W: a->run.width = sq_parse_long("-w", optarg, 0, 300); break;
	case O_SHORT: a->run.short_sig = 1; break;
	case O_ENC:
		if (strcasecmp(optarg, "utf-8") && strcasecmp(optarg, "utf8") &&
		    strcasecmp(optarg, "utf_8"))
			sq_usage_error("-e: '%s': only utf-8 is supported",
			    optarg);
		break;
	case O_Q: a->run.quiet = 1; break;
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
	a->run.width = 1;
	a->run.json = 1;
	a->run.chrf.char_order = 6;
	a->run.chrf.beta = 2;
	a->run.confidence_n = 1000;
	a->run.paired_bs_n = 1000;
	a->run.paired_ar_n = 10000;
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
		a->run.use_bleu = a->n_metrics = 1;
		a->run.order[a->run.n_order++] = SQ_BLEU_METRIC_BLEU;
	}
	if (!sv_set)
		a->run.bleu.smooth_value =
		    sq_bleu_smooth_default(a->run.bleu.smooth);
	if ((env = getenv("SACREBLEU_FORMAT")) && *env)
		set_format(a, env, 1);
	/* sacrebleu enables effective order for sentence-level BLEU */
	a->run.bleu.effective_order = a->run.sentence;
}

/*
 * -l SRC-TGT's target language, as sacrebleu takes it: the second field
 * of the value split at '-' ("en-zh-TW" gives "zh", "en-" gives ""), a
 * value without a '-' an error (sacrebleu dies of an IndexError there).
 * NULL without -l; caller frees.
 */
static char *
target_language(const char *langpair)
{
	const char *t;
	char *trg;
	size_t n;

	if (langpair == NULL)
		return NULL;
	if ((t = strchr(langpair, '-')) == NULL) {
		sq_warn("-l '%s': not a language pair SRC-TGT", langpair);
		exit(1);
	}
	n = strcspn(++t, "-");
	trg = memcpy(sq_malloc(n + 1), t, n);
	trg[n] = '\0';
	return trg;
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

int
main(int argc, char *argv[])
{
	struct args a;
	struct sq_bleu_system *sys;
	struct sq_bleu_segs *refs;
	struct sq_bleu_lines *ref_lines;
	size_t n_refs, n_sys, r;
	char *trg;

	sq_cli_begin(&argv[0], USAGE, HELP);
	parse(&a, argc, argv);
	a.run.log = log_msg;
	if (a.run.sentence && a.n_metrics > 1)
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
	trg = target_language(a.langpair);
	a.run.trg_lang = trg;

	n_refs = a.n_refs > (size_t)a.nr ? a.n_refs : (size_t)a.nr;
	refs = sq_calloc(n_refs, sizeof(*refs));
	ref_lines = sq_calloc(a.n_refs, sizeof(*ref_lines));
	check(sq_bleu_corpus_refs(refs, ref_lines, a.refs, a.n_refs,
	    (size_t)a.nr));
	check(sq_bleu_corpus_systems(&sys, &n_sys, a.inputs, a.n_inputs,
	    !a.has_input, a.run.paired, a.run.quiet, log_msg));
	check(sq_bleu_run(stdout, &a.run, sys, n_sys, refs, n_refs));

	for (r = 0; r < a.n_refs; r++)
		sq_bleu_lines_free(&ref_lines[r]);
	for (r = 0; r < n_refs; r++)
		sq_bleu_segs_free(&refs[r]);
	sq_bleu_systems_free(sys, n_sys);
	free(refs);
	free(ref_lines);
	free(a.refs);
	free(a.inputs);
	free(trg);
	return sq_fshut(stdout, "<stdout>");
}
