/*
 * opts: train's settings table (see opts.h).  Each row: the long name,
 * the kind of value, where it lives in struct sq_train_opts, its default
 * and its help line.  The command line, config files, --dump-config and
 * --help all walk this one table, so a setting added here exists in all
 * four.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/opts.h"
#include "base/util.h"

enum { T_STR, T_LONG, T_DOUBLE, T_FLAG };

static const struct setting {
	const char *name;
	int kind;
	size_t off;
	const char *def;	/* NULL: unset */
	const char *arg;	/* the value's name in --help */
	const char *help;
	double lo, hi;		/* for numbers */
} settings[] = {
#define S(name, field, def, arg, help) \
	{name, T_STR, offsetof(struct sq_train_opts, field), def, arg, help, 0, 0}
#define L(name, field, def, lo, hi, help) \
	{name, T_LONG, offsetof(struct sq_train_opts, field), def, "N", help, lo, hi}
#define D(name, field, def, lo, hi, help) \
	{name, T_DOUBLE, offsetof(struct sq_train_opts, field), def, "X", help, lo, hi}
#define B(name, field, def, help) \
	{name, T_FLAG, offsetof(struct sq_train_opts, field), def, NULL, help, 0, 1}
	S("src", src, NULL, "FILE", "source side of the training pairs"),
	S("tgt", tgt, NULL, "FILE", "target side, line by line with --src"),
	S("tsv", tsv, NULL, "FILE", "training pairs as source TAB target lines"),
	S("src-frames", src_frames, NULL, "FILE", "sources as a frames stream (seqcat --frames), record key i with line i+1 of --tgt, instead of --src"),
	S("valid-src", valid_src, NULL, "FILE", "source side of the validation pairs"),
	S("valid-tgt", valid_tgt, NULL, "FILE", "target side of the validation pairs"),
	S("valid-tsv", valid_tsv, NULL, "FILE", "validation pairs as TSV"),
	S("valid-src-frames", valid_src_frames, NULL, "FILE", "validation sources as a frames stream, with --valid-tgt"),
	S("output", output, NULL, "FILE", "the model file to write (-o)"),
	S("init", init, NULL, "MODEL", "start from this model: its vocabularies, architecture and weights"),
	S("checkpoint", checkpoint, NULL, "FILE", "checkpoint file (default: OUTPUT.ckpt)"),
	S("log", log, NULL, "FILE", "TSV log of the training curves (default: OUTPUT.log.tsv)"),
	B("resume", resume, "0", "continue from the checkpoint"),
	S("too-long", too_long, "drop", "drop|truncate", "pairs longer than --max-positions"),
	S("src-spm", src_spm, NULL, "FILE", "source SentencePiece model (default: train one)"),
	S("tgt-spm", tgt_spm, NULL, "FILE", "target SentencePiece model (default: train one)"),
	L("vocab-size", vocab_size, "8000", 16, 1000000, "pieces of each trained SentencePiece model"),
	S("spm-type", spm_type, "unigram", "unigram|bpe", "kind of SentencePiece model to train"),
	B("shared-vocab", shared_vocab, "1", "one SentencePiece model for both sides"),
	L("spm-sample", spm_sample, "1000000", 1000, 100000000, "lines that train the SentencePiece models, at most"),
	S("arch", arch, "transformer", "transformer|rnn", "the Transformer, or a GRU encoder-decoder with attention"),
	L("layers", layers, "3", 1, 64, "encoder and decoder layers"),
	L("enc-layers", enc_layers, "0", 0, 64, "encoder layers (0: --layers)"),
	L("dec-layers", dec_layers, "0", 0, 64, "decoder layers (0: --layers)"),
	L("d-model", d_model, "256", 2, 65536, "model width"),
	L("heads", heads, "4", 1, 1024, "attention heads (transformer)"),
	L("ffn", ffn, "1024", 1, 1048576, "feed-forward width (transformer)"),
	L("max-positions", max_positions, "256", 2, 65536, "positions the model embeds"),
	L("subsample", subsample, "1", 1, 1024, "frames stacked into one encoder position (with --src-frames)"),
	L("attention-window", attention_window, "0", 0, 65536, "encoder self-attention sees the positions within N (0: all; transformer)"),
	B("pre-norm", pre_norm, "1", "layer norm before each sublayer, with final norms (transformer)"),
	S("activation", activation, "relu", "relu|gelu|silu", "FFN activation (transformer)"),
	S("positions", positions, "sinusoidal", "KIND", "sinusoidal, sinusoidal_half or learned (transformer)"),
	B("tie-embeddings", tie_embeddings, "1", "one table for source, target and output (with --shared-vocab)"),
	B("copy", copy, "0", "a copy mechanism: the decoder may copy source tokens (with --shared-vocab)"),
	B("nat", nat, "0", "non-autoregressive: a length predictor and a decoder of all positions at once (decode --nat); with --init, adds them to an autoregressive model"),
	L("nat-max-offset", nat_max_offset, "16", 0, 65536, "nat: the length classes are the offsets target - source length in [-N, N]"),
	D("nat-length-weight", nat_length_weight, "1", 0, 1e6, "nat: weight of each pair's length loss against a token's"),
	D("lr", lr, "0.001", 0, 10, "peak learning rate, after the warmup"),
	L("warmup", warmup, "1000", 0, 100000000, "steps of linear warmup, then lr * sqrt(warmup/step)"),
	L("max-tokens", max_tokens, "4096", 1, 100000000, "padded tokens per batch"),
	L("update-freq", update_freq, "1", 1, 1024, "batches per update (gradient accumulation)"),
	L("max-steps", max_steps, "0", 0, 1000000000, "updates to run (0: --max-epochs decides)"),
	L("max-epochs", max_epochs, "10", 0, 1000000, "passes over the data (0: --max-steps decides)"),
	D("max-seconds", max_seconds, "0", 0, 1e9, "stop after the update that reaches this many seconds of training (0: no limit)"),
	D("label-smoothing", label_smoothing, "0.1", 0, 1, "label smoothing"),
	D("dropout", dropout, "0.1", 0, 0.99, "dropout on embeddings, sublayer outputs and FFN"),
	D("clip-norm", clip_norm, "1", 0, 1e30, "clip gradients to this global norm (0: off)"),
	D("weight-decay", weight_decay, "0", 0, 10, "AdamW's decoupled weight decay"),
	D("beta1", beta1, "0.9", 0, 1, "Adam beta1"),
	D("beta2", beta2, "0.98", 0, 1, "Adam beta2"),
	D("adam-eps", adam_eps, "1e-9", 0, 1, "Adam epsilon"),
	D("scheduled-sampling", scheduled_sampling, "0", 0, 1, "largest probability of feeding the model's own prediction"),
	D("guided-attention", guided_attention, "0", 0, 1e6, "weight of the guided-attention loss on the cross-attention (0: off)"),
	D("guided-attention-width", guided_attention_width, "0.2", 1e-3, 100, "width g of its diagonal band"),
	B("mrt", mrt, "0", "minimum-risk training on sentence BLEU instead of cross-entropy (fine-tunes an --init model)"),
	L("mrt-samples", mrt_samples, "8", 1, 1024, "--mrt: candidates sampled per source"),
	D("mrt-alpha", mrt_alpha, "0.005", 0, 1000, "--mrt: sharpness of the model's distribution over the candidates"),
	B("mrt-reference", mrt_reference, "0", "--mrt: the reference joins each candidate set"),
	D("mrt-ce-weight", mrt_ce_weight, "0", 0, 1000, "--mrt: weight of the cross-entropy per token added to the risk"),
	L("seed", seed, "1", 0, 4294967295L, "seed of initialisation, shuffling, dropout"),
	L("threads", threads, "0", 0, 1024, "threads (0: the online cores) (-t)"),
	L("save-every", save_every, "1000", 1, 1000000000, "steps between checkpoints"),
	L("valid-every", valid_every, "1000", 1, 1000000000, "steps between validations"),
	L("patience", patience, "0", 0, 1000000, "stop after N validations without a better loss (0: never)"),
	L("average", average, "1", 1, 100, "the model written is the mean of the last N checkpoints"),
	L("valid-bleu-lines", valid_bleu_lines, "500", 0, 100000000, "validation lines decoded for BLEU (0: none)"),
	S("on-nan", on_nan, "stop", "stop|skip", "a NaN or Inf loss or gradient stops, or skips the batch"),
	S("progress", progress, "auto", "auto|bar|log", "a progress bar (auto: when stderr is a terminal) or log lines"),
	L("log-every", log_every, "100", 1, 1000000000, "steps between log lines"),
	B("f16", f16, "0", "the model written stores its weights as F16 (half the size)"),
#undef S
#undef L
#undef D
#undef B
};
#define N_SETTINGS ((int)(sizeof(settings) / sizeof(settings[0])))

