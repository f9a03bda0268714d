#!/usr/bin/env bash
# System test: one active individual plan per patient (GW-01) holds across two gateway processes on one PostgreSQL
# database.
#   PLANBRO_BIN=build/check/gateway/planbro PLANBRO_TEST_PG_URL=... tests/system/two_nodes_ip_plan.sh
# 20 concurrent creates of an IP CarePlan for one patient, 10 per node: exactly one 201, nineteen 409 whose
# OperationOutcome names the plan that won (GW-01, CarePlan/<id>); a search on either node finds one plan; the
# winner's create recorded one Provenance, visible on both nodes.
source "$(dirname "$0")/lib.sh"

sys_two_nodes
json=(-H 'Content-Type: application/fhir+json')
fnr=15038540189  # synthetic, valid check digits

code=$(req POST "$A/Patient" "${json[@]}" \
  --data "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"urn:oid:2.16.578.1.12.4.1.4.1\",\"value\":\"$fnr\"}]}")
must_status "create the patient on A" "$code" 201
pid=$(jsonq "$SYS_TMP/body.json" 'r.id')

plan="{\"resourceType\":\"CarePlan\",\"extension\":[{\"url\":\"http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle\",\
\"valueCoding\":{\"system\":\"http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle\",\"code\":\"need-reported\"}}],\
\"status\":\"draft\",\"intent\":\"plan\",\"category\":[{\"coding\":[{\"system\":\"http://planbro.no/fhir/CodeSystem/ip-category\",\
\"code\":\"individuell-plan\"}]}],\"subject\":{\"reference\":\"Patient/$pid\",\"identifier\":{\"system\":\"urn:oid:2.16.578.1.12.4.1.4.1\",\
\"value\":\"$fnr\"}}}"

mkdir -p "$SYS_TMP/ip"
pids=()
for i in $(seq 1 20); do
  node_url=$A
  [ $((i % 2)) -eq 0 ] && node_url=$B
  curl -sS -X POST --max-time "$SYS_CURL_TIMEOUT" "${json[@]}" --data "$plan" \
    -o "$SYS_TMP/ip/$i.json" -w '%{http_code}' "$node_url/CarePlan" >"$SYS_TMP/ip/$i.status" 2>"$SYS_TMP/ip/$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
created=0
conflicts=0
winner=""
for i in $(seq 1 20); do
  s=$(cat "$SYS_TMP/ip/$i.status")
  case "$s" in
    201) created=$((created + 1)); winner=$(jsonq "$SYS_TMP/ip/$i.json" 'r.id') ;;
    409) conflicts=$((conflicts + 1)) ;;
    *) fail_later "IP plan create $i: HTTP $s, expected 201 or 409 — $(head -c 400 "$SYS_TMP/ip/$i.json") $(cat "$SYS_TMP/ip/$i.err")" ;;
  esac
done
log "IP plan creates: $created × 201, $conflicts × 409"
expect "201 Created among 20 concurrent IP plan creates for one patient on two nodes" "$created" 1
expect "409 Conflict among them" "$conflicts" 19
for i in $(seq 1 20); do
  [ "$(cat "$SYS_TMP/ip/$i.status")" = "409" ] || continue
  named=$(jsonq "$SYS_TMP/ip/$i.json" '(r.issue || []).some(x => (x.expression || []).includes("CarePlan/'"$winner"'") && x.diagnostics.startsWith("GW-01"))')
  [ "$named" = "true" ] || fail_later "409 of create $i does not name CarePlan/$winner: $(head -c 400 "$SYS_TMP/ip/$i.json")"
done
for n in a b; do
  code=$(req GET "$(base $n)/CarePlan?subject=Patient/$pid&_total=accurate")
  expect_status "search for the patient's plans on $n" "$code" 200
  expect "plans of the patient, searched on $n" "$(jsonq "$SYS_TMP/body.json" 'r.total')" 1
  code=$(req GET "$(base $n)/Provenance?target=CarePlan/$winner&_total=accurate")
  expect_status "search for the plan's Provenance on $n" "$code" 200
  expect "Provenance of the plan, searched on $n" \
    "$(jsonq "$SYS_TMP/body.json" 'r.total + " " + r.entry[0].resource.activity.coding[0].code')" "1 CREATE"
done

sys_stop a
sys_stop b
sys_finish
