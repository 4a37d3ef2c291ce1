/*
 * risk: the expected risk of minimum-risk training (Shen et al. 2016,
 * "Minimum Risk Training for Neural Machine Translation", eqs. 11-13),
 * over candidate sets the caller drew (train/mrt.h draws them).
 *
 * For a source x with candidates y_1 .. y_n (distinct), each of cost
 * cost_k (1 - sentence BLEU / 100 in train --mrt) and log-probability
 * s_k = log p(y_k | x) under the model (EOS included):
 *
 *   Q_k   = exp(alpha s_k) / sum_j exp(alpha s_j)   the model's
 *           distribution renormalised over the set, sharpened by alpha
 *   R     = sum_k Q_k cost_k                        the expected risk
 *   dR/ds_k = alpha Q_k (cost_k - R)
 *
 * so a candidate cheaper than the set's expected cost gains probability,
 * a dearer one loses it.  As alpha -> 0, Q is uniform and the gradient
 * is REINFORCE's with the mean cost of the set as its baseline, scaled
 * by alpha / n.
 */
#ifndef SQ_RISK_H
#define SQ_RISK_H

struct sq_graph;
struct sq_graph_opts;
struct sq_pairs;

/*
 * One candidate set of n >= 1: returns R and sets d (n) to dR/ds, from
 * logp (n) the s_k and cost (n).  Q is computed from alpha s - max, so
 * any finite logp is safe.
 */
double sq_risk(double *d, const double *logp, const double *cost, int n,
    double alpha);

/*
 * Candidate sets over graph g: cands holds every set's candidates as
 * (source, candidate) pairs, set k being pairs first[k] .. first[k+1]-1
 * (n_sets + 1 entries in first), of costs cost (first[n_sets]).  One
 * forward of them all with o's dropout and seed (no label smoothing:
 * the losses are minus the log-probabilities); returns the sum of the
 * sets' R, or -1 with sq_errstr() set (the graph's errors).  With scale
 * not 0, then adds the gradient of scale times that sum to the graph's
 * gradient model, as sq_graph_backward() does.
 */
double sq_risk_graph(struct sq_graph *g, const struct sq_pairs *cands,
    const int *first, int n_sets, const double *cost, double alpha,
    const struct sq_graph_opts *o, float scale);

#endif
