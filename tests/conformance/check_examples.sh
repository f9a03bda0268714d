#!/usr/bin/env bash
# Runs `planbro validate` and `planbro fmt` over official FHIR R4 example files and checks that
#   - no run crashes (an exit code other than 0/1, or a signal),
#   - `fmt` re-serialises every file to JSON equal to its input (tests/conformance/json_equal.js: members in any
#     order, numbers by exact text),
#   - at least --min-valid percent of the files are judged valid (no error or fatal issue).
#
# Usage: check_examples.sh [--bin PLANBRO] [--min-valid PCT] [--sample N] [--verbose] DIR_OR_FILE...
#   --bin        the planbro binary (default: $PLANBRO_BIN, else build/gateway/planbro under the project root)
#   --min-valid  the lowest acceptable valid share in percent (default 97)
#   --sample N   run the fmt round trip on only N files spread evenly over the sorted list (one process a file is
#                slow under sanitizers); validate always runs on every file, so the valid share is over all. 0 = all
#   --verbose    print every error issue of every invalid file (default: the first three)
# Prints the figures (files, valid, invalid, crashes, round-trip mismatches, pass rate) and exits 0 when every
# check holds, 1 when one fails, 2 on a usage error, 77 when node is missing (CTest's skip code).
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${PLANBRO_BIN:-$root/build/gateway/planbro}
min_valid=97
sample=0
verbose=0
inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin=$2; shift 2 ;;
    --min-valid) min_valid=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    --verbose) verbose=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "check_examples: unknown option $1" >&2; exit 2 ;;
    *) inputs+=("$1"); shift ;;
  esac
done
if [ ${#inputs[@]} -eq 0 ]; then
  echo "check_examples: give at least one folder or file" >&2
  exit 2
fi
if [ ! -x "$bin" ]; then
  echo "check_examples: planbro binary not found at $bin (use --bin or PLANBRO_BIN)" >&2
  exit 2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "check_examples: node not installed, skipping" >&2
  exit 77
fi

files=()
for input in "${inputs[@]}"; do
  if [ -d "$input" ]; then
    while IFS= read -r f; do files+=("$f"); done < <(find "$input" -maxdepth 1 -type f -name '*.json' | LC_ALL=C sort)
  elif [ -f "$input" ]; then
    files+=("$input")
  else
    echo "check_examples: no such file or folder: $input" >&2
    exit 2
  fi
done
if [ ${#files[@]} -eq 0 ]; then
  echo "check_examples: no .json files found" >&2
  exit 2
fi
fmt_files=("${files[@]}")
if [ "$sample" -gt 0 ] && [ "$sample" -lt ${#files[@]} ]; then
  fmt_files=()
  total=${#files[@]}
  for ((k = 0; k < sample; k++)); do fmt_files+=("${files[$((k * total / sample))]}"); done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/planbro-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

crashes=0
crash_list=()

# validate: one process for all files (one outcome per line, in argument order). When that process crashes, the
# crash counts, and each file is run alone to find single-file culprits and still get an outcome for the others.
"$bin" validate "${files[@]}" >"$tmp/validate.out" 2>"$tmp/validate.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
  # The batch run itself crashing is a crash (state carried from one file to the next can be the cause).
  crashes=$((crashes + 1))
  crash_list+=("validate of all ${#files[@]} files in one process (exit $rc)")
  : >"$tmp/validate.out"
  for f in "${files[@]}"; do
    "$bin" validate "$f" >"$tmp/one.out" 2>/dev/null
    one=$?
    if [ $one -ne 0 ] && [ $one -ne 1 ]; then
      crashes=$((crashes + 1))
      crash_list+=("validate $f (exit $one)")
      echo '{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"crashed"}]}' >>"$tmp/validate.out"
    else
      head -n 1 "$tmp/one.out" >>"$tmp/validate.out"
    fi
  done
fi
printf '%s\n' "${files[@]}" >"$tmp/files.txt"

# fmt: one process a file (the sample, when --sample is given).
: >"$tmp/pairs.txt"
fmt_failed=0
fmt_fail_list=()
k=0
for f in "${fmt_files[@]}"; do
  k=$((k + 1))
  "$bin" fmt "$f" >"$tmp/fmt-$k.json" 2>"$tmp/fmt-$k.err"
  rc=$?
  if [ $rc -eq 0 ]; then
    printf '%s\t%s\n' "$f" "$tmp/fmt-$k.json" >>"$tmp/pairs.txt"
  elif [ $rc -eq 1 ]; then
    fmt_failed=$((fmt_failed + 1))
    fmt_fail_list+=("$f: $(head -c 300 "$tmp/fmt-$k.err")")
  else
    crashes=$((crashes + 1))
    crash_list+=("fmt $f (exit $rc)")
  fi
done

node "$here/json_equal.js" "$tmp/pairs.txt" >"$tmp/equal.out" || { echo "check_examples: json_equal.js failed" >&2; exit 1; }
diffs=$(grep -c '^DIFF' "$tmp/equal.out")

# Judge the outcomes: a file is valid when its outcome has no error or fatal issue.
VERBOSE=$verbose node -e '
const fs = require("fs");
const files = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean);
const verbose = process.env.VERBOSE === "1";
let valid = 0;
const invalid = [];
files.forEach((f, k) => {
  let oo;
  try { oo = JSON.parse(lines[k]); } catch (e) { invalid.push([f, ["no outcome printed"]]); return; }
  const bad = (oo.issue || []).filter((i) => i.severity === "error" || i.severity === "fatal");
  if (bad.length === 0) { valid++; return; }
  invalid.push([f, bad.map((i) => `${i.severity} ${i.code}: ${i.diagnostics || (i.details && i.details.text) || ""}` +
      ` @ ${(i.expression || i.location || []).join(", ")}`)]);
});
for (const [f, issues] of invalid) {
  console.log(`INVALID ${f}`);
  for (const s of verbose ? issues : issues.slice(0, 3)) console.log(`    ${s}`);
  if (!verbose && issues.length > 3) console.log(`    ... ${issues.length - 3} more`);
}
fs.writeFileSync(process.argv[3], String(valid));
' "$tmp/files.txt" "$tmp/validate.out" "$tmp/valid.count" || { echo "check_examples: judging outcomes failed" >&2; exit 1; }

grep '^DIFF' "$tmp/equal.out" | sed 's/^DIFF\t/ROUNDTRIP /'
for s in "${fmt_fail_list[@]+"${fmt_fail_list[@]}"}"; do echo "FMT-FAILED $s"; done
for s in "${crash_list[@]+"${crash_list[@]}"}"; do echo "CRASH $s"; done

n=${#files[@]}
valid=$(cat "$tmp/valid.count")
invalid=$((n - valid))
mismatches=$((diffs + fmt_failed))
rate=$(awk -v v="$valid" -v n="$n" 'BEGIN { printf "%.1f", 100 * v / n }')
echo "files $n valid $valid invalid $invalid crashes $crashes round-trip-mismatches $mismatches (of ${#fmt_files[@]} formatted) pass-rate ${rate}%"

status=0
if [ $crashes -gt 0 ]; then echo "FAIL: $crashes crash(es)"; status=1; fi
if [ $mismatches -gt 0 ]; then echo "FAIL: $mismatches round-trip mismatch(es)"; status=1; fi
if awk -v v="$valid" -v n="$n" -v m="$min_valid" 'BEGIN { exit !(100 * v < m * n) }'; then
  echo "FAIL: valid share ${rate}% is below ${min_valid}%"
  status=1
fi
exit $status
