/*
 * trainer: the training run (see trainer.h).
 *
 * The state that a checkpoint holds, and nothing else, decides what comes
 * next: the weights, Adam's two moments (as extra.adam.m and extra.adam.v
 * tensors of the checkpoint, itself a model file), and the position
 * (train.step, train.epoch, train.batch metadata: the next batch of that
 * epoch's order), with the best validation loss and the count of
 * validations without progress.  The batches of an epoch are a function
 * of (corpus, max_tokens, seed, epoch), the dropout masks of (seed, step),
 * the scheduled-sampling draws of (seed, step, position), so a resumed run
 * goes on exactly as the killed one would have.
 *
 * With --src-frames the sources are feature frames (a model with input
 * frames): there is no source vocabulary (sp_src NULL), the frames'
 * width comes from the stream, and the target's SentencePiece model is
 * trained on the target lines alone.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/spm.h"
#include "io/stream.h"
#include "nn/config.h"
#include "nn/model.h"
#include "nn/params.h"
#include "train/batches.h"
#include "train/corpus.h"
#include "train/grad.h"
#include "train/graph.h"
#include "train/init.h"
#include "train/mrt.h"
#include "train/opts.h"
#include "train/trainer.h"
#include "train/validate.h"
#include "base/pool.h"
#include "base/util.h"

struct trainer {
	const struct sq_train_opts *o;
	sq_train_report_fn *report;
	sq_train_note_fn *note;
	void *ctx;

	char *spm_src, *spm_tgt;	/* serialized models, owned */
	size_t spm_src_len, spm_tgt_len;
	struct sq_spm *sp_src, *sp_tgt;
	/* kept from the --init model or the checkpoint (keep_from()) */
	int32_t *vocab_src, *vocab_tgt;	/* (Vs), (Vt) piece maps, or NULL;
					   one array with a shared vocabulary */
	struct sq_extra_meta *meta;	/* (n_meta) the tools' metadata */
	int n_meta;
	char *provenance;		/* NULL: a new model's */
	struct sq_model *m;		/* the weights, owned */
	struct sq_model *gm;		/* the gradients, same layout */
	float *adam_m, *adam_v;		/* (total) */
	struct sq_corpus *train, *valid;
	struct sq_pool *pool;
	struct sq_graph *graph;
	struct sq_mrt *mrt;		/* with --mrt */
	char *options;			/* the settings as a config file */
	char ckpt[4096], best_path[4096], log_path[4096];
	FILE *log;

	long step, epoch, batch;	/* the next batch: (epoch, batch) */
	long saved;			/* step of the last checkpoint, -1 */
	long max_steps;			/* planned, 0 if unknown */
	double best;			/* valid loss (with --mrt, -BLEU),
					   INFINITY: none yet */
	long bad;			/* validations without progress */
	double t0;			/* when this run started */
	long step0;			/* the step this run started at */
	double elapsed0;		/* seconds trained by earlier runs */
	double loss_acc;		/* since the last log line */
	double guide_acc;		/* sq_graph_guide() since then */
	long tok_acc, tok_run;
};

/* Settings that may change between a run and its --resume. */
static const char *const resumable[] = {
	"resume", "max-steps", "max-epochs", "max-seconds", "progress", "log-every",
	"patience", "valid-every", "save-every", "valid-bleu-lines", "log",
	"f16", NULL
};

/*
 * Settings that name files: they do not make another model (the model
 * id leaves them out, so the same run written elsewhere is the same).
 */
static const char *const paths[] = {
	"src", "tgt", "tsv", "valid-src", "valid-tgt", "valid-tsv", "output",
	"init", "checkpoint", "log", "src-spm", "tgt-spm", "src-frames",
	"valid-src-frames", NULL
};

/* Whether the line "key value" of a settings dump has a key of list. */
static int
line_in(const char *line, const char *const *list)
{
	size_t k = strcspn(line, " \n");

	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == k && strncmp(line, list[i], k) == 0)
			return 1;
	return 0;
}

static void
note(struct trainer *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct trainer *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t->note != NULL)
		t->note(t->ctx, buf);
}

static void
take_spm(char **dst, size_t *dst_len, const void *src, size_t len)
{
	*dst = sq_malloc(len + 1);
	memcpy(*dst, src, len);
	*dst_len = len;
}

/* ---- vocabularies, config, model ---- */

/*
 * A model of frames has the target's SentencePiece model only: from a
 * model, from --tgt-spm, or trained on the target lines (read as pairs
 * of a line with itself).
 */
static int
target_vocabulary(struct trainer *t, const struct sq_model *from,
    const struct sq_vocab_opts *vo)
{
	const struct sq_train_opts *o = t->o;

	if (from != NULL) {
		if (from->spm_tgt == NULL) {
			sq_seterr("%s: no SentencePiece model in it "
			    "(spm.target)", from->path);
			return -1;
		}
		take_spm(&t->spm_tgt, &t->spm_tgt_len, from->spm_tgt,
		    from->spm_tgt_len);
		t->sp_tgt = sq_spm_model(from, 1);
		return t->sp_tgt == NULL ? -1 : 0;
	}
	if (o->tgt_spm != NULL) {
		if (sq_read_file(o->tgt_spm, &t->spm_tgt, &t->spm_tgt_len) < 0)
			return -1;
	} else {
		note(t, "training the target's SentencePiece model (%ld "
		    "pieces)", o->vocab_size);
		if (sq_corpus_train_spm(o->tgt, o->tgt, NULL, 1, vo,
		    &t->spm_tgt, &t->spm_tgt_len) < 0)
			return -1;
	}
	return (t->sp_tgt = sq_spm_new(t->spm_tgt, t->spm_tgt_len)) == NULL ?
	    -1 : 0;
}

/*
 * The SentencePiece models: from a model (with its own numbering of the
 * pieces and its source EOS, if it has them), from files, or trained.
 */
