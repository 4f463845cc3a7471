#include "sc_test.h"

#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "base/strv.h"

SC_TEST(sbuf_appends_and_limits)
{
	struct sbuf sb;

	sbuf_init(&sb, 8);
	assert_int_equal(sbuf_addstr(&sb, "abc"), 0);
	assert_int_equal(sbuf_addf(&sb, "%d", 42), 0);
	assert_string_equal(sbuf_cstr(&sb), "abc42");
	assert_int_equal(sbuf_addstr(&sb, "toolong"), -SC_ETOOBIG);
	assert_string_equal(sbuf_cstr(&sb), "abc42");
	sbuf_release(&sb);
	assert_string_equal(sbuf_cstr(&sb), "");
}

SC_TEST(strv_lines_and_cut)
{
	struct strv rest = STRV_LIT("a: b\r\nc\n\nd"), line, k, v;
	const char *want[] = { "a: b", "c", "", "d" };
	int i = 0;

	while (strv_next_line(&rest, &line))
		assert_true(strv_eq_cstr(line, want[i++]));
	assert_int_equal(i, 4);
	assert_true(strv_cut(STRV_LIT("key: value"), ':', &k, &v));
	assert_true(strv_eq_cstr(k, "key"));
	assert_true(strv_eq_cstr(strv_trim(v), "value"));
	assert_false(strv_cut(STRV_LIT("novalue"), ':', &k, &v));
}

SC_TEST(hmap_put_get_grow)
{
	struct arena a;
	struct hmap m;

	arena_init(&a);
	hmap_init(&m);
	for (int i = 0; i < 1000; i++) {
		char *k = arena_printf(&a, "gem-%d", i);
		assert_null(hmap_put(&m, strv_from(k), k));
	}
	assert_int_equal(m.len, 1000);
	assert_string_equal(hmap_get(&m, STRV_LIT("gem-517")), "gem-517");
	assert_null(hmap_get(&m, STRV_LIT("gem-1000")));
	hmap_release(&m);
	arena_release(&a);
}

SC_TEST(strerror_covers_both_ranges)
{
	assert_string_equal(sc_strerror(-SC_ECHECKSUM), "checksum mismatch");
	assert_string_equal(sc_strerror(-ENOENT), strerror(ENOENT));
}
