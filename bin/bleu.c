/*
 * bleu: BLEU and chrF of a hypothesis against references, a drop-in for
 * the sacrebleu 2.6.0 command line (single system, corpus or sentence
 * level, text or JSON).  See man/bleu.1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bleu_eval.h"
#include "bleu_input.h"
#include "cli.h"
#include "util.h"

#define USAGE \
	"[-b] [-lc] [-q] [-sh] [-sl] [--force] [-f format] [-m metric ...]\n" \
	"       [-nr n] [-s method] [-sv value] [-tok tokenizer] [-w width]\n" \
	"       [-cc n] [-cw n] [--chrf-beta n] [--chrf-eps-smoothing]\n" \
	"       [--chrf-lowercase] [--chrf-whitespace] [-ci] [-cin n]\n" \
	"       [-e encoding]\n" \
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
	"  -ci, --confidence         bootstrap 95% confidence interval (off)\n" \
	"  -cin, --confidence-n N    bootstrap resamples (1000)\n" \
	"  -f, --format F            json or text (json; $SACREBLEU_FORMAT)\n" \
	"  -b, --score-only          print the score only (off)\n" \
	"  -w, --width N             decimals of the score (1)\n" \
	"  -sh, --short              short signature (off)\n" \
	"  -e, --encoding E          input encoding, utf-8 only (utf-8)\n" \
	"  -nc, --no-color           accepted; output has no colour\n" \
	"  -q, --quiet               accepted; warnings still print\n" \
	"  -h, --help                this help\n" \
	"  -V, --version             print the version\n"

enum {
	O_INPUT = 256, O_NREFS, O_METRICS, O_SL, O_TOK, O_SMOOTH, O_SV, O_LC,
	O_FORCE, O_CC, O_CW, O_BETA, O_WS, O_CLC, O_EPS, O_FORMAT, O_B, O_W,
	O_SHORT, O_ENC, O_NC, O_Q, O_HELP, O_VERSION, O_CI, O_CIN,
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
	const char **refs, **inputs;
	size_t n_refs, n_inputs;
	int has_input, use_bleu, use_chrf, n_metrics;
	long nr, width;
	int sentence, score_only, short_sig, json, force, confidence;
	long confidence_n;
	struct sq_bleu_opts bleu;
	struct sq_chrf_opts chrf;
};

/* One system or reference stream: spans into the lines read. */
struct stream {
	struct sq_uspan *s;	/* (n) */
	size_t n, cap;
};

static void
stream_push(struct stream *st, struct sq_uspan x)
{
	if (st->n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 1024;
		st->s = sq_reallocarray(st->s, st->cap, sizeof(*st->s));
	}
	st->s[st->n++] = x;
}

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
	if (strcmp(m, "bleu") == 0)
		a->use_bleu = 1;
	else if (strcmp(m, "chrf") == 0)
		a->use_chrf = 1;
	else if (strcmp(m, "ter") == 0)
		sq_usage_error("-m ter: TER is not implemented");
	else
		sq_usage_error("-m: '%s': not one of bleu, chrf", m);
	a->n_metrics++;
}

static void
set_format(struct args *a, const char *f, int from_env)
{
	if (strcasecmp(f, "json") == 0)
		a->json = 1;
	else if (strcasecmp(f, "text") == 0 || strcasecmp(f, "latex") == 0)
		a->json = 0;
	else if (!from_env)
		sq_usage_error("-f: '%s': not one of json, text, latex", f);
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
	case O_NC: case O_Q: break;
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
	if (!a->n_metrics)
		a->use_bleu = a->n_metrics = 1;
	if (!sv_set)
		a->bleu.smooth_value = sq_bleu_smooth_default(a->bleu.smooth);
	if ((env = getenv("SACREBLEU_FORMAT")) && *env)
		set_format(a, env, 1);
	/* sacrebleu enables effective order for sentence-level BLEU */
	a->bleu.effective_order = a->sentence;
}

static void
read_or_die(struct sq_lines *l, const char *path, int universal)
{
	if (sq_lines_read(l, path, universal) < 0)
		sq_die("%s", sq_errstr());
}

