/*
 * test_model: lib/nn/model.c against model files written here by hand.
 *
 * Without operands: TAP.  Writes a minimal model (D 4, 2 heads, one layer
 * each side, everything tied, no SentencePiece models) with the tensor
 * values numbered, opens it and checks the config defaults, the tied
 * pointers and that each weight pointer lands on its own bytes; the same
 * for the opposite variant (untied, learned positions, final norms,
 * output bias, a SentencePiece tensor); then truncates and corrupts
 * copies and checks each is refused.
 *
 * With operands: opens each model file and prints "FILE: MODEL_ID", or
 * dies with the loader's one-line message (exit 1).  tests/model.bats
 * drives it with files that scripts/make-model.py made and Python broke,
 * until a program that opens models exists.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/model.h"
#include "tap.h"
#include "base/util.h"

/* The tensors of the test model, in file order, with their element counts. */
#define D 4
#define F 8
#define V 6
#define P 8
static const struct {
	const char *name;
	int rows, cols;		/* cols 0: 1-D */
	int untied;		/* only in the untied variant */
} tensors[] = {
	{"encoder.embed_tokens.weight", V, D, 0},
#define ATTN(p) \
	{p ".q_proj.weight", D, D, 0}, {p ".q_proj.bias", D, 0, 0}, \
	{p ".k_proj.weight", D, D, 0}, {p ".k_proj.bias", D, 0, 0}, \
	{p ".v_proj.weight", D, D, 0}, {p ".v_proj.bias", D, 0, 0}, \
	{p ".out_proj.weight", D, D, 0}, {p ".out_proj.bias", D, 0, 0}
#define NORM(p) {p ".weight", D, 0, 0}, {p ".bias", D, 0, 0}
#define FFN(p) \
	{p ".fc1.weight", F, D, 0}, {p ".fc1.bias", F, 0, 0}, \
	{p ".fc2.weight", D, F, 0}, {p ".fc2.bias", D, 0, 0}, \
	NORM(p ".final_layer_norm")
	ATTN("encoder.layers.0.self_attn"),
	NORM("encoder.layers.0.self_attn_layer_norm"),
	FFN("encoder.layers.0"),
	ATTN("decoder.layers.0.self_attn"),
	NORM("decoder.layers.0.self_attn_layer_norm"),
	ATTN("decoder.layers.0.encoder_attn"),
	NORM("decoder.layers.0.encoder_attn_layer_norm"),
	FFN("decoder.layers.0"),
	{"decoder.embed_tokens.weight", V, D, 1},
	{"encoder.embed_positions.weight", P, D, 1},
	{"decoder.embed_positions.weight", P, D, 1},
	{"encoder.layer_norm.weight", D, 0, 1}, {"encoder.layer_norm.bias", D, 0, 1},
	{"decoder.layer_norm.weight", D, 0, 1}, {"decoder.layer_norm.bias", D, 0, 1},
	{"output_projection.weight", V, D, 1}, {"output_projection.bias", V, 0, 1},
};
#define N_TENSORS (sizeof(tensors) / sizeof(tensors[0]))

/* The U8 SentencePiece "model" of the untied variant. */
#define SPM "hello"

/*
 * Writes the test model, tied or untied, to path; skip names a tensor to
 * leave out (or NULL).  Tensor k's elements hold k * 1000 + their index.
 */
