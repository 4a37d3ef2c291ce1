/*
 * marian: see marian.h.  The seqpipe parameter table (nn/params.h) drives
 * the import: each of its entries names the Marian tensor it comes from
 * (marian_name()), whose shape must be the transpose or the copy the
 * config implies; every npz item must be consumed by some entry, so a
 * variant this mapping does not know cannot pass silently.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "import/marian.h"
#include "import/npy.h"
#include "import/pieces.h"
#include "import/recast.h"
#include "import/yml.h"
#include "import/zip.h"
#include "io/spm.h"
#include "nn/config.h"
#include "nn/model.h"
#include "nn/params.h"
#include "base/util.h"

#define BAD(...) do { sq_seterr(__VA_ARGS__); goto out; } while (0)

/* A release: a zip's members or a folder's files, found by basename. */
struct release {
	const char *path;
	struct sq_zip *zip;	/* NULL for a folder */
	char **names;		/* (n) */
	int n;
};

static const char *
base(const char *s)
{
	const char *b = strrchr(s, '/');

	return b ? b + 1 : s;
}

static int
ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int
open_release(struct release *r, const char *path)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->path = path;
	if (stat(path, &st) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *de;

		if (d == NULL) {
			sq_seterr("%s: %s", path, strerror(errno));
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			r->names = sq_reallocarray(r->names, (size_t)r->n + 1,
			    sizeof(char *));
			r->names[r->n++] = sq_strdup(de->d_name);
		}
		closedir(d);
		return 0;
	}
	if ((r->zip = sq_zip_open(path)) == NULL)
		return -1;
	r->names = sq_calloc((size_t)r->zip->n + 1, sizeof(char *));
	for (int i = 0; i < r->zip->n; i++)
		r->names[r->n++] = sq_strdup(r->zip->e[i].name);
	return 0;
}

static void
close_release(struct release *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->names[i]);
	free(r->names);
	sq_zip_close(r->zip);
}

/* The index of the member or file whose basename is name, or -1. */
static int
find(const struct release *r, const char *name)
{
	for (int i = 0; i < r->n; i++)
		if (strcmp(base(r->names[i]), name) == 0)
			return i;
	return -1;
}

/*
 * Member i's bytes: a view into the zip (*owned NULL) or memory *owned
 * for the caller to free.  NULL with sq_errstr() set.
 */
static const void *
get(struct release *r, int i, size_t *len, void **owned)
{
	char path[4096];
	char *buf;

	if (r->zip)
		return sq_zip_get(r->zip, sq_zip_find(r->zip, r->names[i]),
		    len, owned);
	snprintf(path, sizeof(path), "%s/%s", r->path, r->names[i]);
	if (sq_read_file(path, &buf, len) < 0)
		return NULL;
	*owned = buf;
	return buf;
}

/* The file called name, which must exist; NULL with sq_errstr() set. */
static const void *
get_named(struct release *r, const char *name, size_t *len, void **owned)
{
	int i = find(r, name);

	*owned = NULL;
	if (i < 0) {
		sq_seterr("%s: no %s", r->path, name);
		return NULL;
	}
	return get(r, i, len, owned);
}

static int
load_vocab(struct release *r, const char *name, struct sq_pieces *v)
{
	char where[4200];
	const void *d;
	void *owned;
	size_t len;
	int rc = 0;

	memset(v, 0, sizeof(*v));
	if (ends(name, ".fsv")) {
		sq_seterr("%s: %s: factored vocabularies are not supported",
		    r->path, name);
		return -1;
	}
	if (ends(name, ".spm")) {
		sq_seterr("%s: %s: a SentencePiece model as Marian's "
		    "vocabulary is not supported", r->path, name);
		return -1;
	}
	if ((d = get_named(r, name, &len, &owned)) == NULL)
		return -1;
	snprintf(where, sizeof(where), "%s: %s", r->path, name);
	if (ends(name, ".yml") || ends(name, ".yaml"))
		rc = sq_pieces_yml(v, d, len, where);
	else if (ends(name, ".json"))
		rc = sq_pieces_json(v, d, len, where);
	else
		sq_pieces_text(v, d, len);
	free(owned);
	if (rc == 0 && v->n == 0) {
		sq_seterr("%s: empty vocabulary", where);
		rc = -1;
	}
	return rc;
}

