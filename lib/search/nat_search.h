/*
 * nat_search: the search of a non-autoregressive model (config nat;
 * nn/model.h has the math), for decode --nat: for each sentence, the
 * target lengths its length predictor ranks first, each decoded in one
 * parallel pass of the decoder (every position its arg-max token), and
 * the candidate of the best log-probability per token kept, its length's
 * included (Gu et al. 2018's noisy parallel decoding, reranked by the
 * model itself as Ghazvininejad et al. 2019 do, normalised as beamsearch's
 * default -a 1); or, scoring, the log-probability of a given target.
 *
 * The lengths T a sentence of S source tokens may take are those of
 * [max(1, min_len), max_steps] (max_steps from --max-len and the
 * positions: search/greedy.h's rule; min_len cut to it), ranked by the
 * log-prob of their class (nn/nat.h), then by |T - S|, then by T.  The
 * tokens are never pad, BOS or EOS (none is ever a target: the decoder
 * writes no EOS, the length says where the sentence ends), nor UNK with
 * no_unk.  The hypothesis's score is log p(T) + sum_i log p_i(y_i), the
 * ranking's that divided by T; its token scores the log p_i(y_i).  Ties
 * go to the candidate ranked first.  A sentence allowed no position (an empty source, or
 * --max-len 0) has the empty hypothesis, score 0, as in every search.
 *
 * It fills the sentences of a greedy batch (search/greedy.h), which runs
 * it when its options ask for it.
 */
#ifndef SQ_NAT_SEARCH_H
#define SQ_NAT_SEARCH_H

struct sq_model;
struct sq_pool;
struct sq_greedy_opts;
struct sq_greedy_sent;
struct sq_nat_search;

/*
 * The search for model m (config nat), computing with pool (borrowed, may
 * be NULL), under o (copied): nat_lengths candidates, min_len, no_unk,
 * scoring.  Caller frees with sq_nat_search_free().
 */
struct sq_nat_search *sq_nat_search_new(const struct sq_model *m,
    struct sq_pool *pool, const struct sq_greedy_opts *o);
void sq_nat_search_free(struct sq_nat_search *ns);

/*
 * Decodes (or scores) the n sentences s[0..n): sets each one's ids,
 * tok_scores, n, score and done.  Returns 0, or -1 with sq_errstr() set
 * (an autoregressive model, a source id outside the vocabulary).
 */
int sq_nat_search_run(struct sq_nat_search *ns, struct sq_greedy_sent *s,
    int n);

#endif