static void
write_model(const char *path, const char *skip, int untied)
{
	json_t *root = json_object(), *meta;
	size_t i, off = 0, n;
	char *hdr;
	FILE *f;

	for (i = 0; i < N_TENSORS; i++) {
		size_t cnt = (size_t)tensors[i].rows *
		    (tensors[i].cols ? (size_t)tensors[i].cols : 1);
		json_t *shape;

		if ((skip && strcmp(skip, tensors[i].name) == 0) ||
		    (tensors[i].untied && !untied))
			continue;
		shape = tensors[i].cols ?
		    json_pack("[ii]", tensors[i].rows, tensors[i].cols) :
		    json_pack("[i]", tensors[i].rows);
		json_object_set_new(root, tensors[i].name,
		    json_pack("{s:s, s:o, s:[II]}", "dtype", "F32", "shape",
		    shape, "data_offsets", (json_int_t)off,
		    (json_int_t)(off + 4 * cnt)));
		off += 4 * cnt;
	}
	meta = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "format", "seqpipe-1", "model_id", "unit-test-model",
	    "d_model", "4", "n_heads", "2", "d_ff", "8", "encoder_layers", "1",
	    "decoder_layers", "1", "src_vocab_size", "6", "tgt_vocab_size", "6");
	if (untied) {
		json_object_update_new(meta, json_pack("{s:s, s:s, s:s, s:s, s:s, "
		    "s:s, s:s, s:s}", "positions", "learned", "max_positions",
		    "8", "output_bias", "1", "encoder_final_norm", "1",
		    "decoder_final_norm", "1", "activation", "gelu", "pre_norm",
		    "1", "bos_id", "-1"));
		json_object_set_new(root, "spm.source", json_pack(
		    "{s:s, s:[i], s:[II]}", "dtype", "U8", "shape",
		    (int)strlen(SPM), "data_offsets", (json_int_t)off,
		    (json_int_t)(off + strlen(SPM))));
	} else {
		json_object_update_new(meta, json_pack("{s:s, s:s, s:s}",
		    "tie_src_tgt", "1", "tie_output", "1", "shared_vocab", "1"));
	}
	json_object_set_new(root, "__metadata__", meta);
	hdr = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(root);
	n = strlen(hdr);
	f = fopen(path, "wb");
	SQ_ASSERT(f != NULL);
	{
		/* pad the header so the data area starts 8-aligned */
		size_t pad = (8 - (8 + n) % 8) % 8;
		unsigned char len8[8];
		uint64_t hl = n + pad;

		for (i = 0; i < 8; i++)
			len8[i] = (unsigned char)(hl >> (8 * i));
		fwrite(len8, 1, 8, f);
		fwrite(hdr, 1, n, f);
		fwrite("        ", 1, pad, f);
	}
	for (i = 0; i < N_TENSORS; i++) {
		size_t cnt = (size_t)tensors[i].rows *
		    (tensors[i].cols ? (size_t)tensors[i].cols : 1);

		if ((skip && strcmp(skip, tensors[i].name) == 0) ||
		    (tensors[i].untied && !untied))
			continue;
		for (size_t j = 0; j < cnt; j++) {
			float v = (float)(i * 1000 + j);

			fwrite(&v, 4, 1, f);
		}
	}
	if (untied)
		fwrite(SPM, 1, strlen(SPM), f);
	free(hdr);
	SQ_ASSERT(fclose(f) == 0);
}

/* The value write_model() put first in tensor name. */
static float
first_value(const char *name)
{
	for (size_t i = 0; i < N_TENSORS; i++)
		if (strcmp(tensors[i].name, name) == 0)
			return (float)(i * 1000);
	return -1;
}

static int
refused(const char *path, const char *needle)
{
	struct sq_model *m = sq_model_open(path);

	if (m != NULL) {
		sq_model_close(m);
		return 0;
	}
	return strstr(sq_errstr(), needle) != NULL &&
	    strchr(sq_errstr(), '\n') == NULL;
}

