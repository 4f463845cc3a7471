/*
 * cmd_gemfile.c: `scint add GEM` and `scint remove GEM...`, as Bundler
 * 2.3's `bundle add` / `bundle remove`: the Gemfile edit of its Injector
 * (bundle/gemfile_edit.h, byte for byte), then the lock and the install.
 *
 * add: the gem line goes in with the requirement given (none without
 * --version), `scint lock` resolves (in this process, the same code path);
 * without --version the line is then rewritten with Bundler's conservative
 * requirement of the version locked ("~> x.y"; --strict "= ", --optimistic
 * ">= "). As Bundler's inject, the lockfile is the one resolved with the line
 * as first written (its DEPENDENCIES name the gem bare); `scint install`
 * follows unless --skip-install and re-locks from the final Gemfile. When
 * resolving or rewriting fails, the Gemfile and the lockfile get their
 * original bytes back and the status is non-zero.
 * remove: the edit, then `scint install` (which re-locks), as Bundler does;
 * --install is accepted (Bundler's deprecated flag).
 *
 * gemfile_edit_apply() is the whole edit (read, change, write back in place
 * of the Gemfile, keeping its mode).
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

/* Runs `scint <cmd> --gemfile FILE [extra]` in this process. */
static int gemfile_run(const struct cli_cmd *cmd, const char *gemfile, const char *extra)
{
	char *argv[5];
	int argc = 0, rc;

	argv[argc++] = strdup(cmd->name);
	argv[argc++] = strdup("--gemfile");
	argv[argc++] = strdup(gemfile);
	if (extra)
		argv[argc++] = strdup(extra);
	argv[argc] = NULL;
	for (int i = 0; i < argc; i++)
		if (!argv[i])
			abort();
	char *keep[5];
	memcpy(keep, argv, sizeof(keep)); /* getopt_long permutes argv */
	optind = 0;			  /* getopt_long starts over */
	rc = cmd->run(argc, argv);
	for (int i = 0; i < argc; i++)
		free(keep[i]);
	return rc;
}

/* A file's bytes, or its absence, to put back. */
struct gemfile_saved {
	char *path;
	struct sbuf text;
	bool exists;
	mode_t mode;
};

static int gemfile_save(struct gemfile_saved *s, const char *path)
{
	struct stat st;
	int r;

	s->path = realpath(path, NULL);
	s->exists = s->path && stat(s->path, &st) == 0;
	if (!s->exists) {
		free(s->path);
		s->path = strdup(path);
		if (!s->path)
			abort();
		return 0;
	}
	s->mode = st.st_mode & 07777;
	if ((r = fs_read_file(s->path, &s->text, GEMFILE_EDIT_MAX)) < 0)
		cli_error("cannot read %s: %s", s->path, sc_strerror(r));
	return r;
}

static void gemfile_restore(const struct gemfile_saved *s)
{
	int r;
	char *slash = strrchr(s->path, '/');

	if (!s->exists) {
		if (unlink(s->path) < 0 && errno != ENOENT)
			cli_error("cannot remove %s: %s", s->path, strerror(errno));
		return;
	}
	*slash = '\0';
	int dfd = fs_open_dir(s->path[0] ? s->path : "/");
	*slash = '/';
	if (dfd < 0 || (r = fs_write_atomic(dfd, slash + 1, s->text.buf ? s->text.buf : "",
					    s->text.len, s->mode)) < 0)
		cli_error("cannot restore %s: %s", s->path, sc_strerror(dfd < 0 ? dfd : r));
	if (dfd >= 0)
		(void)close(dfd);
}

static void gemfile_saved_release(struct gemfile_saved *s)
{
	free(s->path);
	sbuf_release(&s->text);
}

/*
 * The version of name the lockfile locks (its first spec line, as
 * Bundler's definition.specs[name][0]), in a, or NULL.
 */
static const char *gemfile_locked_version(struct arena *a, const char *lockfile, const char *name)
{
	struct sbuf text = SBUF_INIT, perr = SBUF_INIT;
	struct lockfile lock = { 0 };
	const char *v = NULL;

	if (fs_read_file(lockfile, &text, GEMFILE_EDIT_MAX) == 0 &&
	    lockfile_parse(a, sbuf_strv(&text), &lock, &perr) == 0)
		for (size_t s = 0; s < lock.nsources && !v; s++)
			for (size_t k = 0; k < lock.sources[s].nspecs && !v; k++)
				if (!strcmp(lock.sources[s].specs[k].name, name))
					v = lock.sources[s].specs[k].version;
	sbuf_release(&text);
	sbuf_release(&perr);
	return v;
}

static const char add_help[] =
	"usage: scint add GEM... [--version REQ] [--group GROUP] [--skip-install]\n"
	"                 [--strict|--optimistic] [--gemfile FILE]\n"
	"\n"
	"Adds the gems to the Gemfile as `bundle add` does (the same line), resolves\n"
	"and writes Gemfile.lock, then installs. Without --version the line gets the\n"
	"requirement Bundler writes for the version resolved: \"~> x.y\" (\"~> 0.y.z\"\n"
	"below 1.0). When the gems cannot be resolved, the Gemfile and Gemfile.lock\n"
	"are left as they were.\n"
	"\n"
	"  -v, --version REQ   requirement(s), comma-separated: \"~> 1.2\", \"1.2.3\"\n"
	"  -g, --group GROUP   group(s), comma-separated\n"
	"      --strict        write \"= x.y\" instead of \"~> x.y\"\n"
	"      --optimistic    write \">= x.y\" instead of \"~> x.y\"\n"
	"      --skip-install  only write the Gemfile and Gemfile.lock\n";

