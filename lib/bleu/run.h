/*
 * bleu_run: the evaluation that sacrebleu 2.6.0's command line runs once
 * its options are read and its corpus loaded: per sentence (-sl), one
 * system at corpus level (with --confidence intervals), or several
 * systems in a table, plain or with a paired test against the baseline.
 *
 * Reference: sacrebleu 2.6.0 sacrebleu.py main(), utils.py
 * (print_single_results, print_results_table) and significance.py
 * (PairedTest).  The results go to the caller's stream; sacrebleu's
 * progress notes (silenced by quiet) and warnings go to the caller's log
 * function, one message a call, since lib/ prints nothing on stderr.
 * Failures return the exit status sacrebleu uses with sq_errstr() set;
 * the output written by then stays.
 */
#ifndef SQ_BLEU_RUN_H
#define SQ_BLEU_RUN_H

#include <stddef.h>
#include <stdio.h>

#include "bleu/corpus.h"
#include "bleu/eval.h"

/* What the options ask for. */
struct sq_bleu_run {
	enum sq_bleu_metric_kind order[2];	/* -m order, for paired tests */
	size_t n_order;
	int use_bleu;			/* -m has bleu */
	struct sq_bleu_opts bleu;
	struct sq_bleu_chrf_opts chrf;
	int sentence, force, quiet;
	int confidence;			/* -ci */
	long confidence_n, paired_bs_n, paired_ar_n;
	int paired;			/* 'b' -pbs, 'a' -par, else 0 */
	long width;
	int score_only, short_sig, json, latex;
	const char *trg_lang;		/* -l SRC-TGT's TGT, or NULL */
	int tok_given;			/* -tok was given: bleu.tok is it */
	void (*log)(const char *msg);	/* notes and warnings */
};

/*
 * Checks the n_sys systems sys against the n_refs reference streams refs
 * and the mode as sacrebleu does, then evaluates and writes the results
 * to out.  With trg_lang, BLEU's tokenizer follows it as sacrebleu's
 * BLEU(trg_lang=...) does: unless tok_given, zh for "zh", and for "ja"
 * and "ko" ja-mecab and ko-mecab, which are not implemented (status 1,
 * as sacrebleu without its MeCab extras); with tok_given, a warning
 * when the tokenizer is not that one.  Returns 0 or the exit status,
 * with sq_errstr() set.
 */
int sq_bleu_run(FILE *out, const struct sq_bleu_run *r,
    const struct sq_bleu_system *sys, size_t n_sys,
    const struct sq_bleu_segs *refs,
    size_t n_refs);

#endif
