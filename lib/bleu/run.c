/*
 * bleu_run: sacrebleu's evaluation modes (see bleu_run.h).
 * Reference: sacrebleu 2.6.0 sacrebleu.py main(), utils.py and
 * significance.py.  A run owns nothing past its return: statistics,
 * scores and table cells are freed before it returns.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bleu/run.h"
#include "bleu/systems.h"
#include "base/util.h"

/* The systems and references of one run. */
struct corpus {
	const struct sq_bleu_system *sys;	/* (n_sys) */
	size_t n_sys;
	struct sq_bleu_uspan **refs;	/* (n_refs, n), n as every hyp.n */
	size_t n_refs;
};

/* Formats a message for r->log; note: a note, which quiet silences. */
static void __attribute__((format(printf, 3, 4)))
log_msg(const struct sq_bleu_run *r, int note, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (note && r->quiet)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->log(msg);
}

/* The metrics: by name (sacrebleu sorts them), or in -m order. */
static size_t
metrics(struct sq_bleu_metric *m, const struct sq_bleu_run *r, int given_order)
{
	size_t n;

	for (n = 0; n < r->n_order; n++) {
		m[n].kind = given_order ? r->order[n] :
		    n == 0 && r->use_bleu ? SQ_BLEU_METRIC_BLEU :
		    SQ_BLEU_METRIC_CHRF;
		m[n].bleu = r->bleu;
		m[n].chrf = r->chrf;
	}
	return n;
}

/* -sl: one text line per segment (sacrebleu prints no JSON there) */
static void
sentence_level(FILE *out, const struct sq_bleu_run *r, const struct corpus *c)
{
	struct sq_bleu_metric m[2];
	struct sq_bleu_result res;
	struct sq_bleu_segstats st;
	char *s;

	metrics(m, r, 0);
	sq_bleu_metric_stats(&st, &m[0], c->sys[0].hyp.s, c->refs,
	    c->sys[0].hyp.n,
	    c->n_refs);
	for (size_t i = 0; i < st.n; i++) {
		sq_bleu_metric_score(&res, &m[0], st.v + i * st.k,
		    (long)c->n_refs, SQ_BLEU_NUM_INT);
		s = sq_bleu_result_format(&res, (int)r->width, r->score_only,
		    r->short_sig, 0);
		fputs(s, out);
		fputc('\n', out);
		free(s);
	}
	free(st.v);
}

/* Metric._extract_corpus_statistics' warning, for BLEU without --force */
static void
warn_tokenized(const struct sq_bleu_run *r, const struct sq_bleu_metric *m,
    const struct sq_bleu_segs *hyp)
{
	const struct sq_bleu_uspan *h;
	size_t i, k = 0;

	if (m->kind != SQ_BLEU_METRIC_BLEU || r->force)
		return;
	for (i = 0; i < hyp->n; i++) {
		h = &hyp->s[i];
		k += h->n >= 2 && h->c[h->n - 2] == ' ' &&
		    h->c[h->n - 1] == '.';
	}
	if (k < 100)
		return;
	r->log("That's 100 lines that end in a tokenized period ('.')");
	r->log("It looks like you forgot to detokenize your test data, "
	    "which may hurt your score.");
	r->log("If you insist your data is detokenized, or don't care, you "
	    "can suppress this message with the `force` parameter.");
}

/*
 * $SACREBLEU_SEED (default 12345) into s, lower-cased into lower (32
 * bytes), and into norm as Python's str(int(seed)).  Returns 0, or -1
 * with sq_errstr() set.
 */
static int
get_seed(struct sq_bleu_seed *s, char *lower, char *norm, size_t size)
{
	const char *e = getenv("SACREBLEU_SEED");
	char why[256];
	size_t i;

	if (!e)
		e = "12345";
	for (i = 0; e[i] && i + 1 < 32; i++)
		lower[i] = (char)(e[i] >= 'A' && e[i] <= 'Z' ? e[i] + 32 :
		    e[i]);
	lower[i] = '\0';
	if (sq_bleu_seed_parse(s, e, norm, size) < 0) {
		snprintf(why, sizeof(why), "%s", sq_errstr());
		sq_seterr("SACREBLEU_SEED: %s", why);
		return -1;
	}
	return 0;
}

