#!/usr/bin/env bash
# Builds one libFuzzer target of fuzz/ with clang (libFuzzer + ASan + UBSan) in build/fuzz and runs it for the given
# number of seconds (default 60) on a seed corpus:
#   json_validate_fuzzer (the default)  JSON bytes -> parse -> validate -> serialise; seeds: the official R4 examples
#   fhirpath_fuzzer                     FHIRPath expressions over a fixed Patient; seeds: the official FHIRPath suite
#   json_patch_fuzzer                   JSON Patch documents applied repeatedly; seeds: written below
#   json_patch_meter_fuzzer             {"doc","patch"} pairs, the patch size meter checked against the written size;
#                                       seeds: the RFC 6902 vectors and the nesting and doubling copies of issue 8
#   plo_codec_fuzzer                    PLO / Dialogmelding / AppRec bytes -> codec -> AppRec (which must validate);
#                                       seeds: ../shared/plo/samples up to 64 KiB
#   scripts/fuzz.sh [target] [seconds] [extra libFuzzer flags...]
# Crashes are written to build/fuzz/artifacts/; the corpus grows in build/fuzz/corpus/ (corpus-<target>/ for the
# others) and is kept between runs. Crashes that were found are kept in fuzz/regressions/ (regressions-<target>/ for
# the others) and replayed first.
set -euo pipefail
cd "$(dirname "$0")/.."
target=json_validate_fuzzer
if [[ $# -gt 0 && ! $1 =~ ^[0-9]+$ ]]; then
  target=$1
  shift
fi
case "$target" in
  json_validate_fuzzer|fhirpath_fuzzer|json_patch_fuzzer|json_patch_meter_fuzzer|plo_codec_fuzzer) ;;
  *) echo "fuzz.sh: unknown target '$target'" >&2; exit 2 ;;
esac
seconds=${1:-60}
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang++ and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_ASM_COMPILER=clang \
  -DPLANBRO_FUZZ=ON -DPLANBRO_BUILD_TESTS=OFF -DPLANBRO_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz --target "$target" -j "$(nproc)"

if [[ $target == json_validate_fuzzer ]]; then
  corpus=build/fuzz/corpus
  regressions=fuzz/regressions
else
  corpus=build/fuzz/corpus-$target
  regressions=fuzz/regressions-$target
fi
mkdir -p "$corpus" build/fuzz/artifacts
dict=(-dict=fuzz/json.dict)
case "$target" in
  json_validate_fuzzer)
    shared=../shared/fhir-r4/examples
    # Seeds: the official examples up to 64 KiB (larger ones slow every mutation down without adding structure).
    find "$shared" -name '*.json' -size -64k -exec cp -n {} "$corpus"/ \;
    cp -n tests/data/bench/*.json "$corpus"/ 2>/dev/null || true
    ;;
  fhirpath_fuzzer)
    dict=()
    # Seeds: every expression of the official FHIRPath R4 suite, one per file.
    n=0
    grep -o '<expression[^>]*>[^<]*</expression>' tests/data/fhirpath/tests-fhir-r4.xml | sed -e 's/<[^>]*>//g' \
      -e 's/&lt;/</g' -e 's/&gt;/>/g' -e "s/&apos;/'/g" -e 's/&quot;/"/g' -e 's/&amp;/\&/g' |
      while IFS= read -r line; do n=$((n + 1)); printf '%s' "$line" > "$corpus/suite-$n"; done
    ;;
  json_patch_fuzzer)
    printf '%s' '[{"op":"copy","from":"/extension","path":"/extension/0/extension"}]' > "$corpus/copy-into-self"
    printf '%s' '[{"op":"add","path":"/name/0/given/-","value":"x"},{"op":"test","path":"/active","value":true}]' > "$corpus/add-test"
    printf '%s' '[{"op":"move","from":"/name","path":"/contact"},{"op":"remove","path":"/identifier/0"}]' > "$corpus/move-remove"
    printf '%s' '[{"op":"replace","path":"/id","value":"p2"},{"op":"copy","from":"/name/0","path":"/name/-"}]' > "$corpus/replace-copy"
    ;;
  json_patch_meter_fuzzer)
    dict=(-dict=fuzz/json_patch.dict)
    python3 - "$corpus" <<'PY'
import json, sys, os
out = sys.argv[1]
for i, t in enumerate(json.load(open("../shared/fhir-r4/fhirpath-tests/json-patch-tests.json"))):
    with open(os.path.join(out, "rfc-%02d.json" % i), "w") as f:
        json.dump({"doc": t["doc"], "patch": t["patch"]}, f)
nest = [{"op": "copy", "from": "/extension", "path": "/extension/0" * (1 << k) + "/extension"} for k in range(6)]
double = [{"op": "copy", "from": "/contact", "path": "/contact/-"} for _ in range(20)]
seed = {"resourceType": "Patient", "extension": [{"url": "u"}], "contact": [{"name": {"text": "x" * 100}}]}
for name, patch in (("nest", nest), ("double", double)):
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump({"doc": seed, "patch": patch}, f)
PY
    ;;
  plo_codec_fuzzer)
    dict=(-dict=fuzz/plo.dict)
    find ../shared/plo/samples -name '*.xml' -size -64k -exec cp -n {} "$corpus"/ \;
    ;;
esac

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/fuzz/ubsan.supp}
# Known crashers first: a fix must hold before new inputs are worth looking for.
if compgen -G "$regressions/*" >/dev/null; then
  build/fuzz/fuzz/"$target" -runs=1 "$regressions"/* || {
    echo "fuzz.sh: a known crasher in $regressions/ still fails (see above)" >&2; exit 1; }
fi
exec build/fuzz/fuzz/"$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  "${dict[@]}" -artifact_prefix=build/fuzz/artifacts/"$target"- -print_final_stats=1 "$@" "$corpus"
