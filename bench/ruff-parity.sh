#!/usr/bin/env bash
# Parity with ruff's flake8-async blocking-call rules (ASYNC2xx) on real projects, and the input of the
# hand-reviewed precision table in bench/README.md (issue 13).
#
# Installs a pinned ruff and the pinned projects below (`pip install --no-deps --target`, so only their own
# code), runs `ruff check --select ASYNC2` and `conc-advisor check` over them, and prints:
#   - the share of ruff's findings (minus ruff's own false positives listed in bench/ruff-parity-excluded.txt,
#     by path:line and why) that `check` also reports as CA503 on the same line (target >= 95 %);
#   - every ruff finding `check` misses;
#   - every CA503 finding ruff does not make (each reviewed in bench/README.md);
#   - all of `check`'s Python findings, into $WORK/check-all.txt (the precision table's input).
#
# Usage: bench/ruff-parity.sh [WORK_DIR]    (default /tmp/conc-ruff-parity; the first run needs pip + network)
# The binary: $CONC_ADVISOR, or target/release/conc-advisor (`cargo build --release -p conc-advisor-cli`).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-/tmp/conc-ruff-parity}"
bin="${CONC_ADVISOR:-$here/target/release/conc-advisor}"
RUFF_VERSION=0.8.4
PROJECTS=(
  aiohttp==3.9.5 tornado==6.4.1 celery==5.4.0 kombu==5.3.7 scrapy==2.11.2 twisted==24.3.0 gunicorn==22.0.0
  uvicorn==0.30.1 locust==2.29.0 distributed==2024.6.2 dask==2024.6.2 httpx==0.27.0 anyio==4.4.0
  paramiko==3.4.0 apscheduler==3.10.4 luigi==3.5.1 sanic==23.12.1 ipykernel==6.29.4 starlette==0.37.2
  fastapi==0.111.0 aiobotocore==2.13.1 motor==3.5.0 channels==4.1.0 websockets==12.0
)
mkdir -p "$work"
if [ ! -x "$work/ruff/bin/ruff" ]; then
  python3 -m pip install -q --no-deps --target "$work/ruff" "ruff==$RUFF_VERSION"
fi
if [ ! -f "$work/site/.installed" ]; then
  python3 -m pip install -q --no-deps --target "$work/site" "${PROJECTS[@]}"
  touch "$work/site/.installed"
fi
ruff="$work/ruff/bin/ruff"
cd "$work/site"
# `--isolated`: no project configuration; `--exclude .git`: ruff's default excludes (build, dist, …) off, so
# both tools see the same files.
"$ruff" check --isolated --no-cache --exclude .git --select ASYNC2 --output-format concise . 2>/dev/null \
  | grep -E '^[^ ]+:[0-9]+:[0-9]+: ASYNC2' | sed 's|^\./||' | sort > "$work/ruff.txt" || true
"$bin" check -j 2 --format concise --exit-zero -q . | grep -E ': CA5[0-9][0-9] ' | sed 's|^\./||' | sort \
  > "$work/check-all.txt"
grep -E ': CA503 ' "$work/check-all.txt" > "$work/check-ca503.txt" || true
excluded="$here/bench/ruff-parity-excluded.txt"
python3 - "$work" "$excluded" <<'PY'
import re, sys
work, excluded_file = sys.argv[1], sys.argv[2]
key = lambda l: tuple(l.split(":")[:2])
excluded = {}
for l in open(excluded_file):
    l = l.strip()
    if l and not l.startswith("#"):
        loc, _, why = l.partition(" ")
        excluded[tuple(loc.split(":")[:2])] = why.strip()
ruff = [l.rstrip("\n") for l in open(f"{work}/ruff.txt")]
ours = {key(l) for l in open(f"{work}/check-ca503.txt")}
ruff_keys = {key(l) for l in ruff}
counted = [l for l in ruff if key(l) not in excluded]
hit = [l for l in counted if key(l) in ours]
print(f"ruff {len(ruff)} findings ({len({key(l) for l in ruff})} lines), {len(ruff) - len(counted)} excluded as ruff's false positives")
share = 100 * len(hit) / len(counted) if counted else 100.0
print(f"parity: check reports {len(hit)} of {len(counted)} ({share:.1f} %) on the same line as CA503")
print("missed:")
for l in counted:
    if key(l) not in ours:
        print("  " + l)
extra = [l.rstrip("\n") for l in open(f"{work}/check-ca503.txt") if key(l) not in ruff_keys]
print(f"CA503 findings ruff does not make: {len(extra)}")
for l in extra:
    print("  " + l)
allf = [l for l in open(f"{work}/check-all.txt")]
by = {}
for l in allf:
    m = re.search(r": (CA5\d\d) ", l)
    by[m.group(1)] = by.get(m.group(1), 0) + 1
print(f"all Python findings: {len(allf)} {dict(sorted(by.items()))} (list: {work}/check-all.txt)")
PY
