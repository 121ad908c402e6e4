#!/usr/bin/env bash
# Speed and memory of `conc-advisor check`, measured in one run against two baselines:
#
#   Rust:   `conc-advisor check` over the vendored corpus (bench/corpus.sh) versus `parse_only`
#           (advisor/examples/parse_only.rs: the same walker, read, `syn::parse_file`, system allocator)
#           over the same files with the same thread count. Target (the developers' brief): check/parse time
#           ratio <= 0.72.
#   Python: `conc-advisor check` over the CPython standard library versus `ruff check --select ASYNC`
#           (ruff pinned, installed into a throwaway venv under bench/out/). Target: check/ruff <= 2.0.
#   Cache:  on each tree (a hard-linked copy under bench/out/, so one file can be edited), a cold run into an
#           empty cache, an unchanged re-run, and a re-run after editing one file, side by side. Targets:
#           unchanged <= 0.1x cold, one edited file <= 0.2x cold. The two ratios above run with --no-cache.
#           The unchanged re-run must print the same findings as the cold run (cmp), or the benchmark fails.
#
# Runs are interleaved (A B A B ...) and the median is taken, so that load from other processes on a
# shared machine falls on both sides alike. Wall time decides the ratio; CPU time (user+sys) is printed
# next to it because it is less sensitive to that load. Peak RSS comes from GNU time (`%M`).
#
# Environment: JOBS (threads; default: all cores), REPS (Rust repetitions, default 3), PY_REPS (Python
# repetitions, default 5), SKIP_RUST=1, SKIP_PYTHON=1, RUFF_VERSION (default below), TIMEOUT (seconds one run
# may take before the benchmark fails; default 900), CORPUS_SKIP (a shell glob of vendored crate directories to
# leave out of both sides, e.g. 'encoding_rs-*'; default: none), CORPUS (an already vendored corpus directory to
# use instead of running bench/corpus.sh), SKIP_CACHE=1, CACHE_REPS (cache repetitions, default 3), ONLY_CACHE=1
# (only the cache runs: neither parse_only nor ruff is timed).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/out"
mkdir -p "$out"

JOBS="${JOBS:-$(nproc)}"
REPS="${REPS:-3}"
PY_REPS="${PY_REPS:-5}"
RUFF_VERSION="${RUFF_VERSION:-0.12.12}"
TIMEOUT="${TIMEOUT:-900}"
CORPUS_SKIP="${CORPUS_SKIP:-}"

step() { printf '\n==> %s\n' "$*" >&2; }
say() { printf '    %s\n' "$*" >&2; }
die() { printf 'run.sh: error: %s\n' "$*" >&2; exit 1; }

# --- GNU time, for wall/CPU/peak RSS of a child ---------------------------------------------------------
step "checking for GNU time (/usr/bin/time)"
if ! /usr/bin/time -f '%e' true 2>/dev/null; then
    say "not found: installing the Debian package 'time'"
    if [[ $(id -u) -eq 0 ]]; then apt-get install -y -q time >&2; else sudo apt-get install -y -q time >&2; fi
    /usr/bin/time -f '%e' true 2>/dev/null || die "GNU time is still not usable"
fi
say "ok"

results="$out/results.txt"
: >"$results"

# measure LABEL STDOUT_FILE CMD... : runs CMD once under GNU time and appends
# "LABEL wall_s user_s sys_s maxrss_kib exit" to $results. Exit codes 0, 1 and 2 are accepted (findings, and
# files that could not be checked, are not failures of the benchmark); anything else (a crash) is fatal.
measure() {
    local label="$1" stdout="$2"
    shift 2
    local tfile="$out/.time.$label" rc=0
    /usr/bin/time -f '%e %U %S %M' -o "$tfile" timeout "$TIMEOUT" "$@" >"$stdout" 2>"$out/$label.stderr" || rc=$?
    if ((rc == 124)); then
        die "$label: \`$*\` did not finish within ${TIMEOUT}s (TIMEOUT=$TIMEOUT); killed"
    fi
    if ((rc > 2)); then
        tail -n 20 "$out/$label.stderr" >&2 || true
        die "$label: \`$*\` exited with $rc"
    fi
    # GNU time writes "Command exited with non-zero status N" before the numbers when rc != 0.
    local nums
    nums="$(tail -n 1 "$tfile")"
    echo "$label $nums $rc" >>"$results"
    say "$(printf '%-8s wall %7ss  user %7ss  sys %6ss  peak RSS %8s KiB  exit %s' "$label" $nums "$rc")"
}

