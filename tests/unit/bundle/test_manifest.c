#include "sc_test.h"

#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "base/shell.h"
#include "bundle/binstub.h"
#include "bundle/manifest.h"

static const char helper_answer[] =
	"name\track\nversion\t3.0.0\nplatform\truby\nrequire_paths\tlib\tlib2\nbindir\texe\n"
	"executables\trackup\nextensions\ndep\tweb\t~> 1.0, >= 1.0.1\n---gemspec---\n"
	"# stub: rack 3.0.0 ruby lib\n";

SC_TEST(summary_parses_the_helper_answer)
{
	struct arena a;
	struct gem_summary s;
	struct strv gemspec;

	arena_init(&a);
	assert_int_equal(gem_summary_parse(&a, STRV_LIT(helper_answer), &s, &gemspec), 0);
	assert_string_equal(s.name, "rack");
	assert_int_equal(s.nrequire_paths, 2);
	assert_string_equal(s.require_paths[1], "lib2");
	assert_string_equal(s.bindir, "exe");
	assert_int_equal(s.nexecutables, 1);
	assert_int_equal(s.nextensions, 0);
	assert_int_equal(s.ndeps, 1);
	assert_string_equal(s.deps[0].reqs, "~> 1.0, >= 1.0.1");
	assert_true(strv_eq_cstr(gemspec, "# stub: rack 3.0.0 ruby lib\n"));
	/* Without the separator the answer is malformed. */
	assert_int_equal(gem_summary_parse(&a, STRV_LIT("name\tx\n"), &s, &gemspec), -SC_ERUBY);
	arena_release(&a);
}

SC_TEST(manifest_round_trips_and_sorts)
{
	struct arena a;
	struct manifest m = { 0 }, back;
	struct sbuf out = SBUF_INIT, out2 = SBUF_INIT;
	struct strv gemspec;

	arena_init(&a);
	assert_int_equal(gem_summary_parse(&a, STRV_LIT(helper_answer), &m.spec, &gemspec), 0);
	m.full_name = "rack-3.0.0";
	m.abi = "ruby-3.1.2-x86_64-linux";
	m.gem_sha256 = "abababababababababababababababababababababababababababababababab";
	struct mf_entry *e = manifest_add(&a, &m, MF_FILE, "gem/lib/rack.rb");
	e->mode = 0644;
	e->size = 12;
	e->sha256 = "0123456789012345678901234567890123456789012345678901234567890123";
	manifest_add(&a, &m, MF_DIR, "gem/lib")->mode = 0755;
	manifest_add(&a, &m, MF_SYMLINK, "gem/lib/alias.rb")->target = "rack.rb";
	manifest_write(&m, &out);
	assert_non_null(strstr(out.buf, "d\t0755\tgem/lib\nl\tgem/lib/alias.rb\track.rb\nf\t0644\t12\t"));
	assert_int_equal(manifest_parse(&a, sbuf_strv(&out), &back, NULL), 0);
	assert_int_equal(back.nentries, 3);
	assert_int_equal(back.nfiles, 1);
	assert_int_equal(back.total_bytes, 12);
	manifest_write(&back, &out2);
	assert_string_equal(out.buf, out2.buf);

	/* Damage is detected, never half-read. */
	struct sbuf err = SBUF_INIT;
	sbuf_setlen(&out, out.len - 4); /* no "end" */
	assert_int_equal(manifest_parse(&a, sbuf_strv(&out), &back, &err), -SC_ECACHE);
	assert_non_null(strstr(err.buf, "truncated"));
	assert_int_equal(manifest_parse(&a, STRV_LIT("scint-manifest 2\n"), &back, NULL),
			 -SC_ECACHE);
	sbuf_release(&out);
	sbuf_release(&out2);
	sbuf_release(&err);
	arena_release(&a);
}

