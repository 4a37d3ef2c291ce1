/*
 * seqimport: converts a foreign model to a seqpipe model file: an OPUS-MT
 * / Tatoeba-MT Marian release (its zip, or the folder it unpacks to;
 * lib/import/marian.c), or a Hugging Face MarianMTModel folder, told
 * apart by its config.json (lib/import/hf.c); or rewrites a seqpipe
 * model file, a regular file that is not a zip (lib/import/recast.c),
 * with its weights in another dtype.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cli.h"
#include "base/util.h"
#include "import/hf.h"
#include "import/marian.h"
#include "import/recast.h"
#include "nn/model.h"

#define USAGE "[-qv] [--dtype t] [--panels] -o model release"
#define HELP \
"release: an OPUS-MT zip, the folder it unpacks to, a Hugging Face\n" \
"MarianMTModel folder (config.json, model.safetensors, vocab.json, ...),\n" \
"or a seqpipe model file to write again in another dtype\n\n" \
"  -o, --output FILE      the seqpipe model to write (required)\n" \
"      --dtype T          its weights as f32, f16 or int8 (default: f32)\n" \
"      --panels           f32: the matrices in the kernels' panel layout,\n" \
"                         for encode, decode and beamsearch to map\n" \
"  -q, --quiet            no note of what was written\n" \
"  -v, --verbose          echo the command line on stderr\n" \
"  -h, --help             print this help and exit\n" \
"  -V, --version          print the version and exit\n"

enum { OPT_DTYPE = 256, OPT_PANELS };

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "dtype", required_argument, NULL, OPT_DTYPE },
	{ "panels", no_argument, NULL, OPT_PANELS },
	SQ_CLI_LONGOPTS
};

/* A regular file that is not a zip (a Marian release) is a model file. */
static int
model_file(const char *path)
{
	char magic[4] = "";
	struct stat st;
	FILE *f;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (f = fopen(path, "rb")) == NULL)
		return 0;
	if (fread(magic, 1, 4, f) != 4)
		magic[0] = 0;
	fclose(f);
	return memcmp(magic, "PK\3\4", 4) != 0;
}

int
main(int argc, char *argv[])
{
	struct sq_cli cli = { 0 };
	const char *out = NULL, *in, *tool = "seqimport " SQ_VERSION;
	int ch, dtype = SQ_W_F32, panels = 0, rc;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "o:qvhV", longopts, NULL)) != -1)
		switch (ch) {
		case 'o': out = optarg; break;
		case OPT_DTYPE:
			dtype = sq_parse_choice("--dtype", optarg,
			    sq_weight_dtype_names, SQ_W_N);
			break;
		case OPT_PANELS: panels = 1; break;
		default: sq_cli_option(&cli, ch);
		}
	if (out == NULL)
		sq_usage_error("no output: give -o model");
	if (panels && dtype != SQ_W_F32)
		sq_usage_error("--panels: for --dtype f32 only (int8 matrices "
		    "are stored packed already)");
	if (argc - optind != 1)
		sq_usage_error("give one release (a .zip or a folder)");
	sq_cli_echo(&cli, argc, argv);
	in = argv[optind];
	if (sq_hf_folder(in))
		rc = sq_hf_import(in, out, dtype, panels, tool);
	else if (model_file(in))
		rc = sq_recast(in, out, dtype, panels, tool);
	else
		rc = sq_marian_import(in, out, dtype, panels, tool);
	if (rc < 0)
		sq_die("%s", sq_errstr());
	sq_note(&cli, "wrote %s", out);
	return sq_fshut(stdout, "<stdout>");
}
