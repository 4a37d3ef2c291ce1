/*
 * npy: NumPy's .npy arrays and .npz archives of them, read-only
 * (numpy/lib/format.py; shared/marian-format.md §5.2).
 *
 * An .npy is the magic "\x93NUMPY", a version byte pair (1.0, 2.0 or
 * 3.0), the header length (u16 little-endian in 1.0, u32 after), a
 * Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}
 * padded with spaces and ended by '\n', then the data, row-major.  Keys
 * may come in any order.  Accepted: little-endian or byte-order-free
 * descr of kind f (2, 4, 8 bytes), i and u (1, 2, 4, 8) and b1; refused
 * with a message: big-endian data ('>'), fortran_order True, anything
 * else.  This reader assumes a little-endian host, as the rest of
 * seqpipe does.
 *
 * An .npz is a zip of NAME.npy members; Marian's items are named without
 * the suffix (cnpy strips it), and "special:model.yml" is the model's
 * config as int8 text ending in NUL.
 */
#ifndef SQ_NPY_H
#define SQ_NPY_H

#include <stddef.h>

struct sq_zip;

#define SQ_NPY_MAX_DIMS 8

struct sq_npy {
	char kind;		/* 'f', 'i', 'u' or 'b' */
	int size;		/* bytes per element */
	int n_dims;
	long dims[SQ_NPY_MAX_DIMS];
	long numel;		/* product of dims, 1 for () */
	const void *data;	/* (numel * size) borrowed */
};

/*
 * Parses the .npy of len bytes at buf into *a (a->data points into buf).
 * Returns 0, or -1 with sq_errstr() "WHERE: what".
 */
int sq_npy_parse(struct sq_npy *a, const void *buf, size_t len,
    const char *where);

/*
 * The elements of a as float32 into out (a->numel floats): kinds f2, f4
 * and f8 (rounded to nearest).
 */
int sq_npy_floats(float *out, const struct sq_npy *a, const char *where);

/* An .npz: its members by name without ".npy". */
struct sq_npz {
	struct sq_zip *zip;
	char *where;
	void **owned;		/* (zip->n) inflated members, or NULL */
};

/*
 * Opens the .npz file at path, or (data non-NULL) the len bytes at data,
 * borrowed, named where in messages.  NULL with sq_errstr() set.
 * Caller frees with sq_npz_close().
 */
struct sq_npz *sq_npz_open(const char *path, const void *data, size_t len,
    const char *where);
void sq_npz_close(struct sq_npz *z);

/* The number of items and item i's name (without ".npy"), borrowed. */
int sq_npz_count(const struct sq_npz *z);
const char *sq_npz_name(const struct sq_npz *z, int i, char *buf,
    size_t size);

/*
 * Item name (without ".npy") parsed into *a, its data valid until
 * sq_npz_close().  Returns 1, 0 if there is no such item, -1 with
 * sq_errstr() set on a bad item.
 */
int sq_npz_get(struct sq_npz *z, const char *name, struct sq_npy *a);

#endif
