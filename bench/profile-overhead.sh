#!/usr/bin/env bash
# The slowdown `conc-advisor profile` causes to the program it profiles, at the default sampling rate, on a
# CPU-bound program that keeps every core busy (so every CPU cycle the sampler takes is a cycle the program
# loses). Runs plain and profiled alternately, several times, in one invocation, and prints the ratio of the
# median wall times, plus the sampler's own CPU cost as the report states it.
#
# Usage: bench/profile-overhead.sh [RUNS] [SECONDS_OF_WORK_PER_PROCESS]
# Target: ratio ≤ 1.02. The machine should otherwise be idle: on a shared machine the noise between runs
# can exceed the effect measured.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runs="${1:-5}"
work="${2:-2}"
cd "$root"
cargo build --release -q -p conc-advisor
bin="$root/target/release/conc-advisor"
cores="$(nproc)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A fixed amount of integer work per process (no clock in the loop), one process per core.
cat > "$tmp/spin.sh" <<'SPIN'
#!/bin/sh
n="$1"; i=0; while [ "$i" -lt "$n" ]; do i=$((i + 1)); done
SPIN
chmod +x "$tmp/spin.sh"
# Calibrate the loop count to about $work seconds on one core.
calib=200000
t0=$(date +%s.%N); "$tmp/spin.sh" "$calib"; t1=$(date +%s.%N)
iters=$(awk -v c="$calib" -v a="$t0" -v b="$t1" -v w="$work" 'BEGIN { d = b - a; if (d <= 0) d = 0.01; printf "%d", c * w / d }')
prog=(sh -c "for i in \$(seq $cores); do $tmp/spin.sh $iters & done; wait")

now() { date +%s.%N; }
plain=()
profiled=()
for r in $(seq "$runs"); do
  a=$(now); "${prog[@]}"; b=$(now)
  plain+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b - a }')")
  a=$(now); "$bin" profile -q -o /dev/null --json "$tmp/r$r.json" -- "${prog[@]}"; b=$(now)
  profiled+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b - a }')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mp=$(median "${plain[@]}")
mq=$(median "${profiled[@]}")
cost=$(for f in "$tmp"/r*.json; do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["sampler"]; print(s["cpu_pct_of_core"], s["mean_tick_us"])' "$f" 2>/dev/null || true
done | awk '{ c += $1; t += $2; n++ } END { if (n) printf "%.2f %.0f", c / n, t / n; else print "? ?" }')
echo "workload: $cores processes × ${iters} shell-loop iterations (≈ ${work} s each), $runs runs each way, interleaved"
echo "plain wall (s):    ${plain[*]}"
echo "profiled wall (s): ${profiled[*]}"
echo "sampler: ${cost% *}% of one core on average, ${cost#* } µs per tick (from the reports)"
lp=$(printf '%s\n' "${plain[@]}" | sort -n | head -1)
lq=$(printf '%s\n' "${profiled[@]}" | sort -n | head -1)
load=$(cut -d' ' -f1 /proc/loadavg)
awk -v p="$mp" -v q="$mq" -v a="$lp" -v b="$lq" -v c="$cores" -v s="${cost% *}" -v l="$load" 'BEGIN {
  printf "slowdown at the default rate (25 Hz): median %.3f s → %.3f s = ratio %.3f; fastest %.3f s → %.3f s = ratio %.3f (target ≤ 1.02)\n", p, q, q / p, a, b, b / a
  printf "bound from the sampler'"'"'s own CPU: 1 + %.2f%% / %d cores = %.4f (load average during the run: %s)\n", s, c, 1 + s / 100 / c, l
}'
