/*
 * beam: beam search over any next-token model, batched over sentences
 * (man/beamsearch.1 states the same rules for users).
 *
 * The search never sees the Transformer.  It calls a step function with
 * the live hypotheses of every unfinished sentence of a batch (each with
 * its sentence, its parent row in the previous call and the token to
 * feed) and gets back one row of log-probabilities over the vocabulary
 * per hypothesis.  The decoder behind it reorders its key/value cache by
 * the parent rows; tests drive it with a table.
 *
 * The rules (k = beam size, t = tokens a hypothesis has so far):
 * - Each sentence has k slots.  Step t extends every live hypothesis by
 *   every token whose log-probability is not -inf (EOS is set to -inf
 *   while t < min_len, every banned token always, and every token that
 *   would repeat an n-gram of the hypothesis under no_repeat_ngram), and
 *   keeps the best "free slots" extensions by cumulative log-probability.
 *   Ties go to the earlier row, then to the larger token log-probability,
 *   then to the smaller token id, so k = 1 picks exactly greedy's argmax.
 * - An extension ending in EOS is finished and takes its slot for good
 *   (Marian's shrinking beam).  At step max_steps - 1 every kept extension
 *   is finished as it stands.  A hypothesis with no allowed token left
 *   is finished as it stands.  A sentence is done when no slot is left.
 * - A finished hypothesis of L tokens (L counts the EOS if it has one,
 *   as Marian's History does) and summed log-probability S scores
 *	(S - word_penalty * L) / lp(L),
 *   lp(L) = L^alpha, or ((5 + L) / 6)^alpha in the GNMT form; an empty
 *   hypothesis (L = 0) scores 0, whatever the options.  Finished
 *   hypotheses rank by that score, ties by the order they finished.
 * - Early stop: once a sentence has nbest finished hypotheses, it is done
 *   as soon as no live one can end above the nbest-th of them: the bound
 *   for a live hypothesis of cumulative score s is max over the lengths
 *   it can still reach of (s - word_penalty * L) / lp(L), valid because
 *   more tokens only lower s.  So early stop never changes the output;
 *   it only saves steps.
 *
 * Workload: every step reads n_rows x V log-probs once (per-row partial
 * selection, no sort of the vocabulary); history is kept as back-pointers,
 * never copied per step.
 */
#ifndef SQ_BEAM_H
#define SQ_BEAM_H

#include <stdint.h>

enum sq_beam_norm {
	SQ_BEAM_NORM_POWER,	/* lp(L) = L^alpha */
	SQ_BEAM_NORM_GNMT	/* lp(L) = ((5 + L) / 6)^alpha */
};

struct sq_beam_opts {
	int beam_size;		/* k >= 1 */
	int nbest;		/* hypotheses kept per sentence, 1..k */
	float alpha;		/* length normalisation exponent, 0: none */
	int norm;		/* SQ_BEAM_NORM_* */
	float word_penalty;
	int no_repeat_ngram;	/* n >= 1 bans repeated n-grams; 0: off */
	int no_early_stop;	/* run until every slot is finished (tests) */
	const int32_t *banned;	/* (n_banned) ids never chosen, e.g. UNK; */
	int n_banned;		/* copied by sq_beam_new() */
	int32_t start_id;	/* fed at step 0; -1 the zero vector */
	int32_t eos_id;
	int n_vocab;		/* V */
};

/* What the step function is asked for. */
struct sq_beam_step {
	int t;			/* tokens each row has so far; 0 first */
	int n_rows;
	const int *sent;	/* (n_rows) sentence of the row, ascending */
	const int *parent;	/* (n_rows) row of the previous call, -1 at t 0 */
	const int32_t *ids;	/* (n_rows) token to feed: start_id at t 0 */
};

/*
 * Returns (n_rows, V) log-probabilities of the next token for each row,
 * owned by the step function, valid until its next call; the search may
 * write to it.  NULL on failure, with sq_errstr() set.
 */
typedef float *(*sq_beam_step_fn)(void *ctx, const struct sq_beam_step *st);

/* One result hypothesis. */
struct sq_beam_hyp {
	const int32_t *ids;	/* (n_ids) without the EOS */
	const float *token_logp;	/* (n_ids) log-probability of each id */
	int n_ids;
	int eos;		/* 1: ended with EOS; 0: cut or stuck */
	float logprob;		/* summed log-probs, the EOS's included */
	float score;		/* the normalised score that ranks */
};

struct sq_beam;

/*
 * A search with options o (copied).  NULL with sq_errstr() set if an
 * option is out of range.  Free with sq_beam_free().
 */
struct sq_beam *sq_beam_new(const struct sq_beam_opts *o);
void sq_beam_free(struct sq_beam *bs);

/*
 * Searches n_sent sentences at once.  max_steps[i] bounds the tokens of
 * sentence i, EOS included (0: its only hypothesis is empty, score 0, and
 * it never reaches the step function); min_len[i] tokens come before EOS
 * can (NULL: 0).  Returns 0, or -1 if the step function failed (its
 * message stays in sq_errstr()).  Results stay valid until the next run.
 */
int sq_beam_run(struct sq_beam *bs, int n_sent, const int *max_steps,
    const int *min_len, sq_beam_step_fn step, void *ctx);

/*
 * Sentence i's best hypotheses, best first: sets *hyps and returns how
 * many (1..nbest; fewer only when the vocabulary offers fewer paths).
 * Borrowed until the next sq_beam_run() or sq_beam_free().
 */
int sq_beam_hyps(const struct sq_beam *bs, int i,
    const struct sq_beam_hyp **hyps);

/* The normalised score of a hypothesis of L tokens and log-prob S. */
float sq_beam_score(const struct sq_beam_opts *o, float logprob, int len);

#endif
