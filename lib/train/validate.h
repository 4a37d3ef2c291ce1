/*
 * validate: how train judges a model on held-out pairs: the loss and
 * perplexity under teacher forcing, and the BLEU of its greedy
 * translations, through the library's own decoder (nn/encoder,
 * search/greedy) and metric (bleu/bleu, sacrebleu's 13a tokenizer).
 *
 * BLEU here compares against the references as SentencePiece gives them
 * back (its normalisation applied): a training curve, not a published
 * figure; bleu(1) on the real reference file is that.
 */
#ifndef SQ_VALIDATE_H
#define SQ_VALIDATE_H

struct sq_corpus;
struct sq_graph;
struct sq_model;
struct sq_pool;
struct sq_spm;

/*
 * The mean negative log-likelihood per target token (no smoothing, no
 * dropout) of the pairs of c, in batches of max_tokens, through graph g
 * of the model.  Returns it, or -1 with sq_errstr() set.
 */
double sq_validate_loss(struct sq_graph *g, const struct sq_corpus *c,
    long max_tokens);

/*
 * Corpus BLEU (0 to 100) of the greedy translations of the first n pairs
 * of c (all if n exceeds them), decoded to text with tgt.  Returns it,
 * or -1 with sq_errstr() set.
 */
double sq_validate_bleu(const struct sq_model *m, struct sq_pool *pool,
    const struct sq_corpus *c, long n, struct sq_spm *tgt);

#endif
