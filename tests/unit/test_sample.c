/*
 * test_sample: the sampler's filters and its generator.  On a fixed
 * distribution (0.4, 0.3, 0.2, 0.1, and two impossible tokens), many
 * draws must stay inside the kept set and follow its renormalised
 * probabilities: top-k 3 keeps 3 tokens, top-p 0.5 the two whose mass
 * first reaches one half, top-p 0.75 three, temperature flattens; the
 * generator depends on (seed, key) only.
 */
#include <math.h>
#include <stdio.h>

#include "search/sample.h"
#include "tap.h"

#define V 6
#define DRAWS 40000

/* Draw DRAWS times; count[v] frequencies.  Returns 0 if an -inf drawn. */
static int
draws(struct sq_sampler *s, const float *logp, double *freq)
{
	struct sq_sample_rng g;
	int i, v, n[V] = { 0 };

	sq_sample_seed(&g, 1, 2);
	for (i = 0; i < DRAWS; i++) {
		v = sq_sample(s, logp, V, &g);
		if (v < 0 || v >= V || isinf(logp[v]))
			return 0;
		n[v]++;
	}
	for (v = 0; v < V; v++)
		freq[v] = (double)n[v] / DRAWS;
	return 1;
}

/* freq within 0.01 of want (renormalised over the nonzero entries). */
static int
near(const double *freq, const double *want)
{
	double z = 0.0;
	int v;

	for (v = 0; v < V; v++)
		z += want[v];
	for (v = 0; v < V; v++)
		if (fabs(freq[v] - want[v] / z) > 0.01)
			return 0;
	return 1;
}

int
main(void)
{
	float logp[V] = { logf(0.4f), logf(0.3f), -INFINITY, logf(0.2f),
	    logf(0.1f), -INFINITY };
	struct sq_sampler s = { .temperature = 1, .top_p = 1 };
	struct sq_sample_rng a, b;
	double f[V];
	const double all[V] = { 0.4, 0.3, 0, 0.2, 0.1, 0 };
	const double top3[V] = { 0.4, 0.3, 0, 0.2, 0, 0 };
	const double top2[V] = { 0.4, 0.3, 0, 0, 0, 0 };
	double flat[V];
	int v, same = 1;

	ok(draws(&s, logp, f) && near(f, all), "plain sampling follows p");
	s.top_k = 3;
	ok(draws(&s, logp, f) && near(f, top3), "top-k 3");
	s.top_k = 0, s.top_p = 0.5f;
	ok(draws(&s, logp, f) && near(f, top2), "top-p 0.5: two tokens");
	s.top_p = 0.75f;
	ok(draws(&s, logp, f) && near(f, top3), "top-p 0.75: three tokens");
	s.top_k = 2, s.top_p = 0.99f;
	ok(draws(&s, logp, f) && near(f, top2), "top-k 2 before top-p");
	s.top_k = 0, s.top_p = 1, s.temperature = 2;
	for (v = 0; v < V; v++)
		flat[v] = isinf(logp[v]) ? 0 : sqrt(all[v]);
	ok(draws(&s, logp, f) && near(f, flat), "temperature 2: p^(1/2)");
	sq_sample_seed(&a, 7, 100);
	sq_sample_seed(&b, 7, 100);
	for (v = 0; v < 100; v++)
		same &= sq_sample_uniform(&a) == sq_sample_uniform(&b);
	sq_sample_seed(&b, 7, 101);
	ok(same && sq_sample_uniform(&a) != sq_sample_uniform(&b),
	    "generator: a function of seed and key");
	{
		float none[V] = { -INFINITY, -INFINITY, -INFINITY, -INFINITY,
		    -INFINITY, -INFINITY };
		struct sq_sample_rng g;

		sq_sample_seed(&g, 0, 0);
		ok(sq_sample(&s, none, V, &g) == -1, "nothing to draw: -1");
	}
	sq_sampler_free(&s);
	return tap_done();
}
