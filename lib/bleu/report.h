/*
 * bleu_report: sacrebleu's signatures and score lines, text and JSON.
 *
 * Reference: sacrebleu 2.6.0 metrics/base.py (Score.format, Signature),
 * metrics/bleu.py and metrics/chrf.py (their signature fields).  The
 * signature lists the fields in sacrebleu's order with the version last;
 * --short uses the abbreviations.  JSON is json.dumps(d, indent=1,
 * ensure_ascii=False) of sacrebleu's dict, whose "score" is a Python float
 * printed by repr(): the shortest string that reads back to the double.
 */
#ifndef SQ_BLEU_REPORT_H
#define SQ_BLEU_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "bleu/bleu.h"
#include "bleu/chrf.h"

/* The sacrebleu release whose behaviour bleu follows, and signs with. */
#define SQ_BLEU_SACREBLEU_VERSION "2.6.0"

#define SQ_BLEU_SIG_MAX 16

struct sq_bleu_sig {
	size_t n;
	struct {
		const char *key, *abbr;
		char val[48];
	} kv[SQ_BLEU_SIG_MAX];
};

/* nrefs: the number of references, or -1 for a variable number ("var") */
void sq_bleu_sig_bleu(struct sq_bleu_sig *s, const struct sq_bleu_opts *o,
    long nrefs);
void sq_bleu_sig_chrf(struct sq_bleu_sig *s, const struct sq_bleu_chrf_opts *o,
    long nrefs);
/* Adds "bs:N|seed:S" (or "ar:N|seed:S") after nrefs, as resampling does. */
void sq_bleu_sig_bootstrap(struct sq_bleu_sig *s, const char *kind,
    long n_samples,
    const char *seed);

/* Signature.format(short) into buf. */
void sq_bleu_sig_string(char *buf, size_t size, const struct sq_bleu_sig *sig,
    int short_sig);

/* One metric's result, as Score.format() sees it. */
struct sq_bleu_result {
	char name[32];		/* "BLEU", "chrF2", "chrF2++" */
	double score;
	char verbose[256];	/* BLEU's verbose part, else "" */
	double mean, ci;	/* bootstrap: shown if mean > 0 */
	struct sq_bleu_sig sig;
};

/*
 * Score.format(width, score_only, signature, is_json) into a new string
 * the caller frees.  The text form is "NAME|SIG = SCORE VERBOSE" with the
 * signature full or short; JSON always has the full signature.
 */
char *sq_bleu_result_format(const struct sq_bleu_result *r, int width,
    int score_only,
    int short_sig, int json);

/*
 * Writes the UTF-8 string s as a JSON string to f, as json.dumps() does;
 * ascii: ensure_ascii (non-ASCII as \uXXXX, UTF-16 surrogates above
 * U+FFFF).
 */
void sq_bleu_json_string(FILE *f, const char *s, int ascii);

/* repr() of a Python float into buf (at least 32 bytes). */
void sq_bleu_pyfloat_repr(char *buf, size_t size, double x);

/*
 * repr() of the string s into buf, quoted as Python quotes it (no escapes:
 * file names); truncated to size.  Returns buf.
 */
const char *sq_bleu_pystr_repr(char *buf, size_t size, const char *s);

#endif
