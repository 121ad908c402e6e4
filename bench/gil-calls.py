"""Measures which library calls hold the GIL (the default `[python] cpu-heavy-calls` list of conc-advisor).

Method (robust on a loaded machine, where wall-clock speed-ups mean nothing): a probe thread counts in a pure
Python loop while the main thread makes one large call. A call that holds the GIL for its whole duration (C code
that never releases it) freezes the probe: its progress per second of the call drops to ~0 % of its rate while
the main thread sleeps. A call that releases the GIL (hashlib, zlib on large buffers) lets the probe run
alongside. Printed per call: the call's wall time, its CPU time (time.thread_time of the calling thread, which
shows it is CPU work, not waiting), and the probe's progress during the call relative to its rate beside
`time.sleep`. Run: `python3 bench/gil-calls.py`.
"""
import ast
import difflib
import hashlib
import json
import os
import pickle
import re
import time
import xml.etree.ElementTree as ET
import zlib

DOC = {"items": [{"id": i, "name": f"item{i}", "tags": ["a", "b", "c"], "v": i * 0.5} for i in range(60_000)]}
JSON = json.dumps(DOC)
PICKLED = pickle.dumps(DOC)
TEXT = "lorem ipsum dolor 12345 sit amet " * 60_000
SRC = "def f(x):\n    return [i * x for i in range(10) if i % 2]\n" * 4_000
XML = "<r>" + "<e a='1'>text</e>" * 80_000 + "</r>"
BLOB = os.urandom(1) * 40_000_000
A = [str(i % 97) for i in range(3_000)]
B = [str(i % 89) for i in range(3_000)]

CALLS = {
    "json.loads": lambda: json.loads(JSON),
    "json.dumps": lambda: json.dumps(DOC),
    "pickle.loads": lambda: pickle.loads(PICKLED),
    "pickle.dumps": lambda: pickle.dumps(DOC),
    "re.findall": lambda: re.findall(r"\d+\s\w+", TEXT),
    "ast.parse": lambda: ast.parse(SRC),
    "xml.etree.ElementTree.fromstring": lambda: ET.fromstring(XML),
    "difflib.SequenceMatcher.ratio": lambda: difflib.SequenceMatcher(None, A, B).ratio(),
    "builtins.sorted": lambda: sorted(DOC["items"], key=lambda d: -d["v"]),
    # Controls: these release the GIL on large buffers.
    "hashlib.sha256 (control)": lambda: hashlib.sha256(BLOB).digest(),
    "zlib.compress (control)": lambda: zlib.compress(BLOB, 1),
}


import threading

count = 0
running = True


def probe():
    global count
    while running:
        count += 1


def rate_during(fn):
    """Probe increments per second of `fn()`'s wall time, and `fn`'s own CPU time."""
    c0, w0, t0 = count, time.perf_counter(), time.thread_time()
    fn()
    return (count - c0) / (time.perf_counter() - w0), time.thread_time() - t0, time.perf_counter() - w0


t = threading.Thread(target=probe, daemon=True)
t.start()
base, _, _ = rate_during(lambda: time.sleep(1.0))
print(f"probe rate beside time.sleep: {base:,.0f}/s")
print(f"{'call':40} {'wall s':>7} {'cpu s':>7} {'probe %':>8}  verdict")
for name, fn in CALLS.items():
    fn()
    r, cpu, wall = rate_during(fn)
    pct = 100 * r / base
    verdict = "holds the GIL" if pct < 25 else "releases the GIL (or switches: Python code)"
    print(f"{name:40} {wall:7.3f} {cpu:7.3f} {pct:7.1f}%  {verdict}")
running = False
