/*
 * detok: tokens streams (binary or text ids) back to text with
 * SentencePiece (lib/io/spm.h), one line per record, in stream order.
 *
 * The text of a record is what spm_decode --input_format=id prints for
 * its ids, except that a newline in it (a byte piece <0x0A>) is printed
 * as a space, so that each record stays one line.  Output is buffered,
 * and flushed whenever the input pauses (lib/io/stream.h:
 * sq_stream_wait), so a line fed to the pipeline alone comes out alone.
 * By default only the records of rank 0 are printed, so an n-best stream
 * gives its best candidate per sentence; --nbest prints
 * every record as "key TAB rank TAB score TAB text" and --moses as
 * "key ||| text ||| score".
 *
 * The model: --spm FILE, else -m FILE or $SEQPIPE_MODEL (its spm.target),
 * else the model the first stream header names: an id "spm-XXXXXXXX" is a
 * SentencePiece .model (tokenize --spm), any other id a seqpipe model
 * file.  Every header must name the model in use (or a model file when
 * --spm overrides it); text ids carry no header and are trusted.
 */
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "io/spm.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-qv] [-m model | --spm file] [-n | --moses] [file ...]"
#define HELP \
"  -m, --model FILE    seqpipe model file: use its spm.target\n" \
"                      (default: $SEQPIPE_MODEL, else the stream header's)\n" \
"      --spm FILE      a SentencePiece .model file instead\n" \
"  -n, --nbest         every record: key TAB rank TAB score TAB text\n" \
"                      (default: the text of rank-0 records only)\n" \
"      --moses         every record: key ||| text ||| score\n" \
"  -q, --quiet         accepted; there are no notes\n" \
"  -v, --verbose       echo the command line on stderr\n" \
"  -h, --help          this help\n" \
"  -V, --version       the version\n"

#define SPM_ID_PREFIX "spm-"

enum { OPT_SPM = 256, OPT_MOSES };
enum format { FMT_TEXT, FMT_NBEST, FMT_MOSES };

static const struct option longopts[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "spm", required_argument, NULL, OPT_SPM },
	{ "nbest", no_argument, NULL, 'n' },
	{ "moses", no_argument, NULL, OPT_MOSES },
	SQ_CLI_LONGOPTS
};

/* The model in use and which header ids it accepts. */
struct model {
	struct sq_spm *spm;
	char file_id[256];	/* the seqpipe model file's id, or "" */
	int override;		/* --spm: accept any model file's stream */
};

static int
is_spm_id(const char *id)
{
	return strncmp(id, SPM_ID_PREFIX, strlen(SPM_ID_PREFIX)) == 0;
}

/*
 * The model from the options, else from the first header.  An empty
 * stream without one needs none: m->spm stays NULL.
 */
static void
find_model(struct model *m, const char *spm_path, const char *model_path,
    const struct sq_stream_info *info)
{
	const char *hint = info->model_path;

	if (spm_path) {
		m->spm = sq_spm_open(spm_path);
		m->override = 1;
	} else if (model_path) {
		m->spm = sq_spm_open_model(model_path, 1, m->file_id,
		    sizeof(m->file_id));
	} else if (hint[0] && is_spm_id(info->model_id)) {
		m->spm = sq_spm_open(hint);
	} else if (hint[0]) {
		m->spm = sq_spm_open_model(hint, 1, m->file_id,
		    sizeof(m->file_id));
	} else {
		return;
	}
	if (!m->spm)
		sq_die("%s", sq_errstr());
}

static void
check_header(const struct model *m, const struct sq_stream_info *info,
    const char *name)
{
	const char *id = info->model_id;

	if (!id[0] || strcmp(id, sq_spm_model_id(m->spm)) == 0 ||
	    strcmp(id, m->file_id) == 0 || (m->override && !is_spm_id(id)))
		return;
	sq_die("%s: stream of model %s, not of model %s", name, id,
	    m->file_id[0] ? m->file_id : sq_spm_model_id(m->spm));
}