int
sq_train_opts_count(void)
{
	return N_SETTINGS;
}

const char *
sq_train_opts_name(int i)
{
	return settings[i].name;
}

int
sq_train_opts_is_flag(int i)
{
	return settings[i].kind == T_FLAG;
}

/* "d_model" and "d-model" name the same setting. */
static int
find(const char *key)
{
	for (int i = 0; i < N_SETTINGS; i++) {
		const char *a = settings[i].name, *b = key;

		while (*a && (*a == *b || (*a == '-' && *b == '_')))
			a++, b++;
		if (*a == '\0' && *b == '\0')
			return i;
	}
	return -1;
}

static int
set(struct sq_train_opts *o, int i, const char *v)
{
	const struct setting *s = &settings[i];
	void *p = (char *)o + s->off;
	char *end;
	double d;
	long l;

	errno = 0;
	switch (s->kind) {
	case T_STR:
		free(*(char **)p);
		*(char **)p = v ? sq_strdup(v) : NULL;
		return 0;
	case T_FLAG:
		if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
		    strcmp(v, "yes") == 0)
			*(int *)p = 1;
		else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0 ||
		    strcmp(v, "no") == 0)
			*(int *)p = 0;
		else {
			sq_seterr("%s: \"%s\" is not 0/1, true/false or "
			    "yes/no", s->name, v);
			return -1;
		}
		return 0;
	case T_LONG:
		l = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno || l < s->lo ||
		    l > s->hi) {
			sq_seterr("%s: \"%s\" is not an integer in [%.0f, %.0f]",
			    s->name, v, s->lo, s->hi);
			return -1;
		}
		*(long *)p = l;
		return 0;
	default:
		d = strtod(v, &end);
		if (*v == '\0' || *end != '\0' || errno || !isfinite(d) ||
		    d < s->lo || d > s->hi) {
			sq_seterr("%s: \"%s\" is not a number in [%g, %g]",
			    s->name, v, s->lo, s->hi);
			return -1;
		}
		*(double *)p = d;
		return 0;
	}
}

