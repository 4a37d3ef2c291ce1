/*
 * test_npy: the .npy header reader (lib/import/npy.c) on headers written
 * here byte by byte as numpy/lib/format.py specifies them: versions 1.0,
 * 2.0 and 3.0, keys in any order, '<f4', '<f2', '|i1', shape () and
 * (n,); big-endian, fortran_order True, a bad dict and short data
 * refused with a message naming the array.
 */
#include <stdint.h>
#include <string.h>

#include "import/npy.h"
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
	return tap_done();
}
