#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the release configuration and starts the gateway
# on the embedded default: http://127.0.0.1:8080, SQLite under ./data, the demo individual plan loaded once
# (--demo-data: a production start leaves it out). Arguments go to `planbro serve` (e.g. --listen 127.0.0.1:9090
# --data-dir DIR --config FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release planbro
cat <<'TXT'
planbro is starting on http://127.0.0.1:8080 (Ctrl-C stops it). Try:
  curl -s 'http://127.0.0.1:8080/CarePlan?status=active&_include=CarePlan:care-team'
  curl -s -X POST --data 'subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|12868441060' \
       http://127.0.0.1:8080/CarePlan/_search
  curl -s 'http://127.0.0.1:8080/$ip-figures?periodStart=2026&periodEnd=2026'
  curl -s http://127.0.0.1:8080/metadata
TXT
exec build/release/gateway/planbro serve --demo-data "$@"