/* A score as seqcat prints floats: the shortest that reads back the same. */
static void
print_score(float x)
{
	char t[32];
	int prec = 6;

	do
		snprintf(t, sizeof(t), "%.*g", prec, x);
	while (!isnan(x) && strtof(t, NULL) != x && ++prec <= 9);
	fputs(t, stdout);
}

/*
 * The text, each newline byte printed as a space: one record must stay one
 * line, and a model with byte pieces can emit <0x0A>.
 */
static void
print_text(const char *text, size_t len)
{
	const char *nl;

	while ((nl = memchr(text, '\n', len)) != NULL) {
		fwrite(text, 1, nl - text, stdout);
		putchar(' ');
		len -= nl - text + 1;
		text = nl + 1;
	}
	fwrite(text, 1, len, stdout);
}

static void
print_record(struct sq_spm *spm, const struct sq_record *rec, int fmt,
    const char *name, unsigned long long n)
{
	const char *text;
	size_t len;

	if (fmt == FMT_TEXT && rec->rank != 0)
		return;
	if (sq_spm_decode(spm, rec->ids, rec->n_ids, &text, &len) < 0)
		sq_die("%s: record %llu (key %llu): %s", name, n,
		    (unsigned long long)rec->key, sq_errstr());
	if (fmt == FMT_NBEST) {
		printf("%llu\t%u\t", (unsigned long long)rec->key, rec->rank);
		print_score(rec->score);
		putchar('\t');
	} else if (fmt == FMT_MOSES) {
		printf("%llu ||| ", (unsigned long long)rec->key);
	}
	print_text(text, len);
	if (fmt == FMT_MOSES) {
		fputs(" ||| ", stdout);
		print_score(rec->score);
	}
	putchar('\n');
	sq_check_write(stdout, "<stdout>");
}

int
main(int argc, char *argv[])
{
	struct sq_cli cli = { 0 };
	struct model m = { .spm = NULL };
	struct sq_record rec;
	const char *spm_path = NULL;
	int ch, fmt = FMT_TEXT, i, rc;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "m:nqvhV", longopts, NULL)) != -1)
		switch (ch) {
		case 'm': cli.model = optarg; break;
		case OPT_SPM: spm_path = optarg; break;
		case 'n': fmt = FMT_NBEST; break;
		case OPT_MOSES: fmt = FMT_MOSES; break;
		default: sq_cli_option(&cli, ch);
		}
	if (spm_path && cli.model)
		sq_usage_error("-m and --spm exclude each other");
	sq_cli_echo(&cli, argc, argv);
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);

	for (i = optind; i < argc || i == optind; i++) {
		const char *path = i < argc ? argv[i] : NULL;
		const char *name = sq_input_name(path);
		unsigned long long n = 0;
		struct sq_reader *r;

		if (!(r = sq_stream_open(path, SQ_STREAM_TOKENS)))
			sq_die("%s", sq_errstr());
		if (!m.spm)
			find_model(&m, spm_path, spm_path ? NULL :
			    sq_cli_model(&cli), sq_stream_info(r));
		/* the reader holds later sections to the first's model */
		if (m.spm)
			check_header(&m, sq_stream_info(r), name);
		while ((rc = sq_stream_next(r, &rec)) > 0) {
			if (rec.kind != SQ_REC_TOKENS)
				continue;
			if (!m.spm)
				sq_die("%s: no model: give -m or --spm, or set "
				    "SEQPIPE_MODEL", name);
			print_record(m.spm, &rec, fmt, name, n++);
			/* streaming: no text waits in stdio while detok does */
			if (sq_stream_wait(r) && fflush(stdout) != 0)
				sq_die("<stdout>: write error:");
		}
		if (rc < 0)
			sq_die("%s", sq_errstr());
		sq_stream_close(r);
	}
	sq_spm_free(m.spm);
	return sq_fshut(stdout, "<stdout>");
}