static int
vocabularies(struct trainer *t, const struct sq_model *from)
{
	const struct sq_train_opts *o = t->o;
	struct sq_vocab_opts vo = {0};

	vo.vocab_size = (int)o->vocab_size;
	vo.model_type = o->spm_type;
	vo.sample = o->spm_sample;
	vo.seed = (uint64_t)o->seed;
	if (from != NULL && (from->cfg.input == SQ_INPUT_FRAMES) !=
	    (o->src_frames != NULL)) {
		sq_seterr("%s reads %s: give %s", from->path, from->cfg.input ==
		    SQ_INPUT_FRAMES ? "frames" : "tokens", from->cfg.input ==
		    SQ_INPUT_FRAMES ? "--src-frames" : "--src or --tsv");
		return -1;
	}
	if (o->src_frames != NULL)
		return target_vocabulary(t, from, &vo);
	if (from != NULL) {
		if (from->spm_src == NULL || from->spm_tgt == NULL) {
			sq_seterr("%s: no SentencePiece models in it "
			    "(spm.source, spm.target)", from->path);
			return -1;
		}
		take_spm(&t->spm_src, &t->spm_src_len, from->spm_src,
		    from->spm_src_len);
		take_spm(&t->spm_tgt, &t->spm_tgt_len, from->spm_tgt,
		    from->spm_tgt_len);
		t->sp_src = sq_spm_model(from, 0);
		t->sp_tgt = sq_spm_model(from, 1);
		return t->sp_src == NULL || t->sp_tgt == NULL ? -1 : 0;
	} else if (o->src_spm != NULL) {
		if (sq_read_file(o->src_spm, &t->spm_src, &t->spm_src_len) < 0 ||
		    sq_read_file(o->tgt_spm ? o->tgt_spm : o->src_spm, &t->spm_tgt,
		    &t->spm_tgt_len) < 0)
			return -1;
	} else {
		note(t, "training %s SentencePiece model%s (%ld pieces)",
		    o->shared_vocab ? "a shared" : "the", o->shared_vocab ? "" :
		    "s", o->vocab_size);
		if (o->shared_vocab) {
			if (sq_corpus_train_spm(o->src, o->tgt, o->tsv, 2, &vo,
			    &t->spm_src, &t->spm_src_len) < 0)
				return -1;
			take_spm(&t->spm_tgt, &t->spm_tgt_len, t->spm_src,
			    t->spm_src_len);
		} else if (sq_corpus_train_spm(o->src, o->tgt, o->tsv, 0, &vo,
		    &t->spm_src, &t->spm_src_len) < 0 ||
		    sq_corpus_train_spm(o->src, o->tgt, o->tsv, 1, &vo,
		    &t->spm_tgt, &t->spm_tgt_len) < 0)
			return -1;
	}
	t->sp_src = sq_spm_new(t->spm_src, t->spm_src_len);
	t->sp_tgt = sq_spm_new(t->spm_tgt, t->spm_tgt_len);
	if (t->sp_src == NULL || t->sp_tgt == NULL)
		return -1;
	return 0;
}

/*
 * The width of the frames of the stream at path: that of its first
 * record with a frame.  0, or -1 with the error set.
 */
static int
frame_dim(const char *path, int *dim)
{
	struct sq_reader *r = sq_stream_open(path, SQ_STREAM_FRAMES);
	struct sq_record rec;
	int rc;

	if (r == NULL)
		return -1;
	while ((rc = sq_stream_next(r, &rec)) > 0 && rec.rows == 0)
		;
	if (rc == 0)
		sq_seterr("%s: no frames in it", path);
	*dim = rc > 0 ? (int)rec.cols : 0;
	sq_stream_close(r);
	return rc > 0 ? 0 : -1;
}

/* The architecture from the settings and the vocabularies. */
static int
make_config(struct trainer *t, struct sq_config *c)
{
	const struct sq_train_opts *o = t->o;

	sq_config_defaults(c);
	if (sq_config_set(c, "arch", o->arch) < 0)
		return -1;
	c->attention_window = (int)o->attention_window;
	if (o->src_frames != NULL) {
		c->input = SQ_INPUT_FRAMES;
		c->subsample = (int)o->subsample;
		if (frame_dim(o->src_frames, &c->frame_dim) < 0)
			return -1;
	}
	c->d_model = (int)o->d_model;
	c->encoder_layers = (int)(o->enc_layers ? o->enc_layers : o->layers);
	c->decoder_layers = (int)(o->dec_layers ? o->dec_layers : o->layers);
	c->src_vocab_size = t->sp_src ? sq_spm_size(t->sp_src) : 0;
	c->tgt_vocab_size = sq_spm_size(t->sp_tgt);
	c->max_positions = (int)o->max_positions;
	if (c->arch == SQ_ARCH_TRANSFORMER) {
		c->n_heads = (int)o->heads;
		c->d_ff = (int)o->ffn;
		c->pre_norm = c->encoder_final_norm = c->decoder_final_norm =
		    o->pre_norm;
		if (sq_config_set(c, "activation", o->activation) < 0 ||
		    sq_config_set(c, "positions", o->positions) < 0)
			return -1;
	}
	/* frames: no source vocabulary to share, the output tied or not */
	c->shared_vocab = o->shared_vocab && t->sp_src;
	c->tie_src_tgt = o->tie_embeddings && t->sp_src;
	c->tie_output = o->tie_embeddings;
	c->copy = o->copy;
	c->nat = o->nat;
	c->nat_max_offset = (int)o->nat_max_offset;
	c->bos_id = sq_spm_bos(t->sp_tgt);
	c->eos_id = sq_spm_eos(t->sp_tgt);
	c->pad_id = sq_spm_pad(t->sp_tgt);
	c->unk_id = sq_spm_unk(t->sp_tgt);
	if (c->eos_id < 0) {
		sq_seterr("the target SentencePiece model has no EOS piece");
		return -1;
	}
	sq_config_finish(c);
	return sq_config_check(c, "train");
}

/*
 * The model id: a function of the settings (but the file names and the
 * bookkeeping) and the vocabularies.
 */
static void
model_id(struct trainer *t, char *id, size_t size)
{
	uLong crc = crc32(0, NULL, 0);
	const char *p, *e;

	for (p = t->options; *p; p = *e ? e + 1 : e) {
		e = p + strcspn(p, "\n");
		if (!line_in(p, paths) && !line_in(p, resumable))
			crc = crc32(crc, (const Bytef *)p, (uInt)(e - p));
	}
	/* (crc32() of a NULL buffer would restart at 0: frames have no source) */
	if (t->spm_src != NULL)
		crc = crc32(crc, (const Bytef *)t->spm_src,
		    (uInt)t->spm_src_len);
	crc = crc32(crc, (const Bytef *)t->spm_tgt, (uInt)t->spm_tgt_len);
	snprintf(id, size, "train-%08lx", (unsigned long)crc);
}

