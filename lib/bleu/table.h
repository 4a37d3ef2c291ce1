/*
 * bleu_table: the tables of sacrebleu's multi-system evaluation, as
 * tabulate 0.8.9 draws them with tablefmt="fancy_grid".
 *
 * Cells and headers are UTF-8 strings; a cell may hold several lines
 * ("\n").  A column is as wide as its widest line, and at least its header
 * plus 2 (tabulate's MIN_PADDING); every line of a cell and the header are
 * padded to that width, flush right or centred with the extra space on
 * the right (Python's format '^'); a cell with fewer lines than its row
 * gets lines of spaces.  Widths count code points.
 */
#ifndef SQ_BLEU_TABLE_H
#define SQ_BLEU_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum sq_bleu_table_align { SQ_BLEU_ALIGN_RIGHT, SQ_BLEU_ALIGN_CENTER };

/*
 * Prints the table of n_rows rows of n_cols cells (cells[r * n_cols + c])
 * under headers to f.  latex: tablefmt="latex_booktabs" instead, whose
 * cells are single lines, padded first, then LaTeX-escaped.
 */
void sq_bleu_table_print(FILE *f, const char *const *headers,
    const enum sq_bleu_table_align *align, const char *const *cells,
    size_t n_rows, size_t n_cols, int latex);

#endif
