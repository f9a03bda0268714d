#!/usr/bin/env bash
# System test: a new user's FHIR client session, done with curl as any standard client would.
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/client_session.sh sqlite|postgres
# Creates a Patient identified by a (synthetic) fødselsnummer, a CareTeam, a Goal, a Consent and four CarePlans
# (three active, one draft) from tests/system/data/; reads each back; searches CarePlan?subject=Patient/{id}&
# status=active; POSTs CarePlan/_search form-encoded by the patient's fødselsnummer with _include of the care team
# and goal and _count=1, following every `next` link to the end (the pages together hold each CarePlan exactly
# once, the includes are there, and no link URL carries the fødselsnummer); updates a CarePlan and reads its
# _history; and posts a transaction whose second entry is invalid: nothing is written and the error names
# Bundle.entry[1]. The server's log (access log on) never holds the fødselsnummer.
source "$(dirname "$0")/lib.sh"

engine=${1:-sqlite}
case "$engine" in
  sqlite) config=$(SYS_ACCESS_LOG=true sys_config node sqlite) ;;
  postgres)
    sys_pg_url
    config=$(SYS_ACCESS_LOG=true sys_config node postgres "$SYS_PG_URL")
    ;;
  *) die "usage: $0 sqlite|postgres" ;;
esac
sys_start node "$config"
S=$(base node)
data=$SYS_DIR/data
fnr_system=urn:oid:2.16.578.1.12.4.1.4.1
fnr=28031561584   # synthetic, valid check digits (tests/fhir-model/identifiers)
json=(-H 'Content-Type: application/fhir+json' -H 'Accept: application/fhir+json')

