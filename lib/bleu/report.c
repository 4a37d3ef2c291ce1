/*
 * bleu_report: signatures, score lines and JSON (see bleu_report.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bleu/report.h"
#include "base/util.h"

static void
sig_add(struct sq_bleu_sig *s, const char *key, const char *abbr,
    const char *fmt, ...)
{
	va_list ap;

	SQ_ASSERT(s->n < SQ_BLEU_SIG_MAX);
	s->kv[s->n].key = key;
	s->kv[s->n].abbr = abbr;
	va_start(ap, fmt);
	vsnprintf(s->kv[s->n].val, sizeof(s->kv[s->n].val), fmt, ap);
	va_end(ap);
	s->n++;
}

static void
sig_nrefs(struct sq_bleu_sig *s, long nrefs)
{
	s->n = 0;
	if (nrefs < 0)
		sig_add(s, "nrefs", "#", "var");
	else
		sig_add(s, "nrefs", "#", "%ld", nrefs);
}

void
sq_bleu_sig_bleu(struct sq_bleu_sig *s, const struct sq_bleu_opts *o,
    long nrefs)
{
	sig_nrefs(s, nrefs);
	sig_add(s, "case", "c", o->lowercase ? "lc" : "mixed");
	sig_add(s, "eff", "e", o->effective_order ? "yes" : "no");
	sig_add(s, "tok", "tok", "%s", sq_bleu_tok_name(o->tok));
	if (o->smooth == SQ_BLEU_SMOOTH_FLOOR ||
	    o->smooth == SQ_BLEU_SMOOTH_ADDK)
		sig_add(s, "smooth", "s", "%s[%.2f]",
		    sq_bleu_smooth_name(o->smooth), o->smooth_value);
	else
		sig_add(s, "smooth", "s", "%s", sq_bleu_smooth_name(o->smooth));
	sig_add(s, "version", "v", SQ_BLEU_SACREBLEU_VERSION);
}

void
sq_bleu_sig_chrf(struct sq_bleu_sig *s, const struct sq_bleu_chrf_opts *o,
    long nrefs)
{
	sig_nrefs(s, nrefs);
	sig_add(s, "case", "c", o->lowercase ? "lc" : "mixed");
	sig_add(s, "eff", "e", o->eps_smoothing ? "no" : "yes");
	sig_add(s, "nc", "nc", "%d", o->char_order);
	sig_add(s, "nw", "nw", "%d", o->word_order);
	sig_add(s, "space", "s", o->whitespace ? "yes" : "no");
	sig_add(s, "version", "v", SQ_BLEU_SACREBLEU_VERSION);
}

void
sq_bleu_sig_bootstrap(struct sq_bleu_sig *s, const char *kind, long n_samples,
    const char *seed)
{
	struct sq_bleu_sig tail = *s;

	s->n = 1;
	sig_add(s, kind, kind, "%ld", n_samples);
	sig_add(s, "seed", "rs", "%s", seed);
	for (size_t i = 1; i < tail.n; i++)
		s->kv[s->n++] = tail.kv[i];
}

void
sq_bleu_pyfloat_repr(char *buf, size_t size, double x)
{
	char e[40], digits[24], *p;
	int prec, exp, nd, i;
	size_t k = 0;

	if (x == 0) {
		snprintf(buf, size, "%s", signbit(x) ? "-0.0" : "0.0");
		return;
	}
	/* the shortest %e that reads back to x */
	for (prec = 0; prec < 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec, x);
		if (strtod(e, NULL) == x)
			break;
	}
	p = e;
	if (*p == '-')
		buf[k++] = *p++;
	for (nd = 0; *p && *p != 'e'; p++)
		if (*p != '.')
			digits[nd++] = *p;
	digits[nd] = '\0';
	exp = atoi(p + 1);
	if (exp < -4 || exp >= 16) {
		k += (size_t)snprintf(buf + k, size - k, "%c%s%s", digits[0],
		    nd > 1 ? "." : "", digits + 1);
		snprintf(buf + k, size - k, "e%c%02d", exp < 0 ? '-' : '+',
		    exp < 0 ? -exp : exp);
		return;
	}
	if (exp < 0) {
		k += (size_t)snprintf(buf + k, size - k, "0.");
		for (i = exp; i < -1; i++)
			buf[k++] = '0';
		snprintf(buf + k, size - k, "%s", digits);
		return;
	}
	for (i = 0; i <= exp; i++)
		buf[k++] = i < nd ? digits[i] : '0';
	buf[k++] = '.';
	if (nd > exp + 1)
		snprintf(buf + k, size - k, "%s", digits + exp + 1);
	else
		snprintf(buf + k, size - k, "0");
}

/* repr() of a Python str, as sacrebleu's messages quote file names */
const char *
sq_bleu_pystr_repr(char *buf, size_t size, const char *s)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	snprintf(buf, size, "%c%s%c", q, s, q);
	return buf;
}

/* A growing string. */
struct sb {
	char *s;
	size_t n, cap;
};

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->n : NULL,
		    b->s ? b->cap - b->n : 0, fmt, ap);
		va_end(ap);
		if (b->s && (size_t)n < b->cap - b->n)
			break;
		b->cap = 2 * (b->cap + (size_t)n) + 64;
		b->s = sq_realloc(b->s, b->cap);
	}
	b->n += (size_t)n;
}

