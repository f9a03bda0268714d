#!/usr/bin/env bash
# System test: an acknowledged write survives SIGKILL of the gateway.
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/sigkill_durability.sh sqlite|postgres
# Starts `planbro serve`, runs 12 concurrent writers (creates and updates of Patients, each write with a unique
# marker), sends SIGKILL to the server after 400 acknowledged (2xx) writes while others are in flight, restarts it
# on the same SQLite data dir / PostgreSQL database, and checks that every acknowledged version is readable with its
# own content and that each resource's current version is at least the newest acknowledged one. Two rounds (the
# second crashes a store that already recovered from a crash; its check covers both rounds' writes), then search
# and a new write must work. postgres runs on a fresh database of the PLANBRO_TEST_PG_URL cluster.
source "$(dirname "$0")/lib.sh"

engine=${1:-}
case "$engine" in
  sqlite) config=$(sys_config node sqlite) ;;
  postgres)
    sys_pg_url
    config=$(sys_config node postgres "$SYS_PG_URL")
    ;;
  *) die "usage: $0 sqlite|postgres" ;;
esac
workers=${SYS_DURABILITY_WORKERS:-12}
kill_after=${SYS_DURABILITY_KILL_AFTER:-400}

rounds=${SYS_DURABILITY_ROUNDS:-2}
acks=()
sys_start node "$config"
for round in $(seq 1 "$rounds"); do
  log "round $round: $workers writers; SIGKILL after $kill_after acknowledged writes"
  load_rc=0
  acks+=("$SYS_TMP/acks.$round.json")
  node "$SYS_DIR/durability_load.js" load "$(base node)" "${SYS_PID[node]}" "${acks[-1]}" \
    --workers "$workers" --kill-after "$kill_after" --run "$$r$round" || load_rc=$?
  sys_wait_exit node
  [ "$load_rc" -eq 0 ] || die "round $round: the write load failed before the kill (see above)"
  # Restart on the same data: every write acknowledged so far, in this round and the ones before, must be there.
  sys_start node "$config"
  node "$SYS_DIR/durability_load.js" verify "$(base node)" "${acks[@]}" ||
    fail_later "round $round: acknowledged writes missing after SIGKILL and restart ($engine)"
done

# The store is readable through search, and takes new writes.
first=$(jsonq "${acks[0]}" 'r.find(a => a.kind === "create").identifier')
code=$(req GET "$(base node)/Patient?identifier=urn:planbro:systest:durability|$first&_total=accurate")
expect_status "search by an acknowledged identifier after restart" "$code" 200
expect "search total for identifier $first" "$(jsonq "$SYS_TMP/body.json" 'r.total')" 1
code=$(req POST "$(base node)/Patient" -H 'Content-Type: application/fhir+json' \
  --data '{"resourceType":"Patient","identifier":[{"system":"urn:planbro:systest:durability","value":"after-restart"}]}')
must_status "create after restart" "$code" 201
location=$(header Location)
code=$(req GET "${location%/_history/*}")
expect_status "read the post-restart create ($location)" "$code" 200
expect "post-restart create's identifier" "$(jsonq "$SYS_TMP/body.json" 'r.identifier[0].value')" after-restart

sys_stop node
sys_finish
