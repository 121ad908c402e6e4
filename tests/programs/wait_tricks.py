"""Waiting that is not I/O the program does (issue 14: no advice may grow a pool past the cores from it).
`lock`: 4 threads taking turns on a lock, each computing a little while holding it; `child`: a loop that
computes a little, then waits for a child process; `sleep`: a loop that computes a little, then sleeps."""
import subprocess
import sys
import threading
import time

MODE = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 1.2


def spin(seconds):
    end = time.perf_counter() + seconds
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def lock_worker(lock, end):
    while time.perf_counter() < end:
        with lock:
            spin(0.004)
        time.sleep(0)


if __name__ == "__main__":
    end = time.perf_counter() + SECONDS
    if MODE == "lock":
        lock = threading.Lock()
        threads = [threading.Thread(target=lock_worker, args=(lock, end)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elif MODE == "child":
        while time.perf_counter() < end:
            spin(0.005)
            subprocess.run(["sleep", "0.03"], check=True)
    elif MODE == "sleep":
        while time.perf_counter() < end:
            spin(0.005)
            time.sleep(0.02)
    else:
        sys.exit(f"unknown mode {MODE}")