void
sq_train_opts_init(struct sq_train_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < N_SETTINGS; i++)
		if (settings[i].def != NULL && set(o, i, settings[i].def) < 0)
			sq_die("bad default of %s", settings[i].name);
}

void
sq_train_opts_free(struct sq_train_opts *o)
{
	for (int i = 0; i < N_SETTINGS; i++)
		if (settings[i].kind == T_STR)
			free(*(char **)((char *)o + settings[i].off));
}

int
sq_train_opts_set(struct sq_train_opts *o, const char *key,
    const char *value)
{
	int i = find(key);

	return i < 0 ? -2 : set(o, i, value);
}

/* One setting of a config file, at where ("line 3", or the JSON key). */
static int
set_from_file(struct sq_train_opts *o, const char *path, const char *where,
    const char *key, const char *value)
{
	int rc = sq_train_opts_set(o, key, value);

	if (rc == -2)
		sq_seterr("%s: %s: unknown setting \"%s\"", path, where, key);
	else if (rc < 0)
		sq_seterr("%s: %s: %s", path, where, sq_errstr());
	return rc < 0 ? -1 : 0;
}

static int
read_json(struct sq_train_opts *o, const char *path)
{
	json_error_t err;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err), *v;
	const char *k;
	char buf[64], where[64];
	int rc = 0;

	if (root == NULL || !json_is_object(root)) {
		sq_seterr("%s: line %d: %s", path, err.line, root ? "not a JSON "
		    "object" : err.text);
		json_decref(root);
		return -1;
	}
	json_object_foreach(root, k, v) {
		const char *s = buf;

		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%lld",
			    (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "1" : "0";
		else {
			sq_seterr("%s: \"%s\": not a string, number or boolean",
			    path, k);
			rc = -1;
			break;
		}
		snprintf(where, sizeof(where), "key \"%.40s\"", k);
		if ((rc = set_from_file(o, path, where, k, s)) < 0)
			break;
	}
	json_decref(root);
	return rc;
}

