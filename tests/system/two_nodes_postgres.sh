#!/usr/bin/env bash
# System test: two gateway processes sharing one PostgreSQL database behave as one FHIR server.
#   PLANBRO_BIN=build/check/gateway/planbro PLANBRO_TEST_PG_URL=... tests/system/two_nodes_postgres.sh
# Both nodes start on a fresh database (their concurrent first load of the demo data: two_nodes_demo_data.sh).
# A create on A is read and found by search on B; an update on B is read on A as version 2; a stale If-Match W/"1"
# update gets 412 on A and on B and writes nothing; 10 concurrent updates without If-Match, 5 per node, each get a
# version of their own (3..12, none lost, history complete); 20 concurrent identical conditional creates
# (If-None-Exist), 10 per node, make exactly one resource: one 201, nineteen 200 naming the same id, and a search on
# either node finds one.
source "$(dirname "$0")/lib.sh"

sys_two_nodes
run="$$-$RANDOM"
json=(-H 'Content-Type: application/fhir+json')

# Create on A, read and search on B.
patient() {  # identifier-value given-name [id]
  local id=""
  [ -n "${3:-}" ] && id="\"id\":\"$3\","
  printf '{"resourceType":"Patient",%s"identifier":[{"system":"urn:planbro:systest:two-nodes","value":"%s"}],"name":[{"family":"Tonoder","given":["%s"]}]}' \
    "$id" "$1" "$2"
}
code=$(req POST "$A/Patient" "${json[@]}" --data "$(patient "$run-p" first)")
must_status "create on A" "$code" 201
id=$(jsonq "$SYS_TMP/body.json" 'r.id')
expect "ETag of the create on A" "$(header ETag)" 'W/"1"'

code=$(req GET "$B/Patient/$id")
expect_status "read on B of the resource created on A" "$code" 200
expect "versionId read on B" "$(jsonq "$SYS_TMP/body.json" 'r.meta.versionId')" 1
code=$(req GET "$B/Patient?identifier=urn:planbro:systest:two-nodes|$run-p&_total=accurate")
expect_status "search on B" "$code" 200
expect "search on B finds the resource created on A" \
  "$(jsonq "$SYS_TMP/body.json" 'r.total + " " + (r.entry || []).map(e => e.resource.id).join(",")')" "1 $id"

# Update on B, read on A.
code=$(req PUT "$B/Patient/$id" "${json[@]}" -H 'If-Match: W/"1"' --data "$(patient "$run-p" second "$id")")
expect_status "update on B with If-Match W/\"1\"" "$code" 200
expect "ETag of the update on B" "$(header ETag)" 'W/"2"'
code=$(req GET "$A/Patient/$id")
expect_status "read on A after the update on B" "$code" 200
expect "version and name read on A after the update on B" \
  "$(jsonq "$SYS_TMP/body.json" 'r.meta.versionId + " " + r.name[0].given[0]')" "2 second"

# A stale If-Match is refused on both nodes and writes nothing.
code=$(req PUT "$A/Patient/$id" "${json[@]}" -H 'If-Match: W/"1"' --data "$(patient "$run-p" stale-a "$id")")
expect_status "stale If-Match W/\"1\" PUT on A after B's update" "$code" 412
code=$(req PUT "$B/Patient/$id" "${json[@]}" -H 'If-Match: W/"1"' --data "$(patient "$run-p" stale-b "$id")")
expect_status "stale If-Match W/\"1\" PUT on B after B's update" "$code" 412
code=$(req GET "$A/Patient/$id")
expect "version and name after the two refused updates" \
  "$(jsonq "$SYS_TMP/body.json" 'r.meta.versionId + " " + r.name[0].given[0]')" "2 second"

# 10 concurrent updates without If-Match, split across the nodes: none is lost, each gets its own version.
pids=()
mkdir -p "$SYS_TMP/up"
for i in $(seq 1 10); do
  node_url=$A
  [ $((i % 2)) -eq 0 ] && node_url=$B
  curl -sS -X PUT --max-time "$SYS_CURL_TIMEOUT" "${json[@]}" -H 'Prefer: return=minimal' \
    --data "$(patient "$run-p" "concurrent$i" "$id")" -D "$SYS_TMP/up/$i.headers" -o /dev/null \
    -w '%{http_code}' "$node_url/Patient/$id" >"$SYS_TMP/up/$i.status" 2>"$SYS_TMP/up/$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
versions=()
for i in $(seq 1 10); do
  s=$(cat "$SYS_TMP/up/$i.status")
  [ "$s" = "200" ] || fail_later "concurrent update $i: HTTP $s, expected 200 $(cat "$SYS_TMP/up/$i.err")"
  versions+=("$(grep -i '^etag:' "$SYS_TMP/up/$i.headers" | tr -d '\r' | sed 's/^[^:]*: *//')")
done
expect "ETags of 10 concurrent updates after version 2 (each its own version)" \
  "$(printf '%s\n' "${versions[@]}" | sort -u | paste -sd' ' -)" \
  "$(for v in $(seq 3 12); do printf 'W/"%s"\n' "$v"; done | sort -u | paste -sd' ' -)"
code=$(req GET "$B/Patient/$id/_history?_count=100")
expect_status "history on B after the concurrent updates" "$code" 200
expect "history on B: every version, newest first" \
  "$(jsonq "$SYS_TMP/body.json" '(r.entry || []).map(e => e.resource.meta.versionId).join(" ")')" \
  "$(seq 12 -1 1 | paste -sd' ' -)"

# 20 concurrent identical conditional creates, split across the nodes.
cc="$run-cc"
body=$(patient "$cc" conditional)
mkdir -p "$SYS_TMP/cc"
pids=()
for i in $(seq 1 20); do
  node_url=$A
  [ $((i % 2)) -eq 0 ] && node_url=$B
  curl -sS -X POST --max-time "$SYS_CURL_TIMEOUT" "${json[@]}" \
    -H "If-None-Exist: identifier=urn:planbro:systest:two-nodes|$cc" --data "$body" \
    -o "$SYS_TMP/cc/$i.json" -w '%{http_code}' "$node_url/Patient" >"$SYS_TMP/cc/$i.status" 2>"$SYS_TMP/cc/$i.err" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
created=0
ok=0
ids=()
for i in $(seq 1 20); do
  s=$(cat "$SYS_TMP/cc/$i.status")
  case "$s" in
    201) created=$((created + 1)) ;;
    200) ok=$((ok + 1)) ;;
    *) fail_later "conditional create $i: HTTP $s, expected 200 or 201 — $(head -c 400 "$SYS_TMP/cc/$i.json") $(cat "$SYS_TMP/cc/$i.err")" ;;
  esac
  ids+=("$(jsonq "$SYS_TMP/cc/$i.json" 'r.id')")
done
log "conditional creates: $created × 201, $ok × 200"
expect "number of 201 Created among 20 concurrent identical conditional creates" "$created" 1
expect "distinct ids answered by the 20 conditional creates" "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" 1
for n in a b; do
  code=$(req GET "$(base $n)/Patient?identifier=urn:planbro:systest:two-nodes|$cc&_total=accurate")
  expect_status "search for the conditional-create identifier on $n" "$code" 200
  expect "resources with the conditional-create identifier, searched on $n" \
    "$(jsonq "$SYS_TMP/body.json" 'r.total + " " + (r.entry || []).length')" "1 1"
done

sys_stop a
sys_stop b
sys_finish
