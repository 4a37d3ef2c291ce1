/*
 * opts: train's settings, one table for the command line, the config
 * file, --dump-config and --help.
 *
 * Every setting has a long option (--d-model), the same key in a config
 * file ("d-model 512" or "d_model 512" lines, or a JSON object of the
 * same keys), a default, and one help line.  Precedence: the defaults,
 * then the config file (--config), then the command line.  --dump-config
 * prints the effective settings as a config file that reads back to the
 * same settings.
 */
#ifndef SQ_TRAIN_OPTS_H
#define SQ_TRAIN_OPTS_H

#include <stdint.h>
#include <stdio.h>

struct sq_train_opts {
	/* data */
	char *src, *tgt, *tsv;		/* training pairs */
	char *src_frames;		/* instead of src: a frames stream */
	char *valid_src, *valid_tgt, *valid_tsv;
	char *valid_src_frames;
	char *output;			/* -o: the model file */
	char *init;			/* start from this model */
	char *checkpoint;		/* default: OUTPUT.ckpt */
	char *log;			/* TSV of the curves */
	int resume;
	char *too_long;			/* "drop" or "truncate" */
	/* vocabularies */
	char *src_spm, *tgt_spm;	/* given SentencePiece models */
	long vocab_size;
	char *spm_type;			/* "unigram" or "bpe" */
	int shared_vocab;
	long spm_sample;		/* lines fed to the SentencePiece trainer */
	/* architecture */
	char *arch;			/* "transformer" or "rnn" */
	long layers, enc_layers, dec_layers, d_model, heads, ffn;
	long max_positions;
	long subsample;			/* frames per encoder position */
	long attention_window;		/* encoder self-attention's reach */
	int pre_norm;
	char *activation, *positions;
	int tie_embeddings;		/* tie_src_tgt + tie_output */
	int copy;			/* the copy mechanism (nn/copy.h) */
	int nat;			/* non-autoregressive (config nat) */
	long nat_max_offset;
	double nat_length_weight;	/* of the length predictor's loss */
	/* optimisation */
	double lr;
	long warmup;
	long max_tokens;
	long update_freq;
	long max_steps, max_epochs;
	double max_seconds;	/* 0: no limit */
	double label_smoothing, dropout, clip_norm, weight_decay;
	double beta1, beta2, adam_eps;
	double scheduled_sampling;	/* the largest mixing probability */
	double guided_attention;	/* lambda of the guide term, 0 off */
	double guided_attention_width;	/* its g */
	int mrt;			/* minimum-risk training */
	long mrt_samples;		/* candidates drawn per source */
	double mrt_alpha;		/* Q's sharpness */
	int mrt_reference;		/* the reference joins each set */
	double mrt_ce_weight;		/* cross-entropy added to the risk */
	long seed;
	long threads;			/* 0: the online cores */
	/* bookkeeping */
	long save_every, valid_every, patience, average;
	long valid_bleu_lines;		/* of the valid set decoded for BLEU */
	char *on_nan;			/* "stop" or "skip" */
	char *progress;			/* "auto", "bar" or "log" */
	long log_every;			/* steps between plain log lines */
	int f16;			/* the model written stores F16 */
};

/* The defaults (strings owned).  Caller frees with sq_train_opts_free(). */
void sq_train_opts_init(struct sq_train_opts *o);
void sq_train_opts_free(struct sq_train_opts *o);

/*
 * Sets the setting named key (long option name, '_' or '-' alike) to
 * value.  Returns 0, -1 with sq_errstr() set on a bad value, -2 for an
 * unknown key (no error set).
 */
int sq_train_opts_set(struct sq_train_opts *o, const char *key,
    const char *value);

/* Reads a config file (key value lines or JSON).  0, or -1 with
   sq_errstr() "FILE: line N: what". */
int sq_train_opts_read(struct sq_train_opts *o, const char *path);

/* Writes the settings as a config file. */
void sq_train_opts_dump(const struct sq_train_opts *o, FILE *f);

/*
 * Checks values that depend on each other (a source without a target,
 * heads not dividing d-model, ...).  0, or -1 with sq_errstr() set.
 */
int sq_train_opts_check(const struct sq_train_opts *o);

/* The help lines of every setting, for --help; a static string. */
const char *sq_train_opts_help(void);

/* The number of settings, and setting i's long name: for getopt. */
int sq_train_opts_count(void);
const char *sq_train_opts_name(int i);
/* Whether setting i is a flag (no argument on the command line). */
int sq_train_opts_is_flag(int i);

#endif
