/*
 * test_bleu: the pieces of bleu that sacrebleu's behaviour rests on:
 * Python's str semantics, the tokenizers, Python's float repr and NumPy's
 * random generator.  Expected values come from Python 3.11, sacrebleu
 * 2.6.0's tokenizer classes and NumPy 1.24 (np.random.PCG64(12345),
 * default_rng(12345).choice), not from this code.
 */
#include <stdlib.h>
#include <string.h>

#include "bleu/report.h"
#include "bleu/rng.h"
#include "bleu/text.h"
#include "bleu/tok.h"
#include "tap.h"

static struct sq_bleu_ustr
decode(const char *s)
{
	struct sq_bleu_ustr u = { 0 };
	size_t bad;

	if (sq_bleu_utf8_decode(&u, s, strlen(s), &bad) < 0)
		abort();
	return u;
}

/* UTF-8 of c[0..n) into a static buffer */
static const char *
encode(const uint32_t *c, size_t n)
{
	static char buf[4096];
	size_t k = 0;

	for (size_t i = 0; i < n && k + 5 < sizeof(buf); i++) {
		uint32_t x = c[i];

		if (x < 0x80) {
			buf[k++] = (char)x;
		} else if (x < 0x800) {
			buf[k++] = (char)(0xc0 | x >> 6);
			buf[k++] = (char)(0x80 | (x & 0x3f));
		} else if (x < 0x10000) {
			buf[k++] = (char)(0xe0 | x >> 12);
			buf[k++] = (char)(0x80 | (x >> 6 & 0x3f));
			buf[k++] = (char)(0x80 | (x & 0x3f));
		} else {
			buf[k++] = (char)(0xf0 | x >> 18);
			buf[k++] = (char)(0x80 | (x >> 12 & 0x3f));
			buf[k++] = (char)(0x80 | (x >> 6 & 0x3f));
			buf[k++] = (char)(0x80 | (x & 0x3f));
		}
	}
	buf[k] = '\0';
	return buf;
}

static void
lower(const char *in, const char *want)
{
	struct sq_bleu_ustr u = decode(in), out = { 0 };
	const char *got;

	sq_bleu_py_lower(&out, u.c, u.n);
	got = encode(out.c, out.n);
	ok(strcmp(got, want) == 0, "str.lower(\"%s\") is \"%s\" (got \"%s\")",
	    in, want, got);
	sq_bleu_ustr_free(&u);
	sq_bleu_ustr_free(&out);
}

/* ' '.join(tokenizer(line).split()) */
static void
tok(const char *name, const char *in, const char *want)
{
	struct sq_bleu_ustr u = decode(in), j = { 0 };
	struct sq_bleu_uspan w[256], t;
	struct sq_bleu_tok tk;
	size_t n;
	const char *got;

	sq_bleu_tok_init(&tk, (enum sq_bleu_tok_kind)sq_bleu_tok_kind(name));
	t = sq_bleu_tok_run(&tk, u.c, u.n);
	n = sq_bleu_py_split(w, 256, t.c, t.n);
	for (size_t i = 0; i < n && i < 256; i++) {
		if (i)
			sq_bleu_ustr_push(&j, ' ');
		sq_bleu_ustr_append(&j, w[i].c, w[i].n);
	}
	got = encode(j.c, j.n);
	ok(strcmp(got, want) == 0, "%s: \"%s\" -> \"%s\" (got \"%s\")", name,
	    in, want, got);
	sq_bleu_tok_free(&tk);
	sq_bleu_ustr_free(&u);
	sq_bleu_ustr_free(&j);
}

static void
repr(double x, const char *want)
{
	char buf[64];

	sq_bleu_pyfloat_repr(buf, sizeof(buf), x);
	ok(strcmp(buf, want) == 0, "repr(%.17g) is %s (got %s)", x, want, buf);
}

static void
utf8(const char *s, int valid, const char *what)
{
	struct sq_bleu_ustr u = { 0 };
	size_t bad;

	ok((sq_bleu_utf8_decode(&u, s, strlen(s), &bad) == 0) == valid,
	    "UTF-8 %s: %s", valid ? "accepts" : "rejects", what);
	sq_bleu_ustr_free(&u);
}

