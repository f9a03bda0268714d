#!/usr/bin/env bash
# Loopback HTTP load: planbro's server pipeline against a bare Beast server answering the same bytes from memory
# (the ceiling on this machine), in the same run, with wrk. Prints requests/s and p50/p99 latency side by side.
#
# usage: bench/server/load.sh [-d SECONDS] [-c CONNECTIONS] [-t SERVER_THREADS]
#   env PLANBRO_BENCH_BUILD=DIR   build directory (default: build-bench-server, Release)
# Rows:
#   bare-beast /healthz          the ceiling: parse a request, write fixed bytes
#   planbro /healthz             built-in endpoint, answered on the I/O thread (access log on, to a file)
#   planbro /healthz no-log      same, logging.access_log: false
#   planbro /metadata            the placeholder FHIR handler (501 OperationOutcome) via the worker pool
#   planbro /metadata inline     same with server.worker_threads: 0 (handler on the I/O thread)
set -euo pipefail

DURATION=10
CONNECTIONS=64
SERVER_THREADS=2
while getopts "d:c:t:" opt; do
  case "$opt" in
    d) DURATION=$OPTARG ;;
    c) CONNECTIONS=$OPTARG ;;
    t) SERVER_THREADS=$OPTARG ;;
    *) echo "usage: $0 [-d SECONDS] [-c CONNECTIONS] [-t SERVER_THREADS]" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${PLANBRO_BENCH_BUILD:-$ROOT/build-bench-server}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)..." >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLANBRO_BUILD_BENCH=ON -DPLANBRO_BUILD_TESTS=OFF \
  >/dev/null
cmake --build "$BUILD" --target bare_beast_server planbro_serve_bench -j2 >/dev/null

# start_server LOG PATTERN CMD...: starts CMD in the background, waits (bounded) for PATTERN's port in LOG; sets PORT.
# (Not called in $(...): the server must be a child of this shell so stop_last can stop it.)
start_server() {
  local log=$1 pattern=$2
  shift 2
  "$@" >"$log" 2>&1 &
  PIDS+=($!)
  local port=""
  for _ in $(seq 1 200); do
    port=$(grep -o "$pattern[0-9]*" "$log" 2>/dev/null | head -1 | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
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

# Latency as wrk prints it (e.g. 412.00us, 1.23ms) converted to milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "%s", v }'
}

# Server CPU time (user + system, in clock ticks) of the last started server.
cpu_ticks() { awk '{print $14 + $15}' "/proc/${PIDS[-1]}/stat"; }

RESULTS=()
run_wrk() {
  local name=$1 url=$2 out="$WORK/wrk.txt"
  local t0 t1
  t0=$(cpu_ticks)
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$out"
  t1=$(cpu_ticks)
  local rps p50 p99 non2xx requests cpu_us
  rps=$(awk '/Requests\/sec/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
  requests=$(awk '/requests in/ {print $1}' "$out")
  # Server CPU per request: unlike requests/s it hardly moves when other processes share the cores.
  cpu_us=$(awk -v t=$((t1 - t0)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t * 1e6 / hz / r }')
  RESULTS+=("$(printf '%-28s %12s %10s %10s %12s %s' "$name" "$rps" "$p50" "$p99" "$cpu_us" \
    "${non2xx:+(non-2xx: $non2xx)}")")
}

cat >"$WORK/nolog.yaml" <<YAML
logging: {access_log: false}
YAML
cat >"$WORK/inline.yaml" <<YAML
server: {worker_threads: 0}
logging: {access_log: false}
YAML

start_server "$WORK/bare.log" "listening on " "$BUILD/bench/bare_beast_server" --threads "$SERVER_THREADS"
run_wrk "bare-beast /healthz" "http://127.0.0.1:$PORT/healthz"
stop_last

SERVE=("$BUILD/bench/planbro_serve_bench" serve --listen 127.0.0.1:0 --threads "$SERVER_THREADS" --data-dir "$WORK/data")
start_server "$WORK/planbro.log" "listening on 127.0.0.1:" "${SERVE[@]}"
run_wrk "planbro /healthz" "http://127.0.0.1:$PORT/healthz"
run_wrk "planbro /metadata (501)" "http://127.0.0.1:$PORT/metadata"
stop_last

start_server "$WORK/nolog.log" "listening on 127.0.0.1:" "${SERVE[@]}" --config "$WORK/nolog.yaml"
run_wrk "planbro /healthz no-log" "http://127.0.0.1:$PORT/healthz"
stop_last

start_server "$WORK/inline.log" "listening on 127.0.0.1:" "${SERVE[@]}" --config "$WORK/inline.yaml"
run_wrk "planbro /metadata inline" "http://127.0.0.1:$PORT/metadata"
stop_last

echo "loopback, $(nproc) cores, wrk -t2 -c$CONNECTIONS -d${DURATION}s, server threads $SERVER_THREADS," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-28s %12s %10s %10s %12s\n' "server / path" "requests/s" "p50 ms" "p99 ms" "CPU us/req"
for r in "${RESULTS[@]}"; do echo "$r"; done
