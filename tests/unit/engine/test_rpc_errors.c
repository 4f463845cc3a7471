/*
 * The helper protocol (rpc.h) when the helper misbehaves, against real
 * children (shell scripts reading calls on fd 3, answering on fd 4). Calls
 * are answered in order; a helper that exits fails its call and every later
 * one with its exit status; a malformed result, a result announced larger
 * than the limit (nothing is allocated for it), an over-long header or an
 * answer to no call stops the helper and fails the call; a helper that
 * does not answer within the call's time limit is stopped too.
 */
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "engine/child.h"
#include "engine/reactor.h"
#include "engine/rpc.h"
#include "sc_test.h"

struct calls {
	struct rpc_call c[2];
	int order[2];
	int ndone;
};

static void calls_done(struct rpc_call *call)
{
	struct calls *cs = call->data;

	cs->order[cs->ndone++] = (int)(call - cs->c);
}

/* Runs ncalls calls against script; the helper is gone when it returns. */
static void run_calls(const char *script, const struct rpc_options *opts, struct calls *cs,
		      int ncalls)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sh", "-c", script, NULL };
	struct rpc rpc;
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	assert_non_null(r);
	memset(cs, 0, sizeof(*cs));
	assert_int_equal(rpc_start(&rpc, m, argv, opts, NULL), 0);
	for (int i = 0; i < ncalls; i++) {
		cs->c[i] = (struct rpc_call){ .method = "spec", .done = calls_done, .data = cs };
		rpc_call(&rpc, &cs->c[i]);
	}
	while (cs->ndone < ncalls) {
		assert_true(clock_now_ns() < deadline);
		int t = reactor_timeout_ms(r);
		assert_true(reactor_poll(r, t < 0 || t > 100 ? 100 : t) >= 0);
		reactor_run_timers(r);
	}
	rpc_stop(&rpc);
	while (rpc_running(&rpc)) {
		assert_true(clock_now_ns() < deadline);
		assert_true(reactor_poll(r, 100) >= 0);
	}
	child_mgr_free(m);
	reactor_free(r);
}

static void calls_release(struct calls *cs)
{
	for (int i = 0; i < 2; i++)
		sbuf_release(&cs->c[i].result);
}

SC_TEST(rpc_calls_are_answered_in_order)
{
	struct calls cs;

	run_calls("read -r a <&3; read -r b <&3; printf 'RESULT 1 ok 3\\noneRESULT 2 err 3\\ntwo' "
		  ">&4;"
		  " cat <&3 >/dev/null",
		  NULL, &cs, 2);
	assert_int_equal(cs.order[0], 0);
	assert_int_equal(cs.order[1], 1);
	assert_int_equal(cs.c[0].res, 0);
	assert_string_equal(sbuf_cstr(&cs.c[0].result), "one");
	assert_int_equal(cs.c[1].res, -SC_ERUBY);
	assert_string_equal(sbuf_cstr(&cs.c[1].result), "two");
	calls_release(&cs);
}

SC_TEST(rpc_helper_exit_fails_its_call_and_the_next)
{
	struct calls cs;

	run_calls("read -r a <&3; exit 3", NULL, &cs, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(cs.c[i].res, -SC_ERUBY);
		assert_non_null(strstr(sbuf_cstr(&cs.c[i].result), "exited (exit 3)"));
	}
	calls_release(&cs);
}

static void expect_broken(const char *script, const char *why)
{
	struct calls cs;
	uint64_t t0 = clock_now_ns();

	run_calls(script, NULL, &cs, 1);
	assert_int_equal(cs.c[0].res, -SC_ERUBY);
	assert_non_null(strstr(sbuf_cstr(&cs.c[0].result), why));
	/* The helper was killed, not waited for (each script would sleep 5 s). */
	assert_true(clock_now_ns() - t0 < 3 * 1000000000ull);
	calls_release(&cs);
}

SC_TEST(rpc_malformed_result_stops_the_helper)
{
	expect_broken("read -r a <&3; printf 'RESULT one ok 1\\nx' >&4; sleep 5",
		      "a malformed result");
	expect_broken("read -r a <&3; printf 'RESULT 1 maybe 1\\nx' >&4; sleep 5",
		      "a malformed result");
}

SC_TEST(rpc_result_over_the_limit_is_refused_unread)
{
	expect_broken("read -r a <&3; printf 'RESULT 1 ok 99999999999999\\n' >&4; sleep 5",
		      "a result too large");
}

SC_TEST(rpc_header_too_long_stops_the_helper)
{
	expect_broken("read -r a <&3; head -c 300 /dev/zero | tr '\\0' 'R' >&4; sleep 5",
		      "header too long");
}

SC_TEST(rpc_answer_to_no_call_stops_the_helper)
{
	expect_broken("read -r a <&3; printf 'RESULT 9 ok 1\\nx' >&4; sleep 5",
		      "an answer to no call");
}

SC_TEST(rpc_call_timeout_stops_the_helper)
{
	struct rpc_options o = { .call_timeout_ms = 200, .timeout_setting = "SCINT_TEST_TIMEOUT" };
	struct calls cs;
	uint64_t t0 = clock_now_ns();

	run_calls("read -r a <&3; sleep 5", &o, &cs, 1);
	assert_int_equal(cs.c[0].res, -SC_ERUBY);
	assert_non_null(strstr(sbuf_cstr(&cs.c[0].result), "did not answer within 200 ms"));
	assert_non_null(strstr(sbuf_cstr(&cs.c[0].result), "SCINT_TEST_TIMEOUT"));
	assert_true(clock_now_ns() - t0 >= 200 * 1000000ull);
	assert_true(clock_now_ns() - t0 < 3 * 1000000000ull);
	calls_release(&cs);
}
