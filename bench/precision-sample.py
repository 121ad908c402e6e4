#!/usr/bin/env python3
"""Prints up to 8 findings per rule of a `check --format concise` listing, evenly spaced, with source context
for hand review (issue 12). Usage: bench/precision-sample.py FINDINGS [CA101,CA102,...]; run from the directory
the paths in FINDINGS are relative to."""
import sys,collections,re
lines=[l.rstrip('\n') for l in open(sys.argv[1])]
by=collections.OrderedDict()
for l in lines:
    m=re.match(r'(.*?):(\d+):(\d+): (CA\d+) ',l)
    if m: by.setdefault(m.group(4),[]).append((m.group(1),int(m.group(2)),l))
want=sys.argv[2].split(',') if len(sys.argv)>2 else list(by)
for r in want:
    xs=by.get(r,[])
    n=len(xs)
    pick=xs if n<=8 else [xs[int(i*n/8)] for i in range(8)]
    print(f"##### {r}: {n} findings, {len(pick)} sampled")
    for f,ln,l in pick:
        print("=== "+l[len('bench/corpus/vendor/'):][:260])
        src=open(f,errors='replace').read().split('\n')
        for i in range(max(0,ln-7),min(len(src),ln+2)):
            print(f"{i+1:5}{'>' if i+1==ln else ' '} {src[i][:150]}")
