/*
 * The helper protocol (rpc.h) against a real child: a shell script that
 * reads the call on fd 3 and answers on fd 4. Output frames (OUT) reach the
 * call's output callback in order before its RESULT; an OUT frame for a
 * call that takes no output stops the helper and fails the call.
 */
#include "sc_test.h"

#include <string.h>

#include "base/err.h"
#include "engine/child.h"
#include "engine/reactor.h"
#include "engine/rpc.h"

struct seen {
	struct sbuf out;
	unsigned nout;
	bool done;
	const struct rpc *rpc;
	size_t max_buffered; /* the most the rpc's read buffer held at an OUT frame */
};

static void test_output(struct rpc_call *call, const char *p, size_t n)
{
	struct seen *s = call->data;

	s->nout++;
	if (s->rpc->child.out.len > s->max_buffered)
		s->max_buffered = s->rpc->child.out.len;
	/* Long streams are counted, not kept. */
	if (s->out.len < 4096)
		sbuf_add(&s->out, p, n);
}

static void test_done(struct rpc_call *call)
{
	((struct seen *)call->data)->done = true;
}

/* Runs one call against `script`; call->result is the caller's to release. */
static void run_call(const char *script, bool with_output, struct seen *s, struct rpc_call *call)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sh", "-c", script, NULL };
	struct rpc rpc;

	assert_non_null(r);
	memset(s, 0, sizeof(*s));
	sbuf_init(&s->out, 0);
	s->rpc = &rpc;
	assert_int_equal(rpc_start(&rpc, m, argv, NULL, NULL), 0);
	*call = (struct rpc_call){ .method = "build",
				   .done = test_done,
				   .output = with_output ? test_output : NULL,
				   .data = s };
	rpc_call(&rpc, call);
	while (!s->done)
		assert_true(reactor_poll(r, 5000) >= 0);
	rpc_stop(&rpc);
	while (rpc_running(&rpc))
		assert_true(reactor_poll(r, 5000) >= 0);
	child_mgr_free(m);
	reactor_free(r);
}

#define ANSWER "read -r line <&3; printf 'OUT 1 6\\nhello\\nOUT 1 6\\nworld\\nRESULT 1 ok 6\\nexit 0' >&4; cat <&3 >/dev/null"

SC_TEST(rpc_output_frames_come_before_the_result)
{
	struct seen s;
	struct rpc_call call;

	run_call(ANSWER, true, &s, &call);
	assert_int_equal(call.res, 0);
	assert_string_equal(sbuf_cstr(&call.result), "exit 0");
	assert_int_equal(s.nout, 2);
	assert_string_equal(sbuf_cstr(&s.out), "hello\nworld\n");
	sbuf_release(&call.result);
	sbuf_release(&s.out);
}

SC_TEST(rpc_output_for_a_call_without_output_is_refused)
{
	struct seen s;
	struct rpc_call call;

	run_call(ANSWER, false, &s, &call);
	assert_int_equal(call.res, -SC_ERUBY);
	assert_non_null(strstr(sbuf_cstr(&call.result), "output for no call"));
	assert_int_equal(s.nout, 0);
	sbuf_release(&call.result);
	sbuf_release(&s.out);
}

/* An OUT frame for another call id is as bad as a RESULT for one. */
SC_TEST(rpc_output_for_another_call_is_refused)
{
	struct seen s;
	struct rpc_call call;

	run_call("read -r line <&3; printf 'OUT 7 2\\nhi' >&4; cat <&3 >/dev/null", true, &s, &call);
	assert_int_equal(call.res, -SC_ERUBY);
	assert_non_null(strstr(sbuf_cstr(&call.result), "output for no call"));
	assert_int_equal(s.nout, 0);
	sbuf_release(&call.result);
	sbuf_release(&s.out);
}

/*
 * Many small OUT frames, each write of the helper ending inside the next
 * frame (a pipe write this small is atomic: every read ends where a write
 * did, so the buffer is never fully consumed): the consumed frames are
 * dropped as they are parsed, and the read buffer stays small however long
 * the stream is (it held the whole stream, 1.1 MB here, before).
 */
#define STREAM_FRAMES 100000
#define STREAM                                                                               \
	"read -r line <&3; printf 'OUT 1 3\\nab' >&4; i=0; "                       \
	"while [ $i -lt 100000 ]; do printf '\\nOUT 1 3\\nab' >&4; i=$((i+1)); done; "     \
	"printf '\\nRESULT 1 ok 6\\nexit 0' >&4; cat <&3 >/dev/null"

SC_TEST(rpc_read_buffer_stays_bounded_under_a_stream_of_frames)
{
	struct seen s;
	struct rpc_call call;

	run_call(STREAM, true, &s, &call);
	assert_int_equal(call.res, 0);
	assert_string_equal(sbuf_cstr(&call.result), "exit 0");
	assert_int_equal(s.nout, STREAM_FRAMES + 1);
	assert_true(s.max_buffered <= ((size_t)192 << 10));
	sbuf_release(&call.result);
	sbuf_release(&s.out);
}
