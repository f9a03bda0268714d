#!/usr/bin/env bash
# System test: HTTPS with real clients (issue 14: every body above about 16 KB was lost over TLS).
#   PLANBRO_BIN=build/check/gateway/planbro tests/system/https_clients.sh
# Makes a throw-away certificate with the openssl command, starts `planbro serve` with TLS on, and then:
# - curl (TLS 1.2 and 1.3): /metadata (hundreds of KB) plain and gzip; Binary resources whose JSON is 1 KB, 16 KB - 1,
#   16 KB, 16 KB + 1 and 1 MB around the 16 KB TLS record; several large responses in a row on one connection;
# - Python's ssl module (http.client): the same bodies on one keep-alive connection, byte counts checked against
#   Content-Length;
# - fhir-kit-client (npm, installed at run time into the run's temp dir): capabilityStatement, create, read and search.
# Skipped (77) outside CI when python3, openssl or the npm registry is unavailable.
source "$(dirname "$0")/lib.sh"

for tool in openssl python3 npm; do
  command -v "$tool" >/dev/null || sys_skip "'$tool' is not installed"
done

tls=$SYS_TMP/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/key.pem" -out "$tls/cert.pem" \
  -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 || die "openssl cannot make a certificate"
chmod 600 "$tls/key.pem"

config=$SYS_TMP/https.yaml
cat >"$config" <<EOF
server:
  io_threads: 2
  worker_threads: 2
  shutdown_timeout_ms: 5000
  tls:
    certificate_file: $tls/cert.pem
    private_key_file: $tls/key.pem
store:
  engine: sqlite
  data_dir: $SYS_TMP/https-data
logging:
  access_log: true
demo_data:
  load_once: false
EOF

sys_launch https "$config"
port=""
while [ -z "$port" ]; do
  kill -0 "${SYS_PID[https]}" 2>/dev/null || { cat "${SYS_LOG[https]}" >&2; die "server exited during start-up"; }
  [ "$(remaining)" -gt 0 ] || die "server did not log its port within the deadline"
  port=$(grep -oE 'listening on 127\.0\.0\.1:[0-9]+' "${SYS_LOG[https]}" | head -n 1 | sed 's/.*://') || true
  [ -n "$port" ] || sleep 0.05
done
S=https://127.0.0.1:$port
tlscurl=(--cacert "$tls/cert.pem")
while [ "$(req GET "$S/readyz" "${tlscurl[@]}")" != "200" ]; do
  [ "$(remaining)" -gt 0 ] || die "server not ready over HTTPS within the deadline — $(last_response)"
  sleep 0.05
done
log "server: $S"

