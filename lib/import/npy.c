/*
 * npy: see npy.h.  The header dict is parsed by hand, tolerantly (any key
 * order, spaces anywhere a Python literal allows them), since it is the
 * repr() of a dict and nothing more.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import/npy.h"
#include "import/zip.h"
#include "base/util.h"

#define BAD(...) do { sq_seterr(__VA_ARGS__); return -1; } while (0)

static const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A quoted Python string at p into out; returns the end or NULL. */
static const char *
pystring(const char *p, const char *e, char *out, size_t size)
{
	char q;
	size_t n = 0;

	if (p >= e || (*p != '\'' && *p != '"'))
		return NULL;
	for (q = *p++; p < e && *p != q; p++)
		if (n + 1 < size)
			out[n++] = *p;
	out[n] = '\0';
	return p < e ? p + 1 : NULL;
}

static int
parse_descr(struct sq_npy *a, const char *d, const char *where)
{
	char order = d[0], kind = d[1];
	long size;
	char *end;

	if (order == '>')
		BAD("%s: big-endian data (descr '%s') not supported: save "
		    "it little-endian ('<')", where, d);
	if (order != '<' && order != '|' && order != '=')
		BAD("%s: bad npy header: descr '%s'", where, d);
	if (kind == '\0')
		BAD("%s: bad npy header: descr '%s'", where, d);
	size = strtol(d + 2, &end, 10);
	if (*end != '\0' || !strchr("fiub", kind) ||
	    (kind == 'f' && size != 2 && size != 4 && size != 8) ||
	    ((kind == 'i' || kind == 'u') && size != 1 && size != 2 &&
	    size != 4 && size != 8) || (kind == 'b' && size != 1))
		BAD("%s: npy dtype '%s' not supported", where, d);
	a->kind = kind;
	a->size = (int)size;
	return 0;
}

static int
parse_shape(struct sq_npy *a, const char *p, const char *e, const char **endp,
    const char *where)
{
	if (p >= e || *p != '(')
		BAD("%s: bad npy header: shape is not a tuple", where);
	p++;
	a->n_dims = 0;
	a->numel = 1;
	for (;;) {
		long v = 0;

		p = skip_ws(p, e);
		if (p < e && *p == ')')
			break;
		if (p >= e || !isdigit((unsigned char)*p))
			BAD("%s: bad npy header: shape", where);
		/* not strtol: the header is not NUL-terminated */
		for (; p < e && isdigit((unsigned char)*p); p++) {
			if (v > (LONG_MAX - 9) / 10)
				BAD("%s: npy shape too large", where);
			v = v * 10 + (*p - '0');
		}
		p = skip_ws(p, e);
		if (a->n_dims == SQ_NPY_MAX_DIMS)
			BAD("%s: npy array of more than %d dimensions", where,
			    SQ_NPY_MAX_DIMS);
		if (v > 0 && a->numel > LONG_MAX / v / 8)
			BAD("%s: npy shape too large", where);
		a->dims[a->n_dims++] = v;
		a->numel *= v;
		if (p < e && *p == ',')
			p++;
		else if (p >= e || *p != ')')
			BAD("%s: bad npy header: shape", where);
	}
	*endp = p + 1;
	return 0;
}

int
sq_npy_parse(struct sq_npy *a, const void *buf, size_t len, const char *where)
{
	const uint8_t *b = buf;
	const char *p, *e;
	size_t hlen, start;
	int have_descr = 0, have_order = 0, have_shape = 0;
	char key[32], descr[32];

	memset(a, 0, sizeof(*a));
	if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
		BAD("%s: bad npy header: no \\x93NUMPY magic", where);
	if (b[6] == 1) {
		hlen = (size_t)(b[8] | b[9] << 8);
		start = 10;
	} else if (b[6] == 2 || b[6] == 3) {
		if (len < 12)
			BAD("%s: bad npy header: truncated", where);
		hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
		    (size_t)b[11] << 24;
		start = 12;
	} else
		BAD("%s: npy format version %d.%d not supported", where, b[6],
		    b[7]);
	if (hlen > len - start)
		BAD("%s: bad npy header: length %zu past the end", where, hlen);
	p = (const char *)b + start;
	e = p + hlen;
	p = skip_ws(p, e);
	if (p >= e || *p++ != '{')
		BAD("%s: bad npy header: not a dict", where);
	for (;;) {
		p = skip_ws(p, e);
		if (p < e && *p == '}')
			break;
		if (!(p = pystring(p, e, key, sizeof(key))))
			BAD("%s: bad npy header: key", where);
		p = skip_ws(p, e);
		if (p >= e || *p++ != ':')
			BAD("%s: bad npy header: no ':' after '%s'", where, key);
		p = skip_ws(p, e);
		if (strcmp(key, "descr") == 0) {
			if (!(p = pystring(p, e, descr, sizeof(descr))))
				BAD("%s: bad npy header: descr is not a "
				    "string (structured dtypes are not "
				    "supported)", where);
			if (parse_descr(a, descr, where) < 0)
				return -1;
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0) {
			if (e - p >= 5 && memcmp(p, "False", 5) == 0)
				p += 5;
			else if (e - p >= 4 && memcmp(p, "True", 4) == 0)
				BAD("%s: fortran_order True not supported",
				    where);
			else
				BAD("%s: bad npy header: fortran_order",
				    where);
			have_order = 1;
		} else if (strcmp(key, "shape") == 0) {
			if (parse_shape(a, p, e, &p, where) < 0)
				return -1;
			have_shape = 1;
		} else
			BAD("%s: bad npy header: unknown key '%s'", where, key);
		p = skip_ws(p, e);
		if (p < e && *p == ',')
			p++;
		else if (p >= e || *p != '}')
			BAD("%s: bad npy header: expected ',' or '}'", where);
	}
	if (!have_descr || !have_order || !have_shape)
		BAD("%s: bad npy header: no '%s'", where, !have_descr ?
		    "descr" : !have_order ? "fortran_order" : "shape");
	if ((size_t)a->numel * (size_t)a->size > len - start - hlen)
		BAD("%s: truncated npy data (%ld elements of %d bytes, %zu "
		    "bytes there)", where, a->numel, a->size,
		    len - start - hlen);
	a->data = b + start + hlen;
	return 0;
}

