/*
 * benchtime: what the C benchmark programs of scripts/ (sgemm-peak.c,
 * bench-gemm.c) share: a monotonic clock in seconds and the comparison
 * that sorts their samples for the median and the best.
 */
#ifndef BENCHTIME_H
#define BENCHTIME_H

#include <time.h>

static inline double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* qsort() order of doubles, ascending */
static inline int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
