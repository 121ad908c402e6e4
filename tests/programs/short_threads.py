"""500 short threads, each computing a little then exiting: most never live through a sampling tick.
Issue 14: their CPU vanished ("0.095 CPU s, idle") while perf counted 1.5 s."""
import sys
import threading

THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def work():
    x = 0
    for i in range(20000):
        x += i * i
    return x


if __name__ == "__main__":
    for _ in range(THREADS):
        t = threading.Thread(target=work)  # noqa: CA501 (short CPU-bound threads on purpose)
        t.start()
        t.join()
