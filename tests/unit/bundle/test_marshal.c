#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "base/sbuf.h"
#include "bundle/marshal.h"
#include "sc_test.h"

/* Runs `ruby <script>` (the script is written to a temp file); stdout goes to out. */
static int ruby_run(const char *script, struct sbuf *out)
{
	static int seq;
	char path[512], cmd[600], buf[4096];
	FILE *f;
	size_t got;
	int status;

	snprintf(path, sizeof(path), "%s/marshal-%d.rb", sc_test_tmpdir(), seq++);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(script, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "ruby '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(out, buf, got);
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void print_hex(const char *label, const char *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes):", label, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", (unsigned char)p[i]);
	fputc('\n', stderr);
}

/*
 * Checks that `ours` is byte for byte Marshal.dump(expr), and that Ruby
 * loads it back as a value equal to expr (same inspect, so symbols stay
 * symbols and strings stay strings).
 */
static void check_ruby(const char *expr, const struct sbuf *ours)
{
	struct sbuf script = SBUF_INIT, theirs = SBUF_INIT, ignored = SBUF_INIT;
	char path[512];
	FILE *f;

	sbuf_addf(&script, "$stdout.binmode\nprint Marshal.dump(%s)\n", expr);
	assert_int_equal(ruby_run(sbuf_cstr(&script), &theirs), 0);
	if (theirs.len != ours->len || memcmp(theirs.buf, ours->buf, ours->len) != 0) {
		fprintf(stderr, "expr: %s\n", expr);
		print_hex("ruby ", theirs.buf, theirs.len);
		print_hex("scint", ours->buf, ours->len);
		fail_msg("Marshal.dump(%s) differs", expr);
	}

	snprintf(path, sizeof(path), "%s/marshal-out.bin", sc_test_tmpdir());
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(ours->buf, 1, ours->len, f), ours->len);
	assert_int_equal(fclose(f), 0);
	sbuf_reset(&script);
	sbuf_addf(&script,
		  "v = Marshal.load(File.binread(%s%s%s))\n"
		  "want = (%s)\n"
		  "exit(v == want && v.inspect == want.inspect ? 0 : 3)\n",
		  "'", path, "'", expr);
	assert_int_equal(ruby_run(sbuf_cstr(&script), &ignored), 0);

	sbuf_release(&ignored);
	sbuf_release(&theirs);
	sbuf_release(&script);
}

static void check_hex(const struct sbuf *ours, const char *hex)
{
	struct sbuf got = SBUF_INIT;

	for (size_t i = 0; i < ours->len; i++)
		sbuf_addf(&got, "%02x", (unsigned char)ours->buf[i]);
	assert_string_equal(sbuf_cstr(&got), hex);
	sbuf_release(&got);
}

SC_TEST(marshal_nil_true_false)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;

	marshal_init(&m, &out);
	marshal_array(&m, 4);
	marshal_nil(&m);
	marshal_bool(&m, true);
	marshal_bool(&m, false);
	marshal_cstr(&m, NULL);
	check_hex(&out, "04085b0930544630");
	check_ruby("[nil, true, false, nil]", &out);
	marshal_release(&m);
	sbuf_release(&out);
}

static const int64_t int_cases[] = {
	0,
	1,
	-1,
	122,
	123,
	-123,
	-124,
	255,
	256,
	-256,
	-257,
	65535,
	65536,
	-65536,
	-65537,
	(INT64_C(1) << 24) - 1,
	INT64_C(1) << 24,
	-(INT64_C(1) << 24),
	-(INT64_C(1) << 24) - 1,
	(INT64_C(1) << 30) - 1,
	INT64_C(1) << 30,
	-(INT64_C(1) << 30),
	-(INT64_C(1) << 30) - 1,
	INT64_C(1) << 31,
	(INT64_C(1) << 32) - 1,
	INT64_C(1) << 32,
	-(INT64_C(1) << 32),
	INT64_C(1) << 48,
	INT64_C(1) << 62,
	INT64_MAX,
	INT64_MIN,
	INT64_MIN + 1,
};

