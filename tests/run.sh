#!/usr/bin/env bash
# tests/run.sh: scint's test runner (liburing's runtests.sh shape).
#
#   tests/run.sh [unit|integ|all] [filter]
#
# Runs every unit test binary (cmocka) and every integration test
# (tests/integ/test_*.rb, minitest) under `timeout`, counts test cases from
# each runner's own summary, and ends with the closing line
#   tests: N passed, N failed, N skipped
# An executable that exits 77 counts as one skip; any other non-zero exit
# without a parsable summary counts as one failure.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
what=${1:-all}
filter=${2:-}
build=${SCINT_BUILD_DIR:-build/debug}
export SCINT_BUILD_DIR=$build
export SCINT_TOP=$top
logdir=${SCINT_TEST_LOGDIR:-$build/test-logs}
mkdir -p "$logdir"

passed=0 failed=0 skipped=0
failures=()

count_cmocka() { # log -> sets p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -n1)
	p=${p:-0} f=${f:-0} s=${s:-0}
}

count_minitest() { # log -> sets p f s
	local line
	line=$(grep -E '^[0-9]+ runs, [0-9]+ assertions, [0-9]+ failures, [0-9]+ errors, [0-9]+ skips' "$1" | tail -n1)
	if [ -z "$line" ]; then p=0 f=0 s=0; return 1; fi
	local runs fl er sk
	read -r runs _ _ _ fl _ er _ sk _ <<<"${line//,/}"
	f=$((fl + er)) s=$sk p=$((runs - f - s))
}

run_one() { # kind path
	local kind=$1 path=$2 name log rc start dur
	name=${path#"$top"/}
	log="$logdir/$(echo "$name" | tr '/' '_').log"
	start=$(date +%s)
	case $kind in
	unit) timeout -k 5 "${SCINT_TEST_TIMEOUT:-120}" "$path" >"$log" 2>&1; rc=$? ;;
	integ) timeout -k 5 "${SCINT_INTEG_TIMEOUT:-900}" ruby -Itests/helpers "$path" >"$log" 2>&1; rc=$? ;;
	esac
	dur=$(( $(date +%s) - start ))
	if [ "$rc" = 77 ]; then
		skipped=$((skipped + 1))
		printf 'SKIP  %s (%ss)\n' "$name" "$dur"
		return
	fi
	if [ "$kind" = unit ]; then count_cmocka "$log"; else count_minitest "$log"; fi
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$rc" = 0 ] && [ "$f" = 0 ]; then
		printf 'PASS  %s: %s passed, %s skipped (%ss)\n' "$name" "$p" "$s" "$dur"
	else
		printf 'FAIL  %s: %s failed (exit %s, %ss), log: %s\n' "$name" "$f" "$rc" "$dur" "$log"
		failures+=("$log")
	fi
}

if [ "$what" = unit ] || [ "$what" = all ]; then
	for t in $(find "$build/tests/unit" -type f -name 'test_*' ! -name '*.d' 2>/dev/null | sort); do
		[ -n "$filter" ] && [[ $t != *$filter* ]] && continue
		run_one unit "$t"
	done
fi
if [ "$what" = integ ] || [ "$what" = all ]; then
	for t in tests/integ/test_*.rb; do
		[ -e "$t" ] || continue
		[ -n "$filter" ] && [[ $t != *$filter* ]] && continue
		run_one integ "$top/$t"
	done
fi

for l in "${failures[@]}"; do
	echo
	echo "---- $l (last 60 lines)"
	tail -n 60 "$l"
done
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
