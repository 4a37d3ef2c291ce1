/*
 * cli: usage, version, option values and the -m/-t/-q/-v conventions.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/util.h"

#ifndef SQ_VERSION
#define SQ_VERSION "0.0"
#endif

static const char *cli_usage = "";
static const char *cli_help = "";

/*
 * A standard descriptor the program was started without (prog >&-)
 * would be taken by the next file opened, and what the program writes
 * to stdout or stderr would go into that file: a model being saved, say.
 * Each closed one is held by /dev/null opened the wrong way round, so
 * that writing stdout still fails (EBADF: "<stdout>: write error") as it
 * would on the closed descriptor, and reading stdin too.
 */
static void
hold_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int got;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* open() takes the lowest free descriptor: fd */
		got = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
		if (got >= 0 && got != fd)
			close(got);
	}
}

void
sq_cli_begin(char **argv0, const char *usage, const char *help)
{
	char *slash = strrchr(*argv0, '/');

	hold_std_fds();
	if (slash)
		*argv0 = slash + 1;
	sq_setprogname(*argv0);
	cli_usage = usage;
	cli_help = help;
}

void
sq_usage(FILE *f, int full)
{
	fprintf(f, "usage: %s %s\n", sq_progname(), cli_usage);
	if (full && cli_help[0])
		fprintf(f, "\n%s", cli_help);
}

void
sq_help_exit(void)
{
	sq_usage(stdout, 1);
	exit(sq_fshut(stdout, "<stdout>"));
}

void
sq_version_exit(void)
{
	printf("%s (seqpipe) %s\n", sq_progname(), SQ_VERSION);
	exit(sq_fshut(stdout, "<stdout>"));
}

void
sq_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sq_progname());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	sq_usage(stderr, 0);
	exit(2);
}

void
sq_cli_option(struct sq_cli *cli, int ch)
{
	switch (ch) {
	case 'q': cli->quiet = 1; break;
	case 'v': cli->verbose = 1; break;
	case 'h': sq_help_exit();
	case 'V': sq_version_exit();
	default:
		sq_usage(stderr, 0);
		exit(2);
	}
}

long
sq_parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		sq_usage_error("%s: '%s' is not an integer in [%ld, %ld]", opt,
		    s, lo, hi);
	return v;
}

int
sq_parse_choice(const char *opt, const char *s, const char *const *names,
    int n)
{
	char list[256] = "";
	size_t len;
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	for (i = 0; i < n; i++) {
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", i == 0 ? "" :
		    i == n - 1 ? " or " : ", ", names[i]);
	}
	sq_usage_error("%s: '%s' is not %s", opt, s, list);
}

double
sq_parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || isnan(v) || v < lo || v > hi)
		sq_usage_error("%s: '%s' is not a number in [%g, %g]", opt, s,
		    lo, hi);
	return v;
}

const char *
sq_cli_model(const struct sq_cli *cli)
{
	const char *env;

	if (cli->model)
		return cli->model;
	env = getenv("SEQPIPE_MODEL");
	return env && *env ? env : NULL;
}

int
sq_cli_threads(const struct sq_cli *cli)
{
	return cli->threads > 0 ? cli->threads : sq_ncores();
}

void
sq_cli_echo(const struct sq_cli *cli, int argc, char *argv[])
{
	int i;

	if (!cli->verbose)
		return;
	fprintf(stderr, "%s:", sq_progname());
	for (i = 0; i < argc; i++)
		fprintf(stderr, " %s", argv[i]);
	fputc('\n', stderr);
}

void
sq_note(const struct sq_cli *cli, const char *fmt, ...)
{
	va_list ap;

	if (cli->quiet)
		return;
	fprintf(stderr, "%s: ", sq_progname());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
