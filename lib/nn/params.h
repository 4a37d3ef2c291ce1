/*
 * params: the table of a model's float32 tensors, built from its config:
 * for each tensor its name (man/seqpipe-model.5), its shape, its offset
 * in one flat array, and the field of struct sq_model it binds to.
 *
 * Everything that walks a model's weights walks this table: the loader
 * (names and shapes to check, fields to set), the writer (what to write,
 * in which order), training (gradients and optimizer state are flat
 * arrays laid out as the weights: the same offsets), and importers (what
 * a foreign name must map to).  The order is the file order: embeddings,
 * positions, encoder layers, decoder layers, final norms, output,
 * length predictor (for arch rnn: embeddings, encoder GRU layers, decoder
 * GRU layers, bridge, attention, output).
 *
 * Tied tensors (tie_src_tgt, tie_output) have no entry: binding makes
 * their fields point at the tensor they share, so a gradient that flows
 * into a tied field adds to the one array.
 */
#ifndef SQ_PARAMS_H
#define SQ_PARAMS_H

#include <stddef.h>

struct sq_config;
struct sq_model;

enum sq_param_owner {
	SQ_IN_MODEL, SQ_IN_ENCODER_LAYER, SQ_IN_DECODER_LAYER,
	SQ_IN_ENCODER_GRU,	/* m->enc_gru[layer]: 2 l + direction */
	SQ_IN_DECODER_GRU	/* m->dec_gru[layer] */
};

struct sq_param {
	char name[64];
	int n_dims;		/* 1 or 2 */
	long dims[2];		/* (out, in) for a weight, (n) for a vector */
	long numel;
	long offset;		/* in floats, into the flat array */
	int owner;		/* enum sq_param_owner */
	int layer;		/* for a layer's tensor */
	size_t field;		/* offsetof() the const float * it binds */
	int has_view;		/* a weight matrix the engine multiplies by
				   or embeds from: it has a struct sq_mat
				   (its rows may be stored as I8) */
	size_t view;		/* offsetof() that struct sq_mat */
};

struct sq_params {
	struct sq_param *p;	/* (n) */
	int n;
	long total;		/* floats in the flat array */
};

/*
 * Builds the table for config c (checked by sq_config_check()).  Sizes
 * saturate at LONG_MAX instead of overflowing: a config read from a file
 * can claim more weights than a long counts, so a caller that sizes
 * memory from an untrusted config checks t->total against what the
 * input holds first.  Caller frees with sq_params_free().
 */
struct sq_params *sq_params_new(const struct sq_config *c);
void sq_params_free(struct sq_params *t);

/*
 * The layer arrays of m for its config: m->enc and m->dec for a
 * Transformer, m->enc_gru and m->dec_gru for arch rnn.  The free accepts
 * arrays never allocated (NULL).
 */
void sq_params_alloc_layers(struct sq_model *m);
void sq_params_free_layers(struct sq_model *m);

/*
 * The field of m that entry p binds: m's layer arrays must be allocated
 * (sq_params_alloc_layers()).
 */
const float **sq_param_field(struct sq_model *m, const struct sq_param *p);

/* The engine view of entry p of m (has_view), as sq_param_field(). */
struct sq_mat *sq_param_view(struct sq_model *m, const struct sq_param *p);

/*
 * Whether the products multiply by entry p of a model configured c: a
 * matrix with an engine view that is not an embedding table, or the
 * table the output projection is tied to.  Only those are stored in the
 * packed int8 layout or in float32 panels (seqpipe-model.5).
 */
int sq_param_multiplied(const struct sq_config *c, const struct sq_param *p);

/*
 * Points every field of m at flat + offset (flat holds t->total floats),
 * every engine view at its field as float32, and the tied fields and
 * views at what they share.  m's layer arrays must be allocated.
 */
void sq_params_bind(const struct sq_params *t, struct sq_model *m,
    const float *flat);

/*
 * Sets the tied fields and views of m from the ones they share (after
 * binding).
 */
void sq_params_tie(struct sq_model *m);

#endif
