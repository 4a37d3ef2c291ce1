/*
 * init: initial weights (see init.h).  Tensors are told apart by their
 * names in the parameter table (nn/params.h): what ends in ".bias" is a
 * bias, a layer norm's ".weight" is a gain, a 2-D ".weight" of a layer is
 * a linear weight, embed_tokens and embed_positions are embeddings, and
 * ".rnn." names are a GRU's weights and biases (nn.GRU's names).  Each
 * tensor draws from its own stream (seed, tensor index), so adding a
 * tensor does not change the others.
 */
#include <math.h>
#include <string.h>

#include "nn/model.h"
#include "nn/params.h"
#include "train/init.h"

uint64_t
sq_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

double
sq_uniform(uint64_t *state)
{
	return (double)(sq_splitmix64(state) >> 11) * 0x1.0p-53;
}

/* A standard normal deviate (Box-Muller, the cosine branch only). */
static double
normal(uint64_t *state)
{
	double u = 1.0 - sq_uniform(state), v = sq_uniform(state);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

void
sq_init_weights(struct sq_model *m, uint64_t seed)
{
	const struct sq_params *t = m->params;
	const struct sq_config *c = &m->cfg;
	double embed_sd = 1.0 / sqrt((double)c->d_model);
	int i;
	long k;

	for (i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];
		float *w = m->owned + p->offset;
		uint64_t st = seed * 0x100000001B3ull + (uint64_t)i;

		if (strstr(p->name, "embed_tokens") ||
		    strstr(p->name, "embed_positions") ||
		    strcmp(p->name, "output_projection.weight") == 0) {
			for (k = 0; k < p->numel; k++)
				w[k] = (float)(normal(&st) * embed_sd);
			if (strstr(p->name, "embed_tokens") && c->pad_id >= 0 &&
			    c->pad_id < p->dims[0])
				memset(w + (long)c->pad_id * p->dims[1], 0,
				    (size_t)p->dims[1] * sizeof(float));
		} else if (ends_with(p->name, ".bias") ||
		    strstr(p->name, ".rnn.bias_")) {
			memset(w, 0, (size_t)p->numel * sizeof(float));
		} else if (strstr(p->name, ".rnn.weight_")) {
			/* nn.GRU's: H = rows / 3 units per gate */
			double a = 1.0 / sqrt((double)p->dims[0] / 3.0);

			for (k = 0; k < p->numel; k++)
				w[k] = (float)((2.0 * sq_uniform(&st) - 1.0) * a);
		} else if (p->n_dims == 1) {	/* a layer norm's gain */
			for (k = 0; k < p->numel; k++)
				w[k] = 1.0f;
		} else {
			double a = sqrt(6.0 / (double)(p->dims[0] + p->dims[1]));

			for (k = 0; k < p->numel; k++)
				w[k] = (float)((2.0 * sq_uniform(&st) - 1.0) * a);
		}
	}
}
