#!/usr/bin/python3
"""bench/io_report.py — turns bench/run_all.sh's results.jsonl into
bench/report.md and PNG plots (gnuplot).

Each figure is the median over rounds with (min–max); each ratio is the
median of the per-round ratios (servers ran back to back within a round).
Usage: io_report.py RESULTS.jsonl --out report.md --plots DIR [--meta k=v]...
"""
import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys

LIMIT = {"echo": "limit", "http": "http_limit"}
NAMES = {
    "limit": "epoll limit", "weft_api": "weft API", "weft_hooked": "weft hooked",
    "weft_sample": "weft sample", "go": "Go", "gevent": "gevent",
    "http_limit": "epoll limit", "http_weft": "weft sample", "http_go": "Go net/http",
}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def summary(vals, fmt="{:,.0f}"):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(vals))}–{fmt.format(max(vals))})"


def ratio_summary(rs):
    rs = [r for r in rs if r is not None]
    if not rs:
        return "–", None
    med = statistics.median(rs)
    if len(rs) == 1:
        return f"{med:.2f}×", med
    return f"{med:.2f}× ({min(rs):.2f}–{max(rs):.2f})", med


class Results:
    """Echo/HTTP results indexed by (bench, size, conns) -> server -> round -> row."""

    def __init__(self, rows):
        self.idx = collections.defaultdict(lambda: collections.defaultdict(dict))
        self.rows = rows
        for r in rows:
            if r.get("bench") in ("echo", "http"):
                key = (r["bench"], int(r.get("size", 0) or 0), int(r.get("conns", 0)))
                self.idx[key][r["server"]][r["round"]] = r

    def servers(self, key):
        return list(self.idx[key].keys())

    def values(self, key, server, field):
        """field of every round; None for a failed run (no server, or not one request answered)."""
        return [None if r.get("failed") or not num(r.get("rt_per_s")) else num(r.get(field))
                for r in self.idx[key].get(server, {}).values()]

    def failed_runs(self, key, server):
        return sum(1 for r in self.idx[key].get(server, {}).values() if r.get("failed") or not num(r.get("rt_per_s")))

    def ratios(self, key, num_s, den_s, field="rt_per_s"):
        out = []
        a, b = self.idx[key].get(num_s, {}), self.idx[key].get(den_s, {})
        for rnd, ra in a.items():
            rb = b.get(rnd)
            x, y = num(ra.get(field)), num(rb.get(field)) if rb else None
            if x and y:  # a failed run (0 answered) has no ratio
                out.append(x / y)
        return out


def lat_cell(p50, p99):
    """'p50 / p99' of the medians over rounds (µs), or '–'."""
    p50 = [v for v in p50 if v is not None]
    p99 = [v for v in p99 if v is not None]
    return f"{statistics.median(p50):,.0f} / {statistics.median(p99):,.0f}" if p50 and p99 else "–"


def us(v):
    """wrk latency '123.45us' / '1.2ms' -> µs."""
    if v is None:
        return None
    v = str(v)
    for suf, mul in (("us", 1), ("ms", 1e3), ("s", 1e6)):
        if v.endswith(suf):
            x = num(v[: -len(suf)])
            return None if x is None else x * mul
    return num(v)


