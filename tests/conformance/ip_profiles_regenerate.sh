#!/usr/bin/env bash
# Regenerates the individual-plan FHIR package (scripts/generate-profiles.sh) into a temp dir and fails on any
# difference from the checked-in conformance/ip/package/. Exits 0 (same), 1 (different, or SUSHI failed) or 77
# (skipped: node or npm missing, or no R4 core package to copy into the FHIR package cache). The first run installs
# fsh-sushi into the cache dir (needs the npm registry).
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ip_profiles_regenerate: node or npm not installed, skipping" >&2
  exit 77
fi
core=${PLANBRO_FHIR_R4_CORE:-$root/../shared/fhir-r4/hl7.fhir.r4.core}
if [ ! -f "$HOME/.fhir/packages/hl7.fhir.r4.core#4.0.1/package/package.json" ] && [ ! -f "$core/package.json" ]; then
  echo "ip_profiles_regenerate: no R4 core package (~/.fhir/packages or $core), skipping" >&2
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/planbro-ip-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! "$root/scripts/generate-profiles.sh" --out "$tmp/package"; then
  echo "ip_profiles_regenerate: scripts/generate-profiles.sh failed" >&2
  exit 1
fi
if ! diff -r "$root/conformance/ip/package" "$tmp/package" >"$tmp/diff.txt"; then
  head -n 80 "$tmp/diff.txt"
  echo "ip_profiles_regenerate: conformance/ip/package differs from the FSH sources;" \
    "run scripts/generate-profiles.sh and commit the result" >&2
  exit 1
fi
echo "ip_profiles_regenerate: conformance/ip/package matches its FSH sources ($(find "$tmp/package" -name '*.json' | wc -l) files)"