/* The statistics and score of metric m for system s. */
static void
evaluate(struct sq_bleu_segstats *st, struct sq_bleu_result *res,
    const struct sq_bleu_run *r, const struct sq_bleu_metric *m,
    const struct corpus *c, size_t s)
{
	int64_t *sum;

	sq_bleu_metric_stats(st, m, c->sys[s].hyp.s, c->refs, c->sys[s].hyp.n,
	    c->n_refs);
	warn_tokenized(r, m, &c->sys[s].hyp);
	sum = sq_calloc(st->k, sizeof(*sum));
	sq_bleu_segstats_sum(sum, st);
	sq_bleu_metric_score(res, m, sum, (long)c->n_refs, SQ_BLEU_NUM_INT);
	free(sum);
}

/* utils.print_single_results of the n_m formatted results out */
static void
print_single(FILE *f, const struct sq_bleu_run *r, char **out, size_t n_m)
{
	size_t i, w = 0, len[2];

	if (r->json && n_m > 1) {
		fprintf(f, "[\n%s,\n%s\n]\n", out[0], out[1]);
	} else if (r->json || r->score_only || n_m == 1) {
		for (i = 0; i < n_m; i++)
			fprintf(f, "%s\n", out[i]);
	} else {
		/* align the lines on their '=' */
		for (i = 0; i < n_m; i++) {
			len[i] = (size_t)(strchr(out[i], '=') - out[i]) - 1;
			w = len[i] > w ? len[i] : w;
		}
		for (i = 0; i < n_m; i++)
			fprintf(f, "%*s%.*s%s\n", (int)(w - len[i]), "",
			    (int)len[i], out[i], out[i] + len[i]);
	}
}

/* One system at corpus level, with -ci its bootstrap intervals */
static int
corpus_level(FILE *f, const struct sq_bleu_run *r, const struct corpus *c)
{
	struct sq_bleu_metric m[2];
	struct sq_bleu_result res[2];
	struct sq_bleu_segstats st;
	struct sq_bleu_seed seed;
	char *out[2], norm[32], seed_text[32];
	size_t n_m = metrics(m, r, 0), i;
	int ci = r->confidence && r->confidence_n > 1;

	if (ci && get_seed(&seed, seed_text, norm, sizeof(norm)) < 0)
		return 1;
	for (i = 0; i < n_m; i++) {
		evaluate(&st, &res[i], r, &m[i], c, 0);
		if (ci) {
			sq_bleu_metric_bootstrap(&res[i], &m[i], &st,
			    (size_t)r->confidence_n, &seed);
			sq_bleu_sig_bootstrap(&res[i].sig, "bs",
			    r->confidence_n,
			    seed_text);
		}
		free(st.v);
		out[i] = sq_bleu_result_format(&res[i], (int)r->width,
		    r->score_only, r->short_sig && !r->json, r->json);
	}
	print_single(f, r, out, n_m);
	for (i = 0; i < n_m; i++)
		free(out[i]);
	return 0;
}

/* PairedTest: the baseline is system 0 */
static int
paired(const struct sq_bleu_run *r, const struct corpus *c,
    struct sq_bleu_systable *t, struct sq_bleu_metric *m)
{
	long n_samples = r->paired == 'b' ? r->paired_bs_n : r->paired_ar_n;
	struct sq_bleu_segstats *bl, st;
	struct sq_bleu_seed seed, sys_seed;
	struct sq_bleu_result res;
	char norm[32], lower[32], q[1024];
	size_t s, j;

