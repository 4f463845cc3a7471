# scint: one non-recursive Makefile; pkg-config does the probing.
#
#   make                      debug build in build/debug/
#   make BUILD=release        optimised build in build/release/
#   make SAN=address,undefined test
#   make install PREFIX=/usr/local
#   make test                 unit + integration tests (tests/run.sh)
#   make fuzz [FUZZ_TIME=60]  libFuzzer targets (tests/fuzz/), each for FUZZ_TIME seconds

BUILD  ?= debug
SAN    ?=
PREFIX ?= /usr/local
V      ?=

PKGS := liburing libcurl libarchive libcrypto

ifeq ($(filter clean test-all demo fuzz fuzz-ci,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) && echo yes),yes)
$(error missing libraries: install liburing-dev libcurl4-openssl-dev libarchive-dev libssl-dev pkg-config (apt-get install ...))
endif
endif

CC ?= cc
OUT := build/$(BUILD)$(if $(SAN),-san)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wpointer-arith -Wwrite-strings -Wvla -Wformat=2 \
	-Wundef -Wcast-qual -Wimplicit-fallthrough

CFLAGS_BASE := -std=gnu17 -D_GNU_SOURCE -I. $(WARN) $(shell pkg-config --cflags $(PKGS))
ifeq ($(BUILD),release)
CFLAGS_BASE += -O2 -g -fstack-protector-strong -D_FORTIFY_SOURCE=2 -DSC_RELEASE
else
CFLAGS_BASE += -O0 -g3 -Werror
endif
ifneq ($(SAN),)
CFLAGS_BASE += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

SCINT_VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS_BASE += -DSCINT_VERSION='"$(SCINT_VERSION)"'

override CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
# libcurl and libarchive are dlopen'ed on first use (base/dl.h): only their
# headers are needed at build time, so they are not linked.
LDLIBS += $(shell pkg-config --libs liburing libcrypto) -ldl

LIB_SRCS := $(sort $(wildcard base/*.c fsops/*.c engine/*.c bundle/*.c phases/*.c phases/session/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c))
TOOL_SRCS := $(sort $(wildcard bench/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/*/test_*.c))
TEST_HELPER_SRCS := $(sort $(wildcard tests/helpers/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=$(OUT)/%.o)
CLI_OBJS := $(CLI_SRCS:%.c=$(OUT)/%.o)
TOOL_BINS := $(TOOL_SRCS:bench/%.c=$(OUT)/%)
UNIT_BINS := $(UNIT_SRCS:%.c=$(OUT)/%)
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(OUT)/%.o)

LIB := $(OUT)/libscint.a
SCINT := $(OUT)/scint

ifeq ($(V),)
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
msg :=
endif

.PHONY: all test test-all check unit integ clean install format format-check tidy cppcheck bench demo \
	fuzz fuzz-ci fuzz-build
all: $(SCINT) $(TOOL_BINS) $(UNIT_BINS)

$(OUT)/%.o: %.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(SCINT): $(CLI_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(OUT)/%: bench/%.c $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(OUT)/tests/unit/%: tests/unit/%.c $(TEST_HELPER_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/helpers -MMD -MP $(LDFLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(LIB) $(LDLIBS) -lcmocka

$(OUT)/tests/helpers/%.o: tests/helpers/%.c
	$(call msg,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/helpers -MMD -MP -c -o $@ $<

test: all
	$(Q)SCINT_BUILD_DIR=$(OUT) tests/run.sh

# Every configuration CI covers (both I/O backends, with and without ASan+UBSan).
test-all:
	tests/ci.sh

demo:
	$(MAKE) BUILD=release all
	bench/demo/run.sh

unit: all
	$(Q)SCINT_BUILD_DIR=$(OUT) tests/run.sh unit

integ: all
	$(Q)SCINT_BUILD_DIR=$(OUT) tests/run.sh integ

check: format-check cppcheck
	$(MAKE) SAN=address,undefined test

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(wildcard */*.h)

format-check:
	clang-format --dry-run -Werror $(LIB_SRCS) $(CLI_SRCS) $(wildcard */*.h)

cppcheck:
	cppcheck --enable=warning,style,performance,portability --inline-suppr --error-exitcode=1 \
		--suppress=missingIncludeSystem -I. -q $(LIB_SRCS) $(CLI_SRCS)

tidy: compile_commands.json
	clang-tidy -p . $(LIB_SRCS) $(CLI_SRCS)

compile_commands.json:
	bear -- $(MAKE) -B all

bench: all
	bench/run.sh

# bench/lib/** goes to share/scint/bench/lib/**, where the installed bench scripts look.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/scint
	install -m 0755 $(SCINT) $(DESTDIR)$(PREFIX)/bin/scint
	install -m 0644 phases/ruby/helper.rb $(DESTDIR)$(PREFIX)/share/scint/helper.rb
	install -D -m 0644 phases/ruby/shim/bundler/setup.rb $(DESTDIR)$(PREFIX)/share/scint/shim/bundler/setup.rb
	install -m 0644 phases/ruby/shim/scint_shim.rb $(DESTDIR)$(PREFIX)/share/scint/shim/scint_shim.rb
	$(if $(TOOL_BINS),install -m 0755 $(TOOL_BINS) $(DESTDIR)$(PREFIX)/bin/)
	for f in bench/scint-*; do case $$f in *.c) ;; *) install -m 0755 $$f $(DESTDIR)$(PREFIX)/bin/ ;; esac; done
	find bench/lib -type f | while read -r f; do install -D -m 0644 "$$f" "$(DESTDIR)$(PREFIX)/share/scint/$$f" || exit 1; done

clean:
	rm -rf build compile_commands.json

# Fuzzing (libFuzzer, clang only): every tests/fuzz/fuzz_<name>.c is a target,
# linked against the library built with clang, ASan and UBSan in $(FUZZ_OUT)/.
# tests/fuzz/run.sh builds them (fuzz-build) and runs each for FUZZ_TIME
# seconds on a copy of its seed corpus; it skips when clang or its libFuzzer
# runtime is missing.
FUZZ_CC ?= clang
FUZZ_OUT := build/libfuzzer
FUZZ_TIME ?= 60
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(FUZZ_OUT)/%)
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_OUT)/%.o)
FUZZ_LIB := $(FUZZ_OUT)/libscint.a
FUZZ_CFLAGS := -std=gnu17 -D_GNU_SOURCE -I. $(WARN) $(shell pkg-config --cflags $(PKGS)) \
	-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-DSCINT_VERSION='"$(SCINT_VERSION)"'

# The parsers under test stay warning-free under clang too.
$(FUZZ_OUT)/base/%.o $(FUZZ_OUT)/bundle/%.o: FUZZ_CFLAGS += -Werror

fuzz:
	$(Q)FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh

fuzz-ci:
	$(Q)FUZZ_TIME=10 tests/fuzz/run.sh

fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/%.o: %.c
	$(call msg,FUZZCC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_LIB) $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_BINS:=.d) $(TOOL_BINS:=.d) $(TEST_HELPER_OBJS:.o=.d)
-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_BINS:=.d)
