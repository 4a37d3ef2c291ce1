/*
 * packed: float32 weights in libxsmm's panel layout (see packed.h).
 *
 * Why libxsmm.  scripts/bench-gemm measured the engine's shapes (M = 32
 * to 800 rows by K x N = 512 x 512 to 512 x 32000, two threads, weights
 * from DRAM, a busy machine): the engine's OpenBLAS 0.3.21, which
 * re-packs W inside every call and runs its Haswell kernels on AVX-512
 * CPUs it does not know, at 37-103 GFLOP/s; libxsmm 1.17 over weights
 * packed once at 95-232, oneDNN 2.6 at 57-223 (24 once), XNNPACK below
 * OpenBLAS.  libxsmm generates its kernels for the
 * CPU it runs on (AVX2, AVX-512), which is the run-time dispatch a build
 * without -march needs, leaves the weight layout and the threads to us
 * (oneDNN brings OpenMP's), and is one small package.
 *
 * Layout (nn/panels.h).  A panel is the A of a column-major kernel
 * C (PANEL, n) = A (PANEL, K) B (K, n) + beta C, where B is x^T and C is
 * y^T read in place (leading dimensions K and ldo), so x and y need no
 * copy either.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <libxsmm.h>

#include "nn/model.h"
#include "nn/ops.h"
#include "nn/i8gemm.h"
#include "nn/packed.h"
#include "nn/panels.h"
#include "nn/params.h"
#include "base/pool.h"
#include "base/util.h"

#define PANEL SQ_PANEL_ROWS
/* input rows per kernel call: their slice of x stays in cache */
#define ROWS 32
/* the packed copies are aligned to a (transparent) huge page */
#define HUGE_PAGE (2L << 20)

static int have_kernels;
static char isa_name[32] = "none";
/* held while a matrix is packed: the first caller packs, others wait */
static pthread_mutex_t pack_lock = PTHREAD_MUTEX_INITIALIZER;

void
sq_packed_init(void)
{
	libxsmm_init();
	/* below AVX2, OpenBLAS's own kernels are as good */
	have_kernels = libxsmm_get_target_archid() >= LIBXSMM_X86_AVX2;
	if (have_kernels)
		snprintf(isa_name, sizeof(isa_name), "libxsmm %s",
		    libxsmm_get_target_arch());
}

const char *
sq_packed_isa(void)
{
	return isa_name;
}

int
sq_packed_available(void)
{
	return have_kernels;
}

struct pack_job {
	float *dst;
	const float *w;
	long N, K;
};

static void
pack_part(void *arg, int i, int n)
{
	struct pack_job *j = arg;
	int lo, hi;

	sq_pool_share((int)((j->N + PANEL - 1) / PANEL), 1, i, n, &lo, &hi);
	/* panels [lo, hi): those of the rows from lo PANEL on */
	if (lo < hi)
		sq_panels_pack(j->dst + (long)lo * PANEL * j->K,
		    j->w + (long)lo * PANEL * j->K,
		    SQ_MIN(j->N, (long)hi * PANEL) - (long)lo * PANEL, j->K);
}

/* whether entry p is the encoder's: its layers' and the frames' */
static int
encoder_side(const struct sq_param *p)
{
	return p->owner == SQ_IN_ENCODER_LAYER ||
	    p->owner == SQ_IN_ENCODER_GRU ||
	    (p->owner == SQ_IN_MODEL &&
	    p->field == offsetof(struct sq_model, frame_proj.w));
}

/*
 * Maps the file's pages of view v (N, K) now, in one call, where the
 * products would take page faults on their first pass (greedy decoding
 * of 128 sentences, base model in int8, batch 32: 1,400 fewer faults of
 * 21,700).  Only the matrices of the side a program runs: MAP_POPULATE
 * would map the whole file, the other side's too.
 */
