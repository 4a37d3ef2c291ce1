/*
 * bleu_text: Python 3 str semantics on code point arrays (see bleu_text.h).
 *
 * The whitespace set is Python's str.isspace(): the characters of category
 * Zs or of bidirectional class WS, B or S.  It has not changed across the
 * Unicode versions Python has shipped, so it is spelled out here.  Lower
 * casing follows Python's unicodeobject.c: the simple lowercase mapping
 * (libutf8proc), the one unconditional multi-character mapping of
 * SpecialCasing.txt (U+0130), and the Final_Sigma rule with the Cased and
 * Case_Ignorable properties derived from general categories.
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "bleu/text.h"
#include "base/util.h"

void
sq_bleu_ustr_reserve(struct sq_bleu_ustr *s, size_t n)
{
	if (n <= s->cap)
		return;
	if (n < 2 * s->cap)
		n = 2 * s->cap;
	if (n < 64)
		n = 64;
	s->c = sq_reallocarray(s->c, n, sizeof(*s->c));
	s->cap = n;
}

void
sq_bleu_ustr_append(struct sq_bleu_ustr *s, const uint32_t *c, size_t n)
{
	if (n == 0)
		return;
	sq_bleu_ustr_reserve(s, s->n + n);
	memcpy(s->c + s->n, c, n * sizeof(*c));
	s->n += n;
}

void
sq_bleu_ustr_free(struct sq_bleu_ustr *s)
{
	free(s->c);
	s->c = NULL;
	s->n = s->cap = 0;
}

int
sq_bleu_utf8_decode(struct sq_bleu_ustr *out, const char *p, size_t n,
    size_t *bad)
{
	const unsigned char *s = (const unsigned char *)p;
	size_t i = 0, len;
	uint32_t c;
	unsigned char lo, hi;

	sq_bleu_ustr_reserve(out, out->n + n);
	while (i < n) {
		c = s[i];
		if (c < 0x80) {
			out->c[out->n++] = c;
			i++;
			continue;
		}
		lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2, c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3, c &= 0x0f;
			if (s[i] == 0xe0)
				lo = 0xa0;
			else if (s[i] == 0xed)
				hi = 0x9f;	/* no surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4, c &= 0x07;
			if (s[i] == 0xf0)
				lo = 0x90;
			else if (s[i] == 0xf4)
				hi = 0x8f;	/* nothing above U+10FFFF */
		} else {
			goto invalid;
		}
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			goto invalid;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto invalid;
			c = c << 6 | (s[i + k] & 0x3f);
		}
		out->c[out->n++] = c;
		i += len;
	}
	return 0;
invalid:
	*bad = i;
	return -1;
}

int
sq_bleu_py_isspace(uint32_t c)
{
	if (c < 0x80)
		return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20);
	switch (c) {
	case 0x85: case 0xa0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202f: case 0x205f: case 0x3000:
		return 1;
	}
	return c >= 0x2000 && c <= 0x200a;
}

size_t
sq_bleu_py_rstrip(const uint32_t *c, size_t n)
{
	while (n > 0 && sq_bleu_py_isspace(c[n - 1]))
		n--;
	return n;
}

struct sq_bleu_uspan
sq_bleu_py_strip(const uint32_t *c, size_t n)
{
	struct sq_bleu_uspan s;

	n = sq_bleu_py_rstrip(c, n);
	while (n > 0 && sq_bleu_py_isspace(*c))
		c++, n--;
	s.c = c;
	s.n = n;
	return s;
}

size_t
sq_bleu_py_split(struct sq_bleu_uspan *w, size_t max, const uint32_t *c,
    size_t n)
{
	size_t i = 0, start, nw = 0;

	for (;;) {
		while (i < n && sq_bleu_py_isspace(c[i]))
			i++;
		if (i == n)
			return nw;
		start = i;
		while (i < n && !sq_bleu_py_isspace(c[i]))
			i++;
		if (nw < max) {
			w[nw].c = c + start;
			w[nw].n = i - start;
		}
		nw++;
	}
}

/* Unicode's Cased property: Lu, Ll, Lt, Other_Lowercase, Other_Uppercase. */
static int
is_cased(uint32_t c)
{
	utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);

	if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL ||
	    cat == UTF8PROC_CATEGORY_LT)
		return 1;
	/*
	 * Other_Lowercase/Other_Uppercase, which libutf8proc does not give:
	 * the characters with a case mapping, plus the few without one
	 * (ordinal indicators, squared and negative squared capitals).
	 */
	if (c == 0xaa || c == 0xba || (c >= 0x1f130 && c <= 0x1f149) ||
	    (c >= 0x1f150 && c <= 0x1f169) || (c >= 0x1f170 && c <= 0x1f189))
		return 1;
	return utf8proc_tolower((utf8proc_int32_t)c) != (utf8proc_int32_t)c ||
	    utf8proc_toupper((utf8proc_int32_t)c) != (utf8proc_int32_t)c;
}

/* Case_Ignorable: Mn Me Cf Lm Sk and Word_Break MidLetter/MidNumLet/SQ. */
static int
is_case_ignorable(uint32_t c)
{
	switch (utf8proc_category((utf8proc_int32_t)c)) {
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME:
	case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_LM:
	case UTF8PROC_CATEGORY_SK:
		return 1;
	default:
		break;
	}
	switch (c) {
	case 0x27: case 0x2e: case 0x3a: case 0xb7: case 0x387: case 0x55f:
	case 0x5f4: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
	case 0xfe13: case 0xfe52: case 0xfe55: case 0xff07: case 0xff0e:
	case 0xff1a:
		return 1;
	}
	return 0;
}

/* Python's handle_capital_sigma(): is c[i] (a capital sigma) final? */
static int
final_sigma(const uint32_t *c, size_t n, size_t i)
{
	size_t j = i;

	while (j > 0 && is_case_ignorable(c[j - 1]))
		j--;
	if (j == 0 || !is_cased(c[j - 1]))
		return 0;
	for (j = i + 1; j < n && is_case_ignorable(c[j]); j++)
		;
	return j == n || !is_cased(c[j]);
}

struct sq_bleu_uspan
sq_bleu_py_lowered(struct sq_bleu_ustr *buf, struct sq_bleu_uspan x)
{
	buf->n = 0;
	sq_bleu_py_lower(buf, x.c, x.n);
	return (struct sq_bleu_uspan){ buf->c, buf->n };
}

void
sq_bleu_py_lower(struct sq_bleu_ustr *out, const uint32_t *c, size_t n)
{
	size_t i;

	sq_bleu_ustr_reserve(out, out->n + n);
	for (i = 0; i < n; i++) {
		if (c[i] < 0x80) {
			sq_bleu_ustr_push(out, c[i] >= 'A' && c[i] <= 'Z' ?
			    c[i] + 32 : c[i]);
		} else if (c[i] == 0x130) {
			sq_bleu_ustr_push(out, 0x69);
			sq_bleu_ustr_push(out, 0x307);
		} else if (c[i] == 0x3a3) {
			sq_bleu_ustr_push(out, final_sigma(c, n,
			    i) ? 0x3c2 : 0x3c3);
		} else {
			sq_bleu_ustr_push(out, (uint32_t)utf8proc_tolower(
			    (utf8proc_int32_t)c[i]));
		}
	}
}
