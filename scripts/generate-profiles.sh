#!/usr/bin/env bash
# Regenerates planbro's individual-plan FHIR package (conformance/ip/package/) from the FHIR Shorthand sources in
# conformance/ip/ (sushi-config.yaml, input/fsh/*.fsh) with SUSHI, offline.
#
# Usage: scripts/generate-profiles.sh [--out DIR]
#   --out DIR  write the package into DIR instead of conformance/ip/package (the regeneration test uses a temp dir)
#
# - SUSHI (npm fsh-sushi 3.21.0, every dependency pinned by conformance/ip/tools/package-lock.json) is installed
#   with `npm ci` into a local node_modules under the cache dir
#   ${PLANBRO_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/planbro}/sushi, again whenever the lock file changes;
#   node_modules is never committed. That needs npm and, the first time, the npm registry.
# - SUSHI resolves hl7.fhir.r4.core#4.0.1 from the FHIR package cache (~/.fhir/packages). The script copies the R4
#   core package there from ../shared/fhir-r4/hl7.fhir.r4.core (or $PLANBRO_FHIR_R4_CORE) when it is missing, so no
#   network is needed for FHIR packages; the terminology, extension and tools packages SUSHI also tries to load
#   (hl7.terminology.r4, hl7.fhir.uv.extensions.r4, hl7.fhir.uv.tools.r4, "latest") then only warn. Nothing here
#   uses them.
# - The output is deterministic: in FSHOnly mode SUSHI writes no date into the resources, the package date is in
#   sushi-config.yaml, every JSON file is re-serialised with two spaces of indentation and a final newline, and
#   package.json and .index.json are written by scripts/ip-package.js.
# Layout: package/package.json, package/.index.json, the definitions (StructureDefinitions with snapshots,
# CodeSystems, ValueSets, ConceptMaps) in package/, the examples (ids starting ip-example-) in package/example/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/conformance/ip
out=$src/package
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "generate-profiles: unknown argument $1" >&2; exit 2 ;;
  esac
done

command -v node >/dev/null || { echo "generate-profiles: node is not installed (scripts/install-deps.sh)" >&2; exit 3; }
command -v npm >/dev/null || { echo "generate-profiles: npm is not installed (scripts/install-deps.sh)" >&2; exit 3; }

cache=${PLANBRO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/planbro}/sushi
sushi=$cache/node_modules/.bin/sushi
tools=$src/tools
# $cache/installed.lock is a copy of the lock file the install in $cache was made from, written only on success.
if [ ! -x "$sushi" ] || ! cmp -s "$tools/package-lock.json" "$cache/installed.lock"; then
  echo "generate-profiles: installing SUSHI from $tools/package-lock.json into $cache" >&2
  mkdir -p "$cache"
  rm -f "$cache/installed.lock"
  cp "$tools/package.json" "$tools/package-lock.json" "$cache/"
  npm ci --prefix "$cache" --no-audit --no-fund --loglevel=error >&2
  cp "$tools/package-lock.json" "$cache/installed.lock"
fi

core_src=${PLANBRO_FHIR_R4_CORE:-$root/../shared/fhir-r4/hl7.fhir.r4.core}
core_dst=$HOME/.fhir/packages/hl7.fhir.r4.core#4.0.1/package
if [ ! -f "$core_dst/package.json" ]; then
  [ -f "$core_src/package.json" ] || { echo "generate-profiles: R4 core package not found at $core_src" >&2; exit 3; }
  mkdir -p "$core_dst"
  cp -R "$core_src/." "$core_dst/"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/project"
cp "$src/sushi-config.yaml" "$work/project/"
cp -R "$src/input" "$work/project/"
if ! "$sushi" build "$work/project" --snapshot >"$work/sushi.log" 2>&1; then
  cat "$work/sushi.log" >&2
  echo "generate-profiles: SUSHI failed" >&2
  exit 1
fi
# SUSHI's summary: "Errors: 0" must hold. Warnings about packages it could not load offline are expected.
if grep -qE '^[^A-Za-z]*error ' "$work/sushi.log"; then
  grep -E '^[^A-Za-z]*error ' -A3 "$work/sushi.log" >&2
  echo "generate-profiles: SUSHI reported errors" >&2
  exit 1
fi

mkdir -p "$out"
rm -rf "$out/example"
find "$out" -maxdepth 1 -name '*.json' -delete
rm -f "$out/.index.json"
node "$root/scripts/ip-package.js" "$work/project/sushi-config.yaml" "$work/project/fsh-generated/resources" "$out"
echo "generate-profiles: wrote $(find "$out" -name '*.json' | wc -l) files to $out" >&2
