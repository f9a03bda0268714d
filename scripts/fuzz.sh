#!/usr/bin/env bash
# Builds fuzz/json_validate_fuzzer with clang (libFuzzer + ASan + UBSan) in build/fuzz and runs it for the given
# number of seconds (default 60) on a seed corpus of the official R4 examples.
#   scripts/fuzz.sh [seconds] [extra libFuzzer flags...]
# Crashes are written to build/fuzz/artifacts/; the corpus grows in build/fuzz/corpus/ and is kept between runs.
# Crashes that were found are kept in fuzz/regressions/ and replayed first.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang++ and libclang-rt-14-dev (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build/fuzz "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_ASM_COMPILER=clang \
  -DPLANBRO_FUZZ=ON -DPLANBRO_BUILD_TESTS=OFF -DPLANBRO_BUILD_BENCH=OFF >/dev/null
cmake --build build/fuzz --target json_validate_fuzzer -j "$(nproc)"

corpus=build/fuzz/corpus
mkdir -p "$corpus" build/fuzz/artifacts
shared=../shared/fhir-r4/examples
# Seeds: the official examples up to 64 KiB (larger ones slow every mutation down without adding structure).
find "$shared" -name '*.json' -size -64k -exec cp -n {} "$corpus"/ \;
cp -n tests/data/bench/*.json "$corpus"/ 2>/dev/null || true

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$PWD/fuzz/ubsan.supp}
# Known crashers first (fuzz/regressions/): a fix must hold before new inputs are worth looking for.
if compgen -G "fuzz/regressions/*" >/dev/null; then
  build/fuzz/fuzz/json_validate_fuzzer -runs=1 fuzz/regressions/* || {
    echo "fuzz.sh: a known crasher in fuzz/regressions/ still fails (see above)" >&2; exit 1; }
fi
exec build/fuzz/fuzz/json_validate_fuzzer -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict=fuzz/json.dict -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 "$@" "$corpus"
