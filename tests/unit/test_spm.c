/*
 * test_spm: lib/spm through its C face: training from a callback into
 * memory, loading from bytes and from a file, the vocabulary, encoding,
 * n-best, seeded sampling, decoding, and errors that must come back as -1
 * with a message rather than as C++ exceptions.  The comparisons with
 * spm_encode/spm_decode themselves are in tests/tokenize.bats and
 * tests/detok.bats.  TAP output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/spm.h"
#include "tap.h"
#include "base/util.h"

static const char *words[] = {
	"the", "model", "reads", "a", "line", "of", "text", "and", "writes",
	"tokens", "to", "stream", "pipe", "each", "program", "filter",
	"encoder", "decoder", "beam", "search", "sentence", "piece", "unit",
	"translation", "quick", "brown", "fox", "jumps", "over", "lazy", "dog",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))
#define N_SENT 3000

/* Sentence i of the training text: 4 to 11 words, deterministic. */
static void
sentence(unsigned i, char *buf, size_t size)
{
	unsigned x = i * 2654435761u + 12345, n = 4 + i % 8;

	buf[0] = '\0';
	for (unsigned j = 0; j < n; j++) {
		x = x * 1103515245u + 12345;
		if (j)
			strncat(buf, " ", size - strlen(buf) - 1);
		strncat(buf, words[(x >> 16) % N_WORDS], size - strlen(buf) - 1);
	}
}

struct corpus {
	unsigned i;
	char buf[256];
};

static const char *
next_sentence(void *ctx, size_t *len)
{
	struct corpus *c = ctx;

	if (c->i == N_SENT)
		return NULL;
	sentence(c->i++, c->buf, sizeof(c->buf));
	*len = strlen(c->buf);
	return c->buf;
}

