#!/usr/bin/env bash
# System test: the gateway killed with SIGKILL during dispatch delivers everything after restart, each effect once
# at an idempotent receiver, in order per plan.
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/dispatch_sigkill.sh
# A slow rest-hook receiver (node, 15 ms per request) subscribes with payload full; 10 plans get 20 Goal versions
# each after its Patient (210 changes); once the receiver holds a quarter of them the gateway gets SIGKILL; it restarts on the same
# data and the receiver must end with every change once (by Idempotency-Key), per plan in version order.
source "$(dirname "$0")/lib.sh"

plans=10
per_plan=20
total=$((plans * (per_plan + 1)))  # each plan: its Patient, then its Goal per_plan times
node "$SYS_DIR/dispatch_receiver.js" receive "$SYS_TMP/receiver.port" 15 >"$SYS_TMP/receiver.log" 2>&1 &
receiver_pid=$!
trap 'rc=$?; kill $receiver_pid 2>/dev/null || true; (exit $rc); sys_cleanup' EXIT
while [ ! -s "$SYS_TMP/receiver.port" ]; do
  [ "$(remaining)" -gt 0 ] || die "the receiver did not start"
  sleep 0.05
done
receiver="http://127.0.0.1:$(cat "$SYS_TMP/receiver.port")"
config=$(sys_config node sqlite)
cat >>"$config" <<YAML
dispatch:
  poll_interval_ms: 5
  subscribers:
    - name: mirror
      endpoint: $receiver/fhir
      allow_plain_http: true
      start: beginning
      max_parallel: 2
YAML

state() { curl -sS --max-time 10 "$receiver/_state" >"$SYS_TMP/state.json" && jsonq "$SYS_TMP/state.json" "$1"; }

sys_start node "$config"
node "$SYS_DIR/dispatch_receiver.js" write "$(base node)" "$plans" "$per_plan" || die "the writes failed"
log "$total changes written; waiting for a quarter to arrive, then SIGKILL"
while [ "$(state 'r.effects')" -lt $((total / 4)) ]; do
  [ "$(remaining)" -gt 0 ] || die "the receiver never got a quarter of the changes"
  sleep 0.05
done
kill -KILL "${SYS_PID[node]}"
sys_wait_exit node
before=$(state 'r.effects')
log "killed with $before of $total delivered"
[ "$before" -lt "$total" ] || log "warning: everything was delivered before the kill (the test proves less)"

sys_start node "$config"
while [ "$(state 'r.effects')" -lt "$total" ]; do
  [ "$(remaining)" -gt 0 ] || die "after the restart only $(state 'r.effects') of $total changes arrived"
  sleep 0.1
done
expect "changes applied once each" "$(state 'r.effects')" "$total"
order=$(state 'Object.entries(r.byPath).filter(([p]) => p.startsWith("/fhir/Goal/")).filter(([p, s]) => s.length !== '"$per_plan"' || s.some((v, i) => v !== i)).map(([p]) => p).join(",")')
expect "plans whose versions arrived out of order or incomplete" "$order" ""
log "receiver took $(state 'r.requests') requests for $total changes (redeliveries after the kill carry the same key)"
sys_stop node
sys_finish