/* a JSON string as json.dumps(ensure_ascii=False) writes it */
static void
sb_json_str(struct sb *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_printf(b, "\\n");
		else if (c == '\r')
			sb_printf(b, "\\r");
		else if (c == '\t')
			sb_printf(b, "\\t");
		else if (c == '\b')
			sb_printf(b, "\\b");
		else if (c == '\f')
			sb_printf(b, "\\f");
		else if (c < 0x20)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
	sb_printf(b, "\"");
}

void
sq_bleu_json_string(FILE *f, const char *s, int ascii)
{
	struct sb b = { 0 };
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	int n;

	if (!ascii) {
		sb_json_str(&b, s);
		fputs(b.s, f);
		free(b.s);
		return;
	}
	fputc('"', f);
	while (*p) {
		if (*p < 0x80) {
			char one[2] = { (char)*p++, 0 };

			sb_json_str(&b, one);
			fprintf(f, "%.*s", (int)b.n - 2, b.s + 1);
			b.n = 0;
			continue;
		}
		n = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;
		c = *p++ & (0x3f >> n);
		for (; n > 0 && (*p & 0xc0) == 0x80; n--)
			c = c << 6 | (*p++ & 0x3f);
		if (c >= 0x10000)
			fprintf(f, "\\u%04x\\u%04x",
			    0xd800 + ((c - 0x10000) >> 10),
			    0xdc00 + ((c - 0x10000) & 0x3ff));
		else
			fprintf(f, "\\u%04x", c);
	}
	fputc('"', f);
	free(b.s);
}

void
sq_bleu_sig_string(char *buf, size_t size, const struct sq_bleu_sig *sig,
    int short_sig)
{
	size_t k = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sig->n && k < size; i++)
		k += (size_t)snprintf(buf + k, size - k, "%s%s:%s",
		    i ? "|" : "", short_sig ? sig->kv[i].abbr :
		    sig->kv[i].key, sig->kv[i].val);
}


static void
sb_sig(struct sb *b, const struct sq_bleu_sig *s, int short_sig)
{
	char buf[1200];

	/* version last: it is last in every sq_sig_* already */
	sq_bleu_sig_string(buf, sizeof(buf), s, short_sig);
	sb_printf(b, "%s", buf);
}

static void
sb_json_key(struct sb *b, const char *key)
{
	sb_printf(b, b->n > 1 ? ",\n " : "\n ");
	sb_json_str(b, key);
	sb_printf(b, ": ");
}

char *
sq_bleu_result_format(const struct sq_bleu_result *r, int width, int score_only,
    int short_sig, int json)
{
	struct sb b = { 0 };
	struct sb sig = { 0 };
	char num[64], sc[1400];

	char mean[400], ci[400], conf[900];

	snprintf(sc, sizeof(sc), "%.*f", width, r->score);
	if (r->mean > 0) {
		snprintf(mean, sizeof(mean), "%.*f", width, r->mean);
		snprintf(ci, sizeof(ci), "%.*f", width, r->ci);
		snprintf(conf, sizeof(conf), "\xce\xbc = %s \xc2\xb1 %s", mean,
		    ci);
		snprintf(sc + strlen(sc), sizeof(sc) - strlen(sc), " (%s)",
		    conf);
	}
	if (score_only)
		return sq_strdup(sc);
	if (!json) {
		sb_printf(&b, "%s", r->name);
		if (r->sig.n) {
			sb_printf(&b, "|");
			sb_sig(&b, &r->sig, short_sig);
		}
		sb_printf(&b, " = %s", sc);
		if (r->verbose[0])
			sb_printf(&b, " %s", r->verbose);
		return b.s;
	}
	sb_printf(&b, "{");
	sb_json_key(&b, "name");
	sb_json_str(&b, r->name);
	sb_json_key(&b, "score");
	sq_bleu_pyfloat_repr(num, sizeof(num), strtod(sc, NULL));
	sb_printf(&b, "%s", num);
	sb_json_key(&b, "signature");
	sb_sig(&sig, &r->sig, 0);
	sb_json_str(&b, sig.s ? sig.s : "");
	if (r->mean > 0) {
		sb_json_key(&b, "confidence_mean");
		sq_bleu_pyfloat_repr(num, sizeof(num), strtod(mean, NULL));
		sb_printf(&b, "%s", num);
		sb_json_key(&b, "confidence_var");
		sq_bleu_pyfloat_repr(num, sizeof(num), strtod(ci, NULL));
		sb_printf(&b, "%s", num);
		sb_json_key(&b, "confidence");
		sb_json_str(&b, conf);
	}
	if (r->verbose[0]) {
		sb_json_key(&b, "verbose_score");
		sb_json_str(&b, r->verbose);
	}
	for (size_t i = 0; i < r->sig.n; i++) {
		sb_json_key(&b, r->sig.kv[i].key);
		sb_json_str(&b, r->sig.kv[i].val);
	}
	sb_printf(&b, "\n}");
	free(sig.s);
	return b.s;
}