	if (n_samples <= 0)
		n_samples = r->paired == 'b' ? 1000 : 10000;
	if (get_seed(&seed, lower, norm, sizeof(norm)) < 0)
		return 1;
	sys_seed = seed;
	/* "self._seed if self._seed else None": 0 is no seed */
	if (strcmp(norm, "0") == 0 &&
	    sq_bleu_seed_parse(&sys_seed, "none", norm, sizeof(norm)) < 0)
		return 1;
	bl = sq_calloc(t->n_m, sizeof(*bl));
	t->r = sq_calloc(t->n_sys * t->n_m, sizeof(*t->r));
	for (j = 0; j < t->n_m; j++) {
		log_msg(r, 1, "Pre-computing %s statistics for %s",
		    m[j].kind == SQ_BLEU_METRIC_BLEU ? "BLEU" : "CHRF",
		    sq_bleu_pystr_repr(q, sizeof(q), c->sys[0].name));
		evaluate(&bl[j], &res, r, &m[j], c, 0);
		if (r->paired == 'b')
			sq_bleu_paired_baseline(&t->r[j], &m[j], &bl[j],
			    (size_t)n_samples, &seed);
		else
			t->r[j].p = t->r[j].ci = -1;
		t->r[j].score = res.score;
		sq_bleu_sig_bootstrap(&res.sig, r->paired == 'b' ? "bs" : "ar",
		    n_samples, norm);
		sq_bleu_sig_string(t->sig[j], sizeof(t->sig[j]), &res.sig,
		    r->short_sig);
		t->names[j] = sq_strdup(res.name);
	}
	for (s = 1; s < t->n_sys; s++)
		for (j = 0; j < t->n_m; j++) {
			log_msg(r, 1, "Computing %s for %s and extracting "
			    "sufficient statistics", t->names[j],
			    sq_bleu_pystr_repr(q, sizeof(q), c->sys[s].name));
			evaluate(&st, &res, r, &m[j], c, s);
			log_msg(r, 1, r->paired == 'b' ? " > Performing "
			    "paired bootstrap resampling test (# "
			    "resamples: %ld)" : " > Performing "
			    "approximate randomization test (# "
			    "trials: %ld)", n_samples);
			t->r[s * t->n_m + j].score = res.score;
			sq_bleu_paired_test(&t->r[s * t->n_m + j],
			    r->paired == 'b',
			    &m[j], &bl[j], t->r[j].score, &st,
			    (size_t)n_samples, &sys_seed);
			free(st.v);
		}
	for (j = 0; j < t->n_m; j++)
		free(bl[j].v);
	free(bl);
	return 0;
}

/* Several systems without a test: each score, formatted as text */
static void
plain(const struct sq_bleu_run *r, const struct corpus *c,
    struct sq_bleu_systable *t, struct sq_bleu_metric *m)
{
	struct sq_bleu_result res;
	struct sq_bleu_segstats st;
	size_t s, j, k;

	t->cell = sq_calloc(t->n_sys * t->n_m, sizeof(*t->cell));
	for (s = 0; s < t->n_sys; s++)
		for (j = 0; j < t->n_m; j++) {
			evaluate(&st, &res, r, &m[j], c, s);
			free(st.v);
			k = s * t->n_m + j;
			t->cell[k] = sq_malloc(400);
			snprintf(t->cell[k], 400, "%.*f", (int)r->width,
			    res.score);
			if (s > 0)
				continue;
			t->names[j] = sq_strdup(res.name);
			sq_bleu_sig_string(t->sig[j], sizeof(t->sig[j]),
			    &res.sig,
			    r->short_sig);
		}
}

/* utils.print_results_table, after the paired test if any */
static int
multi_system(FILE *f, const struct sq_bleu_run *r, const struct corpus *c)
{
	struct sq_bleu_systable t = { 0 };
	struct sq_bleu_metric m[2];
	const char **names;
	size_t s, j;
	int status = 0;

	log_msg(r, 1, "Found %zu systems.", c->n_sys);
	if (c->n_sys == 0 && (!r->json || r->paired)) {
		/* sacrebleu crashes there */
		sq_seterr("-i: no hypothesis file");
		return 1;
	}
	t.n_sys = c->n_sys;
	t.n_m = metrics(m, r, r->paired != 0);
	if (r->paired)
		status = paired(r, c, &t, m);
	else
		plain(r, c, &t, m);
	if (status)
		return status;
	t.width = (int)r->width;
	t.paired = r->paired;
	t.latex = r->latex;
	t.n_samples = r->paired == 'b' ? r->paired_bs_n : r->paired_ar_n;
	t.sys_names = names = sq_calloc(c->n_sys, sizeof(*names));
	for (s = 0; s < c->n_sys; s++)
		names[s] = c->sys[s].name;
	if (r->json)
		sq_bleu_systable_json(f, &t);
	else
		sq_bleu_systable_text(f, &t);
	free(names);
	for (j = 0; j < t.n_m; j++)
		free((char *)t.names[j]);
	for (s = 0; t.cell && s < t.n_sys * t.n_m; s++)
		free(t.cell[s]);
	free(t.cell);
	free(t.r);
	return 0;
}

