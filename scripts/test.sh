#!/usr/bin/env bash
# The README's test command: installs what is missing, builds with sanitizers and -Werror, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh check
# The store (and server) suites also run against a throw-away PostgreSQL cluster, stopped on exit. Outside CI a
# cluster that cannot start only skips those runs (the tests say so); with CI=true the tests fail without it.
if [ -z "${PLANBRO_TEST_PG_URL:-}" ]; then
  PLANBRO_PG_STATE=$(mktemp -u "${TMPDIR:-/tmp}/planbro-pg-state.XXXXXX")
  export PLANBRO_PG_STATE
  trap "'$PWD/scripts/postgres-test-cluster.sh' stop" EXIT
  if PLANBRO_TEST_PG_URL=$(scripts/postgres-test-cluster.sh start); then
    export PLANBRO_TEST_PG_URL
  else
    echo "warning: could not start the PostgreSQL test cluster; its test runs will be skipped or fail (CI)" >&2
  fi
fi
cd build/check
ctest --output-on-failure -j "$(nproc)" 2>&1 | tee ctest.log | grep -vE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed|^ +Start +[0-9]+: ' || true
grep -qE '^100% tests passed' ctest.log
