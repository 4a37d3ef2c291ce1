/*
 * test_graph: lib/train/graph.c, the training forward and backward of a
 * whole model.
 *
 * Without operands: TAP.  For small models of each variant (post-norm
 * GELU with sinusoids, pre-norm GELU with learned positions and final
 * norms, tied, and untied with an output bias and SiLU whose decoder
 * starts from the zero vector, decoder_start_id -1; arch rnn untied from
 * the zero vector, and tied with 3 + 1 layers), random weights
 * and a batch of pairs of mixed lengths (an empty source among them;
 * ReLU's kink defeats finite differences at this size, so ReLU is held
 * to PyTorch in tests/train.bats instead):
 *   - the gradient of every tensor against central finite differences of
 *     the loss at sampled coordinates;
 *   - the loss without smoothing equals minus the sum of the log-probs
 *     the engine's decoder (nn/decoder, one step at a time) gives the
 *     same pairs: training and inference agree;
 *   - the same batch in another order and on 1 or 2 threads gives the
 *     same loss and the same gradients, bit for bit (per thread count);
 *   - dropout changes the loss, a second run with the same seed and step
 *     repeats it exactly, another step does not.
 *
 * With operands  MODEL PAIRS GRADS [ADAM_STEPS LR B1 B2 EPS WD OUT]:
 * reads the model file and the pairs ("src ids TAB tgt ids" lines), runs
 * one forward and backward with label smoothing $LS (default 0), prints
 * "loss TOKENS", writes the gradients to GRADS as a model file of the
 * same names; with ADAM_STEPS, then takes that many AdamW steps on the
 * mean loss per token and writes the model to OUT.  tests/train.bats
 * holds this against scripts/torch-train.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/config.h"
#include "nn/decoder.h"
#include "nn/encoder.h"
#include "nn/model.h"
#include "nn/params.h"
#include "train/grad.h"
#include "train/graph.h"
#include "train/init.h"
#include "base/pool.h"
#include "tap.h"
#include "base/util.h"

#define MAX_PAIRS 64

struct pairs {
	int n;
	int32_t *src[MAX_PAIRS], *tgt[MAX_PAIRS];
	int sl[MAX_PAIRS], tl[MAX_PAIRS];
	struct sq_pairs p;
};

static void
pairs_done(struct pairs *b)
{
	b->p = (struct sq_pairs){b->n, (const int32_t *const *)b->src, b->sl,
	    (const int32_t *const *)b->tgt, b->tl, NULL};
}

static void
pairs_free(struct pairs *b)
{
	for (int i = 0; i < b->n; i++) {
		free(b->src[i]);
		free(b->tgt[i]);
	}
}

/* ---- TAP mode ---- */

static void
config(struct sq_config *c, int variant)
{
	sq_config_defaults(c);
	c->d_model = 8, c->n_heads = 2, c->d_ff = 12;
	c->encoder_layers = 2, c->decoder_layers = 2;
	c->src_vocab_size = 9, c->tgt_vocab_size = 9;
	c->max_positions = 16;
	c->activation = SQ_ACT_GELU;
	if (variant == 1) {
		c->pre_norm = c->encoder_final_norm = c->decoder_final_norm = 1;
		c->positions = SQ_POS_LEARNED;
		c->tie_src_tgt = c->tie_output = c->shared_vocab = 1;
	} else if (variant == 2) {
		c->tgt_vocab_size = 11;
		c->activation = SQ_ACT_SILU;
		c->positions = SQ_POS_SIN_HALF;
		c->output_bias = 1;
		c->decoder_final_norm = 1;
		c->decoder_start_id = -1;	/* Marian's zero start */
	} else if (variant == 3) {	/* arch rnn, nothing tied */
		c->arch = SQ_ARCH_RNN;
		c->tgt_vocab_size = 11;
		c->output_bias = 1;
		c->decoder_start_id = -1;
	} else if (variant == 4) {	/* arch rnn, everything tied, 3 + 1 */
		c->arch = SQ_ARCH_RNN;
		c->encoder_layers = 3, c->decoder_layers = 1;
		c->tie_src_tgt = c->tie_output = c->shared_vocab = 1;
	}
	sq_config_finish(c);
}

