#!/usr/bin/env bash
# Renders an HTML report to a PNG with headless Chromium (Debian package `chromium`), to look at it.
# Usage: tests/programs/render-html.sh REPORT.html OUT.png [WIDTHxHEIGHT]
# Without REPORT.html arguments: profiles tests/programs/socket_io.py and gil_threads.py with the debug binary
# and renders both to target/profile-html/*.png.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [[ -z "$browser" ]]; then
  echo "render-html: chromium is not installed (apt-get install chromium); nothing rendered" >&2
  exit 0
fi
shot() {
  local html="$1" png="$2" size="${3:-1200,1500}"
  local profile
  profile="$(mktemp -d)"
  "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$size" --screenshot="$png" \
    "file://$(realpath "$html")" >/dev/null 2>&1 || true
  rm -rf "$profile"
  [[ -s "$png" ]] && echo "render-html: $png" || { echo "render-html: no screenshot for $html" >&2; return 1; }
}
if [[ $# -ge 2 ]]; then
  shot "$1" "$2" "${3:-1200,1500}"
  exit
fi
out="$root/target/profile-html"
mkdir -p "$out"
bin="$root/target/debug/conc-advisor"
[[ -x "$bin" ]] || (cd "$root" && cargo build -q -p conc-advisor)
py="$(python3 -c 'import sys; print(sys.executable)')"
for prog in socket_io gil_threads; do
  "$bin" profile -q --html "$out/$prog.html" -o "$out/$prog.txt" -- "$py" "$root/tests/programs/$prog.py" 1.5
  shot "$out/$prog.html" "$out/$prog.png"
done
