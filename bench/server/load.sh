#!/usr/bin/env bash
# One command: the loopback load benchmark of `planbro serve` (docs/performance.md, "Performance of the REST server").
#
# Builds Release `planbro` and `bare_beast_server`, starts `planbro serve` on a fresh data directory (SQLite, WAL,
# synchronous=FULL as shipped) on a free loopback port, seeds it with Patients and one CarePlan each (transaction
# Bundles, seed.py), then runs wrk at C connections for D seconds per row:
#   read      GET /Patient/{id}                  spread over the seeded ids (read.lua)
#   search    GET /CarePlan?subject=Patient/{id} spread over the seeded ids (search.lua)
#   create    POST /Patient, a valid Patient      durable: 201 only after the group's fsync (create.lua)
#   bare-tN   bare_beast_server with N threads answering the bytes planbro sent for one read, from memory; run with
#             planbro's I/O thread count and with one thread per core, the faster of the two is the ceiling
#   create-pg POST /Patient on PostgreSQL         only when PLANBRO_TEST_PG_URL is set (a fresh schema)
# and prints one table: requests/s, p50 and p99 latency (wrk --latency), non-2xx answers, server CPU per request,
# and the read rows' requests/s as a ratio to the ceiling.
#
# usage: bench/server/load.sh [-d SECONDS] [-c CONNECTIONS] [-t SERVER_THREADS] [-n PATIENTS] [-r ROWS]
#   -t  planbro's I/O threads (default: as shipped, server.io_threads); the bare server runs with this many and with
#       one per core. planbro also runs server.worker_threads read and write_threads write handler threads (-w sets
#       the former)
#   -r  comma-separated subset of rows, e.g. -r read,bare (default: read,search,create,bare[,create-pg])
#   env PLANBRO_BENCH_BUILD=DIR   build directory (default: build-bench-server, Release)
#   env PLANBRO_TEST_PG_URL=URL   also measure create on PostgreSQL (scripts/postgres-test-cluster.sh start)
set -euo pipefail

DURATION=10
CONNECTIONS=64
SERVER_THREADS=""
WORKERS=""
PATIENTS=1000
ROWS=""
while getopts "d:c:t:w:n:r:" opt; do
  case "$opt" in
    d) DURATION=$OPTARG ;;
    c) CONNECTIONS=$OPTARG ;;
    t) SERVER_THREADS=$OPTARG ;;
    w) WORKERS=$OPTARG ;;
    n) PATIENTS=$OPTARG ;;
    r) ROWS=$OPTARG ;;
    *) echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] [-t SERVER_THREADS] [-w WORKERS] [-n PATIENTS] [-r ROWS]" >&2
       exit 2 ;;
  esac
done
if [ -z "$ROWS" ]; then
  ROWS=read,search,create,bare
  [ -n "${PLANBRO_TEST_PG_URL:-}" ] && ROWS=$ROWS,create-pg
fi
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
want() { [[ ",$ROWS," == *",$1,"* ]]; }

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${PLANBRO_BENCH_BUILD:-$ROOT/build-bench-server}
# The data directory must be on a real disk (not tmpfs), or the fsyncs that make creates durable cost nothing.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/planbro-load.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ "$(stat -f -c %T "$WORK")" = tmpfs ]; then
  echo "warning: $WORK is on tmpfs; durable-create figures will be meaningless (set TMPDIR to a disk)" >&2
fi

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$0 needs $tool (apt-get install $tool)" >&2; exit 1; }
done

echo "building Release planbro and bare_beast_server in $BUILD ..." >&2
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLANBRO_BUILD_BENCH=ON -DPLANBRO_BUILD_TESTS=OFF \
  >"$WORK/cmake.log" 2>&1 || { cat "$WORK/cmake.log" >&2; exit 1; }
cmake --build "$BUILD" --target planbro bare_beast_server -j2 >"$WORK/build.log" 2>&1 ||
  { tail -50 "$WORK/build.log" >&2; exit 1; }
PLANBRO=$BUILD/gateway/planbro
BARE=$BUILD/bench/bare_beast_server

