#!/usr/bin/env python3
"""bench/dns_latency.py — DNS lookups against a server with real latency,
and against c-ares' own event loop (docs/performance.md, "DNS against a
server with latency").

Two parts, each for --rounds rounds, pinned with taskset to --cpu:
  latency: bench/dns_delay.py answering every query after --delay-ms;
    dns_bench --mode fibers resolves --names distinct names from as many
    fibers, and --mode sequential (glibc, one after another) resolves
    --seq-names of them; the sequential time for --names is extrapolated
    (seq seconds × names / seq-names) and said so.
  limit: a plain dnsmasq; dns_bench --mode fibers against --mode ares
    (c-ares' own loop, --window 192: as many in flight as weft's resolver
    keeps), the ratio per round.
Prints one JSON line per run, then medians, the median of per-round ratios,
and the targets (fibers ≤ 0.2 s at 1,000 names and 20 ms; ≤ 1.2× c-ares).
With --smoke: tiny counts, one round, checks 0 errors only (CI; timings
mean nothing). Exits non-zero on any failed run.
Usage: dns_latency.py --build BUILD_DIR [--rounds 5] [--names 1000]
       [--seq-names 50] [--delay-ms 20] [--cpu 1] [--smoke]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def answers(port):
    """True when a DNS server answers a query on 127.0.0.1:port within 0.5 s."""
    q = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, ord("n"), 5]) + b"bench" + bytes([4]) + b"test" + \
        bytes([0, 0, 1, 0, 1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    try:
        s.sendto(q, ("127.0.0.1", port))
        return s.recv(512)[:2] == b"\x12\x34"
    except OSError:
        return False
    finally:
        s.close()


def start_delay(delay_ms):
    p = subprocess.Popen([sys.executable, os.path.join(here, "dns_delay.py"), "--port", "0", "--delay-ms",
                          str(delay_ms)], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().split()
    if len(line) != 2 or line[0] != "port":
        p.kill()
        raise SystemExit("dns_latency: dns_delay.py did not start")
    return p, int(line[1])


def start_dnsmasq():
    for _ in range(5):
        port = free_udp_port()
        p = subprocess.Popen(["/usr/sbin/dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                              "--user=root", "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1",
                              f"--port={port}", "--address=/bench.test/10.9.0.1", "--local=/test/",
                              "--log-facility=/dev/null"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if p.poll() is not None:
                break
            if answers(port):
                return p, port
            time.sleep(0.02)
        if p.poll() is None:
            p.kill()
            p.wait()
    raise SystemExit("dns_latency: dnsmasq did not start")


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run(pin, bench, port, mode, names, extra=()):
    argv = pin + [bench, "--port", str(port), "--names", str(names), "--mode", mode] + list(extra)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    try:
        j = json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        j = {"mode": mode, "names": names, "failed": 1, "stderr": r.stderr[-500:]}
    if r.returncode != 0:
        j["failed"] = 1
    print(json.dumps(j), flush=True)
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--names", type=int, default=1000)
    ap.add_argument("--seq-names", type=int, default=50)
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--cpu", default="1")
    ap.add_argument("--smoke", action="store_true")
    a = ap.parse_args()
    if a.smoke:
        a.rounds, a.names, a.seq_names = 1, 30, 3
    bench = os.path.join(a.build, "bench", "dns_bench")
    pin = ["taskset", "-c", a.cpu] if shutil.which("taskset") and not a.smoke else []
    failed = 0
    fib, seq, ratios, lim_f, lim_a = [], [], [], [], []

    srv, port = start_delay(a.delay_ms)
    try:
        for r in range(a.rounds):
            f = run(pin, bench, port, "fibers", a.names)
            s = run(pin, bench, port, "sequential", a.seq_names)
            failed += bool(f.get("failed") or f.get("errors")) + bool(s.get("failed") or s.get("errors"))
            if "seconds" in f and "seconds" in s:
                fib.append(f["seconds"])
                seq.append(s["seconds"] * a.names / a.seq_names)
    finally:
        stop(srv)

    dm, port = start_dnsmasq()
    try:
        for r in range(a.rounds):
            f = run(pin, bench, port, "fibers", a.names)
            c = run(pin, bench, port, "ares", a.names, ["--window", "192"])
            failed += bool(f.get("failed") or f.get("errors")) + bool(c.get("failed") or c.get("errors"))
            if "seconds" in f and "seconds" in c:
                lim_f.append(f["seconds"])
                lim_a.append(c["seconds"])
                ratios.append(f["seconds"] / c["seconds"])
    finally:
        stop(dm)

    med = lambda v: statistics.median(v) if v else float("nan")
    print(f"latency {a.delay_ms:g} ms, {a.names} names: fibers median {med(fib):.3f} s "
          f"(rounds {', '.join(f'{x:.3f}' for x in fib)}); sequential glibc about {med(seq):.1f} s "
          f"(extrapolated from {a.seq_names} names); target fibers <= 0.2 s")
    print(f"limit (plain dnsmasq), {a.names} names: fibers median {med(lim_f) * 1000:.1f} ms, c-ares alone "
          f"{med(lim_a) * 1000:.1f} ms; median of per-round ratios {med(ratios):.2f}x "
          f"(rounds {', '.join(f'{x:.2f}' for x in ratios)}); target <= 1.2x")
    if failed:
        print(f"dns_latency: {failed} runs failed or had errors", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
