#!/usr/bin/env bash
# System test: the outside probe, second round (docs/testing.md, "Outside probe"; docs/security.md).
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/outside_probe_round2.sh
# 1. SQLite with the demo data, open mode: tests/system/probe/probe_round2.py (XML namespaces, attributes, numbers and
#    encodings, content negotiation, search modifiers and prefixes at their edges, _include:iterate over stored
#    loops, $validate and FHIRPath Patch, JSON Patch pointers, transactions of 1,000 conditional references and
#    cycles, the IP operations' parameters, conditional headers, slow bodies, pipelining after errors), then the
#    races of probe_races.py (20 clients with one conditional create, a delete racing updates).
# 2. The same races on PostgreSQL when PLANBRO_TEST_PG_URL is set (logged as skipped otherwise, failed under CI).
# 3. auth.mode: development with DPoP allowed: probe_tokens.py signs its own tokens with the development key
#    (overflowing exp/nbf/iat, odd claims, embedded keys, kid games, zero and DER signatures) and DPoP proofs with odd
#    htu encodings, htm, iat, jti and keys: 200, 401 or 403, never a 5xx.
# 4. TLS: 40 handshakes left half-done, garbage instead of a ClientHello, a client-initiated renegotiation; the
#    server still answers a TLS client meanwhile and afterwards.
# 5. The PLO file spool with hostile files (xmldsig wrapping, a huge base64 attachment, lying and unknown encodings,
#    a symlink to a file outside the spool, a FIFO, an empty file, a directory): each answered (an AppRec in out/ or
#    the file in error/) or left alone, the spool still working for the next good file, the server up.
# Every server's log must hold no sanitizer report (sys_finish).
SYS_DEADLINE=${SYS_DEADLINE:-540}
source "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || sys_skip "'python3' is not installed"

run_py() {  # run_py LABEL SCRIPT ARGS...: runs one probe script, records its failures
  local label=$1 script=$2
  shift 2
  if ! timeout "$(remaining)" python3 "$SYS_DIR/probe/$script" "$@" >"$SYS_TMP/$label.txt" 2>&1; then
    grep -E '^FAIL' "$SYS_TMP/$label.txt" >&2 || tail -n 20 "$SYS_TMP/$label.txt" >&2
    fail_later "$label: $(grep -c '^FAIL ' "$SYS_TMP/$label.txt") failing answer(s)"
  fi
}

# 1. SQLite, demo data, open mode.
SYS_DEMO_DATA=true
config=$(sys_config probe2 sqlite)
sys_start probe2 "$config"
run_py round2 probe_round2.py 127.0.0.1 "${SYS_PORT[probe2]}"
run_py races-sqlite probe_races.py 127.0.0.1 "${SYS_PORT[probe2]}" sqlite
kill -0 "${SYS_PID[probe2]}" 2>/dev/null || fail_later "the server died during the second probe round"
sys_stop probe2

# 2. PostgreSQL races.
if [ -n "${PLANBRO_TEST_PG_URL:-}" ]; then
  sys_pg_url
  SYS_DEMO_DATA=false
  config=$(sys_config races-pg postgres "$SYS_PG_URL")
  sys_start races-pg "$config"
  run_py races-postgres probe_races.py 127.0.0.1 "${SYS_PORT[races-pg]}" postgres
  sys_stop races-pg
elif [ "${CI:-}" = "true" ]; then
  fail_later "PLANBRO_TEST_PG_URL is not set (CI=true): the PostgreSQL races did not run"
else
  log "PostgreSQL races skipped: PLANBRO_TEST_PG_URL is not set"
fi

# 3. Tokens and DPoP proofs, development mode.
if python3 -c 'import cryptography' 2>/dev/null; then
  SYS_DEMO_DATA=false
  config=$(sys_config tokens sqlite)
  printf 'auth:\n  mode: development\n  dpop: allowed\n' >>"$config"
  sys_start tokens "$config"
  key="$SYS_TMP/tokens-data/dev-signing-key.jwk"
  [ -s "$key" ] || fail_later "the development key $key was not made"
  run_py tokens probe_tokens.py 127.0.0.1 "${SYS_PORT[tokens]}" "$key"
  kill -0 "${SYS_PID[tokens]}" 2>/dev/null || fail_later "the server died during the token probe"
  sys_stop tokens
elif [ "${CI:-}" = "true" ]; then
  fail_later "python3-cryptography is not installed (CI=true): the token probe did not run"
else
  log "token probe skipped: python3-cryptography is not installed"
fi

# 4. TLS.
if command -v openssl >/dev/null; then
  tls=$SYS_TMP/tls
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/key.pem" -out "$tls/cert.pem" \
    -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || die "openssl cannot make a certificate"
  chmod 600 "$tls/key.pem"
  config=$(sys_config tls sqlite)
  cat >>"$config" <<EOF
limits:
  read_timeout_ms: 3000
EOF
  sed -i "s|^server:|server:\n  tls:\n    certificate_file: $tls/cert.pem\n    private_key_file: $tls/key.pem|" "$config"
  sys_launch tls "$config"
  port=""
  while [ -z "$port" ]; do
    kill -0 "${SYS_PID[tls]}" 2>/dev/null || die "the TLS server exited during start-up: $(tail -n 5 "${SYS_LOG[tls]}")"
    [ "$(remaining)" -gt 0 ] || die "the TLS server did not log its port"
    port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "${SYS_LOG[tls]}" | head -n 1 | sed 's/.*://') || true
    [ -n "$port" ] || sleep 0.1
  done
  S="https://127.0.0.1:$port"
  until [ "$(req GET "$S/readyz" --cacert "$tls/cert.pem")" = "200" ]; do
    [ "$(remaining)" -gt 0 ] || die "the TLS server was not ready"
    sleep 0.1
  done
  run_py tls probe_tls.py 127.0.0.1 "$port" "$tls/cert.pem"
  # Client-initiated renegotiation (TLS 1.2): refused, and the server goes on.
  (printf 'R\n'; sleep 2) | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -CAfile "$tls/cert.pem" \
    >"$SYS_TMP/renegotiation.txt" 2>&1 || true
  expect_status "a TLS request after the renegotiation attempt" "$(req GET "$S/healthz" --cacert "$tls/cert.pem")" 200
  kill -0 "${SYS_PID[tls]}" 2>/dev/null || fail_later "the TLS server died during the probe"
  sys_stop tls
else
  log "TLS probe skipped: openssl is not installed"
fi

# 5. The PLO file spool.
spool=$SYS_TMP/spool
mkdir -p "$spool/in" "$spool/out" "$spool/error" "$SYS_TMP/outside"
config=$(sys_config plo sqlite)
cat >>"$config" <<EOF
adapters:
  plo:
    enabled: true
    max_message_bytes: 4194304
    her_id: "8090001"
    name: "planbro probe"
    spool:
      in: $spool/in
      out: $spool/out
      error: $spool/error
EOF
sys_start plo "$config"
run_py plo probe_spool.py "$spool" "$SYS_TMP/outside" "$SYS_DIR/../data/plo"
kill -0 "${SYS_PID[plo]}" 2>/dev/null || fail_later "the server died during the spool probe"
expect_status "/healthz after the spool probe" "$(req GET "$(base plo)/healthz")" 200
sys_stop plo
sys_finish
