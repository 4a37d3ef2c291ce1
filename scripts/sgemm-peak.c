/*
 * sgemm-peak: the float32 matrix-product rate this machine's CBLAS
 * (OpenBLAS, the library seqpipe links) reaches with a given number of
 * threads, as the yardstick for make bench's encode figures (issue 3 §4:
 * encode at batch 32 should reach 80% of it).
 *
 * usage: sgemm-peak THREADS M N K REPS
 *
 * Times REPS calls of C(M,N) = A(M,K) B(K,N), row-major, after one warm-up
 * call, and prints "best median" in GFLOP/s (2*M*N*K flops per call) on
 * stdout.  The best of the calls is the peak; the median shows the noise
 * of a shared machine.  Not part of the library: built by
 * scripts/bench-engine into build/bench/.
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "benchtime.h"

int
main(int argc, char *argv[])
{
	int threads, m, n, k, reps, i;
	float *a, *b, *c;	/* (M, K), (K, N), (M, N) */
	double *gflops, t;

	if (argc != 6) {
		fprintf(stderr, "usage: sgemm-peak THREADS M N K REPS\n");
		return 2;
	}
	threads = atoi(argv[1]);
	m = atoi(argv[2]);
	n = atoi(argv[3]);
	k = atoi(argv[4]);
	reps = atoi(argv[5]);
	if (threads < 1 || m < 1 || n < 1 || k < 1 || reps < 1) {
		fprintf(stderr, "sgemm-peak: arguments must be positive\n");
		return 2;
	}
	openblas_set_num_threads(threads);
	a = malloc(sizeof(float) * m * k);
	b = malloc(sizeof(float) * k * n);
	c = malloc(sizeof(float) * m * n);
	gflops = malloc(sizeof(double) * reps);
	if (!a || !b || !c || !gflops) {
		fprintf(stderr, "sgemm-peak: out of memory\n");
		return 1;
	}
	for (i = 0; i < m * k; i++)
		a[i] = (float)((i * 7 % 13) - 6) / 13;
	for (i = 0; i < k * n; i++)
		b[i] = (float)((i * 5 % 11) - 5) / 11;
	for (i = -1; i < reps; i++) {
		t = now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k,
		    1.0f, a, k, b, n, 0.0f, c, n);
		t = now() - t;
		if (i >= 0)
			gflops[i] = 2.0 * m * n * k / t * 1e-9;
	}
	qsort(gflops, reps, sizeof(double), cmp_double);
	printf("%.1f %.1f\n", gflops[reps - 1], gflops[reps / 2]);
	free(a);
	free(b);
	free(c);
	free(gflops);
	return 0;
}
