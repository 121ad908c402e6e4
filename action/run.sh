#!/usr/bin/env bash
# The script of action.yml: install conc-advisor unless it is on PATH (or CONC_ADVISOR names a binary), run
# `check --format sarif` on INPUT_PATHS with INPUT_ARGS, write INPUT_SARIF_FILE, and report `sarif-file` and
# `exit-code` to GITHUB_OUTPUT. Exits with check's code (1 only when INPUT_FAIL is true; 2 always).
# Run outside GitHub by the tests (advisor/cli/tests/adopt.rs) with CONC_ADVISOR and GITHUB_OUTPUT set.
set -euo pipefail

paths="${INPUT_PATHS:-.}"
args="${INPUT_ARGS:-}"
sarif="${INPUT_SARIF_FILE:-conc-advisor.sarif}"
fail="${INPUT_FAIL:-true}"
out="${GITHUB_OUTPUT:-/dev/null}"

bin="${CONC_ADVISOR:-}"
if [ -z "$bin" ]; then
  if command -v conc-advisor >/dev/null 2>&1; then
    bin="$(command -v conc-advisor)"
  else
    root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/conc-advisor"
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    echo "installing conc-advisor: cargo install --locked --path $here/advisor/cli --root $root"
    cargo install --locked --quiet --path "$here/advisor/cli" --root "$root"
    bin="$root/bin/conc-advisor"
  fi
fi

# Word-splitting of the inputs is intended: they are space-separated lists.
# shellcheck disable=SC2086
set +e
"$bin" check --format sarif --output-file "$sarif" $args $paths
code=$?
set -e

echo "sarif-file=$sarif" >>"$out"
echo "exit-code=$code" >>"$out"
if [ "$code" -ge 2 ]; then
  echo "conc-advisor check failed (exit $code): see the messages above" >&2
  exit "$code"
fi
if [ "$code" -eq 1 ] && [ "$fail" = "true" ]; then
  echo "conc-advisor check found problems (exit 1); $sarif has them" >&2
  exit 1
fi
exit 0