static void
make_pairs(struct pairs *b, const struct sq_config *c, uint64_t seed)
{
	static const int sl[] = {3, 0, 5, 1}, tl[] = {2, 4, 0, 3};

	b->n = 4;
	for (int i = 0; i < b->n; i++) {
		b->sl[i] = sl[i];
		b->tl[i] = tl[i];
		b->src[i] = sq_malloc((size_t)(sl[i] + 1) * sizeof(int32_t));
		b->tgt[i] = sq_malloc((size_t)(tl[i] + 1) * sizeof(int32_t));
		for (int t = 0; t < sl[i]; t++)
			b->src[i][t] = (int32_t)(sq_splitmix64(&seed) %
			    (uint64_t)c->src_vocab_size);
		for (int t = 0; t < tl[i]; t++)
			b->tgt[i][t] = (int32_t)(sq_splitmix64(&seed) %
			    (uint64_t)c->tgt_vocab_size);
	}
	pairs_done(b);
}

static double
loss_of(struct sq_graph *g, const struct sq_pairs *p,
    const struct sq_graph_opts *o)
{
	long tok;

	return sq_graph_forward(g, p, o, &tok);
}

/* Gradients against central differences at sampled coordinates. */
static void
check_fd(int variant)
{
	struct sq_config c;
	struct sq_model *m, *gm;
	struct sq_graph *g;
	struct pairs b = {0};
	struct sq_graph_opts o = {0.1f, 0, 0, 0};
	uint64_t st = 7 + (uint64_t)variant;
	int bad = 0, k, checked = 0;
	double worst = 0;

	config(&c, variant);
	m = sq_model_new(&c, "fd");
	gm = sq_model_new(&c, "fd-grad");
	sq_init_weights(m, 11 + (uint64_t)variant);
	/* a bias and gains away from 0 and 1, so their gradients matter */
	for (long i = 0; i < m->params->total; i++)
		m->owned[i] += (float)(0.05 * (sq_uniform(&st) - 0.5));
	make_pairs(&b, &c, 3);
	g = sq_graph_new(m, gm, NULL);
	loss_of(g, &b.p, &o);
	sq_graph_backward(g, 1.0f);
	for (k = 0; k < m->params->n; k++) {
		const struct sq_param *p = &m->params->p[k];

		for (int r = 0; r < 3; r++) {
			long i = p->offset + (long)(sq_splitmix64(&st) %
			    (uint64_t)p->numel);
			float keep = m->owned[i], h = 1e-2f;
			double up, down, num, ana = gm->owned[i], err;

			m->owned[i] = keep + h;
			up = loss_of(g, &b.p, &o);
			m->owned[i] = keep - h;
			down = loss_of(g, &b.p, &o);
			m->owned[i] = keep;
			num = (up - down) / (2.0 * h);
			err = fabs(num - ana) / (fabs(num) + fabs(ana) + 1e-2);
			worst = fmax(worst, err);
			if (err > 2e-2) {
				if (bad++ < 5)
					printf("# %s[%ld]: numeric %g, backward "
					    "%g\n", p->name, i - p->offset, num,
					    ana);
			}
			checked++;
		}
	}
	ok(bad == 0, "variant %d: %d gradient coordinates of %d tensors "
	    "against finite differences (worst relative error %.2g)", variant,
	    checked, m->params->n, worst);
	sq_graph_free(g);
	sq_model_close(m);
	sq_model_close(gm);
	pairs_free(&b);
}

