#!/usr/bin/env bash
# Installs the Debian 12 packages planbro needs to build, test and run. Idempotent: prints nothing and changes
# nothing when all are present. Runs apt-get through sudo when not root.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev rapidjson-dev libssl-dev libyaml-cpp-dev libxml2-dev zlib1g-dev
  libsqlite3-dev libpq-dev postgresql libmimalloc-dev
  libcli11-dev libspdlog-dev libcurl4-openssl-dev libre2-dev
  # JOSE (JWS/JWK) for HelseID access tokens and DPoP proofs (docs/dependencies.md).
  libjose-dev libjansson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The system tests drive the running gateway with curl, node and python3, over TLS with throw-away certificates
  # made by the openssl command (docs/testing.md).
  curl nodejs python3 openssl
  # The PLO adapter verifies signed messages (xmldsig) with libxmlsec1's OpenSSL back end (docs/dependencies.md).
  libxmlsec1-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# npm regenerates the individual-plan FHIR package (scripts/generate-profiles.sh). NodeSource's nodejs bundles it;
# Debian's does not, so the Debian npm package is added only when there is no npm at all.
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
