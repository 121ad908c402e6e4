#!/usr/bin/env bash
# Mutation fuzzing of `check`'s per-file analysis for as long as asked (tests/fuzz.rs, the same mutator CI runs
# for a bounded number of cases). Every input that crashes the analysis (a panic, or a stack overflow that
# aborts the process) is kept under fixtures/crashes/ as crash-<seed>-<time>.rs|.py, where
# `cargo test -p conc-advisor-tests --test fuzz` runs it as a regression test from then on.
#
# Usage: bench/fuzz.sh [SECONDS]   (default 600; each round runs ROUND seconds, default 60, with a new seed)
# Environment: ROUND, PROFILE=release (faster; the default debug build has the deeper stack frames CI has).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
total="${1:-600}"
round="${ROUND:-60}"
crashes="$repo/fixtures/crashes"
mkdir -p "$crashes" "$here/out"
pending="$here/out/fuzz-pending"
release=()
[[ "${PROFILE:-}" == release ]] && release=(--release)

cd "$repo"
cargo test "${release[@]}" -q -p conc-advisor-tests --test fuzz --no-run
end=$((SECONDS + total))
rounds=0
kept=0
while ((SECONDS < end)); do
    seed=$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')
    left=$((end - SECONDS))
    secs=$((left < round ? left : round))
    rm -f "$pending".rs "$pending".py
    rc=0
    FUZZ_SEED="$seed" FUZZ_CASES=18446744073709551615 FUZZ_SECONDS="$secs" FUZZ_PENDING="$pending" \
        cargo test "${release[@]}" -q -p conc-advisor-tests --test fuzz mutated_fixtures -- --nocapture \
        >"$here/out/fuzz-round.log" 2>&1 || rc=$?
    rounds=$((rounds + 1))
    if ((rc != 0)); then
        for ext in rs py; do
            if [[ -f "$pending.$ext" ]]; then
                name="crash-$seed-$(date +%s).$ext"
                cp "$pending.$ext" "$crashes/$name"
                kept=$((kept + 1))
                printf 'fuzz.sh: seed %s crashed (exit %s); input kept as fixtures/crashes/%s\n' "$seed" "$rc" "$name" >&2
                grep -E 'panicked|overflow|fuzz:' "$here/out/fuzz-round.log" | head -5 >&2 || true
            fi
        done
    else
        grep -E '^fuzz:' "$here/out/fuzz-round.log" >&2 || true
    fi
done
rm -f "$pending".rs "$pending".py
printf 'fuzz.sh: %s rounds in %ss, %s crashing inputs kept\n' "$rounds" "$total" "$kept" >&2
((kept == 0))