/*
 * A writable model of config c, from's or from's with tensors added (the
 * copy gate, or the length predictor of a model made non-autoregressive),
 * with from's weights; a tensor from lacks starts as sq_init_weights()
 * makes it for seed.
 */
static struct sq_model *
copy_model(const struct sq_model *from, const struct sq_config *c,
    const char *id, uint64_t seed)
{
	struct sq_model *m = sq_model_new(c, id);

	if (m != NULL && m->params->total > from->params->total)
		sq_init_weights(m, seed);
	for (int i = 0; m != NULL && i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];
		const float *w = *sq_param_field((struct sq_model *)from, p);

		if (w != NULL)
			memcpy(m->owned + p->offset, w,
			    (size_t)p->numel * sizeof(float));
	}
	return m;
}

static int32_t *
copy_map(const int32_t *map, int n)
{
	int32_t *p = sq_malloc(((size_t)n + 1) * sizeof(int32_t));

	memcpy(p, map, (size_t)n * sizeof(int32_t));
	return p;
}

/*
 * What a model made from another keeps of it: its numbering of the
 * pieces, the tools' metadata but train's own (an imported model's
 * marian.*), and its provenance (after ours for --init: fine-tuning
 * makes another model).
 */
static void
keep_from(struct trainer *t, const struct sq_model *from, int init)
{
	const struct sq_config *c = &from->cfg;
	struct sq_extra_meta *kv;
	int n = sq_model_tool_meta(from, &kv);
	size_t len;

	if (from->vocab_src != NULL)
		t->vocab_src = copy_map(from->vocab_src, c->src_vocab_size);
	if (c->shared_vocab)
		t->vocab_tgt = t->vocab_src;
	else if (from->vocab_tgt != NULL)
		t->vocab_tgt = copy_map(from->vocab_tgt, c->tgt_vocab_size);
	t->meta = sq_calloc((size_t)n + 1, sizeof(*t->meta));
	for (int i = 0; i < n; i++)
		if (strncmp(kv[i].key, "train.", 6) != 0) {
			t->meta[t->n_meta].key = sq_strdup(kv[i].key);
			t->meta[t->n_meta++].value = sq_strdup(kv[i].value);
		}
	free(kv);
	if (!init) {
		t->provenance = sq_strdup(from->provenance);
		return;
	}
	len = strlen(from->provenance) + 64;
	t->provenance = sq_malloc(len);
	snprintf(t->provenance, len, "seqpipe train " SQ_VERSION "%s%s",
	    *from->provenance ? ", fine-tuned from: " : "", from->provenance);
}

/* Points the model's vocabulary fields at the trainer's copies. */
static void
attach_vocab(struct trainer *t, struct sq_model *m)
{
	m->spm_src = (const uint8_t *)t->spm_src;
	m->spm_src_len = t->spm_src_len;
	m->spm_tgt = (const uint8_t *)t->spm_tgt;
	m->spm_tgt_len = t->spm_tgt_len;
	m->vocab_src = t->vocab_src;
	m->vocab_tgt = t->vocab_tgt;
	m->provenance = t->provenance ? t->provenance :
	    "seqpipe train " SQ_VERSION;
}

/*
 * Writes m to path with the kept metadata and x's (x's tensors, and its
 * keys after the kept ones).  0 or -1.
 */
static int
save_model(struct trainer *t, const struct sq_model *m, const char *path,
    const struct sq_save_opts *x)
{
	struct sq_save_opts so = x ? *x : (struct sq_save_opts){0};
	struct sq_extra_meta *all = sq_calloc((size_t)(t->n_meta + so.n_meta)
	    + 1, sizeof(*all));
	int rc;

	if (t->n_meta > 0)	/* t->meta is NULL when nothing is kept */
		memcpy(all, t->meta, (size_t)t->n_meta * sizeof(*all));
	if (so.n_meta > 0)
		memcpy(all + t->n_meta, so.meta, (size_t)so.n_meta *
		    sizeof(*all));
	so.meta = all;
	so.n_meta += t->n_meta;
	rc = sq_model_save(m, path, &so);
	free(all);
	return rc;
}

/* The gradients and Adam's moments, zero, laid out as the weights. */
static void
make_state(struct trainer *t)
{
	long n = t->m->params->total;

	t->gm = sq_model_new(&t->m->cfg, t->m->model_id);
	t->adam_m = sq_calloc((size_t)n, sizeof(float));
	t->adam_v = sq_calloc((size_t)n, sizeof(float));
}

/* ---- checkpoints ---- */

/*
 * With --average N, the weights of the last N checkpoints are kept in N
 * files beside the checkpoint, CKPT.avgK, K the checkpoint's number
 * (ceil(step / save_every)) modulo N, each with its step in train.step:
 * the same files whatever the interruptions, so averaging survives
 * --resume.
 */
static void
snapshot_path(const struct trainer *t, long k, char *buf, size_t size)
{
	snprintf(buf, size, "%s.avg%ld", t->ckpt, k);
}

static int
save_snapshot(struct trainer *t)
{
	const struct sq_train_opts *o = t->o;
	char path[4200], step[32];
	struct sq_extra_meta xm[] = {{"train.step", step}};
	struct sq_save_opts x = {.n_meta = 1, .meta = xm};
	long k = (t->step + o->save_every - 1) / o->save_every % o->average;

	if (o->average < 2)
		return 0;
	snprintf(step, sizeof(step), "%ld", t->step);
	snapshot_path(t, k, path, sizeof(path));
	return save_model(t, t->m, path, &x);
}

/*
 * The mean of the snapshots of the last average checkpoints (those of
 * this run: step within average saves of the last) into t->m's weights.
 * Returns how many were averaged, or -1 with the error set.
 */
