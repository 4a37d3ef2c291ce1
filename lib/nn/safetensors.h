/*
 * safetensors: the container of a safetensors file, read-only and mapped
 * (huggingface/safetensors, "Format"): a uint64 little-endian header length
 * N, N bytes of JSON mapping each tensor name to {"dtype", "shape",
 * "data_offsets": [begin, end)} (offsets into the data area that follows)
 * and "__metadata__" to a string map.
 *
 * What is checked here is the container only, arithmetic on the header:
 * its length inside the file, the JSON an object, every entry with a
 * known dtype, a shape whose size fits, offsets inside the data area whose
 * span is the shape's bytes, no two tensors overlapping, F32 and I32 data
 * 4-aligned and F16 2-aligned in the file (so it may be read in place).
 * What the tensors mean is the caller's: the seqpipe model file
 * (nn/model.c) and the Hugging Face importer (import/hf.c) read their own
 * names from here.  The data is never touched.
 */
#ifndef SQ_SAFETENSORS_H
#define SQ_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define SQ_ST_MAX_DIMS 8

/* The safetensors dtypes, in this order (sq_st_dtype_name()). */
enum sq_st_dtype {
	SQ_ST_F32, SQ_ST_U8, SQ_ST_F64, SQ_ST_F16, SQ_ST_BF16, SQ_ST_I64,
	SQ_ST_I32, SQ_ST_I16, SQ_ST_I8, SQ_ST_U64, SQ_ST_U32, SQ_ST_U16,
	SQ_ST_BOOL, SQ_ST_F8_E4M3, SQ_ST_F8_E5M2
};

struct sq_st_tensor {
	const char *name;	/* borrowed from the JSON */
	int dtype;		/* enum sq_st_dtype */
	int n_dims;
	int64_t dims[SQ_ST_MAX_DIMS];
	uint64_t begin, end;	/* [begin, end) in the data area */
	const void *data;	/* into the map */
	int used;		/* free for the caller (0 after reading) */
};

struct sq_st {
	char *path;			/* as opened, owned */
	void *map;			/* the whole file, mmap'ed */
	size_t map_len;
	void *json;			/* the parsed header (json_t), owned */
	const unsigned char *data;	/* the data area */
	uint64_t data_len;
	struct sq_st_tensor *t;		/* (n_t) sorted by name, owned */
	size_t n_t;
};

/*
 * Maps the file at path and parses its header: a regular file of at least
 * 8 bytes, a header length inside it, JSON that is an object.  Entries
 * are not read yet (sq_st_read_tensors()).  Returns the file, or NULL
 * with sq_errstr() set to "PATH: what".  Caller frees with sq_st_close().
 */
struct sq_st *sq_st_open(const char *path);
void sq_st_close(struct sq_st *st);

/*
 * Reads and checks every entry but "__metadata__" into st->t (sorted by
 * name).  Returns 0, or -1 with sq_errstr() set to "PATH: what (tensor
 * NAME)".
 */
int sq_st_read_tensors(struct sq_st *st);

/* The tensor called name, or NULL. */
struct sq_st_tensor *sq_st_find(const struct sq_st *st, const char *name);

/* "F32", "F16", ... */
const char *sq_st_dtype_name(int dtype);

/* The "__metadata__" string of key, or NULL (borrowed). */
const char *sq_st_meta(const struct sq_st *st, const char *key);

/*
 * Reads only the header of the file at path (pread, no map), for a
 * reader that wants a metadata value without the weights: the parsed
 * JSON object (a json_t), or NULL with sq_errstr() set.  Caller frees it
 * with json_decref().
 */
void *sq_st_peek(const char *path);

#endif
