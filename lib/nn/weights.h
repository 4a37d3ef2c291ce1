/*
 * weights: binds a model file's weight tensors, as the file stores them
 * (F32, F16, or I8 with a scale per row), to struct sq_model in the dtype
 * the engine is to compute in (nn/model.h's struct sq_mat views), for
 * nn/model.c's loader.
 *
 * A tensor stored in the form asked for is used in place, in the map;
 * any other is converted once, at load, into memory of the model's: F16
 * widened and I8 dequantized to float32, float32 quantized to int8 or
 * rounded to F16 (nn/quant.h).  Vectors (biases, norms) and learned
 * positions are always float32; the views exist for the weight matrices
 * only (struct sq_param has_view).
 */
#ifndef SQ_WEIGHTS_H
#define SQ_WEIGHTS_H

struct sq_model;

/* One tensor of the parameter table as the file stores it. */
struct sq_stored {
	int dtype;		/* SQ_W_F32, SQ_W_F16 or SQ_W_I8 */
	const void *data;	/* in the map: the tensor's shape */
	const float *scale;	/* (rows) with SQ_W_I8, else NULL */
	int i8_packed;		/* SQ_W_I8 in nn/i8gemm.h's packed layout */
	int panels;		/* SQ_W_F32 in nn/panels.h's layout */
};

/*
 * The dtype SQ_W_AUTO stands for with these tensors (one per entry of
 * m->params): SQ_W_I8 if a weight matrix is stored so, else SQ_W_F32;
 * with f16 (SQ_W_STORED), SQ_W_F16 before SQ_W_F32 if one is stored so.
 */
int sq_weights_auto(const struct sq_model *m, const struct sq_stored *st,
    int f16);

/*
 * Sets every weight field and view of m (its params, enc and dec made)
 * from st (one per entry of m->params) for the engine dtype (SQ_W_F32,
 * SQ_W_F16 or SQ_W_I8), then the tied ones; sets m->dtype, m->owned and
 * m->q_owned.  The float32 fields of the matrices are NULL unless dtype
 * is SQ_W_F32.  Matrices stored in float32 panels are made rows, unless
 * keep_panels and dtype is SQ_W_F32 for a Transformer: then their views
 * are the panels (sq_mat panels) and their fields NULL.  Returns 0, or
 * -1 with sq_errstr() set to "PATH: tensor NAME: row R: what" when a
 * weight does not fit the dtype (not finite for int8, beyond F16's
 * range).
 */
int sq_weights_bind(struct sq_model *m, const struct sq_stored *st,
    int dtype, int keep_panels, const char *path);

#endif