/* The references: a->nr streams (tab-separated) or one per file. */
static void
read_refs(const struct args *a, struct sq_lines *lines, struct stream *refs)
{
	struct sq_uspan x, f;
	size_t i, j, r, k;
	char msg[128];

	for (r = 0; r < a->n_refs; r++) {
		read_or_die(&lines[r], a->refs[r], 0);
		for (i = 0; i < lines[r].n; i++) {
			x = sq_lines_at(&lines[r], i);
			x.n = sq_py_rstrip(x.c, x.n);
			if (a->nr == 1) {
				stream_push(&refs[r], x);
				continue;
			}
			/* line.split('\t', maxsplit=nr - 1) */
			for (k = 0, j = 0, f = x; (long)k < a->nr - 1; k++) {
				while (j < x.n && x.c[j] != '\t')
					j++;
				if (j == x.n)
					break;
				f.n = (size_t)(x.c + j - f.c);
				stream_push(&refs[k], f);
				f.c = x.c + ++j;
			}
			f.n = (size_t)(x.c + x.n - f.c);
			stream_push(&refs[k], f);
			if ((long)k + 1 != a->nr) {
				snprintf(msg, sizeof(msg), "FATAL: line %zu: "
				    "expected %ld fields, but found %zu.",
				    i + 1, a->nr, k + 1);
				fail(17, msg);
			}
		}
	}
}

/* The hypotheses of the only system; NULL on tab-separated systems. */
static void
read_hyps(const struct args *a, struct sq_lines *l, struct stream *hyp)
{
	static const uint32_t empty[1];
	struct sq_uspan x;
	size_t i, j;

	if (a->has_input) {
		if (a->n_inputs != 1)
			sq_die("several systems: comparing systems is not "
			    "implemented");
		read_or_die(l, a->inputs[0], 0);
		for (i = 0; i < l->n; i++) {
			x = sq_lines_at(l, i);
			x.n = sq_py_rstrip(x.c, x.n);
			stream_push(hyp, x);
		}
		return;
	}
	read_or_die(l, NULL, 1);
	if (l->n == 0) {	/* readline() gives '': one empty line */
		x.c = empty, x.n = 0;
		stream_push(hyp, x);
	}
	for (i = 0; i < l->n; i++) {
		x = sq_lines_at(l, i);
		x.n = sq_py_rstrip(x.c, x.n);
		for (j = 0; j < x.n && x.c[j] != '\t'; j++)
			;
		if (j < x.n)
			sq_die("<stdin>: line %zu: several tab-separated "
			    "systems: comparing systems is not implemented",
			    i + 1);
		stream_push(hyp, x);
	}
}

struct corpus {
	struct stream hyp;
	struct sq_uspan **refs;	/* (n_refs) each (hyp.n) */
	size_t n_refs;
};

