#!/usr/bin/env python3
"""bench/micro_report.py — turns the per-round JSON results of run_micro.sh
into bench/micro_report.md: per-operation medians (min-max) for weft,
Boost.Fiber and Go, medians of per-round ratios, and the issue's targets.

Reads <results>/{weft,boost,go}.<round>.json (Google Benchmark JSON, or the
same shape from go/micro.go). A missing or broken file drops that peer from
that round only. Run by run_micro.sh; callable by hand on a results dir.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

PEERS = [("weft", "weft"), ("boost", "Boost.Fiber"), ("go", "Go")]

# (key, label, unit, counter); a time counter named "ns_per_op" is replaced
# by the clock being tabulated ("cpu_ns_per_op" or "ns_per_op").
OPS = [
    ("raw_switch", "raw Boost.Context switch (`boost::context::fiber` ping-pong)", "ns/switch", "ns_per_op"),
    ("yield", "yield, two fibers ping-ponging", "ns/switch", "ns_per_op"),
    ("spawn_join", "spawn + join, one at a time", "ns/fiber", "ns_per_op"),
    ("spawn10k_join", "spawn 10k, then join all", "ns/fiber", "ns_per_op"),
    ("channel_round_trip", "rendezvous channel round trip", "ns/round trip", "ns_per_op"),
    ("mutex_handoff", "mutex hand-off (contended critical section)", "ns/critical section", "ns_per_op"),
    ("idle_fibers", "idle fibers, RSS per fiber", "bytes/fiber", "bytes_per_fiber"),
]
CLOCKS = [("cpu_ns_per_op", "process CPU time"), ("ns_per_op", "wall clock")]

# (label, numerator op, denominator: ("op", key) same-peer op / ("peer", peer) / None, limit)
TARGETS = [
    ("yield <= 2.0x raw Boost.Context switch", "yield", ("op", "raw_switch"), 2.0),
    ("spawn+join <= 0.35x Go", "spawn_join", ("peer", "go"), 0.35),
    ("spawn 10k then join <= 0.35x Go", "spawn10k_join", ("peer", "go"), 0.35),
    ("channel round trip <= 0.3x Go", "channel_round_trip", ("peer", "go"), 0.3),
    ("1M idle fibers <= 4.5 KiB RSS each", "idle_fibers", None, 4.5 * 1024),
]


def load(path):
    """Returns {op: {counter: value}} from one result file, or {} if unusable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    res = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration" or b.get("error_occurred"):
            continue
        name = b["name"].split("/")[0]
        if name.startswith("BM_"):
            name = name[3:]
        res[name] = b
    return res


def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "bytes/fiber":
        return f"{v:,.0f}"
    return f"{v:,.1f}" if v < 1000 else f"{v:,.0f}"


def summary(vals, unit):
    if not vals:
        return "–"
    med = statistics.median(vals)
    if len(vals) == 1:
        return fmt(med, unit)
    return f"{fmt(med, unit)} ({fmt(min(vals), unit)}–{fmt(max(vals), unit)})"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--meta", action="append", default=[], help="key=value lines for the header")
    a = ap.parse_args()

    rounds = [{p: load(Path(a.results) / f"{p}.{r}.json") for p, _ in PEERS} for r in range(1, a.rounds + 1)]

    def val(rnd, peer, op, counter):
        b = rnd[peer].get(op)
        v = b.get(counter) if b else None
        return float(v) if v is not None else None

    def series(peer, op, counter):
        return [v for rnd in rounds if (v := val(rnd, peer, op, counter)) is not None]

    def ratios(op, counter, num_peer, den):
        out = []
        for rnd in rounds:
            n = val(rnd, num_peer, op, counter)
            if den[0] == "peer":
                d = val(rnd, den[1], op, counter)
            else:
                d = val(rnd, num_peer, den[1], counter)
            if n is not None and d:
                out.append(n / d)
        return out

    L = ["# weft micro benchmarks", ""]
    for m in a.meta:
        k, _, v = m.partition("=")
        L.append(f"- **{k}**: {v}")
    L.append(f"- **rounds**: {a.rounds} (each round runs weft, Boost.Fiber, Go back to back)")
    L.append(f"- **raw results**: `{a.results}`")
    if a.rounds < 3:
        L.append("- **note**: fewer than 3 rounds; figures are indicative only")
    def counter_for(op, clock):
        c = next(c for k, _, _, c in OPS if k == op)
        return clock if c == "ns_per_op" else c

    L += ["", "Medians over rounds, (min–max) across rounds; ratios are the median of per-round ratios.",
          "Times are per operation. The primary table uses process CPU time (this machine is shared",
          "and noisy; CPU time leaves out time other processes held the core); wall clock follows."]
    for clock, title in CLOCKS:
        L += ["", f"### {title}", "",
              "| operation | unit | weft | Boost.Fiber | Go | weft/Go | weft/Boost.Fiber |",
              "|---|---|---|---|---|---|---|"]
        for op, label, unit, _ in OPS:
            counter = counter_for(op, clock)
            if clock != CLOCKS[0][0] and counter != clock:
                continue  # memory rows only once
            cells = [summary(series(p, op, counter), unit) for p, _ in PEERS]
            rg = ratios(op, counter, "weft", ("peer", "go"))
            rb = ratios(op, counter, "weft", ("peer", "boost"))
            rs = [f"{statistics.median(x):.2f}" if x else "–" for x in (rg, rb)]
            L.append(f"| {label} | {unit} | " + " | ".join(cells) + " | " + " | ".join(rs) + " |")

    L += ["", "## Targets", "",
          "Judged on process CPU time; the wall-clock figure is shown for comparison.", "",
          "| target | measured (median, min–max over rounds) | wall clock | status |", "|---|---|---|---|"]
    for label, op, den, limit in TARGETS:
        res = []
        for clock, _ in CLOCKS:
            counter = counter_for(op, clock)
            if den is None:
                xs = series("weft", op, counter)
                shown = lambda v: f"{v / 1024:.2f} KiB"
            else:
                xs = ratios(op, counter, "weft", den)
                shown = lambda v: f"{v:.2f}x"
            if not xs:
                res.append((None, "no data"))
                continue
            med = statistics.median(xs)
            rng = f" ({shown(min(xs))}–{shown(max(xs))})" if len(xs) > 1 else ""
            res.append((med, f"{shown(med)}{rng}"))
        med = res[0][0]
        status = "missed (no data)" if med is None else ("**met**" if med <= limit else "**missed**")
        wall = res[1][1] if den is not None else "–"
        L.append(f"| {label} | {res[0][1]} | {wall} | {status} |")

    L += ["", "Definitions: see the \"Micro benchmarks\" section of docs/performance.md and the",
          "comments in bench/weft_micro.cpp, bench/boost_fiber_micro.cpp, bench/go/micro.go.", ""]
    Path(a.out).write_text("\n".join(L))
    print("\n".join(L))
    return 0


if __name__ == "__main__":
    sys.exit(main())
