/*
 * test_npy: the .npy header reader (lib/import/npy.c) on headers written
 * here byte by byte as numpy/lib/format.py specifies them: versions 1.0,
 * 2.0 and 3.0, keys in any order, '<f4', '<f2', '|i1', shape () and
 * (n,); big-endian, fortran_order True, a bad dict and short data
 * refused with a message naming the array.  Also the zip reader under
 * it: a deflated member whose claimed size deflate could not reach is an
 * error, not an allocation of that size.
 */
#include <stdint.h>
#include <string.h>

#include <stdlib.h>

#include <zlib.h>

#include "import/npy.h"
#include "import/zip.h"
#include "tap.h"

/* An .npy of version major with header dict h and data (n bytes) in buf. */
static size_t
npy(uint8_t *buf, int major, const char *h, const void *data, size_t n)
{
	size_t hl = strlen(h), pre = major == 1 ? 10 : 12;

	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (uint8_t)major, buf[7] = 0;
	buf[8] = (uint8_t)hl, buf[9] = (uint8_t)(hl >> 8);
	if (major > 1)
		buf[10] = buf[11] = 0;
	memcpy(buf + pre, h, hl);
	memcpy(buf + pre + hl, data, n);
	return pre + hl + n;
}


static uint8_t *
le(uint8_t *p, uint32_t v, int n)
{
	for (int i = 0; i < n; i++)
		*p++ = (uint8_t)(v >> 8 * i);
	return p;
}

/*
 * A zip of one member "a", method 8, holding "hello" as a stored deflate
 * block, whose headers claim usize bytes uncompressed.  Its length.
 */
static size_t
zip1(uint8_t *buf, uint32_t usize)
{
	static const uint8_t def[] = {1, 5, 0, 0xfa, 0xff, 'h', 'e', 'l', 'l',
	    'o'};
	uint32_t crc = (uint32_t)crc32(0, (const Bytef *)"hello", 5);
	uint8_t *p = buf, *cd;

	p = le(p, 0x04034b50, 4), p = le(p, 20, 2), p = le(p, 0, 2);
	p = le(p, 8, 2), p = le(p, 0, 4), p = le(p, crc, 4);
	p = le(p, sizeof(def), 4), p = le(p, usize, 4);
	p = le(p, 1, 2), p = le(p, 0, 2), *p++ = 'a';
	memcpy(p, def, sizeof(def)), p += sizeof(def);
	cd = p;
	p = le(p, 0x02014b50, 4), p = le(p, 20, 2), p = le(p, 20, 2);
	p = le(p, 0, 2), p = le(p, 8, 2), p = le(p, 0, 4), p = le(p, crc, 4);
	p = le(p, sizeof(def), 4), p = le(p, usize, 4);
	p = le(p, 1, 2), p = le(p, 0, 2), p = le(p, 0, 2), p = le(p, 0, 2);
	p = le(p, 0, 2), p = le(p, 0, 4), p = le(p, 0, 4), *p++ = 'a';
	p = le(p, 0x06054b50, 4), p = le(p, 0, 2), p = le(p, 0, 2);
	p = le(p, 1, 2), p = le(p, 1, 2), p = le(p, (uint32_t)(p - 12 - cd), 4);
	p = le(p, (uint32_t)(cd - buf), 4), p = le(p, 0, 2);
	return (size_t)(p - buf);
}

int
main(void)
{
	static const float f[4] = {1, -2, 0.5f, 3};
	static const uint16_t h[2] = {0x3c00, 0xc000};	/* 1, -2 */
	uint8_t buf[512];
	struct sq_npy a;
	float out[4];
	size_t n;

	n = npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (2, 2), }          \n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n, "t") == 0 && a.kind == 'f' &&
	    a.size == 4 && a.n_dims == 2 && a.dims[0] == 2 && a.dims[1] == 2 &&
	    a.numel == 4 && sq_npy_floats(out, &a, "t") == 0 &&
	    memcmp(out, f, sizeof(f)) == 0, "v1.0 '<f4' (2, 2)");
	n = npy(buf, 2, "{'shape': (4,), 'fortran_order': False, "
	    "'descr': '<f4'}\n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n, "t") == 0 && a.n_dims == 1 &&
	    a.numel == 4, "v2.0, keys in another order, shape (4,)");
	n = npy(buf, 3, "{'descr': '<f2', 'fortran_order': False, "
	    "'shape': (2,)}\n", h, sizeof(h));
	ok(sq_npy_parse(&a, buf, n, "t") == 0 && sq_npy_floats(out, &a,
	    "t") == 0 && out[0] == 1 && out[1] == -2, "v3.0 '<f2' widened");
	n = npy(buf, 1, "{'descr': '|i1', 'fortran_order': False, "
	    "'shape': ()}\n", "x", 1);
	ok(sq_npy_parse(&a, buf, n, "t") == 0 && a.kind == 'i' &&
	    a.n_dims == 0 && a.numel == 1 && sq_npy_floats(out, &a, "t") < 0,
	    "'|i1' shape (): one element, not a weight");

	n = npy(buf, 1, "{'descr': '>f4', 'fortran_order': False, "
	    "'shape': (4,)}\n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n, "W") < 0 &&
	    strstr(sq_errstr(), "W: big-endian") != NULL, "big-endian refused");
	n = npy(buf, 1, "{'descr': '<f4', 'fortran_order': True, "
	    "'shape': (2, 2)}\n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n, "W") < 0 &&
	    strstr(sq_errstr(), "fortran_order") != NULL, "fortran_order refused");
	n = npy(buf, 1, "{'descr': '<f4', 'shape' (4,)}\n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n, "W") < 0 &&
	    strncmp(sq_errstr(), "W: bad npy header", 17) == 0, "bad dict");
	n = npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, "
	    "'shape': (4,)}\n", f, sizeof(f));
	ok(sq_npy_parse(&a, buf, n - 1, "W") < 0 &&
	    strstr(sq_errstr(), "truncated npy data") != NULL, "short data");
	buf[6] = 4;
	ok(sq_npy_parse(&a, buf, n, "W") < 0 &&
	    strstr(sq_errstr(), "version 4.0") != NULL, "version 4 refused");
	ok(sq_npy_parse(&a, "\x93NUMPZ\1\0\0\0", 10, "W") < 0, "bad magic");

	{
		struct sq_zip *z;
		const void *d;
		size_t len;
		void *owned;

		z = sq_zip_open_mem(buf, zip1(buf, 5), "z");
		ok(z != NULL && (d = sq_zip_get(z, 0, &len, &owned)) != NULL &&
		    len == 5 && memcmp(d, "hello", 5) == 0, "zip: a deflated "
		    "member");
		if (z != NULL && d != NULL)
			free(owned);
		sq_zip_close(z);
		z = sq_zip_open_mem(buf, zip1(buf, 0xF0000000u), "z");
		ok(z != NULL && sq_zip_get(z, 0, &len, &owned) == NULL &&
		    strcmp(sq_errstr(), "z: member a: corrupt zip (4026531840 "
		    "bytes claimed from 10 deflated)") == 0,
		    "zip: a member claiming 4 GB from 10 bytes is an error, "
		    "not an allocation");
		sq_zip_close(z);
	}
	return tap_done();
}
