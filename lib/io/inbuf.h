/*
 * inbuf: an input descriptor read with read(2) into one growing buffer,
 * for the readers that parse in place (stream records, text lines), and
 * the question streaming asks of them: is more input there now, or would
 * a read wait?  The stream reader (lib/io/stream) and tokenize's line
 * reader share it.
 *
 * The descriptor is never made non-blocking (it may be shared with other
 * processes): sq_inbuf_poll() asks poll(2) with a zero timeout and reads
 * only when it says there is something, which a pipe, a terminal or a
 * socket then gives without waiting; a regular file always has something
 * (data or its end), so on a file nothing ever looks idle.
 */
#ifndef SQ_INBUF_H
#define SQ_INBUF_H

#include <stddef.h>

struct sq_inbuf {
	int fd;			/* read, never closed here */
	unsigned char *buf;	/* (cap) [pos, end) read and not yet used */
	size_t cap, pos, end;
	int eof;		/* read(2) returned 0 */
};

/*
 * Waits until at least need bytes are at buf[pos], or all that is left
 * before the end.  Returns the bytes available (end - pos), or -1 on a
 * read error (errno set).  The buffer grows only as data arrives, so a
 * corrupt length cannot make it allocate more than the input holds.
 */
long long sq_inbuf_fill(struct sq_inbuf *b, size_t need);

/*
 * Without waiting: one read of what the descriptor has now, with room
 * for need bytes at buf[pos].  Returns 1 if bytes or the end came, 0 if
 * nothing is there yet, -1 on an error of poll(2) or read(2) (errno set).
 */
int sq_inbuf_poll(struct sq_inbuf *b, size_t need);

/*
 * The next line, waiting for it: its bytes before '\n' (or before the end,
 * for a last line without one).  Returns 1 with *line (in the buffer,
 * valid until the next call) and *len, the line and its newline used up;
 * 0 at the end; -1 on a read error (errno set); -2 if the line runs
 * over max bytes (nothing used up).
 */
int sq_inbuf_line(struct sq_inbuf *b, size_t max, char **line, size_t *len);

/*
 * 1 if sq_inbuf_line() would return without waiting: a whole line is
 * buffered or can be read now, or the input is at its end (or fails:
 * the error comes from sq_inbuf_line()); 0 if the writer has not sent
 * the rest of the line yet.
 */
int sq_inbuf_line_ready(struct sq_inbuf *b);

/* Frees the buffer (not the descriptor); b may be reused after. */
void sq_inbuf_free(struct sq_inbuf *b);

#endif
