/*
 * cli: what every program's command line shares (design.md §4).
 *
 * A program calls sq_cli_begin(&argv[0], USAGE, HELP) first.  USAGE is the
 * man page SYNOPSIS without the name ("[-q] [-m model] [file ...]"); HELP is
 * the option list printed after it by --help, one line per option with its
 * default.  Usage errors exit 2, runtime errors exit 1, --help and
 * --version print to stdout and exit 0.
 */
#ifndef SQ_CLI_H
#define SQ_CLI_H

#include <stdio.h>

/* Common settings; a program uses the ones it has. */
struct sq_cli {
	const char *model;	/* -m, else $SEQPIPE_MODEL, else NULL */
	int threads;		/* -t; 0 means "the online cores" */
	int quiet;		/* -q: sq_note() prints nothing */
	int verbose;		/* -v: echo the command line, more notes */
};

/*
 * *argv0 is pointed at its basename, so that getopt's own messages also
 * begin "prog:" rather than with the path the program was started by.
 * The string itself is left alone: ps and /proc/PID/cmdline still show
 * the command as it was started.
 */
void sq_cli_begin(char **argv0, const char *usage, const char *help);

/* The long options every filter has: ends its getopt_long table. */
#define SQ_CLI_LONGOPTS \
	{ "quiet", no_argument, NULL, 'q' }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }, \
	{ NULL, 0, NULL, 0 }

/*
 * The default: case of a program's option switch: -q and -v set cli,
 * -h and -V print and exit 0, anything else is a usage error (getopt has
 * said why) and exits 2.
 */
void sq_cli_option(struct sq_cli *cli, int ch);

/* "usage: prog USAGE" and, if full, the HELP text. */
void sq_usage(FILE *f, int full);
/* --help: full usage on stdout, exit 0. */
void sq_help_exit(void) __attribute__((noreturn));
/* --version: "prog (seqpipe) VERSION" on stdout, exit 0. */
void sq_version_exit(void) __attribute__((noreturn));
/* "prog: message" and the short usage on stderr, exit 2. */
void sq_usage_error(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Option values; a bad value is a usage error naming the option. */
long sq_parse_long(const char *opt, const char *s, long lo, long hi);
double sq_parse_double(const char *opt, const char *s, double lo, double hi);
/* The index of s in names (n of them); another value is a usage error. */
int sq_parse_choice(const char *opt, const char *s, const char *const *names,
    int n);

/* -m if given, else $SEQPIPE_MODEL if set and non-empty, else NULL. */
const char *sq_cli_model(const struct sq_cli *cli);
/* -t if given, else the online cores. */
int sq_cli_threads(const struct sq_cli *cli);
/* With -v: echo argv to stderr, as Kaldi does, for logs of many programs. */
void sq_cli_echo(const struct sq_cli *cli, int argc, char *argv[]);

/*
 * "prog: message" on stderr unless -q: the one way a program reports
 * something after which it goes on (a source cut to the positions, say);
 * errors go through sq_die() and are never silenced.
 */
void sq_note(const struct sq_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
