# Shared helpers for the system tests (sourced, not run). See docs/testing.md.
#
# Contract:
# - PLANBRO_BIN names the planbro binary under test (CTest passes $<TARGET_FILE:planbro>).
# - Everything a test creates lives under $SYS_TMP (one temp dir per run) or in PostgreSQL databases made by
#   sys_pg_url; an EXIT trap kills every server this run started and drops those databases, also on failure.
# - Every wait is bounded by SYS_DEADLINE (seconds since the script started, default 150), every HTTP call by
#   curl --max-time. Servers also get SIGKILL if the script itself dies (setpriv --pdeathsig), so a CTest timeout
#   leaves nothing behind.
# - Exit status: 0 pass, 1 fail, 77 skipped (CTest SKIP_RETURN_CODE), e.g. PostgreSQL unavailable outside CI.
# shellcheck disable=SC2034  # SYS_DIR, SYS_PG_URL are for the scripts that source this file
set -euo pipefail

SYS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SYS_NAME=$(basename "$0" .sh)
: "${PLANBRO_BIN:?set PLANBRO_BIN to the planbro binary (CTest does)}"
[ -x "$PLANBRO_BIN" ] || { echo "$SYS_NAME: PLANBRO_BIN=$PLANBRO_BIN is not executable" >&2; exit 1; }
SYS_DEADLINE=${SYS_DEADLINE:-150}
SYS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/planbro-system.XXXXXX")
SYS_PG_BINDIR=${PLANBRO_PG_BINDIR:-/usr/lib/postgresql/15/bin}
SYS_CURL_TIMEOUT=${SYS_CURL_TIMEOUT:-30}
declare -A SYS_PID=()    # server name -> pid
declare -A SYS_PORT=()   # server name -> port
declare -A SYS_LOG=()    # server name -> log of its latest start
SYS_STARTS=0
SYS_PG_DBS=()
SYS_PG_ROLES=()   # roles a test made (sys_pg_role), dropped after its databases
SYS_PG_ADMIN_URL=""
SYS_FAILURES=()

for tool in curl node; do
  command -v "$tool" >/dev/null || {
    echo "$SYS_NAME: '$tool' is not installed; the system tests need curl and node" >&2
    [ "${CI:-}" = "true" ] && exit 1
    exit 77
  }
done

log() { printf '[%s %s] %s\n' "$SYS_NAME" "$(date -u +%H:%M:%S)" "$*" >&2; }

die() {
  printf '%s: FAIL: %s\n' "$SYS_NAME" "$*" >&2
  exit 1
}

# fail_later MESSAGE: records a failure without stopping, so one run reports every broken expectation.
fail_later() {
  printf '%s: FAIL: %s\n' "$SYS_NAME" "$*" >&2
  SYS_FAILURES+=("$*")
}