static int
average_snapshots(struct trainer *t)
{
	const struct sq_train_opts *o = t->o;
	long n = t->m->params->total, k, i;
	double *sum = sq_calloc((size_t)n, sizeof(double));
	int used = 0;

	for (k = 0; k < o->average; k++) {
		char path[4200];
		struct sq_model *s;
		const char *st;
		long step;

		snapshot_path(t, k, path, sizeof(path));
		if (access(path, F_OK) != 0)
			continue;
		if ((s = sq_model_open(path)) == NULL) {
			free(sum);
			return -1;
		}
		st = sq_model_meta(s, "train.step");
		step = st ? strtol(st, NULL, 10) : -1;
		if (step > t->step - o->average * o->save_every && step <=
		    t->step) {
			for (int j = 0; j < s->params->n; j++) {
				const struct sq_param *p = &s->params->p[j];
				const float *w = *sq_param_field(s, p);

				for (i = 0; i < p->numel; i++)
					sum[p->offset + i] += w[i];
			}
			used++;
		}
		sq_model_close(s);
	}
	for (i = 0; used > 0 && i < n; i++)
		t->m->owned[i] = (float)(sum[i] / used);
	free(sum);
	return used;
}

static int
save_checkpoint(struct trainer *t)
{
	char step[32], epoch[32], batch[32], best[40], bad[32], secs[40];
	long n = t->m->params->total;
	struct sq_extra_tensor xt[] = {{"extra.adam.m", t->adam_m, n},
	    {"extra.adam.v", t->adam_v, n}};
	struct sq_extra_meta xm[] = {{"train.step", step},
	    {"train.epoch", epoch}, {"train.batch", batch},
	    {"train.best", best}, {"train.bad", bad},
	    {"train.options", t->options}, {"train.elapsed", secs}};
	struct sq_save_opts x = {.n_tensors = 2, .tensors = xt, .n_meta = 7,
	    .meta = xm};

	snprintf(step, sizeof(step), "%ld", t->step);
	snprintf(epoch, sizeof(epoch), "%ld", t->epoch);
	snprintf(batch, sizeof(batch), "%ld", t->batch);
	snprintf(best, sizeof(best), "%.17g", t->best);
	snprintf(bad, sizeof(bad), "%ld", t->bad);
	snprintf(secs, sizeof(secs), "%.1f", t->elapsed0 + sq_now() - t->t0);
	if (save_model(t, t->m, t->ckpt, &x) < 0 || save_snapshot(t) < 0)
		return -1;
	t->saved = t->step;
	return 0;
}

/* Whether text has the line p of n characters (or, key_only, its key). */
static int
has_line(const char *text, const char *p, size_t n, int key_only)
{
	if (key_only)
		n = strcspn(p, " \n") + 1;	/* the key and its space */
	for (const char *q = text; q && *q; q = strchr(q, '\n') ?
	    strchr(q, '\n') + 1 : NULL)
		if (strncmp(q, p, n) == 0 && (key_only || q[n] == '\n' ||
		    q[n] == '\0'))
			return 1;
	return 0;
}

/*
 * The first line of a that b does not have, or NULL.  A setting b does
 * not name at all (a checkpoint written before the setting existed)
 * counts as at its default, a line of defaults.
 */
static const char *
changed_setting(const char *a, const char *b, const char *defaults,
    char *key, size_t size)
{
	const char *p, *e;

	for (p = a; *p; p = *e ? e + 1 : e) {
		size_t n, k;

		e = p + strcspn(p, "\n");
		n = (size_t)(e - p);
		k = strcspn(p, " \n");
		if (line_in(p, resumable) || has_line(b, p, n, 0) ||
		    (!has_line(b, p, n, 1) && has_line(defaults, p, n, 0)))
			continue;
		snprintf(key, size, "%.*s", (int)SQ_MIN(k, size - 1), p);
		return key;
	}
	return NULL;
}

static long
meta_long(const struct sq_model *c, const char *key, int *bad)
{
	const char *s = sq_model_meta(c, key);
	char *end;
	long v;

	if (s == NULL) {
		*bad = 1;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0)
		*bad = 1;
	return v;
}

static char *
dump_options(const struct sq_train_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		sq_die("open_memstream:");
	sq_train_opts_dump(o, f);
	fclose(f);
	return buf;
}

/* The settings at their defaults, as dump_options() writes them. */
static char *
default_options(void)
{
	struct sq_train_opts d;
	char *s;

	sq_train_opts_init(&d);
	s = dump_options(&d);
	sq_train_opts_free(&d);
	return s;
}

static int
resume(struct trainer *t)
{
	struct sq_model *c = sq_model_open(t->ckpt);
	const float *am, *av;
	const char *opts, *best, *secs;
	char *defaults;
	long na = 0, nv = 0;
	char key[64];
	int bad = 0;

	if (c == NULL)
		return -1;
	opts = sq_model_meta(c, "train.options");
	am = sq_model_extra(c, "extra.adam.m", &na);
	av = sq_model_extra(c, "extra.adam.v", &nv);
	best = sq_model_meta(c, "train.best");
	t->step = meta_long(c, "train.step", &bad);
	t->epoch = meta_long(c, "train.epoch", &bad);
	t->batch = meta_long(c, "train.batch", &bad);
	t->bad = meta_long(c, "train.bad", &bad);
	t->saved = t->step;
	if (opts == NULL || am == NULL || av == NULL || best == NULL || bad ||
	    na != c->params->total || nv != na) {
		sq_seterr("%s: not a checkpoint of train (its train.* "
		    "metadata or Adam state is missing or bad)", t->ckpt);
		goto fail;
	}
	defaults = default_options();
	if (changed_setting(t->options, opts, defaults, key, sizeof(key)) !=
	    NULL || changed_setting(opts, t->options, defaults, key,
	    sizeof(key)) != NULL) {
		free(defaults);
		sq_seterr("%s: --resume with other settings than the run that "
		    "wrote it (%s); only %s and the like may change", t->ckpt,
		    key, "--max-steps");
		goto fail;
	}
	free(defaults);
	t->best = strtod(best, NULL);
	/* absent from checkpoints of older versions: then from 0 */
	if ((secs = sq_model_meta(c, "train.elapsed")) != NULL)
		t->elapsed0 = strtod(secs, NULL);
	if (vocabularies(t, c) < 0 || (t->m = copy_model(c, &c->cfg,
	    c->model_id, 0)) == NULL)
		goto fail;
	keep_from(t, c, 0);
	attach_vocab(t, t->m);
	make_state(t);
	memcpy(t->adam_m, am, (size_t)na * sizeof(float));
	memcpy(t->adam_v, av, (size_t)nv * sizeof(float));
	note(t, "resuming from %s at step %ld (epoch %ld)", t->ckpt, t->step,
	    t->epoch);
	sq_model_close(c);
	return 0;
fail:
	sq_model_close(c);
	return -1;
}

