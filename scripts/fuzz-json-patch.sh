#!/usr/bin/env bash
# Builds fuzz/json_patch_meter_fuzzer with clang (libFuzzer + ASan + UBSan) in build/fuzz and runs it for the given number
# of seconds (default 60), seeded with the RFC 6902 test vectors and patches that nest and double a resource.
#   scripts/fuzz-json-patch.sh [seconds] [extra libFuzzer flags...]
# Crashes are written to build/fuzz/artifacts/; the corpus grows in build/fuzz/corpus-json-patch-meter/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v clang++ >/dev/null || { echo "fuzz-json-patch.sh: needs clang++ and libclang-rt-14-dev" >&2; exit 2; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_ASM_COMPILER=clang \
  -DPLANBRO_FUZZ=ON -DPLANBRO_BUILD_TESTS=OFF -DPLANBRO_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz --target json_patch_meter_fuzzer -j "$(nproc)"

corpus=build/fuzz/corpus-json-patch-meter
mkdir -p "$corpus" build/fuzz/artifacts
# Seeds: each RFC 6902 vector as {"doc","patch"}, and the two amplification shapes of issue 8.
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

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/fuzz/ubsan.supp}
exec build/fuzz/fuzz/json_patch_meter_fuzzer -max_total_time="$seconds" -max_len=16384 -timeout=10 -rss_limit_mb=1024 \
  -dict=fuzz/json_patch.dict -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 "$@" "$corpus"