SC_TEST(marshal_integers_match_ruby_one_by_one)
{
	struct sbuf script = SBUF_INIT, theirs = SBUF_INIT, ours = SBUF_INIT, path = SBUF_INIT;
	size_t n = sizeof(int_cases) / sizeof(int_cases[0]);
	FILE *f;

	/* One Ruby run for all values: each dump as a hex line, both ways. */
	sbuf_addf(&path, "%s/marshal-ints.txt", sc_test_tmpdir());
	sbuf_addstr(&script, "vals = [");
	for (size_t i = 0; i < n; i++) {
		struct sbuf out = SBUF_INIT;
		struct marshal m;

		marshal_init(&m, &out);
		marshal_int(&m, int_cases[i]);
		for (size_t j = 0; j < out.len; j++)
			sbuf_addf(&ours, "%02x", (unsigned char)out.buf[j]);
		sbuf_addch(&ours, '\n');
		sbuf_addf(&script, "%s%lld", i ? ", " : "", (long long)int_cases[i]);
		marshal_release(&m);
		sbuf_release(&out);
	}
	f = fopen(sbuf_cstr(&path), "w");
	assert_non_null(f);
	fputs(sbuf_cstr(&ours), f);
	assert_int_equal(fclose(f), 0);
	sbuf_addf(&script,
		  "]\n"
		  "vals.each { |v| puts Marshal.dump(v).unpack1('H*') }\n"
		  "got = File.readlines('%s').map { |l| Marshal.load([l.chomp].pack('H*')) }\n"
		  "exit(got == vals && got.all?(Integer) ? 0 : 3)\n",
		  sbuf_cstr(&path));
	assert_int_equal(ruby_run(sbuf_cstr(&script), &theirs), 0);
	assert_string_equal(sbuf_cstr(&ours), sbuf_cstr(&theirs));
	sbuf_release(&path);
	sbuf_release(&ours);
	sbuf_release(&theirs);
	sbuf_release(&script);
}

SC_TEST(marshal_integer_encodings)
{
	static const struct {
		int64_t v;
		const char *hex;
	} cases[] = {
		{ 0, "04086900" },
		{ 122, "0408697f" },
		{ 123, "040869017b" },
		{ -123, "04086980" },
		{ -124, "040869ff84" },
		{ -256, "040869ff00" },
		{ (INT64_C(1) << 30) - 1, "04086904ffffff3f" },
		{ INT64_C(1) << 30, "04086c2b0700000040" },
		{ -(INT64_C(1) << 30), "040869fc000000c0" },
		{ -(INT64_C(1) << 30) - 1, "04086c2d0701000040" },
		{ INT64_C(1) << 32, "04086c2b08000000000100" },
		{ INT64_MIN, "04086c2d090000000000000080" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = SBUF_INIT;
		struct marshal m;

		marshal_init(&m, &out);
		marshal_int(&m, cases[i].v);
		check_hex(&out, cases[i].hex);
		marshal_release(&m);
		sbuf_release(&out);
	}
}

SC_TEST(marshal_all_integers_in_one_array)
{
	struct sbuf out = SBUF_INIT, expr = SBUF_INIT;
	struct marshal m;
	size_t n = sizeof(int_cases) / sizeof(int_cases[0]);

	marshal_init(&m, &out);
	marshal_array(&m, n);
	sbuf_addch(&expr, '[');
	for (size_t i = 0; i < n; i++) {
		marshal_int(&m, int_cases[i]);
		sbuf_addf(&expr, "%s%lld", i ? ", " : "", (long long)int_cases[i]);
	}
	sbuf_addch(&expr, ']');
	check_ruby(sbuf_cstr(&expr), &out);
	marshal_release(&m);
	sbuf_release(&expr);
	sbuf_release(&out);
}

SC_TEST(marshal_strings)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;
	char big[300];

	memset(big, 'x', sizeof(big));
	marshal_init(&m, &out);
	marshal_array(&m, 5);
	marshal_cstr(&m, "");
	marshal_cstr(&m, "rack");
	marshal_cstr(&m, "caf\xc3\xa9 \xe2\x82\xac");
	marshal_str(&m, "a\0b", 3);
	marshal_str(&m, big, sizeof(big));
	check_ruby("[\"\", \"rack\", \"caf\\u00e9 \\u20ac\", \"a\\0b\", \"x\" * 300]", &out);
	marshal_release(&m);
	sbuf_release(&out);
}

