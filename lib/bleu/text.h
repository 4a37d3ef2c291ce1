/*
 * bleu_text: the string model of sacrebleu, on arrays of code points.
 *
 * sacrebleu works on Python str values: sequences of Unicode code points.
 * This module gives bleu the few Python str operations it relies on, with
 * Python 3's exact semantics: strict UTF-8 decoding (as open(...,
 * encoding='utf-8') does: no overlong forms, no surrogates, nothing above
 * U+10FFFF), str.isspace(), str.split() with no argument, str.rstrip(),
 * str.strip() and str.lower() (full lowercase mapping: U+0130 becomes two
 * code points, and a capital sigma becomes final sigma at the end of a
 * word).  Case and category data come from libutf8proc.
 *
 * A struct sq_bleu_ustr owns its buffer; sq_bleu_ustr_free() releases it.
 */
#ifndef SQ_BLEU_TEXT_H
#define SQ_BLEU_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct sq_bleu_ustr {
	uint32_t *c;	/* (n) code points */
	size_t n, cap;
};

/* A span of code points borrowed from somewhere else. */
struct sq_bleu_uspan {
	const uint32_t *c;
	size_t n;
};

void sq_bleu_ustr_reserve(struct sq_bleu_ustr *s, size_t n);
/* Appends one code point. */
static inline void
sq_bleu_ustr_push(struct sq_bleu_ustr *s, uint32_t c)
{
	if (s->n == s->cap)
		sq_bleu_ustr_reserve(s, s->n + 1);
	s->c[s->n++] = c;
}
void sq_bleu_ustr_append(struct sq_bleu_ustr *s, const uint32_t *c, size_t n);
void sq_bleu_ustr_free(struct sq_bleu_ustr *s);

/*
 * Decodes n bytes of UTF-8 at p and appends the code points to out.
 * Returns 0, or -1 at the first invalid sequence (Python's strict
 * decoder rejects the same ones) with *bad set to its byte offset.
 */
int sq_bleu_utf8_decode(struct sq_bleu_ustr *out, const char *p, size_t n,
    size_t *bad);

/* Python's str.isspace() for one code point. */
int sq_bleu_py_isspace(uint32_t c);

/* Length of c[0..n) once str.rstrip() has removed trailing whitespace. */
size_t sq_bleu_py_rstrip(const uint32_t *c, size_t n);
/* str.strip(): the span without leading and trailing whitespace. */
struct sq_bleu_uspan sq_bleu_py_strip(const uint32_t *c, size_t n);

/*
 * str.split() with no argument: the words of c[0..n), separated by runs of
 * whitespace.  Stores at most max spans (borrowing c) and returns the
 * number of words; a larger result means "call again with more room".
 */
size_t sq_bleu_py_split(struct sq_bleu_uspan *w, size_t max, const uint32_t *c,
    size_t n);

/* Appends str.lower() of c[0..n) to out. */
void sq_bleu_py_lower(struct sq_bleu_ustr *out, const uint32_t *c, size_t n);

/*
 * x lower-cased (-lc) into buf, which is emptied first: the returned span
 * borrows buf until it changes.
 */
struct sq_bleu_uspan sq_bleu_py_lowered(struct sq_bleu_ustr *buf,
    struct sq_bleu_uspan x);

#endif