/* The loss without smoothing = minus the decoder's log-probs, summed. */
static void
check_engine(int variant)
{
	struct sq_config c;
	struct sq_model *m, *gm;
	struct sq_graph *g;
	struct sq_encoder *enc;
	struct sq_decoder *dec;
	struct pairs b = {0};
	struct sq_graph_opts o = {0};
	double loss, ref = 0;
	float *logp;
	long tok, r = 0;

	config(&c, variant);
	m = sq_model_new(&c, "engine");
	gm = sq_model_new(&c, "engine-grad");
	sq_init_weights(m, 5);
	make_pairs(&b, &c, 9);
	g = sq_graph_new(m, gm, NULL);
	loss = sq_graph_forward(g, &b.p, &o, &tok);
	enc = sq_encoder_new(m, NULL);
	dec = sq_decoder_new(m, NULL);
	logp = sq_malloc((size_t)c.tgt_vocab_size * sizeof(float));
	for (int i = 0; i < b.n; i++) {
		const int32_t *src = b.src[i];
		const float *mem;
		int32_t in = c.decoder_start_id;

		sq_encoder_run(enc, 1, &src, &b.sl[i]);
		mem = sq_encoder_out(enc, 0);
		sq_decoder_begin(dec, 1, &mem, &b.sl[i], 1, b.tl[i] + 1);
		for (int t = 0; t <= b.tl[i]; t++, r++) {
			int32_t gold = t < b.tl[i] ? b.tgt[i][t] : c.eos_id;

			sq_decoder_step(dec, &in, logp);
			ref -= logp[gold];
			in = gold;
		}
	}
	ok(tok == r && fabs(loss - ref) < 1e-4,
	    "variant %d: loss %.6f = the engine's -sum log p %.6f over %ld "
	    "positions", variant, loss, ref, tok);
	free(logp);
	sq_encoder_free(enc);
	sq_decoder_free(dec);
	sq_graph_free(g);
	sq_model_close(m);
	sq_model_close(gm);
	pairs_free(&b);
}

/* Loss and gradients of the batch; grads copied to out (total floats). */
static double
run_batch(const struct sq_model *m, struct sq_pool *pool,
    const struct sq_pairs *p, const struct sq_graph_opts *o, float *out)
{
	struct sq_model *gm = sq_model_new(&m->cfg, "g");
	struct sq_graph *g = sq_graph_new(m, gm, pool);
	long tok;
	double loss = sq_graph_forward(g, p, o, &tok);

	sq_graph_backward(g, 1.0f);
	memcpy(out, gm->owned, (size_t)gm->params->total * sizeof(float));
	sq_graph_free(g);
	sq_model_close(gm);
	return loss;
}

static void
check_determinism(int variant)
{
	struct sq_config c;
	struct sq_model *m;
	struct sq_pool *pool = sq_pool_new(2);
	struct pairs b = {0};
	struct sq_graph_opts o = {0.1f, 0, 0, 0}, od = {0.1f, 0.3f, 42, 7};
	float *g1, *g2, *g3;
	double l1, l2, l3, d1, d2, d3;
	long n;

	config(&c, variant);
	m = sq_model_new(&c, "det");
	sq_init_weights(m, 8);
	make_pairs(&b, &c, 4);
	n = m->params->total;
	g1 = sq_malloc((size_t)n * sizeof(float));
	g2 = sq_malloc((size_t)n * sizeof(float));
	g3 = sq_malloc((size_t)n * sizeof(float));
	l1 = run_batch(m, NULL, &b.p, &o, g1);
	l2 = run_batch(m, NULL, &b.p, &o, g2);
	ok(l1 == l2 && memcmp(g1, g2, (size_t)n * sizeof(float)) == 0,
	    "variant %d: two runs: the same loss and gradients, bit for bit",
	    variant);
	l3 = run_batch(m, pool, &b.p, &o, g3);
	ok(fabs(l3 - l1) < 1e-5 * fabs(l1) && max_diff(g1, g3, n) < 1e-5,
	    "2 threads: the same loss and gradients within 1e-5 (%.2g)",
	    max_diff(g1, g3, n));
	d1 = run_batch(m, pool, &b.p, &od, g1);
	d2 = run_batch(m, pool, &b.p, &od, g2);
	od.step = 8;
	d3 = run_batch(m, pool, &b.p, &od, g3);
	ok(d1 == d2 && memcmp(g1, g2, (size_t)n * sizeof(float)) == 0 &&
	    d1 != l3 && d3 != d1, "dropout: repeats with seed and step (%.6f), "
	    "differs from no dropout (%.6f) and at another step (%.6f)", d1,
	    l3, d3);
	free(g1);
	free(g2);
	free(g3);
	sq_model_close(m);
	sq_pool_free(pool);
	pairs_free(&b);
}

