/*
 * hf: see hf.h.  As in import/marian.c, the seqpipe parameter table
 * (nn/params.h) drives the import: each entry names the tensor of
 * model.safetensors it comes from, whose shape must be the one the config
 * implies, and every tensor of the file must be consumed by some entry
 * (or be a stored position table equal to ours), so a variant this
 * mapping does not know cannot pass silently.
 */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import/hf.h"
#include "import/pieces.h"
#include "import/recast.h"
#include "import/zip.h"
#include "io/spm.h"
#include "nn/config.h"
#include "nn/half.h"
#include "nn/model.h"
#include "nn/ops.h"
#include "nn/params.h"
#include "nn/safetensors.h"
#include "base/util.h"

#define BAD(...) do { sq_seterr(__VA_ARGS__); goto out; } while (0)
#define FAIL(...) do { sq_seterr(__VA_ARGS__); return -1; } while (0)
/* stored positions against ours: F16 rounds values of [-1, 1] by 2^-12 */
#define POS_TOL 1e-3f

int
sq_hf_folder(const char *path)
{
	struct stat st;
	char p[4200];

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	snprintf(p, sizeof(p), "%s/config.json", path);
	return access(p, F_OK) == 0;
}

/* ---- config.json ---- */

/* A required integer key.  0, or -1 with the error set. */
static int
get_int(json_t *j, const char *where, const char *key, int *v)
{
	json_t *x = json_object_get(j, key);

	if (x == NULL)
		FAIL("%s: no %s", where, key);
	if (!json_is_integer(x) || json_integer_value(x) < INT_MIN ||
	    json_integer_value(x) > INT_MAX)
		FAIL("%s: %s is not an integer", where, key);
	*v = (int)json_integer_value(x);
	return 0;
}

/* An optional boolean key, def when absent or null. */
static int
get_bool(json_t *j, const char *where, const char *key, int def, int *v)
{
	json_t *x = json_object_get(j, key);

	if (x == NULL || json_is_null(x)) {
		*v = def;
		return 0;
	}
	if (!json_is_boolean(x))
		FAIL("%s: %s is not true or false", where, key);
	*v = json_is_true(x);
	return 0;
}

/*
 * The architecture from config.json j into c (but unk_id), whether the
 * output is tied into *tie.  0, or -1 with the error set.
 */
static int
read_config(json_t *j, const char *where, struct sq_config *c, int *tie)
{
	json_t *x = json_object_get(j, "model_type");
	int enc_h, dec_h, enc_f, dec_f, v, share, scale;
	const char *s;

	sq_config_defaults(c);
	if (!json_is_string(x))
		FAIL("%s: no model_type", where);
	if (strcmp(json_string_value(x), "marian") != 0)
		FAIL("%s: model_type '%s' is not supported (only marian: "
		    "MarianMTModel)", where, json_string_value(x));
	if (get_int(j, where, "d_model", &c->d_model) < 0 ||
	    get_int(j, where, "encoder_layers", &c->encoder_layers) < 0 ||
	    get_int(j, where, "decoder_layers", &c->decoder_layers) < 0 ||
	    get_int(j, where, "encoder_attention_heads", &enc_h) < 0 ||
	    get_int(j, where, "decoder_attention_heads", &dec_h) < 0 ||
	    get_int(j, where, "encoder_ffn_dim", &enc_f) < 0 ||
	    get_int(j, where, "decoder_ffn_dim", &dec_f) < 0 ||
	    get_int(j, where, "vocab_size", &v) < 0 ||
	    get_int(j, where, "max_position_embeddings",
	    &c->max_positions) < 0 ||
	    get_int(j, where, "pad_token_id", &c->pad_id) < 0 ||
	    get_int(j, where, "eos_token_id", &c->eos_id) < 0 ||
	    get_int(j, where, "decoder_start_token_id",
	    &c->decoder_start_id) < 0 ||
	    get_bool(j, where, "scale_embedding", 0, &scale) < 0 ||
	    get_bool(j, where, "share_encoder_decoder_embeddings", 1,
	    &share) < 0 ||
	    get_bool(j, where, "tie_word_embeddings", 1, tie) < 0)
		return -1;
	if (enc_h != dec_h)
		FAIL("%s: encoder_attention_heads %d and decoder_attention_heads "
		    "%d differ: not supported", where, enc_h, dec_h);
	if (enc_f != dec_f)
		FAIL("%s: encoder_ffn_dim %d and decoder_ffn_dim %d differ: not "
		    "supported", where, enc_f, dec_f);
	x = json_object_get(j, "activation_function");
	s = json_is_string(x) ? json_string_value(x) : "gelu";
	if (!strcmp(s, "swish") || !strcmp(s, "silu"))
		c->activation = SQ_ACT_SILU;
	else if (!strcmp(s, "relu"))
		c->activation = SQ_ACT_RELU;
	else if (!strcmp(s, "gelu"))	/* erf's, as Hugging Face's */
		c->activation = SQ_ACT_GELU;
	else
		FAIL("%s: activation_function '%s' is not supported (swish, "
		    "silu, relu or gelu)", where, s);
	x = json_object_get(j, "decoder_vocab_size");
	if (!share || (x != NULL && !json_is_null(x) &&
	    (!json_is_integer(x) || json_integer_value(x) != v)))
		FAIL("%s: separate source and target vocabularies "
		    "(share_encoder_decoder_embeddings, decoder_vocab_size) are "
		    "not supported", where);
	x = json_object_get(j, "bad_words_ids");
	if (x != NULL && !json_is_null(x) && !(json_array_size(x) == 1 &&
	    json_array_size(json_array_get(x, 0)) == 1 &&
	    json_integer_value(json_array_get(json_array_get(x, 0), 0)) ==
	    c->pad_id))
		FAIL("%s: bad_words_ids other than [[pad_token_id]] are not "
		    "supported (the searches never produce the pad, nothing "
		    "else)", where);
	c->n_heads = enc_h;
	c->d_ff = enc_f;
	c->src_vocab_size = c->tgt_vocab_size = v;
	c->positions = SQ_POS_SIN_HALF_HF;
	c->position_offset = 0;
	c->embed_scale = scale ? sqrtf((float)c->d_model) : 1.0f;
	c->layer_norm_eps = 1e-5f;
	c->tie_src_tgt = 1;
	c->tie_output = *tie;
	c->output_bias = 1;
	c->shared_vocab = 0;	/* one numbering, two SentencePiece models */
	c->bos_id = -1;
	return 0;
}

