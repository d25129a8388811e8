#!/usr/bin/python3
# bench/gevent/echo.py — the gevent peer of the echo benchmark: a
# StreamServer whose handler (one greenlet per connection) copies what it
# reads back. Needs Debian's python3-gevent (run with /usr/bin/python3).
# Usage: echo.py --port N
import argparse
import sys

from gevent.server import StreamServer


def serve(sock, _addr):
    """Echoes one connection until it closes."""
    while True:
        data = sock.recv(16384)
        if not data:
            break
        sock.sendall(data)
    sock.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    server = StreamServer(("127.0.0.1", a.port), serve, backlog=4096)
    server.init_socket()
    print(f"gevent_echo listening on 127.0.0.1:{a.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
