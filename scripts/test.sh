#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with sanitizers and -Werror, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh check
cd build/check
ctest --output-on-failure -j "$(nproc)" 2>&1 | tee ctest.log | grep -vE '^ +[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed' || true
grep -qE '^100% tests passed' ctest.log
