/*
 * bleu_tok: sacrebleu's tokenizers as passes over code points.
 *
 * Reference: sacrebleu 2.6.0, tokenizers/tokenizer_re.py (the mteval
 * "post" tokenizer shared by 13a and zh), tokenizer_13a.py,
 * tokenizer_intl.py (mteval-v14's international rules with the regex
 * module's \p{N}, \p{P}, \p{S}; categories come from libutf8proc here),
 * tokenizer_zh.py and tokenizer_char.py.
 *
 * Every regular expression of those files has the shape "one or two
 * single-character classes, replaced by the groups with spaces around".
 * re.sub tries a match at each position from the left and resumes after a
 * match, so a two-character pattern is a scan that consumes two code
 * points on a match and one otherwise; pass2() is that scan.
 *
 * The zh tokenizer's table of "Chinese" ranges is kept with a quirk of the
 * original: two of its bounds are written u'\u20000' and u'\u2f800',
 * which Python reads as two-character strings, so the ranges compared are
 * U+2001..U+2A6D and U+2F81..U+2FA1 (general punctuation, symbols and
 * arrows count as Chinese; Extension B does not).
 */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "bleu/tok.h"
#include "base/util.h"

static const char *const names[] = {
	[SQ_BLEU_TOK_13A] = "13a",
	[SQ_BLEU_TOK_INTL] = "intl",
	[SQ_BLEU_TOK_ZH] = "zh",
	[SQ_BLEU_TOK_CHAR] = "char",
	[SQ_BLEU_TOK_NONE] = "none",
};

