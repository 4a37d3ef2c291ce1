/*
 * corpus: a tokenized parallel corpus in memory, for train, and the
 * SentencePiece models trained on it.
 *
 * Input is two files of the same number of lines (line i of one is the
 * translation of line i of the other) or one TSV file (source TAB target
 * on each line).  A line is the bytes before '\n', read as tokenize and
 * spm_encode read them: a '\r' before the newline stays in the text and
 * the model's normalizer decides (the default nmt_nfkc turns it into a
 * space and drops it), so a pair's ids are those tokenize gives at
 * translation time, and CRLF and LF files give the same ids.  A last line
 * without a newline is a line.
 *
 * Each side becomes its SentencePiece ids, without BOS or EOS (what
 * tokenize writes by default, what spm_encode --output_format=id prints),
 * in the model's numbering and with EOS after the source where the
 * handle says so (one of sq_spm_model(): an imported Marian model's);
 * bytes that are not UTF-8 become U+FFFD inside SentencePiece, as in
 * spm_encode, and such lines are counted, not refused.  A pair with a side
 * that is blank (only ASCII white space, '\r' included) or that has no ids
 * is skipped and counted.  A pair too long for the model (more than
 * max_len source ids, or more than max_len - 1 target ids: the target
 * gets EOS) is dropped by default, or cut to fit; either way counted.
 *
 * A corpus of frames (a model with input frames) pairs the records of a
 * frames stream (lib/io/stream.h; seqcat --frames makes one) with the
 * lines of a target file: record key i goes with line i + 1, in that
 * order.  Its sources are the frames (positions: frames / subsample,
 * rounded up), and every frame must have the width of the first and
 * finite values.  A pair with no frames or a blank target is skipped
 * and counted, as is one too long (more than max_len * subsample frames)
 * or cut.
 *
 * All ids live in one int32 array, each pair's two sides back to back,
 * with one array of offsets: no allocation per sentence.  A corpus of P
 * pairs and N ids takes 4N + 24P bytes (and its frames 4 bytes a value).
 */
#ifndef SQ_TRAIN_CORPUS_H
#define SQ_TRAIN_CORPUS_H

#include <stddef.h>
#include <stdint.h>

struct sq_spm;

#define SQ_TOO_LONG_DROP	0	/* the default */
#define SQ_TOO_LONG_TRUNCATE	1

struct sq_corpus_opts {
	const char *src_path, *tgt_path;
	const char *tsv_path;	/* instead of the two: source TAB target */
	int max_len;		/* positions (0: any); see above */
	int too_long;		/* SQ_TOO_LONG_DROP or SQ_TOO_LONG_TRUNCATE */
	int threads;		/* for SentencePiece; < 1 counts as 1 */
	const char *src_frames;	/* instead of src_path: a frames stream */
	int subsample;		/* with src_frames: frames per position */
};

/*
 * What sq_corpus_read() met, for one warning line per kind.  A pair is
 * one input line number (of both files, or of the TSV); first_* is the
 * 1-based line of the first pair of that kind, 0 if none.
 */
struct sq_corpus_stats {
	long lines;		/* input lines (pairs) read */
	long pairs;		/* kept: sq_corpus_size() */
	long empty;		/* skipped: a side blank or without ids */
	long bad_utf8;		/* pairs not empty with a side not UTF-8 */
	long too_long;		/* dropped, or truncated, per opts */
	long src_tokens, tgt_tokens;	/* ids kept, without EOS */
	long first_empty, first_bad_utf8, first_too_long;
};

struct sq_corpus;

/*
 * Reads and tokenizes the pairs of o's files with src_spm and tgt_spm
 * (borrowed, unchanged; they may be one handle), on o->threads threads.
 * Fills *st if st is not NULL.  Returns the corpus, or NULL with
 * sq_errstr() a line naming the file, and the line where there is one:
 * "FILE: No such file or directory", "FILE: empty file", "A has 100
 * lines, B 99", "FILE: line 7: 2 tabs, not one (source TAB target)",
 * "FILE: no pairs (3 lines: 2 with an empty side, 1 too long)".  Caller
 * frees with sq_corpus_free().
 */
struct sq_corpus *sq_corpus_read(const struct sq_corpus_opts *o,
    struct sq_spm *src_spm, struct sq_spm *tgt_spm,
    struct sq_corpus_stats *st);
void sq_corpus_free(struct sq_corpus *c);

/* The number of pairs P; pairs are 0..P-1 in input order. */
long sq_corpus_size(const struct sq_corpus *c);
/*
 * The source (target) ids of pair i, *len of them (>= 1), borrowed while
 * c lives.  The target has no EOS.  i must be in 0..P-1.  A corpus of
 * frames has no source ids (*len 0).
 */
const int32_t *sq_corpus_src(const struct sq_corpus *c, long i, int *len);
const int32_t *sq_corpus_tgt(const struct sq_corpus *c, long i, int *len);
/* A corpus of frames: the values per frame (0 for a corpus of ids). */
int sq_corpus_frame_dim(const struct sq_corpus *c);
/* The encoder positions of pair i's source: its ids, or its frames'. */
int sq_corpus_src_positions(const struct sq_corpus *c, long i);
/*
 * Pair i as the training graph reads it (train/graph.h's sq_pairs): its
 * source ids, or frames (*frames NULL for a corpus of ids), *src_len of
 * them, and its target ids, *tgt_len of them.  Borrowed while c lives.
 */
void sq_corpus_pair(const struct sq_corpus *c, long i, const int32_t **src,
    const float **frames, int *src_len, const int32_t **tgt, int *tgt_len);
/* The 1-based input line of pair i, for messages. */
long sq_corpus_line(const struct sq_corpus *c, long i);

/* How to train a SentencePiece model; zero fields take the defaults. */
struct sq_vocab_opts {
	int vocab_size;		/* 0: 8000 */
	const char *model_type;	/* "unigram" (NULL) or "bpe" */
	double character_coverage;	/* 0: 1.0 (0.9995 is usual for CJK) */
	long sample;		/* at most this many sentences; 0: 1000000 */
	uint64_t seed;		/* picks the sample */
	int threads;		/* SentencePiece's trainer; 0: 1 */
	int verbose;		/* SentencePiece's log on stderr */
};

/*
 * Trains a SentencePiece model on the source side (which 0), the target
 * side (1) or both (2, a shared vocabulary) of the pairs in src_path and
 * tgt_path, or tsv_path if not NULL, skipping pairs with a blank side as
 * sq_corpus_read() does.  Ids: pad 0, bos 1, eos 2, unk 3; byte fallback
 * on.  When there are more sentences than o->sample, a sample of that
 * many, drawn by o->seed, trains it (in two passes over the files,
 * nothing kept in memory but what SentencePiece keeps).  The same files
 * and options give the same model bytes on any machine (BPE whatever
 * o->threads; unigram sums in a fixed order per thread count).  Stores
 * the serialized model in *model (*len bytes; caller frees with free()).
 * 0, or -1 with sq_errstr() set as for sq_corpus_read().
 */
int sq_corpus_train_spm(const char *src_path, const char *tgt_path,
    const char *tsv_path, int which, const struct sq_vocab_opts *o,
    char **model, size_t *len);

#endif