SC_TEST(marshal_long_string)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;
	size_t n = 70000;
	char *s = malloc(n);

	assert_non_null(s);
	memset(s, 'y', n);
	marshal_init(&m, &out);
	marshal_str(&m, s, n);
	/* Length 70000 = 0x011170: three bytes after the count byte 0x03. */
	assert_memory_equal(out.buf, "\x04\x08I\"\x03\x70\x11\x01", 8);
	check_ruby("\"y\" * 70000", &out);
	free(s);
	marshal_release(&m);
	sbuf_release(&out);
}

SC_TEST(marshal_symbols_and_backrefs)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;

	marshal_init(&m, &out);
	marshal_array(&m, 10);
	marshal_sym(&m, "a");
	marshal_cstr(&m, "x"); /* :E becomes symbol 1 */
	marshal_sym(&m, "a");
	marshal_cstr(&m, "y");
	marshal_sym(&m, "b");
	marshal_sym(&m, "E"); /* the encoding symbol, referenced */
	marshal_sym(&m, "\xc3\xa9");
	marshal_sym(&m, "\xc3\xa9");
	marshal_sym(&m, "b");
	marshal_cstr(&m, "\xc3\xa9");
	/* Bytes recorded from Ruby 3.1's Marshal.dump of the same array. */
	check_hex(&out, "04085b0f3a066149220678063a0645543b0049220679063b06543a06623b06"
			"493a07c3a9063b06543b083b07492207c3a9063b0654");
	check_ruby("[:a, \"x\", :a, \"y\", :b, :E, :\"\\u00e9\", :\"\\u00e9\", :b, \"\\u00e9\"]",
		   &out);
	marshal_release(&m);
	sbuf_release(&out);
}

SC_TEST(marshal_symbol_table_reaches_long_indexes)
{
	struct sbuf out = SBUF_INIT, expr = SBUF_INIT;
	struct marshal m;
	char name[16];

	/* 300 symbols, then references to the last ones: indexes above 122 take two bytes. */
	marshal_init(&m, &out);
	marshal_array(&m, 303);
	sbuf_addch(&expr, '[');
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		marshal_sym(&m, name);
		sbuf_addf(&expr, ":s%d, ", i);
	}
	marshal_sym(&m, "s299");
	marshal_sym(&m, "s123");
	marshal_sym(&m, "s0");
	sbuf_addstr(&expr, ":s299, :s123, :s0]");
	check_ruby(sbuf_cstr(&expr), &out);
	marshal_release(&m);
	sbuf_release(&expr);
	sbuf_release(&out);
}

SC_TEST(marshal_arrays_and_hashes)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;

	marshal_init(&m, &out);
	marshal_hash(&m, 5);
	marshal_cstr(&m, "name");
	marshal_cstr(&m, "rack");
	marshal_sym(&m, "version");
	marshal_array(&m, 3);
	marshal_int(&m, 3);
	marshal_int(&m, -1);
	marshal_int(&m, 1000000);
	marshal_cstr(&m, "nested");
	marshal_hash(&m, 2);
	marshal_nil(&m);
	marshal_bool(&m, true);
	marshal_sym(&m, "version");
	marshal_array(&m, 0);
	marshal_cstr(&m, "empty");
	marshal_hash(&m, 0);
	marshal_sym(&m, "big");
	marshal_int(&m, INT64_C(1) << 40);
	check_ruby("{\"name\" => \"rack\", :version => [3, -1, 1000000], "
		   "\"nested\" => {nil => true, :version => []}, \"empty\" => {}, "
		   ":big => 2**40}",
		   &out);
	marshal_release(&m);
	sbuf_release(&out);
}

SC_TEST(marshal_release_tolerates_null_and_reuse)
{
	struct sbuf out = SBUF_INIT;
	struct marshal m;

	marshal_release(NULL);
	marshal_init(&m, &out);
	marshal_sym(&m, "a");
	marshal_release(&m);
	/* A new dump starts a new symbol table. */
	sbuf_reset(&out);
	marshal_init(&m, &out);
	marshal_sym(&m, "a");
	check_hex(&out, "04083a0661");
	marshal_release(&m);
	sbuf_release(&out);
}
