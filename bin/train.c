/*
 * train: parallel text in, a seqpipe model file out (lib/train/trainer.h
 * does the work).  This file holds the command line, built from the one
 * settings table of lib/train/opts.h so that every setting is also a
 * config-file key, and what train says while it works: a progress bar
 * when stderr is a terminal, plain log lines otherwise (cron mails them).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "train/opts.h"
#include "train/trainer.h"
#include "base/util.h"

#define USAGE "[-qv] [--config file] [--dump-config] [-t threads] " \
    "((--src file | --src-frames file) --tgt file | --tsv file) " \
    "[setting ...] -o model"
#define HELP_HEAD \
"  -o, --output FILE          the model file to write\n" \
"  -t, --threads N            threads (default: the online cores)\n" \
"      --config FILE          settings from FILE (key value lines, or JSON);\n" \
"                             the command line wins\n" \
"      --dump-config          print the effective settings and exit\n" \
"  -q, --quiet                no notes or progress on stderr\n" \
"  -v, --verbose              echo the command line on stderr\n" \
"  -h, --help                 print this help and exit\n" \
"  -V, --version              print the version and exit\n" \
"Settings (each also a config-file key; a flag --x has --no-x):\n"

enum { OPT_SETTING = 1000, OPT_NO_SETTING = 2000, OPT_CONFIG = 3000,
    OPT_DUMP };

struct progress {
	int quiet, bar;
	long log_every;
	double last_draw;
	int drawn;		/* a bar is on the line */
};

static void
clear_bar(struct progress *p)
{
	if (p->drawn) {
		fprintf(stderr, "\r\033[K");
		p->drawn = 0;
	}
}

static void
on_note(void *ctx, const char *msg)
{
	struct progress *p = ctx;

	if (p->quiet)
		return;
	clear_bar(p);
	fprintf(stderr, "train: %s\n", msg);
}

static void
eta(char *buf, size_t size, const struct sq_train_report *r)
{
	double left = -1;

	/* from this run's pace: a resumed run's earlier time says nothing */
	if (r->max_steps > 0 && r->run_steps > 0)
		left = r->run_elapsed / r->run_steps * (r->max_steps - r->step);
	if (r->max_seconds > 0 && (left < 0 ||
	    r->max_seconds - r->elapsed < left))
		left = SQ_MAX(0, r->max_seconds - r->elapsed);
	if (left < 0) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, "%ld:%02ld:%02ld", (long)left / 3600,
	    (long)left / 60 % 60, (long)left % 60);
}

/* How far the run is: by steps or by --max-seconds, whichever ends it. */
static double
done_fraction(const struct sq_train_report *r)
{
	double f = r->max_steps > 0 ? (double)r->step / r->max_steps : 0;

	if (r->max_seconds > 0)
		f = SQ_MAX(f, r->elapsed / r->max_seconds);
	return SQ_MIN(1.0, f);
}

static void
on_report(void *ctx, const struct sq_train_report *r)
{
	struct progress *p = ctx;
	char e[32], steps[48], gd[32] = "";

	if (p->quiet)
		return;
	eta(e, sizeof(e), r);
	if (r->guide >= 0)	/* the guided-attention penalty, beside */
		snprintf(gd, sizeof(gd), " guide %.4f", r->guide);
	/* "step 120/4572", or "step 120" when no step count ends the run */
	snprintf(steps, sizeof(steps), "%ld", r->step);
	if (r->max_steps > 0)
		snprintf(steps + strlen(steps), sizeof(steps) - strlen(steps),
		    "/%ld", r->max_steps);
	if (r->validated) {
		clear_bar(p);
		fprintf(stderr, "train: step %ld: valid loss %.4f ppl %.2f",
		    r->step, r->valid_loss, r->valid_ppl);
		if (r->valid_bleu >= 0)
			fprintf(stderr, " bleu %.2f", r->valid_bleu);
		fprintf(stderr, "%s\n", r->best ? " (best)" : "");
	}
	if (p->bar) {
		int width = 24, fill;
		double frac = done_fraction(r);

		if (sq_now() - p->last_draw < 0.25 && r->step != r->max_steps)
			return;
		p->last_draw = sq_now();
		fill = (int)(frac * width);
		fprintf(stderr, "\r\033[Kstep %s [%.*s%*s] %3.0f%% loss "
		    "%.3f%s lr %.2e %.0f tok/s ETA %s", steps,
		    fill, "########################", width - fill, "",
		    100 * frac, r->loss, gd, r->lr, r->tok_per_s, e);
		p->drawn = 1;
	} else if (r->step % p->log_every == 0)
		fprintf(stderr, "train: step %s epoch %ld loss %.4f%s lr "
		    "%.3e %.0f tok/s elapsed %.0f s ETA %s\n", steps,
		    r->epoch, r->loss, gd, r->lr, r->tok_per_s, r->elapsed, e);
}

