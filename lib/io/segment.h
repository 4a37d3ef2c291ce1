/*
 * segment: SentencePiece segmentation of batches of lines on a thread
 * pool, for tokenize.  The lines of a batch are cut into contiguous
 * shares, one per thread; each thread has its own SentencePiece handle
 * (copied from the first when it first has lines: a copy rebuilds the
 * model, which a one-line input should not wait for) and its own output
 * buffers, and the results are handed out share by share, so they come
 * in line order whatever the number of threads.  A line that fails stops
 * the results at that line, as if the lines were done one by one.
 *
 * Sampling reseeds SentencePiece's generator for every line with a seed
 * derived from the seed and the line's key, so a line's sample does not
 * depend on what came before it.
 */
#ifndef SQ_SEGMENT_H
#define SQ_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

struct sq_pool;
struct sq_spm;

struct sq_segment_opts {
	int pieces;		/* pieces as text, not ids */
	int nbest;		/* 1: the best only */
	int sample;		/* sample with alpha from nbest_size */
	float alpha;
	int nbest_size;
	uint32_t seed;
};

/* One result: the ids, or with pieces the text, of line key. */
struct sq_segment_item {
	uint64_t key;
	uint32_t rank;		/* in an n-best group */
	float score;		/* NAN but for n-best */
	int32_t *ids;		/* (n), borrowed; NULL with pieces */
	const char *text;	/* (n) bytes, no newline, NULL but pieces */
	size_t n;
};

struct sq_segment;

/*
 * A segmenter over pool (borrowed) with options o (copied); spm, with its
 * options set, becomes the first thread's handle and is freed by
 * sq_segment_free().
 */
struct sq_segment *sq_segment_new(struct sq_spm *spm, struct sq_pool *pool,
    const struct sq_segment_opts *o);

/* Appends a line of len bytes (without its newline) to the batch. */
void sq_segment_add(struct sq_segment *s, const char *line, size_t len);

/* The batch's lines, and its bytes of text. */
size_t sq_segment_lines(const struct sq_segment *s);
size_t sq_segment_bytes(const struct sq_segment *s);

/*
 * Segments the batch, its first line having key key.  Returns 0, or -1
 * with sq_errstr() set if a handle could not be copied.
 */
int sq_segment_run(struct sq_segment *s, uint64_t key);

/*
 * The next result of the batch run, in order: 1 and *it set (pointers
 * valid until the next sq_segment_run()), 0 at the end of the batch
 * (which is then empty), or -1 with sq_errstr() set and *line the index
 * in the batch of the line that failed.
 */
int sq_segment_next(struct sq_segment *s, struct sq_segment_item *it,
    size_t *line);

void sq_segment_free(struct sq_segment *s);

#endif
