#!/usr/bin/env bash
# Validates every resource of the individual-plan package with `planbro validate` — the examples
# (conformance/ip/package/example/) and the definitions (StructureDefinitions, CodeSystems, ValueSets, ConceptMaps
# in conformance/ip/package/) — and fails when any has an error or fatal issue. As a self-check it also validates a
# copy of the example patient with one digit of its fødselsnummer changed, which must be judged invalid (so the
# Norwegian identifier check really runs over the examples). Then, when node is installed, ip_invariants.js
# evaluates every "ip-…" invariant of the profiles on the examples with `planbro fhirpath` (each must be true) and
# on mutated examples (each must be false).
# Usage: ip_examples_validate.sh [--bin PLANBRO]   (default: $PLANBRO_BIN, else build/gateway/planbro)
# Exits 0 (all valid), 1 (a resource invalid, the self-check not caught, or planbro crashed) or 2 (usage).
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
pkg=$root/conformance/ip/package
bin=${PLANBRO_BIN:-$root/build/gateway/planbro}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    *) echo "ip_examples_validate: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "ip_examples_validate: planbro binary not found at $bin" >&2; exit 2; }
files=()
while IFS= read -r f; do files+=("$f"); done < <(find "$pkg/example" "$pkg" -maxdepth 1 -type f -name '*.json' \
  ! -name '.*' ! -name package.json | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || { echo "ip_examples_validate: no resources found" >&2; exit 2; }

failed=0
examples=0
for f in "${files[@]}"; do
  case "$f" in "$pkg/example/"*) examples=$((examples + 1)) ;; esac
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/planbro-ip-validate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# One process for all files: one OperationOutcome line per file, in argument order.
"$bin" validate "${files[@]}" >"$tmp/all.out" 2>"$tmp/all.err"
rc=$?
if [ $rc -gt 1 ]; then
  echo "CRASH planbro validate (exit $rc): $(head -c 2000 "$tmp/all.err")"
  failed=$((failed + 1))
else
  k=0
  while IFS= read -r line; do
    if printf '%s' "$line" | grep -qE '"severity" *: *"(error|fatal)"'; then
      echo "INVALID ${files[$k]#"$root"/}: $line"
      failed=$((failed + 1))
    fi
    k=$((k + 1))
  done <"$tmp/all.out"
  if [ $k -ne ${#files[@]} ]; then
    echo "planbro validate printed $k outcomes for ${#files[@]} files"
    failed=$((failed + 1))
  elif [ $failed -eq 0 ] && [ $rc -ne 0 ]; then
    echo "planbro validate exited $rc without an error issue: $(head -c 2000 "$tmp/all.err")"
    failed=$((failed + 1))
  fi
fi
echo "ip_examples_validate: ${#files[@]} resources ($examples examples), $failed invalid"

sed 's/"15038540189"/"15038540180"/' "$pkg/example/Patient-ip-example-patient-kari.json" >"$tmp/bad-fnr.json"
"$bin" validate "$tmp/bad-fnr.json" >"$tmp/bad.out" 2>&1
rc=$?
if [ $rc -ne 1 ] || ! grep -q '"severity":"error"' "$tmp/bad.out"; then
  echo "ip_examples_validate: self-check failed: a wrong fødselsnummer check digit was not reported (exit $rc)"
  cat "$tmp/bad.out"
  failed=$((failed + 1))
fi
if command -v node >/dev/null 2>&1; then
  node "$(dirname "${BASH_SOURCE[0]}")/ip_invariants.js" "$bin" "$pkg" || failed=$((failed + 1))
else
  echo "ip_examples_validate: node not installed, the profile invariants are not evaluated"
fi
[ $failed -eq 0 ]