# Ends the test: 0 when no fail_later was recorded, else 1 with the list. Also fails when any server log of this
# run holds a sanitizer report (the check build runs the binary under ASan/UBSan).
sys_finish() {
  local f
  for f in "$SYS_TMP"/*.log; do
    [ -e "$f" ] || continue
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$f"; then
      fail_later "sanitizer report in $(basename "$f"): $(grep -m 3 -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$f" | tr '\n' ' ')"
    fi
  done
  if [ ${#SYS_FAILURES[@]} -eq 0 ]; then
    log "PASS"
    exit 0
  fi
  printf '%s: %d failure(s):\n' "$SYS_NAME" ${#SYS_FAILURES[@]} >&2
  printf '  - %s\n' "${SYS_FAILURES[@]}" >&2
  exit 1
}

sys_skip() {
  if [ "${CI:-}" = "true" ]; then
    die "$* (CI=true: not skipping)"
  fi
  echo "$SYS_NAME: SKIPPED: $*" >&2
  exit 77
}

remaining() { echo $((SYS_DEADLINE - SECONDS)); }

sys_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local name
  for name in "${!SYS_PID[@]}"; do
    kill -KILL "${SYS_PID[$name]}" 2>/dev/null || true
  done
  for name in "${!SYS_PID[@]}"; do
    wait "${SYS_PID[$name]}" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for name in "${!SYS_LOG[@]}"; do
      echo "---- last lines of server $name's log (${SYS_LOG[$name]}) ----" >&2
      tail -n 20 "${SYS_LOG[$name]}" >&2 2>/dev/null || true
    done
  fi
  local db
  for db in "${SYS_PG_DBS[@]}"; do
    timeout 20 "$(sys_psql)" "$SYS_PG_ADMIN_URL" -qAt -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" \
      >/dev/null 2>&1 || echo "$SYS_NAME: warning: could not drop database $db" >&2
  done
  local role
  for role in "${SYS_PG_ROLES[@]}"; do
    timeout 20 "$(sys_psql)" "$SYS_PG_ADMIN_URL" -qAt -c "DROP ROLE IF EXISTS \"$role\"" \
      >/dev/null 2>&1 || echo "$SYS_NAME: warning: could not drop role $role" >&2
  done
  if [ -n "${SYS_KEEP_TMP:-}" ]; then
    echo "$SYS_NAME: kept $SYS_TMP" >&2
  else
    rm -rf "$SYS_TMP"
  fi
  exit "$rc"
}
trap sys_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sys_psql() {
  if [ -x "$SYS_PG_BINDIR/psql" ]; then echo "$SYS_PG_BINDIR/psql"; else command -v psql; fi
}

# sys_pg_url: prints a libpq connection string for a new, empty database on the test cluster
# (PLANBRO_TEST_PG_URL), dropped on exit. Skips the test (77) when no cluster is configured, fails under CI=true.
# Call it in the main shell (not in $(...)): it sets SYS_PG_URL.
sys_pg_url() {
  [ -n "${PLANBRO_TEST_PG_URL:-}" ] || sys_skip "PLANBRO_TEST_PG_URL is not set (scripts/test.sh starts a cluster)"
  SYS_PG_ADMIN_URL=$PLANBRO_TEST_PG_URL
  local db
  db="planbro_sys_$(date +%s)_$$_${RANDOM}"
  timeout 30 "$(sys_psql)" "$PLANBRO_TEST_PG_URL" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE \"$db\"" >/dev/null ||
    die "cannot create database $db on PLANBRO_TEST_PG_URL"
  SYS_PG_DBS+=("$db")
  local url=$PLANBRO_TEST_PG_URL
  if [[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]]; then
    SYS_PG_URL="${BASH_REMATCH[1]}/$db${BASH_REMATCH[4]}"
  else
    # key=value form: a repeated keyword takes the last value.
    SYS_PG_URL="$url dbname=$db"
  fi
}

# sys_pg_role PREFIX: creates a LOGIN role PREFIX_<unique> on the test cluster (dropped on exit) and sets
# SYS_PG_ROLE to its name. Call it in the main shell, after sys_pg_url.
sys_pg_role() {
  SYS_PG_ROLE="${1}_$$_${RANDOM}"
  timeout 30 "$(sys_psql)" "$SYS_PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qAt -c "CREATE ROLE \"$SYS_PG_ROLE\" LOGIN" \
    >/dev/null || die "cannot create role $SYS_PG_ROLE"
  SYS_PG_ROLES+=("$SYS_PG_ROLE")
}

# sys_pg_url_as ROLE: SYS_PG_URL connecting as ROLE (key=value form: a repeated keyword takes the last value).
sys_pg_url_as() {
  if [[ $SYS_PG_URL =~ ^postgres(ql)?:// ]]; then
    if [[ $SYS_PG_URL == *\?* ]]; then echo "$SYS_PG_URL&user=$1"; else echo "$SYS_PG_URL?user=$1"; fi
  else
    echo "$SYS_PG_URL user=$1"
  fi
}

# sys_config NAME ENGINE [PG_URL]: writes $SYS_TMP/NAME.yaml and prints its path. The demo data is not loaded
# unless SYS_DEMO_DATA=true; the access log is off unless SYS_ACCESS_LOG=true.
sys_config() {
  local name=$1 engine=$2 url=${3:-}
  local file="$SYS_TMP/$name.yaml"
  {
    echo "server:"
    echo "  io_threads: 2"
    echo "  worker_threads: 4"
    echo "  shutdown_timeout_ms: 5000"
    echo "store:"
    if [ "$engine" = "postgres" ]; then
      echo "  engine: postgresql"
      printf '  postgres_url: "%s"\n' "$url"
    else
      echo "  engine: sqlite"
      echo "  data_dir: $SYS_TMP/$name-data"
    fi
    echo "logging:"
    echo "  access_log: ${SYS_ACCESS_LOG:-false}"
    echo "demo_data:"
    echo "  load_once: ${SYS_DEMO_DATA:-false}"
  } >"$file"
  echo "$file"
}

# sys_launch NAME CONFIG: starts `planbro serve --config CONFIG --listen 127.0.0.1:0` in the background.
# Sets SYS_PID[NAME] and SYS_LOG[NAME]; a second launch of NAME (a restart) logs to a new file.
sys_launch() {
  local name=$1 config=$2
  SYS_STARTS=$((SYS_STARTS + 1))
  local logf="$SYS_TMP/$name.$SYS_STARTS.log"
  SYS_LOG[$name]=$logf
  : >"$logf"
  local launcher=()
  command -v setpriv >/dev/null && launcher=(setpriv --pdeathsig KILL --)
  "${launcher[@]}" "$PLANBRO_BIN" serve --config "$config" --listen 127.0.0.1:0 >"$logf" 2>&1 &
  SYS_PID[$name]=$!
}

# sys_ready NAME: waits (bounded) until the launched server logs its port and /readyz answers 200.
# Sets SYS_PORT[NAME].
sys_ready() {
  local name=$1
  local pid=${SYS_PID[$name]} logf=${SYS_LOG[$name]}
  local port=""
  while [ -z "$port" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$logf" >&2
      die "server $name exited during start-up"
    fi
    [ "$(remaining)" -gt 0 ] || die "server $name did not log its port within the deadline"
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "$logf" | head -n 1 | sed 's/.*://') || true
    [ -n "$port" ] || sleep 0.05
  done
  SYS_PORT[$name]=$port
  local code=""
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/readyz") || true
    [ "$code" = "200" ] && break
    kill -0 "$pid" 2>/dev/null || die "server $name exited before it was ready"
    [ "$(remaining)" -gt 0 ] || die "server $name not ready within the deadline (last /readyz status $code)"
    sleep 0.05
  done
  log "server $name: pid $pid, http://127.0.0.1:$port"
}

# sys_start NAME CONFIG: sys_launch, then sys_ready.
sys_start() {
  sys_launch "$1" "$2"
  sys_ready "$1"
}

# sys_two_nodes: nodes a and b on one PostgreSQL database (sys_pg_url), launched together so that their start-up
# work races, then both ready; sets A and B to their base URLs. SYS_DEMO_DATA=true before it asks both for the
# demo data, as sys_config does.
sys_two_nodes() {
  sys_pg_url
  local config
  config=$(sys_config node postgres "$SYS_PG_URL")
  sys_launch a "$config"
  sys_launch b "$config"
  sys_ready a
  sys_ready b
  A=$(base a)
  B=$(base b)
}

# sys_stop NAME: SIGTERM; the server must shut down gracefully (exit 0) within the deadline.
sys_stop() {
  local name=$1
  kill -TERM "${SYS_PID[$name]}" 2>/dev/null || true
  sys_wait_exit "$name"
  [ "$SYS_EXIT" = "0" ] || fail_later "server $name exited with status $SYS_EXIT after SIGTERM (expected 0)"
}

# sys_wait_exit NAME: waits (bounded) until the server's process is gone, reaps it and sets SYS_EXIT to its status.
sys_wait_exit() {
  local name=$1 pid=${SYS_PID[$1]}
  while kill -0 "$pid" 2>/dev/null; do
    # A zombie still answers kill -0; `wait` reaps it. The process is ours, so `wait` returns once it ends.
    if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = "Z" ]; then break; fi
    [ "$(remaining)" -gt 0 ] || die "server $name (pid $pid) did not exit"
    sleep 0.05
  done
  SYS_EXIT=0
  wait "$pid" 2>/dev/null || SYS_EXIT=$?
  unset "SYS_PID[$name]"
}

base() { echo "http://127.0.0.1:${SYS_PORT[$1]}"; }

# req METHOD URL [curl args...]: one HTTP request. The body goes to $SYS_TMP/body.json, the headers to
# $SYS_TMP/headers.txt; prints the status code ("000" when the connection failed).
req() {
  local method=$1 url=$2
  shift 2
  curl -sS -X "$method" --max-time "$SYS_CURL_TIMEOUT" -o "$SYS_TMP/body.json" -D "$SYS_TMP/headers.txt" \
    -w '%{http_code}' "$@" "$url" 2>"$SYS_TMP/curl.err" || echo -n ""
}

# header NAME: the value of a response header of the last req (case-insensitive), without CR.
header() {
  grep -i "^$1:" "$SYS_TMP/headers.txt" | tail -n 1 | sed -e 's/^[^:]*:[[:space:]]*//' -e 's/\r$//'
}

