"""Threads and pool workers whose work the profile names (issue 14): `threading`, ThreadPoolExecutor,
multiprocessing.Pool and ProcessPoolExecutor, each running a function defined here."""
import concurrent.futures
import multiprocessing
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 0.6


def crunch_in_thread(end):
    x = 0
    while time.perf_counter() < end:
        x += 1
    return x


def crunch_in_pool_thread(end):
    return crunch_in_thread(end)


def crunch_in_pool_process(end):
    return crunch_in_thread(end)


def crunch_in_executor_process(end):
    return crunch_in_thread(end)


if __name__ == "__main__":
    end = time.perf_counter() + SECONDS
    # CPU-bound threads on purpose (CA501): the profile must name them, not fix them.
    threads = [threading.Thread(target=crunch_in_thread, args=(end,), name=f"cruncher-{i}") for i in range(2)]  # noqa: CA501
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.perf_counter() + SECONDS
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        list(ex.map(crunch_in_pool_thread, [end] * 2))  # noqa: CA501
    end = time.perf_counter() + SECONDS
    with multiprocessing.Pool(2) as pool:
        pool.map(crunch_in_pool_process, [end] * 2)
    end = time.perf_counter() + SECONDS
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pex:
        list(pex.map(crunch_in_executor_process, [end] * 2))
    for method in ("spawn", "forkserver"):
        end = time.perf_counter() + SECONDS / 2
        with multiprocessing.get_context(method).Pool(1) as pool:  # noqa: CA506 (one pool per start method)
            pool.map(crunch_in_pool_process, [end])
