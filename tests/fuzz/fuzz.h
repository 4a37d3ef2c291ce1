/*
 * fuzz.h: what the libFuzzer harnesses in tests/fuzz share (make fuzz
 * builds them with clang -fsanitize=fuzzer,address,undefined).
 *
 * Readers that take a path get the input as a file: a memfd, opened by
 * its /proc/self/fd name, so each run costs no disk and the reader sees
 * a regular file it can stat, read and mmap.  Every harness must return
 * with everything freed: libFuzzer counts a leak as a crash.
 */
#ifndef SQ_FUZZ_H
#define SQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The path of a file that holds exactly data[0..size); slot picks one of
 * a few files (a harness that needs two inputs at once).  The file is
 * rewritten by the next call with the same slot.
 */
static const char *
fz_file(int slot, const uint8_t *data, size_t size)
{
	static int fd[4] = {-1, -1, -1, -1};
	static char path[4][64];

	if (fd[slot] < 0) {
		if ((fd[slot] = memfd_create("fuzz", 0)) < 0) {
			perror("memfd_create");
			abort();
		}
		snprintf(path[slot], sizeof(path[slot]), "/proc/self/fd/%d",
		    fd[slot]);
	}
	if (ftruncate(fd[slot], 0) < 0 ||
	    pwrite(fd[slot], data, size, 0) != (ssize_t)size) {
		perror("fuzz input file");
		abort();
	}
	return path[slot];
}

/* /dev/null for writers, opened once. */
static FILE *
fz_null(void)
{
	static FILE *f;

	if (f == NULL && (f = fopen("/dev/null", "w")) == NULL) {
		perror("/dev/null");
		abort();
	}
	return f;
}

/* Reads n bytes at p so that ASan checks them; the sum defeats the optimizer. */
static volatile unsigned fz_sink;

static void
fz_touch(const void *p, size_t n)
{
	const unsigned char *c = p;
	unsigned s = 0;

	for (size_t i = 0; i < n; i++)
		s += c[i];
	fz_sink += s;
}

#endif
