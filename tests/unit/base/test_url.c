#include "sc_test.h"

#include "base/sbuf.h"
#include "base/url.h"

SC_TEST(url_redact_drops_userinfo)
{
	struct sbuf out = SBUF_INIT;

	url_redact("https://user:secret@gems.example.com/private/", &out);
	assert_string_equal(sbuf_cstr(&out), "https://gems.example.com/private/");
	url_redact("https://token@gems.example.com", &out);
	assert_string_equal(sbuf_cstr(&out), "https://gems.example.com");
	url_redact("https://u:p@[::1]:3000/x?y#z", &out);
	assert_string_equal(sbuf_cstr(&out), "https://[::1]:3000/x?y#z");
	url_redact("https://gems.example.com/a@b", &out);
	assert_string_equal(sbuf_cstr(&out), "https://gems.example.com/a@b");
	url_redact("https://rubygems.org/", &out);
	assert_string_equal(sbuf_cstr(&out), "https://rubygems.org/");
	url_redact("not a url", &out);
	assert_string_equal(sbuf_cstr(&out), "not a url");
	sbuf_release(&out);
}

SC_TEST(url_split_parts)
{
	struct url_parts u;

	assert_true(url_split(strv_from("HTTPS://u:p@gems.example.com:8443/a?b#c"), &u));
	assert_true(strv_eq_cstr(u.scheme, "HTTPS"));
	assert_true(u.has_userinfo);
	assert_true(strv_eq_cstr(u.userinfo, "u:p"));
	assert_true(strv_eq_cstr(u.host, "gems.example.com"));
	assert_true(strv_eq_cstr(u.port, "8443"));
	assert_true(strv_eq_cstr(u.rest, "/a?b#c"));
	/* the last '@' of the authority ends the userinfo; an empty one is still there */
	assert_true(url_split(strv_from("https://a@b@[::1]:3000"), &u));
	assert_true(strv_eq_cstr(u.userinfo, "a@b"));
	assert_true(strv_eq_cstr(u.host, "[::1]"));
	assert_true(strv_eq_cstr(u.port, "3000"));
	assert_true(strv_eq_cstr(u.rest, ""));
	assert_true(url_split(strv_from("https://@h/"), &u));
	assert_true(u.has_userinfo);
	assert_true(u.userinfo.len == 0);
	/* not a URL: no "scheme://", or a scheme not starting with a letter */
	assert_false(url_split(strv_from("gems.example.com/x"), &u));
	assert_false(url_split(strv_from("1http://h/"), &u));
	assert_false(url_split(strv_from("ht_tp://h/"), &u));
	assert_false(url_split(strv_from(""), &u));
	assert_false(u.has_userinfo);
}
