/*
 * cmd_gemfile.c: `scint add GEM` and `scint remove GEM...`: the Gemfile
 * edits of `bundle add` and `bundle remove` (bundle/gemfile_edit.h, byte for
 * byte), then what comes next: scint does not resolve yet, so instead of
 * locking and installing as Bundler does, they say to run `scint lock` (or
 * `bundle lock`) and `scint install`.
 *
 * gemfile_edit_apply() is the whole edit (read, change, write back in place
 * of the Gemfile, keeping its mode), separate from the commands so that
 * locking can follow it once the resolver exists. `add` without --version
 * needs the resolver to choose Bundler's "~> x.y" requirement and refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "bundle/gemfile_edit.h"
#include "bundle/lockfile.h"
#include "bundle/names.h"
#include "cli/cli.h"
#include "cli/gemfile_cmds.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define GEMFILE_EDIT_MAX (16u << 20)

/* Bundler's exit statuses: GemfileError 4, InvalidOption 15. */
enum {
	BUNDLER_GEMFILE_ERROR = 4,
	BUNDLER_INVALID_OPTION = 15
};

int gemfile_edit_apply(const char *gemfile, const struct gemfile_edit *e)
{
	char real[PATH_MAX];
	struct sbuf text = SBUF_INIT, out = SBUF_INIT, err = SBUF_INIT;
	struct stat st;
	int r, rc = CLI_FAILED;

	if (!realpath(gemfile, real) || stat(real, &st) < 0) {
		cli_error("cannot read %s: %s", gemfile, strerror(errno));
		return CLI_FAILED;
	}
	if ((r = fs_read_file(real, &text, GEMFILE_EDIT_MAX)) < 0) {
		cli_error("cannot read %s: %s", real, sc_strerror(r));
		goto out;
	}
	if (e->add) {
		struct sbuf lines = SBUF_INIT;
		for (size_t i = 0; i < e->ngems; i++) {
			if (i)
				sbuf_addch(&lines, '\n');
			if (gemfile_add_line(&lines, e->gems[i], e->reqs, e->nreqs, e->groups,
					     e->ngroups, &err) < 0) {
				fprintf(stderr, "%s\n", err.buf);
				sbuf_release(&lines);
				rc = BUNDLER_INVALID_OPTION;
				goto out;
			}
			/* Bundler refuses a gem the Gemfile already has (its DSL sees it twice). */
			bool found = false;
			struct sbuf scratch = SBUF_INIT;
			gemfile_remove(sbuf_strv(&text), &e->gems[i], 1, &found, &scratch);
			sbuf_release(&scratch);
			if (found) {
				fprintf(stderr,
					"You cannot specify the same gem twice: '%s' is already in "
					"%s\n",
					e->gems[i], real);
				sbuf_release(&lines);
				rc = BUNDLER_GEMFILE_ERROR;
				goto out;
			}
		}
		gemfile_append(sbuf_strv(&text), lines.buf, &out);
		sbuf_release(&lines);
	} else {
		bool *found = calloc(e->ngems + 1, sizeof(*found));
		if (!found)
			abort();
		for (size_t i = 0; i < e->ngems; i++) {
			const char *why;
			if (names_check_gem(strv_from(e->gems[i]), &why) < 0) {
				fprintf(stderr,
					"`%s` is not specified in %s so it could not be removed.\n",
					e->gems[i], real);
				free(found);
				rc = BUNDLER_GEMFILE_ERROR;
				goto out;
			}
		}
		printf("Removing gems from %s\n", real);
		gemfile_remove(sbuf_strv(&text), e->gems, e->ngems, found, &out);
		for (size_t i = 0; i < e->ngems; i++) {
			if (!found[i]) {
				fprintf(stderr,
					"`%s` is not specified in %s so it could not be removed.\n",
					e->gems[i], real);
				free(found);
				rc = BUNDLER_GEMFILE_ERROR;
				goto out;
			}
		}
		free(found);
		/*
		 * Bundler's cross-check: a line naming another gem too (`gem "a"; gem "b"`)
		 * would remove it as well; then nothing is written.
		 */
		struct sbuf extra = SBUF_INIT;
		for (size_t k = 0; k < e->nknown; k++) {
			bool mine = false, before = false, after = false;
			for (size_t i = 0; i < e->ngems; i++)
				mine |= !strcmp(e->known[k], e->gems[i]);
			struct sbuf scratch = SBUF_INIT;
			if (!mine)
				gemfile_remove(sbuf_strv(&text), &e->known[k], 1, &before,
					       &scratch);
			if (before) {
				sbuf_reset(&scratch);
				gemfile_remove(sbuf_strv(&out), &e->known[k], 1, &after, &scratch);
			}
			sbuf_release(&scratch);
			if (before && !after)
				sbuf_addf(&extra, "%s%s", extra.len ? ", " : "", e->known[k]);
		}
		if (extra.len) {
			fprintf(stderr,
				"Gems could not be removed. %s would also have been removed. scint "
				"cannot continue.\n",
				extra.buf);
			sbuf_release(&extra);
			rc = BUNDLER_INVALID_OPTION;
			goto out;
		}
		sbuf_release(&extra);
	}
	char *slash = strrchr(real, '/');
	*slash = '\0';
	int dfd = fs_open_dir(real[0] ? real : "/");
	*slash = '/';
	if (dfd < 0 ||
	    (r = fs_write_atomic(dfd, slash + 1, out.buf, out.len, st.st_mode & 07777)) < 0) {
		cli_error("cannot write %s: %s", real, sc_strerror(dfd < 0 ? dfd : r));
		if (dfd >= 0)
			(void)close(dfd);
		goto out;
	}
	(void)close(dfd);
	rc = CLI_OK;
out:
	sbuf_release(&text);
	sbuf_release(&out);
	sbuf_release(&err);
	return rc;
}

