#!/usr/bin/env bash
# tests/fuzz/run.sh: builds the libFuzzer targets (make fuzz-build) and runs
# each for a bounded time.
#
#   tests/fuzz/run.sh [target...]        (default: every tests/fuzz/fuzz_*.c)
#
#   FUZZ_TIME=60     seconds per target (libFuzzer's -max_total_time)
#   FUZZ_OUT=...     build dir (default build/libfuzzer; the Makefile's FUZZ_OUT)
#
# A target is tests/fuzz/fuzz_<name>.c, with optional seeds in
# tests/fuzz/corpus/<name>/ and an optional dictionary tests/fuzz/fuzz_<name>.dict;
# extra libFuzzer flags come from a "FUZZ_OPTIONS: ..." line in the source
# (e.g. -max_len). Adding a target is adding that one file.
#
# Each run works on a copy of the seeds in $FUZZ_OUT/corpus/<name>/ (kept
# between runs, so the tree's corpus never grows by itself); every seed is
# executed first, so a crashing input added as a seed fails the run. A crash,
# a leak, a sanitizer report, a timeout (an input taking more than 10 s) or
# running out of memory fails the target; its input is saved in
# $FUZZ_OUT/artifacts/<name>/ and its log is printed. Without clang and its
# libFuzzer runtime every target is skipped. Ends with the closing line
#   tests: N passed, N failed, N skipped
set -u
cd "$(dirname "$0")/../.."
time=${FUZZ_TIME:-60}
out=${FUZZ_OUT:-build/libfuzzer}
cc=${FUZZ_CC:-clang}
passed=0 failed=0 skipped=0

targets=()
if [ $# -gt 0 ]; then
	for t in "$@"; do targets+=("${t#fuzz_}"); done
else
	for f in tests/fuzz/fuzz_*.c; do
		[ -e "$f" ] || continue
		t=${f#tests/fuzz/fuzz_}
		targets+=("${t%.c}")
	done
fi

finish() {
	echo
	echo "tests: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" = 0 ]
	exit
}

skip_all() { # reason
	echo "fuzz: skipped: $1"
	for t in "${targets[@]}"; do
		printf 'SKIP  fuzz_%s\n' "$t"
		skipped=$((skipped + 1))
	done
	finish
}

if ! command -v "$cc" >/dev/null 2>&1; then
	skip_all "$cc not found (install clang and libclang-rt-dev)"
fi
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
	'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	>"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >"$probe/log" 2>&1; then
	cat "$probe/log"
	rm -rf "$probe"
	skip_all "$cc cannot link a libFuzzer target (install libclang-rt-dev)"
fi
rm -rf "$probe"

mkdir -p "$out"
if ! make -j"$(nproc 2>/dev/null || echo 2)" FUZZ_OUT="$out" FUZZ_CC="$cc" fuzz-build >"$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log"
	echo "FAIL  fuzz build, log: $out/build.log"
	failed=$((failed + 1))
	finish
fi

for t in "${targets[@]}"; do
	src=tests/fuzz/fuzz_$t.c bin=$out/fuzz_$t
	if [ ! -e "$src" ] || [ ! -x "$bin" ]; then
		printf 'FAIL  fuzz_%s: no such target\n' "$t"
		failed=$((failed + 1))
		continue
	fi
	work=$out/corpus/$t arts=$out/artifacts/$t log=$out/fuzz_$t.log
	mkdir -p "$work" "$arts"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		cp "tests/fuzz/corpus/$t"/* "$work"/
	fi
	opts=$(sed -n 's/.*FUZZ_OPTIONS:[[:space:]]*//p' "$src" | head -n 1)
	dict=()
	[ -e "tests/fuzz/fuzz_$t.dict" ] && dict=(-dict="tests/fuzz/fuzz_$t.dict")
	start=$(date +%s)
	# shellcheck disable=SC2086 # opts is a list of flags
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		timeout -k 10 $((time + 120)) "$bin" $opts "${dict[@]}" -max_total_time="$time" \
		-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$arts/" \
		"$work" >"$log" 2>&1
	rc=$?
	dur=$(($(date +%s) - start))
	runs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		printf 'PASS  fuzz_%s: %s runs (%s/s), %s (%ss)\n' "$t" "${runs:-?}" "${rate:-?}" \
			"${cov:-cov: ?}" "$dur"
		passed=$((passed + 1))
	else
		printf 'FAIL  fuzz_%s: exit %s (%ss), log: %s, inputs: %s\n' "$t" "$rc" "$dur" "$log" "$arts"
		tail -n 60 "$log"
		failed=$((failed + 1))
	fi
done
finish
