#!/usr/bin/python3
# bench/gevent/dns.py — the gevent peer of the DNS benchmark: N greenlets,
# each resolving a distinct "n<i>.bench.test" (AF_INET) with gevent's ares
# resolver against a DNS server on 127.0.0.1:--port; every answer must be
# 10.9.0.1. Prints one JSON line like bench/dns_bench:
#   {"mode":"gevent_ares","names":..,"seconds":..,"per_s":..,"errors":..}
# Needs Debian's python3-gevent (run with /usr/bin/python3).
# Usage: dns.py --port N [--names 1000]
import argparse
import json
import socket
import sys
import time

import gevent
from gevent.resolver.ares import Resolver


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--names", type=int, default=1000)
    a = p.parse_args()
    r = Resolver(servers=["127.0.0.1"], udp_port=a.port, tcp_port=a.port, timeout=2, tries=2)

    def one(i):
        try:
            res = r.getaddrinfo(f"n{i}.bench.test", None, socket.AF_INET, socket.SOCK_STREAM)
            return len(res) == 1 and res[0][4][0] == "10.9.0.1"
        except Exception:  # counted as an error, like a failed getaddrinfo
            return False

    t0 = time.monotonic()
    jobs = [gevent.spawn(one, i) for i in range(a.names)]
    gevent.joinall(jobs)
    s = time.monotonic() - t0
    errors = sum(1 for j in jobs if not j.value)
    print(json.dumps({"mode": "gevent_ares", "names": a.names, "seconds": round(s, 6),
                      "per_s": round(a.names / s, 1), "errors": errors}))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
