#!/usr/bin/env bash
# tests/ci.sh: the whole suite in every configuration CI must cover:
#   1. debug build, io_uring backend (falls back to sync where io_uring is off)
#   2. debug build, plain-syscall backend (SCINT_IO_URING=0)
#   3. ASan+UBSan build, io_uring backend
#   4. ASan+UBSan build, plain-syscall backend
#   5. the libFuzzer targets (tests/fuzz/run.sh), FUZZ_TIME (10) seconds each,
#      one case per target (skipped without clang)
# and ends with one closing line summing them all:
#   tests: N passed, N failed, N skipped
set -u
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
total_p=0 total_f=0 total_s=0
status=0

run_config() { # name build-dir env...
	local name=$1 dir=$2
	shift 2
	echo
	echo "=== $name"
	local log
	log=$(mktemp)
	env "$@" SCINT_BUILD_DIR="$dir" SCINT_TEST_LOGDIR="$dir/test-logs-$name" tests/run.sh all | tee "$log"
	count_summary "$name" "$log"
}

count_summary() { # name log: adds the log's closing line to the totals
	local name=$1 log=$2 line
	line=$(tail -n 1 "$log")
	rm -f "$log"
	if [[ $line =~ ^tests:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped$ ]]; then
		total_p=$((total_p + BASH_REMATCH[1]))
		total_f=$((total_f + BASH_REMATCH[2]))
		total_s=$((total_s + BASH_REMATCH[3]))
		[ "${BASH_REMATCH[2]}" = 0 ] || status=1
	else
		echo "ci: $name produced no summary"
		total_f=$((total_f + 1))
		status=1
	fi
}

if ! make -j"$jobs" all >/dev/null || ! make -j"$jobs" SAN=address,undefined all >/dev/null; then
	make -j"$jobs" all SAN=address,undefined 2>&1 | tail -n 30
	echo
	echo "tests: 0 passed, 1 failed, 0 skipped"
	exit 1
fi
run_config uring build/debug SCINT_IO_URING=1
run_config sync build/debug SCINT_IO_URING=0
run_config san-uring build/debug-san SCINT_IO_URING=1 UBSAN_OPTIONS=print_stacktrace=1
run_config san-sync build/debug-san SCINT_IO_URING=0 UBSAN_OPTIONS=print_stacktrace=1
echo
echo "=== fuzz"
fuzz_log=$(mktemp)
FUZZ_TIME=${FUZZ_TIME:-10} tests/fuzz/run.sh | tee "$fuzz_log"
count_summary fuzz "$fuzz_log"
echo
echo "tests: $total_p passed, $total_f failed, $total_s skipped"
exit $status
