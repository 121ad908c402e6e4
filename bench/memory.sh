#!/usr/bin/env bash
# Peak memory of `conc-advisor check` per source byte (issue 11: about 150 bytes per source byte when a file is
# parsed; the target is at most 50, i.e. under 2 GiB for a 40 MB file).
#
# Generates one Rust file of async functions (MB megabytes, default 40) and one Python file of the same shape,
# checks each alone with the release build under GNU time, and prints the peak RSS and the bytes of peak RSS per
# source byte; then the same for the largest file of the vendored corpus (bench/corpus/vendor), when present.
# Environment: MB (size of the generated files), SKIP_PYTHON=1, CACHE=1 (run with the per-file cache, cold, in a
# scratch directory; by default --no-cache: the parse and analysis alone, the issue's measure).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/out/memory"
mkdir -p "$out"
MB="${MB:-40}"

(cd "$repo" && cargo build --release --quiet -p conc-advisor-cli --bin conc-advisor)
bin="$repo/target/release/conc-advisor"

# peak FILE: checks FILE alone and prints "bytes peak_kib bytes_per_source_byte path".
peak() {
    local file="$1" size kib
    size=$(stat -c %s "$file")
    local cache=(--no-cache)
    if [[ "${CACHE:-}" == 1 ]]; then
        rm -rf "$out/cache"
        cache=(--cache-dir "$out/cache")
    fi
    /usr/bin/time -f '%M' -o "$out/.time" "$bin" check "${cache[@]}" -q --exit-zero --format concise "$file" >/dev/null 2>"$out/.stderr" || true
    kib=$(tail -n 1 "$out/.time")
    awk -v s="$size" -v k="$kib" -v f="$file" 'BEGIN { printf "%12d bytes  peak %8.1f MiB  %6.1f B/source byte  %s\n", s, k / 1024, k * 1024 / s, f }'
}

rs="$out/generated.rs"
if [[ ! -f "$rs" ]] || (( $(stat -c %s "$rs") < MB * 1000000 )); then
    awk -v mb="$MB" 'BEGIN {
        n = 0
        while (bytes < mb * 1000000) {
            line = sprintf("pub async fn handler_%d(x: u64) -> u64 {\n    let y = x.wrapping_mul(%d) + compute(x);\n    if y %% 3 == 0 { tokio::task::yield_now().await; }\n    y\n}\n", n, n)
            printf "%s", line
            bytes += length(line)
            n++
        }
        print "fn compute(x: u64) -> u64 { x + 1 }"
    }' >"$rs"
fi
echo "peak RSS of check on one generated file (MB=$MB):"
peak "$rs"

if [[ "${SKIP_PYTHON:-}" != 1 ]]; then
    py="$out/generated.py"
    if [[ ! -f "$py" ]] || (( $(stat -c %s "$py") < MB * 1000000 )); then
        awk -v mb="$MB" 'BEGIN {
            print "import asyncio"
            n = 0
            while (bytes < mb * 1000000) {
                line = sprintf("async def handler_%d(x):\n    y = x * %d + compute(x)\n    if y %% 3 == 0:\n        await asyncio.sleep(0)\n    return y\n", n, n)
                printf "%s", line
                bytes += length(line)
                n++
            }
            print "def compute(x):\n    return x + 1"
        }' >"$py"
    fi
    peak "$py"
fi

corpus="$repo/bench/corpus/vendor"
if [[ -d "$corpus" ]]; then
    largest=$(find "$corpus" -name '*.rs' -type f -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
    echo "largest file of the corpus:"
    peak "$largest"
fi
