#!/usr/bin/env bash
# Lint of the system test scripts: they run under `set -o pipefail` (lib.sh), where `producer | grep -q PATTERN`
# fails at random: grep exits at its first match, and a producer that still writes (bash's printf writes one line
# per argument) dies of SIGPIPE, so the pipeline reports failure although the pattern was there. That made
# system_client_session_postgres fail once in CI ("_include did not bring CareTeam/…": the CareTeam was the first
# line). Feed such a grep from a here-string or a file instead (`grep -q P <<<"$(printf …)"`).
# Exit status: 0 clean, 1 with the offending lines listed.
set -euo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
offenders=$(grep -nE '\|[[:space:]]*grep[[:space:]]+(-[A-Za-z]*[qm]|--quiet|--silent|--max-count)' "$dir"/*.sh |
  grep -vE '^[^:]*pipefail_lint\.sh:|^[^:]*:[0-9]+:[[:space:]]*#' || true)
if [ -n "$offenders" ]; then
  echo "pipelines into an early-exiting grep under pipefail (flaky: SIGPIPE in the writer):" >&2
  echo "$offenders" >&2
  exit 1
fi
echo "pipefail_lint: no pipeline into grep -q/-m in $(ls "$dir"/*.sh | wc -l) scripts"
