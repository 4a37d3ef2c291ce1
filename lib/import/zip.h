/*
 * zip: a read-only ZIP archive reader over zlib, for OPUS-MT release zips
 * and the .npz files inside them (shared/marian-format.md §5.1).
 *
 * The central directory is the truth: the End-Of-Central-Directory record
 * is found by scanning back over a comment of up to 64 KiB, then each
 * central entry gives the name, method, sizes, CRC-32 and the offset of
 * the local header (ZIP64 extra fields, id 0x0001, where a 32-bit field
 * holds 0xFFFFFFFF, and the ZIP64 end records where the 16/32-bit counts
 * overflow).  A member's data starts after its local header, whose own
 * name and extra lengths are read (they may differ from the central
 * ones).  Data descriptors (flag bit 3) need no reading: the central
 * directory has the sizes.  Methods: 0 (stored) and 8 (raw deflate);
 * every member read is checked against its CRC-32.  Encrypted members
 * and other methods are refused.
 */
#ifndef SQ_ZIP_H
#define SQ_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct sq_zip_entry {
	char *name;		/* as stored, NUL-terminated */
	int method;		/* 0 stored, 8 deflated */
	uint64_t csize;		/* compressed bytes */
	uint64_t usize;		/* uncompressed bytes */
	uint64_t lho;		/* offset of the local header */
	uint32_t crc;
};

struct sq_zip {
	char *where;		/* the name in messages */
	const uint8_t *data;	/* (len) the archive */
	size_t len;
	void *map;		/* mmap'ed file, or NULL (borrowed memory) */
	int n;
	struct sq_zip_entry *e;	/* (n) */
};

/*
 * Maps the file at path and reads its central directory.  NULL with
 * sq_errstr() "PATH: what" on failure (a truncated file: "truncated zip
 * ...").  Caller frees with sq_zip_close().
 */
struct sq_zip *sq_zip_open(const char *path);

/*
 * The same over len bytes at data, borrowed: they must outlive the
 * handle.  where names it in messages.
 */
struct sq_zip *sq_zip_open_mem(const void *data, size_t len,
    const char *where);

void sq_zip_close(struct sq_zip *z);

/* The index of the member called name, or -1. */
int sq_zip_find(const struct sq_zip *z, const char *name);

/*
 * Member i's bytes, CRC-checked, and their count in *len.  A stored member
 * is a view into the archive (*owned = NULL); a deflated one is inflated
 * into memory that *owned points to as well, for the caller to free().
 * NULL with sq_errstr() "WHERE: member NAME: what" on failure.
 */
const void *sq_zip_get(struct sq_zip *z, int i, size_t *len, void **owned);

/* zlib's CRC-32 of n bytes at p, for any n (zlib takes 32-bit lengths). */
uint32_t sq_crc32(const void *p, size_t n);

#endif
