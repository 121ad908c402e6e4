#!/usr/bin/env bash
# Builds the Rust benchmark corpus: a throwaway cargo project (bench/corpus/, gitignored) that depends on
# pinned exact versions of widely used crates, then `cargo vendor`s their sources (and every transitive
# dependency, for every platform) into bench/corpus/vendor. Prints the number of `.rs` files and lines.
#
# Reproducible: top-level versions are pinned with `=`, and the lock file of the first resolution is kept
# in bench/corpus.lock (committed), so later runs vendor exactly the same sources with `--locked`.
# Idempotent: a corpus that is already vendored for the same manifest and lock is left alone.
# Uses only the normal cargo client against its default registry.
#
# Usage: bench/corpus.sh            (prints the corpus directory on its last line)
#        FORCE=1 bench/corpus.sh    (re-vendor even if up to date)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
corpus="$here/corpus"
lock="$here/corpus.lock"
vendor="$corpus/vendor"
stamp="$corpus/.vendored"

log() { printf '[corpus] %s\n' "$*" >&2; }

mkdir -p "$corpus/src"

# The manifest. Edit versions here only; delete bench/corpus.lock after changing them.
manifest='[package]
name = "conc-advisor-bench-corpus"
version = "0.0.0"
edition = "2021"
publish = false

# Keeps the throwaway project out of any enclosing workspace.
[workspace]

# Never built: it exists only so that `cargo vendor` fetches these sources.
[dependencies]
tokio = { version = "=1.47.1", features = ["full"] }
tokio-util = { version = "=0.7.16", features = ["full"] }
hyper = { version = "=1.7.0", features = ["full"] }
hyper-util = { version = "=0.1.16", features = ["full"] }
axum = { version = "=0.8.4", features = ["ws", "macros"] }
tower = { version = "=0.5.2", features = ["full"] }
tower-http = { version = "=0.6.6", features = ["full"] }
tonic = { version = "=0.14.1" }
reqwest = { version = "=0.12.23", features = ["blocking", "json", "stream", "cookies", "gzip", "brotli"] }
actix-web = { version = "=4.11.0" }
async-std = { version = "=1.13.1", features = ["unstable"] }
futures = { version = "=0.3.31" }
rayon = { version = "=1.11.0" }
crossbeam = { version = "=0.8.4" }
parking_lot = { version = "=0.12.4" }
dashmap = { version = "=6.1.0" }
sqlx = { version = "=0.8.6", features = ["runtime-tokio", "postgres", "mysql", "sqlite", "macros", "chrono", "uuid", "json"] }
diesel = { version = "=2.2.12", features = ["postgres", "sqlite", "mysql"] }
serde = { version = "=1.0.219", features = ["derive"] }
serde_json = { version = "=1.0.143" }
regex = { version = "=1.11.2" }
syn = { version = "=2.0.106", features = ["full", "visit", "visit-mut", "fold", "extra-traits"] }
clap = { version = "=4.5.47", features = ["derive"] }
tracing = { version = "=0.1.41" }
tracing-subscriber = { version = "=0.3.20", features = ["env-filter", "json"] }
rustls = { version = "=0.23.31" }
chrono = { version = "=0.4.41" }
uuid = { version = "=1.18.1", features = ["v4"] }
'

if ! cmp -s <(printf '%s' "$manifest") "$corpus/Cargo.toml"; then
    log "writing $corpus/Cargo.toml"
    printf '%s' "$manifest" >"$corpus/Cargo.toml"
    rm -f "$stamp"
fi
[[ -f "$corpus/src/lib.rs" ]] || printf '//! Empty: the benchmark corpus is the vendored dependencies.\n' >"$corpus/src/lib.rs"

if [[ -f "$lock" ]]; then
    if ! cmp -s "$lock" "$corpus/Cargo.lock" 2>/dev/null; then
        log "using the pinned lock file bench/corpus.lock"
        cp "$lock" "$corpus/Cargo.lock"
        rm -f "$stamp"
    fi
else
    log "no bench/corpus.lock yet: resolving (cargo generate-lockfile) and saving it"
    (cd "$corpus" && cargo generate-lockfile --quiet)
    cp "$corpus/Cargo.lock" "$lock"
    rm -f "$stamp"
fi

if [[ -f "$stamp" && -d "$vendor" && "${FORCE:-0}" != 1 ]]; then
    log "already vendored (delete $stamp or set FORCE=1 to redo)"
else
    log "cargo vendor --locked into $vendor (downloads every dependency once; may take minutes)"
    rm -rf "$vendor"
    (cd "$corpus" && cargo vendor --locked --versioned-dirs --quiet vendor >/dev/null)
    touch "$stamp"
fi

log "counting"
crates=$(find "$vendor" -mindepth 1 -maxdepth 1 -type d | wc -l)
files=$(find "$vendor" -type f -name '*.rs' | wc -l)
lines=$(find "$vendor" -type f -name '*.rs' -print0 | xargs -0 cat | wc -l)
bytes=$(find "$vendor" -type f -name '*.rs' -print0 | du -cb --files0-from=- | tail -1 | cut -f1)
log "corpus: $crates crates, $files .rs files, $lines lines, $((bytes / 1024 / 1024)) MiB"
echo "$vendor"
