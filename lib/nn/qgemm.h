/*
 * qgemm: matrix products by F16 weights (struct sq_mat, nn/model.h), for
 * sq_linear_mat() (nn/ops.h), and the rows of F16 and int8 (a scale per
 * row) matrices as float32, for the embeddings of a model run in those
 * dtypes.  (Products by int8 weights quantize the activations too:
 * nn/i8linear.h.)  Single-threaded: the callers split the columns.
 */
#ifndef SQ_QGEMM_H
#define SQ_QGEMM_H

struct sq_mat;

/*
 * Once per process (sq_ops_init() calls it): picks the kernels for the
 * CPU (AVX-512, AVX2 with FMA and F16C, or plain C).
 */
void sq_qgemm_init(void);

/* "AVX-512", "AVX2" or "C": the kernels sq_qgemm_init() picked. */
const char *sq_qgemm_isa(void);

/*
 * out (M, ldo) columns [lo, hi) = inp (M, K) times rows [lo, hi) of w
 * (N, K, dtype F16) transposed, plus bias (N) when not NULL.  Up
 * to 32 rows a row's result depends on its own input only; more rows run
 * through the widened weights, by libxsmm's kernels a panel at a time or
 * else OpenBLAS's sgemm, and their last bits depend on M.
 */
void sq_qgemm_cols(float *out, int ldo, const float *inp,
    const struct sq_mat *w, const float *bias, int M, int K, int lo,
    int hi);

/*
 * Whether sq_qgemm_cols() multiplies M rows a panel of weights at a time
 * (libxsmm's kernels: many rows, an AVX2 CPU or wider): the callers then
 * split the columns at multiples of SQ_PANEL_ROWS (nn/packed.h), so
 * that threads never change a result.
 */
int sq_qgemm_panels(int M);

/*
 * out (K) = row r of w (any dtype or layout) as float32: scale times
 * int8s, or gathered from float32 panels.
 */
void sq_mat_row(float *out, const struct sq_mat *w, long r, int K);

#endif