static void
populate(const struct sq_mat *v, long N, long K)
{
	sq_populate(v->data, v->i8_packed ? (size_t)sq_i8_packed_len((int)N,
	    (int)K) : v->panels ? sq_panels_size(N, K) * 4 : (size_t)N * K *
	    (v->dtype == SQ_W_F32 ? 4 : v->dtype == SQ_W_F16 ? 2 : 1), 0);
}

/*
 * The views of m's side that products read (sq_packed_model()); with
 * slots, each given the next one and its pages mapped.  Returns their
 * count.
 */
static int
each_view(struct sq_model *m, int encoder, struct sq_packed *slots)
{
	const struct sq_params *t = m->params;
	int i, n = 0;

	for (i = 0; i < t->n; i++) {
		const struct sq_param *p = &t->p[i];
		struct sq_mat *v;

		if (!p->has_view || encoder_side(p) != encoder)
			continue;
		v = sq_param_view(m, p);
		/* the tables are looked up by row, not multiplied... */
		if (v == &m->src_embed_q || v == &m->tgt_embed_q)
			continue;
		if (slots != NULL) {
			v->packed = &slots[n];
			populate(v, p->dims[0], p->dims[1]);
		}
		n++;
	}
	/* ...but for the output projection when it is tied to one */
	if (!encoder && m->cfg.tie_output && m->out_proj_q.data != NULL) {
		if (slots != NULL) {
			m->out_proj_q.packed = &slots[n];
			populate(&m->out_proj_q, m->cfg.tgt_vocab_size,
			    m->cfg.d_model);
		}
		n++;
	}
	return n;
}

void
sq_packed_model(struct sq_model *m, int encoder)
{
	int n;

	sq_ops_init();
	if (!(m->dtype == SQ_W_I8 || (m->dtype == SQ_W_F32 && have_kernels)) ||
	    m->packed != NULL || (n = each_view(m, encoder, NULL)) == 0)
		return;
	m->packed = sq_calloc((size_t)n, sizeof(*m->packed));
	m->n_packed = n;
	each_view(m, encoder, m->packed);
}

/* a packed copy of the (N, K) matrix w, made by the pool's threads */
static const float *
pack(const float *w, long N, long K, struct sq_pool *pool)
{
	size_t bytes = sq_panels_size(N, K) * sizeof(float);
	struct pack_job j = { NULL, w, N, K };
	void *p;

	/* a large copy in huge pages where the kernel gives them: fewer
	   page faults, fewer TLB misses in the products */
	if (posix_memalign(&p, bytes >= HUGE_PAGE ? HUGE_PAGE : 64,
	    bytes) != 0)
		sq_die("out of memory packing %zu bytes of weights", bytes);
	if (bytes >= HUGE_PAGE)
		madvise(p, bytes, MADV_HUGEPAGE);
	j.dst = p;
	sq_pool_run(pool, pack_part, &j);
	return j.dst;
}

int
sq_packed_use(const struct sq_mat *w, long N, long K, struct sq_pool *pool)
{
	struct sq_packed *s = w->packed;

	if (__atomic_load_n(&s->panels, __ATOMIC_ACQUIRE) != NULL)
		return 1;
	if (__atomic_fetch_add(&s->uses, 1, __ATOMIC_RELAXED) == 0)
		return 0;
	pthread_mutex_lock(&pack_lock);
	if (s->panels == NULL)
		__atomic_store_n(&s->panels, pack(w->data, N, K, pool),
		    __ATOMIC_RELEASE);
	pthread_mutex_unlock(&pack_lock);
	return 1;
}

void
sq_packed_i8_make(struct sq_i8_packed *p, const struct sq_mat *w, int N,
    int K)
{
	if (w->i8_packed)
		sq_i8_wrap(p, w->data, w->scale, N, K);
	else
		sq_i8_pack(p, w->data, w->scale, N, K);
}

