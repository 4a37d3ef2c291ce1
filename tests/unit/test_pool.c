/*
 * test_pool: lib/base/pool.c.  Every part of every run is run exactly
 * once, whatever the threads and parts, over many runs in a row (the
 * workers then catch runs while they spin, not only after a sleep); and
 * an idle pool sleeps: its threads spin at most SPIN_NS (20 us) after a
 * run, so from 100 ms after its last run on, the process takes next to
 * no CPU time.  (The 100 ms let its threads finish starting, which took
 * 44 ms of CPU under AddressSanitizer on a CI machine.)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/pool.h"
#include "base/util.h"
#include "tap.h"

#define MAX_PARTS 64

struct count {
	_Atomic int hits[MAX_PARTS];
	_Atomic int bad_n;		/* calls with another n than asked */
	int n;
};

static void
hit(void *arg, int i, int n)
{
	struct count *c = arg;

	if (n != c->n || i < 0 || i >= n)
		atomic_fetch_add(&c->bad_n, 1);
	else
		atomic_fetch_add(&c->hits[i], 1);
}

/* runs `runs` runs of `parts` parts; whether each part ran once a run */
static int
each_once(struct sq_pool *p, int parts, int runs)
{
	int r, i, good = 1;

	for (r = 0; r < runs; r++) {
		struct count c = { .n = parts };

		sq_pool_run_parts(p, hit, &c, parts);
		good &= atomic_load(&c.bad_n) == 0;
		for (i = 0; i < parts; i++)
			good &= atomic_load(&c.hits[i]) == 1;
	}
	return good;
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void
test_idle_sleeps(void)
{
	struct sq_pool *p = sq_pool_new(3);
	struct timespec settle = { 0, 100000000 }, pause = { 0, 200000000 };
	double before;

	each_once(p, 12, 100);
	nanosleep(&settle, NULL);
	before = cpu_seconds();
	nanosleep(&pause, NULL);
	ok(cpu_seconds() - before < 0.020,
	    "an idle pool of 3 threads sleeps: %.1f ms of CPU time in 200 ms",
	    (cpu_seconds() - before) * 1e3);
	sq_pool_free(p);
}

int
main(void)
{
	static const int threads[] = { 1, 2, 3, 5 };
	static const int parts[] = { 1, 2, 3, 8, 64 };
	size_t t, k;

	for (t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		struct sq_pool *p = sq_pool_new(threads[t]);

		for (k = 0; k < sizeof(parts) / sizeof(*parts); k++)
			ok(each_once(p, parts[k], 2000),
			    "%d threads, %d parts: each part once in each of "
			    "2000 runs", threads[t], parts[k]);
		sq_pool_free(p);
	}
	ok(each_once(NULL, 4, 10), "no pool: the caller runs every part");
	test_idle_sleeps();
	return tap_done();
}