static int
same_ids(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

int
main(void)
{
	struct corpus c = { 0 };
	char *model = NULL, path[] = "/tmp/test_spm.XXXXXX", line[256];
	size_t model_len = 0, n, n2, len, k;
	const int32_t *ids, *ids2;
	const struct sq_spm_cand *cands;
	struct sq_spm *s, *f;
	const char *text;
	int32_t *copy, bad[2];
	int fd, differ, rc;

	rc = sq_spm_train("--model_type=unigram --vocab_size=60 "
	    "--character_coverage=1.0 --bos_id=1 --eos_id=2 --unk_id=0 "
	    "--pad_id=3", next_sentence, &c, 1, &model, &model_len);
	ok(rc == 0 && model_len > 0, "train from a callback into memory");
	if (rc < 0)
		return 1;
	ok(sq_spm_train("--vocab_size=60 --no_such_option=1", next_sentence,
	    &c, 1, NULL, NULL) == -1 && strstr(sq_errstr(), "no_such_option"),
	    "an unknown training option is -1 with a message");

	s = sq_spm_new(model, model_len);
	ok(s != NULL, "load from bytes");
	ok(sq_spm_size(s) == 60, "vocabulary size 60 (got %d)", sq_spm_size(s));
	ok(sq_spm_unk(s) == 0 && sq_spm_bos(s) == 1 && sq_spm_eos(s) == 2 &&
	    sq_spm_pad(s) == 3, "special ids as trained");
	ok(strcmp(sq_spm_piece(s, 1), "<s>") == 0 &&
	    strcmp(sq_spm_piece(s, 2), "</s>") == 0 &&
	    sq_spm_id(s, "</s>") == 2, "piece <-> id");
	ok(sq_spm_piece(s, 60) == NULL && sq_spm_piece(s, -1) == NULL,
	    "no piece out of range");
	ok(sq_spm_id(s, "no such piece") == 0, "an unknown piece is unk");
	ok(strncmp(sq_spm_model_id(s), "spm-", 4) == 0 &&
	    strlen(sq_spm_model_id(s)) == 12, "model id spm-XXXXXXXX: %s",
	    sq_spm_model_id(s));

	/* the same bytes from a file: the same model and id */
	fd = mkstemp(path);
	ok(fd >= 0 && write(fd, model, model_len) == (ssize_t)model_len,
	    "write the model to %s", path);
	close(fd);
	f = sq_spm_open(path);
	ok(f && strcmp(sq_spm_model_id(f), sq_spm_model_id(s)) == 0,
	    "load from a file: the same id");
	unlink(path);

	/* encode, decode: round trips of training sentences */
	differ = 0;
	for (unsigned i = 0; i < 200; i++) {
		sentence(i, line, sizeof(line));
		if (sq_spm_encode(s, line, strlen(line), &ids, &n) < 0 ||
		    sq_spm_encode(f, line, strlen(line), &ids2, &n2) < 0 ||
		    !same_ids(ids, n, ids2, n2) ||
		    sq_spm_decode(s, ids, n, &text, &len) < 0 ||
		    len != strlen(line) || strcmp(text, line) != 0)
			differ++;
	}
	ok(differ == 0, "decode(encode(x)) == x, file == bytes, 200 lines");

	ok(sq_spm_encode(s, "", 0, &ids, &n) == 0 && n == 0,
	    "an empty line has no ids");
	ok(sq_spm_encode(s, "a\0b\xff", 4, &ids, &n) == 0 && n > 0,
	    "NUL and bad UTF-8 are text");
	ok(sq_spm_encode_pieces(s, "the dog", 7, &text, &len) == 0 &&
	    strncmp(text, "\xe2\x96\x81", 3) == 0 && strchr(text, ' ') &&
	    len == strlen(text), "pieces joined by spaces: %s", text);

	/* extra options */
	sentence(7, line, sizeof(line));
	sq_spm_encode(s, line, strlen(line), &ids, &n);
	copy = sq_malloc((n + 2) * sizeof(*copy));
	memcpy(copy + 1, ids, n * sizeof(*copy));
	ok(sq_spm_set_options(s, "bos:eos", NULL) == 0 &&
	    sq_spm_encode(s, line, strlen(line), &ids, &n2) == 0 &&
	    n2 == n + 2 && ids[0] == 1 && ids[n + 1] == 2 &&
	    memcmp(ids + 1, copy + 1, n * sizeof(*ids)) == 0,
	    "bos:eos frames the ids");
	ok(sq_spm_set_options(s, "reverse", NULL) == 0 &&
	    sq_spm_encode(s, line, strlen(line), &ids, &n2) == 0 && n2 == n &&
	    ids[0] == copy[n] && ids[n - 1] == copy[1], "reverse");
	ok(sq_spm_set_options(s, "bogus", NULL) == -1, "a bad option is -1");
	ok(sq_spm_set_options(s, NULL, NULL) == 0, "options off again");

	/* n-best: the best first, and it is the plain encoding */
	rc = sq_spm_nbest(s, line, strlen(line), 4, &cands, &k);
	ok(rc == 0 && k >= 2 && k <= 4 &&
	    same_ids(cands[0].ids, cands[0].n_ids, copy + 1, n) &&
	    cands[0].score >= cands[1].score, "n-best: %zu candidates, "
	    "best first", k);
	rc = sq_spm_nbest(s, "", 0, 4, &cands, &k);
	ok(rc == 0 && k == 1 && cands[0].n_ids == 0 && cands[0].score == 0,
	    "n-best of an empty line: one empty candidate");

	/* sampling: a function of the seed; nbest_size 1 is the best */
	ok(sq_spm_sample(s, line, strlen(line), 1, 0.5f, 9, &ids, &n2) == 0 &&
	    same_ids(ids, n2, copy + 1, n), "sampling from the 1 best");
	differ = 0;
	for (uint32_t seed = 0; seed < 20; seed++) {
		int32_t first[64];
		size_t nf;

		sq_spm_sample(s, line, strlen(line), -1, 0.01f, seed, &ids, &nf);
		memcpy(first, ids, nf * sizeof(*ids));
		/* something else in between must not matter */
		sq_spm_sample(s, "quick fox", 9, -1, 0.01f, seed + 1, &ids, &n2);
		sq_spm_sample(s, line, strlen(line), -1, 0.01f, seed, &ids, &n2);
		if (!same_ids(first, nf, ids, n2))
			differ = -1000;
		if (!same_ids(first, nf, copy + 1, n))
			differ++;
	}
	ok(differ > 0, "the same seed gives the same sample, and samples vary "
	    "(%d of 20 differ from the best)", differ);
	free(copy);

	/* errors */
	bad[0] = 5;
	bad[1] = 60;
	ok(sq_spm_decode(s, bad, 2, &text, &len) == -1 &&
	    strcmp(sq_errstr(), "id 60 out of range [0, 60)") == 0,
	    "decode: id out of range");
	bad[1] = -7;
	ok(sq_spm_decode(s, bad, 2, &text, &len) == -1 &&
	    strstr(sq_errstr(), "-7"), "decode: negative id");
	ok(sq_spm_decode(s, bad, 0, &text, &len) == 0 && len == 0,
	    "decode: no ids, no text");
	ok(sq_spm_new("garbage", 7) == NULL &&
	    strstr(sq_errstr(), "not a SentencePiece model"),
	    "bytes that are no model: NULL");
	ok(sq_spm_new(model, model_len / 2) == NULL, "a truncated model: NULL");
	ok(sq_spm_open("/nonexistent/x.model") == NULL &&
	    strcmp(sq_errstr(), "/nonexistent/x.model: No such file or "
	    "directory") == 0, "a missing file: NULL, \"PATH: strerror\"");

	sq_spm_free(s);
	sq_spm_free(f);
	sq_spm_free(NULL);
	free(model);
	return tap_done();
}
