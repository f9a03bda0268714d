#!/usr/bin/env bash
# Configures and builds one configuration into build/<config>.
#   scripts/build.sh release   optimised, for running and benchmarks
#   scripts/build.sh check     Debug + AddressSanitizer/UndefinedBehaviorSanitizer + -Werror, for the tests
# Further arguments name the targets to build (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-release}
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
case "$config" in
  release) flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  check) flags=(-DCMAKE_BUILD_TYPE=Debug -DPLANBRO_SANITIZE=ON -DPLANBRO_WERROR=ON -DPLANBRO_BUILD_BENCH=OFF) ;;
  *) echo "usage: scripts/build.sh release|check" >&2; exit 2 ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "build/$config" "${generator[@]}" "${flags[@]}" >/dev/null
cmake --build "build/$config" -j "$(nproc)" "${targets[@]}"
