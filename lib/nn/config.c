/*
 * config: struct sq_config to and from key = value strings (see
 * config.h).  The keys are the struct's fields in struct order; a key's
 * kind says how its value parses and prints.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"
#include "nn/model.h"
#include "base/util.h"

enum { K_INT, K_BOOL, K_FLOAT, K_ACT, K_POS, K_ARCH, K_INPUT };
/* the architectures a key applies to: bits 1 << enum sq_arch */
enum { A_T = 1 << SQ_ARCH_TRANSFORMER, A_ALL = A_T | 1 << SQ_ARCH_RNN };
static const struct {
	const char *key;
	size_t off;
	int kind;
	int required;		/* where it applies */
	int archs;
	int omit;	/* left out of a file at its default: newer than the
			   format, so that older readers keep reading models
			   that do not use it */
} keys[] = {
#define F(name, kind, req, archs) \
	{#name, offsetof(struct sq_config, name), kind, req, archs, 0}
#define N(name, kind) {#name, offsetof(struct sq_config, name), kind, 0, A_T, 1}
	F(arch, K_ARCH, 0, A_ALL),
	F(d_model, K_INT, 1, A_ALL), F(n_heads, K_INT, 1, A_T),
	F(d_ff, K_INT, 1, A_T),
	F(encoder_layers, K_INT, 1, A_ALL), F(decoder_layers, K_INT, 1, A_ALL),
	F(src_vocab_size, K_INT, 1, A_ALL), F(tgt_vocab_size, K_INT, 1, A_ALL),
	F(max_positions, K_INT, 0, A_ALL), F(pre_norm, K_BOOL, 0, A_T),
	F(encoder_final_norm, K_BOOL, 0, A_T),
	F(decoder_final_norm, K_BOOL, 0, A_T),
	F(activation, K_ACT, 0, A_T), F(positions, K_POS, 0, A_T),
	F(position_offset, K_INT, 0, A_T), F(embed_scale, K_FLOAT, 0, A_ALL),
	F(tie_src_tgt, K_BOOL, 0, A_ALL), F(tie_output, K_BOOL, 0, A_ALL),
	F(output_bias, K_BOOL, 0, A_ALL), F(shared_vocab, K_BOOL, 0, A_ALL),
	F(bos_id, K_INT, 0, A_ALL), F(eos_id, K_INT, 0, A_ALL),
	F(pad_id, K_INT, 0, A_ALL), F(unk_id, K_INT, 0, A_ALL),
	F(decoder_start_id, K_INT, 0, A_ALL),
	F(layer_norm_eps, K_FLOAT, 0, A_T), F(copy, K_BOOL, 0, A_T),
	/* Transformer only: frames input, local attention, nat */
	N(input, K_INPUT), N(frame_dim, K_INT), N(subsample, K_INT),
	N(attention_window, K_INT), N(nat, K_BOOL), N(nat_max_offset, K_INT),
#undef F
#undef N
};
#define N_KEYS ((int)(sizeof(keys) / sizeof(keys[0])))

static const char *const activations[] = {"relu", "gelu", "silu"};
static const char *const pos_kinds[] = {	/* enum sq_pos_kind's order */
	"sinusoidal", "sinusoidal_half", "learned", "sinusoidal_half_hf"
};
#define N_POS_KINDS ((int)(sizeof(pos_kinds) / sizeof(pos_kinds[0])))
static const char *const archs[] = {"transformer", "rnn"};	/* enum sq_arch */
static const char *const inputs[] = {"tokens", "frames"};	/* sq_input */

void
sq_config_defaults(struct sq_config *c)
{
	memset(c, 0, sizeof(*c));
	c->arch = SQ_ARCH_TRANSFORMER;
	c->max_positions = 1024;
	c->activation = SQ_ACT_RELU;
	c->positions = SQ_POS_SIN_INTERLEAVED;
	c->embed_scale = NAN;		/* sqrt(D), once D is known */
	c->bos_id = 1;
	c->eos_id = 2;
	c->pad_id = 0;
	c->unk_id = 3;
	c->decoder_start_id = -2;	/* bos_id or eos_id, once known */
	c->layer_norm_eps = 1e-5f;
	c->input = SQ_INPUT_TOKENS;
	c->subsample = 1;
	c->nat_max_offset = 16;
}

void
sq_config_finish(struct sq_config *c)
{
	if (isnan(c->embed_scale))
		c->embed_scale = sqrtf((float)c->d_model);
	if (c->decoder_start_id == -2)	/* fairseq starts with EOS */
		c->decoder_start_id = c->bos_id >= 0 ? c->bos_id : c->eos_id;
}

int
sq_config_n_keys(void)
{
	return N_KEYS;
}

const char *
sq_config_key(int i)
{
	return keys[i].key;
}

int
sq_config_required(int i)
{
	return keys[i].required;
}

const char *
sq_config_arch_name(int arch)
{
	return archs[arch];
}

int
sq_config_applies(const struct sq_config *c, int i)
{
	return (keys[i].archs >> c->arch & 1) != 0;
}

int
sq_config_omitted(const struct sq_config *c, int i)
{
	struct sq_config d;

	sq_config_defaults(&d);
	return keys[i].omit && memcmp((const char *)c + keys[i].off,
	    (const char *)&d + keys[i].off, sizeof(int)) == 0;
}

static int
lookup_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

/* Parses one config value s into the field at p.  Returns 0 or -1. */
static int
parse_value(void *p, int kind, const char *s)
{
	char *end;
	long v;
	float f;

	switch (kind) {
	case K_INT:
	case K_BOOL:
		errno = 0;
		v = strtol(s, &end, 10);
		if (*s == '\0' || *end != '\0' || errno || v < -1 || v > INT32_MAX ||
		    (kind == K_BOOL && v != 0 && v != 1))
			return -1;
		*(int *)p = (int)v;
		return 0;
	case K_FLOAT:
		errno = 0;
		f = strtof(s, &end);
		if (*s == '\0' || *end != '\0' || errno || !isfinite(f))
			return -1;
		*(float *)p = f;
		return 0;
	case K_ACT:
		return (*(int *)p = lookup_name(s, activations, 3)) < 0 ? -1 : 0;
	case K_POS:
		return (*(int *)p = lookup_name(s, pos_kinds, N_POS_KINDS)) < 0 ?
		    -1 : 0;
	case K_ARCH:
		return (*(int *)p = lookup_name(s, archs, 2)) < 0 ? -1 : 0;
	case K_INPUT:
		return (*(int *)p = lookup_name(s, inputs, 2)) < 0 ? -1 : 0;
	}
	return -1;
}

static const char *
kind_hint(int kind)
{
	switch (kind) {
	case K_INT: return "an integer";
	case K_BOOL: return "0 or 1";
	case K_FLOAT: return "a finite number";
	case K_ACT: return "relu, gelu or silu";
	case K_ARCH: return "transformer or rnn";
	case K_INPUT: return "tokens or frames";
	default: return "sinusoidal, sinusoidal_half, sinusoidal_half_hf or "
	    "learned";
	}
}

int
sq_config_set(struct sq_config *c, const char *key, const char *s)
{
	int i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(key, keys[i].key) == 0)
			break;
	if (i == N_KEYS)
		return -2;
	if (parse_value((char *)c + keys[i].off, keys[i].kind, s) < 0) {
		sq_seterr("config %s = \"%s\": expected %s", key, s,
		    kind_hint(keys[i].kind));
		return -1;
	}
	return i;
}

