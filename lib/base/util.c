/*
 * util: diagnostics, aborting allocators and stdio helpers shared by all
 * programs.  See util.h for the conventions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/mman.h>

#include "base/util.h"

static const char *progname = "seqpipe";
static _Thread_local char errbuf[512];

void
sq_assert_fail(const char *expr, const char *file, int line)
{
	fprintf(stderr, "%s: %s:%d: assertion failed: %s\n", progname, file,
	    line, expr);
	abort();
}

void
sq_setprogname(const char *argv0)
{
	const char *slash = strrchr(argv0, '/');

	progname = slash ? slash + 1 : argv0;
}

const char *
sq_progname(void)
{
	return progname;
}

static void
vwarn(const char *fmt, va_list ap)
{
	int saved = errno;

	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

void
sq_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(1);
}

void
sq_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void
sq_seterr(const char *fmt, ...)
{
	char buf[sizeof(errbuf)];	/* so a message may quote sq_errstr() */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(errbuf, buf, sizeof(buf));
}

const char *
sq_errstr(void)
{
	return errbuf;
}

static void *
check_alloc(void *p, size_t n)
{
	if (!p && n)
		sq_die("out of memory (%zu bytes)", n);
	return p;
}

void
sq_populate(const void *p, size_t n, int write)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);

	if (hi > lo)
		madvise((void *)lo, hi - lo, write ? MADV_POPULATE_WRITE :
		    MADV_POPULATE_READ);
}

void *
sq_malloc(size_t n)
{
	return check_alloc(malloc(n ? n : 1), n ? n : 1);
}

void *
sq_calloc(size_t n, size_t size)
{
	n = n ? n : 1;
	size = size ? size : 1;
	if (n > SIZE_MAX / size)
		sq_die("out of memory (%zu x %zu bytes)", n, size);
	return check_alloc(calloc(n, size), n * size);
}

void *
sq_realloc(void *p, size_t n)
{
	return check_alloc(realloc(p, n ? n : 1), n ? n : 1);
}

void *
sq_reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		sq_die("out of memory (%zu x %zu bytes)", n, size);
	return sq_realloc(p, n * size);
}

char *
sq_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(sq_malloc(n), s, n);
}

int
sq_fshut(FILE *f, const char *name)
{
	int ret = 0;

	/* fflush+ferror catch the write error even on a stream stdio buffered */
	if (fflush(f) == EOF || ferror(f)) {
		sq_warn("%s: write error:", name);
		ret = 1;
	}
	if (f != stdin && fclose(f) == EOF && !ret) {
		sq_warn("%s: close:", name);
		ret = 1;
	}
	return ret;
}

void
sq_check_write(FILE *f, const char *name)
{
	if (ferror(f))
		sq_die("%s: write error:", name);
}

FILE *
sq_fopen_input(const char *path)
{
	if (!path || strcmp(path, "-") == 0)
		return stdin;
	return fopen(path, "rb");
}

const char *
sq_input_name(const char *path)
{
	return (!path || strcmp(path, "-") == 0) ? "<stdin>" : path;
}

int
sq_ncores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

double
sq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int
sq_read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	*buf = sq_malloc((size_t)n + 1);
	if (fread(*buf, 1, (size_t)n, f) != (size_t)n) {
		sq_seterr("%s: read error", path);
		fclose(f);
		free(*buf);
		*buf = NULL;
		return -1;
	}
	fclose(f);
	(*buf)[n] = '\0';
	*len = (size_t)n;
	return 0;
}
