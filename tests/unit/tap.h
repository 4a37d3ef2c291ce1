/*
 * tap: the TAP output every C unit test prints ("ok N - what" or "not ok
 * N - what", then "1..N"), for tests/run.sh.  Include it once per test
 * program; main ends with  return tap_done();
 */
#ifndef SQ_TAP_H
#define SQ_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "base/util.h"

static int tap_n, tap_failed;

/* One test: cond true passes; a failure also prints sq_errstr(). */
static void __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond) {
		tap_failed++;
		printf("# sq_errstr: %s\n", sq_errstr());
	}
}

/* The largest |a[i] - b[i]| of n floats, for kernels against references. */
static inline double
max_diff(const float *a, const float *b, long n)
{
	double m = 0.0;
	long i;

	for (i = 0; i < n; i++)
		if (!(fabs((double)a[i] - b[i]) <= m))
			m = fabs((double)a[i] - b[i]);
	return m;
}

/* The kernel tests' inputs: a fixed xorshift64 sequence. */
static unsigned long long tap_rng = 88172645463325252ULL;

/* Uniform in [-1, 1). */
static inline float
tap_urand(void)
{
	tap_rng ^= tap_rng << 13;
	tap_rng ^= tap_rng >> 7;
	tap_rng ^= tap_rng << 17;
	return (float)((tap_rng >> 40) / (double)(1 << 24) * 2.0 - 1.0);
}

/* n floats uniform in [-scale, scale) (one more allocated); caller frees. */
static inline float *
tap_rand_vec(long n, float scale)
{
	float *x = sq_malloc((n + 1) * sizeof(float));
	long i;

	for (i = 0; i < n; i++)
		x[i] = tap_urand() * scale;
	return x;
}

/* Prints the plan; the exit status: 1 if any test failed. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
