/*
 * main.c: scint's entry point and command table.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/env.h"
#include "cli/cli.h"
#include "engine/sched.h"

static const struct cli_cmd *const cli_cmds[] = {
	&cmd_install,
	&cmd_check,
	&cmd_list,
	&cmd_info,
	&cmd_clean,
	&cmd_binstubs,
	&cmd_add,
	&cmd_remove,
	&cmd_lock,
	&cmd_update,
	&cmd_outdated,
	&cmd_cache,
	&cmd_index,
	&cmd_exec,
};

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: scint <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < SC_ARRAY_SIZE(cli_cmds); i++)
		fprintf(f, "  %-9s %s\n", cli_cmds[i]->name, cli_cmds[i]->summary);
	fprintf(f, "\n`scint help <command>` or `scint <command> --help` describes a command;\n"
		   "`scint --version` prints the version.\n");
}

bool cli_color(int fd)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(fd) && !(nc && *nc) && !getenv("SCINT_NO_COLOR");
}

static void cli_vmsg(const char *label, const char *color, const char *fmt, va_list ap)
{
	bool c = cli_color(2);

	fprintf(stderr, "%s%s%s ", c ? color : "", label, c ? "\033[0m" : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg("error:", "\033[1;31m", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg("warning:", "\033[1;33m", fmt, ap);
	va_end(ap);
}

char *cli_cache_root(void)
{
	const char *e = getenv("SCINT_CACHE");
	char buf[PATH_MAX];

	if (e && *e)
		return realpath(e, buf) ? strdup(buf) : strdup(e);
	e = getenv("XDG_CACHE_HOME");
	if (e && *e) {
		snprintf(buf, sizeof(buf), "%s/scint", e);
		return strdup(buf);
	}
	e = getenv("HOME");
	snprintf(buf, sizeof(buf), "%s/.cache/scint", e && *e ? e : "/tmp");
	return strdup(buf);
}

char *cli_helper_path(void)
{
	const char *e = getenv("SCINT_HELPER");
	char exe[PATH_MAX], buf[PATH_MAX + 64];
	static const char *const rel[] = {
		"../share/scint/helper.rb", /* installed: <prefix>/bin/scint */
		"../../phases/ruby/helper.rb", /* build tree: build/<kind>/scint */
	};

	if (e && *e)
		return strdup(e);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < SC_ARRAY_SIZE(rel); i++) {
			snprintf(buf, sizeof(buf), "%s/%s", exe, rel[i]);
			if (access(buf, R_OK) == 0) {
				char real[PATH_MAX];
				return strdup(realpath(buf, real) ? real : buf);
			}
		}
	}
	return strdup("/usr/local/share/scint/helper.rb");
}

static const struct cli_cmd *cli_find(const char *name)
{
	for (size_t i = 0; i < SC_ARRAY_SIZE(cli_cmds); i++)
		if (!strcmp(name, cli_cmds[i]->name))
			return cli_cmds[i];
	return NULL;
}

/* A scheduler stalled (a bug): which jobs never finished, before it aborts. */
static void cli_sched_stalled(const struct sched *s)
{
	struct sbuf report = SBUF_INIT;

	sched_format_unfinished(s, &report);
	fprintf(stderr, "scint: internal error: the scheduler stalled with unfinished jobs:\n%s",
		sbuf_cstr(&report));
	sbuf_release(&report);
}

int main(int argc, char **argv)
{
	sched_set_stall_handler(cli_sched_stalled);
	/* `scint help CMD` is `scint CMD --help`. */
	if (argc >= 3 && !strcmp(argv[1], "help")) {
		const struct cli_cmd *c = cli_find(argv[2]);
		if (!c) {
			cli_error("unknown command '%s'", argv[2]);
			cli_usage(stderr);
			return CLI_USAGE;
		}
		static char help_opt[] = "--help";
		char *hargv[] = { argv[2], help_opt, NULL };
		return c->run(2, hargv);
	}
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		cli_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("scint %s\n", SCINT_VERSION);
		return CLI_OK;
	}
	const struct cli_cmd *c = cli_find(argv[1]);
	/*
	 * The remote cache's settings (keys, token, credentials, the AWS
	 * credentials of an S3 remote) stay in scint:
	 * no build, helper or git it starts sees them. `exec` hands the
	 * environment to the user's own command, as `bundle exec` does.
	 */
	if (c && strcmp(c->name, "exec")) {
		env_hide("SCINT_REMOTE_CACHE");
		env_hide("AWS_ACCESS_KEY_ID");
		env_hide("AWS_SECRET_ACCESS_KEY");
		env_hide("AWS_SESSION_TOKEN");
	}
	if (c)
		return c->run(argc - 1, argv + 1);
	cli_error("unknown command '%s'", argv[1]);
	cli_usage(stderr);
	return CLI_USAGE;
}
