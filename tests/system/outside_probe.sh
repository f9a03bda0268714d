#!/usr/bin/env bash
# System test: the outside probe (docs/security.md, "Outside probe (2026-12-07)").
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/outside_probe.sh
# Starts `planbro serve` (SQLite, the demo data, open mode on 127.0.0.1:0) and runs tests/system/probe/probe.py
# against it: hostile HTTP framing, FHIR bodies, query strings, operations, patches, batches and transactions, each
# answered with the expected status (never a 5xx for the client's fault, never a dropped connection, never a hang),
# /healthz answering after every probe, and no sanitizer report in the server's log.
SYS_DEADLINE=${SYS_DEADLINE:-540}  # the probe itself takes minutes on a loaded sanitizer build; CTest allows 600 s
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || sys_skip "'python3' is not installed"

SYS_DEMO_DATA=true
config=$(sys_config probe sqlite)
sys_start probe "$config"

if ! python3 "$SYS_DIR/probe/probe.py" 127.0.0.1 "${SYS_PORT[probe]}" >"$SYS_TMP/probe-run.txt" 2>&1; then
  grep -E '^FAIL' "$SYS_TMP/probe-run.txt" >&2 || tail -n 20 "$SYS_TMP/probe-run.txt" >&2
  fail_later "the outside probe found $(grep -c '^FAIL ' "$SYS_TMP/probe-run.txt") failing answer(s)"
fi
kill -0 "${SYS_PID[probe]}" 2>/dev/null || fail_later "the server died during the probe"
sys_stop probe

# Tokens required (auth.mode: development, loopback): malformed and doubled credentials are 401, never a 5xx.
SYS_DEMO_DATA=false  # the demo loader writes through the REST path, which refuses it without a token
config=$(sys_config auth sqlite)
printf 'auth:\n  mode: development\n' >>"$config"
sys_start auth "$config"
B=$(base auth)
tok=$("$PLANBRO_BIN" token --config "$config" --hpr 565501872 --org 974589095 --scope "user/*.cruds" 2>/dev/null | tail -n 1)
[ -n "$tok" ] || fail_later "planbro token minted no token"
expect_status "a valid token" "$(req GET "$B/Patient" -H "Authorization: Bearer $tok")" 200
expect_status "two Authorization headers" \
  "$(req GET "$B/Patient" -H "Authorization: Bearer $tok" -H "Authorization: Bearer other")" 401
head=${tok%%.*}
rest=${tok#*.}
for bad in "Bearer" "Bearer ..." "Bearer a.b.c" "Bearer $head.${rest%%.*}" "Bearer $tok.x" "Basic dXNlcjpwYXNz" \
  "DPoP $tok" "Bearer eyJhbGciOiJub25lIn0.${rest%%.*}." "Bearer $(head -c 12000 /dev/zero | tr '\0' 'a')"; do
  expect_status "Authorization '${bad:0:30}…'" "$(req GET "$B/Patient" -H "Authorization: $bad")" 401 431
done
expect_status "a DPoP proof without a token" "$(req GET "$B/Patient" -H "DPoP: a.b.c")" 401
kill -0 "${SYS_PID[auth]}" 2>/dev/null || fail_later "the server died during the token probe"
sys_stop auth
sys_finish
