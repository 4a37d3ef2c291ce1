/*
 * spm: the C face of libsentencepiece (the only C++ in the tree, spm.cc).
 *
 * One struct sq_spm holds a loaded SentencePiece model and the scratch
 * buffers of its last call, so the per-line functions allocate nothing
 * once the buffers have grown to the longest line: every pointer they
 * return is borrowed and valid until the next call on the same handle.  A
 * handle is not shared between threads; each thread opens its own.
 *
 * The work is SentencePiece's own (SentencePieceProcessor): the results are
 * those of spm_encode/spm_decode on the same model, byte for byte.  No C++
 * exception crosses into C: every function returns 0 (or a handle) on
 * success and -1 (or NULL) with sq_errstr() set on failure.
 */
#ifndef SQ_SPM_H
#define SQ_SPM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sq_spm;
struct sq_model;

/* One candidate of an n-best or sampled encoding (borrowed). */
struct sq_spm_cand {
	const int32_t *ids;	/* (n_ids) */
	size_t n_ids;
	float score;		/* the model's log-probability of it */
};

/*
 * Loads the .model file at path.  NULL with sq_errstr() "PATH: what" on
 * failure.  Caller frees with sq_spm_free().
 */
struct sq_spm *sq_spm_open(const char *path);
/*
 * Loads a serialized ModelProto (the bytes of a .model file, e.g. the
 * spm.source tensor of a model file); the bytes are copied.  NULL with
 * sq_errstr() on failure.  Caller frees with sq_spm_free().
 */
struct sq_spm *sq_spm_new(const void *data, size_t len);
/*
 * Loads the SentencePiece model a seqpipe model file embeds (model.h):
 * spm.target if target, else spm.source (one and the same with a shared
 * vocabulary), and copies the model file's id into id (id_size bytes).
 * When the file numbers the pieces its own way (vocab.target, or
 * vocab.source), every id this handle gives and takes is the model's.
 * NULL with sq_errstr() "PATH: what" on failure, a file without that
 * tensor included.  Caller frees with sq_spm_free().
 */
struct sq_spm *sq_spm_open_model(const char *path, int target, char *id,
    size_t id_size);
/*
 * The same from a model sq_model_open() opened (m->path names it in
 * messages);
 * the handle copies what it needs and outlives m.  NULL with sq_errstr()
 * set on failure.  Caller frees with sq_spm_free().
 */
struct sq_spm *sq_spm_model(const struct sq_model *m, int target);
/*
 * Whether the model file wants EOS at the end of every source (imported
 * Marian models do): tokenize then appends it as --eos would.
 */
int sq_spm_model_eos(const struct sq_spm *s);

/*
 * Another handle on the same model (id and options included), for another
 * thread.  NULL with sq_errstr() on failure.  Caller frees it.
 */
struct sq_spm *sq_spm_dup(const struct sq_spm *s);
void sq_spm_free(struct sq_spm *s);

/*
 * The model's identity for stream headers: "spm-" and the CRC-32 (zlib)
 * of the serialized model in 8 lowercase hex digits, so a .model file and
 * the same model embedded in a model file have one id.  Borrowed.
 */
const char *sq_spm_model_id(const struct sq_spm *s);

/*
 * SentencePiece's extra options, ':'-separated from "bos", "eos",
 * "reverse" (and "unk" for decoding), for encoding and decoding; NULL or
 * "" means none.  0 or -1.
 */
int sq_spm_set_options(struct sq_spm *s, const char *encode,
    const char *decode);

/* Vocabulary size V: valid ids are 0..V-1. */
int sq_spm_size(const struct sq_spm *s);
/* The piece of id (borrowed, valid while s is), or NULL if out of range. */
const char *sq_spm_piece(const struct sq_spm *s, int id);
/* The id of piece, or the unknown id if the model has no such piece. */
int sq_spm_id(const struct sq_spm *s, const char *piece);
/* Special ids; -1 if the model has none. */
int sq_spm_bos(const struct sq_spm *s);
int sq_spm_eos(const struct sq_spm *s);
int sq_spm_unk(const struct sq_spm *s);
int sq_spm_pad(const struct sq_spm *s);

/*
 * Encodes text[0..len) (one line, no newline; any bytes) to *ids
 * (n_ids), as spm_encode --output_format=id does.  0 or -1.
 */
int sq_spm_encode(struct sq_spm *s, const char *text, size_t len,
    const int32_t **ids, size_t *n_ids);
/*
 * Encodes to pieces joined by single spaces, without a newline: the line
 * spm_encode --output_format=piece prints.  *out (out_len bytes, NUL
 * terminated) is borrowed.  0 or -1.
 */
int sq_spm_encode_pieces(struct sq_spm *s, const char *text, size_t len,
    const char **out, size_t *out_len);
/*
 * The n best segmentations, best first, as spm_encode
 * --output_format=nbest_id --nbest_size=n gives them (unigram models
 * only): 1 <= n_cands <= n; an empty line has one empty candidate of
 * score 0.  *cands is borrowed.  0 or -1.
 */
int sq_spm_nbest(struct sq_spm *s, const char *text, size_t len, int n,
    const struct sq_spm_cand **cands, size_t *n_cands);
/*
 * One sampled segmentation (subword regularization; BPE-dropout for BPE
 * models) with SentencePiece's nbest_size and alpha, its random
 * generator (the calling thread's) seeded with seed first, so the result
 * depends only on (text, nbest_size, alpha, seed): the same as spm_encode
 * --output_format=sample_id --random_seed=seed on that one line.
 * 0 or -1.
 */
int sq_spm_sample(struct sq_spm *s, const char *text, size_t len,
    int nbest_size, float alpha, uint32_t seed, const int32_t **ids,
    size_t *n_ids);

/*
 * Decodes ids (n_ids) to text, as spm_decode --input_format=id does.  An
 * id outside 0..V-1 is an error naming it.  *out (out_len bytes, NUL
 * terminated) is borrowed.  0 or -1.
 */
int sq_spm_decode(struct sq_spm *s, const int32_t *ids, size_t n_ids,
    const char **out, size_t *out_len);

/*
 * Trains a model: options as spm_train's command line without the
 * leading "--" being required ("--model_type=unigram --vocab_size=8000
 * ..."), with --input=FILE or, if next is not NULL, the sentences next()
 * returns (one per call, NULL at the end; *len set to the bytes).  Writes
 * PREFIX.model/.vocab when options say --model_prefix and model is NULL;
 * else returns the serialized model in *model (model_len bytes; caller
 * frees with free()).  quiet silences SentencePiece's log on stderr.
 * 0 or -1.
 */
typedef const char *sq_spm_next_fn(void *ctx, size_t *len);
int sq_spm_train(const char *options, sq_spm_next_fn *next, void *ctx,
    int quiet, char **model, size_t *model_len);

#ifdef __cplusplus
}
#endif

#endif
