"""The same CPU-bound work in a multiprocessing.Pool sized to the cores: parallel, one worker per core."""
import multiprocessing
import os
import sys
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5


def spin(end):
    x = 0
    while time.perf_counter() < end:
        for _ in range(1000):
            x += 1
    return x


if __name__ == "__main__":
    n = os.cpu_count() or 1
    end = time.perf_counter() + SECONDS
    with multiprocessing.Pool(n) as pool:
        pool.map(spin, [end] * n)