# start_server LOG PATTERN CMD...: starts CMD in the background, waits (bounded) for PATTERN's port in LOG; sets PORT.
# (Not called in $(...): the server must be a child of this shell so stop_last can stop it.)
start_server() {
  local log=$1 pattern=$2
  shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  local port=""
  for _ in $(seq 1 600); do
    port=$(grep -o "$pattern[0-9]*" "$log" 2>/dev/null | head -1 | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then echo "server did not start: $*" >&2; cat "$log" >&2; exit 1; fi
  PORT=$port
}

stop_last() {
  local pid=${PIDS[-1]}
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

# Latency as wrk prints it (e.g. 412.00us, 1.23ms, 1.02s) converted to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.0f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
    else printf "%s", v }'
}

# Server CPU time (user + system, in clock ticks) of the last started server.
cpu_ticks() { awk '{print $14 + $15}' "/proc/${PIDS[-1]}/stat"; }
# CPU time the hypervisor took from this VM (all cores, clock ticks): a row with much steal ran on a busy host.
steal_ticks() { awk '/^cpu / {print $9}' /proc/stat; }

declare -A RPS P50 P99 NON2XX CPU STEAL
ROW_ORDER=()
# run_wrk NAME URL SCRIPT [SCRIPT_ARGS...]
run_wrk() {
  local name=$1 url=$2 script=$3
  shift 3
  local out="$WORK/wrk-$name.txt" t0 t1 s0 s1
  t0=$(cpu_ticks)
  s0=$(steal_ticks)
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency -s "$HERE/$script" "$url" -- "$@" >"$out" 2>&1 ||
    { cat "$out" >&2; exit 1; }
  t1=$(cpu_ticks)
  s1=$(steal_ticks)
  STEAL[$name]=$(awk -v s=$((s1 - s0)) -v d="$DURATION" -v n="$(nproc)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f", 100 * s / (d * n * hz) }')
  local requests
  requests=$(awk '/requests in/ {print $1}' "$out")
  ROW_ORDER+=("$name")
  RPS[$name]=$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$out")
  P50[$name]=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  P99[$name]=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  NON2XX[$name]=$(awk '/Non-2xx/ {print $NF}' "$out")
  NON2XX[$name]=${NON2XX[$name]:-0}
  local socket_errors
  socket_errors=$(grep 'Socket errors' "$out" | sed 's/^ *//' || true)
  [ -n "$socket_errors" ] && NON2XX[$name]="${NON2XX[$name]} ($socket_errors)"
  # Server CPU per request: unlike requests/s it hardly moves when other processes share the cores.
  CPU[$name]=$(awk -v t=$((t1 - t0)) -v r="$requests" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (r > 0) printf "%.0f", t * 1e6 / hz / r; else print "-" }')
}

WORKER_YAML=""
[ -n "$WORKERS" ] && WORKER_YAML="  worker_threads: $WORKERS"
# As shipped (access log on, to a file here), except: no demo data, and a free port.
cat >"$WORK/planbro.yaml" <<YAML
server:
  listen: 127.0.0.1:0
$WORKER_YAML
demo_data:
  load_once: false
YAML

start_server "$WORK/planbro.log" "listening on 127.0.0.1:" \
  "$PLANBRO" serve --config "$WORK/planbro.yaml" ${SERVER_THREADS:+--threads "$SERVER_THREADS"} --data-dir "$WORK/data"
BASE="http://127.0.0.1:$PORT"
WORKERS_RUN=$(grep -o '[0-9]* workers' "$WORK/planbro.log" | head -1 | grep -o '[0-9]*' || echo '?')
IO_THREADS_RUN=$(grep -o '[0-9]* I/O threads' "$WORK/planbro.log" | head -1 | grep -o '[0-9]*')
echo "seeding $PATIENTS Patients with one CarePlan each ..." >&2
python3 "$HERE/seed.py" "$BASE" "$PATIENTS" 1 >"$WORK/ids.txt"
FIRST_ID=$(head -1 "$WORK/ids.txt")
# The exact bytes of one read response (headers + body), for the bare server to answer from memory.
curl -s -i -H 'Accept: application/fhir+json' "$BASE/Patient/$FIRST_ID" >"$WORK/read-response.http"
if ! grep -q '^HTTP/1.1 200' "$WORK/read-response.http"; then
  echo "read of $FIRST_ID failed:" >&2
  cat "$WORK/read-response.http" >&2
  exit 1
fi
SEARCH_TOTAL=$(curl -s -H 'Accept: application/fhir+json' "$BASE/CarePlan?subject=Patient/$FIRST_ID" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("entry", [])))')
if [ "$SEARCH_TOTAL" != 1 ]; then
  echo "search for the seeded CarePlan found $SEARCH_TOTAL entries, expected 1" >&2
  exit 1
