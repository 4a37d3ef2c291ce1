/*
 * risk: the expected risk over candidate sets and its gradient (see
 * risk.h).  The chain to the weights goes through the graph's
 * per-sentence losses: the loss of candidate k is -s_k, so the weight of
 * its loss in the backward is -scale dR/ds_k.
 */
#include <math.h>
#include <stdlib.h>

#include "train/graph.h"
#include "train/risk.h"
#include "base/util.h"

double
sq_risk(double *d, const double *logp, const double *cost, int n,
    double alpha)
{
	double mx = -INFINITY, z = 0, r = 0;
	int k;

	for (k = 0; k < n; k++)
		mx = fmax(mx, alpha * logp[k]);
	for (k = 0; k < n; k++) {
		d[k] = exp(alpha * logp[k] - mx);	/* Q_k, unnormalised */
		z += d[k];
	}
	for (k = 0; k < n; k++) {
		d[k] /= z;
		r += d[k] * cost[k];
	}
	for (k = 0; k < n; k++)
		d[k] = alpha * d[k] * (cost[k] - r);
	return r;
}

double
sq_risk_graph(struct sq_graph *g, const struct sq_pairs *cands,
    const int *first, int n_sets, const double *cost, double alpha,
    const struct sq_graph_opts *o, float scale)
{
	struct sq_graph_opts go = *o;
	int n = first[n_sets], k, i;
	double *logp, *d, sum = 0;
	const double *loss;
	float *w;
	long tok;

	go.label_smoothing = 0;
	if (sq_graph_forward(g, cands, &go, &tok) < 0)
		return -1;
	loss = sq_graph_losses(g);
	logp = sq_malloc(((size_t)n + 1) * sizeof(double));
	d = sq_malloc(((size_t)n + 1) * sizeof(double));
	w = sq_malloc(((size_t)n + 1) * sizeof(float));
	for (i = 0; i < n; i++)
		logp[i] = -loss[i];
	for (k = 0; k < n_sets; k++)
		sum += sq_risk(d + first[k], logp + first[k], cost + first[k],
		    first[k + 1] - first[k], alpha);
	if (scale != 0) {
		for (i = 0; i < n; i++)
			w[i] = (float)(-scale * d[i]);
		sq_graph_backward_each(g, w);
	}
	free(logp);
	free(d);
	free(w);
	return sum;
}