/* A model to train: from --init, or new from the settings. */
static int
start(struct trainer *t)
{
	const struct sq_train_opts *o = t->o;
	struct sq_config cfg;
	char id[64];

	if (o->init != NULL) {
		struct sq_model *from = sq_model_open(o->init);

		if (from == NULL || vocabularies(t, from) < 0) {
			sq_model_close(from);
			return -1;
		}
		/* its architecture; --copy may add the copy gate, --nat the
		   length predictor */
		cfg = from->cfg;
		if (cfg.arch == SQ_ARCH_RNN && (o->src_frames != NULL ||
		    o->nat || o->mrt || o->guided_attention > 0 || o->copy)) {
			sq_seterr("%s: an arch rnn model: --src-frames, --nat, "
			    "--mrt, --guided-attention and --copy do not apply",
			    o->init);
			sq_model_close(from);
			return -1;
		}
		if (cfg.nat && !o->nat) {
			sq_seterr("%s: a non-autoregressive model (config nat "
			    "1): give --nat to train it further", o->init);
			sq_model_close(from);
			return -1;
		}
		if (o->nat && !cfg.nat) {	/* a new length predictor */
			cfg.nat = 1;
			cfg.nat_max_offset = (int)o->nat_max_offset;
		}
		cfg.copy |= o->copy;
		if (cfg.copy && o->mrt) {
			sq_seterr("%s: a copy model (config copy 1): --mrt "
			    "does not train it", o->init);
			sq_model_close(from);
			return -1;
		}
		if (sq_config_check(&cfg, o->init) < 0) {
			sq_model_close(from);
			return -1;
		}
		if (cfg.copy && !from->cfg.copy)
			note(t, "adding the copy mechanism to %s", o->init);
		model_id(t, id, sizeof(id));
		t->m = copy_model(from, &cfg, id, (uint64_t)o->seed);
		keep_from(t, from, 1);
		sq_model_close(from);
		if (t->m == NULL)
			return -1;
		note(t, "starting from %s", o->init);
	} else {
		if (vocabularies(t, NULL) < 0 || make_config(t, &cfg) < 0)
			return -1;
		model_id(t, id, sizeof(id));
		if ((t->m = sq_model_new(&cfg, id)) == NULL)
			return -1;
		sq_init_weights(t->m, (uint64_t)o->seed);
	}
	attach_vocab(t, t->m);
	make_state(t);
	t->epoch = 1;
	t->best = INFINITY;
	t->saved = -1;
	return 0;
}

/* ---- the corpus ---- */

static struct sq_corpus *
read_corpus(struct trainer *t, const char *src, const char *src_frames,
    const char *tgt, const char *tsv, const char *what)
{
	const struct sq_config *c = &t->m->cfg;
	struct sq_corpus_opts co = {0};
	struct sq_corpus_stats st = {0};
	struct sq_corpus *corpus;

	co.src_path = src;
	co.src_frames = src_frames;
	co.subsample = c->subsample;
	co.tgt_path = tgt;
	co.tsv_path = tsv;
	co.max_len = c->max_positions - c->position_offset;
	co.too_long = strcmp(t->o->too_long, "truncate") == 0 ?
	    SQ_TOO_LONG_TRUNCATE : SQ_TOO_LONG_DROP;
	co.threads = sq_pool_threads(t->pool);
	if ((corpus = sq_corpus_read(&co, t->sp_src, t->sp_tgt, &st)) == NULL)
		return NULL;
	if (src_frames != NULL && sq_corpus_frame_dim(corpus) != c->frame_dim) {
		sq_seterr("%s: frames of %d values, the model reads %d (config "
		    "frame_dim)", src_frames, sq_corpus_frame_dim(corpus),
		    c->frame_dim);
		sq_corpus_free(corpus);
		return NULL;
	}
	if (st.empty > 0)
		note(t, "%s: %ld pairs with an empty side skipped", what,
		    st.empty);
	if (st.bad_utf8 > 0)
		note(t, "%s: %ld lines had invalid UTF-8 (U+FFFD for each bad "
		    "byte, as spm_encode)", what, st.bad_utf8);
	/* the policy for overlong pairs, in the summary: not a warning */
	if (st.too_long > 0)
		note(t, "%s: %ld pairs (%ld longer than %d positions %s)", what,
		    sq_corpus_size(corpus), st.too_long, co.max_len,
		    co.too_long == SQ_TOO_LONG_DROP ? "left out: --too-long "
		    "truncate keeps them cut" : "truncated");
	else
		note(t, "%s: %ld pairs", what, sq_corpus_size(corpus));
	return corpus;
}

/* ---- one update ---- */

/* lr at update step (from 1): linear warmup, then 1/sqrt decay. */
static double
learning_rate(const struct sq_train_opts *o, long step)
{
	double w = (double)o->warmup, s = (double)step;

	if (o->warmup == 0)
		return o->lr;
	return o->lr * (s < w ? s / w : sqrt(w / s));
}

/* The batch's pairs as the graph reads them; arrays owned by b. */
struct batch {
	struct sq_pairs p;
	const int32_t **src, **tgt;
	const float **frames;
	int32_t **dec_in;
	int *sl, *tl;
	long tokens;		/* target positions, EOS included */
};