/* IEEE binary16 to float32. */
static float
half(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 31;
	uint32_t man = h & 0x3ff, bits;
	float f;

	if (exp == 0) {			/* zero or subnormal: man * 2^-24 */
		f = (float)man * 5.9604644775390625e-8f;
		return sign ? -f : f;
	}
	if (exp == 31)
		bits = sign | 0x7f800000u | man << 13;
	else
		bits = sign | (exp + 112) << 23 | man << 13;
	memcpy(&f, &bits, 4);
	return f;
}

int
sq_npy_floats(float *out, const struct sq_npy *a, const char *where)
{
	const uint8_t *d = a->data;

	if (a->kind == 'f' && a->size == 4)
		memcpy(out, d, (size_t)a->numel * 4);
	else if (a->kind == 'f' && a->size == 2)
		for (long i = 0; i < a->numel; i++)
			out[i] = half((uint16_t)(d[2 * i] | d[2 * i + 1] << 8));
	else if (a->kind == 'f' && a->size == 8)
		for (long i = 0; i < a->numel; i++) {
			double x;

			memcpy(&x, d + 8 * i, 8);
			out[i] = (float)x;
		}
	else
		BAD("%s: dtype %c%d, not a float (float16, float32 or "
		    "float64)", where, a->kind, a->size);
	return 0;
}

struct sq_npz *
sq_npz_open(const char *path, const void *data, size_t len, const char *where)
{
	struct sq_npz *z = sq_calloc(1, sizeof(*z));

	z->zip = data ? sq_zip_open_mem(data, len, where) : sq_zip_open(path);
	if (z->zip == NULL) {
		free(z);
		return NULL;
	}
	z->where = sq_strdup(data ? where : path);
	z->owned = sq_calloc((size_t)z->zip->n + 1, sizeof(void *));
	return z;
}

void
sq_npz_close(struct sq_npz *z)
{
	if (z == NULL)
		return;
	for (int i = 0; i < z->zip->n; i++)
		free(z->owned[i]);
	free(z->owned);
	sq_zip_close(z->zip);
	free(z->where);
	free(z);
}

int
sq_npz_count(const struct sq_npz *z)
{
	return z->zip->n;
}

const char *
sq_npz_name(const struct sq_npz *z, int i, char *buf, size_t size)
{
	const char *n = z->zip->e[i].name;
	size_t l = strlen(n);

	if (l >= 4 && strcmp(n + l - 4, ".npy") == 0)
		l -= 4;
	snprintf(buf, size, "%.*s", (int)l, n);
	return buf;
}

int
sq_npz_get(struct sq_npz *z, const char *name, struct sq_npy *a)
{
	char full[512], where[600];
	const void *d;
	size_t len;
	int i;

	snprintf(full, sizeof(full), "%s.npy", name);
	if ((i = sq_zip_find(z->zip, full)) < 0 &&
	    (i = sq_zip_find(z->zip, name)) < 0)
		return 0;
	if (z->owned[i] != NULL)
		d = z->owned[i], len = (size_t)z->zip->e[i].usize;
	else if (!(d = sq_zip_get(z->zip, i, &len, &z->owned[i])))
		return -1;
	snprintf(where, sizeof(where), "%s: %s", z->where, name);
	return sq_npy_parse(a, d, len, where) < 0 ? -1 : 1;
}
