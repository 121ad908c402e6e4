#!/usr/bin/env python3
"""Groups a flat `perf report` (self time per symbol) into the costs that matter for `check`:
allocator, memcpy/memmove, lexing (proc-macro2), parsing (syn), dropping trees, walking, rayon, the
analysis itself (conc_advisor), other.

Usage: perf report -i FILE --no-children --sort dso,symbol --stdio --percent-limit 0 | bench/perf_summary.py
"""

import re
import sys

CATEGORIES = [
    ("allocator (malloc/free)", re.compile(
        r"^(_?mi_|_mi_|malloc|_int_malloc|_int_free|_int_realloc|cfree|free$|realloc|calloc|"
        r"malloc_consolidate|unlink_chunk|sysmalloc|tcache|__libc_(malloc|free|realloc)|"
        r"__rust_(alloc|dealloc|realloc|no_alloc)|__rustc::__rust_|__rdl_|"
        r"alloc::raw_vec::.*(finish_grow|grow_one|reserve)|alloc::alloc::)")),
    ("memcpy/memmove/memcmp", re.compile(r"^__(memmove|memcpy|memcmp|memset|memchr|strlen)")),
    ("dropping trees", re.compile(r"(drop_in_place|as core::ops::drop::Drop>::drop)")),
    ("walk (ignore/globset/regex)", re.compile(r"^(<)?(ignore|globset|regex|regex_automata|aho_corasick|same_file|walkdir)::")),
    ("analysis (conc_advisor)", re.compile(r"^(<)?conc_advisor::")),
    ("lexing (proc-macro2)", re.compile(r"^(<)?(proc_macro2::|core::str::count|core::slice::memchr|core::str::validations)")),
    ("parsing (syn)", re.compile(r"^(<)?(syn::|<alloc::boxed::Box<str> as core::clone::Clone>|<T as alloc::slice::<impl \[T\]>::to_vec_in)")),
    ("ruff parser", re.compile(r"^(<)?(ruff_|unicode_ident|memchr::)")),
    ("rayon/crossbeam", re.compile(r"^(<)?(rayon|rayon_core|crossbeam|std::sync|std::thread)")),
    ("kernel", re.compile(r"^\[k\]|^0x")),
]


def main() -> int:
    totals: dict[str, float] = {}
    other: list[tuple[float, str]] = []
    line_re = re.compile(r"^\s*([0-9.]+)%\s+(\S+)\s+\[(.)\]\s+(.*?)\s*(-\s+-\s*)?$")
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        if kind == "k":
            cat = "kernel"
        else:
            cat = next((name for name, rx in CATEGORIES if rx.search(sym)), None)
        if cat is None:
            cat = "other"
            other.append((pct, f"{dso} {sym}"))
        totals[cat] = totals.get(cat, 0.0) + pct
    if not totals:
        print("perf_summary: no samples in the input", file=sys.stderr)
        return 1
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{pct:6.1f}%  {name}")
    other.sort(reverse=True)
    if other:
        print("largest 'other':", "; ".join(f"{p:.1f}% {s[:80]}" for p, s in other[:5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