int
sq_train_opts_read(struct sq_train_opts *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *k, *v, *e, where[32];
	size_t cap = 0;
	long n = 0;
	int c, rc = 0;

	if (f == NULL) {
		sq_seterr("%s: %s", path, strerror(errno));
		return -1;
	}
	while ((c = getc(f)) != EOF && isspace(c))
		;
	if (c == '{') {
		fclose(f);
		return read_json(o, path);
	}
	rewind(f);
	while (getline(&line, &cap, f) > 0) {
		n++;
		for (k = line; isspace((unsigned char)*k); k++)
			;
		if (*k == '#' || *k == '\0')
			continue;
		for (v = k; *v && !isspace((unsigned char)*v); v++)
			;
		if (*v)
			*v++ = '\0';
		while (isspace((unsigned char)*v))
			v++;
		for (e = v + strlen(v); e > v && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (*v == '\0') {
			sq_seterr("%s: line %ld: \"%s\" has no value", path, n, k);
			rc = -1;
			break;
		}
		snprintf(where, sizeof(where), "line %ld", n);
		if ((rc = set_from_file(o, path, where, k, v)) < 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		sq_seterr("%s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

void
sq_train_opts_dump(const struct sq_train_opts *o, FILE *f)
{
	for (int i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const void *p = (const char *)o + s->off;

		switch (s->kind) {
		case T_STR:
			if (*(char *const *)p != NULL)
				fprintf(f, "%s %s\n", s->name, *(char *const *)p);
			break;
		case T_FLAG:
			fprintf(f, "%s %d\n", s->name, *(const int *)p);
			break;
		case T_LONG:
			fprintf(f, "%s %ld\n", s->name, *(const long *)p);
			break;
		default:
			fprintf(f, "%s %.17g\n", s->name, *(const double *)p);
		}
	}
}

const char *
sq_train_opts_help(void)
{
	static char buf[16384];
	size_t n = 0;

	if (buf[0] != '\0')
		return buf;
	for (int i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		char left[64], def[96] = "";

		snprintf(left, sizeof(left), "--%s%s%s", s->name,
		    s->arg ? " " : "", s->arg ? s->arg : "");
		if (s->kind == T_FLAG && strcmp(s->def, "1") == 0)
			snprintf(def, sizeof(def), " (default: on; --no-%s: "
			    "off)", s->name);
		else if (s->kind == T_FLAG)
			snprintf(def, sizeof(def), " (default: off)");
		else if (s->def != NULL)
			snprintf(def, sizeof(def), " (default: %s)", s->def);
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
		    "      %-26s %s%s\n", left, s->help, def);
	}
	return buf;
}

static int
is_one_of(const char *v, const char *a, const char *b, const char *c)
{
	return strcmp(v, a) == 0 || strcmp(v, b) == 0 ||
	    (c != NULL && strcmp(v, c) == 0);
}

int
sq_train_opts_check(const struct sq_train_opts *o)
{
#define BAD(...) do { sq_seterr(__VA_ARGS__); return -1; } while (0)
	int frames = o->src_frames != NULL;

	if (o->output == NULL)
		BAD("no output model: give -o FILE");
	if (o->tsv == NULL && ((o->src == NULL && !frames) || o->tgt == NULL))
		BAD("no training data: give --src and --tgt (or --src-frames "
		    "and --tgt), or --tsv");
	if (o->tsv != NULL && (o->src != NULL || o->tgt != NULL || frames))
		BAD("--tsv and --src/--src-frames/--tgt exclude each other");
	if (frames && o->src != NULL)
		BAD("--src-frames and --src exclude each other");
	if ((o->valid_src == NULL && o->valid_src_frames == NULL) !=
	    (o->valid_tgt == NULL))
		BAD("--valid-src (or --valid-src-frames) and --valid-tgt go "
		    "together");
	if (o->valid_tsv != NULL && o->valid_tgt != NULL)
		BAD("--valid-tsv and --valid-src/--valid-tgt exclude each other");
	if ((o->valid_src_frames != NULL || o->valid_src != NULL ||
	    o->valid_tsv != NULL) && (o->valid_src_frames != NULL) != frames)
		BAD("validation sources must be of the training's kind: "
		    "--valid-src-frames with --src-frames, else --valid-src or "
		    "--valid-tsv");
	if (frames && o->src_spm != NULL)
		BAD("--src-spm: frames have no source vocabulary (give "
		    "--tgt-spm)");
	if (!frames && (o->src_spm == NULL) != (o->tgt_spm == NULL) &&
	    !o->shared_vocab)
		BAD("--src-spm and --tgt-spm go together (or --shared-vocab)");
	if (!frames && o->subsample != 1)
		BAD("--subsample %ld: only frames are stacked (--src-frames)",
		    o->subsample);
	if (!is_one_of(o->arch, "transformer", "rnn", NULL))
		BAD("--arch: \"%s\" is not transformer or rnn", o->arch);
	if (strcmp(o->arch, "rnn") == 0 && o->d_model % 2 != 0)
		BAD("--d-model %ld: --arch rnn needs an even width (half for "
		    "each direction of the encoder)", o->d_model);
	/* the GRU model reads tokens, decodes step by step, and has Luong
	   attention, not the cross-attention these act on; its graph has no
	   per-sequence losses for --mrt */
	if (strcmp(o->arch, "rnn") == 0 && (frames || o->nat || o->mrt ||
	    o->guided_attention > 0 || o->attention_window > 0 || o->copy))
		BAD("--arch rnn excludes --src-frames, --nat, --mrt, "
		    "--guided-attention, --attention-window and --copy");
	if (strcmp(o->arch, "transformer") == 0 && o->d_model % o->heads != 0)
		BAD("--heads %ld does not divide --d-model %ld", o->heads,
		    o->d_model);
	if (strcmp(o->arch, "transformer") == 0 && o->d_model % 2 != 0 &&
	    strcmp(o->positions, "learned") != 0)
		BAD("--d-model %ld: sinusoidal positions need an even width",
		    o->d_model);
	if (!is_one_of(o->too_long, "drop", "truncate", NULL))
		BAD("--too-long: \"%s\" is not drop or truncate", o->too_long);
	if (!is_one_of(o->spm_type, "unigram", "bpe", NULL))
		BAD("--spm-type: \"%s\" is not unigram or bpe", o->spm_type);
	if (!is_one_of(o->activation, "relu", "gelu", "silu"))
		BAD("--activation: \"%s\" is not relu, gelu or silu",
		    o->activation);
	if (!is_one_of(o->positions, "sinusoidal", "sinusoidal_half",
	    "learned"))
		BAD("--positions: \"%s\" is not sinusoidal, sinusoidal_half or "
		    "learned", o->positions);
	if (!is_one_of(o->on_nan, "stop", "skip", NULL))
		BAD("--on-nan: \"%s\" is not stop or skip", o->on_nan);
	if (!is_one_of(o->progress, "auto", "bar", "log"))
		BAD("--progress: \"%s\" is not auto, bar or log", o->progress);
	if (o->max_steps == 0 && o->max_epochs == 0 && o->max_seconds == 0)
		BAD("--max-steps, --max-epochs and --max-seconds are all 0: "
		    "training would never end");
	if (o->nat && o->scheduled_sampling > 0)
		BAD("--scheduled-sampling: a --nat model reads no tokens of its "
		    "own");
	if (o->nat && o->nat_max_offset > o->max_positions)
		BAD("--nat-max-offset %ld: more than --max-positions %ld",
		    o->nat_max_offset, o->max_positions);
	/* a --nat decoder copies source tokens, takes no samples, and its
	   graph's guided-attention term is untested against PyTorch */
	if (o->nat && (frames || o->mrt || o->guided_attention > 0))
		BAD("--nat excludes --src-frames, --mrt and "
		    "--guided-attention");
	if (o->mrt && o->mrt_alpha == 0)
		BAD("--mrt-alpha 0: the risk would have no gradient");
	if (o->mrt && o->scheduled_sampling > 0)
		BAD("--mrt and --scheduled-sampling exclude each other");
	if (o->mrt && frames)
		BAD("--mrt samples from text sources: not with --src-frames");
	if (o->mrt && o->guided_attention > 0 && o->mrt_ce_weight == 0)
		BAD("--guided-attention under --mrt acts through the "
		    "cross-entropy term: give --mrt-ce-weight");
	if (o->tie_embeddings && !o->shared_vocab && !frames)
		BAD("--tie-embeddings needs --shared-vocab (one vocabulary "
		    "for both sides); give --no-tie-embeddings");
	if (o->copy && !o->shared_vocab)
		BAD("--copy needs --shared-vocab (a copied source piece must "
		    "be a target piece)");
	/* frames have no ids to copy, a --nat decoder has no steps to mix
	   in, and --mrt scales each sentence's logits but not the gate's */
	if (o->copy && (frames || o->nat || o->mrt))
		BAD("--copy excludes --src-frames, --nat and --mrt");
	return 0;
#undef BAD
}