/* ---- operand mode ---- */

static void
read_pairs(struct pairs *b, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *tab, *s, *end;
	size_t cap = 0;

	if (f == NULL)
		sq_die("%s:", path);
	while (getline(&line, &cap, f) > 0 && b->n < MAX_PAIRS) {
		int i = b->n++, side;

		if ((tab = strchr(line, '\t')) == NULL)
			sq_die("%s: line %d: no TAB", path, b->n);
		*tab = '\0';
		for (side = 0; side < 2; side++) {
			int32_t *ids = sq_malloc(strlen(side ? tab + 1 : line) *
			    sizeof(int32_t) + sizeof(int32_t));
			int n = 0;

			for (s = side ? tab + 1 : line;; s = end) {
				long v = strtol(s, &end, 10);

				if (end == s)
					break;
				ids[n++] = (int32_t)v;
			}
			if (side) {
				b->tgt[i] = ids;
				b->tl[i] = n;
			} else {
				b->src[i] = ids;
				b->sl[i] = n;
			}
		}
	}
	free(line);
	fclose(f);
	pairs_done(b);
}

static int
operands(int argc, char *argv[])
{
	struct sq_model *file = sq_model_open(argv[1]), *m, *gm;
	struct sq_graph *g;
	struct pairs b = {0};
	const char *ls = getenv("LS");
	struct sq_graph_opts o = {ls ? strtof(ls, NULL) : 0, 0, 0, 0};
	double loss;
	long tok, n;

	if (file == NULL)
		sq_die("%s", sq_errstr());
	m = sq_model_new(&file->cfg, file->model_id);
	for (int i = 0; i < m->params->n; i++) {
		const struct sq_param *p = &m->params->p[i];

		memcpy(m->owned + p->offset, *sq_param_field(file, p),
		    (size_t)p->numel * sizeof(float));
	}
	m->spm_src = file->spm_src, m->spm_src_len = file->spm_src_len;
	m->spm_tgt = file->spm_tgt, m->spm_tgt_len = file->spm_tgt_len;
	gm = sq_model_new(&file->cfg, file->model_id);
	read_pairs(&b, argv[2]);
	g = sq_graph_new(m, gm, NULL);
	loss = sq_graph_forward(g, &b.p, &o, &tok);
	if (loss < 0)
		sq_die("%s", sq_errstr());
	sq_graph_backward(g, 1.0f);
	printf("%.9g %ld\n", loss, tok);
	if (sq_model_save(gm, argv[3], NULL) < 0)
		sq_die("%s", sq_errstr());
	if (argc > 4) {
		int steps = atoi(argv[4]);
		float *am, *av;

		n = m->params->total;
		am = sq_calloc((size_t)n, sizeof(float));
		av = sq_calloc((size_t)n, sizeof(float));
		for (int s = 1; s <= steps; s++) {
			memset(gm->owned, 0, (size_t)n * sizeof(float));
			sq_graph_forward(g, &b.p, &o, &tok);
			sq_graph_backward(g, (float)(1.0 / (double)tok));
			sq_adamw_step(m->owned, am, av, gm->owned, n,
			    strtod(argv[5], NULL), strtod(argv[6], NULL),
			    strtod(argv[7], NULL), strtod(argv[8], NULL),
			    strtod(argv[9], NULL), s, NULL);
		}
		if (sq_model_save(m, argv[10], NULL) < 0)
			sq_die("%s", sq_errstr());
		free(am);
		free(av);
	}
	sq_graph_free(g);
	sq_model_close(m);
	sq_model_close(gm);
	sq_model_close(file);
	pairs_free(&b);
	return 0;
}

int
main(int argc, char *argv[])
{
	if (argc == 4 || argc == 11)
		return operands(argc, argv);
	if (argc != 1)
		sq_die("usage: test_graph [MODEL PAIRS GRADS [STEPS LR B1 B2 "
		    "EPS WD OUT]]");
	for (int v = 0; v < 5; v++) {
		check_fd(v);
		check_engine(v);
	}
	check_determinism(1);
	check_determinism(3);
	return tap_done();
}