int
main(void)
{
	static const uint64_t raw[3] = { 4193609425186963869ULL,
	    5843160025838961886ULL, 14708796524633321433ULL };
	static const int choice[20] = { 6, 2, 7, 3, 2, 7, 6, 6, 9, 3, 8, 3, 5,
	    5, 2, 1, 2, 6, 6, 9 };
	struct sq_bleu_nprng g;
	uint32_t seed = 12345;
	int same;

	lower("\xc4\xb0", "i\xcc\x87");
	lower("\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82");
	lower("\xce\x9f\xce\x94\xce\xa5\xce\xa3\xce\xa3\xce\x95\xce\xa5"
	    "\xce\xa3.", "\xce\xbf\xce\xb4\xcf\x85\xcf\x83\xcf\x83\xce\xb5"
	    "\xcf\x85\xcf\x82.");
	lower("\xce\xa3", "\xcf\x83");
	lower("A\xce\xa3 b", "a\xcf\x82 b");
	lower("\xc2\xaa\xce\xa3", "\xc2\xaa\xcf\x82");
	lower("\xce\x91\xce\xa3\xcc\x81\xce\x92",
	    "\xce\xb1\xcf\x83\xcc\x81\xce\xb2");

	ok(sq_bleu_py_isspace(0x1c) && sq_bleu_py_isspace(0xa0) &&
	    sq_bleu_py_isspace(0x3000)
	    && sq_bleu_py_isspace(0x85),
	    "isspace: U+001C U+00A0 U+3000 U+0085");
	ok(!sq_bleu_py_isspace(0x200b) && !sq_bleu_py_isspace(0xfeff) &&
	    !sq_bleu_py_isspace(0x180e), "not isspace: U+200B U+FEFF U+180E");

	tok("13a", "Hello, world! 3.5-4 &amp;lt;tag&amp;gt; <skipped>x",
	    "Hello , world ! 3.5 - 4 < tag > x");
	tok("13a", "It's 1,000.50 (approx.).", "It's 1,000.50 ( approx . ) .");
	tok("intl", "Hello, world... 1,000.5$ \xe2\x80\x9cquoted\xe2\x80\x9d "
	    "\xe2\x82\xac" "5 2024.", "Hello , world . . . 1,000.5 $ "
	    "\xe2\x80\x9c quoted \xe2\x80\x9d \xe2\x82\xac 5 2024.");
	tok("intl", "a.b,c 1.2.3 x\xe2\x80\x94y",
	    "a . b , c 1.2.3 x \xe2\x80\x94 y");
	tok("zh", "\xe6\x88\x91\xe4\xbb\xac" "2001\xe5\xb9\xb4\xe2\x80\x94"
	    "\xe2\x80\x9c\xe5\xa5\xbd\xe2\x80\x9d\xef\xbc\x8cOK? 3.5"
	    "\xe5\x80\x8d",
	    "\xe6\x88\x91 \xe4\xbb\xac 2001 \xe5\xb9\xb4 \xe2\x80\x94 "
	    "\xe2\x80\x9c \xe5\xa5\xbd \xe2\x80\x9d \xef\xbc\x8c OK ? 3.5 "
	    "\xe5\x80\x8d");
	tok("char", "ab c", "a b c");
	tok("none", " a  b\xc2\xa0" "c ", "a b c");

	repr(0.0, "0.0");
	repr(48.5, "48.5");
	repr(100.0, "100.0");
	repr(1e-05, "1e-05");
	repr(0.0001, "0.0001");
	repr(1.5e-07, "1.5e-07");
	repr(1e16, "1e+16");
	repr(123456789012345.6, "123456789012345.6");
	repr(0.1 + 0.2, "0.30000000000000004");

	utf8("\xf0\x9f\x98\x80", 1, "U+1F600");
	utf8("\xed\xa0\x80", 0, "a surrogate");
	utf8("\xc0\x80", 0, "an overlong NUL");
	utf8("\xf4\x90\x80\x80", 0, "above U+10FFFF");
	utf8("\xe2\x82", 0, "a truncated sequence");

	sq_bleu_nprng_seed(&g, &seed, 1);
	same = 1;
	for (int i = 0; i < 3; i++)
		same &= sq_bleu_nprng_next64(&g) == raw[i];
	ok(same, "PCG64(SeedSequence(12345)) draws NumPy's first 3 numbers");
	sq_bleu_nprng_seed(&g, &seed, 1);
	same = 1;
	for (int i = 0; i < 20; i++)
		same &= (int)sq_bleu_nprng_below(&g, 10) == choice[i];
	ok(same, "default_rng(12345).choice(10, 20) as NumPy");
	return tap_done();
}