fi

sync  # the seed's dirty pages go to disk now, not while the first row is measured
# The first pass over the ids brings them into the read cache (store.read_cache_mb), as any served workload would.
want read && run_wrk read "$BASE" read.lua "$WORK/ids.txt"
want search && run_wrk search "$BASE" search.lua "$WORK/ids.txt"
want create && run_wrk create "$BASE" create.lua
stop_last

BARE_ROWS=()
CEILING=""
if want bare; then
  sync  # the create row's dirty pages go to disk now, not while the bare server is measured
  for threads in $(printf '%s\n' "$IO_THREADS_RUN" "$(nproc)" | sort -un); do
    start_server "$WORK/bare.log" "listening on " \
      "$BARE" --threads "$threads" --response "$WORK/read-response.http"
    run_wrk "bare-t$threads" "http://127.0.0.1:$PORT" read.lua "$WORK/ids.txt"
    stop_last
    BARE_ROWS+=("bare-t$threads")
    if [ -z "$CEILING" ] || [ "${RPS[bare-t$threads]}" -gt "$CEILING" ]; then CEILING=${RPS[bare-t$threads]}; fi
  done
fi

if want create-pg && [ -n "${PLANBRO_TEST_PG_URL:-}" ]; then
  # A schema of its own so that the run neither sees nor leaves rows in the database's default schema.
  SCHEMA=planbro_load_$$
  psql -q "$PLANBRO_TEST_PG_URL" -c "CREATE SCHEMA $SCHEMA" >/dev/null
  PG_URL="$PLANBRO_TEST_PG_URL"
  case "$PG_URL" in
    postgres://*\?* | postgresql://*\?*) PG_URL="$PG_URL&options=-csearch_path%3D$SCHEMA" ;;
    postgres://* | postgresql://*) PG_URL="$PG_URL?options=-csearch_path%3D$SCHEMA" ;;
    *) PG_URL="$PG_URL options=-csearch_path=$SCHEMA" ;;  # key=value connection string
  esac
  cat >"$WORK/planbro-pg.yaml" <<YAML
server:
  listen: 127.0.0.1:0
$WORKER_YAML
store:
  engine: postgresql
  postgres_url: "$PG_URL"
demo_data:
  load_once: false
YAML
  start_server "$WORK/planbro-pg.log" "listening on 127.0.0.1:" \
    "$PLANBRO" serve --config "$WORK/planbro-pg.yaml" ${SERVER_THREADS:+--threads "$SERVER_THREADS"} \
    --data-dir "$WORK/data-pg"
  run_wrk create-pg "http://127.0.0.1:$PORT" create.lua
  stop_last
  psql -q "$PLANBRO_TEST_PG_URL" -c "DROP SCHEMA $SCHEMA CASCADE" >/dev/null
fi

echo
echo "planbro load: loopback, $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s --latency," \
  "planbro I/O threads $IO_THREADS_RUN (workers $WORKERS_RUN), $PATIENTS patients," \
  "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %-36s %10s %8s %8s %8s %9s %7s  %s\n' row request "req/s" "p50 ms" "p99 ms" "vs bare" "CPU us/r" \
  "steal %" non-2xx
declare -A WHAT=([read]="GET /Patient/{id}" [search]="GET /CarePlan?subject=Patient/{id}"
  [create]="POST /Patient (SQLite, durable)" [create-pg]="POST /Patient (PostgreSQL)")
for b in "${BARE_ROWS[@]}"; do WHAT[$b]="bare Beast ${b#bare-t} threads, same bytes"; done
for name in "${ROW_ORDER[@]}"; do
  ratio="-"
  if [ -n "$CEILING" ] && [[ $name == read || $name == search || $name == bare-t* ]]; then
    ratio=$(awk -v a="${RPS[$name]}" -v b="$CEILING" 'BEGIN { printf "%.2f", a / b }')
  fi
  printf '%-10s %-36s %10s %8s %8s %8s %9s %7s  %s\n' "$name" "${WHAT[$name]}" "${RPS[$name]}" "${P50[$name]}" \
    "${P99[$name]}" "$ratio" "${CPU[$name]}" "${STEAL[$name]}" "${NON2XX[$name]}"
done