const struct sq_i8_packed *
sq_packed_i8(const struct sq_mat *w, int N, int K)
{
	struct sq_packed *s = w->packed;
	struct sq_i8_packed *p;

	if ((p = __atomic_load_n(&s->i8, __ATOMIC_ACQUIRE)) != NULL)
		return p;
	pthread_mutex_lock(&pack_lock);
	if ((p = s->i8) == NULL) {
		p = sq_calloc(1, sizeof(*p));
		sq_packed_i8_make(p, w, N, K);
		__atomic_store_n(&s->i8, p, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&pack_lock);
	return p;
}

void
sq_packed_free(struct sq_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n_packed; i++) {
		free((void *)m->packed[i].panels);
		if (m->packed[i].i8 != NULL)
			sq_i8_free(m->packed[i].i8);
		free(m->packed[i].i8);
	}
	free(m->packed);
	m->packed = NULL;
	m->n_packed = 0;
}

/* the kernel for a (width, rows) block, beta 1 (bias in C) or 0 */
static libxsmm_smmfunction
kernel(int width, int rows, int K, int ldo, int beta)
{
	libxsmm_blasint lda = PANEL, ldb = K, ldc = ldo;
	float one = 1.0f, b = (float)beta;
	int pf = LIBXSMM_PREFETCH_NONE;

	return libxsmm_smmdispatch(width, rows, K, &lda, &ldb, &ldc, &one, &b,
	    NULL, &pf);
}

/* a product's kernels: [full panel, last][full block of rows, last] */
struct kernels {
	libxsmm_smmfunction f[2][2];
};

/*
 * The kernels for M rows by panels of K, the last panel last_width wide;
 * -1 if libxsmm has none for a shape.
 */
static int
kernels(struct kernels *k, int M, int K, int ldo, int last_width,
    int beta)
{
	int i, j, width, rows;

	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++) {
			/* (a matrix narrower than a panel has no full
			   one: its stand-in must still fit ldo) */
			width = i == 0 ? SQ_MIN(PANEL, ldo) : last_width;
			rows = j == 0 ? SQ_MIN(ROWS, M) : M % ROWS ? M % ROWS :
			    SQ_MIN(ROWS, M);
			if ((k->f[i][j] = kernel(width, rows, K, ldo, beta)) ==
			    NULL)
				return -1;
		}
	return 0;
}

/* out's columns [n0, n0 + width) from the panel a of those rows */
static void
panel_cols(const struct kernels *k, float *out, int ldo, const float *inp,
    const float *a, const float *bias, int M, int K, int n0, int width)
{
	int m0, r, rows;

	for (m0 = 0; m0 < M; m0 += ROWS) {
		float *c = out + (long)m0 * ldo + n0;

		rows = SQ_MIN(ROWS, M - m0);
		if (bias != NULL)
			for (r = 0; r < rows; r++)
				memcpy(c + (long)r * ldo, bias + n0,
				    width * sizeof(float));
		k->f[width < PANEL][rows < ROWS](a, inp + (long)m0 * K, c);
	}
}

int
sq_packed_cols(float *out, int ldo, const float *inp,
    const struct sq_mat *w, const float *bias, int M, int K, int N, int lo,
    int hi)
{
	struct kernels k;
	int n0;

	if (kernels(&k, M, K, ldo, hi == N && N % PANEL != 0 ? N % PANEL :
	    PANEL, bias != NULL) < 0)
		return -1;
	for (n0 = lo; n0 < hi; n0 += PANEL)
		panel_cols(&k, out, ldo, inp, (w->panels ? (const float *)w->data :
		    w->packed->panels) +
		    (long)(n0 / PANEL) * PANEL * K, bias, M, K, n0,
		    SQ_MIN(PANEL, hi - n0));
	return 0;
}

int
sq_packed_panel_cols(float *out, int ldo, const float *inp,
    const float *panel, const float *bias, int M, int K, int n0, int width)
{
	struct kernels k;

	if (kernels(&k, M, K, ldo, width, bias != NULL) < 0)
		return -1;
	panel_cols(&k, out, ldo, inp, panel, bias, M, K, n0, width);
	return 0;
}