/* Settings from special:model.yml, with Marian's CLI defaults. */
struct settings {
	const struct sq_yml *y;
	const char *where;
	int bad;
};

static const char *
ystr(struct settings *s, const char *key, const char *def)
{
	const struct sq_yml_entry *e = sq_yml_get(s->y, key);

	if (e == NULL)
		return def;
	if (e->value == NULL) {
		sq_seterr("%s: %s is a list", s->where, key);
		s->bad = 1;
		return def;
	}
	return e->value;
}

static long
yint(struct settings *s, const char *key, long def)
{
	const char *v = ystr(s, key, NULL);
	char *end;
	long x;

	if (v == NULL)
		return def;
	x = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0') {
		if (!s->bad)
			sq_seterr("%s: %s: '%s' is not an integer", s->where,
			    key, v);
		s->bad = 1;
	}
	return x;
}

static int
ybool(struct settings *s, const char *key, int def)
{
	const char *v = ystr(s, key, NULL);

	if (v == NULL)
		return def;
	if (!strcmp(v, "true") || !strcmp(v, "1"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0"))
		return 0;
	if (!s->bad)
		sq_seterr("%s: %s: '%s' is not a boolean", s->where, key, v);
	s->bad = 1;
	return def;
}

/* s without the 'd' (dropout) ops: what changes inference. */
static const char *
ops(const char *s, char *buf)
{
	int n = 0;

	for (; *s && n < 15; s++)
		if (*s != 'd')
			buf[n++] = *s;
	buf[n] = '\0';
	return buf;
}

/* What the model needs from the Marian config, and where it came from. */
struct marian {
	struct sq_config c;
	int tied_all_src;	/* one Wemb for both sides */
	int omit_bias;
	int v_src, v_tgt;	/* Marian's vocabulary sizes */
	const char *ln_suffix;	/* "" post-norm, "_pre" pre-norm */
};

static int
read_config(struct marian *mr, struct settings *s)
{
	struct sq_config *c = &mr->c;
	const struct sq_yml_entry *dv, *tl;
	char b1[16], b2[16], b3[16], b4[16];
	const char *v, *pre, *post, *emb, *top;
	long dff, ddff, depth, ddepth;

	sq_config_defaults(c);
	if (strcmp(v = ystr(s, "type", "amun"), "transformer") != 0)
		BAD("%s: model type '%s' is not supported (only transformer)",
		    s->where, v);
	v = ystr(s, "transformer-decoder-autoreg", "self-attention");
	if (strcmp(v, "average-attention") == 0)
		BAD("%s: average-attention decoders "
		    "(transformer-decoder-autoreg: average-attention) are not "
		    "supported", s->where);
	if (strcmp(v, "rnn") == 0)
		BAD("%s: RNN decoders (transformer-decoder-autoreg: rnn, "
		    "dec-cell: %s) are not supported", s->where,
		    ystr(s, "dec-cell", "gru"));
	if (strcmp(v, "self-attention") != 0)
		BAD("%s: transformer-decoder-autoreg '%s' is not supported",
		    s->where, v);
	c->d_model = (int)yint(s, "dim-emb", 512);
	c->n_heads = (int)yint(s, "transformer-heads", 8);
	c->encoder_layers = (int)yint(s, "enc-depth", 1);
	c->decoder_layers = (int)yint(s, "dec-depth", 1);
	dff = yint(s, "transformer-dim-ffn", 2048);
	ddff = yint(s, "transformer-decoder-dim-ffn", 0);
	depth = yint(s, "transformer-ffn-depth", 2);
	ddepth = yint(s, "transformer-decoder-ffn-depth", 0);
	if (s->bad)
		goto out;
	if (ddff != 0 && ddff != dff)
		BAD("%s: transformer-decoder-dim-ffn %ld differs from "
		    "transformer-dim-ffn %ld: not supported", s->where, ddff,
		    dff);
	if (depth != 2 || (ddepth != 0 && ddepth != 2))
		BAD("%s: transformer-ffn-depth %ld (decoder %ld) is not "
		    "supported (only 2)", s->where, depth, ddepth);
	c->d_ff = (int)dff;
	if ((dv = sq_yml_get(s->y, "dim-vocabs")) == NULL || dv->n_items != 2)
		BAD("%s: dim-vocabs is not a list of two sizes", s->where);
	mr->v_src = atoi(dv->items[0]);
	mr->v_tgt = atoi(dv->items[1]);
	if (mr->v_src <= 0 || mr->v_tgt <= 0)
		BAD("%s: dim-vocabs [%s, %s]: not two positive sizes",
		    s->where, dv->items[0], dv->items[1]);
	v = ystr(s, "transformer-ffn-activation", "swish");
	if (strcmp(v, "swish") == 0)
		c->activation = SQ_ACT_SILU;
	else if (strcmp(v, "relu") == 0)
		c->activation = SQ_ACT_RELU;
	else
		BAD("%s: transformer-ffn-activation '%s' is not supported "
		    "(swish or relu; Marian's gelu differs by version)",
		    s->where, v);
	pre = ops(ystr(s, "transformer-preprocess", ""), b1);
	post = ops(ystr(s, "transformer-postprocess", "dan"), b2);
	emb = ops(ystr(s, "transformer-postprocess-emb", "d"), b3);
	top = ops(ystr(s, "transformer-postprocess-top", ""), b4);
	if (!strcmp(pre, "") && !strcmp(post, "an"))
		c->pre_norm = 0, mr->ln_suffix = "";
	else if (!strcmp(pre, "n") && !strcmp(post, "a"))
		c->pre_norm = 1, mr->ln_suffix = "_pre";
	else
		BAD("%s: transformer-preprocess '%s' with "
		    "transformer-postprocess '%s' is not supported (post-norm "
		    "\"\"/dan or pre-norm n/da)", s->where,
		    ystr(s, "transformer-preprocess", ""),
		    ystr(s, "transformer-postprocess", "dan"));
	if (*emb)
		BAD("%s: embedding layer norms (transformer-postprocess-emb: "
		    "%s) are not supported", s->where,
		    ystr(s, "transformer-postprocess-emb", "d"));
	if (*top && strcmp(top, "n") != 0)
		BAD("%s: transformer-postprocess-top '%s' is not supported",
		    s->where, top);
	c->encoder_final_norm = c->decoder_final_norm = *top == 'n';
	if (ybool(s, "transformer-train-position-embeddings", 0) ||
	    ybool(s, "transformer-train-positions", 0))
		BAD("%s: learned positions (Wpos) are not supported",
		    s->where);
	if (ybool(s, "transformer-disable-position-embeddings", 0))
		BAD("%s: transformer-disable-position-embeddings is not "
		    "supported", s->where);
	if (ybool(s, "transformer-no-projection", 0))
		BAD("%s: transformer-no-projection is not supported",
		    s->where);
	if ((tl = sq_yml_get(s->y, "transformer-tied-layers")) != NULL &&
	    tl->n_items > 0)
		BAD("%s: transformer-tied-layers is not supported", s->where);
	mr->tied_all_src = ybool(s, "tied-embeddings-all", 0) ||
	    ybool(s, "tied-embeddings-src", 0);
	c->tie_src_tgt = mr->tied_all_src;
	c->tie_output = ybool(s, "tied-embeddings", 0) ||
	    ybool(s, "tied-embeddings-all", 0);
	mr->omit_bias = ybool(s, "output-omit-bias", 0);
	if (s->bad)
		goto out;
	if (mr->tied_all_src && mr->v_src != mr->v_tgt)
		BAD("%s: tied embeddings with dim-vocabs [%d, %d] of "
		    "different sizes", s->where, mr->v_src, mr->v_tgt);
	c->positions = SQ_POS_SIN_HALF;
	c->position_offset = 0;
	c->embed_scale = sqrtf((float)c->d_model);
	c->layer_norm_eps = 1e-6f;
	c->output_bias = 1;
	c->shared_vocab = 0;
	c->tgt_vocab_size = mr->v_tgt;
	c->src_vocab_size = mr->v_src;
	c->decoder_start_id = -1;	/* Marian starts from a zero vector */
	c->bos_id = -1;
	c->pad_id = -1;
	return 0;
out:
	return -1;
}

/*
 * The Marian tensor seqpipe entry p comes from, in out, and how: 'T' a
 * [in, out] weight to transpose, 'v' a [1, n] vector, 'E' an embedding
 * [V, d] as it is, 'W' a legacy output [d, V] to transpose, 'b' the
 * output bias [1, V].
 */
static int
marian_name(const struct marian *mr, const struct sq_param *p, char *out,
    size_t size)
{
	static const struct { const char *sq, *mar; int how; } sub[] = {
		{"self_attn.q_proj.weight", "self_Wq", 'T'},
		{"self_attn.k_proj.weight", "self_Wk", 'T'},
		{"self_attn.v_proj.weight", "self_Wv", 'T'},
		{"self_attn.out_proj.weight", "self_Wo", 'T'},
		{"self_attn.q_proj.bias", "self_bq", 'v'},
		{"self_attn.k_proj.bias", "self_bk", 'v'},
		{"self_attn.v_proj.bias", "self_bv", 'v'},
		{"self_attn.out_proj.bias", "self_bo", 'v'},
		{"encoder_attn.q_proj.weight", "context_Wq", 'T'},
		{"encoder_attn.k_proj.weight", "context_Wk", 'T'},
		{"encoder_attn.v_proj.weight", "context_Wv", 'T'},
		{"encoder_attn.out_proj.weight", "context_Wo", 'T'},
		{"encoder_attn.q_proj.bias", "context_bq", 'v'},
		{"encoder_attn.k_proj.bias", "context_bk", 'v'},
		{"encoder_attn.v_proj.bias", "context_bv", 'v'},
		{"encoder_attn.out_proj.bias", "context_bo", 'v'},
		{"self_attn_layer_norm.weight", "self_Wo_ln_scale", 'n'},
		{"self_attn_layer_norm.bias", "self_Wo_ln_bias", 'n'},
		{"encoder_attn_layer_norm.weight", "context_Wo_ln_scale", 'n'},
		{"encoder_attn_layer_norm.bias", "context_Wo_ln_bias", 'n'},
		{"fc1.weight", "ffn_W1", 'T'}, {"fc1.bias", "ffn_b1", 'v'},
		{"fc2.weight", "ffn_W2", 'T'}, {"fc2.bias", "ffn_b2", 'v'},
		{"final_layer_norm.weight", "ffn_ffn_ln_scale", 'n'},
		{"final_layer_norm.bias", "ffn_ffn_ln_bias", 'n'},
	};
	const char *n = p->name;
	int layer;
	char side[16];

	if (!strcmp(n, "encoder.embed_tokens.weight")) {
		snprintf(out, size, mr->tied_all_src ? "Wemb" : "encoder_Wemb");
		return 'E';
	}
	if (!strcmp(n, "decoder.embed_tokens.weight")) {
		snprintf(out, size, "decoder_Wemb");
		return 'E';
	}
	if (!strcmp(n, "encoder.layer_norm.weight") ||
	    !strcmp(n, "decoder.layer_norm.weight")) {
		snprintf(out, size, "%.7s_top_ln_scale", n);
		return 'v';
	}
	if (!strcmp(n, "encoder.layer_norm.bias") ||
	    !strcmp(n, "decoder.layer_norm.bias")) {
		snprintf(out, size, "%.7s_top_ln_bias", n);
		return 'v';
	}
	if (!strcmp(n, "output_projection.weight")) {
		snprintf(out, size, "decoder_ff_logit_out_Wt");
		return 'E';
	}
	if (!strcmp(n, "output_projection.bias")) {
		snprintf(out, size, "decoder_ff_logit_out_b");
		return 'b';
	}
	if (sscanf(n, "%15[a-z].layers.%d.", side, &layer) == 2) {
		/* after "side.layers.N." */
		const char *rest = strchr(strchr(strchr(n, '.') + 1, '.') + 1,
		    '.') + 1;

		for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++)
			if (!strcmp(rest, sub[i].sq)) {
				snprintf(out, size, "%s_l%d_%s%s", side,
				    layer + 1, sub[i].mar, sub[i].how == 'n' ?
				    mr->ln_suffix : "");
				return sub[i].how == 'n' ? 'v' : sub[i].how;
			}
	}
	sq_seterr("no Marian name for %s", n);
	return -1;
}

/*
 * Fills entry p of m from the npz.  used[] marks the items consumed.
 * Returns 0 or -1 with sq_errstr() set.
 */
static int
fill(struct sq_model *m, const struct marian *mr, const struct sq_param *p,
    struct sq_npz *npz, char *used, const char *where)
{
	float *dst = m->owned + p->offset, *tmp = NULL;
	long rows = p->dims[0], cols = p->n_dims > 1 ? p->dims[1] : 0;
	long want0, want1;
	char name[128], iw[4400];
	struct sq_npy a;
	int how, rc = -1, found;

	if ((how = marian_name(mr, p, name, sizeof(name))) < 0)
		return -1;
	found = sq_npz_get(npz, name, &a);
	if (found == 0 && !strcmp(name, "decoder_ff_logit_out_Wt")) {
		/* before 2019-01-30: decoder_ff_logit_out_W, [d, V] */
		snprintf(name, sizeof(name), "decoder_ff_logit_out_W");
		how = 'W';
		found = sq_npz_get(npz, name, &a);
	}
	if (found == 0 && how == 'b' && mr->omit_bias)
		return 0;	/* the model's weights start at zero */
	if (found < 0)
		return -1;
	if (found == 0) {
		sq_seterr("%s: missing tensor %s (for %s)", where, name,
		    p->name);
		return -1;
	}
	for (int i = 0; i < sq_npz_count(npz); i++) {
		char b[512];

		if (!strcmp(sq_npz_name(npz, i, b, sizeof(b)), name))
			used[i] = 1;
	}
	switch (how) {
	case 'T': want0 = cols, want1 = rows; break;
	case 'v': case 'b': want0 = 1, want1 = rows; break;
	case 'W': want0 = cols, want1 = rows; break;
	default: want0 = rows, want1 = cols; break;	/* 'E' */
	}
	snprintf(iw, sizeof(iw), "%s: %s", where, name);
	if (!(a.n_dims == 2 && a.dims[0] == want0 && a.dims[1] == want1) &&
	    !(how == 'v' && a.n_dims == 1 && a.dims[0] == want1)) {
		char got[64] = "";

		for (int i = 0; i < a.n_dims; i++)
			snprintf(got + strlen(got), sizeof(got) - strlen(got),
			    "%s%ld", i ? ", " : "", a.dims[i]);
		sq_seterr("%s: shape (%s), the config implies (%ld, %ld)", iw,
		    got, want0, want1);
		return -1;
	}
	tmp = sq_malloc((size_t)a.numel * sizeof(float) + 1);
	if (sq_npy_floats(tmp, &a, iw) < 0)
		goto out;
	switch (how) {
	case 'T':	/* [in, out] -> [out, in] */
	case 'W':	/* [d, V] -> [V, d] */
		for (long i = 0; i < want0; i++)
			for (long o = 0; o < want1; o++)
				dst[o * want0 + i] = tmp[i * want1 + o];
		break;
	default:	/* 'v', 'b', 'E': as stored */
		memcpy(dst, tmp, (size_t)a.numel * sizeof(float));
		break;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* Why an npz item no entry consumed is there, as well as we can tell. */
static void
unused_item(const char *where, const char *name)
{
	if (strstr(name, "_aan_"))
		sq_seterr("%s: average-attention decoder tensors (%s) are not "
		    "supported", where, name);
	else if (strstr(name, "_rnn_"))
		sq_seterr("%s: RNN (SSRU) decoder tensors (%s) are not "
		    "supported", where, name);
	else if (!strcmp(name, "Wpos"))
		sq_seterr("%s: learned positions (Wpos) are not supported",
		    where);
	else if (strstr(name, "_emb_ln_"))
		sq_seterr("%s: embedding layer norms (%s) are not supported",
		    where, name);
	else
		sq_seterr("%s: tensor %s is not supported (no seqpipe tensor "
		    "maps to it)", where, name);
}

/* decoder.yml's search settings as metadata "marian.KEY". */
struct meta {
	struct sq_extra_meta kv[16];
	char val[16][64];
	int n;
};

static void
add_meta(struct meta *mt, const char *key, const char *val)
{
	if (mt->n == 16)
		return;
	snprintf(mt->val[mt->n], sizeof(mt->val[0]), "%s", val);
	mt->kv[mt->n].key = key;
	mt->kv[mt->n].value = mt->val[mt->n];
	mt->n++;
}

int
sq_marian_import(const char *in, const char *out, int dtype, int panels,
    const char *tool)
{
	struct release r;
	struct sq_npz *npz = NULL;
	struct sq_yml *dec = NULL, *cfg = NULL;
	struct sq_pieces vs = {0}, vt = {0};
	struct sq_spm *spm_s = NULL, *spm_t = NULL;
	struct sq_model *m = NULL;
	struct marian mr;
	struct settings st;
	struct meta mt = {0};
	struct sq_save_opts so = {.dtype = dtype, .panels = panels};
	const void *npz_data, *dyml, *spm_sd = NULL, *spm_td = NULL;
	void *npz_owned = NULL, *dyml_owned = NULL, *spm_so = NULL,
	    *spm_to = NULL;
	size_t len, spm_sl, spm_tl;
	int32_t *map_s = NULL, *map_t = NULL;
	char *used = NULL, where[4200], plain_id[64], id[64], prov[512], buf[64];
	const char *src_vocab = NULL, *tgt_vocab = NULL, *npz_name = NULL;
	const char *version;
	int rc = -1, i, n_npz = 0, eos_s;
	struct sq_npy a;

	memset(&mr, 0, sizeof(mr));
	if (open_release(&r, in) < 0)
		return -1;
	for (i = 0; i < r.n; i++) {
		const char *b = base(r.names[i]);

		if (ends(b, ".npz") && !ends(b, ".optimizer.npz")) {
			npz_name = b;
			n_npz++;
		}
		if (!strcmp(b, "source.bpe"))
			BAD("%s: BPE models (source.bpe) are not supported, "
			    "only SentencePiece (source.spm)", in);
	}
	if (n_npz != 1)
		BAD("%s: %s .npz file (need exactly one)", in, n_npz ? "more "
		    "than one" : "no");

	/* decoder.yml: the vocabularies and the search defaults */
	add_meta(&mt, "marian.max-length-factor", "3");
	add_meta(&mt, "marian.allow-unk", "0");
	if (find(&r, "decoder.yml") >= 0) {
		static const char *const keys[] = {"beam-size", "normalize",
		    "word-penalty", "max-length-factor", "allow-unk"};
		static const char *const mkeys[] = {"marian.beam-size",
		    "marian.normalize", "marian.word-penalty",
		    "marian.max-length-factor", "marian.allow-unk"};
		const struct sq_yml_entry *e;

		if (!(dyml = get_named(&r, "decoder.yml", &len, &dyml_owned)))
			goto out;
		snprintf(where, sizeof(where), "%s: decoder.yml", in);
		if ((dec = sq_yml_parse(dyml, len, where)) == NULL)
			goto out;
		if ((e = sq_yml_get(dec, "shortlist")) != NULL)
			BAD("%s: lexical shortlists (shortlist: %s) are not "
			    "supported", where, e->value ? e->value :
			    e->n_items ? e->items[0] : "");
		if ((e = sq_yml_get(dec, "vocabs")) != NULL) {
			if (e->n_items != 2)
				BAD("%s: vocabs is not a list of two files",
				    where);
			src_vocab = base(e->items[0]);
			tgt_vocab = base(e->items[1]);
		}
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *v;

			if (!(e = sq_yml_get(dec, keys[k])) || !e->value)
				continue;
			v = e->value;
			if (!strcmp(v, "true"))
				v = "1";
			else if (!strcmp(v, "false"))
				v = "0";
			/* a key given twice: the later one wins */
			for (int j = 0; j < mt.n; j++)
				if (!strcmp(mt.kv[j].key, mkeys[k]))
					mt.kv[j].key = "marian.replaced";
			add_meta(&mt, mkeys[k], v);
		}
	}
	if (src_vocab == NULL) {	/* no decoder.yml: the one *.vocab.yml */
		for (i = 0; i < r.n; i++)
			if (ends(r.names[i], ".vocab.yml"))
				src_vocab = tgt_vocab = base(r.names[i]);
		if (src_vocab == NULL)
			BAD("%s: no decoder.yml and no *.vocab.yml", in);
	}

	/* the weights and the architecture */
	if (r.zip) {
		if (!(npz_data = get_named(&r, npz_name, &len, &npz_owned)))
			goto out;
		snprintf(where, sizeof(where), "%s: %s", in, npz_name);
		npz = sq_npz_open(NULL, npz_data, len, where);
	} else {
		snprintf(where, sizeof(where), "%s/%s", in, npz_name);
		npz = sq_npz_open(where, NULL, 0, where);
	}
	if (npz == NULL)
		goto out;
	snprintf(where, sizeof(where), "%s", npz->where);
	if ((i = sq_npz_get(npz, "special:model.yml", &a)) <= 0) {
		if (i == 0)
			sq_seterr("%s: no special:model.yml item (the model's "
			    "config)", where);
		goto out;
	}
	if (a.kind != 'i' || a.size != 1 || a.n_dims != 1)
		BAD("%s: special:model.yml is not an int8 vector", where);
	{
		const char *t = a.data, *nul = memchr(t, '\0', (size_t)a.numel);
		char w2[4300];

		snprintf(w2, sizeof(w2), "%s: special:model.yml", where);
		cfg = sq_yml_parse(t, nul ? (size_t)(nul - t) :
		    (size_t)a.numel, w2);
		if (cfg == NULL)
			goto out;
		st.y = cfg, st.where = w2, st.bad = 0;
		if (read_config(&mr, &st) < 0)
			goto out;
		version = ystr(&st, "version", "unknown");
	}

	/* vocabularies, ids of </s> and <unk>, SentencePiece maps */
	if (load_vocab(&r, src_vocab, &vs) < 0 ||
	    load_vocab(&r, tgt_vocab, &vt) < 0)
		goto out;
	if (vs.n != mr.v_src || vt.n != mr.v_tgt)
		BAD("%s: vocabularies of %d and %d pieces (%s, %s), "
		    "dim-vocabs says [%d, %d]", in, vs.n, vt.n, src_vocab,
		    tgt_vocab, mr.v_src, mr.v_tgt);
	if ((mr.c.eos_id = sq_pieces_id(&vt, "</s>")) < 0)
		BAD("%s: %s: no </s> piece", in, tgt_vocab);
	if ((eos_s = sq_pieces_id(&vs, "</s>")) < 0)
		BAD("%s: %s: no </s> piece", in, src_vocab);
	mr.c.unk_id = sq_pieces_id(&vt, "<unk>");
	if (find(&r, "source.bpe") >= 0 || find(&r, "source.spm") < 0)
		BAD("%s: no source.spm", in);
	if (!(spm_sd = get_named(&r, "source.spm", &spm_sl, &spm_so)) ||
	    !(spm_td = get_named(&r, "target.spm", &spm_tl, &spm_to)))
		goto out;
	if (!(spm_s = sq_spm_new(spm_sd, spm_sl)) ||
	    !(spm_t = sq_spm_new(spm_td, spm_tl)))
		BAD("%s: %s SentencePiece model: %s", in, spm_s ? "target" :
		    "source", sq_errstr());
	if (sq_config_check(&mr.c, in) < 0)
		goto out;

	/* the weights, entry by entry */
	snprintf(plain_id, sizeof(plain_id), "marian-%08lx", (unsigned long)sq_crc32(
	    npz->zip->data, npz->zip->len));
	sq_recast_id(id, sizeof(id), plain_id, dtype);
	if ((m = sq_model_new(&mr.c, id)) == NULL)
		goto out;
	used = sq_calloc((size_t)sq_npz_count(npz) + 1, 1);
	for (i = 0; i < m->params->n; i++)
		if (fill(m, &mr, &m->params->p[i], npz, used, where) < 0)
			goto out;
	for (i = 0; i < sq_npz_count(npz); i++) {
		char b[512];

		sq_npz_name(npz, i, b, sizeof(b));
		if (!used[i] && strncmp(b, "special:", 8) != 0) {
			unused_item(where, b);
			goto out;
		}
	}
	map_s = sq_pieces_spm_map(&vs, spm_s, mr.c.src_vocab_size);
	map_t = sq_pieces_spm_map(&vt, spm_t, mr.c.tgt_vocab_size);
	m->vocab_src = map_s;
	m->vocab_tgt = map_t;
	m->spm_src = spm_sd, m->spm_src_len = spm_sl;
	m->spm_tgt = spm_td, m->spm_tgt_len = spm_tl;
	snprintf(prov, sizeof(prov), "%s from %s (Marian %s)", tool, base(in),
	    version);
	m->provenance = prov;
	snprintf(buf, sizeof(buf), "%d", eos_s);
	add_meta(&mt, "marian.source-eos-id", buf);
	add_meta(&mt, "marian.version", version);
	so.n_meta = mt.n;
	so.meta = mt.kv;
	/* a key replaced by a later one is left out */
	for (int j = i = 0; j < mt.n; j++)
		if (strcmp(mt.kv[j].key, "marian.replaced") != 0)
			mt.kv[i++] = mt.kv[j];
	so.n_meta = i;
	if (sq_model_save(m, out, &so) < 0)
		goto out;
	rc = 0;
out:
	sq_model_close(m);
	free(used);
	free(map_s);
	free(map_t);
	sq_spm_free(spm_s);
	sq_spm_free(spm_t);
	free(spm_so);
	free(spm_to);
	sq_pieces_free(&vs);
	sq_pieces_free(&vt);
	sq_yml_free(cfg);
	sq_yml_free(dec);
	free(dyml_owned);
	sq_npz_close(npz);
	free(npz_owned);
	close_release(&r);
	return rc;
}