/* Splits "a, b" at commas (Bundler: split(",").map(&:strip)) into v (malloc'd). */
static size_t gemfile_split(char *s, const char ***v, size_t n)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t len = strlen(tok);
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		*v = realloc(*v, (n + 1) * sizeof(**v));
		if (!*v)
			abort();
		(*v)[n++] = tok;
	}
	return n;
}

static void gemfile_next_steps(void)
{
	printf("scint does not resolve yet: run `scint lock` (or `bundle lock`) to update "
	       "Gemfile.lock, then `scint install`\n");
}

static const char add_help[] =
	"usage: scint add GEM... --version REQ [--group GROUP] [--gemfile FILE]\n"
	"\n"
	"Adds the gem to the Gemfile as `bundle add` does (the same line), then says\n"
	"to lock and install: scint does not resolve yet, so --version is needed\n"
	"(Bundler picks \"~> x.y\" of the newest version by resolving).\n"
	"\n"
	"  -v, --version REQ   requirement(s), comma-separated: \"~> 1.2\", \"1.2.3\"\n"
	"  -g, --group GROUP   group(s), comma-separated\n";

static int add_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "group", required_argument, NULL, 'g' },
		{ "gemfile", required_argument, NULL, 'G' },
		{ "skip-install", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gemfile_edit e = { .add = true };
	const char *gemfile = NULL;
	char *version = NULL, *group = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "v:g:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			version = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'G':
			gemfile = optarg;
			break;
		case 'S':
			break;
		case 'h':
			fputs(add_help, stdout);
			return CLI_OK;
		default:
			fputs(add_help, stderr);
			return CLI_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "Please specify gems to add.\n");
		return BUNDLER_INVALID_OPTION;
	}
	if (!version) {
		cli_error(
			"scint add needs --version: choosing the version (Bundler's \"~> x.y\" of "
			"the newest) needs the resolver, which scint does not have yet; or use "
			"`bundle add %s`",
			argv[optind]);
		return CLI_USAGE;
	}
	e.gems = (const char *const *)(argv + optind);
	e.ngems = (size_t)(argc - optind);
	const char **reqs = NULL, **groups = NULL;
	e.nreqs = gemfile_split(version, &reqs, 0);
	e.reqs = reqs;
	if (group) {
		e.ngroups = gemfile_split(group, &groups, 0);
		e.groups = groups;
	}
	struct arena a;
	struct install_opts o = { 0 };
	arena_init(&a);
	rc = cli_find_gemfile(&a, gemfile, &o) < 0 ? CLI_FAILED : gemfile_edit_apply(o.gemfile, &e);
	if (rc == CLI_OK) {
		for (size_t i = 0; i < e.ngems; i++)
			printf("Added %s to %s\n", e.gems[i], o.gemfile);
		gemfile_next_steps();
	}
	arena_release(&a);
	free(reqs);
	free(groups);
	return rc;
}

