/*
 * bleu_table: tabulate's fancy_grid (see bleu_table.h).
 */
#include <stdlib.h>
#include <string.h>

#include "bleu/table.h"
#include "base/util.h"

/* code points in s[0..n) */
static size_t
width(const char *s, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* number of lines of s and the width of the widest */
static size_t
lines(const char *s, size_t *maxw)
{
	size_t n = 1, w;
	const char *e;

	*maxw = 0;
	for (;;) {
		e = strchr(s, '\n');
		w = width(s, e ? (size_t)(e - s) : strlen(s));
		*maxw = w > *maxw ? w : *maxw;
		if (!e)
			return n;
		s = e + 1;
		n++;
	}
}

/* line k of s ("" past the end) padded to w */
static void
put_line(FILE *f, const char *s, size_t k, size_t w, enum sq_bleu_table_align a)
{
	size_t n, lw, left;
	const char *e;

	for (; k > 0 && s; k--)
		s = (e = strchr(s, '\n')) ? e + 1 : NULL;
	if (!s) {
		fprintf(f, "%*s", (int)w, "");
		return;
	}
	n = (e = strchr(s, '\n')) ? (size_t)(e - s) : strlen(s);
	lw = width(s, n);
	left = a == SQ_BLEU_ALIGN_RIGHT ? w - lw : (w - lw) / 2;
	fprintf(f, "%*s%.*s%*s", (int)left, "", (int)n, s,
	    (int)(w - lw - left), "");
}

static void
rule(FILE *f, const size_t *w, size_t n_cols, const char *l, const char *h,
    const char *m, const char *r)
{
	fputs(l, f);
	for (size_t c = 0; c < n_cols; c++) {
		for (size_t i = 0; i < w[c] + 2; i++)
			fputs(h, f);
		fputs(c + 1 < n_cols ? m : r, f);
	}
	fputc('\n', f);
}

/* tabulate's LATEX_ESCAPE_RULES */
static void
put_latex(FILE *f, const char *s, size_t w, enum sq_bleu_table_align a)
{
	static const char *const esc[][2] = {
		{ "&", "\\&" }, { "%", "\\%" }, { "$", "\\$" },
		{ "#", "\\#" }, { "_", "\\_" }, { "^", "\\^{}" },
		{ "{", "\\{" }, { "}", "\\}" },
		{ "~", "\\textasciitilde{}" }, { "\\", "\\textbackslash{}" },
		{ "<", "\\ensuremath{<}" }, { ">", "\\ensuremath{>}" },
	};
	size_t lw = width(s, strlen(s)), left, i;

	left = a == SQ_BLEU_ALIGN_RIGHT ? w - lw : (w - lw) / 2;
	fprintf(f, "%*s", (int)left, "");
	for (; *s; s++) {
		for (i = 0; i < sizeof(esc) / sizeof(esc[0]); i++)
			if (*s == esc[i][0][0])
				break;
		if (i < sizeof(esc) / sizeof(esc[0]))
			fputs(esc[i][1], f);
		else
			fputc(*s, f);
	}
	fprintf(f, "%*s", (int)(w - lw - left), "");
}

static void
latex_row(FILE *f, const char *const *cells, const size_t *w,
    const enum sq_bleu_table_align *align, size_t n_cols)
{
	for (size_t c = 0; c < n_cols; c++) {
		fputc(' ', f);
		put_latex(f, cells[c], w[c], align[c]);
		fputs(c + 1 < n_cols ? " &" : " \\\\\n", f);
	}
}

static void
row(FILE *f, const char *const *cells, const size_t *w,
    const enum sq_bleu_table_align *align, size_t n_cols)
{
	size_t n = 1, k, c, mw, nl;

	for (c = 0; c < n_cols; c++)
		if ((nl = lines(cells[c], &mw)) > n)
			n = nl;
	for (k = 0; k < n; k++) {
		fputs("\u2502", f);
		for (c = 0; c < n_cols; c++) {
			fputc(' ', f);
			put_line(f, cells[c], k, w[c], align[c]);
			fputs(" \u2502", f);
		}
		fputc('\n', f);
	}
}

void
sq_bleu_table_print(FILE *f, const char *const *headers,
    const enum sq_bleu_table_align *align, const char *const *cells,
    size_t n_rows, size_t n_cols, int latex)
{
	size_t *w = sq_calloc(n_cols, sizeof(*w)), r, c, mw;

	for (c = 0; c < n_cols; c++) {
		lines(headers[c], &mw);
		w[c] = mw + 2;
		for (r = 0; r < n_rows; r++) {
			lines(cells[r * n_cols + c], &mw);
			w[c] = mw > w[c] ? mw : w[c];
		}
	}
	if (latex) {
		fputs("\\begin{tabular}{", f);
		for (c = 0; c < n_cols; c++)
			fputc(align[c] == SQ_BLEU_ALIGN_RIGHT ? 'r' : 'c', f);
		fputs("}\n\\toprule\n", f);
		latex_row(f, headers, w, align, n_cols);
		fputs("\\midrule\n", f);
		for (r = 0; r < n_rows; r++)
			latex_row(f, cells + r * n_cols, w, align, n_cols);
		fputs("\\bottomrule\n\\end{tabular}\n", f);
		free(w);
		return;
	}
	rule(f, w, n_cols, "\u2552", "\u2550", "\u2564", "\u2555");
	row(f, headers, w, align, n_cols);
	rule(f, w, n_cols, "\u255e", "\u2550", "\u256a", "\u2561");
	for (r = 0; r < n_rows; r++) {
		if (r)
			rule(f, w, n_cols, "\u251c", "\u2500", "\u253c",
			    "\u2524");
		row(f, cells + r * n_cols, w, align, n_cols);
	}
	rule(f, w, n_cols, "\u2558", "\u2550", "\u2567", "\u255b");
	free(w);
}
