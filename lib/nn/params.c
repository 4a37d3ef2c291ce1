/*
 * params: the table of a model's tensors (see params.h).  Each entry
 * names a const float * field of struct sq_model or of one of its layers
 * by offsetof(), so one table serves any instance: a mapped file, a
 * model being trained, its gradients.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "nn/params.h"
#include "base/util.h"

/*
 * Appends an entry; d1 = 0 makes it a vector of d0.  Returns it, for a
 * weight matrix's caller to set its view.
 */
static struct sq_param *
add(struct sq_params *t, int owner, int layer, size_t field, long d0,
    long d1, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static struct sq_param *
add(struct sq_params *t, int owner, int layer, size_t field, long d0,
    long d1, const char *fmt, ...)
{
	struct sq_param *p;
	va_list ap;

	t->p = sq_reallocarray(t->p, (size_t)t->n + 1, sizeof(*t->p));
	p = &t->p[t->n++];
	memset(p, 0, sizeof(*p));
	va_start(ap, fmt);
	vsnprintf(p->name, sizeof(p->name), fmt, ap);
	va_end(ap);
	p->n_dims = d1 ? 2 : 1;
	p->dims[0] = d0;
	p->dims[1] = d1;
	/* saturating: a config read from a file may claim any sizes */
	if (d1 && __builtin_mul_overflow(d0, d1, &p->numel))
		p->numel = LONG_MAX;
	else if (!d1)
		p->numel = d0;
	p->offset = t->total;
	p->owner = owner;
	p->layer = layer;
	p->field = field;
	if (__builtin_add_overflow(t->total, p->numel, &t->total))
		t->total = LONG_MAX;
	return p;
}

/* Marks p a weight matrix whose engine view is at offset view. */
static void
viewed(struct sq_param *p, size_t view)
{
	p->has_view = 1;
	p->view = view;
}

/*
 * prefix.weight and prefix.bias of a norm (in = 0), or of a linear layer
 * whose struct sq_linear is at offset lin.
 */
static void
add_wb(struct sq_params *t, int owner, int layer, size_t w, size_t b,
    long out, long in, const char *prefix)
{
	struct sq_param *p = add(t, owner, layer, w, out, in, "%s.weight",
	    prefix);

	/* a linear layer's w and wq are fields of one struct sq_linear */
	if (in)
		viewed(p, w - offsetof(struct sq_linear, w) +
		    offsetof(struct sq_linear, wq));
	add(t, owner, layer, b, out, 0, "%s.bias", prefix);
}

static void
add_attn(struct sq_params *t, int owner, int layer, size_t at, long D,
    const char *prefix)
{
	static const char *const proj[] = {"q_proj", "k_proj", "v_proj",
	    "out_proj"};
	/* q, k, v, out are consecutive struct sq_linear in the struct */
	size_t lin = sizeof(struct sq_linear);
	char name[64];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s.%s", prefix, proj[i]);
		add_wb(t, owner, layer, at + i * lin + offsetof(struct sq_linear,
		    w), at + i * lin + offsetof(struct sq_linear, b), D, D, name);
	}
}

/*
 * The tensors of layer i of the encoder, or of the decoder (which has
 * cross-attention between self-attention and the FFN), in file order.
 */
static void
add_layer(struct sq_params *t, const struct sq_config *c, int i, int decoder)
{
	/* a field of either layer struct */
#define OFF(f) (decoder ? offsetof(struct sq_decoder_layer, f) : \
	    offsetof(struct sq_encoder_layer, f))
	long D = c->d_model, F = c->d_ff;
	int o = decoder ? SQ_IN_DECODER_LAYER : SQ_IN_ENCODER_LAYER;
	char p[64], name[96];

	snprintf(p, sizeof(p), "%s.layers.%d", decoder ? "decoder" : "encoder",
	    i);
	snprintf(name, sizeof(name), "%s.self_attn", p);
	add_attn(t, o, i, OFF(self_attn), D, name);
	snprintf(name, sizeof(name), "%s.self_attn_layer_norm", p);
	add_wb(t, o, i, OFF(self_attn_norm.g), OFF(self_attn_norm.b), D, 0,
	    name);
	if (decoder) {
		typedef struct sq_decoder_layer L;

		snprintf(name, sizeof(name), "%s.encoder_attn", p);
		add_attn(t, o, i, offsetof(L, cross_attn), D, name);
		snprintf(name, sizeof(name), "%s.encoder_attn_layer_norm", p);
		add_wb(t, o, i, offsetof(L, cross_attn_norm.g),
		    offsetof(L, cross_attn_norm.b), D, 0, name);
	}
	snprintf(name, sizeof(name), "%s.fc1", p);
	add_wb(t, o, i, OFF(fc1.w), OFF(fc1.b), F, D, name);
	snprintf(name, sizeof(name), "%s.fc2", p);
	add_wb(t, o, i, OFF(fc2.w), OFF(fc2.b), D, F, name);
	snprintf(name, sizeof(name), "%s.final_layer_norm", p);
	add_wb(t, o, i, OFF(final_norm.g), OFF(final_norm.b), D, 0, name);
