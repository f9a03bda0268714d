#!/usr/bin/env bash
# System test: two gateway nodes starting at the same moment on one empty PostgreSQL database load the demo
# individual plan (demo_data.load_once) once between them, not once each.
#   PLANBRO_BIN=build/check/gateway/planbro PLANBRO_TEST_PG_URL=... tests/system/two_nodes_demo_data.sh
# Counts every resource of conformance/demo/individual-plan-demo.json by its identifier or its patient.
source "$(dirname "$0")/lib.sh"

SYS_DEMO_DATA=true sys_two_nodes

fnr="urn:oid:2.16.578.1.12.4.1.4.1|12868441060"  # Ingrid Testlien, the demo's main case (conformance/demo/README.md)
# query=expected: one of each resource, Ingrid's five goals, her plan and crisis plan, her two consents.
for pair in "Patient?identifier=$fnr=1" "Organization?identifier=urn:oid:2.16.578.1.12.4.1.4.101|999700306=1" \
    "Practitioner?identifier=urn:oid:2.16.578.1.12.4.1.4.4|9900102=1" "CareTeam?subject:Patient.identifier=$fnr=1" \
    "Goal?subject:Patient.identifier=$fnr=5" "CarePlan?subject:Patient.identifier=$fnr=2" \
    "Consent?patient:Patient.identifier=$fnr=2"; do
  query=${pair%=*}
  code=$(req GET "$(base b)/$query&_total=accurate")
  expect_status "GET $query" "$code" 200
  expect "${query%%\?*}s of the demo plan after two nodes started at once on an empty database" \
    "$(jsonq "$SYS_TMP/body.json" 'r.total')" "${pair##*=}"
done

# Each node says what it did with the demo data, and between them they created each resource once.
created=0
for n in a b; do
  line=$(grep -oE 'demo data: (loaded [0-9]+ resources|requested; the store already holds data)' "${SYS_LOG[$n]}" |
    head -n 1) || true
  [ -n "$line" ] || fail_later "node $n did not log what it did with the requested demo data"
  if [[ $line =~ loaded\ ([0-9]+) ]]; then created=$((created + BASH_REMATCH[1])); fi
done
expect "demo resources created by the two nodes together (from their logs)" "$created" 32

sys_stop a
sys_stop b
sys_finish