static void
batch_fill(struct batch *b, const struct sq_corpus *c, const long *idx,
    int n)
{
	b->src = sq_reallocarray(b->src, n, sizeof(*b->src));
	b->frames = sq_reallocarray(b->frames, n, sizeof(*b->frames));
	b->tgt = sq_reallocarray(b->tgt, n, sizeof(*b->tgt));
	b->sl = sq_reallocarray(b->sl, n, sizeof(int));
	b->tl = sq_reallocarray(b->tl, n, sizeof(int));
	b->tokens = 0;
	for (int i = 0; i < n; i++) {
		sq_corpus_pair(c, idx[i], &b->src[i], &b->frames[i], &b->sl[i],
		    &b->tgt[i], &b->tl[i]);
		b->tokens += b->tl[i] + 1;
	}
	b->p = (struct sq_pairs){n, b->src, b->sl, b->tgt, b->tl, NULL,
	    sq_corpus_frame_dim(c) > 0 ? b->frames : NULL};
}

static void
batch_free(struct batch *b)
{
	for (int i = 0; b->dec_in != NULL && i < b->p.n; i++)
		free(b->dec_in[i]);
	free(b->dec_in);
	free(b->src);
	free(b->frames);
	free(b->tgt);
	free(b->sl);
	free(b->tl);
}

/*
 * Scheduled sampling, two passes (Mihaylova and Martins 2019): a
 * teacher-forced pass without dropout predicts every position; then each
 * decoder input after the first is, with probability p, the prediction
 * of the position before it instead of the reference.
 */
static int
sample_inputs(struct trainer *t, struct batch *b, double p)
{
	struct sq_graph_opts go = {0};
	const struct sq_config *c = &t->m->cfg;
	const int32_t *pred;
	uint64_t st = (uint64_t)t->o->seed * 0x2545F4914F6CDD1Dull +
	    (uint64_t)t->step;
	long tok, r = 0;
	int i, j;

	if (sq_graph_forward(t->graph, &b->p, &go, &tok) < 0)
		return -1;
	pred = sq_graph_argmax(t->graph);
	b->dec_in = sq_calloc((size_t)b->p.n, sizeof(*b->dec_in));
	for (i = 0; i < b->p.n; i++) {
		int32_t *in = sq_malloc(((size_t)b->tl[i] + 1) * sizeof(int32_t));

		in[0] = c->decoder_start_id;
		for (j = 1; j <= b->tl[i]; j++)
			in[j] = sq_uniform(&st) < p ? pred[r + j - 1] :
			    b->tgt[i][j - 1];
		r += b->tl[i] + 1;
		b->dec_in[i] = in;
	}
	b->p.dec_in = (const int32_t *const *)b->dec_in;
	return 0;
}

/*
 * The risk of batch b (train/mrt.h), its gradient scaled by scale, into
 * *risk.  The draws differ from update to update and from batch to batch
 * of an update (b is batch k of the update's).  0, or -1 with the error
 * set.
 */
static int
mrt_batch(struct trainer *t, struct batch *b, long k, float scale,
    double *risk)
{
	const struct sq_train_opts *o = t->o;
	struct sq_mrt_opts mo = {(int)o->mrt_samples, o->mrt_alpha,
	    o->mrt_reference, 0, (uint64_t)k << 32, {0, (float)o->dropout,
	    (uint64_t)o->seed, (uint64_t)t->step, 0, 0, 0}};

	mo.seed = (uint64_t)o->seed * 0x2545F4914F6CDD1Dull ^
	    ((uint64_t)t->step + 1) * 0x9E3779B97F4A7C15ull;
	return (*risk = sq_mrt_step(t->mrt, &b->p, &mo, scale)) < 0 ? -1 : 0;
}

/*
 * Forward and backward over batches [t->batch, k_end) of order.  The
 * objective is the mean loss per target token, or with --mrt the mean
 * risk per pair plus mrt_ce_weight times the mean loss per target token
 * (none when 0: then no cross-entropy pass); *loss gets its value (not
 * finite if the numbers went wrong), *guide the summed guided-attention
 * penalty of the cross-entropy passes, *tokens the target positions.
 * Returns 0, or -1 with the error set.
 */
static int
accumulate(struct trainer *t, const struct sq_batches *order, long k_end,
    double *loss, double *guide, long *tokens)
{
	const struct sq_train_opts *o = t->o;
	struct sq_graph_opts go = {(float)o->label_smoothing,
	    (float)o->dropout, (uint64_t)o->seed, (uint64_t)t->step,
	    (float)o->guided_attention, (float)o->guided_attention_width,
	    (float)o->nat_length_weight};
	double xent = 0, risk = 0, p_ss = 0, ce = o->mrt ? o->mrt_ce_weight : 1;
	long k, total = 0, pairs = 0, tok;
	int n;

	if (o->scheduled_sampling > 0 && t->max_steps > 0)
		p_ss = o->scheduled_sampling * SQ_MIN(1.0, (double)t->step /
		    (double)t->max_steps);
	for (k = t->batch; k < k_end; k++) {
		const long *idx = sq_batches_get(order, k, &n);

		pairs += n;
		for (int i = 0; i < n; i++) {
			int len;

			sq_corpus_tgt(t->train, idx[i], &len);
			total += sq_graph_positions(t->m, len);
		}
	}
	for (k = t->batch; k < k_end; k++) {
		const long *idx = sq_batches_get(order, k, &n);
		struct batch b = {0};
		double l, r;

		batch_fill(&b, t->train, idx, n);
		if (o->mrt) {
			if (mrt_batch(t, &b, k - t->batch,
			    (float)(1.0 / (double)pairs), &r) < 0) {
				batch_free(&b);
				return -1;
			}
			risk += r;
		}
		if (ce > 0) {
			if ((p_ss > 0 && sample_inputs(t, &b, p_ss) < 0) ||
			    (l = sq_graph_forward(t->graph, &b.p, &go,
			    &tok)) < 0) {
				batch_free(&b);
				return -1;
			}
			sq_graph_backward(t->graph, (float)(ce / (double)total));
			xent += l;
			*guide += sq_graph_guide(t->graph);
		}
		batch_free(&b);
	}
	*loss = ce * xent / (double)total;
	if (o->mrt)
		*loss += risk / (double)pairs;
	*tokens = total;
	return 0;
}