static void
self_test(void)
{
	char dir[] = "/tmp/test_model.XXXXXX", path[64], bad[64];
	struct sq_model *m;
	char id[256];
	FILE *f;
	long size;

	SQ_ASSERT(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/m.sq", dir);
	snprintf(bad, sizeof(bad), "%s/bad.sq", dir);
	write_model(path, NULL, 1);
	m = sq_model_open(path);
	ok(m != NULL, "opens a minimal untied model");
	if (m == NULL)
		goto out;
	ok(m->cfg.positions == SQ_POS_LEARNED && m->cfg.pre_norm &&
	    m->cfg.activation == SQ_ACT_GELU && m->cfg.bos_id == -1 &&
	    m->cfg.decoder_start_id == m->cfg.eos_id, "untied config");
	ok(m->tgt_embed[0] == first_value("decoder.embed_tokens.weight") &&
	    m->enc_pos[0] == first_value("encoder.embed_positions.weight") &&
	    m->dec_pos[P * D - 1] == first_value(
	    "decoder.embed_positions.weight") + P * D - 1 &&
	    m->enc_final.b[0] == first_value("encoder.layer_norm.bias") &&
	    m->dec_final.g[0] == first_value("decoder.layer_norm.weight") &&
	    m->out_proj[0] == first_value("output_projection.weight") &&
	    m->out_bias[V - 1] == first_value("output_projection.bias") + V - 1,
	    "untied: every pointer lands on its own tensor");
	ok(m->spm_src_len == strlen(SPM) &&
	    memcmp(m->spm_src, SPM, strlen(SPM)) == 0 && m->spm_tgt == NULL,
	    "untied: spm.source, no spm.target");
	sq_model_close(m);

	write_model(path, NULL, 0);

	m = sq_model_open(path);
	ok(m != NULL, "opens a minimal tied model");
	if (m == NULL)
		goto out;
	ok(strcmp(m->model_id, "unit-test-model") == 0, "model id");
	ok(m->cfg.embed_scale == 2.0f && m->cfg.max_positions == 1024 &&
	    m->cfg.eos_id == 2 && m->cfg.decoder_start_id == m->cfg.bos_id &&
	    m->cfg.layer_norm_eps == 1e-5f &&
	    m->cfg.positions == SQ_POS_SIN_INTERLEAVED &&
	    m->cfg.activation == SQ_ACT_RELU, "config defaults");
	ok(m->tgt_embed == m->src_embed && m->out_proj == m->src_embed &&
	    m->out_bias == NULL && m->enc_pos == NULL &&
	    m->enc_final.g == NULL, "tied and absent tensors");
	ok(m->spm_src == NULL && m->spm_tgt == NULL, "no SentencePiece models");
	ok(m->src_embed[0] == first_value("encoder.embed_tokens.weight") &&
	    m->enc[0].fc2.w[0] == first_value("encoder.layers.0.fc2.weight") &&
	    m->enc[0].fc2.w[D * F - 1] == first_value(
	    "encoder.layers.0.fc2.weight") + D * F - 1 &&
	    m->dec[0].cross_attn.out.b[0] == first_value(
	    "decoder.layers.0.encoder_attn.out_proj.bias") &&
	    m->dec[0].final_norm.b[D - 1] == first_value(
	    "decoder.layers.0.final_layer_norm.bias") + D - 1,
	    "weight pointers land on their tensors");
	sq_model_close(m);

	ok(sq_model_peek_id(path, id, sizeof(id)) == 0 &&
	    strcmp(id, "unit-test-model") == 0, "peek_id");
	ok(sq_model_peek_id(path, id, 5) == -1, "peek_id: id buffer too small");

	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	SQ_ASSERT(truncate(path, size - 1) == 0);
	ok(refused(path, "outside the data area"), "truncated by one byte");
	SQ_ASSERT(truncate(path, 100) == 0);
	ok(refused(path, "runs past the end of the file"), "truncated header");
	ok(sq_model_peek_id(path, id, sizeof(id)) == -1, "peek_id: truncated");
	SQ_ASSERT(truncate(path, 3) == 0);
	ok(refused(path, "too short"), "3-byte file");

	write_model(bad, "decoder.layers.0.fc1.bias", 0);
	ok(refused(bad, "missing (tensor decoder.layers.0.fc1.bias)"),
	    "missing tensor named");
	ok(refused("/nonexistent/model.sq", "No such file"), "no file");
	ok(refused(dir, "not a regular file"), "a directory");
	unlink(bad);
out:
	unlink(path);
	rmdir(dir);
}

int
main(int argc, char *argv[])
{
	sq_setprogname(argv[0]);
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			struct sq_model *m = sq_model_open(argv[i]);
			char id[256];

			if (m == NULL)
				sq_die("%s", sq_errstr());
			if (sq_model_peek_id(argv[i], id, sizeof(id)) < 0 ||
			    strcmp(id, m->model_id) != 0)
				sq_die("%s: peek_id disagrees with open", argv[i]);
			printf("%s: %s\n", argv[i], m->model_id);
			sq_model_close(m);
		}
		return sq_fshut(stdout, "<stdout>");
	}
	self_test();
	return tap_done();
}
