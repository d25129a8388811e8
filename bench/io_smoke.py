#!/usr/bin/env python3
"""bench/io_smoke.py — the CI smoke run of the I/O benchmarks (meson suite
'bench'), so they cannot rot. Timings from it mean nothing.

Runs each C++ part once at a tiny size: every echo server (the epoll limit,
echo_weft_api in api and hooked modes, samples/echo_server when built) under
bench/loadgen, which must report > 0 round trips, 0 errors and 0 mismatched
bytes; http_limit answers two pipelined requests; dns_bench resolves a few
names from a dnsmasq started here, in fibers and sequentially, with 0 errors;
io_report.py turns the results into a report. Every child is bounded by a
timeout and stopped at the end.
Usage: io_smoke.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A server started on a free port; ready once the port accepts a connection."""

    def __init__(self, argv):
        self.port = free_port()
        self.p = subprocess.Popen(argv + ["--port", str(self.port)], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        for _ in range(200):
            if self.p.poll() is not None:
                raise AssertionError(f"{argv[0]} exited with {self.p.returncode} before listening")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"{argv[0]} does not listen on {self.port}")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def run_json(argv, timeout=60):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    check(r.stdout.strip(), f"{argv[0]} printed nothing (rc {r.returncode}): {r.stderr}")
    return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])


def echo(b, name, argv, size, results):
    srv = Server(argv)
    try:
        _, j = run_json([f"{b}/bench/loadgen", "--port", str(srv.port), "--conns", "20", "--size", str(size),
                         "--seconds", "0.3", "--warmup", "0.05"])
    finally:
        srv.stop()
    print(f"echo {name} {size} B: {j}")
    check(j["round_trips"] > 0, f"{name}: no round trips")
    check(j["errors"] == 0 and j["mismatches"] == 0, f"{name}: errors {j}")
    results.append(dict(j, round="1", bench="echo", server=name))


def http(b):
    srv = Server([f"{b}/bench/http_limit"])
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as c:
            c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while data.count(b"Hello, World!") < 2:
                chunk = c.recv(4096)
                check(chunk, f"http_limit closed early: {data!r}")
                data += chunk
        check(data.count(b"HTTP/1.1 200 OK") == 2, f"http_limit: {data!r}")
        print("http_limit: 2 pipelined requests answered")
    finally:
        srv.stop()


def start_dnsmasq():
    """dnsmasq on a free loopback port: (process, port). It binds UDP and TCP;
    another process may take either side first, and then dnsmasq exits: retry
    on a new port."""
    err = ""
    for _ in range(5):
        port = free_port(socket.SOCK_DGRAM)
        d = subprocess.Popen(["/usr/sbin/dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                              "--conf-file=/dev/null", "--user=root", "--pid-file=", "--bind-interfaces",
                              "--listen-address=127.0.0.1", f"--port={port}", "--address=/bench.test/10.9.0.1",
                              "--local=/test/"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.3)
        if d.poll() is None:
            return d, port
        err = d.stderr.read().decode(errors="replace").strip()
    check(False, f"dnsmasq did not start: {err}")


def dns(b, results):
    d, port = start_dnsmasq()
    try:
        for mode in ("fibers", "sequential"):
            rc, j = run_json([f"{b}/bench/dns_bench", "--port", str(port), "--names", "50", "--mode", mode])
            print(f"dns {mode}: {j}")
            check(rc == 0 and j["errors"] == 0, f"dns_bench {mode}: {j}")
            results.append(dict(j, round="1", bench="dns", way=mode))
    finally:
        d.terminate()
        d.wait()


def main():
    b, src = sys.argv[1], sys.argv[2]
    results = []
    servers = [("limit", [f"{b}/bench/echo_limit"]),
               ("weft_api", [f"{b}/bench/echo_weft_api", "--workers", "1"]),
               ("weft_hooked", [f"{b}/bench/echo_weft_api", "--workers", "1", "--mode", "hooked"])]
    if os.access(f"{b}/samples/echo_server", os.X_OK):
        servers.append(("weft_sample", [f"{b}/samples/echo_server", "--workers", "1"]))
    for name, argv in servers:
        echo(b, name, argv, 64, results)
    echo(b, "weft_api", servers[1][1], 4096, results)
    http(b)
    dns(b, results)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "results.jsonl")
        with open(raw, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in results)
        rep = os.path.join(tmp, "report.md")
        subprocess.run([sys.executable, os.path.join(src, "bench", "io_report.py"), raw, "--out", rep],
                       check=True, timeout=60)
        check("weft API" in open(rep).read(), "io_report.py wrote no echo table")
    print("io_smoke: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
