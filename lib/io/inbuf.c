/*
 * inbuf: a descriptor read into one growing buffer (see inbuf.h).
 *
 * Workload: tokens and memory streams and text lines, from files (1 MiB
 * reads) and pipes (what the writer has given so far).  Used bytes are
 * moved to the front only when the room behind the data runs short, so
 * a record or line being parsed in place stays put until its reader
 * asks for more.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/inbuf.h"
#include "base/util.h"

/*
 * The first buffer and read size.  The fuzz build (Makefile.in) makes it
 * tiny, so that short inputs run the refills, the compaction and the
 * growth, and a run costs no 1 MiB allocation.
 */
#ifndef SQ_STREAM_BUF_MIN
#define SQ_STREAM_BUF_MIN (1u << 20)
#endif
#define BUF_MIN SQ_STREAM_BUF_MIN

/* Makes room for need bytes at buf[pos], then reads once: 0 or -1. */
static int
read_once(struct sq_inbuf *b, size_t need)
{
	ssize_t n;

	if (b->pos > 0 && (b->cap - b->pos < need ||
	    b->cap - b->end < BUF_MIN / 4)) {
		memmove(b->buf, b->buf + b->pos, b->end - b->pos);
		b->end -= b->pos;
		b->pos = 0;
	}
	if (b->end == b->cap) {
		b->cap = b->cap ? 2 * b->cap : BUF_MIN;
		b->buf = sq_realloc(b->buf, b->cap);
	}
	do
		n = read(b->fd, b->buf + b->end, b->cap - b->end);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0)
		b->eof = 1;
	b->end += (size_t)n;
	return 0;
}

long long
sq_inbuf_fill(struct sq_inbuf *b, size_t need)
{
	while (b->end - b->pos < need && !b->eof)
		if (read_once(b, need) < 0)
			return -1;
	return (long long)(b->end - b->pos);
}

int
sq_inbuf_poll(struct sq_inbuf *b, size_t need)
{
	struct pollfd p = { .fd = b->fd, .events = POLLIN };
	int n;

	if (b->eof)
		return 1;
	while ((n = poll(&p, 1, 0)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	/* POLLHUP and POLLERR too: the read says what they mean */
	return read_once(b, need) < 0 ? -1 : 1;
}

int
sq_inbuf_line(struct sq_inbuf *b, size_t max, char **line, size_t *len)
{
	size_t scan = 0, avail, n;
	unsigned char *nl;

	for (;;) {
		avail = b->end - b->pos;
		nl = avail > scan ? memchr(b->buf + b->pos + scan, '\n',
		    avail - scan) : NULL;
		if (nl != NULL || b->eof)
			break;
		if (avail > max)
			return -2;
		scan = avail;
		if (sq_inbuf_fill(b, avail + 1) < 0)
			return -1;
	}
	n = nl != NULL ? (size_t)(nl - (b->buf + b->pos)) : avail;
	if (n == 0 && nl == NULL)
		return 0;
	if (n > max)
		return -2;
	*line = (char *)b->buf + b->pos;
	*len = n;
	b->pos += n + (nl != NULL);
	return 1;
}

int
sq_inbuf_line_ready(struct sq_inbuf *b)
{
	size_t scan = 0;

	for (;;) {
		size_t avail = b->end - b->pos;

		if (b->eof || (avail > scan && memchr(b->buf + b->pos + scan,
		    '\n', avail - scan) != NULL))
			return 1;
		scan = avail;
		switch (sq_inbuf_poll(b, avail + 1)) {
		case 0: return 0;
		case -1: return 1;
		}
	}
}

void
sq_inbuf_free(struct sq_inbuf *b)
{
	free(b->buf);
	b->buf = NULL;
	b->cap = b->pos = b->end = 0;
}