# jsonq FILE EXPR...: evaluates each JavaScript expression EXPR with `r` bound to the parsed JSON in FILE and prints
# one line per expression (objects as JSON, newlines as spaces). One node start per call (≈0.1-0.5 s on a busy
# 2-core machine), so callers ask for several values at once: mapfile -t v < <(jsonq FILE EXPR1 EXPR2).
# A file that is not JSON gives "<not JSON>" for every expression; an expression that throws gives "<error: ...>".
jsonq() {
  node -e '
    const fs = require("fs");
    let r, bad = false;
    try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch (e) { bad = true; }
    for (const expr of process.argv.slice(2)) {
      if (bad) { console.log("<not JSON>"); continue; }
      let v;
      try { v = eval(expr); } catch (e) { v = "<error: " + e.message + ">"; }
      console.log((typeof v === "object" ? JSON.stringify(v) : String(v)).replace(/[\r\n]+/g, " "));
    }
  ' "$@"
}

# expect WHAT ACTUAL EXPECTED: records a failure when they differ (the test goes on).
expect() {
  [ "$2" = "$3" ] || fail_later "$1: expected '$3', got '$2'"
}

# status_in ACTUAL EXPECTED...: true when ACTUAL is one of EXPECTED.
status_in() {
  local actual=$1 e
  shift
  for e in "$@"; do [ "$actual" = "$e" ] && return 0; done
  return 1
}

last_response() {
  echo "body: $(head -c 600 "$SYS_TMP/body.json" 2>/dev/null) $(cat "$SYS_TMP/curl.err" 2>/dev/null)"
}

# expect_status WHAT ACTUAL EXPECTED...: records a failure (with the response body) unless ACTUAL is one of them.
expect_status() {
  local what=$1 actual=$2
  shift 2
  status_in "$actual" "$@" || fail_later "$what: HTTP $actual, expected $* — $(last_response)"
}

# must_status WHAT ACTUAL EXPECTED...: like expect_status, but ends the test (later steps depend on it).
must_status() {
  local what=$1 actual=$2
  shift 2
  status_in "$actual" "$@" || die "$what: HTTP $actual, expected $* — $(last_response)"
}