int
sq_bleu_tok_kind(const char *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
sq_bleu_tok_name(enum sq_bleu_tok_kind kind)
{
	return names[kind];
}

void
sq_bleu_tok_init(struct sq_bleu_tok *t, enum sq_bleu_tok_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
}

void
sq_bleu_tok_free(struct sq_bleu_tok *t)
{
	if (!t)
		return;
	sq_bleu_ustr_free(&t->a);
	sq_bleu_ustr_free(&t->b);
}

static int
is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static int
is_period_comma(uint32_t c)
{
	return c == '.' || c == ',';
}

/* [\{-\~\[-\` -\&\(-\+\:-\@\/] of tokenizer_re.py */
static int
is_mteval_punct(uint32_t c)
{
	return (c >= 0x7b && c <= 0x7e) || (c >= 0x5b && c <= 0x60) ||
	    (c >= 0x20 && c <= 0x26) || (c >= 0x28 && c <= 0x2b) ||
	    (c >= 0x3a && c <= 0x40) || c == 0x2f;
}

/* The major class of c's general category: 'N', 'P', 'S' or 0 */
static int
major(uint32_t c)
{
	utf8proc_category_t k = utf8proc_category((utf8proc_int32_t)c);

	if (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO)
		return 'N';
	if (k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO)
		return 'P';
	if (k >= UTF8PROC_CATEGORY_SM && k <= UTF8PROC_CATEGORY_SO)
		return 'S';
	return 0;
}

static int
is_cat(uint32_t c, int cat)
{
	/* ASCII letters, digits and space first: most of any text */
	if (c < 0x80 && ((c | 0x20) - 'a' < 26 || c == ' '))
		return 0;
	if (c - '0' < 10)
		return cat == 'N';
	return major(c) == cat;
}

static int
is_not_number(uint32_t c)
{
	return !is_cat(c, 'N');
}

static int
is_punct(uint32_t c)
{
	return is_cat(c, 'P');
}

static int
is_symbol(uint32_t c)
{
	return is_cat(c, 'S');
}

/* "a, b" of tokenizer_zh.py's _UCODE_RANGES, as Python compares them */
static int
is_chinese(uint32_t c)
{
	static const uint32_t r[][2] = {
		{ 0x3400, 0x4db5 }, { 0x4e00, 0x9fa5 }, { 0x9fa6, 0x9fbb },
		{ 0xf900, 0xfa2d }, { 0xfa30, 0xfa6a }, { 0xfa70, 0xfad9 },
		{ 0x2001, 0x2a6d }, { 0x2f81, 0x2fa1 }, { 0xff00, 0xffef },
		{ 0x2e80, 0x2eff }, { 0x3000, 0x303f }, { 0x31c0, 0x31ef },
		{ 0x2f00, 0x2fdf }, { 0x2ff0, 0x2fff }, { 0x3100, 0x312f },
		{ 0x31a0, 0x31bf }, { 0xfe10, 0xfe1f }, { 0xfe30, 0xfe4f },
		{ 0x2600, 0x26ff }, { 0x2700, 0x27bf }, { 0x3200, 0x32ff },
		{ 0x3300, 0x33ff },
	};

	if (c < 0x2001)
		return 0;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (c >= r[i][0] && c <= r[i][1])
			return 1;
	return 0;
}

/* re.sub(r'(X)', r' \1 ', s) */
static void
pass1(struct sq_bleu_ustr *out, const struct sq_bleu_ustr *in,
    int (*x)(uint32_t))
{
	out->n = 0;
	sq_bleu_ustr_reserve(out, in->n);
	for (size_t i = 0; i < in->n; i++) {
		if (x(in->c[i])) {
			sq_bleu_ustr_push(out, ' ');
			sq_bleu_ustr_push(out, in->c[i]);
			sq_bleu_ustr_push(out, ' ');
		} else {
			sq_bleu_ustr_push(out, in->c[i]);
		}
	}
}

/*
 * re.sub(r'(X)(Y)', repl, s) where repl puts a space before \1 (lead),
 * between the groups, and after \2 (!lead): r' \1 \2' or r'\1 \2 '.
 */
static void
pass2(struct sq_bleu_ustr *out, const struct sq_bleu_ustr *in,
    int (*x)(uint32_t),
    int (*y)(uint32_t), int lead)
{
	size_t i = 0;

	out->n = 0;
	sq_bleu_ustr_reserve(out, in->n);
	while (i < in->n) {
		if (i + 1 < in->n && x(in->c[i]) && y(in->c[i + 1])) {
			if (lead)
				sq_bleu_ustr_push(out, ' ');
			sq_bleu_ustr_push(out, in->c[i]);
			sq_bleu_ustr_push(out, ' ');
			sq_bleu_ustr_push(out, in->c[i + 1]);
			if (!lead)
				sq_bleu_ustr_push(out, ' ');
			i += 2;
		} else {
			sq_bleu_ustr_push(out, in->c[i++]);
		}
	}
}

static int
is_not_digit(uint32_t c)
{
	return !is_digit(c);
}

static int
is_dash(uint32_t c)
{
	return c == '-';
}

/* TokenizerRegexp.__call__ on t->a; the result is in t->a. */
static void
mteval_post(struct sq_bleu_tok *t)
{
	pass1(&t->b, &t->a, is_mteval_punct);
	pass2(&t->a, &t->b, is_not_digit, is_period_comma, 0);
	pass2(&t->b, &t->a, is_period_comma, is_not_digit, 1);
	pass2(&t->a, &t->b, is_digit, is_dash, 0);
}

/* s.replace(from, to): out = in with every from (left to right) replaced */
static int
replace(struct sq_bleu_ustr *out, const struct sq_bleu_ustr *in,
    const char *from,
    const char *to)
{
	size_t nf = strlen(from), i = 0, k;
	int hit = 0;

	out->n = 0;
	sq_bleu_ustr_reserve(out, in->n);
	while (i < in->n) {
		for (k = 0; k < nf && i + k < in->n &&
		    in->c[i + k] == (unsigned char)from[k]; k++)
			;
		if (k == nf) {
			for (k = 0; to[k]; k++)
				sq_bleu_ustr_push(out, (unsigned char)to[k]);
			i += nf;
			hit = 1;
		} else {
			sq_bleu_ustr_push(out, in->c[i++]);
		}
	}
	return hit;
}

/* Tokenizer13a.__call__: t->a holds the line, the result goes to t->a */
static void
tok_13a(struct sq_bleu_tok *t)
{
	static const char *const rep[][2] = {
		{ "<skipped>", "" }, { "-\n", "" }, { "\n", " " },
	};
	static const char *const ent[][2] = {
		{ "&quot;", "\"" }, { "&amp;", "&" }, { "&lt;", "<" },
		{ "&gt;", ">" },
	};
	struct sq_bleu_ustr tmp;
	size_t i;
	int amp = 0;

	for (i = 0; i < 3; i++) {
		replace(&t->b, &t->a, rep[i][0], rep[i][1]);
		tmp = t->a, t->a = t->b, t->b = tmp;
	}
	for (i = 0; i < t->a.n && !amp; i++)
		amp = t->a.c[i] == '&';
	for (i = 0; amp && i < 4; i++) {
		replace(&t->b, &t->a, ent[i][0], ent[i][1]);
		tmp = t->a, t->a = t->b, t->b = tmp;
	}
	/* f' {line} ' */
	t->b.n = 0;
	sq_bleu_ustr_push(&t->b, ' ');
	sq_bleu_ustr_append(&t->b, t->a.c, t->a.n);
	sq_bleu_ustr_push(&t->b, ' ');
	tmp = t->a, t->a = t->b, t->b = tmp;
	mteval_post(t);
}

static void
tok_intl(struct sq_bleu_tok *t)
{
	pass2(&t->b, &t->a, is_not_number, is_punct, 0);
	pass2(&t->a, &t->b, is_punct, is_not_number, 1);
	pass1(&t->b, &t->a, is_symbol);
	struct sq_bleu_ustr tmp = t->a;
	t->a = t->b, t->b = tmp;
}

/* TokenizerZh.__call__: strip, space out Chinese characters, post */
static void
tok_zh(struct sq_bleu_tok *t, const uint32_t *c, size_t n)
{
	struct sq_bleu_uspan s = sq_bleu_py_strip(c, n);
	struct sq_bleu_ustr in = { (uint32_t *)s.c, s.n, s.n };

	pass1(&t->a, &in, is_chinese);
	mteval_post(t);
}

struct sq_bleu_uspan
sq_bleu_tok_run(struct sq_bleu_tok *t, const uint32_t *c, size_t n)
{
	struct sq_bleu_uspan r = { c, n };

	switch (t->kind) {
	case SQ_BLEU_TOK_NONE:
		return r;
	case SQ_BLEU_TOK_CHAR:
		/* " ".join(line): split() then sees each non-space alone */
		t->a.n = 0;
		for (size_t i = 0; i < n; i++) {
			sq_bleu_ustr_push(&t->a, c[i]);
			sq_bleu_ustr_push(&t->a, ' ');
		}
		break;
	case SQ_BLEU_TOK_ZH:
		tok_zh(t, c, n);
		break;
	case SQ_BLEU_TOK_13A:
		t->a.n = 0;
		sq_bleu_ustr_append(&t->a, c, n);
		tok_13a(t);
		break;
	case SQ_BLEU_TOK_INTL:
		t->a.n = 0;
		sq_bleu_ustr_append(&t->a, c, n);
		tok_intl(t);
		break;
	}
	r.c = t->a.c;
	r.n = t->a.n;
	return r;
}
