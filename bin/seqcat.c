/*
 * seqcat: prints seqpipe streams (tokens or memory, binary or text ids) in
 * a readable one-line-per-record form, or converts them: text ids to a
 * binary tokens stream, binary to binary (compress, decompress, relabel an
 * empty model id), binary tokens to text ids; and with --frames, feature
 * frames (text lines of floats, or .npy files) to a frames stream.
 * Kaldi's copy-feats ark,t:- for this toolkit.  Operands are read as if concatenated: they must agree
 * in kind and model, and the keys of text ids operands continue from one
 * operand to the next, so that "seqcat a b" equals "cat a b | seqcat".
 */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "import/frames.h"
#include "io/stream.h"
#include "base/util.h"

#define USAGE "[-abHtz] [-F dim] [--model-id id] [--model-path path] " \
    "[file ...]"
#define HELP \
"  -b, --binary          write a binary stream (default: the verbose text form)\n" \
"  -z, --compress        write a binary stream with zlib-compressed records\n" \
"  -t, --text            write the plain text form (ids as spm_encode prints them)\n" \
"  -H, --headers         also print each stream header, as a line \"H ...\"\n" \
"  -a, --hard-align      print alignment records as source-target pairs\n" \
"  -F, --frames DIM      read feature frames of DIM values: text lines of\n" \
"                        floats (an utterance a line) or .npy files\n" \
"      --model-id ID     model id for the binary header (default: the input's)\n" \
"      --model-path P    model path for the binary header (default: the input's)\n" \
"  -h, --help            print this help and exit\n" \
"  -V, --version         print the version and exit\n"

enum { OPT_MODEL_ID = 256, OPT_MODEL_PATH };

static const struct option longopts[] = {
	{ "binary", no_argument, NULL, 'b' },
	{ "compress", no_argument, NULL, 'z' },
	{ "text", no_argument, NULL, 't' },
	{ "headers", no_argument, NULL, 'H' },
	{ "hard-align", no_argument, NULL, 'a' },
	{ "frames", required_argument, NULL, 'F' },
	{ "model-id", required_argument, NULL, OPT_MODEL_ID },
	{ "model-path", required_argument, NULL, OPT_MODEL_PATH },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

enum out_mode { OUT_VERBOSE, OUT_TEXT, OUT_BINARY, OUT_ZLIB };

struct seqcat {
	enum out_mode mode;
	int headers;
	int hard_align;			/* -a */
	int frame_dim;			/* -F: frames input, 0 if not */
	const char *model_id;		/* --model-id, or the first seen */
	const char *model_path;		/* --model-path, or the first seen */
	char id_buf[256], path_buf[4096];
	int kind;			/* of the first non-empty operand */
	uint64_t key_base;		/* records of earlier text (or frames)
					   operands */
	struct sq_writer *w;
};

static const char *
kind_name(int kind)
{
	return kind == SQ_STREAM_MEMORY ? "memory" : kind == SQ_STREAM_FRAMES ?
	    "frames" : "tokens";
}

static void
print_header(const struct sq_stream_info *info)
{
	printf("H %s %d.%d %s %s\n", kind_name(info->kind), info->major,
	    info->minor, info->model_id[0] ? info->model_id : "-",
	    info->model_path[0] ? info->model_path : "-");
}

/* The writer, once the output's kind and model are known. */
static struct sq_writer *
writer(struct seqcat *c)
{
	static const int modes[] = {
		[OUT_TEXT] = SQ_WRITE_TEXT, [OUT_BINARY] = SQ_WRITE_BINARY,
		[OUT_ZLIB] = SQ_WRITE_ZLIB
	};

	if (!c->w && !(c->w = sq_writer_open(stdout, c->kind ? c->kind :
	    SQ_STREAM_TOKENS, c->model_id, c->model_path, modes[c->mode])))
		sq_die("%s", sq_errstr());
	return c->w;
}

/*
 * An alignment record as hard pairs, Moses' "s-t" form: for each target
 * token t, the source position s of its largest weight (the first of
 * equal ones); none for a target token of an empty source.  The verbose
 * form keeps the "A key rank" prefix, the text form prints the pairs only.
 */
static void
print_hard_align(const struct sq_record *rec, int verbose)
{
	uint32_t t, s, best;
	const char *sep = "";

	if (verbose) {
		printf("A %llu %u", (unsigned long long)rec->key, rec->rank);
		sep = " ";
	}
	for (t = 0; t < rec->rows && rec->cols > 0; t++) {
		const float *w = rec->data + (size_t)t * rec->cols;

		for (best = 0, s = 1; s < rec->cols; s++)
			if (w[s] > w[best])
				best = s;
		printf("%s%u-%u", sep, best, t);
		sep = " ";
	}
	putchar('\n');
}

/* Writes record rec of a stream with header info in c's form. */
static void
put(struct seqcat *c, const struct sq_stream_info *info,
    const struct sq_record *rec, uint32_t *section)
{
	if (c->hard_align && rec->kind == SQ_REC_ALIGN &&
	    (c->mode == OUT_VERBOSE || c->mode == OUT_TEXT)) {
		print_hard_align(rec, c->mode == OUT_VERBOSE);
		sq_check_write(stdout, "<stdout>");
		return;
	}
	if (c->mode != OUT_VERBOSE) {
		if (sq_stream_write(writer(c), rec) < 0)
			sq_die("<stdout>: %s", sq_errstr());
		return;
	}
	if (c->headers && !info->is_text && info->section != *section)
		print_header(info);
	*section = info->section;
	if (sq_record_print(stdout, rec, 1) < 0)
		sq_die("<stdout>: %s", sq_errstr());
}

/* Before seqcat waits for input: what it wrote goes out, and the pause. */
static void
out_pause(struct seqcat *c)
{
	if (c->w ? sq_writer_pause(c->w) < 0 : fflush(stdout) != 0)
		sq_die("<stdout>: write error:");
}

/*
 * Dies with the error set, the input closed first: what LeakSanitizer
 * finds at exit depends on where the compiler left the pointer.
 */
static void die_closing(struct sq_reader *r, struct sq_frames_in *f)
    __attribute__((noreturn));

static void
die_closing(struct sq_reader *r, struct sq_frames_in *f)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "%s", sq_errstr());
	sq_stream_close(r);
	sq_frames_in_close(f);
	sq_die("%s", msg);
}

