/*
 * zip: see zip.h.  Every offset and length read from the archive is
 * checked against its size before use: a truncated or corrupt archive is
 * an error message, never a read past the map.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "import/zip.h"
#include "base/util.h"

#define EOCD_SIG	0x06054b50u	/* PK\5\6 */
#define EOCD64_LOC_SIG	0x07064b50u	/* PK\6\7 */
#define EOCD64_SIG	0x06064b50u	/* PK\6\6 */
#define CENTRAL_SIG	0x02014b50u	/* PK\1\2 */
#define LOCAL_SIG	0x04034b50u	/* PK\3\4 */

static uint16_t
u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
u64(const uint8_t *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

/* Does [off, off + n) lie inside the archive? */
static int
inside(const struct sq_zip *z, uint64_t off, uint64_t n)
{
	return off <= z->len && n <= z->len - off;
}

/* The ZIP64 extra field (id 1) of a central entry: the 0xFFFFFFFF fields. */
static int
zip64_extra(struct sq_zip_entry *e, const uint8_t *x, size_t n,
    uint32_t usize32, uint32_t csize32, uint32_t lho32)
{
	while (n >= 4) {
		uint16_t id = u16(x), sz = u16(x + 2);
		const uint8_t *p = x + 4;
		size_t left = sz;

		if (sz > n - 4)
			return -1;
		if (id == 1) {
			if (usize32 == 0xFFFFFFFFu) {
				if (left < 8)
					return -1;
				e->usize = u64(p), p += 8, left -= 8;
			}
			if (csize32 == 0xFFFFFFFFu) {
				if (left < 8)
					return -1;
				e->csize = u64(p), p += 8, left -= 8;
			}
			if (lho32 == 0xFFFFFFFFu) {
				if (left < 8)
					return -1;
				e->lho = u64(p);
			}
			return 0;
		}
		x += 4 + sz, n -= 4 + sz;
	}
	return usize32 == 0xFFFFFFFFu || csize32 == 0xFFFFFFFFu ||
	    lho32 == 0xFFFFFFFFu ? -1 : 0;
}

static int
read_directory(struct sq_zip *z)
{
	const uint8_t *d = z->data, *eocd = NULL;
	uint64_t n_entries, cd_size, cd_off, pos;
	size_t back;
	int i;

	if (z->len < 22) {
		sq_seterr("%s: truncated zip (%zu bytes)", z->where, z->len);
		return -1;
	}
	/* the EOCD is 22 bytes plus a comment of at most 65535 */
	for (back = 22; back <= z->len && back <= 22 + 65535; back++) {
		const uint8_t *p = d + z->len - back;

		if (u32(p) == EOCD_SIG && (size_t)u16(p + 20) == back - 22) {
			eocd = p;
			break;
		}
	}
	if (eocd == NULL) {
		sq_seterr("%s: truncated zip, or not a zip (no end of central "
		    "directory record)", z->where);
		return -1;
	}
	n_entries = u16(eocd + 10);
	cd_size = u32(eocd + 12);
	cd_off = u32(eocd + 16);
	if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFFu ||
	    cd_off == 0xFFFFFFFFu) {
		const uint8_t *loc = eocd - 20, *e64;
		uint64_t off;

		if (eocd - d < 20 || u32(loc) != EOCD64_LOC_SIG ||
		    !inside(z, off = u64(loc + 8), 56) ||
		    u32(e64 = d + off) != EOCD64_SIG) {
			sq_seterr("%s: bad zip: no ZIP64 end of central "
			    "directory record", z->where);
			return -1;
		}
		n_entries = u64(e64 + 32);
		cd_size = u64(e64 + 40);
		cd_off = u64(e64 + 48);
	}
	if (!inside(z, cd_off, cd_size) || n_entries > cd_size / 46) {
		sq_seterr("%s: truncated zip (central directory at %llu, %llu "
		    "bytes, past the end)", z->where,
		    (unsigned long long)cd_off, (unsigned long long)cd_size);
		return -1;
	}
	z->e = sq_calloc(n_entries ? n_entries : 1, sizeof(*z->e));
	for (pos = cd_off, i = 0; i < (int)n_entries; i++) {
		struct sq_zip_entry *e = &z->e[i];
		const uint8_t *c = d + pos;
		uint32_t usize32, csize32, lho32;
		size_t nl, xl, cl;

		if (pos + 46 > cd_off + cd_size || u32(c) != CENTRAL_SIG) {
			sq_seterr("%s: bad zip: central directory entry %d",
			    z->where, i);
			return -1;
		}
		nl = u16(c + 28), xl = u16(c + 30), cl = u16(c + 32);
		if (pos + 46 + nl + xl + cl > cd_off + cd_size) {
			sq_seterr("%s: bad zip: central directory entry %d "
			    "runs past the directory", z->where, i);
			return -1;
		}
		e->name = sq_malloc(nl + 1);
		memcpy(e->name, c + 46, nl);
		e->name[nl] = '\0';
		z->n = i + 1;
		if (u16(c + 8) & 1) {
			sq_seterr("%s: member %s: encrypted", z->where,
			    e->name);
			return -1;
		}
		e->method = u16(c + 10);
		e->crc = u32(c + 16);
		e->csize = csize32 = u32(c + 20);
		e->usize = usize32 = u32(c + 24);
		e->lho = lho32 = u32(c + 42);
		if (zip64_extra(e, c + 46 + nl, xl, usize32, csize32,
		    lho32) < 0) {
			sq_seterr("%s: member %s: bad ZIP64 extra field",
			    z->where, e->name);
			return -1;
		}
		pos += 46 + nl + xl + cl;
	}
	return 0;
}