static int add_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "group", required_argument, NULL, 'g' },
		CLI_OPTION_GEMFILE,
		{ "skip-install", no_argument, NULL, 'S' },
		{ "strict", no_argument, NULL, 's' },
		{ "optimistic", no_argument, NULL, 'o' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct gemfile_edit e = { .add = true };
	struct cli_common co = { 0 };
	const char *prefix = "~> ";
	char *version = NULL, *group = NULL;
	bool skip_install = false, strict = false, optimistic = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "v:g:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			version = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'S':
			skip_install = true;
			break;
		case 's':
			strict = true;
			prefix = "= ";
			break;
		case 'o':
			optimistic = true;
			prefix = ">= ";
			break;
		case 'h':
			fputs(add_help, stdout);
			return CLI_OK;
		default:
			if (cli_common_option(&co, c, optarg))
				break;
			fputs(add_help, stderr);
			return CLI_USAGE;
		}
	}
	if (strict && optimistic) {
		fprintf(stderr,
			"You can not specify `--strict` and `--optimistic` at the same time.\n");
		return BUNDLER_INVALID_OPTION;
	}
	if (optind == argc) {
		fprintf(stderr, "Please specify gems to add.\n");
		return BUNDLER_INVALID_OPTION;
	}
	e.gems = (const char *const *)(argv + optind);
	e.ngems = (size_t)(argc - optind);
	const char **reqs = NULL, **groups = NULL, **cons = NULL;
	if (version) {
		e.nreqs = gemfile_split(version, &reqs, 0);
		e.reqs = reqs;
	}
	if (group) {
		e.ngroups = gemfile_split(group, &groups, 0);
		e.groups = groups;
	}
	struct arena a;
	struct install_opts o = { 0 };
	struct gemfile_saved gf = { .text = SBUF_INIT }, lf = { .text = SBUF_INIT };
	arena_init(&a);
	rc = cli_find_gemfile(&a, co.gemfile, &o) < 0 ? CLI_FAILED : CLI_OK;
	if (rc == CLI_OK && (gemfile_save(&gf, o.gemfile) < 0 || gemfile_save(&lf, o.lockfile) < 0))
		rc = CLI_FAILED;
	if (rc == CLI_OK)
		rc = gemfile_edit_apply(o.gemfile, &e);
	if (rc != CLI_OK)
		goto out;
	/* Resolve with the gems as given (Bundler's inject); a failure says why. */
	rc = gemfile_run(&cmd_lock, o.gemfile, "--quiet");
	if (rc == CLI_OK && !version) {
		/* The line again, with the conservative requirement of what was locked. */
		struct sbuf req = SBUF_INIT;
		cons = calloc(e.ngems, sizeof(*cons));
		if (!cons)
			abort();
		for (size_t i = 0; i < e.ngems && rc == CLI_OK; i++) {
			const char *v = gemfile_locked_version(&a, o.lockfile, e.gems[i]);
			sbuf_reset(&req);
			if (!v || gemfile_conservative_req(v, prefix, &req) < 0) {
				cli_error("the new lockfile has no usable version of %s",
					  e.gems[i]);
				rc = CLI_FAILED;
			} else {
				cons[i] = arena_strdup(&a, req.buf);
			}
		}
		sbuf_release(&req);
		/* Injector#append_to: the original Gemfile, "\n", one line per gem. */
		struct sbuf lines = SBUF_INIT, err = SBUF_INIT;
		struct gemfile_saved out = gf;
		out.text = (struct sbuf)SBUF_INIT;
		for (size_t i = 0; i < e.ngems && rc == CLI_OK; i++) {
			if (i)
				sbuf_addch(&lines, '\n');
			if (gemfile_add_line(&lines, e.gems[i], &cons[i], 1, e.groups, e.ngroups,
					     &err) < 0) {
				fprintf(stderr, "%s\n", err.buf);
				rc = CLI_FAILED;
			}
		}
		if (rc == CLI_OK) {
			gemfile_append(sbuf_strv(&gf.text), lines.buf, &out.text);
			gemfile_restore(&out);
		}
		sbuf_release(&lines);
		sbuf_release(&err);
		sbuf_release(&out.text);
	}
	if (rc != CLI_OK) {
		gemfile_restore(&gf);
		gemfile_restore(&lf);
		fprintf(stderr, "The Gemfile and %s were left as they were.\n",
			strrchr(lf.path, '/') + 1);
		goto out;
	}
	if (!skip_install)
		rc = gemfile_run(&cmd_install, o.gemfile, NULL);
out:
	gemfile_saved_release(&gf);
	gemfile_saved_release(&lf);
	arena_release(&a);
	free(reqs);
	free(groups);
	free(cons);
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
	"then installs as `scint install` does, which writes Gemfile.lock anew.\n"
	"(--install, Bundler's deprecated flag for this, is accepted.)\n";

static int remove_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "install", no_argument, NULL, 'I' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct gemfile_edit e = { .add = false };
	struct cli_common co = { 0 };
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'h') {
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
	rc = cli_find_gemfile(&a, co.gemfile, &o) < 0 ? CLI_FAILED : CLI_OK;
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
	}
	/* Bundler's remove: Installer.install, resolving the new Gemfile. */
	char *gf = rc == CLI_OK ? strdup(o.gemfile) : NULL;
	free(known);
	sbuf_release(&text);
	sbuf_release(&perr);
	arena_release(&a);
	if (gf) {
		rc = gemfile_run(&cmd_install, gf, NULL);
		free(gf);
	}
	return rc;
}

const struct cli_cmd cmd_remove = {
	.name = "remove",
	.summary = "remove gems from the Gemfile (as bundle remove)",
	.run = remove_main,
};
