/*
 * marshal.h: a writer for Ruby's Marshal format 4.8 (marshal.c in CRuby),
 * covering what scint's runtime lock needs: nil, true, false, Integer,
 * UTF-8 String, Symbol, Array and Hash. Symbols are written once and then
 * referenced (';' links), as Ruby does, so Marshal.load gives back equal
 * objects. Output goes to an sbuf owned by the caller.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/hmap.h"

struct sbuf;

struct marshal {
	struct sbuf *out;
	/* private: */
	struct hmap symbols; /* symbol -> index + 1 */
	size_t nsymbols;
	char **owned; /* symbol key copies */
	size_t nowned, owned_cap;
};

/*
 * Starts a dump (appends the 4.8 header to out). out stays the caller's and
 * must have no size limit (max 0, asserted): a dump cut short would not load.
 * marshal_release() frees the symbol table, not out; it accepts NULL.
 */
void marshal_init(struct marshal *m, struct sbuf *out);
void marshal_release(struct marshal *m);

void marshal_nil(struct marshal *m);
void marshal_bool(struct marshal *m, bool v);
void marshal_int(struct marshal *m, int64_t v);		      /* Fixnum range, else Bignum */
void marshal_str(struct marshal *m, const char *s, size_t n); /* UTF-8 String */
void marshal_cstr(struct marshal *m, const char *s);	      /* NULL writes nil */
void marshal_sym(struct marshal *m, const char *s);
/*
 * Containers: write the header with the element count, then the elements
 * (for a hash: key, value, key, value, ...). Counts and string lengths must
 * fit in 31 bits, as in Ruby (asserted).
 */
void marshal_array(struct marshal *m, size_t n);
void marshal_hash(struct marshal *m, size_t npairs);