# The JSON of a Binary whose whole resource is exactly SIZE bytes as the server renders it is not predictable, so
# the bodies are sized by their data: the response is then at least that large, which is what matters here.
binary() {
  python3 -c '
import base64, json, sys
n = int(sys.argv[1])
raw = bytes((i * 7 + i // 4093) % 251 for i in range(n * 3 // 4))
print(json.dumps({"resourceType": "Binary", "contentType": "application/octet-stream",
                  "data": base64.b64encode(raw).decode()}))' "$1"
}

declare -A bin_id=()
for size in 1024 16383 16384 16385 1048576; do
  binary "$size" >"$SYS_TMP/binary-$size.json"
  code=$(req POST "$S/Binary" "${tlscurl[@]}" -H 'Content-Type: application/fhir+json' -H 'Prefer: return=minimal' \
    --data-binary "@$SYS_TMP/binary-$size.json")
  must_status "create Binary of $size data bytes over HTTPS" "$code" 201
  [[ $(header Location) =~ /Binary/([A-Za-z0-9.-]+)/_history/ ]] || die "create Binary: no Location ($(header Location))"
  bin_id[$size]=${BASH_REMATCH[1]}
done

# 1. curl, TLS 1.2 and 1.3, plain and gzip: every body arrives whole (size equals Content-Length, JSON parses).
for version in --tls-max\ 1.2 --tlsv1.3; do
  for enc in identity gzip; do
    what="curl $version $enc"
    compressed=()
    [ "$enc" = gzip ] && compressed=(--compressed)
    # shellcheck disable=SC2086  # $version is two words for 1.2
    code=$(req GET "$S/metadata" "${tlscurl[@]}" $version "${compressed[@]}")
    expect_status "$what: GET /metadata" "$code" 200
    expect "$what: /metadata is a CapabilityStatement" \
      "$(jsonq "$SYS_TMP/body.json" 'r.resourceType')" "CapabilityStatement"
    for size in "${!bin_id[@]}"; do
      # shellcheck disable=SC2086
      code=$(req GET "$S/Binary/${bin_id[$size]}" "${tlscurl[@]}" $version "${compressed[@]}" \
        -H 'Accept: application/fhir+json')
      expect_status "$what: read Binary $size" "$code" 200
      expect "$what: Binary $size arrives whole" \
        "$(jsonq "$SYS_TMP/body.json" 'r.data.length')" "$(jsonq "$SYS_TMP/binary-$size.json" 'r.data.length')"
    done
  done
done

# Several large responses in a row on one connection: curl reuses it for URLs on one command line (num_connects 0).
urls=() outs=()
for i in 1 2 3 4; do
  urls+=("$S/metadata" "$S/Binary/${bin_id[1048576]}")
  outs+=(-o "$SYS_TMP/ka-$i-a.json" -o "$SYS_TMP/ka-$i-b.json")
done
stats=$(curl -sS --max-time "$SYS_CURL_TIMEOUT" "${tlscurl[@]}" -H 'Accept: application/fhir+json' \
  -w '%{http_code} %{num_connects} %{size_download}\n' "${outs[@]}" "${urls[@]}" 2>"$SYS_TMP/curl.err") || true
expect "curl keep-alive: 8 responses" "$(grep -c '^200 ' <<<"$stats")" "8"
expect "curl keep-alive: one connection for all" "$(awk '{s += $2} END {print s}' <<<"$stats")" "1"
for i in 1 2 3 4; do
  expect "curl keep-alive $i: metadata" "$(jsonq "$SYS_TMP/ka-$i-a.json" 'r.resourceType')" "CapabilityStatement"
  expect "curl keep-alive $i: 1 MB Binary" "$(jsonq "$SYS_TMP/ka-$i-b.json" 'r.data.length')" \
    "$(jsonq "$SYS_TMP/binary-1048576.json" 'r.data.length')"
done

# 2. Python's ssl: one keep-alive connection, every body read to its Content-Length, TLS 1.2 and 1.3.
ids="${bin_id[1024]} ${bin_id[16383]} ${bin_id[16384]} ${bin_id[16385]} ${bin_id[1048576]}"
py_out=$(timeout "$SYS_CURL_TIMEOUT" python3 - "$port" "$tls/cert.pem" $ids <<'EOF' 2>&1
import gzip, http.client, json, ssl, sys
port, ca, ids = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = ctx.maximum_version = version
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
    targets = ["/metadata"] + ["/Binary/" + i for i in ids] + ["/metadata"]
    for target in targets:
        for enc in ("identity", "gzip"):
            conn.request("GET", target, headers={"Accept": "application/fhir+json", "Accept-Encoding": enc})
            res = conn.getresponse()
            body = res.read()
            length = int(res.getheader("Content-Length", "-1"))
            if res.status != 200 or len(body) != length:
                print(f"FAIL {version.name} {target} {enc}: status {res.status}, {len(body)} of {length} bytes")
                continue
            if res.getheader("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            json.loads(body)
    conn.close()
print("ok")
EOF
) || true
expect "python ssl: every body whole on one connection" "$py_out" "ok"

# 3. A real FHIR client: fhir-kit-client from npm, over HTTPS, trusting only the test certificate.
npm_dir=$SYS_TMP/npm
if ! timeout 120 npm install --no-audit --no-fund --loglevel=error --prefix "$npm_dir" fhir-kit-client@1 \
  >"$SYS_TMP/npm.log" 2>&1; then
  cat "$SYS_TMP/npm.log" >&2
  sys_skip "npm cannot install fhir-kit-client (registry unreachable?)"
fi
# Node's fetch (undici, which fhir-kit-client uses on Node 18+) ignores an agent's `ca`; NODE_EXTRA_CA_CERTS makes
# the test certificate trusted by every TLS client in the process, and it is still verified (no rejectUnauthorized).
fkc_out=$(cd "$npm_dir" && NODE_EXTRA_CA_CERTS=$tls/cert.pem timeout "$SYS_CURL_TIMEOUT" node - "$S" <<'EOF' 2>&1
const Client = require("fhir-kit-client");
const [baseUrl] = process.argv.slice(2);
const client = new Client({ baseUrl });
(async () => {
  const cs = await client.capabilityStatement();
  if (cs.resourceType !== "CapabilityStatement") throw new Error("metadata: " + cs.resourceType);
  const family = "Httpsklient" + "x".repeat(20000);  // a Patient well above 16 KB
  const created = await client.create({
    resourceType: "Patient",
    body: { resourceType: "Patient", name: [{ family, given: ["Tls"] }], gender: "female" },
  });
  const read = await client.read({ resourceType: "Patient", id: created.id });
  if (read.name[0].family !== family) throw new Error("read: family name differs");
  const bundle = await client.search({ resourceType: "Patient", searchParams: { given: "Tls", _count: 10 } });
  if (bundle.resourceType !== "Bundle" || !(bundle.entry || []).some((e) => e.resource.id === created.id)) {
    throw new Error("search: the created Patient is not in the Bundle");
  }
  console.log("ok");
})().catch((e) => {
  const cause = e && e.cause ? " (" + e.cause + ")" : "";
  console.log("FAIL " + (e && e.message ? e.message : JSON.stringify(e)) + cause);
});
EOF
) || true
expect "fhir-kit-client over HTTPS: capabilityStatement, create, read, search" "$fkc_out" "ok"

sys_stop https
sys_finish