/* A manifest from the shared cache is hostile: every field is checked, nothing is bent. */
#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
SC_TEST(manifest_fields_are_exact)
{
	static const char head[] = "scint-manifest 1\nfull_name\tx-1\nabi\tr\ngem_sha256\t-\n"
				   "name\tx\nversion\t1\nplatform\truby\next\t0\nentries\t1\n";
	static const struct strv bad[] = {
		STRV_LIT("f\t4755\t1\t" SHA "\tgem/a\n"),    /* setuid */
		STRV_LIT("d\t1777\tgem/d\n"),		     /* sticky */
		STRV_LIT("f\t0644\t-1\t" SHA "\tgem/a\n"),   /* a size strtoull() would wrap */
		STRV_LIT("f\t0644\t 1\t" SHA "\tgem/a\n"),   /* ... or skip spaces in */
		STRV_LIT("f\t0644\t1\t" SHA "\tgem/a\0b\n"), /* NUL in the path */
		STRV_LIT("f\t0644\t1\t0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdeZ\tgem/a\n"), /* not hex */
	};
	struct arena a;
	struct manifest m;
	struct sbuf text = SBUF_INIT, out = SBUF_INIT, err = SBUF_INIT;

	arena_init(&a);
	/* Lines end at '\n' alone: a '\r' stays in the path, which refuses it. */
	sbuf_addstr(&text, head);
	sbuf_addstr(&text, "f\t0644\t1\t" SHA "\tgem/a\r\nend\n");
	assert_int_equal(manifest_parse(&a, sbuf_strv(&text), &m, &err), -SC_ECACHE);
	assert_non_null(strstr(sbuf_cstr(&err), "gem/a"));
	sbuf_reset(&text);
	sbuf_addstr(&text, head);
	sbuf_addstr(&text, "f\t0644\t1\t" SHA "\tgem/a\nend\n");
	assert_int_equal(manifest_parse(&a, sbuf_strv(&text), &m, NULL), 0);
	manifest_write(&m, &out);
	assert_non_null(strstr(out.buf, "\tgem/a\nend\n"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sbuf_reset(&text);
		sbuf_reset(&err);
		sbuf_addstr(&text, head);
		sbuf_addv(&text, bad[i]);
		sbuf_addstr(&text, "end\n");
		assert_int_equal(manifest_parse(&a, sbuf_strv(&text), &m, &err), -SC_ECACHE);
		/* The line (a field's syntax) or the row's path (the row rules). */
		if (!strstr(err.buf, "manifest line 10: ") && !strstr(err.buf, "manifest entry 'gem/"))
			fail_msg("bad row %zu: '%s' names neither the line nor the row", i, err.buf);
	}
	sbuf_release(&text);
	sbuf_release(&out);
	sbuf_release(&err);
	arena_release(&a);
}
#undef SHA

SC_TEST(binstub_is_rubygems_wrapper)
{
	struct sbuf out = SBUF_INIT;

	binstub_render(&out, "ruby3.1", "rigexe", "rigexe");
	assert_true(strncmp(out.buf, "#!/usr/bin/env ruby3.1\n#\n# This file was generated by RubyGems.",
			    62) == 0);
	assert_non_null(strstr(out.buf, "load Gem.activate_bin_path('rigexe', 'rigexe', version)\n"));
	assert_non_null(strstr(out.buf, "str = str.b[/\\A_(.*)_\\z/, 1]\n"));
	sbuf_release(&out);
}

SC_TEST(shell_split_like_shellwords)
{
	struct arena a;
	const char **w;

	arena_init(&a);
	assert_int_equal(shell_split(&a, "  --with-pg-config=/usr/bin/pg_config  --enable-x ", &w), 2);
	assert_string_equal(w[0], "--with-pg-config=/usr/bin/pg_config");
	assert_int_equal(shell_split(&a, "a 'b c' \"d \\\"e\\\"\" f\\ g ''", &w), 5);
	assert_string_equal(w[1], "b c");
	assert_string_equal(w[2], "d \"e\"");
	assert_string_equal(w[3], "f g");
	assert_string_equal(w[4], "");
	assert_int_equal(shell_split(&a, "'unterminated", &w), -EINVAL);
	assert_int_equal(shell_split(&a, "   ", &w), 0);
	arena_release(&a);
}

/* ---- hostile manifests and spec summaries ---- */

#define SHA_X "0123456789012345678901234567890123456789012345678901234567890123"

/*
 * A manifest of rack 3.0.0 named full_name, with summary_extra lines after
 * the summary (a later line replaces an earlier one), `ext` as its ext flag
 * and `rows` (sorted, each "x\t...\n").
 */
static char *mf_text_named(struct arena *a, const char *full_name, const char *summary_extra,
			   int ext, const char *rows)
{
	size_t n = 0;

	for (const char *p = rows; *p; p++)
		n += *p == '\n';
	return arena_printf(a,
			    "scint-manifest 1\nfull_name\t%s\nabi\truby-3.1.2-x86_64-linux\n"
			    "gem_sha256\t-\nname\track\nversion\t3.0.0\nplatform\truby\n"
			    "require_paths\tlib\nbindir\texe\nexecutables\trackup\nextensions\n"
			    "%sext\t%d\nentries\t%zu\n%send\n",
			    full_name, summary_extra, ext, n, rows);
}

static char *mf_text(struct arena *a, const char *summary_extra, int ext, const char *rows)
{
	return mf_text_named(a, "rack-3.0.0", summary_extra, ext, rows);
}

static const char good_rows[] = "d\t0755\tgem/lib\n"
				"l\tgem/lib/alias.rb\track.rb\n"
				"f\t0644\t12\t" SHA_X "\tgem/lib/rack.rb\n";

static void assert_manifest_refused(const char *summary_extra, int ext, const char *rows,
				    const char *why)
{
	struct arena a;
	struct manifest m;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	int r = manifest_parse(&a, strv_from(mf_text(&a, summary_extra, ext, rows)), &m, &err);
	if (r != -SC_ECACHE)
		fail_msg("accepted (%d): %s", r, rows);
	if (!strstr(sbuf_cstr(&err), why))
		fail_msg("'%s' does not say '%s'", sbuf_cstr(&err), why);
	sbuf_release(&err);
	arena_release(&a);
}

SC_TEST(manifest_rows_are_checked_like_archive_entries)
{
	struct arena a;
	struct manifest m;

	arena_init(&a);
	assert_int_equal(manifest_parse(&a, strv_from(mf_text(&a, "", 0, good_rows)), &m, NULL), 0);
	assert_int_equal(m.nentries, 3);
	arena_release(&a);

	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem/../../../evil\n",
				"manifest entry 'gem/../../../evil': '..' in path");
	assert_manifest_refused("", 0, "d\t0755\tgem/lib\nf\t0644\t1\t" SHA_X "\tgem/lib/../../x\n",
				"'..' in path");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\t/tmp/evil\n", "not under gem/");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem//x\n", "absolute path");
	assert_manifest_refused("", 0, "d\t0755\tgem/x/\n", "empty or '.'");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem/./x\n", "empty or '.'");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem/a\x01z\n", "control character");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem\n", "not under gem/");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\text/x.so\n",
				"under ext/ in an entry without one");
	/* Links: absolute, escaping, or escaping through another link. */
	assert_manifest_refused("", 0, "l\tgem/evil\t/etc\n", "absolute symlink target");
	assert_manifest_refused("", 0, "d\t0755\tgem/lib\nl\tgem/lib/evil\t../../..\n",
				"symlink points outside the gem");
	assert_manifest_refused("", 0,
				"d\t0755\tgem/lib\nl\tgem/lib/b\tc/../..\nl\tgem/lib/c\t..\n",
				"manifest entry 'gem/lib/b': symlink points outside the gem");
	assert_manifest_refused("", 1, "d\t0755\text/x\nl\text/x/up\t../../gem\n",
				"symlink points outside the gem");
	/* Nothing beneath a link, parents are directory rows, no repeats. */
	assert_manifest_refused("", 0, "l\tgem/lib\t.\nf\t0644\t1\t" SHA_X "\tgem/lib/x\n",
				"its directory is not a directory entry");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem/nodir/x\n",
				"its directory is not a directory entry");
	assert_manifest_refused("", 0, "d\t0755\tgem/lib\nd\t0755\tgem/lib\n",
				"repeated or out of order");
	assert_manifest_refused("", 0, "d\t0755\tgem/lib\nl\tgem/lib\tx\n",
				"repeated or out of order");
	assert_manifest_refused("", 0, "d\t0755\tgem/b\nd\t0755\tgem/a\n", "out of order");
	/* Modes, sizes, digests. */
	assert_manifest_refused("", 0, "f\t4755\t1\t" SHA_X "\tgem/x\n", "setuid");
	assert_manifest_refused("", 0, "d\t2755\tgem/x\n", "setuid, setgid");
	assert_manifest_refused("", 0, "f\t0644\t99999999999\t" SHA_X "\tgem/x\n", "too large");
	assert_manifest_refused("", 0, "f\t0644\t1\t" SHA_X "\tgem/x\n" /* upper case */
				"f\t0644\t1\t012345678901234567890123456789012345678901234567890123"
				"456789ABCD\tgem/y\n",
				"bad sha256");
}