static void
cat(struct seqcat *c, const char *path)
{
	/* any kind, so that alignment records are copied too */
	struct sq_reader *r = sq_stream_open(path, 0);
	const struct sq_stream_info *info;
	struct sq_record rec;
	uint32_t section = UINT32_MAX;
	uint64_t n = 0;
	int rc;

	if (!r)
		sq_die("%s", sq_errstr());
	info = sq_stream_info(r);
	if (c->kind && info->kind && info->kind != c->kind) {
		sq_seterr("%s: header: a %s stream, expected %s",
		    sq_input_name(path), kind_name(info->kind),
		    kind_name(c->kind));
		die_closing(r, NULL);
	}
	if (sq_stream_check_model(r, c->model_id) < 0)
		die_closing(r, NULL);
	if (info->kind && !c->kind)
		c->kind = info->kind;
	if (!c->model_id && info->model_id[0])
		c->model_id = strcpy(c->id_buf, info->model_id);
	if (!c->model_path && info->model_path[0])
		c->model_path = strcpy(c->path_buf, info->model_path);
	while ((rc = sq_stream_next(r, &rec)) == 1) {
		if (info->is_text)
			rec.key += c->key_base;
		n++;
		put(c, info, &rec, &section);
		if (sq_stream_wait(r))	/* streaming: out what came */
			out_pause(c);
	}
	if (rc < 0)
		die_closing(r, NULL);
	/* a header with no records after it still gets its line */
	if (c->headers && c->mode == OUT_VERBOSE && !info->is_text &&
	    info->major && section != info->section)
		print_header(info);
	if (info->is_text)
		c->key_base += n;
	sq_stream_close(r);
}

/* Frames from plain data (-F): text lines or an .npy, one operand. */
static void
cat_frames(struct seqcat *c, const char *path)
{
	struct sq_frames_in *f = sq_frames_in_open(path, c->frame_dim);
	const struct sq_stream_info info = { .kind = SQ_STREAM_FRAMES,
	    .is_text = 1 };
	struct sq_record rec;
	uint32_t section = 0;
	uint64_t n = 0;
	int rc;

	if (f == NULL)
		sq_die("%s", sq_errstr());
	while ((rc = sq_frames_in_next(f, &rec)) == 1) {
		rec.key += c->key_base;
		n++;
		put(c, &info, &rec, &section);
	}
	if (rc < 0)
		die_closing(NULL, f);
	c->key_base += n;
	sq_frames_in_close(f);
}

int
main(int argc, char *argv[])
{
	struct seqcat c = { .mode = OUT_VERBOSE };
	const char *id_opt = NULL, *path_opt = NULL;
	int ch, binary = 0, zlib = 0, text = 0;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "abF:ztHhV", longopts, NULL)) !=
	    -1)
		switch (ch) {
		case 'a': c.hard_align = 1; break;
		case 'F':
			c.frame_dim = sq_parse_long("--frames", optarg, 1,
			    1 << 20);
			c.kind = SQ_STREAM_FRAMES;
			break;
		case 'b': binary = 1; break;
		case 'z': zlib = 1; break;
		case 't': text = 1; break;
		case 'H': c.headers = 1; break;
		case OPT_MODEL_ID: id_opt = optarg; break;
		case OPT_MODEL_PATH: path_opt = optarg; break;
		case 'h': sq_help_exit();
		case 'V': sq_version_exit();
		default: sq_usage(stderr, 0); return 2;
		}
	if (text && (binary || zlib))
		sq_usage_error("-t excludes -b and -z");
	c.mode = zlib ? OUT_ZLIB : binary ? OUT_BINARY : text ? OUT_TEXT :
	    OUT_VERBOSE;
	if (c.headers && c.mode != OUT_VERBOSE)
		sq_usage_error("-H goes with the verbose form only");
	if (c.hard_align && (c.mode == OUT_BINARY || c.mode == OUT_ZLIB))
		sq_usage_error("-a goes with the verbose or the text form");
	if ((id_opt || path_opt) && c.mode != OUT_BINARY && c.mode != OUT_ZLIB)
		sq_usage_error("--model-id and --model-path go with -b or -z");
	if (id_opt && strlen(id_opt) > 255)
		sq_usage_error("--model-id: longer than 255 bytes");
	if (path_opt && strlen(path_opt) > 4095)
		sq_usage_error("--model-path: longer than 4095 bytes");
	c.model_id = id_opt;
	c.model_path = path_opt;
	/* refuse a terminal before reading anything, as gzip does */
	if ((c.mode == OUT_BINARY || c.mode == OUT_ZLIB) &&
	    isatty(STDOUT_FILENO))
		writer(&c);
	if (optind == argc)
		(c.frame_dim ? cat_frames : cat)(&c, NULL);
	for (int i = optind; i < argc; i++)
		(c.frame_dim ? cat_frames : cat)(&c, argv[i]);
	if (c.mode != OUT_VERBOSE)
		sq_writer_close(writer(&c));
	return sq_fshut(stdout, "<stdout>");
}
