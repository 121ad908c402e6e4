"""CPU-bound pure-Python threads: under the GIL they take turns, so together they use about one core."""
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def spin(end):
    x = 0
    while time.perf_counter() < end:
        for _ in range(1000):
            x += 1
    return x


end = time.perf_counter() + SECONDS
# The anti-pattern on purpose: `conc-advisor check` flags it statically (CA501), `profile` measures it.
threads = [threading.Thread(target=spin, args=(end,)) for _ in range(THREADS)]  # noqa: CA501
for t in threads:
    t.start()
for t in threads:
    t.join()
