/*
 * seqimport: converts a foreign model to a seqpipe model file: an OPUS-MT
 * / Tatoeba-MT Marian release (its zip, or the folder it unpacks to;
 * lib/import/marian.c), or a Hugging Face MarianMTModel folder, told
 * apart by its config.json (lib/import/hf.c).
 */
#include <getopt.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/util.h"
#include "import/hf.h"
#include "import/marian.h"

#define USAGE "[-qv] -o model release"
#define HELP \
"release: an OPUS-MT zip, the folder it unpacks to, or a Hugging Face\n" \
"MarianMTModel folder (config.json, model.safetensors, vocab.json, ...)\n\n" \
"  -o, --output FILE      the seqpipe model to write (required)\n" \
"  -q, --quiet            no note of what was written\n" \
"  -v, --verbose          echo the command line on stderr\n" \
"  -h, --help             print this help and exit\n" \
"  -V, --version          print the version and exit\n"

static const struct option longopts[] = {
	{ "output", required_argument, NULL, 'o' },
	SQ_CLI_LONGOPTS
};

int
main(int argc, char *argv[])
{
	struct sq_cli cli = { 0 };
	const char *out = NULL;
	int ch;

	sq_cli_begin(&argv[0], USAGE, HELP);
	while ((ch = getopt_long(argc, argv, "o:qvhV", longopts, NULL)) != -1)
		switch (ch) {
		case 'o': out = optarg; break;
		default: sq_cli_option(&cli, ch);
		}
	if (out == NULL)
		sq_usage_error("no output: give -o model");
	if (argc - optind != 1)
		sq_usage_error("give one release (a .zip or a folder)");
	sq_cli_echo(&cli, argc, argv);
	if ((sq_hf_folder(argv[optind]) ? sq_hf_import :
	    sq_marian_import)(argv[optind], out, "seqimport " SQ_VERSION) < 0)
		sq_die("%s", sq_errstr());
	sq_note(&cli, "wrote %s", out);
	return sq_fshut(stdout, "<stdout>");
}
