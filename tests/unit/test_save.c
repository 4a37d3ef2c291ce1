/*
 * test_save: lib/nn/save.c and the parameter table, by round trips
 * through the loader (lib/nn/model.c, which checks names, shapes, dtypes,
 * offsets and that no tensor is left unexplained).
 *
 * For a tied config and an untied one (learned positions, final norms,
 * output bias, vocabularies), a model from sq_model_new() with every
 * weight numbered is saved, opened, and compared weight by weight and key
 * by key; saving twice gives the same bytes; saving where no file can be
 * made fails with the path in the message and leaves nothing behind.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn/config.h"
#include "nn/half.h"
#include "nn/model.h"
#include "nn/params.h"
#include "tap.h"
#include "base/util.h"

static void
config(struct sq_config *c, int untied)
{
	sq_config_defaults(c);
	c->d_model = 8, c->n_heads = 2, c->d_ff = 16;
	c->encoder_layers = 2, c->decoder_layers = 1;
	c->src_vocab_size = 11, c->tgt_vocab_size = untied ? 13 : 11;
	c->max_positions = 32;
	c->tie_src_tgt = c->tie_output = c->shared_vocab = !untied;
	if (untied) {
		c->positions = SQ_POS_LEARNED;
		c->encoder_final_norm = c->decoder_final_norm = 1;
		c->output_bias = 1, c->pre_norm = 1;
		c->activation = SQ_ACT_SILU, c->layer_norm_eps = 1e-6f;
	}
	sq_config_finish(c);
}

static char *
slurp(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *p;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	p = sq_malloc((size_t)*len + 1);
	if (fread(p, 1, (size_t)*len, f) != (size_t)*len)
		*len = -1;
	fclose(f);
	return p;
}

/* Extra tensors and metadata ride along and read back; the loader
   ignores them. */
static void
extra_round_trip(const struct sq_model *m, const char *dir)
{
	static const float state[5] = {1, -2, 3.5f, 0, 1e-30f};
	struct sq_extra_tensor xt[] = {{"extra.adam.m", state, 5},
	    {"extra.step", state + 2, 1}};
	struct sq_extra_meta xm[] = {{"train.step", "1234"}};
	struct sq_save_opts x = {.n_tensors = 2, .tensors = xt, .n_meta = 1,
	    .meta = xm};
	struct sq_model *back = NULL;
	const float *p;
	char path[320];
	long n = 0;

	snprintf(path, sizeof(path), "%s/extra.model", dir);
	ok(sq_model_save(m, path, &x) == 0 &&
	    (back = sq_model_open(path)) != NULL,
	    "%s: saved with extras, and opens", m->model_id);
	if (back == NULL)
		return;
	p = sq_model_extra(back, "extra.adam.m", &n);
	ok(p != NULL && n == 5 && memcmp(p, state, sizeof(state)) == 0,
	    "%s: extra tensor reads back", m->model_id);
	ok(sq_model_extra(back, "extra.none", &n) == NULL &&
	    sq_model_extra(back, "encoder.embed_tokens.weight", &n) == NULL,
	    "%s: absent or non-extra names give NULL", m->model_id);
	ok(sq_model_meta(back, "train.step") != NULL &&
	    strcmp(sq_model_meta(back, "train.step"), "1234") == 0,
	    "%s: extra metadata reads back", m->model_id);
	sq_model_close(back);
}