# render FILE KEY=VALUE...: the data file with @KEY@ replaced.
render() {
  local file=$1 text
  shift
  text=$(cat "$file")
  local kv
  for kv in "$@"; do text=${text//@${kv%%=*}@/${kv#*=}}; done
  printf '%s' "$text"
}

# create VAR TYPE BODY: POST /TYPE; checks 201, Location and ETag; sets VAR to the new id.
create() {
  local var=$1 type=$2 body=$3 code id
  code=$(req POST "$S/$type" "${json[@]}" -H 'Prefer: return=minimal' --data "$body")
  must_status "create $type" "$code" 201
  local location
  location=$(header Location)
  [[ $location =~ ^$S/$type/([A-Za-z0-9.-]{1,64})/_history/1$ ]] ||
    die "create $type: Location '$location' is not $S/$type/{id}/_history/1"
  id=${BASH_REMATCH[1]}
  expect "ETag of the new $type" "$(header ETag)" 'W/"1"'
  printf -v "$var" '%s' "$id"
}

code=$(req GET "$S/metadata")
expect_status "GET /metadata" "$code" 200
expect "metadata: resourceType and fhirVersion" \
  "$(jsonq "$SYS_TMP/body.json" 'r.resourceType + " " + r.fhirVersion')" "CapabilityStatement 4.0.1"

# 1. Create the plan's resources.
patient="" careteam="" goal="" consent="" plan="" draft=""   # set by create
create patient Patient "$(render "$data/patient.json" FNR=$fnr)"
create careteam CareTeam "$(render "$data/careteam.json" PATIENT="$patient")"
create goal Goal "$(render "$data/goal.json" PATIENT="$patient")"
create consent Consent "$(render "$data/consent.json" PATIENT="$patient" CARETEAM="$careteam")"
plans=()
for n in 1 2 3; do
  create plan CarePlan "$(render "$data/careplan.json" PATIENT="$patient" CARETEAM="$careteam" GOAL="$goal" \
    STATUS=active TITLE="Individuell plan $n")"
  plans+=("$plan")
done
create draft CarePlan "$(render "$data/careplan.json" PATIENT="$patient" CARETEAM="$careteam" GOAL="$goal" \
  STATUS=draft TITLE="Utkast")"
log "created Patient/$patient CareTeam/$careteam Goal/$goal Consent/$consent CarePlan/{${plans[*]},$draft}"

# 2. Read them back.
# read REF WHAT EXPR EXPECTED: GET REF; checks 200, ETag, type/id/version and that EXPR gives EXPECTED.
read_check() {
  local ref=$1 what=$2 expr=$3 expected=$4 code v
  code=$(req GET "$S/$ref" -H 'Accept: application/fhir+json')
  expect_status "read $ref" "$code" 200
  expect "ETag of read $ref" "$(header ETag)" 'W/"1"'
  mapfile -t v < <(jsonq "$SYS_TMP/body.json" 'r.resourceType + "/" + r.id + " v" + r.meta.versionId' "$expr")
  expect "read $ref: type/id and version" "${v[0]}" "$ref v1"
  expect "read $ref: $what" "${v[1]}" "$expected"
}
read_check "Patient/$patient" "fødselsnummer identifier" 'r.identifier[0].system + "|" + r.identifier[0].value' \
  "$fnr_system|$fnr"
read_check "CareTeam/$careteam" "subject" 'r.subject.reference' "Patient/$patient"
read_check "Goal/$goal" "subject and lifecycleStatus" 'r.subject.reference + " " + r.lifecycleStatus' "Patient/$patient active"
read_check "Consent/$consent" "patient and provision actor" \
  'r.patient.reference + " " + r.provision.actor[0].reference.reference' "Patient/$patient CareTeam/$careteam"
read_check "CarePlan/${plans[0]}" "status, subject, careTeam, goal" \
  '[r.status, r.subject.reference, r.careTeam[0].reference, r.goal[0].reference].join(" ")' \
  "active Patient/$patient CareTeam/$careteam Goal/$goal"
read_check "CarePlan/$draft" "status and title" 'r.status + " " + r.title' "draft Utkast"

# 3. The patient's active plans.
code=$(req GET "$S/CarePlan?subject=Patient/$patient&status=active&_total=accurate")
expect_status "GET CarePlan?subject=Patient/{id}&status=active" "$code" 200
mapfile -t v < <(jsonq "$SYS_TMP/body.json" 'r.resourceType + " " + r.type + " " + r.total' \
  '(r.entry || []).map(e => e.resource.id).sort().join(",")')
expect "CarePlan?subject&status=active: Bundle type and total" "${v[0]}" "Bundle searchset 3"
expect "CarePlan?subject&status=active: the three active plans" "${v[1]}" \
  "$(printf '%s\n' "${plans[@]}" | sort | paste -sd, -)"

# 4. POST _search by fødselsnummer with includes, one plan per page, following `next` to the end.
pages=0
matches=()
includes=()
links=()
code=$(req POST "$S/CarePlan/_search" -H 'Accept: application/fhir+json' \
  --data-urlencode "subject:Patient.identifier=$fnr_system|$fnr" \
  --data-urlencode '_include=CarePlan:care-team' --data-urlencode '_include=CarePlan:goal' --data-urlencode '_count=1')
while :; do
  must_status "POST CarePlan/_search page $((pages + 1))" "$code" 200
  pages=$((pages + 1))
  mapfile -t v < <(jsonq "$SYS_TMP/body.json" 'r.resourceType + " " + r.type' \
    '(r.entry || []).filter(e => e.search && e.search.mode === "match").map(e => e.resource.resourceType + "/" + e.resource.id).join(" ")' \
    '(r.entry || []).filter(e => e.search && e.search.mode === "include").map(e => e.resource.resourceType + "/" + e.resource.id).join(" ")' \
    '(r.link || []).map(l => l.url).join(" ")' \
    '((r.link || []).find(l => l.relation === "next") || {url: ""}).url')
  expect "POST _search page $pages: resourceType and type" "${v[0]}" "Bundle searchset"
  read -r -a m <<<"${v[1]}"
  [ ${#m[@]} -le 1 ] || fail_later "POST _search page $pages holds more than _count=1 matches: ${v[1]}"
  matches+=("${m[@]}")
  read -r -a m <<<"${v[2]}"
  includes+=("${m[@]}")
  read -r -a m <<<"${v[3]}"
  links+=("${m[@]}")
  next=${v[4]}
  [ -n "$next" ] || break
  [ "$pages" -lt 20 ] || { fail_later "more than 20 pages for 4 CarePlans: the next links do not end"; break; }
  code=$(req GET "$next" -H 'Accept: application/fhir+json')
done
log "POST _search: $pages pages, matches: ${matches[*]}"
expect "CarePlans over all pages of POST _search (each once)" \
  "$(printf '%s\n' "${matches[@]}" | sort | paste -sd' ' -)" \
  "$(printf 'CarePlan/%s\n' "${plans[@]}" "$draft" | sort | paste -sd' ' -)"
[ "$pages" -ge 4 ] || fail_later "POST _search with _count=1 gave $pages pages for 4 CarePlans"
# From a here-string, not a pipe: under pipefail, `printf … | grep -q` fails at random when grep exits at the first
# match while printf still writes (SIGPIPE), which read as "did not bring" the first include (pipefail_lint.sh).
for inc in "CareTeam/$careteam" "Goal/$goal"; do
  grep -qxF "$inc" <<<"$(printf '%s\n' "${includes[@]}")" || fail_later "POST _search: _include did not bring $inc"
done
extra=$(printf '%s\n' "${includes[@]}" | grep -vx -e "CareTeam/$careteam" -e "Goal/$goal" | sort -u | paste -sd' ' -) || true
[ -z "$extra" ] || fail_later "POST _search: unexpected included resources: $extra"
leaking=$(printf '%s\n' "${links[@]}" | grep -F "$fnr" || true)
[ -z "$leaking" ] || fail_later "POST _search: the fødselsnummer appears in $(wc -l <<<"$leaking") link URL(s), e.g. $(head -n 1 <<<"$leaking")"

# 5. Update a plan and read its history.
code=$(req PUT "$S/CarePlan/${plans[0]}" "${json[@]}" -H 'If-Match: W/"1"' \
  --data "$(render "$data/careplan.json" PATIENT="$patient" CARETEAM="$careteam" GOAL="$goal" STATUS=active \
    TITLE="Individuell plan 1, revidert" | sed "s/\"resourceType\": \"CarePlan\",/&\"id\": \"${plans[0]}\",/")")
expect_status "update CarePlan/${plans[0]}" "$code" 200
expect "ETag after the update" "$(header ETag)" 'W/"2"'
code=$(req GET "$S/CarePlan/${plans[0]}/_history" -H 'Accept: application/fhir+json')
expect_status "GET CarePlan/{id}/_history" "$code" 200
expect "history: Bundle type, versions newest first, titles" \
  "$(jsonq "$SYS_TMP/body.json" 'r.type + " " + (r.entry || []).map(e => e.resource.meta.versionId + ":" + e.resource.title).join(" | ")')" \
  "history 2:Individuell plan 1, revidert | 1:Individuell plan 1"
code=$(req GET "$S/CarePlan/${plans[0]}/_history/1")
expect_status "vread version 1" "$code" 200
expect "vread version 1's title" "$(jsonq "$SYS_TMP/body.json" 'r.title')" "Individuell plan 1"

# 6. A transaction with one invalid entry writes nothing and names the entry.
marker="tx-$$-$RANDOM"
code=$(req POST "$S/" "${json[@]}" --data "$(render "$data/transaction-invalid.json" MARKER="$marker")")
expect_status "transaction with an invalid second entry" "$code" 400 422
mapfile -t v < <(jsonq "$SYS_TMP/body.json" 'r.resourceType' 'JSON.stringify(r.issue).includes("Bundle.entry[1]")' \
  'JSON.stringify(r.issue).includes("Bundle.entry[0]")')
expect "the transaction's error is an OperationOutcome" "${v[0]}" OperationOutcome
expect "the transaction's error names Bundle.entry[1]" "${v[1]}" true
expect "the transaction's error does not blame Bundle.entry[0]" "${v[2]}" false
code=$(req GET "$S/Patient?identifier=urn:planbro:systest:transaction|$marker&_total=accurate")
expect_status "search for the failed transaction's Patient" "$code" 200
expect "Patients written by the failed transaction" "$(jsonq "$SYS_TMP/body.json" 'r.total')" 0

sys_stop node
# The server logged every request (access log on) and never the fødselsnummer, which travelled in a query string,
# a form body and resource bodies.
requests=$(grep -c '"logger":"access"' "${SYS_LOG[node]}" || true)
[ "$requests" -ge 20 ] || fail_later "the access log holds $requests request lines, expected one per request (>= 20)"
if grep -qF "$fnr" "${SYS_LOG[node]}"; then
  fail_later "the server log contains the fødselsnummer: $(grep -m 1 -F "$fnr" "${SYS_LOG[node]}" | head -c 300)"
fi
# A start from a config file that does not ask for demo data says so (and loads none).
grep -qF 'demo data: not requested' "${SYS_LOG[node]}" || fail_later "the server log does not say 'demo data: not requested'"
sys_finish