/* The metrics asked for, in sacrebleu's order (sorted by name). */
static size_t
metrics(struct sq_metric *m, const struct args *a)
{
	size_t n = 0;

	if (a->use_bleu) {
		m[n].kind = SQ_METRIC_BLEU;
		m[n].bleu = a->bleu;
		m[n++].chrf = a->chrf;
	}
	if (a->use_chrf) {
		m[n].kind = SQ_METRIC_CHRF;
		m[n].bleu = a->bleu;
		m[n++].chrf = a->chrf;
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

	metrics(m, a);
	sq_metric_stats(&st, &m[0], c->hyp.s, c->refs, c->hyp.n, c->n_refs);
	for (size_t i = 0; i < st.n; i++) {
		sq_metric_score(&res, &m[0], st.v + i * st.k,
		    (long)c->n_refs, 0);
		print_result(a, &res, 0);
	}
	free(st.v);
}

/* Metric._extract_corpus_statistics' warning, for BLEU without --force */
static void
warn_tokenized(const struct corpus *c)
{
	const struct sq_uspan *h;
	size_t i, k = 0;

	for (i = 0; i < c->hyp.n; i++) {
		h = &c->hyp.s[i];
		k += h->n >= 2 && h->c[h->n - 2] == ' ' && h->c[h->n - 1] == '.';
	}
	if (k < 100)
		return;
	sq_warn("That's 100 lines that end in a tokenized period ('.')");
	sq_warn("It looks like you forgot to detokenize your test data, "
	    "which may hurt your score.");
	sq_warn("If you insist your data is detokenized, or don't care, you "
	    "can suppress this message with the `force` parameter.");
}

/* $SACREBLEU_SEED (default 12345) as 32-bit words, least significant first */
static size_t
seed_words(uint32_t *w, const char **name)
{
	const char *s = getenv("SACREBLEU_SEED");
	unsigned long long v;
	static char lower[32];
	size_t i;
	char *end;
	FILE *f;

	if (!s)
		s = "12345";
	for (i = 0; s[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	lower[i] = '\0';
	*name = lower;
	if (strcmp(lower, "none") == 0) {	/* secrets.randbits(128) */
		if (!(f = fopen("/dev/urandom", "rb")) ||
		    fread(w, sizeof(*w), 4, f) != 4)
			sq_die("/dev/urandom:");
		fclose(f);
		return 4;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || s[0] == '+')
		sq_die("SACREBLEU_SEED: '%s' is not a non-negative integer", s);
	w[0] = (uint32_t)v;
	w[1] = (uint32_t)(v >> 32);
	return w[1] ? 2 : 1;
}

static void
corpus_level(const struct args *a, const struct corpus *c)
{
	struct sq_metric m[2];
	struct sq_result res[2];
	struct sq_stats st;
	char *out[2];
	size_t n_m = metrics(m, a), i, j, k, w = 0, len[2];
	int64_t *sum;
	uint32_t seed[4];
	const char *seed_name;
	size_t n_seed = 0;

	if (a->confidence && a->confidence_n > 1)
		n_seed = seed_words(seed, &seed_name);
	for (i = 0; i < n_m; i++) {
		sq_metric_stats(&st, &m[i], c->hyp.s, c->refs, c->hyp.n,
		    c->n_refs);
		if (m[i].kind == SQ_METRIC_BLEU && !a->force)
			warn_tokenized(c);
		sum = sq_calloc(st.k, sizeof(*sum));
		for (j = 0; j < st.n; j++)
			for (k = 0; k < st.k; k++)
				sum[k] += st.v[j * st.k + k];
		sq_metric_score(&res[i], &m[i], sum, (long)c->n_refs, 0);
		if (n_seed) {
			sq_metric_bootstrap(&res[i], &m[i], &st,
			    (size_t)a->confidence_n, seed, n_seed);
			sq_sig_bootstrap(&res[i].sig, a->confidence_n,
			    seed_name);
		}
		free(sum);
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

int
main(int argc, char *argv[])
{
	struct args a;
	struct corpus c = { 0 };
	struct stream *refs;
	struct sq_lines *ref_lines, hyp_lines;
	size_t r;

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
	read_refs(&a, ref_lines, refs);
	read_hyps(&a, &hyp_lines, &c.hyp);
	if (a.sentence && a.confidence)
		fail(1, "Statistical tests are unavailable in sentence-level "
		    "mode.");
	if (c.hyp.n == 0)
		fail(1, "Test set None contains no sentence");
	c.refs = sq_calloc(c.n_refs, sizeof(*c.refs));
	for (r = 0; r < c.n_refs; r++) {
		if (refs[r].n != c.hyp.n)
			fail(1, "System and reference streams have different "
			    "lengths.");
		c.refs[r] = refs[r].s;
	}

	if (a.sentence)
		sentence_level(&a, &c);
	else
		corpus_level(&a, &c);

	for (r = 0; r < a.n_refs; r++)
		sq_lines_free(&ref_lines[r]);
	for (r = 0; r < c.n_refs; r++)
		free(refs[r].s);
	free(refs);
	free(ref_lines);
	free(c.refs);
	free(c.hyp.s);
	sq_lines_free(&hyp_lines);
	free(a.refs);
	free(a.inputs);
	return sq_fshut(stdout, "<stdout>");
}