/* ---- model.safetensors ---- */

static long
numel(const struct sq_st_tensor *t)
{
	long n = 1;

	for (int i = 0; i < t->n_dims; i++)
		n *= (long)t->dims[i];
	return n;
}

/*
 * Tensor t, which must be (d0, d1), or (d0) when d1 is 0 (also (1, d0):
 * final_logits_bias), as floats into dst.  0, or -1 with the error set.
 */
static int
read_tensor(float *dst, const struct sq_st_tensor *t, long d0, long d1,
    const char *where)
{
	int ok = d1 ? t->n_dims == 2 && t->dims[0] == d0 && t->dims[1] == d1 :
	    (t->n_dims == 1 && t->dims[0] == d0) ||
	    (t->n_dims == 2 && t->dims[0] == 1 && t->dims[1] == d0);
	long n = numel(t);

	if (!ok) {
		char got[128] = "";

		for (int i = 0; i < t->n_dims; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%lld", i ? ", " : "", (long long)t->dims[i]);
		if (d1)
			FAIL("%s: %s: shape (%s), config.json implies (%ld, %ld)",
			    where, t->name, got, d0, d1);
		FAIL("%s: %s: shape (%s), config.json implies (%ld)", where,
		    t->name, got, d0);
	}
	if (t->dtype == SQ_ST_F32)
		memcpy(dst, t->data, (size_t)n * sizeof(float));
	else if (t->dtype == SQ_ST_F16)
		for (long k = 0; k < n; k++)
			dst[k] = sq_half_to_float(((const uint16_t *)t->data)[k]);
	else
		FAIL("%s: %s: dtype %s is not supported (F32 or F16)", where,
		    t->name, sq_st_dtype_name(t->dtype));
	return 0;
}

/*
 * The tied embedding into dst (V, D): the first of its aliases the file
 * has; any other it has must hold the same numbers.
 */
static int
fill_embedding(float *dst, const struct sq_config *c, struct sq_st *st,
    const char *where)
{
	static const char *const alias[] = {"model.shared.weight",
	    "model.encoder.embed_tokens.weight",
	    "model.decoder.embed_tokens.weight", "lm_head.weight"};
	long V = c->tgt_vocab_size, D = c->d_model;
	const struct sq_st_tensor *first = NULL;
	float *tmp = NULL;
	int rc = -1;

	for (int i = 0; i < (c->tie_output ? 4 : 3); i++) {
		struct sq_st_tensor *t = sq_st_find(st, alias[i]);

		if (t == NULL)
			continue;
		t->used = 1;
		if (first == NULL) {
			if (read_tensor(dst, t, V, D, where) < 0)
				return -1;
			first = t;
			continue;
		}
		if (tmp == NULL)
			tmp = sq_malloc((size_t)(V * D) * sizeof(float));
		if (read_tensor(tmp, t, V, D, where) < 0)
			goto out;
		if (memcmp(tmp, dst, (size_t)(V * D) * sizeof(float)) != 0)
			BAD("%s: %s differs from %s, which config.json ties it "
			    "to", where, t->name, first->name);
	}
	if (first == NULL)
		BAD("%s: missing tensor model.shared.weight (or an alias: "
		    "model.encoder.embed_tokens.weight, "
		    "model.decoder.embed_tokens.weight%s)", where,
		    c->tie_output ? ", lm_head.weight" : "");
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* Entry p of m from the file.  0, or -1 with the error set. */
static int
fill(struct sq_model *m, const struct sq_param *p, struct sq_st *st,
    const char *where)
{
	float *dst = m->owned + p->offset;
	struct sq_st_tensor *t;
	char name[128];

	if (!strcmp(p->name, "encoder.embed_tokens.weight"))
		return fill_embedding(dst, &m->cfg, st, where);
	if (!strcmp(p->name, "output_projection.weight"))
		snprintf(name, sizeof(name), "lm_head.weight");
	else if (!strcmp(p->name, "output_projection.bias"))
		snprintf(name, sizeof(name), "final_logits_bias");
	else
		snprintf(name, sizeof(name), "model.%s", p->name);
	if ((t = sq_st_find(st, name)) == NULL) {
		if (!strcmp(name, "final_logits_bias"))
			return 0;	/* a buffer: zeros when absent */
		FAIL("%s: missing tensor %s", where, name);
	}
	t->used = 1;
	return read_tensor(dst, t, p->dims[0], p->n_dims > 1 ? p->dims[1] : 0,
	    where);
}

/*
 * Stored position tables (older conversions keep them) must be the
 * sinusoids the config computes; they are then left to it.
 */
static int
check_positions(struct sq_st *st, const struct sq_config *c,
    const char *where)
{
	static const char *const names[] = {
	    "model.encoder.embed_positions.weight",
	    "model.decoder.embed_positions.weight"};
	long P = c->max_positions, D = c->d_model;
	float *pe = NULL, *got = NULL;
	int rc = -1;

	for (int i = 0; i < 2; i++) {
		struct sq_st_tensor *t = sq_st_find(st, names[i]);

		if (t == NULL)
			continue;
		t->used = 1;
		if (pe == NULL) {
			pe = sq_malloc((size_t)(P * D) * sizeof(float));
			got = sq_malloc((size_t)(P * D) * sizeof(float));
			sq_positions(pe, 0, (int)P, (int)D, c->positions, NULL);
		}
		if (read_tensor(got, t, P, D, where) < 0)
			goto out;
		for (long k = 0; k < P * D; k++)
			if (!(fabsf(got[k] - pe[k]) <= POS_TOL))
				BAD("%s: %s: row %ld is not Hugging Face's "
				    "sinusoid (learned positions are not "
				    "supported)", where, t->name, k / D);
	}
	rc = 0;
out:
	free(pe);
	free(got);
	return rc;
}

/* ---- the folder ---- */

/* dir/name into a buffer of its own, as a SentencePiece handle too. */
static int
read_spm(const char *dir, const char *name, char **data, size_t *len,
    struct sq_spm **spm)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (sq_read_file(path, data, len) < 0)
		return -1;
	if ((*spm = sq_spm_new(*data, *len)) == NULL)
		FAIL("%s: %s", path, sq_errstr());
	return 0;
}

int
sq_hf_import(const char *dir, const char *out, int dtype, int panels,
    const char *tool)
{
	char path[4200], where[4200], plain_id[64], id[64], prov[1024], eos[32], beams[32];
	struct sq_extra_meta meta[2];
	struct sq_save_opts so = {.dtype = dtype, .panels = panels};
	struct sq_pieces v = {0};
	struct sq_spm *spm_s = NULL, *spm_t = NULL;
	struct sq_st *st = NULL;
	struct sq_model *m = NULL;
	struct sq_config c;
	json_error_t jerr;
	json_t *j = NULL, *x;
	char *spm_sd = NULL, *spm_td = NULL, *vj = NULL;
	size_t spm_sl, spm_tl, vl;
	int32_t *map_s = NULL, *map_t = NULL;
	int rc = -1, tie;

	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	if (access(path, F_OK) != 0) {
		snprintf(path, sizeof(path), "%s/pytorch_model.bin", dir);
		if (access(path, F_OK) == 0)
			BAD("%s: only pytorch_model.bin, a PyTorch pickle, "
			    "which is not read: the folder needs "
			    "model.safetensors", dir);
		BAD("%s: no model.safetensors", dir);
	}

	/* config.json, vocab.json, the SentencePiece models */
	snprintf(where, sizeof(where), "%s/config.json", dir);
	if ((j = json_load_file(where, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		BAD("%s: line %d: %s", where, jerr.line, jerr.text);
	if (!json_is_object(j))
		BAD("%s: not a JSON object", where);
	if (read_config(j, where, &c, &tie) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/vocab.json", dir);
	if (sq_read_file(path, &vj, &vl) < 0 ||
	    sq_pieces_json(&v, vj, vl, path) < 0)
		goto out;
	if (v.n != c.tgt_vocab_size)
		BAD("%s: %d pieces, config.json's vocab_size is %d", path, v.n,
		    c.tgt_vocab_size);
	c.unk_id = sq_pieces_id(&v, "<unk>");
	if (sq_config_check(&c, where) < 0 ||
	    read_spm(dir, "source.spm", &spm_sd, &spm_sl, &spm_s) < 0 ||
	    read_spm(dir, "target.spm", &spm_td, &spm_tl, &spm_t) < 0)
		goto out;

	/* the weights, entry by entry */
	snprintf(path, sizeof(path), "%s/model.safetensors", dir);
	if ((st = sq_st_open(path)) == NULL || sq_st_read_tensors(st) < 0)
		goto out;
	snprintf(plain_id, sizeof(plain_id), "hf-marian-%08lx",
	    (unsigned long)sq_crc32(st->map, st->map_len));
	sq_recast_id(id, sizeof(id), plain_id, dtype);
	if ((m = sq_model_new(&c, id)) == NULL)
		goto out;
	for (int i = 0; i < m->params->n; i++)
		if (fill(m, &m->params->p[i], st, path) < 0)
			goto out;
	if (check_positions(st, &c, path) < 0)
		goto out;
	for (size_t i = 0; i < st->n_t; i++)
		if (!st->t[i].used)
			BAD("%s: tensor %s is not supported (no seqpipe tensor "
			    "maps to it)", path, st->t[i].name);

	map_s = sq_pieces_spm_map(&v, spm_s, c.src_vocab_size);
	map_t = sq_pieces_spm_map(&v, spm_t, c.tgt_vocab_size);
	m->vocab_src = map_s;
	m->vocab_tgt = map_t;
	m->spm_src = (const uint8_t *)spm_sd, m->spm_src_len = spm_sl;
	m->spm_tgt = (const uint8_t *)spm_td, m->spm_tgt_len = spm_tl;
	x = json_object_get(j, "transformers_version");
	snprintf(prov, sizeof(prov), "%s from %s (Hugging Face MarianMTModel, "
	    "transformers %s)", tool, dir, json_is_string(x) ?
	    json_string_value(x) : "unknown");
	m->provenance = prov;
	/* MarianTokenizer ends every source with </s>, as Marian does */
	snprintf(eos, sizeof(eos), "%d", c.eos_id);
	meta[so.n_meta++] = (struct sq_extra_meta){"marian.source-eos-id", eos};
	if (json_is_integer(x = json_object_get(j, "num_beams"))) {
		snprintf(beams, sizeof(beams), "%lld",
		    (long long)json_integer_value(x));
		meta[so.n_meta++] = (struct sq_extra_meta){"marian.beam-size",
		    beams};
	}
	so.meta = meta;
	if (sq_model_save(m, out, &so) < 0)
		goto out;
	rc = 0;
out:
	sq_model_close(m);
	sq_st_close(st);
	free(map_s);
	free(map_t);
	sq_spm_free(spm_s);
	sq_spm_free(spm_t);
	free(spm_sd);
	free(spm_td);
	free(vj);
	sq_pieces_free(&v);
	json_decref(j);
	return rc;
}