def echo_section(res, out, plots):
    keys = sorted(k for k in res.idx if k[0] == "echo")
    if not keys:
        return []
    verdicts = []
    out.append("## Echo (ping-pong, bench/loadgen)\n")
    for size in sorted({k[1] for k in keys}):
        out.append(f"### {size} B messages\n")
        skeys = [k for k in keys if k[1] == size]
        servers = []
        for k in skeys:
            servers += [s for s in res.servers(k) if s not in servers]
        out.append("Round trips per second, median (min–max):\n")
        out.append("| connections | " + " | ".join(NAMES.get(s, s) for s in servers) + " |")
        out.append("|---|" + "---|" * len(servers))
        for k in skeys:
            out.append(f"| {k[2]:,} | " + " | ".join(summary(res.values(k, s, "rt_per_s")) for s in servers) + " |")
        out.append("")
        failed = [f"{NAMES.get(s, s)} at {k[2]:,} connections ({res.failed_runs(k, s)})"
                  for k in skeys for s in servers if res.failed_runs(k, s)]
        if failed:
            out.append("Runs that completed no round trip (every connection failed) are left out of the "
                       "figures and ratios: " + ", ".join(failed) + ".\n")
        others = [s for s in servers if s != "limit"]
        out.append("Ratio to the epoll limit, median of per-round ratios (min–max):\n")
        out.append("| connections | " + " | ".join(NAMES.get(s, s) for s in others) + " | weft API / Go |")
        out.append("|---|" + "---|" * (len(others) + 1))
        for k in skeys:
            cells = [ratio_summary(res.ratios(k, s, "limit"))[0] for s in others]
            wg, wgm = ratio_summary(res.ratios(k, "weft_api", "go"))
            out.append(f"| {k[2]:,} | " + " | ".join(cells) + f" | {wg} |")
            if size == 64 and k[2] in (100, 1000):
                _, lim = ratio_summary(res.ratios(k, "weft_api", "limit"))
                verdicts.append((f"echo 64 B, {k[2]:,} conns: weft API ≥ 0.95× limit (throughput)", lim, 0.95))
                verdicts.append((f"echo 64 B, {k[2]:,} conns: weft API ≥ 1.25× Go (throughput)", wgm, 1.25))
        out.append("")
        lat_keys = [k for k in skeys if k[2] >= 1000]
        if lat_keys:
            out.append("Latency at 1,000+ connections, p50 / p99 in µs (median over rounds), and errors (sum):\n")
            out.append("| connections | " + " | ".join(NAMES.get(s, s) for s in servers) + " |")
            out.append("|---|" + "---|" * len(servers))
            for k in lat_keys:
                cells = []
                for s in servers:
                    err = sum(int(v or 0) for v in res.values(k, s, "errors"))
                    fails = res.failed_runs(k, s)
                    c = lat_cell(res.values(k, s, "p50_us"), res.values(k, s, "p99_us"))
                    c += f", {err} err" + (f", {fails} failed runs" if fails else "")
                    cells.append(c)
                out.append(f"| {k[2]:,} | " + " | ".join(cells) + " |")
            out.append("")
        k10 = ("echo", size, 10000)
        if k10 in res.idx and size == 64:
            errs = sum(int(v or 0) for v in res.values(k10, "weft_api", "errors"))
            p99w = [v for v in res.values(k10, "weft_api", "p99_us") if v is not None]
            p99g = [v for v in res.values(k10, "go", "p99_us") if v is not None]
            verdicts.append(("echo 64 B, 10,000 conns: weft API errors = 0", float(errs), 0.0, "<="))
            if p99w and p99g:
                verdicts.append(("echo 64 B, 10,000 conns: weft API p99 / Go's p99 ≤ 1",
                                 statistics.median(p99w) / statistics.median(p99g), 1.0, "<="))
        png = plot_echo(res, skeys, servers, size, plots)
        if png:
            out.append(f"![echo {size} B]({png})\n")
    return verdicts


def plot_echo(res, skeys, servers, size, plots):
    if not shutil.which("gnuplot") or not plots:
        return None
    os.makedirs(plots, exist_ok=True)
    dat = os.path.join(plots, f"echo_{size}.dat")
    with open(dat, "w") as f:
        f.write("conns " + " ".join(servers) + "\n")
        for k in skeys:
            vals = []
            for s in servers:
                v = [x for x in res.values(k, s, "rt_per_s") if x is not None]
                vals.append(f"{statistics.median(v):.0f}" if v else "NaN")
            f.write(f"{k[2]} " + " ".join(vals) + "\n")
    png = os.path.join(plots, f"echo_{size}.png")
    lines = ", ".join(f"'{dat}' using 1:{i + 2} with linespoints title '{NAMES.get(s, s)}'"
                      for i, s in enumerate(servers))
    script = (f"set terminal pngcairo size 800,500; set output '{png}'; set logscale x; "
              f"set key outside; set xlabel 'connections'; set ylabel 'round trips / s (median)'; "
              f"set title 'echo, {size} B messages'; set grid; set yrange [0:*]; plot {lines}")
    subprocess.run(["gnuplot", "-e", script], check=False)
    return os.path.relpath(png, os.path.dirname(os.path.abspath(plots)) if plots else ".")


def http_section(res, out):
    keys = sorted(k for k in res.idx if k[0] == "http")
    if not keys:
        return []
    verdicts = []
    out.append("## HTTP (wrk -t1, keep-alive, 13-byte body)\n")
    servers = []
    for k in keys:
        servers += [s for s in res.servers(k) if s not in servers]
    if "http_weft" not in servers:
        out.append("weft's `samples/http_server` was not built in this run (not merged yet), "
                   "so the HTTP target is not measured.\n")
    out.append("| connections | " + " | ".join(f"{NAMES.get(s, s)} req/s" for s in servers)
               + " | " + " | ".join(f"{NAMES.get(s, s)} / limit" for s in servers if s != "http_limit")
               + " | weft / Go |")
    out.append("|---|" + "---|" * (2 * len(servers)))
    for k in keys:
        cells = [summary(res.values(k, s, "rt_per_s")) for s in servers]
        cells += [ratio_summary(res.ratios(k, s, "http_limit"))[0] for s in servers if s != "http_limit"]
        wg, wgm = ratio_summary(res.ratios(k, "http_weft", "http_go"))
        out.append(f"| {k[2]:,} | " + " | ".join(cells) + f" | {wg} |")
        if "http_weft" in servers:
            verdicts.append((f"HTTP {k[2]:,} conns: weft ≥ 1.5× Go net/http", wgm, 1.5))
    out.append("")
    out.append("wrk latency p50 / p99 (µs, median over rounds):\n")
    out.append("| connections | " + " | ".join(NAMES.get(s, s) for s in servers) + " |")
    out.append("|---|" + "---|" * len(servers))
    for k in keys:
        cells = []
        for s in servers:
            rows = res.idx[k].get(s, {}).values()
            cells.append(lat_cell([us(r.get("p50")) for r in rows], [us(r.get("p99")) for r in rows]))
        out.append(f"| {k[2]:,} | " + " | ".join(cells) + " |")
    out.append("")
    return verdicts