const char *
sq_config_value(const struct sq_config *c, int i, char *buf, size_t size)
{
	const void *p = (const char *)c + keys[i].off;

	switch (keys[i].kind) {
	case K_FLOAT:
		snprintf(buf, size, "%.9g", *(const float *)p);
		break;
	case K_ACT:
		snprintf(buf, size, "%s", activations[*(const int *)p]);
		break;
	case K_POS:
		snprintf(buf, size, "%s", pos_kinds[*(const int *)p]);
		break;
	case K_ARCH:
		snprintf(buf, size, "%s", archs[*(const int *)p]);
		break;
	case K_INPUT:
		snprintf(buf, size, "%s", inputs[*(const int *)p]);
		break;
	default:
		snprintf(buf, size, "%d", *(const int *)p);
	}
	return buf;
}

int
sq_config_check(const struct sq_config *c, const char *path)
{
#define BAD(...) do { sq_seterr(__VA_ARGS__); return -1; } while (0)
	int frames = c->input == SQ_INPUT_FRAMES;
	/* the ids below index the target vocabulary, and the source's */
	int v_min = frames ? c->tgt_vocab_size : SQ_MIN(c->src_vocab_size,
	    c->tgt_vocab_size);

	if (c->arch == SQ_ARCH_RNN) {
		/* each direction of the encoder has half the width */
		if (c->d_model < 2 || c->d_model % 2 != 0)
			BAD("%s: config d_model = %d: arch rnn needs an even "
			    "positive width", path, c->d_model);
	} else if (c->d_model < 1 || c->n_heads < 1 || c->d_ff < 1)
		BAD("%s: config d_model, n_heads and d_ff must be positive", path);
	else if (c->d_model % c->n_heads != 0)
		BAD("%s: config n_heads = %d does not divide d_model = %d",
		    path, c->n_heads, c->d_model);
	if (c->encoder_layers < 1 || c->decoder_layers < 1)
		BAD("%s: config encoder_layers and decoder_layers must be "
		    "positive", path);
	if ((frames ? c->src_vocab_size != 0 : c->src_vocab_size < 1) ||
	    c->tgt_vocab_size < 1)
		BAD("%s: config src_vocab_size = %d and tgt_vocab_size = %d: "
		    "both must be positive (src_vocab_size 0 with input "
		    "frames)", path, c->src_vocab_size, c->tgt_vocab_size);
	if (frames ? c->frame_dim < 1 || c->subsample < 1 ||
	    (long)c->frame_dim * c->subsample > 1 << 20 :
	    c->frame_dim != 0 || c->subsample != 1)
		BAD("%s: config frame_dim = %d, subsample = %d: input frames "
		    "needs frame_dim >= 1 and subsample >= 1 (their product at "
		    "most 2^20), input tokens frame_dim 0 and subsample 1",
		    path, c->frame_dim, c->subsample);
	if (frames && (c->tie_src_tgt || c->shared_vocab))
		BAD("%s: config input frames has no source vocabulary to "
		    "tie or share (tie_src_tgt, shared_vocab)", path);
	if (c->attention_window < 0)
		BAD("%s: config attention_window = %d: must be 0 (none) or "
		    "positive", path, c->attention_window);
	if (c->max_positions < 1 || c->position_offset < 0)
		BAD("%s: config max_positions must be positive and "
		    "position_offset not negative", path);
	if (c->arch == SQ_ARCH_TRANSFORMER &&
	    c->positions != SQ_POS_LEARNED && c->d_model % 2 != 0)
		BAD("%s: config d_model = %d: sinusoidal positions need an "
		    "even width", path, c->d_model);
	if (c->arch == SQ_ARCH_TRANSFORMER &&
	    c->positions == SQ_POS_SIN_HALF && c->d_model < 4)
		BAD("%s: config d_model = %d: sinusoidal_half positions need "
		    "a width of at least 4", path, c->d_model);
	if (c->nat_max_offset < 0 ||
	    (c->nat && c->nat_max_offset > c->max_positions))
		BAD("%s: config nat_max_offset = %d outside [0, max_positions "
		    "= %d]", path, c->nat_max_offset, c->max_positions);
	if (c->nat && frames)	/* its decoder reads copies of source tokens */
		BAD("%s: config nat needs input tokens, not frames", path);
	if (c->arch == SQ_ARCH_TRANSFORMER && !(c->layer_norm_eps > 0))
		BAD("%s: config layer_norm_eps must be positive", path);
	if ((c->tie_src_tgt || c->shared_vocab) &&
	    c->src_vocab_size != c->tgt_vocab_size)
		BAD("%s: config %s needs src_vocab_size = tgt_vocab_size "
		    "(%d, %d)", path, c->tie_src_tgt ? "tie_src_tgt" :
		    "shared_vocab", c->src_vocab_size, c->tgt_vocab_size);
	if (c->eos_id < 0 || c->eos_id >= v_min)
		BAD("%s: config eos_id = %d outside both vocabularies (%d)",
		    path, c->eos_id, v_min);
	if (c->decoder_start_id < -1 || c->decoder_start_id >= c->tgt_vocab_size)
		BAD("%s: config decoder_start_id = %d: must be -1 (the zero "
		    "vector) or inside the target vocabulary (%d)", path,
		    c->decoder_start_id, c->tgt_vocab_size);
	if (c->bos_id >= v_min || c->pad_id >= v_min || c->unk_id >= v_min)
		BAD("%s: config bos_id, pad_id, unk_id (%d, %d, %d) must be "
		    "-1 (none) or inside both vocabularies (%d)", path,
		    c->bos_id, c->pad_id, c->unk_id, v_min);
	/* copying puts a source id's mass on the same target id */
	if (c->copy && !c->shared_vocab)
		BAD("%s: config copy = 1 needs shared_vocab = 1 (a source id "
		    "must name the same piece in the target vocabulary)", path);
	if (c->copy && (frames || c->nat))
		BAD("%s: config copy = 1 needs an autoregressive model of input "
		    "tokens (not frames, not nat)", path);
	return 0;
#undef BAD
}
