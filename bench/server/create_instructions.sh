#!/usr/bin/env bash
# Instructions per create, by stage: a load-independent figure for comparing two builds on a shared machine
# (docs/performance.md). Starts PLANBRO (a Release `planbro`) under valgrind's callgrind on a fresh data directory
# (shipped configuration, free loopback port, no demo data), sends 50 creates with instrumentation off (warm-up:
# caches, statements, the first WAL pages), then N creates of the load benchmark's Patient (bench/server/create.lua's
# body, one keep-alive connection, one at a time) with it on, and prints the instructions executed per create in
# all and in the write's main stages (inclusive, every server thread). The client waits for each 201, so nothing
# is batched: each create commits alone (the load benchmark's group commit shares fsyncs, not instructions).
#
# usage: bench/server/create_instructions.sh PLANBRO [N]     (N default 300; needs valgrind and python3)
set -euo pipefail
PLANBRO=${1:?usage: $0 PLANBRO [N]}
N=${2:-300}
for tool in valgrind callgrind_control callgrind_annotate python3; do
  command -v "$tool" >/dev/null || { echo "$0 needs $tool (apt-get install valgrind python3)" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/planbro-instr.XXXXXX")
VPID=""
cleanup() {
  [ -n "$VPID" ] && kill "$VPID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
printf 'server:\n  listen: 127.0.0.1:0\ndemo_data:\n  load_once: false\n' >"$WORK/planbro.yaml"
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
  "$PLANBRO" serve --config "$WORK/planbro.yaml" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
VPID=$!
PORT=""
for _ in $(seq 1 600); do
  PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/server.log" 2>/dev/null | head -1 | grep -o '[0-9]*$' || true)
  [ -n "$PORT" ] && break
  kill -0 "$VPID" 2>/dev/null || break
  sleep 0.2
done
[ -n "$PORT" ] || { echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }

creates() {  # creates COUNT TAG: COUNT creates, each must be 201
  python3 - "$PORT" "$1" "$2" <<'PY'
import http.client, sys
port, n, tag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
for i in range(n):
    body = ('{"resourceType":"Patient","active":true,"name":[{"use":"official","family":"Lastbenk%s",'
            '"given":["Kari","N%d"]}],"gender":"female","birthDate":"1980-04-12",'
            '"telecom":[{"system":"phone","value":"+47 22 00 00 00","use":"home"}]}' % (tag, i))
    c.request("POST", "/Patient", body, {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"})
    r = c.getresponse()
    r.read()
    if r.status != 201:
        sys.exit("create answered %d" % r.status)
PY
}
creates 50 w
callgrind_control -i on "$VPID" >/dev/null 2>&1
creates "$N" m
callgrind_control -i off "$VPID" >/dev/null 2>&1
callgrind_control -d "$VPID" >/dev/null 2>&1
kill -TERM "$VPID"
wait "$VPID" || true
VPID=""
OUT=$(ls "$WORK"/callgrind.out* | sort | tail -1)
echo "instructions per create over $N creates ($PLANBRO):"
callgrind_annotate --inclusive=yes "$OUT" 2>/dev/null | sed 's/,//g' | awk -v n="$N" '
  function stage(pattern, name) { if ($0 ~ pattern && !(name in seen)) { seen[name] = 1; printf "  %-48s %10.0f\n", name, $1 / n } }
  / PROGRAM TOTALS/ { printf "  %-48s %10.0f\n", "all (every thread)", $1 / n }
  { stage("ResourceWriter::prepare\\(", "prepare (parse checks, validation, index rows)")
    stage("search::indexResource\\(", "  of which index rows (indexResource)")
    stage("ResourceWriter::apply\\(", "apply (under the writer turn)")
    stage("SqlWriteTransaction::insertIndexRows\\(", "  of which index row inserts")
    stage("SqlWriteTransaction::commit\\(\\)", "commit (WAL write)") }'