# stats LABEL FIELD: median of a column (2 wall, 3 user, 4 sys, 5 rss, 6 = user+sys) for LABEL.
stats() {
    awk -v l="$1" -v f="$2" '$1 == l { v = (f == 6) ? $3 + $4 : $f; a[n++] = v }
        END { if (n == 0) { print "nan"; exit }
              for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
              print (n % 2) ? a[int(n / 2)] : (a[n / 2 - 1] + a[n / 2]) / 2 }' "$results"
}
maxof() { awk -v l="$1" '$1 == l && $5 > m { m = $5 } END { print m + 0 }' "$results"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "nan"; else printf "%.3f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s == 0) print "nan"; else printf "%.0f", n / s }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r + 0 <= t + 0) ? "meets the target" : "MISSES the target" }'; }

# --- build ------------------------------------------------------------------------------------------------
step "building release: conc-advisor and the parse_only example (cargo build --release)"
(cd "$repo" && cargo build --release --quiet -p conc-advisor-cli -p conc-advisor --bin conc-advisor --example parse_only) ||
    die "release build failed"
bin="$repo/target/release/conc-advisor"
parse_only="$repo/target/release/examples/parse_only"
say "$bin"
say "$parse_only"

# --- what `check` accepts on this branch -----------------------------------------------------------------
step "probing \`conc-advisor check --help\` for the flags this branch accepts"
help="$("$bin" check --help 2>&1)" || die "\`conc-advisor check --help\` failed"
check_flags=()
if grep -q -- '--format' <<<"$help"; then
    if grep -qi 'concise' <<<"$help"; then check_flags+=(--format concise); fi
fi
if grep -q -- '--exit-zero' <<<"$help"; then check_flags+=(--exit-zero); fi
if grep -q -- '--color' <<<"$help"; then check_flags+=(--color never); fi
if grep -q -- '--no-cache' <<<"$help"; then check_flags+=(--no-cache); fi
if grep -q -- '--jobs' <<<"$help"; then
    check_flags+=(--jobs "$JOBS")
else
    say "no --jobs flag: limiting threads with RAYON_NUM_THREADS=$JOBS instead"
fi
export RAYON_NUM_THREADS="$JOBS"
say "check flags: ${check_flags[*]:-(none)}; threads: $JOBS"

summary=()

# --- Rust: check vs parse_only over the vendored corpus ------------------------------------------------------
if [[ "${SKIP_RUST:-0}" != 1 ]]; then
    step "Rust corpus (bench/corpus.sh; vendors it the first time)"
    corpus="${CORPUS:-$("$here/corpus.sh" | tail -n 1)}"
    [[ -d "$corpus" ]] || die "corpus.sh did not produce a directory"
    roots=("$corpus")
    if [[ -n "$CORPUS_SKIP" ]]; then
        roots=()
        for d in "$corpus"/*/; do
            d="${d%/}"
            # shellcheck disable=SC2053  # CORPUS_SKIP is a glob on purpose
            if [[ "$(basename "$d")" == $CORPUS_SKIP ]]; then say "leaving out $(basename "$d") (CORPUS_SKIP)"; else roots+=("$d"); fi
        done
    fi
    largest="$(find "${roots[@]}" -type f -name '*.rs' -printf '%s %p\n' | sort -n | tail -n 1)"
    say "largest file: $((${largest%% *} / 1024)) KiB (${largest#* })"

    if [[ "${ONLY_CACHE:-0}" != 1 ]]; then
        step "warming the page cache (parse_only --read-only, untimed)"
        "$parse_only" --jobs "$JOBS" --read-only "${roots[@]}" | tee "$out/read_only.txt" >&2

        step "timing, interleaved, $REPS repetitions each, $JOBS threads: check (A) vs parse_only (B)"
        for ((i = 1; i <= REPS; i++)); do
            say "repetition $i/$REPS"
            measure check "$out/check.out" "$bin" check "${check_flags[@]}" "${roots[@]}"
            measure parse "$out/parse.out" "$parse_only" --jobs "$JOBS" "${roots[@]}"
        done
        if grep -q . "$out/check.stderr"; then
            say "check wrote to stderr (last run; first lines):"
            head -n 5 "$out/check.stderr" | sed 's/^/      /' >&2
        fi
        read -r files lines < <(sed -n 's/.*files=\([0-9]*\) lines=\([0-9]*\).*/\1 \2/p' "$out/parse.out")
        [[ -n "${lines:-}" ]] || die "could not read parse_only's output: $(cat "$out/parse.out")"
        cw="$(stats check 2)" pw="$(stats parse 2)" cc="$(stats check 6)" pc="$(stats parse 6)"
        ratio="$(div "$cw" "$pw")"
        summary+=(
            ""
            "Rust corpus: $files files, $lines lines ($corpus${CORPUS_SKIP:+ without $CORPUS_SKIP}), $JOBS threads, median of $REPS"
            "  conc-advisor check  $(printf '%8.2f' "$cw") s wall  $(printf '%8.2f' "$cc") s CPU  $(printf '%10s' "$(rate "$lines" "$cw")") lines/s  peak RSS $(($(maxof check) / 1024)) MiB"
            "  parse_only (syn)    $(printf '%8.2f' "$pw") s wall  $(printf '%8.2f' "$pc") s CPU  $(printf '%10s' "$(rate "$lines" "$pw")") lines/s  peak RSS $(($(maxof parse) / 1024)) MiB"
            "  ratio check/parse: $ratio wall ($(verdict "$ratio" 0.72) <= 0.72), $(div "$cc" "$pc") CPU ($(verdict "$(div "$cc" "$pc")" 0.72))"
            "  findings printed by check: $(wc -l <"$out/check.out") lines; parse errors in parse_only: $(sed -n 's/.*parse_errors=\([0-9]*\).*/\1/p' "$out/parse.out")"
        )
    fi
fi

# --- Python: check vs ruff over the CPython standard library ---------------------------------------------------
if [[ "${SKIP_PYTHON:-0}" != 1 ]]; then
    step "locating the CPython standard library"
    stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
    [[ -d "$stdlib" ]] || die "python3 reports a stdlib that is not a directory: $stdlib"
    # Every top-level directory and Python file, but not installed third-party packages (site-packages).
    py_paths=()
    while IFS= read -r -d '' p; do py_paths+=("$p"); done < <(
        find "$stdlib" -mindepth 1 -maxdepth 1 ! -name site-packages ! -name __pycache__ ! -name '.*' \
            \( -type d -o -name '*.py' -o -name '*.pyi' \) -print0 | sort -z
    )
    py_files="$(find "${py_paths[@]}" -type f \( -name '*.py' -o -name '*.pyi' \) | wc -l)"
    py_lines="$(find "${py_paths[@]}" -type f \( -name '*.py' -o -name '*.pyi' \) -print0 | xargs -0 cat | wc -l)"
    say "$stdlib: ${#py_paths[@]} top-level entries (site-packages left out), $py_files .py/.pyi files, $py_lines lines"

    if [[ "${ONLY_CACHE:-0}" != 1 ]]; then
        step "installing ruff==$RUFF_VERSION into a throwaway venv (bench/out/ruff-venv)"
        venv="$out/ruff-venv"
        if [[ "$("$venv/bin/ruff" --version 2>/dev/null || true)" != "ruff $RUFF_VERSION" ]]; then
            rm -rf "$venv"
            python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
            "$venv/bin/pip" install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION" ||
                die "pip install ruff==$RUFF_VERSION failed"
        fi
        ruff="$venv/bin/ruff"
        say "$("$ruff" --version)"
        ruff_files="$(cd "$stdlib" && "$ruff" check --isolated --show-files "${py_paths[@]}" 2>/dev/null | grep -c '\.pyi\?$' || true)"
        say "ruff would check $ruff_files files"

        step "timing, interleaved, $PY_REPS repetitions each, $JOBS threads: check (A) vs ruff --select ASYNC (B)"
        # One untimed run of each first (page cache).
        "$bin" check "${check_flags[@]}" "${py_paths[@]}" >/dev/null 2>&1 || true
        "$ruff" check --isolated --no-cache --select ASYNC --exit-zero --quiet "${py_paths[@]}" >/dev/null 2>&1 || true
        for ((i = 1; i <= PY_REPS; i++)); do
            say "repetition $i/$PY_REPS"
            measure pycheck "$out/pycheck.out" "$bin" check "${check_flags[@]}" "${py_paths[@]}"
            measure ruff "$out/ruff.out" "$ruff" check --isolated --no-cache --select ASYNC --exit-zero \
                --output-format concise "${py_paths[@]}"
        done
        cw="$(stats pycheck 2)" rw="$(stats ruff 2)" cc="$(stats pycheck 6)" rc_="$(stats ruff 6)"
        ratio="$(div "$cw" "$rw")"
        summary+=(
            ""
            "Python stdlib: $py_files files, $py_lines lines ($stdlib), $JOBS threads, median of $PY_REPS"
            "  conc-advisor check        $(printf '%8.3f' "$cw") s wall  $(printf '%8.3f' "$cc") s CPU  $(printf '%10s' "$(rate "$py_lines" "$cw")") lines/s  peak RSS $(($(maxof pycheck) / 1024)) MiB"
            "  ruff $RUFF_VERSION --select ASYNC $(printf '%8.3f' "$rw") s wall  $(printf '%8.3f' "$rc_") s CPU  $(printf '%10s' "$(rate "$py_lines" "$rw")") lines/s  peak RSS $(($(maxof ruff) / 1024)) MiB"
            "  ratio check/ruff: $ratio wall ($(verdict "$ratio" 2.0) <= 2.0), $(div "$cc" "$rc_") CPU ($(verdict "$(div "$cc" "$rc_")" 2.0))"
            "  lines printed: check $(wc -l <"$out/pycheck.out"), ruff $(wc -l <"$out/ruff.out")"
        )
    fi
fi

# --- Cache: cold run into an empty cache, unchanged re-run, one edited file ---------------------------------------
# cache_bench NAME EDIT_REL PATH...: copies each PATH (hard links; the copy's files are replaced, never written
# through) into bench/out/NAME-tree/, then per repetition: empty cache → cold; unchanged → warm; EDIT_REL gets a new comment
# line → edited. Comment syntax from the file's extension.
cache_bench() {
    local name="$1" edit_rel="$2" copy="$out/$1-tree" cdir="$out/$1-cache"
    shift 2
    rm -rf "$copy" "$cdir"
    mkdir -p "$copy"
    cp -al "$@" "$copy/" 2>/dev/null || cp -a "$@" "$copy/"
    local f="$copy/$edit_rel" mark='//'
    [[ -f "$f" ]] || die "cache bench: no file $f to edit"
    [[ "$f" == *.py ]] && mark='#'
    local cflags=()
    for x in "${check_flags[@]}"; do [[ "$x" != --no-cache ]] && cflags+=("$x"); done
    cflags+=(--cache-dir "$cdir")
    local load
    load="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
    for ((i = 1; i <= CACHE_REPS; i++)); do
        say "repetition $i/$CACHE_REPS"
        rm -rf "$cdir"
        measure "$name-cold" "$out/$name-cold.out" "$bin" check "${cflags[@]}" "$copy"
        measure "$name-warm" "$out/$name-warm.out" "$bin" check "${cflags[@]}" "$copy"
        { cat "$f"; printf '\n%s edited by bench/run.sh, repetition %s\n' "$mark" "$i"; } >"$f.new" && mv "$f.new" "$f"
        measure "$name-edit" "$out/$name-edit.out" "$bin" check "${cflags[@]}" "$copy"
    done
    # The closing summary line carries the run's time: compared without it.
    cmp -s <(grep -v ' checked in ' "$out/$name-cold.out") <(grep -v ' checked in ' "$out/$name-warm.out") ||
        die "$name: the cached re-run printed other findings than the cold run"
    local cw ww ew cc wc_ ec
    cw="$(stats "$name-cold" 2)" ww="$(stats "$name-warm" 2)" ew="$(stats "$name-edit" 2)"
    cc="$(stats "$name-cold" 6)" wc_="$(stats "$name-warm" 6)" ec="$(stats "$name-edit" 6)"
    summary+=(
        ""
        "Cache, $name (copied to $copy; edited: $edit_rel), $JOBS threads, median of $CACHE_REPS, load average $load at the start"
        "  cold (empty cache)   $(printf '%8.3f' "$cw") s wall  $(printf '%8.3f' "$cc") s CPU  peak RSS $(($(maxof "$name-cold") / 1024)) MiB"
        "  unchanged re-run     $(printf '%8.3f' "$ww") s wall  $(printf '%8.3f' "$wc_") s CPU  peak RSS $(($(maxof "$name-warm") / 1024)) MiB"
        "  one file edited      $(printf '%8.3f' "$ew") s wall  $(printf '%8.3f' "$ec") s CPU  peak RSS $(($(maxof "$name-edit") / 1024)) MiB"
        "  ratio unchanged/cold: $(div "$ww" "$cw") wall ($(verdict "$(div "$ww" "$cw")" 0.1) <= 0.1), $(div "$wc_" "$cc") CPU"
        "  ratio edited/cold:    $(div "$ew" "$cw") wall ($(verdict "$(div "$ew" "$cw")" 0.2) <= 0.2), $(div "$ec" "$cc") CPU"
        "  cache size: $(du -sh "$cdir" | cut -f1); findings identical cold and unchanged (cmp)"
    )
    rm -rf "$copy"
}

CACHE_REPS="${CACHE_REPS:-3}"
if [[ "${SKIP_CACHE:-0}" != 1 ]] && grep -q -- '--cache-dir' <<<"$help"; then
    if [[ "${SKIP_RUST:-0}" != 1 ]]; then
        step "cache: Rust corpus, $CACHE_REPS repetitions of cold / unchanged / one edited file"
        edit="$(find "${roots[@]}" -path '*/tokio-1*/src/runtime/handle.rs' | head -n 1)"
        [[ -n "$edit" ]] || edit="$(find "${roots[@]}" -name '*.rs' | sort | head -n 1)"
        # Relative to the copy: the root's own name, then the path inside it.
        for r in "${roots[@]}"; do
            if [[ "$edit" == "$r"/* ]]; then edit="$(basename "$r")/${edit#"$r"/}"; break; fi
        done
        cache_bench rust-cache "$edit" "${roots[@]}"
    fi
    if [[ "${SKIP_PYTHON:-0}" != 1 ]]; then
        step "cache: Python stdlib, $CACHE_REPS repetitions of cold / unchanged / one edited file"
        cache_bench py-cache "concurrent/futures/thread.py" "${py_paths[@]}"
    fi
fi

step "summary (raw runs: bench/out/results.txt)"
printf '%s\n' "conc-advisor $(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')" "${summary[@]}" |
    tee "$out/summary.txt"
