/*
 * trainer: train's whole job, from settings to a model file: the
 * vocabularies (given, taken from --init, or trained), the corpus, the
 * model (initialised, from --init, or from the checkpoint on --resume),
 * the updates (Adam with decoupled weight decay, warmup then inverse
 * square root, clipping by global norm, batches by tokens, gradient
 * accumulation, scheduled sampling, or minimum-risk training's
 * updates: train/mrt.h), checkpoints, validation, early stopping,
 * averaging, and the final model.
 *
 * Deterministic: the same data, settings, seed and thread count give the
 * same model file, bit for bit, also across a kill and --resume (the
 * checkpoint holds the weights, Adam's moments and the position; the
 * shuffling and the dropout masks are functions of seed, epoch and step).
 *
 * What it has to say goes through the caller's callbacks: progress after
 * each update and validation, and notes (warnings, milestones).
 */
#ifndef SQ_TRAINER_H
#define SQ_TRAINER_H

struct sq_train_opts;

struct sq_train_report {
	long step;		/* updates done */
	long max_steps;		/* the planned total, 0 if unknown */
	long epoch;		/* from 1 */
	double loss;		/* the objective over the last log
				   interval: the label-smoothed loss per
				   target token (--mrt: the risk per pair,
				   plus --mrt-ce-weight times that) */
	double guide;		/* the guided-attention penalty per target
				   token over that interval, before its
				   weight (sq_graph_guide()); -1: off */
	double tok_per_s;	/* target tokens per second of training */
	double lr;
	double elapsed;		/* seconds of training, over all runs
				   (a --resume goes on counting) */
	double max_seconds;	/* the time limit, 0 if none */
	long run_steps;		/* updates done by this run */
	double run_elapsed;	/* seconds since this run started */
	int validated;		/* the valid_* fields are new */
	double valid_loss, valid_ppl, valid_bleu;	/* bleu -1: none */
	int best;		/* the best valid loss so far (--mrt
				   with valid BLEU: the best BLEU) */
};

typedef void sq_train_report_fn(void *ctx, const struct sq_train_report *r);
typedef void sq_train_note_fn(void *ctx, const char *msg);

/*
 * Trains as o says (checked with sq_train_opts_check()), with threads
 * threads.  Returns 0, or -1 with sq_errstr() set: nothing half-written
 * is left at o->output.
 */
int sq_train(const struct sq_train_opts *o, int threads,
    sq_train_report_fn *report, sq_train_note_fn *note, void *ctx);

#endif