const struct cli_cmd cmd_add = {
	.name = "add",
	.summary = "add a gem to the Gemfile (as bundle add)",
	.run = add_main,
};

static const char remove_help[] =
	"usage: scint remove GEM... [--gemfile FILE]\n"
	"\n"
	"Removes the gems from the Gemfile as `bundle remove` does (the same bytes),\n"
	"then says to lock and install (scint does not resolve yet).\n";

static int remove_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "gemfile", required_argument, NULL, 'G' },
		{ "install", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct gemfile_edit e = { .add = false };
	const char *gemfile = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'G')
			gemfile = optarg;
		else if (c == 'h') {
			fputs(remove_help, stdout);
			return CLI_OK;
		} else if (c != 'I') {
			fputs(remove_help, stderr);
			return CLI_USAGE;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "Please specify gems to remove.\n");
		return BUNDLER_INVALID_OPTION;
	}
	e.gems = (const char *const *)(argv + optind);
	e.ngems = (size_t)(argc - optind);
	struct arena a;
	struct install_opts o = { 0 };
	arena_init(&a);
	/* The lock's dependencies: for the cross-check and for the messages. */
	struct sbuf text = SBUF_INIT, perr = SBUF_INIT;
	struct lockfile lock = { 0 };
	bool have_lock = false;
	const char **known = NULL;
	rc = cli_find_gemfile(&a, gemfile, &o) < 0 ? CLI_FAILED : CLI_OK;
	if (rc == CLI_OK) {
		have_lock = fs_read_file(o.lockfile, &text, GEMFILE_EDIT_MAX) == 0 &&
			    lockfile_parse(&a, sbuf_strv(&text), &lock, &perr) == 0;
		known = calloc(lock.ndeps + 1, sizeof(*known));
		if (!known)
			abort();
		for (size_t k = 0; have_lock && k < lock.ndeps; k++)
			known[e.nknown++] = lock.deps[k].name;
		e.known = known;
		rc = gemfile_edit_apply(o.gemfile, &e);
	}
	if (rc == CLI_OK) {
		/* Bundler names the requirement too ("x (~> 1.0) was removed."): the lock has it.
		 */
		for (size_t i = 0; i < e.ngems; i++) {
			const char *reqs = NULL;
			for (size_t k = 0; have_lock && k < lock.ndeps; k++)
				if (!strcmp(lock.deps[k].name, e.gems[i]))
					reqs = lock.deps[k].reqs;
			if (reqs && strcmp(reqs, ">= 0"))
				printf("%s (%s) was removed.\n", e.gems[i], reqs);
			else
				printf("%s was removed.\n", e.gems[i]);
		}
		gemfile_next_steps();
	}
	free(known);
	sbuf_release(&text);
	sbuf_release(&perr);
	arena_release(&a);
	return rc;
}

const struct cli_cmd cmd_remove = {
	.name = "remove",
	.summary = "remove gems from the Gemfile (as bundle remove)",
	.run = remove_main,
};
