/*
 * tap: the TAP output every C unit test prints ("ok N - what" or "not ok
 * N - what", then "1..N"), for tests/run.sh.  Include it once per test
 * program; main ends with  return tap_done();
 */
#ifndef SQ_TAP_H
#define SQ_TAP_H

#include <stdarg.h>
#include <stdio.h>

#include "util.h"

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

/* Prints the plan; the exit status: 1 if any test failed. */
static int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif
