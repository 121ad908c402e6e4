"""16 CPU-bound processes, far more than the cores: oversubscribed."""
import multiprocessing
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
PROCS = int(sys.argv[2]) if len(sys.argv) > 2 else 16


def spin(end):
    x = 0
    while time.perf_counter() < end:
        for _ in range(1000):
            x += 1


if __name__ == "__main__":
    end = time.perf_counter() + SECONDS
    procs = [multiprocessing.Process(target=spin, args=(end,)) for _ in range(PROCS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