/*
 * BLEU's tokenizer for -l (sacrebleu metrics/bleu.py BLEU.__init__ and
 * _TOKENIZER_MAP, run where sacrebleu builds its metrics: after the
 * checks, before any score): into run, from r.  0, or the exit status
 * with sq_errstr() set.
 */
static int
language_tokenizer(struct sq_bleu_run *run, const struct sq_bleu_run *r)
{
	static const struct {
		const char *lang, *tok, *name;
	} map[] = {
		{ "zh", "zh", "Chinese" },
		{ "ja", "ja-mecab", "Japanese" },
		{ "ko", "ko-mecab", "Korean" },
	};
	size_t i;

	*run = *r;
	if (!r->use_bleu || r->trg_lang == NULL)
		return 0;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(r->trg_lang, map[i].lang) == 0)
			break;
	if (i == sizeof(map) / sizeof(map[0]))
		return 0;
	if (r->tok_given) {
		if (strcmp(sq_bleu_tok_name(r->bleu.tok), map[i].tok) != 0)
			log_msg(r, 0, "Consider using the '%s' or 'spm' "
			    "tokenizer for %s.", map[i].tok, map[i].name);
		return 0;
	}
	if (sq_bleu_tok_kind(map[i].tok) < 0) {
		sq_seterr("%s tokenization (%s, the tokenizer for target "
		    "language %s) is not implemented: give -tok", map[i].name,
		    map[i].tok, map[i].lang);
		return 1;
	}
	run->bleu.tok = (enum sq_bleu_tok_kind)sq_bleu_tok_kind(map[i].tok);
	return 0;
}

/* sacrebleu's checks of the mode against the systems, in its order */
static int
check(const struct sq_bleu_run *r, const struct sq_bleu_system *sys,
    size_t n_sys, const struct sq_bleu_segs *refs, size_t n_refs)
{
	const char *why = NULL;
	size_t s, k;

	if (r->sentence && n_sys > 1)
		why = "Only one system can be evaluated in sentence-level "
		    "mode.";
	else if (r->sentence && (r->confidence || r->paired))
		why = "Statistical tests are unavailable in sentence-level "
		    "mode.";
	else if (r->paired && n_sys == 1)
		why = "Paired tests require multiple input systems given to "
		    "--input (-i).";
	else if (n_sys > 1 && r->confidence)
		why = "Use paired tests (--paired) for multiple systems.";
	for (s = 0; !why && s < n_sys; s++) {
		if (sys[s].hyp.n == 0)
			why = "Test set None contains no sentence";
		for (k = 0; !why && k < n_refs; k++)
			if (refs[k].n != sys[s].hyp.n)
				why = "System and reference streams have "
				    "different lengths.";
	}
	if (why)
		sq_seterr("%s", why);
	return why != NULL;
}

int
sq_bleu_run(FILE *out, const struct sq_bleu_run *r,
    const struct sq_bleu_system *sys, size_t n_sys,
    const struct sq_bleu_segs *refs,
    size_t n_refs)
{
	struct corpus c = { sys, n_sys, NULL, n_refs };
	struct sq_bleu_run run;
	int status;

	if (check(r, sys, n_sys, refs, n_refs))
		return 1;
	if ((status = language_tokenizer(&run, r)) != 0)
		return status;
	r = &run;
	c.refs = sq_calloc(n_refs, sizeof(*c.refs));
	for (size_t k = 0; k < n_refs; k++)
		c.refs[k] = refs[k].s;
	if (r->sentence) {
		sentence_level(out, r, &c);
		status = 0;
	} else if (n_sys == 1) {
		status = corpus_level(out, r, &c);
	} else {
		status = multi_system(out, r, &c);
	}
	free(c.refs);
	return status;
}
