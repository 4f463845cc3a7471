#!/usr/bin/env bash
# Installs what building and testing scint needs on Debian 12 (as root, or
# through sudo): the C libraries, Ruby and Bundler (the oracle), nginx (the
# test gem server), and the tools some tests use (strace, xfsprogs, cmake).
# Services are not started by the install (nginx runs per test, on 127.0.0.1).
set -euo pipefail

PKGS=(build-essential pkg-config
      liburing-dev libcurl4-openssl-dev libarchive-dev libssl-dev libcmocka-dev
      ruby ruby-dev bundler rake nginx git
      strace xfsprogs e2fsprogs cmake hyperfine util-linux tmux
      clang libclang-rt-dev)

sudo=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null || { echo "setup-deps: run as root (or install sudo)" >&2; exit 1; }
	sudo=sudo
fi

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup-deps: everything is installed"
	exit 0
fi
echo "setup-deps: installing ${missing[*]}"
# Keep package scripts from starting services (no init system in CI containers).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	made_policy=1
fi
# The trap's status becomes the script's: never end it on a failed test.
cleanup() {
	if [ "$made_policy" = 1 ]; then $sudo rm -f "$policy"; fi
	return 0
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-deps: done"
