/*
 * bleu_systems: the report of sacrebleu's multi-system evaluation
 * (utils.print_results_table): a table of systems by metrics, as tabulate's
 * fancy_grid, with the paired tests' explanation and the metric
 * signatures; or its JSON (json.dumps(indent=4), ASCII only).
 */
#ifndef SQ_BLEU_SYSTEMS_H
#define SQ_BLEU_SYSTEMS_H

#include <stddef.h>
#include <stdio.h>

#include "bleu/eval.h"

struct sq_bleu_systable {
	size_t n_sys, n_m;
	const char *const *sys_names;	/* (n_sys) */
	const char *names[2];		/* metric names, header order */
	char sig[2][1200];		/* their signatures */
	struct sq_bleu_paired *r;	/* (n_sys, n_m) paired tests, or */
	char **cell;			/* (n_sys, n_m) formatted scores */
	int width;			/* -w */
	int paired;			/* 'b' bootstrap, 'a' AR, 0 */
	int latex;			/* -f latex: LaTeX booktabs */
	long n_samples;			/* as given on the command line */
};

/* The JSON list, one object per system. */
void sq_bleu_systable_json(FILE *f, const struct sq_bleu_systable *t);
/* The table, the paired test's explanation, the signatures. */
void sq_bleu_systable_text(FILE *f, const struct sq_bleu_systable *t);

#endif