SC_TEST(manifest_summary_is_checked)
{
	struct arena a;
	struct sbuf text = SBUF_INIT;
	struct manifest m;

	arena_init(&a);
	/* A later "executables" line replaces the first. */
	assert_manifest_refused("executables\t../../../evil\n", 0, good_rows,
				"manifest summary: executables entry '../../../evil': '/' in an "
				"executable name");
	assert_manifest_refused("bindir\t/usr/bin\n", 0, good_rows, "bindir '/usr/bin': absolute");
	assert_manifest_refused("require_paths\tlib\t../../..\n", 0, good_rows,
				"require_paths entry '../../..'");
	assert_manifest_refused("extensions\t/tmp/x/extconf.rb\n", 0, good_rows, "extensions");
	assert_manifest_refused("dep\t../x\t>= 0\n", 0, good_rows, "dependency '../x'");
	assert_manifest_refused("name\tr/ck\n", 0, good_rows, "name 'r/ck'");
	/* The full name must be the spec's. */
	assert_manifest_refused("platform\tx86_64-linux\n", 0, good_rows,
				"full name does not match the spec");
	assert_manifest_refused("version\t3.0.1\n", 0, good_rows, "full name does not match");
	/* x86_64-linux-gnu in the lockfile is x86_64-linux in the metadata. */
	sbuf_addstr(&text, mf_text_named(&a, "rack-3.0.0-x86_64-linux-gnu",
					 "platform\tx86_64-linux\n", 0, good_rows));
	assert_int_equal(manifest_parse(&a, sbuf_strv(&text), &m, NULL), 0);
	sbuf_reset(&text);
	sbuf_addstr(&text, mf_text_named(&a, "rack-3.0.0-x86_64-darwin",
					 "platform\tx86_64-linux\n", 0, good_rows));
	assert_int_equal(manifest_parse(&a, sbuf_strv(&text), &m, NULL), -SC_ECACHE);
	sbuf_release(&text);
	arena_release(&a);
}

