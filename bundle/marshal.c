/*
 * marshal.c: Ruby Marshal 4.8 writer, byte for byte what CRuby's marshal.c
 * (w_object, w_long, w_symbol, w_encoding) produces for the same values.
 *
 * Integers in [-2^30, 2^30) are Fixnums ('i'): on a 64-bit Ruby w_object
 * checks RSHIFT((long)obj, 31) of the tagged VALUE, which leaves 31 bits for
 * the value. Everything else is a Bignum ('l', sign, length in 16-bit words,
 * little-endian magnitude padded to an even byte count). Strings are UTF-8, so
 * each carries the encoding ivar (`I"<len><bytes>\x06:\x06ET`); the :E symbol
 * takes part in the symbol table like any other symbol. A symbol is entered in
 * the table before its own encoding ivar is written, as w_symbol does.
 *
 * Invariant: the symbol table maps each symbol written so far to its index
 * (stored as index + 1, so that NULL means absent) in order of first
 * appearance; the hmap keys point into `owned`.
 */
#include "marshal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/sbuf.h"

#define MARSHAL_FIXNUM_MIN (-(INT64_C(1) << 30))
#define MARSHAL_FIXNUM_MAX ((INT64_C(1) << 30) - 1)
/* w_long refuses lengths that do not fit in 32 signed bits ("long too big to dump"). */
#define MARSHAL_LEN_MAX INT32_MAX

void marshal_init(struct marshal *m, struct sbuf *out)
{
	SC_ASSERT(out->max == 0);
	*m = (struct marshal){ .out = out };
	hmap_init(&m->symbols);
	sbuf_add(out, "\x04\x08", 2);
}

void marshal_release(struct marshal *m)
{
	if (!m)
		return;
	hmap_release(&m->symbols);
	for (size_t i = 0; i < m->nowned; i++)
		free(m->owned[i]);
	free(m->owned);
	m->owned = NULL;
	m->nowned = m->owned_cap = 0;
	m->nsymbols = 0;
}

static void marshal_byte(struct marshal *m, unsigned char c)
{
	sbuf_addch(m->out, (char)c);
}

/* CRuby's w_long: small values in one byte, others as 1-4 little-endian bytes. */
static void marshal_long(struct marshal *m, int64_t x)
{
	unsigned char buf[1 + sizeof(int32_t)];

	SC_ASSERT(x >= INT32_MIN && x <= INT32_MAX);
	if (x == 0) {
		marshal_byte(m, 0);
		return;
	}
	if (x > 0 && x < 123) {
		marshal_byte(m, (unsigned char)(x + 5));
		return;
	}
	if (x < 0 && x > -124) {
		marshal_byte(m, (unsigned char)((x - 5) & 0xff));
		return;
	}
	for (int i = 1; i <= (int)sizeof(int32_t); i++) {
		buf[i] = (unsigned char)(x & 0xff);
		/* RSHIFT(x, 8) of CRuby, without shifting a negative value. */
		x = x < 0 ? ~(~x >> 8) : x >> 8;
		if (x == 0 || x == -1) {
			buf[0] = (unsigned char)(x == 0 ? i : -i);
			sbuf_add(m->out, buf, (size_t)i + 1);
			return;
		}
	}
	SC_ASSERT(!"unreachable: value checked to fit in 32 bits");
}

static void marshal_bytes(struct marshal *m, const char *s, size_t n)
{
	SC_ASSERT(n <= MARSHAL_LEN_MAX);
	marshal_long(m, (int64_t)n);
	sbuf_add(m->out, s, n);
}

static bool marshal_is_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

static void marshal_symbol(struct marshal *m, const char *s, size_t n);

/*
 * The one encoding ivar of a UTF-8 object: count 1, :E => true. This and
 * marshal_symbol() call each other, one level deep only: "E" is ASCII.
 */
static void marshal_utf8_ivar(struct marshal *m)
{
	marshal_long(m, 1);
	marshal_symbol(m, "E", 1);
	marshal_byte(m, 'T');
}

static void marshal_symbol(struct marshal *m, const char *s, size_t n)
{
	void *found = hmap_get(&m->symbols, strv_make(s, n));
	bool utf8;
	char *copy;

	if (found) {
		marshal_byte(m, ';');
		marshal_long(m, (int64_t)((uintptr_t)found - 1));
		return;
	}
	utf8 = !marshal_is_ascii(s, n);
	if (utf8)
		marshal_byte(m, 'I');
	marshal_byte(m, ':');
	marshal_bytes(m, s, n);

	if (m->nowned == m->owned_cap) {
		m->owned_cap = m->owned_cap ? m->owned_cap * 2 : 16;
		m->owned = sc_xrealloc(m->owned, m->owned_cap * sizeof(*m->owned));
	}
	copy = sc_xstrndup(s, n);
	m->owned[m->nowned++] = copy;
	hmap_put(&m->symbols, strv_make(copy, n), (void *)(uintptr_t)(m->nsymbols + 1));
	m->nsymbols++;

	if (utf8)
		marshal_utf8_ivar(m);
}

void marshal_nil(struct marshal *m)
{
	marshal_byte(m, '0');
}

void marshal_bool(struct marshal *m, bool v)
{
	marshal_byte(m, v ? 'T' : 'F');
}

static void marshal_bignum(struct marshal *m, int64_t v)
{
	uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
	unsigned char buf[sizeof(uint64_t)];
	size_t n = 0;

	while (mag) {
		buf[n++] = (unsigned char)(mag & 0xff);
		mag >>= 8;
	}
	/* The length is counted in 16-bit words, so an odd byte count gets a zero pad. */
	if (n & 1)
		buf[n++] = 0;
	marshal_byte(m, 'l');
	marshal_byte(m, v < 0 ? '-' : '+');
	marshal_long(m, (int64_t)(n / 2));
	sbuf_add(m->out, buf, n);
}

void marshal_int(struct marshal *m, int64_t v)
{
	if (v < MARSHAL_FIXNUM_MIN || v > MARSHAL_FIXNUM_MAX) {
		marshal_bignum(m, v);
		return;
	}
	marshal_byte(m, 'i');
	marshal_long(m, v);
}

void marshal_str(struct marshal *m, const char *s, size_t n)
{
	marshal_byte(m, 'I');
	marshal_byte(m, '"');
	marshal_bytes(m, s, n);
	marshal_utf8_ivar(m);
}

void marshal_cstr(struct marshal *m, const char *s)
{
	if (!s)
		marshal_nil(m);
	else
		marshal_str(m, s, strlen(s));
}

void marshal_sym(struct marshal *m, const char *s)
{
	marshal_symbol(m, s, strlen(s));
}

void marshal_array(struct marshal *m, size_t n)
{
	SC_ASSERT(n <= MARSHAL_LEN_MAX);
	marshal_byte(m, '[');
	marshal_long(m, (int64_t)n);
}

void marshal_hash(struct marshal *m, size_t npairs)
{
	SC_ASSERT(npairs <= MARSHAL_LEN_MAX);
	marshal_byte(m, '{');
	marshal_long(m, (int64_t)npairs);
}