def dns_section(rows, out):
    d = [r for r in rows if r.get("bench") == "dns"]
    if not d:
        return []
    by = collections.defaultdict(dict)
    for r in d:
        by[r["way"]][r["round"]] = r
    names = next((r.get("names") for r in d if r.get("names")), "?")
    out.append(f"## DNS ({names} distinct names, local dnsmasq)\n")
    out.append("| way | seconds, median (min–max) | names/s | errors (sum) |")
    out.append("|---|---|---|---|")
    label = {"fibers": "weft: hooked getaddrinfo from one fiber per name",
             "sequential": "glibc getaddrinfo, one after another",
             "gevent": "gevent ares resolver, one greenlet per name"}
    for way in ("fibers", "sequential", "gevent"):
        rs = list(by.get(way, {}).values())
        if not rs:
            continue
        out.append(f"| {label[way]} | {summary([num(r.get('seconds')) for r in rs], '{:.4f}')} | "
                   f"{summary([num(r.get('per_s')) for r in rs])} | "
                   f"{sum(int(r.get('errors') or 0) for r in rs)} |")
    sp = []
    for rnd, rf in by.get("fibers", {}).items():
        rq = by.get("sequential", {}).get(rnd)
        if rq and num(rf.get("seconds")):
            sp.append(num(rq["seconds"]) / num(rf["seconds"]))
    txt, med = ratio_summary(sp)
    out.append(f"\nSpeed-up of weft fibers over sequential glibc (per-round): {txt}\n")
    return [("DNS: weft fibers ≥ 50× sequential glibc", med, 50.0)]


def instr_section(rows, out):
    d = [r for r in rows if r.get("bench") == "instr"]
    if not d:
        return []
    per = {}
    for r in d:
        n1, n2, v1, v2 = (num(r.get(x)) for x in ("n1", "n2", "v1", "v2"))
        per[(r["tool"], r["server"])] = (v2 - v1) / (n2 - n1) if v1 and v2 and n2 != n1 else None
    out.append("## Cost per echo round trip (64 B, 100 connections)\n")
    out.append("(X(N2) − X(N1)) / (N2 − N1) over two runs of a fixed number of round trips, so "
               "start-up costs cancel. callgrind counts user-space instructions only "
               "(`perf stat` has no PMU here); strace -c counts every syscall.\n")
    out.append("| server | user instructions / RT | syscalls / RT |")
    out.append("|---|---|---|")
    for s in ("limit", "weft_api", "weft_hooked"):
        ci, sc = per.get(("callgrind", s)), per.get(("strace", s))
        if ci is None and sc is None:
            continue
        out.append(f"| {NAMES.get(s, s)} | {ci:,.0f} |" if ci is not None else f"| {NAMES.get(s, s)} | – |")
        out[-1] += f" {sc:.2f} |" if sc is not None else " – |"
    out.append("")
    a, b = per.get(("strace", "weft_api")), per.get(("strace", "limit"))
    out_v = [("echo 64 B, 100 conns: weft API syscalls per RT / the limit's ≤ 1.05", a / b if a and b else None, 1.05, "<=")]
    h = per.get(("strace", "weft_hooked"))
    out_v.append(("echo 64 B, 100 conns: weft hooked syscalls per RT / the limit's ≤ 1.05", h / b if h and b else None, 1.05, "<="))
    return out_v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--out", required=True)
    ap.add_argument("--plots", default="")
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()
    rows = load(a.results)
    res = Results(rows)
    out = ["# weft I/O benchmark report", "",
           "Generated by `bench/run_all.sh` (bench/io_report.py). Server pinned to CPU 0, load to CPU 1; "
           "servers run back to back within each round. Figures: median over rounds (min–max); "
           "ratios: median of per-round ratios.", ""]
    for m in a.meta:
        k, _, v = m.partition("=")
        out.append(f"- **{k}**: {v}")
    out.append("")
    verdicts = []
    body = []
    verdicts += echo_section(res, body, a.plots)
    verdicts += http_section(res, body)
    verdicts += dns_section(rows, body)
    verdicts += instr_section(rows, body)
    if verdicts:
        out.append("## Targets\n")
        out.append("| target | measured | status |")
        out.append("|---|---|---|")
        for v in verdicts:
            name, val, goal = v[:3]
            ok = val is not None and (val <= goal if len(v) > 3 and v[3] == "<=" else val >= goal)
            st = "not measured" if val is None else ("met" if ok else "**missed**")
            out.append(f"| {name} | {'–' if val is None else f'{val:.2f}'} | {st} |")
        out.append("")
    out += body
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")
    print(f"io_report: wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