#undef OFF
}

/*
 * The tensors of GRU layer l (direction reverse) of a stack: nn.GRU's
 * names, after the module prefix ("encoder.rnn").
 */
static void
add_gru(struct sq_params *t, int owner, int slot, long H, long in,
    const char *prefix, int l, int reverse)
{
	typedef struct sq_gru G;
	const char *rev = reverse ? "_reverse" : "";

	add(t, owner, slot, offsetof(G, w_ih), 3 * H, in, "%s.weight_ih_l%d%s",
	    prefix, l, rev);
	add(t, owner, slot, offsetof(G, w_hh), 3 * H, H, "%s.weight_hh_l%d%s",
	    prefix, l, rev);
	add(t, owner, slot, offsetof(G, b_ih), 3 * H, 0, "%s.bias_ih_l%d%s",
	    prefix, l, rev);
	add(t, owner, slot, offsetof(G, b_hh), 3 * H, 0, "%s.bias_hh_l%d%s",
	    prefix, l, rev);
}

/*
 * The GRU encoder-decoder's tensors after the embeddings (nn/rnn.h): the
 * encoder's layers, each direction after the other as nn.GRU orders
 * them, the decoder's layers, then the bridge and the attention.
 */
static void
add_rnn(struct sq_params *t, const struct sq_config *c)
{
	typedef struct sq_model M;
	long D = c->d_model;
	int l, o = SQ_IN_MODEL;

	for (l = 0; l < c->encoder_layers; l++) {
		add_gru(t, SQ_IN_ENCODER_GRU, 2 * l, D / 2, D, "encoder.rnn", l, 0);
		add_gru(t, SQ_IN_ENCODER_GRU, 2 * l + 1, D / 2, D, "encoder.rnn",
		    l, 1);
	}
	for (l = 0; l < c->decoder_layers; l++)
		add_gru(t, SQ_IN_DECODER_GRU, l, D, D, "decoder.rnn", l, 0);
	add_wb(t, o, 0, offsetof(M, bridge.w), offsetof(M, bridge.b),
	    c->decoder_layers * D, D, "decoder.bridge");
	add(t, o, 0, offsetof(M, attn_key), D, D, "decoder.attn_key.weight");
	add_wb(t, o, 0, offsetof(M, attn_out.w), offsetof(M, attn_out.b), D,
	    2 * D, "decoder.attn_out");
}

/* The Transformer's tensors after the embeddings. */
static void
add_transformer(struct sq_params *t, const struct sq_config *c)
{
	typedef struct sq_model M;
	long D = c->d_model, P = c->max_positions;
	int i, o = SQ_IN_MODEL;

	if (c->positions == SQ_POS_LEARNED) {
		add(t, o, 0, offsetof(M, enc_pos), P, D,
		    "encoder.embed_positions.weight");
		add(t, o, 0, offsetof(M, dec_pos), P, D,
		    "decoder.embed_positions.weight");
	}
	for (i = 0; i < c->encoder_layers; i++)
		add_layer(t, c, i, 0);
	for (i = 0; i < c->decoder_layers; i++)
		add_layer(t, c, i, 1);
	if (c->encoder_final_norm)
		add_wb(t, o, 0, offsetof(M, enc_final.g), offsetof(M, enc_final.b),
		    D, 0, "encoder.layer_norm");
	if (c->decoder_final_norm)
		add_wb(t, o, 0, offsetof(M, dec_final.g), offsetof(M, dec_final.b),
		    D, 0, "decoder.layer_norm");
}

