#!/usr/bin/env bash
# The demo (README's first command): generate a gem source, serve it on
# 127.0.0.1, install the bundled demo app with scint and run it.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec ruby bench/demo/demo.rb