static struct sq_zip *
finish_open(struct sq_zip *z)
{
	if (read_directory(z) < 0) {
		sq_zip_close(z);
		return NULL;
	}
	return z;
}

struct sq_zip *
sq_zip_open(const char *path)
{
	struct sq_zip *z;
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY)) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		sq_seterr("%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	z = sq_calloc(1, sizeof(*z));
	z->where = sq_strdup(path);
	z->len = (size_t)st.st_size;
	if (z->len > 0) {
		z->map = mmap(NULL, z->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (z->map == MAP_FAILED) {
			sq_seterr("%s: mmap: %s", path, strerror(errno));
			z->map = NULL;
			close(fd);
			sq_zip_close(z);
			return NULL;
		}
		z->data = z->map;
	}
	close(fd);
	return finish_open(z);
}

struct sq_zip *
sq_zip_open_mem(const void *data, size_t len, const char *where)
{
	struct sq_zip *z = sq_calloc(1, sizeof(*z));

	z->where = sq_strdup(where);
	z->data = data;
	z->len = len;
	return finish_open(z);
}

void
sq_zip_close(struct sq_zip *z)
{
	if (z == NULL)
		return;
	for (int i = 0; i < z->n; i++)
		free(z->e[i].name);
	free(z->e);
	if (z->map != NULL)
		munmap(z->map, z->len);
	free(z->where);
	free(z);
}

int
sq_zip_find(const struct sq_zip *z, const char *name)
{
	for (int i = 0; i < z->n; i++)
		if (strcmp(z->e[i].name, name) == 0)
			return i;
	return -1;
}

/* Inflates raw deflate src (n bytes) into dst (size bytes, exactly). */
static int
inflate_raw(uint8_t *dst, uint64_t size, const uint8_t *src, uint64_t n)
{
	const uint64_t chunk = (uint64_t)1 << 30;	/* zlib counts in uInt */
	uint64_t in_fed = 0, out_given = 0;
	z_stream s;
	int rc;

	memset(&s, 0, sizeof(s));
	if (inflateInit2(&s, -15) != Z_OK)
		return -1;
	do {
		if (s.avail_in == 0 && in_fed < n) {
			s.next_in = (Bytef *)src + in_fed;
			s.avail_in = (uInt)SQ_MIN(n - in_fed, chunk);
			in_fed += s.avail_in;
		}
		if (s.avail_out == 0 && out_given < size) {
			s.next_out = dst + out_given;
			s.avail_out = (uInt)SQ_MIN(size - out_given, chunk);
			out_given += s.avail_out;
		}
		rc = inflate(&s, Z_NO_FLUSH);
	} while (rc == Z_OK || (rc == Z_BUF_ERROR &&
	    ((s.avail_in == 0 && in_fed < n) ||
	    (s.avail_out == 0 && out_given < size))));
	inflateEnd(&s);
	return rc == Z_STREAM_END && s.avail_out == 0 && out_given == size ?
	    0 : -1;
}

uint32_t
sq_crc32(const void *p, size_t n)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	/* crc32() takes uInt lengths: in chunks */
	for (size_t done = 0; done < n; ) {
		uInt k = (uInt)SQ_MIN(n - done, (size_t)1 << 30);

		crc = crc32(crc, (const Bytef *)p + done, k);
		done += k;
	}
	return (uint32_t)crc;
}

const void *
sq_zip_get(struct sq_zip *z, int i, size_t *len, void **owned)
{
	struct sq_zip_entry *e = &z->e[i];
	const uint8_t *lh, *src;
	uint8_t *buf = NULL;
	const void *out;
	uint64_t off;

	*owned = NULL;
	if (!inside(z, e->lho, 30) || u32(lh = z->data + e->lho) != LOCAL_SIG) {
		sq_seterr("%s: member %s: truncated zip (no local header at "
		    "%llu)", z->where, e->name, (unsigned long long)e->lho);
		return NULL;
	}
	off = e->lho + 30 + u16(lh + 26) + u16(lh + 28);
	if (!inside(z, off, e->csize)) {
		sq_seterr("%s: member %s: truncated zip (%llu bytes of data "
		    "at %llu, past the end)", z->where, e->name,
		    (unsigned long long)e->csize, (unsigned long long)off);
		return NULL;
	}
	src = z->data + off;
	if (e->usize > SIZE_MAX - 1) {
		sq_seterr("%s: member %s: too large", z->where, e->name);
		return NULL;
	}
	if (e->method == 0) {
		if (e->csize != e->usize) {
			sq_seterr("%s: member %s: stored sizes disagree",
			    z->where, e->name);
			return NULL;
		}
		out = src;
	} else if (e->method == 8) {
		/* deflate expands at most 1032:1, so a larger size is a lie
		   that must not become an allocation */
		if (e->usize > e->csize * 1032 + 64) {
			sq_seterr("%s: member %s: corrupt zip (%llu bytes claimed "
			    "from %llu deflated)", z->where, e->name,
			    (unsigned long long)e->usize,
			    (unsigned long long)e->csize);
			return NULL;
		}
		buf = sq_malloc(e->usize ? e->usize : 1);
		if (inflate_raw(buf, e->usize, src, e->csize) < 0) {
			sq_seterr("%s: member %s: corrupt deflate data",
			    z->where, e->name);
			free(buf);
			return NULL;
		}
		out = buf;
	} else {
		sq_seterr("%s: member %s: compression method %d not "
		    "supported (only stored and deflated)", z->where, e->name,
		    e->method);
		return NULL;
	}
	if (sq_crc32(out, (size_t)e->usize) != e->crc) {
		sq_seterr("%s: member %s: bad CRC-32", z->where, e->name);
		free(buf);
		return NULL;
	}
	*len = (size_t)e->usize;
	*owned = buf;
	return out;
}