static void
round_trip(const char *dir, int untied)
{
	static const uint8_t spm[] = "not really a SentencePiece model";
	int32_t vs[11], vt[13];
	struct sq_config c;
	struct sq_model *m, *back;
	char path[320], path2[320], a[64], b[64];
	long i, la, lb;
	int same = 1, keys_same = 1;
	char *x, *y;

	config(&c, untied);
	m = sq_model_new(&c, untied ? "untied-test" : "tied-test");
	ok(m != NULL, "%s: sq_model_new", m ? m->model_id : "?");
	for (i = 0; i < m->params->total; i++)
		m->owned[i] = (float)i * 0.5f - 7.0f;
	m->spm_src = spm, m->spm_src_len = sizeof(spm);
	m->spm_tgt = untied ? spm + 4 : spm;
	m->spm_tgt_len = untied ? sizeof(spm) - 4 : sizeof(spm);
	if (untied) {
		for (i = 0; i < 11; i++)
			vs[i] = (int32_t)(10 - i);
		for (i = 0; i < 13; i++)
			vt[i] = i == 12 ? -1 : (int32_t)i;
		m->vocab_src = vs, m->vocab_tgt = vt;
	}
	m->provenance = "test_save";
	snprintf(path, sizeof(path), "%s/%s.model", dir, m->model_id);
	ok(sq_model_save(m, path, NULL) == 0, "%s: saved", m->model_id);
	back = sq_model_open(path);
	ok(back != NULL, "%s: the loader takes the saved file", m->model_id);
	if (back == NULL)
		goto out;
	for (i = 0; i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];

		if (memcmp(*sq_param_field(m, p), *sq_param_field(back, p),
		    (size_t)p->numel * sizeof(float)) != 0)
			same = 0;
	}
	ok(same, "%s: every weight reads back bit for bit (%d tensors)",
	    m->model_id, m->params->n);
	for (i = 0; i < sq_config_n_keys(); i++)
		if (strcmp(sq_config_value(&m->cfg, (int)i, a, sizeof(a)),
		    sq_config_value(&back->cfg, (int)i, b, sizeof(b))) != 0)
			keys_same = 0;
	ok(keys_same, "%s: every config key reads back", m->model_id);
	ok(strcmp(back->provenance, "test_save") == 0 &&
	    strcmp(back->model_id, m->model_id) == 0,
	    "%s: model id and provenance", m->model_id);
	ok(back->spm_src_len == m->spm_src_len && back->spm_tgt_len ==
	    m->spm_tgt_len && memcmp(back->spm_tgt, m->spm_tgt,
	    m->spm_tgt_len) == 0, "%s: SentencePiece models", m->model_id);
	ok((back->tgt_embed == back->src_embed) == !untied &&
	    (back->out_proj == back->tgt_embed) == !untied,
	    "%s: tied fields share their tensor", m->model_id);
	if (untied)
		ok(back->vocab_src != NULL && back->vocab_src[3] == 7 &&
		    back->vocab_tgt[12] == -1 && back->vocab_tgt[5] == 5,
		    "%s: vocabularies read back", m->model_id);
	else
		ok(back->vocab_src == NULL && back->vocab_tgt == NULL,
		    "%s: no vocabularies: SentencePiece ids", m->model_id);
	snprintf(path2, sizeof(path2), "%s/again.model", dir);
	ok(sq_model_save(back, path2, NULL) == 0, "%s: a mapped model saves too",
	    m->model_id);
	extra_round_trip(m, dir);
	x = slurp(path, &la);
	y = slurp(path2, &lb);
	ok(x && y && la == lb && memcmp(x, y, (size_t)la) == 0,
	    "%s: the same model gives the same bytes (%ld)", m->model_id, la);
	free(x);
	free(y);
	sq_model_close(back);
out:
	sq_model_close(m);
}

/* The bytes of a model file's data area: past its header. */
static long
data_bytes(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char len[8];
	long n = -1, hlen = 0;

	if (f != NULL && fread(len, 1, 8, f) == 8 && fseek(f, 0, SEEK_END) == 0) {
		for (int i = 7; i >= 0; i--)
			hlen = hlen << 8 | len[i];
		n = ftell(f) - 8 - hlen;
	}
	if (f != NULL)
		fclose(f);
	return n;
}

/* F16 storage: about half the bytes, weights rounded to half precision. */
static void
f16_round_trip(const char *dir)
{
	struct sq_config c;
	struct sq_model *m, *back;
	struct sq_save_opts x = {.dtype = SQ_W_F16};
	char p32[320], p16[320];
	long i, n32, n16, bad = 0;

	config(&c, 0);
	m = sq_model_new(&c, "f16-test");
	for (i = 0; i < m->params->total; i++)
		m->owned[i] = (float)sin((double)i) * 3.0f;
	snprintf(p32, sizeof(p32), "%s/f32.model", dir);
	snprintf(p16, sizeof(p16), "%s/f16.model", dir);
	ok(sq_model_save(m, p32, NULL) == 0 && sq_model_save(m, p16, &x) == 0,
	    "saved as F32 and as F16");
	n32 = data_bytes(p32);
	n16 = data_bytes(p16);
	ok(n32 - n16 == m->params->total * 2, "the F16 file has 2 "
	    "bytes less per weight (%ld and %ld bytes, %ld weights)", n16, n32,
	    m->params->total);
	back = sq_model_open(p16);
	ok(back != NULL, "the loader takes F16 weights");
	if (back == NULL)
		goto out;
	for (i = 0; i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];
		const float *a = *sq_param_field(m, p);
		const float *b = *sq_param_field(back, p);

		for (long k = 0; k < p->numel; k++)
			if (b[k] != sq_half_to_float(sq_float_to_half(a[k])))
				bad++;
	}
	ok(bad == 0, "each weight reads back as its half-precision rounding");
	ok(back->tgt_embed == back->src_embed && back->out_proj ==
	    back->src_embed, "tied fields share the widened tensor");
	sq_model_close(back);
out:
	sq_model_close(m);
}

int
main(void)
{
	char dir[] = "/tmp/test_save.XXXXXX", bad[300];
	struct sq_config c;
	struct sq_model *m;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (mkdtemp(dir) == NULL)
		sq_die("mkdtemp:");
	round_trip(dir, 0);
	round_trip(dir, 1);
	f16_round_trip(dir);

	config(&c, 0);
	c.n_heads = 3;
	ok(sq_model_new(&c, "x") == NULL && strstr(sq_errstr(), "n_heads"),
	    "a config the loader would refuse is refused: %s", sq_errstr());

	config(&c, 0);
	m = sq_model_new(&c, "x");
	snprintf(bad, sizeof(bad), "%s/no/such/dir/m.model", dir);
	ok(sq_model_save(m, bad, NULL) < 0 && strstr(sq_errstr(), bad) != NULL,
	    "an unwritable path fails naming it: %s", sq_errstr());
	sq_model_close(m);

	d = opendir(dir);
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	ok(n == 0, "no temporary file is left behind");
	if (tap_failed == 0) {
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
	return tap_done();
}
