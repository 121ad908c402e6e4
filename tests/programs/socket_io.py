"""Threads waiting on a local socket server (127.0.0.1 only): the server answers each request after 20 ms, so
the client threads spend their time blocked in recv — I/O-bound. Bounded by time and by request count."""
import socket
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 6
DELAY = 0.02


def serve_one(conn):
    with conn:
        while True:
            data = conn.recv(64)
            if not data:
                return
            time.sleep(DELAY)
            conn.sendall(b"pong\n")


def server(sock):
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def client(port, end):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for _ in range(10_000):
            if time.perf_counter() >= end:
                return
            s.sendall(b"ping\n")
            if not s.recv(64):
                return


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
port = listener.getsockname()[1]
threading.Thread(target=server, args=(listener,), daemon=True).start()
end = time.perf_counter() + SECONDS
clients = [threading.Thread(target=client, args=(port, end)) for _ in range(CLIENTS)]
for t in clients:
    t.start()
for t in clients:
    t.join()
listener.close()
