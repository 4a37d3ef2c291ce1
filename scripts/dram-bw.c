/*
 * dram-bw: the rate at which this machine's cores read memory that is not
 * in cache, as the yardstick of make bench's batch-1 figures (issue 8 §5:
 * greedy decoding at batch 1 reads every weight once per token, so it is
 * bound by this bandwidth, not by arithmetic).
 *
 * usage: dram-bw THREADS MBYTES REPS
 *
 * THREADS threads each sum their share of one MBYTES buffer (much larger
 * than the last-level cache), REPS times after one warm-up pass, with
 * 16-float vector adds (4 independent chains, so the adds never limit
 * the rate); prints "best median" in GB/s (1e9 bytes) on stdout.  The
 * threads start each pass together (a barrier) and the pass ends with the
 * last of them.  Not part of the library: built by scripts/bench-engine
 * into build/bench/.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchtime.h"

typedef float vf __attribute__((vector_size(64)));

struct share {
	const vf *p;
	size_t n;			/* vectors */
	int reps;
	pthread_barrier_t *start, *end;
	float sink;			/* the sum, so the reads are not dropped */
};

static void *
reader(void *arg)
{
	struct share *s = arg;

	for (int r = -1; r < s->reps; r++) {
		vf a = {0}, b = {0}, c = {0}, d = {0};
		size_t i;

		pthread_barrier_wait(s->start);
		for (i = 0; i + 4 <= s->n; i += 4) {
			a += s->p[i];
			b += s->p[i + 1];
			c += s->p[i + 2];
			d += s->p[i + 3];
		}
		a += b + c + d;
		for (int k = 0; k < 16; k++)
			s->sink += a[k];
		pthread_barrier_wait(s->end);
	}
	return NULL;
}

int
main(int argc, char *argv[])
{
	int threads, reps, i;
	long mbytes;
	size_t nvec, per;
	vf *buf;
	double *gbs, t;
	pthread_t *tid;
	struct share *sh;
	pthread_barrier_t start, end;
	float sink = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: dram-bw THREADS MBYTES REPS\n");
		return 2;
	}
	threads = atoi(argv[1]);
	mbytes = atol(argv[2]);
	reps = atoi(argv[3]);
	if (threads < 1 || mbytes < 1 || reps < 1) {
		fprintf(stderr, "dram-bw: arguments must be positive\n");
		return 2;
	}
	nvec = (size_t)mbytes * 1000000 / sizeof(vf);
	per = nvec / (size_t)threads / 4 * 4;
	buf = aligned_alloc(64, nvec * sizeof(vf));
	gbs = malloc(sizeof(double) * reps);
	tid = malloc(sizeof(pthread_t) * threads);
	sh = calloc(threads, sizeof(struct share));
	if (!buf || !gbs || !tid || !sh) {
		fprintf(stderr, "dram-bw: out of memory\n");
		return 1;
	}
	memset(buf, 1, nvec * sizeof(vf));	/* every page touched */
	pthread_barrier_init(&start, NULL, threads + 1);
	pthread_barrier_init(&end, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		sh[i] = (struct share){ buf + (size_t)i * per, per, reps, &start,
		    &end, 0 };
		pthread_create(&tid[i], NULL, reader, &sh[i]);
	}
	for (i = -1; i < reps; i++) {
		pthread_barrier_wait(&start);
		t = now();
		pthread_barrier_wait(&end);
		t = now() - t;
		if (i >= 0)
			gbs[i] = (double)per * threads * sizeof(vf) / t * 1e-9;
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		sink += sh[i].sink;
	}
	qsort(gbs, reps, sizeof(double), cmp_double);
	printf("%.1f %.1f\n", gbs[reps - 1], gbs[reps / 2]);
	fprintf(stderr, "dram-bw: checksum %g\n", sink);
	free(buf);
	free(gbs);
	free(tid);
	free(sh);
	return 0;
}