/* The getopt table: the fixed options, then a pair per setting. */
static struct option *
long_options(void)
{
	int n = sq_train_opts_count(), k = 0, i;
	struct option *lo = sq_calloc((size_t)2 * n + 16, sizeof(*lo));
	static char (*no)[64];	/* the "no-" names, alive until exit */

	no = sq_calloc((size_t)n, sizeof(*no));
	lo[k++] = (struct option){"threads", required_argument, NULL, 't'};
	lo[k++] = (struct option){"config", required_argument, NULL,
	    OPT_CONFIG};
	lo[k++] = (struct option){"dump-config", no_argument, NULL, OPT_DUMP};
	for (i = 0; i < n; i++) {
		const char *name = sq_train_opts_name(i);

		if (strcmp(name, "threads") == 0)
			continue;
		if (!sq_train_opts_is_flag(i)) {
			lo[k++] = (struct option){name, required_argument,
			    NULL, OPT_SETTING + i};
			continue;
		}
		lo[k++] = (struct option){name, no_argument, NULL,
		    OPT_SETTING + i};
		snprintf(no[i], sizeof(no[i]), "no-%s", name);
		lo[k++] = (struct option){no[i], no_argument, NULL,
		    OPT_NO_SETTING + i};
	}
	lo[k++] = (struct option){"quiet", no_argument, NULL, 'q'};
	lo[k++] = (struct option){"verbose", no_argument, NULL, 'v'};
	lo[k++] = (struct option){"help", no_argument, NULL, 'h'};
	lo[k++] = (struct option){"version", no_argument, NULL, 'V'};
	return lo;
}

/* The --config operand, read before the rest so the command line wins. */
static const char *
config_arg(int argc, char *argv[])
{
	const char *path = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	return path;
}

static void
set(struct sq_train_opts *o, const char *key, const char *value)
{
	if (sq_train_opts_set(o, key, value) < 0)
		sq_usage_error("--%s", sq_errstr());
}

int
main(int argc, char *argv[])
{
	struct sq_cli cli = {0};
	struct sq_train_opts o;
	struct progress p = {0};
	struct option *lo;
	const char *config;
	char *help;
	int ch, dump = 0, threads, rc;

	help = sq_malloc(strlen(HELP_HEAD) + strlen(sq_train_opts_help()) + 1);
	strcpy(help, HELP_HEAD);
	strcat(help, sq_train_opts_help());
	sq_cli_begin(&argv[0], USAGE, help);
	sq_train_opts_init(&o);
	if ((config = config_arg(argc, argv)) != NULL &&
	    sq_train_opts_read(&o, config) < 0)
		sq_die("%s", sq_errstr());
	lo = long_options();
	while ((ch = getopt_long(argc, argv, "o:t:qvhV", lo, NULL)) != -1) {
		if (ch >= OPT_NO_SETTING && ch < OPT_CONFIG)
			set(&o, sq_train_opts_name(ch - OPT_NO_SETTING), "0");
		else if (ch >= OPT_SETTING && ch < OPT_NO_SETTING)
			set(&o, sq_train_opts_name(ch - OPT_SETTING),
			    sq_train_opts_is_flag(ch - OPT_SETTING) ? "1" :
			    optarg);
		else if (ch == 'o')
			set(&o, "output", optarg);
		else if (ch == 't')
			set(&o, "threads", optarg);
		else if (ch == OPT_DUMP)
			dump = 1;
		else if (ch != OPT_CONFIG)
			sq_cli_option(&cli, ch);
	}
	if (optind < argc)
		sq_usage_error("unexpected operand \"%s\": the data are "
		    "--src/--tgt or --tsv", argv[optind]);
	sq_cli_echo(&cli, argc, argv);
	free(lo);
	if (dump) {
		sq_train_opts_dump(&o, stdout);
		sq_train_opts_free(&o);
		free(help);
		return sq_fshut(stdout, "<stdout>");
	}
	if (sq_train_opts_check(&o) < 0)
		sq_usage_error("%s", sq_errstr());

	p.quiet = cli.quiet;
	p.log_every = o.log_every;
	p.bar = strcmp(o.progress, "bar") == 0 ||
	    (strcmp(o.progress, "auto") == 0 && isatty(STDERR_FILENO));
	cli.threads = (int)o.threads;
	threads = sq_cli_threads(&cli);
	rc = sq_train(&o, threads, on_report, on_note, &p);
	clear_bar(&p);
	if (rc < 0)
		sq_die("%s", sq_errstr());
	sq_train_opts_free(&o);
	free(help);
	return 0;
}
