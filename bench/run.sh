#!/usr/bin/env bash
# bench/run.sh (`make bench`): scint against Bundler on the medium shape,
# 3 runs per scenario, results in build/bench/latest.json. Extra arguments
# go to scint-bench (e.g. `bench/run.sh --shape large --runs 1`).
#
# Uses $SCINT_BUILD_DIR, else build/release, else build/debug (whose numbers
# say little about a release: `make BUILD=release` first).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SCINT_BUILD_DIR:-}
if [ -z "$build" ]; then
	if [ -x build/release/scint ]; then
		build=build/release
	else
		build=build/debug
		echo "bench/run.sh: no release build, measuring $build (run make BUILD=release first)" >&2
	fi
fi
if [ ! -x "$build/scint" ] || [ ! -x "$build/scint-rusage" ]; then
	echo "bench/run.sh: no scint or scint-rusage in $build (run make)" >&2
	exit 2
fi
mkdir -p build/bench
exec env SCINT_BUILD_DIR="$build" bench/scint-bench --scint "$build/scint" --shape medium --runs 3 \
	--json build/bench/latest.json "$@"
