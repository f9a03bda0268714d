#!/usr/bin/env bash
# Opens N idle connections (default 10,000) to `planbro serve` on loopback, checks that /healthz still answers
# on a fresh connection while they are open, and prints the server's open-connection gauge and RSS.
#
# usage: bench/server/idle_connections.sh [N]     env PLANBRO_BENCH_BUILD=DIR (default: build-bench-server)
set -euo pipefail
N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${PLANBRO_BENCH_BUILD:-$ROOT/build-bench-server}
WORK=$(mktemp -d)
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPLANBRO_BUILD_BENCH=ON -DPLANBRO_BUILD_TESTS=OFF \
  >/dev/null
cmake --build "$BUILD" --target planbro -j2 >/dev/null

"$BUILD/gateway/planbro" serve --listen 127.0.0.1:0 --data-dir "$WORK/data" >"$WORK/log" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$WORK"' EXIT
PORT=""
for _ in $(seq 1 200); do
  PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/log" | head -1 | grep -o '[0-9]*$' || true)
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "$PORT" ] || { cat "$WORK/log"; exit 1; }

python3 - "$PORT" "$N" "$PID" <<'PY'
import resource, socket, sys, time
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
t0 = time.monotonic()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    socks.append(s)
opened = time.monotonic() - t0

def get(path):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode(errors="replace")

health = get("/healthz")
metrics = get("/metrics")
gauge = [l for l in metrics.splitlines() if l.startswith("planbro_http_open_connections ")]
rss = [l for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS")]
print(f"opened {len(socks)} idle connections in {opened:.2f}s")
print("healthz while they are open:", health.splitlines()[0])
print("server gauge:", gauge[0] if gauge else "?")
print("server", rss[0].strip() if rss else "")
for s in socks:
    s.close()
PY
