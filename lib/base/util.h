/*
 * util: the small things every program and module needs.
 *
 * Diagnostics follow sbase's eprintf: "progname: message", and a format
 * ending in ':' gets strerror(errno) appended.  Only bin/ calls the dying
 * functions; lib/ modules report failure by return value and leave the
 * message in sq_errstr() (one per thread).
 *
 * The allocators abort on out-of-memory (sbase emalloc, llm.c mallocCheck):
 * no caller has a better answer to an exhausted machine.
 */
#ifndef SQ_UTIL_H
#define SQ_UTIL_H

#include <stddef.h>
#include <stdio.h>

#define SQ_UNUSED(x) ((void)(x))
#define SQ_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SQ_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Programmer errors only, never bad input: prints file:line and aborts. */
#define SQ_ASSERT(x) \
	do { if (!(x)) sq_assert_fail(#x, __FILE__, __LINE__); } while (0)

void sq_assert_fail(const char *expr, const char *file, int line);

/* Sets the name that prefixes every diagnostic (the basename of argv0). */
void sq_setprogname(const char *argv0);
const char *sq_progname(void);

/* "progname: fmt\n" on stderr, then exit(1). */
void sq_die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* "progname: fmt\n" on stderr. */
void sq_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Library error message: modules set it before returning failure. */
void sq_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *sq_errstr(void);

void *sq_malloc(size_t n);
void *sq_calloc(size_t n, size_t size);
void *sq_realloc(void *p, size_t n);
/* n * size, aborting on overflow as on out-of-memory. */
void *sq_reallocarray(void *p, size_t n, size_t size);
char *sq_strdup(const char *s);

/*
 * Maps the whole pages inside [p, p + n) now, in one call, instead of a
 * page fault at a time when they are first touched (faults are slow in
 * virtual machines; a large buffer about to be written, or the part of
 * a mapped file about to be read).  write: for memory to be written.
 * Before Linux 5.14 the kernel refuses, and the faults happen as before.
 */
void sq_populate(const void *p, size_t n, int write);

/*
 * The whole regular file at path into *buf (NUL-terminated, *len bytes
 * before the NUL; caller frees).  0, or -1 with sq_errstr() "PATH: what".
 */
int sq_read_file(const char *path, char **buf, size_t *len);

/* Seconds on the monotonic clock, for rates and progress. */
double sq_now(void);

/*
 * Flushes and closes f; on a write error warns "name: ..." and returns 1,
 * else 0.  Programs end with  return sq_fshut(stdout, "<stdout>");
 */
int sq_fshut(FILE *f, const char *name);

/*
 * Dies "progname: name: write error: why" if a write to f has failed.
 * Call it right after the writes, while errno still says why: a long run
 * then stops at its first failed write, not at its end (stdio drops
 * what it could not write, so nothing later could make up for it).
 */
void sq_check_write(FILE *f, const char *name);

/* Opens an input operand: NULL or "-" is stdin.  NULL on failure (errno). */
FILE *sq_fopen_input(const char *path);
/* The name to print for an input operand: "<stdin>" for NULL or "-". */
const char *sq_input_name(const char *path);

/* Online cores, at least 1. */
int sq_ncores(void);

#endif