SC_TEST(summary_checks_and_verifies_against_the_lockfile)
{
	struct arena a;
	struct gem_summary s;
	struct strv gemspec;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(gem_summary_parse(&a, STRV_LIT(helper_answer), &s, &gemspec), 0);
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "ruby", &err), 0);
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.1", "ruby", &err), -SC_EGEMFORMAT);
	assert_string_equal(err.buf, "its metadata says rack 3.0.0 (platform ruby)");
	sbuf_reset(&err);
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "x86_64-linux", &err),
			 -SC_EGEMFORMAT);
	sbuf_reset(&err);
	s.platform = "x86_64-linux";
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "x86_64-linux-gnu", NULL), 0);
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "x86_64-darwin", NULL),
			 -SC_EGEMFORMAT);
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "ruby", NULL), -SC_EGEMFORMAT);
	s.platform = "ruby";

	const char *evil[] = { "rackup", "/tmp/evil" };
	s.executables = evil;
	s.nexecutables = 2;
	assert_int_equal(gem_summary_verify(&s, "rack", "3.0.0", "ruby", &err), -SC_EUNSAFE);
	assert_string_equal(err.buf, "executables entry '/tmp/evil': '/' in an executable name");
	s.nexecutables = 1;
	assert_int_equal(gem_summary_check(&s, NULL), 0);
	s.bindir = "../bin";
	assert_int_equal(gem_summary_check(&s, NULL), -SC_EUNSAFE);
	s.bindir = "exe";

	/* More values than a line may hold is an error, never a silent cut. */
	struct sbuf many = SBUF_INIT;
	sbuf_addstr(&many, "name\tx\nversion\t1\nplatform\truby\nexecutables");
	for (int i = 0; i < 300; i++)
		sbuf_addf(&many, "\te%d", i);
	sbuf_addstr(&many, "\n---gemspec---\n");
	assert_int_equal(gem_summary_parse(&a, sbuf_strv(&many), &s, &gemspec), -SC_ERUBY);
	sbuf_release(&many);
	sbuf_release(&err);
	arena_release(&a);
}