struct sq_params *
sq_params_new(const struct sq_config *c)
{
	typedef struct sq_model M;
	struct sq_params *t = sq_calloc(1, sizeof(*t));
	long D = c->d_model;
	int o = SQ_IN_MODEL;

	if (c->input == SQ_INPUT_FRAMES)
		add_wb(t, o, 0, offsetof(M, frame_proj.w),
		    offsetof(M, frame_proj.b), D,
		    (long)c->subsample * c->frame_dim, "encoder.frame_proj");
	else
		viewed(add(t, o, 0, offsetof(M, src_embed), c->src_vocab_size,
		    D, "encoder.embed_tokens.weight"), offsetof(M, src_embed_q));
	/* a nat decoder reads source tokens: its table only as the output */
	if (!c->tie_src_tgt && (!c->nat || c->tie_output))
		viewed(add(t, o, 0, offsetof(M, tgt_embed), c->tgt_vocab_size,
		    D, "decoder.embed_tokens.weight"), offsetof(M, tgt_embed_q));
	if (c->arch == SQ_ARCH_RNN)
		add_rnn(t, c);
	else
		add_transformer(t, c);
	if (!c->tie_output)
		viewed(add(t, o, 0, offsetof(M, out_proj), c->tgt_vocab_size, D,
		    "output_projection.weight"), offsetof(M, out_proj_q));
	if (c->output_bias)
		add(t, o, 0, offsetof(M, out_bias), c->tgt_vocab_size, 0,
		    "output_projection.bias");
	/* the copy gate has no engine view: it stays float32 in every dtype
	   (nn/copy.c reads .w; a (1, 3D) matrix gains nothing from int8) */
	if (c->copy) {
		add(t, o, 0, offsetof(M, p_gen.w), 1, 3 * D,
		    "decoder.p_gen.weight");
		add(t, o, 0, offsetof(M, p_gen.b), 1, 0, "decoder.p_gen.bias");
	}
	if (c->nat)
		add_wb(t, o, 0, offsetof(M, len_pred.w), offsetof(M, len_pred.b),
		    2L * c->nat_max_offset + 1, D, "length_predictor");
	return t;
}

void
sq_params_free(struct sq_params *t)
{
	if (t == NULL)
		return;
	free(t->p);
	free(t);
}

/* The struct p's field or view is in: the model or one of its layers. */
static char *
owner(struct sq_model *m, const struct sq_param *p)
{
	if (p->owner == SQ_IN_ENCODER_LAYER)
		return (char *)&m->enc[p->layer];
	if (p->owner == SQ_IN_DECODER_LAYER)
		return (char *)&m->dec[p->layer];
	if (p->owner == SQ_IN_ENCODER_GRU)
		return (char *)&m->enc_gru[p->layer];
	if (p->owner == SQ_IN_DECODER_GRU)
		return (char *)&m->dec_gru[p->layer];
	return (char *)m;
}

const float **
sq_param_field(struct sq_model *m, const struct sq_param *p)
{
	return (const float **)(owner(m, p) + p->field);
}

struct sq_mat *
sq_param_view(struct sq_model *m, const struct sq_param *p)
{
	return (struct sq_mat *)(owner(m, p) + p->view);
}

void
sq_params_alloc_layers(struct sq_model *m)
{
	const struct sq_config *c = &m->cfg;

	if (c->arch == SQ_ARCH_RNN) {
		m->enc_gru = sq_calloc(2 * (size_t)c->encoder_layers,
		    sizeof(*m->enc_gru));
		m->dec_gru = sq_calloc((size_t)c->decoder_layers,
		    sizeof(*m->dec_gru));
	} else {
		m->enc = sq_calloc((size_t)c->encoder_layers, sizeof(*m->enc));
		m->dec = sq_calloc((size_t)c->decoder_layers, sizeof(*m->dec));
	}
}

void
sq_params_free_layers(struct sq_model *m)
{
	free(m->enc);
	free(m->dec);
	free(m->enc_gru);
	free(m->dec_gru);
}


/* whether entry p is an embedding table, whose rows are looked up */
static int
looked_up(const struct sq_param *p)
{
	return p->owner == SQ_IN_MODEL &&
	    (p->view == offsetof(struct sq_model, src_embed_q) ||
	    p->view == offsetof(struct sq_model, tgt_embed_q));
}

int
sq_param_multiplied(const struct sq_config *c, const struct sq_param *p)
{
	/* the output's table: the target's, which may be the source's */
	size_t out_table = c->tie_src_tgt ? offsetof(struct sq_model,
	    src_embed_q) : offsetof(struct sq_model, tgt_embed_q);

	if (!p->has_view)
		return 0;
	if (!looked_up(p))
		return 1;
	return c->tie_output && p->view == out_table;
}

void
sq_params_tie(struct sq_model *m)
{
	if (m->cfg.tie_src_tgt) {
		m->tgt_embed = m->src_embed;
		m->tgt_embed_q = m->src_embed_q;
	}
	if (m->cfg.tie_output) {
		m->out_proj = m->tgt_embed;
		m->out_proj_q = m->tgt_embed_q;
	}
}

void
sq_params_bind(const struct sq_params *t, struct sq_model *m,
    const float *flat)
{
	for (int i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];

		*sq_param_field(m, p) = flat + p->offset;
		if (p->has_view)
			*sq_param_view(m, p) = (struct sq_mat){
				.dtype = SQ_W_F32, .data = flat + p->offset };
	}
	m->dtype = SQ_W_F32;
	sq_params_tie(m);
}