/* A line of the TSV log: 0, or -1 with the error set on a write error. */
static int
log_line(struct trainer *t, const struct sq_train_report *r)
{
	if (t->log == NULL)
		return 0;
	fprintf(t->log, "%ld\t%ld\t%.6f\t%.8g\t%.1f\t%.1f", r->step, r->epoch,
	    r->loss, r->lr, r->tok_per_s, r->elapsed);
	if (r->validated)
		fprintf(t->log, "\t%.6f\t%.4f\t%.2f", r->valid_loss,
		    r->valid_ppl, r->valid_bleu);
	else
		fprintf(t->log, "\t\t\t");
	if (r->guide >= 0)
		fprintf(t->log, "\t%.6f", r->guide);
	fprintf(t->log, "\n");
	if (fflush(t->log) == EOF || ferror(t->log)) {
		sq_seterr("%s: write error: %s", t->log_path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
validate(struct trainer *t, struct sq_train_report *r)
{
	double vl, bleu = -1, crit;

	if (t->valid == NULL)
		return 0;
	if ((vl = sq_validate_loss(t->graph, t->valid, t->o->max_tokens)) < 0)
		return -1;
	if (t->o->valid_bleu_lines > 0 && (bleu = sq_validate_bleu(t->m,
	    t->pool, t->valid, t->o->valid_bleu_lines, t->sp_tgt)) < 0)
		return -1;
	r->validated = 1;
	r->valid_loss = vl;
	r->valid_ppl = exp(vl);
	r->valid_bleu = bleu;
	/* fine-tuning for BLEU: the best model is the best by BLEU */
	crit = t->o->mrt && bleu >= 0 ? -bleu : vl;
	r->best = crit < t->best;
	if (r->best) {
		t->best = crit;
		t->bad = 0;
		if (save_model(t, t->m, t->best_path, NULL) < 0)
			return -1;
	} else
		t->bad++;
	return 0;
}

/* The planned number of updates, for the schedule and the ETA. */
static long
plan_steps(struct trainer *t)
{
	const struct sq_train_opts *o = t->o;
	struct sq_batches *b;
	long per_epoch;

	if (o->max_steps > 0)
		return o->max_steps;
	b = sq_batches_new(t->train, o->max_tokens, (uint64_t)o->seed, 1);
	per_epoch = (sq_batches_count(b) + o->update_freq - 1) / o->update_freq;
	sq_batches_free(b);
	return per_epoch * o->max_epochs;
}

/* The updates until a limit, or early stopping.  0 or -1. */
static int
run(struct trainer *t)
{
	const struct sq_train_opts *o = t->o;
	long n = t->m->params->total;
	struct sq_train_report r = {0};

	t->t0 = sq_now();
	t->step0 = t->step;
	for (; o->max_epochs == 0 || t->epoch <= o->max_epochs; t->epoch++,
	    t->batch = 0) {
		struct sq_batches *order = sq_batches_new(t->train,
		    o->max_tokens, (uint64_t)o->seed, t->epoch);
		long count = sq_batches_count(order);

		while (t->batch < count) {
			long k_end = SQ_MIN(count, t->batch + o->update_freq);
			long tokens = 0;
			double loss, guide = 0, norm, lr; /* loss: the update's mean */
			int last, timed_out;

			if (o->max_steps > 0 && t->step >= o->max_steps) {
				sq_batches_free(order);
				return 0;
			}
			sq_zero(t->gm->owned, n, t->pool);
			if (accumulate(t, order, k_end, &loss, &guide,
			    &tokens) < 0) {
				sq_batches_free(order);
				return -1;
			}
			norm = sqrt(sq_sumsq(t->gm->owned, n, t->pool));
			if (!isfinite(loss) || !isfinite(norm)) {
				if (strcmp(o->on_nan, "stop") == 0) {
					char ck[64] = "no checkpoint yet";

					if (t->saved >= 0)
						snprintf(ck, sizeof(ck), "the "
						    "checkpoint holds step %ld",
						    t->saved);
					sq_seterr("step %ld: the %s is %s: stopped "
					    "without writing the model (%s; "
					    "--on-nan skip skips such batches)",
					    t->step + 1, isfinite(loss) ?
					    "gradient norm" : "loss",
					    isnan(isfinite(loss) ? norm : loss) ?
					    "NaN" : "infinite", ck);
					sq_batches_free(order);
					return -1;
				}
				note(t, "step %ld: non-finite loss or gradient: "
				    "batch skipped", t->step + 1);
				t->batch = k_end;
				continue;
			}
			if (o->clip_norm > 0 && norm > o->clip_norm)
				sq_scale(t->gm->owned, n,
				    (float)(o->clip_norm / norm), t->pool);
			t->step++;
			lr = learning_rate(o, t->step);
			sq_adamw_step(t->m->owned, t->adam_m, t->adam_v,
			    t->gm->owned, n, lr, o->beta1, o->beta2,
			    o->adam_eps, o->weight_decay, t->step, t->pool);
			t->batch = k_end;
			t->loss_acc += loss * (double)tokens;
			t->guide_acc += guide;
			t->tok_acc += tokens;
			t->tok_run += tokens;

			memset(&r, 0, sizeof(r));
			r.step = t->step;
			r.max_steps = t->max_steps;
			r.max_seconds = o->max_seconds;
			r.epoch = t->epoch;
			r.loss = t->loss_acc / (double)SQ_MAX(1, t->tok_acc);
			r.guide = o->guided_attention > 0 ? t->guide_acc /
			    (double)SQ_MAX(1, t->tok_acc) : -1;
			r.lr = lr;
			r.run_steps = t->step - t->step0;
			r.run_elapsed = sq_now() - t->t0;
			r.elapsed = t->elapsed0 + r.run_elapsed;
			r.tok_per_s = (double)t->tok_run /
			    SQ_MAX(1e-9, r.run_elapsed);
			timed_out = o->max_seconds > 0 &&
			    r.elapsed >= o->max_seconds;
			/* the last weights are a candidate for the best too */
			last = (o->max_steps > 0 && t->step >= o->max_steps) ||
			    (o->max_epochs > 0 && t->epoch == o->max_epochs &&
			    k_end == count) || timed_out;
			if ((t->step % o->valid_every == 0 || last) &&
			    validate(t, &r) < 0) {
				sq_batches_free(order);
				return -1;
			}
			if (t->step % o->log_every == 0 || r.validated || last) {
				if (log_line(t, &r) < 0) {
					sq_batches_free(order);
					return -1;
				}
				t->loss_acc = 0;
				t->guide_acc = 0;
				t->tok_acc = 0;
			}
			if (t->report != NULL)
				t->report(t->ctx, &r);
			if (t->step % o->save_every == 0 &&
			    save_checkpoint(t) < 0) {
				sq_batches_free(order);
				return -1;
			}
			if (o->patience > 0 && t->bad >= o->patience) {
				note(t, "step %ld: no better validation %s "
				    "in %ld validations: stopping", t->step,
				    o->mrt && o->valid_bleu_lines > 0 ? "BLEU" :
				    "loss", t->bad);
				sq_batches_free(order);
				return 0;
			}
			if (timed_out) {
				note(t, "step %ld: %.0f s of training: "
				    "--max-seconds reached", t->step, r.elapsed);
				sq_batches_free(order);
				return 0;
			}
		}
		sq_batches_free(order);
	}
	return 0;
}

/*
 * The model written at the end: with --average N, the mean of the last N
 * checkpoints; else the best validated one, else the last.
 */
static int
finish(struct trainer *t)
{
	struct sq_save_opts so = {.dtype = t->o->f16 ? SQ_W_F16 : SQ_W_F32};
	struct sq_model *best;
	int rc, n;

	if (save_checkpoint(t) < 0)
		return -1;
	if (t->o->average > 1) {
		if ((n = average_snapshots(t)) < 0)
			return -1;
		note(t, "the model is the mean of the last %d checkpoints", n);
		return save_model(t, t->m, t->o->output, &so);
	}
	if (t->valid == NULL || !isfinite(t->best))
		return save_model(t, t->m, t->o->output, &so);
	if ((best = sq_model_open(t->best_path)) == NULL)
		return -1;
	rc = save_model(t, best, t->o->output, &so);
	sq_model_close(best);
	return rc;
}

static void
trainer_free(struct trainer *t)
{
	sq_mrt_free(t->mrt);
	sq_graph_free(t->graph);
	sq_pool_free(t->pool);
	sq_corpus_free(t->train);
	sq_corpus_free(t->valid);
	sq_model_close(t->m);
	sq_model_close(t->gm);
	free(t->adam_m);
	free(t->adam_v);
	sq_spm_free(t->sp_src);
	sq_spm_free(t->sp_tgt);
	free(t->spm_src);
	free(t->spm_tgt);
	if (t->vocab_tgt != t->vocab_src)
		free(t->vocab_tgt);
	free(t->vocab_src);
	for (int i = 0; i < t->n_meta; i++) {
		free((char *)t->meta[i].key);
		free((char *)t->meta[i].value);
	}
	free(t->meta);
	free(t->provenance);
	free(t->options);
	if (t->log != NULL)
		fclose(t->log);
}

/*
 * Whether a file can be made beside path (the output, the checkpoint),
 * so a run does not find out after hours.  0, or -1 with the error set.
 */
static int
check_writable(const char *path)
{
	size_t n = strlen(path) + 16;
	struct stat st;
	char *tmp;
	int fd;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a device or a pipe, written in place (sq_model_save) */
		if (!S_ISDIR(st.st_mode) && access(path, W_OK) == 0)
			return 0;
		sq_seterr("%s: cannot write it: %s", path, S_ISDIR(st.st_mode) ?
		    "a directory" : strerror(errno));
		return -1;
	}
	tmp = sq_malloc(n);
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		sq_seterr("%s: cannot write beside it: %s", path,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);
	unlink(tmp);
	free(tmp);
	return 0;
}

int
sq_train(const struct sq_train_opts *o, int threads,
    sq_train_report_fn *report, sq_train_note_fn *note_fn, void *ctx)
{
	struct trainer t = {0};
	int rc = -1, fresh_log;

	t.o = o;
	t.report = report;
	t.note = note_fn;
	t.ctx = ctx;
	t.options = dump_options(o);
	snprintf(t.ckpt, sizeof(t.ckpt), "%s", o->checkpoint ? o->checkpoint :
	    "");
	if (o->checkpoint == NULL)
		snprintf(t.ckpt, sizeof(t.ckpt), "%s.ckpt", o->output);
	snprintf(t.best_path, sizeof(t.best_path), "%s.best", o->output);
	snprintf(t.log_path, sizeof(t.log_path), "%s", o->log ? o->log : "");
	if (o->log == NULL)
		snprintf(t.log_path, sizeof(t.log_path), "%s.log.tsv",
		    o->output);
	t.pool = sq_pool_new(threads);
	if (check_writable(o->output) < 0 || check_writable(t.ckpt) < 0 ||
	    (o->resume ? resume(&t) : start(&t)) < 0)
		goto out;
	fresh_log = !o->resume;
	if ((t.log = fopen(t.log_path, fresh_log ? "w" : "a")) == NULL) {
		sq_seterr("%s: %s", t.log_path, strerror(errno));
		goto out;
	}
	if (fresh_log)
		fprintf(t.log, "step\tepoch\tloss\tlr\ttok_per_s\telapsed\t"
		    "valid_loss\tvalid_ppl\tvalid_bleu%s\n",
		    o->guided_attention > 0 ? "\tguide" : "");
	if ((t.train = read_corpus(&t, o->src, o->src_frames, o->tgt, o->tsv,
	    "training data")) == NULL)
		goto out;
	if ((o->valid_src != NULL || o->valid_src_frames != NULL ||
	    o->valid_tsv != NULL) && (t.valid = read_corpus(&t, o->valid_src,
	    o->valid_src_frames, o->valid_tgt, o->valid_tsv,
	    "validation data")) == NULL)
		goto out;
	t.graph = sq_graph_new(t.m, t.gm, t.pool);
	if (o->mrt)
		t.mrt = sq_mrt_new(t.m, t.graph, t.pool, t.sp_tgt);
	t.max_steps = plan_steps(&t);
	if (run(&t) < 0 || finish(&t) < 0)
		goto out;
	note(&t, "wrote %s (step %ld)", o->output, t.step);
	rc = 0;
out:
	trainer_free(&t);
	return rc;
}
