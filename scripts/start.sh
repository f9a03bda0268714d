#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the release configuration and starts planbro.
# Until the REST server lands this runs the command-line tool; with no arguments it validates the demo
# individual plan (conformance/demo/) and shows what else it can do.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release >/dev/null
planbro=build/release/gateway/planbro
if [ $# -gt 0 ]; then
  exec "$planbro" "$@"
fi
echo "== planbro validate conformance/demo/individual-plan-demo.json"
"$planbro" validate conformance/demo/individual-plan-demo.json
echo
echo "== planbro fhirpath \"entry.resource.ofType(CarePlan).title\" conformance/demo/individual-plan-demo.json"
"$planbro" fhirpath "entry.resource.ofType(CarePlan).title" conformance/demo/individual-plan-demo.json
echo
"$planbro" --help
