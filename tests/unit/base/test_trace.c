/*
 * The trace's JSON strings: paths are escaped as base/json.c escapes them,
 * whatever bytes they hold and wherever those bytes fall in the path.
 */
#include "sc_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/sbuf.h"
#include "base/trace.h"
#include "fsops/fsops.h"

/* Each path goes into one record; the file must hold it as json_add_str writes it. */
static void check_paths(char **paths, const size_t *lens, size_t n)
{
	struct sbuf file = SBUF_INIT, want = SBUF_INIT, at = SBUF_INIT;
	const char *cur;

	sbuf_addf(&at, "%s/trace.jsonl", sc_test_tmpdir());
	assert_int_equal(trace_open(at.buf), 0);
	for (size_t i = 0; i < n; i++)
		trace_io(NULL, "probe", -1, paths[i], -1, NULL, -1, 0, 0, 0);
	trace_close();
	assert_int_equal(fs_read_file(at.buf, &file, 1 << 26), 0);
	cur = file.buf;
	for (size_t i = 0; i < n; i++) {
		sbuf_reset(&want);
		sbuf_addstr(&want, ",\"path\":");
		json_add_str(&want, paths[i], lens[i]);
		sbuf_addch(&want, ',');
		const char *hit = strstr(cur, want.buf);
		if (!hit)
			fail_msg("record %zu (%zu bytes) not found as %s", i, lens[i], want.buf);
		cur = hit + want.len;
	}
	sbuf_release(&file);
	sbuf_release(&want);
	sbuf_release(&at);
}

SC_TEST(trace_escapes_every_byte_at_every_offset)
{
	enum { N = 255 * 17 };
	char *paths[N];
	size_t lens[N], n = 0;

	/* Byte c at offset 0..16 of a 24-byte plain path. */
	for (int c = 1; c < 256; c++)
		for (size_t off = 0; off < 17; off++) {
			char *p = malloc(25);
			memset(p, 'a' + (char)(off % 26), 24);
			p[off] = (char)c;
			p[24] = '\0';
			paths[n] = p;
			lens[n++] = 24;
		}
	check_paths(paths, lens, n);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
}

SC_TEST(trace_escapes_random_paths)
{
	enum { N = 3000 };
	char *paths[N];
	size_t lens[N];
	unsigned seed = 12345;

	for (size_t i = 0; i < N; i++) {
		size_t len = (size_t)(rand_r(&seed) % 40);
		char *p = malloc(len + 1);
		for (size_t k = 0; k < len; k++) {
			/* mostly path bytes, some quotes, backslashes, controls and UTF-8 */
			static const char pick[] = "abc/._-\"\\\n\t\r\x01\x1f\x7f\xc3\xa9 ";
			int r = rand_r(&seed);
			p[k] = r % 3 ? (char)('a' + r % 26)
				     : pick[(size_t)rand_r(&seed) % (sizeof(pick) - 1)];
		}
		p[len] = '\0';
		paths[i] = p;
		lens[i] = len;
	}
	check_paths(paths, lens, N);
	for (size_t i = 0; i < N; i++)
		free(paths[i]);
}

/* A named directory's path is escaped once and prefixed to the relative paths under it. */
SC_TEST(trace_prints_named_directories)
{
	struct sbuf file = SBUF_INIT, at = SBUF_INIT;
	static const char dir[] = "/d\"ir\\\n\x01\xc3\xa9";

	sbuf_addf(&at, "%s/trace.jsonl", sc_test_tmpdir());
	assert_int_equal(trace_open(at.buf), 0);
	trace_name_fd(5, "/old");
	trace_name_fd(2000, "/far");
	trace_name_fd(5, dir); /* renamed: the latest name holds */
	trace_io(NULL, "linkat", 5, "a\tb", 2000, "c", -1, 0, 0, 0);
	trace_io(NULL, "openat", 5, "/abs", -1, NULL, -1, 0, 0, 0);
	trace_forget_fd(5);
	trace_forget_fd(2000);
	trace_io(NULL, "unlinkat", 5, "rel", 2000, "rel2", -1, 0, 0, 0);
	trace_close();
	assert_int_equal(fs_read_file(at.buf, &file, 1 << 20), 0);
	assert_non_null(strstr(file.buf, "\"op\":\"linkat\",\"path\":\"/d\\\"ir\\\\\\n\\u0001\xc3\xa9/a\\tb\","
					 "\"path2\":\"/far/c\","));
	assert_non_null(strstr(file.buf, "\"op\":\"openat\",\"path\":\"/abs\","));
	assert_non_null(strstr(file.buf, "\"op\":\"unlinkat\",\"path\":\"rel\",\"path2\":\"rel2\","));
	assert_null(strstr(file.buf, "/old"));
	sbuf_release(&file);
	sbuf_release(&at);
}

static uint64_t after(uint64_t t)
{
	uint64_t now;

	while ((now = clock_now_ns()) <= t)
		;
	return now;
}

/* Ops share a start reading until a record is written or a step ends, never across them. */
SC_TEST(trace_shared_start_is_dropped_by_records_and_steps)
{
	struct sbuf at = SBUF_INIT;

	sbuf_addf(&at, "%s/shared.jsonl", sc_test_tmpdir());
	assert_int_equal(trace_open(at.buf), 0);
	uint64_t t1 = trace_shared_now_ns();
	(void)after(t1);
	assert_true(trace_shared_now_ns() == t1); /* shared while nothing happened */
	uint64_t c = after(t1);
	trace_event(NULL, "between", NULL);
	uint64_t t2 = trace_shared_now_ns();
	assert_true(t2 >= c); /* not before the record it follows */
	c = after(t2);
	trace_step_end();
	assert_true(trace_shared_now_ns() >= c);
	trace_close();
	sbuf_release(&at);
}
