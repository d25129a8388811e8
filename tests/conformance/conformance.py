#!/usr/bin/python3
"""tests/conformance/conformance.py — CPython's own stdlib tests as weft's
conformance suite. For each MODULE it runs Debian's python3 test runner

    /usr/bin/python3 -m test MODULE -v --timeout 120

once plainly and once under weft-run per thread mode (--threads=os,
--threads=fibers), back to back in the same job, and compares the outcome
of every test id with the plain run's. Stdlib only.

    conformance.py --weft-run PATH [--modes os,fibers] [--log-dir DIR]
                   [--known FILE --docs FILE] [--gdb-script FILE] [MODULE...]
    conformance.py --summary DIR      (the table of every module's figures)

Design note.
- The plain run is the reference: same machine, same job, same options, so
  a test that fails plainly must fail the same way under weft. A plain run
  that does not complete (crash, timeout) cannot be compared: the module
  fails, and the case belongs in EXCLUDE (with the reason) once understood.
- Per test id, not counts: regrtest_output.py reads the verbose output into
  one outcome per test, subtest and fixture. Two runs differ when an id's
  outcome differs or an id is missing from one of them ("not run"); skip
  reasons are shown but not compared. Counts (run/fail/error/skip) are
  printed per run and checked against unittest's own summary line, so a
  misread output fails loudly instead of hiding a difference.
- Every run gets the same environment: the harness's own without
  LD_PRELOAD, PYTHON* and WEFT_* (weft-run options go through --weft-arg),
  with PYTHONDONTWRITEBYTECODE=1 and a fresh TMPDIR, also its cwd.
- Nothing can hang the harness. Each run has its own process group, its
  output goes to a log file (never a pipe), and a hard limit: the plain
  run gets the regrtest timeout + 30 s; a weft run min(that, 5 x the plain
  time + 30 s, at least 60 s), so a hang costs little more than the module
  takes. At the limit a weft run's native stacks and fibers are saved
  (gdb + tools/weft-gdb.py, in <log>.gdb), then the runner gets SIGABRT
  (regrtest's faulthandler prints every thread's Python stack), 5 s later
  the group gets SIGKILL; the group is killed after every run, so strays
  die too. SIGTERM/SIGINT to the harness kill the current group.
- Plain flakiness: after the runs, the tests that differed (and ran in
  both) are run plainly once more (--matchfile). A test whose plain outcome
  changes is reported as flaky plain: not weft's difference, but still a
  failure until it is excluded.
- Accepted differences are lines of --known ("test-id-glob mode reason");
  each reason must appear in --docs (the table in docs/porting.md). The
  exit status is 1 for any difference not listed there, a run that could
  not be compared, or a misread output; 0 otherwise; 2 for bad usage.
"""
import argparse
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import regrtest_output as ro  # noqa: E402

# The conformance modules and the regrtest options each one needs.
MODULES = {
    "test_socket": [], "test_selectors": [], "test_select": [], "test_poll": [],
    "test_epoll": [], "test_time": [], "test_signal": [], "test_threading": [],
    "test_thread": [], "test_threading_local": [], "test_queue": [],
    "test_subprocess": [], "test_popen": [], "test_wait3": [], "test_wait4": [],
    "test_fcntl": [],
    # The whole module is skipped unless the 'network' resource is enabled,
    # though it only uses loopback and Unix sockets.
    "test_socketserver": ["-u", "network"],
    "test_httplib": [], "test_urllib2_localnet": [],
}

# Tests left out of every run (plain and weft) with CPython's -i/--ignore,
# because the plain run on this machine cannot run them. Each has its reason.
EXCLUDE = {
    "test_socket": [
        # /dev/vsock exists but no host answers: setUp's accept() waits
        # forever in the plain run (regrtest times out after 120 s).
        ("ThreadedVSOCKSocketStreamTest", "plain run hangs: a vsock device with no host"),
    ],
}

MODES = ("os", "fibers")
_current = None   # the running child (Popen), for the signal handlers


def regrtest_args(module, opts):
    """regrtest_args() is the runner's argument list for one module (after python)."""
    args = ["-m", "test", module, "-v", "--timeout", str(opts.timeout)] + MODULES.get(module, [])
    if opts.testdir:
        args += ["--testdir", opts.testdir]
    for pattern, _reason in EXCLUDE.get(module, []):
        args += ["-i", pattern]
    return args


def _kill_group(proc, sig=signal.SIGKILL):
    """_kill_group() signals the whole process group of a run (its leader's pid)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def native_stacks(pid, path, gdb_script):
    """native_stacks() writes gdb's backtrace of every thread of pid (and,
    with weft's gdb script, its fibers) to path; bounded to 60 s."""
    cmd = ["gdb", "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt 30"]
    if gdb_script:
        cmd += ["-x", gdb_script, "-ex", "weft fibers"]
    with open(path, "wb") as out:
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            out.write(f"gdb failed: {e}\n".encode())


def run_once(cmd, log_path, limit, module=None, gdb_script=None):
    """run_once() runs cmd in its own process group with its output in
    log_path, killed after `limit` seconds; returns (Run, seconds). A run
    that hangs gets, if gdb_script is given (weft runs) and gdb exists, its
    native stacks and fibers in log_path + ".gdb"; then SIGABRT (Python's
    stacks, if faulthandler can still run) and SIGKILL."""
    global _current
    tmp = tempfile.mkdtemp(prefix="weft-conformance-")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "WEFT_")) and k != "LD_PRELOAD"}
    env["TMPDIR"] = tmp
    env["PYTHONDONTWRITEBYTECODE"] = "1"   # no __pycache__ in the source or system tree
    start = time.monotonic()
    hung = None
    try:
        with open(log_path, "wb") as log:
            _current = proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                               stderr=subprocess.STDOUT, cwd=tmp, env=env,
                                               process_group=0)
            try:
                proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                hung = f"killed after {limit:.0f} s"
                if gdb_script is not None and shutil.which("gdb"):
                    native_stacks(proc.pid, log_path + ".gdb", gdb_script)
                    hung += f"; native stacks in {os.path.basename(log_path)}.gdb"
                try:
                    os.kill(proc.pid, signal.SIGABRT)   # faulthandler: every thread's stack
                    proc.wait(timeout=5)
                    hung += "; Python stacks in the log (SIGABRT)"
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    hung += "; SIGABRT did not end it (no Python stacks)"
            _kill_group(proc)
            proc.wait()
            _current = None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - start
    with open(log_path, encoding="utf-8", errors="replace") as f:
        run = ro.parse(f.read(), module)
    if hung:
        run.state, run.note = "hung", hung
    elif run.state == "crashed":
        rc = proc.returncode
        run.note = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
    return run, seconds


def is_settled(outcome):
    """is_settled() says whether an outcome is the test's own result (not
    one made by the run ending early)."""
    return outcome not in (ro.NOT_RUN, ro.NOT_FINISHED, None)


def compare(module, plain, weft):
    """compare() lists (id, plain outcome, weft outcome) for every id whose
    outcome differs, plus "<module> (run)" when the runs ended differently."""
    a, b = plain.outcomes(), weft.outcomes()
    diffs = [(i, a.get(i, ro.NOT_RUN), b.get(i, ro.NOT_RUN))
             for i in list(a) + [i for i in b if i not in a]
             if a.get(i, ro.NOT_RUN) != b.get(i, ro.NOT_RUN)]
    if plain.state != weft.state:
        diffs.insert(0, (f"{module} (run)", plain.state, f"{weft.state}: {weft.note}".rstrip(": ")))
    return diffs


def rerun_patterns(ids):
    """rerun_patterns() turns test ids into --matchfile patterns (a subtest
    runs with its test, a fixture with its class or module)."""
    out = []
    for i in ids:
        i = i.split(" ", 1)[0]
        if i.rsplit(".", 1)[-1] in ro.FIXTURES:
            i = i.rsplit(".", 1)[0] + ".*"
        if i not in out:
            out.append(i)
    return out


def load_known(path, docs_path):
    """load_known() reads the known-differences file: [(glob, mode, reason)].
    Exits 2 on a malformed line or a reason missing from the docs."""
    def refuse(msg):
        print(f"conformance: {msg}", file=sys.stderr)
        sys.exit(2)

    if not path:
        return []
    docs = open(docs_path, encoding="utf-8").read() if docs_path else ""
    known = []
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[1] not in MODES:
            refuse(f"{path}:{n}: want 'test-id mode reason' with mode os or fibers: {line}")
        if docs_path and parts[2] not in docs:
            refuse(f"{path}:{n}: reason not found in {docs_path}: {parts[2]}")
        known.append(tuple(parts))
    return known


def known_reason(known, test_id, mode):
    """known_reason() is the reason of the first entry matching (id, mode), or None."""
    for glob, m, reason in known:
        if m == mode and fnmatch.fnmatchcase(test_id, glob):
            return reason
    return None


def show(outcome, run, test_id):
    """show() is an outcome as printed: with the skip reason when skipped."""
    e = run.entries.get(test_id)
    return f"{outcome} {e.reason}" if e is not None and outcome == ro.SKIP else str(outcome)


def print_counts(label, run, seconds):
    """print_counts() prints one run's line of the module's table."""
    c = run.counts()
    state = run.state + (f" ({run.result})" if run.result else "") + (f": {run.note}" if run.note else "")
    print(f"  {label:<7} {c['run']:>5} {c['failures']:>5} {c['errors']:>5} {c['skipped']:>5}"
          f" {c['xfail'] + c['xpass']:>5} {seconds:>7.1f}  {state}")


def run_module(module, opts):
    """run_module() makes the plain run and one weft run per mode; returns
    {label: (Run, seconds)} with labels "plain" and the modes."""
    base = regrtest_args(module, opts)
    limit = opts.timeout + 30
    runs = {"plain": run_once([opts.python] + base, log_path(opts, module, "plain"), limit, module)}
    plain_s = runs["plain"][1]
    for mode in opts.modes:
        weft_limit = min(limit, max(60, 5 * plain_s + 30))
        cmd = [opts.weft_run, f"--threads={mode}"] + opts.weft_arg + ["--", opts.python] + base
        runs[mode] = run_once(cmd, log_path(opts, module, mode), weft_limit, module, opts.gdb_script or "")
    return runs


def log_path(opts, module, label):
    """log_path() is the output file of one run of a module."""
    return os.path.join(opts.log_dir, f"{module}.{label}.log")


def print_tail(title, path):
    """print_tail() shows the last lines of a run's output."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()[-15:]
    print(f"  {title}; last lines of {path}:")
    print("\n".join("    | " + line for line in lines))


def report_mode(module, mode, diffs, plain, weft, rerun, known):
    """report_mode() prints one mode's differences; returns how many are
    not in the known list."""
    unlisted, lines = 0, []
    for test_id, a, b in diffs:
        reason = known_reason(known, test_id, mode)
        unlisted += reason is None
        note = f"  [known: {reason}]" if reason else ""
        if test_id in rerun and rerun[test_id] != a:
            note += f"  [FLAKY PLAIN: rerun gave {rerun[test_id]}]"
        lines.append((a, b, f"    {test_id}: plain {show(a, plain, test_id)} | {mode} {show(b, weft, test_id)}{note}"))
    if diffs:
        print(f"  {mode}: {len(diffs)} differences, {unlisted} not in the known list")
        print_collapsed(lines)
    for glob, m, _reason in known:
        if m == mode and glob.startswith((f"test.{module}.", f"{module}.")) and \
                not any(fnmatch.fnmatchcase(i, glob) for i, _, _ in diffs):
            print(f"  note: known difference not seen in this run: {glob} {mode}")
    return unlisted


def check_module(module, opts, known):
    """check_module() runs and compares one module, prints its report and
    writes <log-dir>/<module>.json for --summary; returns True if it passed."""
    os.makedirs(opts.log_dir, exist_ok=True)
    figures_path = os.path.join(opts.log_dir, f"{module}.json")
    for stale in [f"{module}.json", f"{module}.plain-rerun.log"] + [f"{module}.{m}.log.gdb" for m in MODES]:
        if os.path.exists(os.path.join(opts.log_dir, stale)):
            os.remove(os.path.join(opts.log_dir, stale))   # nothing stale if this run is killed
    runs = run_module(module, opts)

    ok = True
    print(f"== {module}  (logs: {opts.log_dir}/{module}.*.log)")
    for pattern, reason in EXCLUDE.get(module, []):
        print(f"  excluded from every run: {pattern} ({reason})")
    # x/u: expected failures + unexpected successes
    print(f"  {'':<7} {'run':>5} {'fail':>5} {'error':>5} {'skip':>5} {'x/u':>5} {'seconds':>7}  state")
    for label, (run, seconds) in runs.items():
        print_counts(label, run, seconds)
        if run.summary is not None and run.summary != run.counts():
            print(f"  MISREAD {label}: unittest's summary says {run.summary}")
            ok = False
    plain = runs["plain"][0]
    if plain.state not in ("completed", "skipped"):
        print_tail(f"PLAIN RUN {plain.state.upper()}: cannot compare", log_path(opts, module, "plain"))
        ok = False

    diffs = {m: compare(module, plain, runs[m][0]) for m in opts.modes}
    suspects = [i for m in opts.modes for i, a, b in diffs[m]
                if not i.endswith(" (run)") and is_settled(a) and is_settled(b)]
    rerun = {}
    if suspects and plain.state == "completed":
        rerun = plain_rerun(module, opts, rerun_patterns(suspects), opts.timeout + 30)

    figures = {"module": module, "runs": {}}
    for label, (run, seconds) in runs.items():
        figures["runs"][label] = dict(run.counts(), state=run.state, seconds=round(seconds, 1))
    for mode in opts.modes:
        weft = runs[mode][0]
        unlisted = report_mode(module, mode, diffs[mode], plain, weft, rerun, known)
        figures["runs"][mode].update(differences=len(diffs[mode]), unlisted=unlisted)
        if weft.state not in ("completed", "skipped"):
            print_tail(f"{mode} run {weft.state}", log_path(opts, module, mode))
        ok = ok and unlisted == 0
    with open(figures_path, "w") as f:
        json.dump(figures, f)
    print(f"  {module}: {'OK' if ok else 'FAILED'}")
    return ok


def print_collapsed(lines, per_pair=20):
    """print_collapsed() prints difference lines, at most per_pair for each
    (plain, weft) outcome pair; ids a run did not reach ("not run": it
    ended early) are counted, not listed."""
    shown, not_run = {}, {}
    for a, b, text in lines:
        if b == ro.NOT_RUN:
            not_run[a] = not_run.get(a, 0) + 1
            continue
        shown[(a, b)] = shown.get((a, b), 0) + 1
        if shown[(a, b)] <= per_pair:
            print(text)
    for (a, b), n in shown.items():
        if n > per_pair:
            print(f"    ... and {n - per_pair} more with plain {a} | weft {b}")
    if not_run:
        print(f"    {sum(not_run.values())} ids not run under weft (plain: "
              + ", ".join(f"{n} {a}" for a, n in not_run.items()) + ")")


def plain_rerun(module, opts, patterns, limit):
    """plain_rerun() runs the given tests plainly once more; returns {id: outcome}."""
    path = os.path.join(opts.log_dir, f"{module}.plain-rerun.match")
    with open(path, "w") as f:
        f.write("\n".join(patterns) + "\n")
    cmd = [opts.python] + regrtest_args(module, opts) + ["--matchfile", path]
    run, seconds = run_once(cmd, os.path.join(opts.log_dir, f"{module}.plain-rerun.log"), limit, module)
    print(f"  plain re-run of {len(patterns)} differing tests: {run.state}, {seconds:.1f} s")
    return run.outcomes()


def summary(log_dir):
    """summary() prints one line per module from the <module>.json files of log_dir."""
    rows = []
    for name in sorted(os.listdir(log_dir)):
        if name.endswith(".json"):
            with open(os.path.join(log_dir, name)) as f:
                rows.append(json.load(f))
    if not rows:
        print(f"conformance: no results in {log_dir}")
        return 1
    labels = [lbl for lbl in ("plain",) + MODES if any(lbl in r["runs"] for r in rows)]
    print("conformance: run/fail/error/skip per run; diff = differing ids (unlisted)")
    print(f"{'module':<24}" + "".join(f" {lbl:>30}" for lbl in labels))
    bad = 0
    for r in rows:
        cells = []
        for lbl in labels:
            x = r["runs"].get(lbl)
            if x is None:
                cells.append(f" {'-':>30}")
                continue
            cell = f"{x['run']}/{x['failures']}/{x['errors']}/{x['skipped']}"
            if x["state"] not in ("completed", "skipped"):
                cell += f" {x['state']}"
            if x.get("differences"):
                cell += f" diff {x['differences']}({x['unlisted']})"
                bad += x["unlisted"] > 0
            cell += f" {x['seconds']:.0f}s"
            cells.append(f" {cell:>30}")
        print(f"{r['module']:<24}" + "".join(cells))
    return 1 if bad else 0


def _on_signal(signum, _frame):
    if _current is not None:
        _kill_group(_current)
    sys.exit(f"conformance: killed by signal {signum}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("modules", nargs="*", help="conformance modules (default: all)")
    ap.add_argument("--weft-run", help="path of weft-run")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--modes", default=",".join(MODES), help="weft-run thread modes: os,fibers")
    ap.add_argument("--weft-arg", action="append", default=[], help="extra weft-run option")
    ap.add_argument("--timeout", type=int, default=120, help="regrtest --timeout")
    ap.add_argument("--log-dir", default="conformance-logs")
    ap.add_argument("--known", help="known differences file")
    ap.add_argument("--docs", help="file that must contain each known reason")
    ap.add_argument("--summary", metavar="DIR", help="print the table of DIR's results and exit")
    ap.add_argument("--gdb-script", help="tools/weft-gdb.py: a hung weft run's fibers are listed")
    ap.add_argument("--testdir", help="take the modules from DIR, not the stdlib (the harness's own test)")
    opts = ap.parse_args()
    if opts.summary:
        return summary(opts.summary)
    opts.modes = tuple(m for m in opts.modes.split(",") if m)
    if not opts.weft_run or any(m not in MODES for m in opts.modes):
        ap.error("--weft-run PATH is required; --modes takes os and/or fibers")
    unknown = [m for m in opts.modules if m not in MODULES and not opts.testdir]
    if unknown:
        ap.error(f"not conformance modules: {' '.join(unknown)} (known: {' '.join(MODULES)})")
    known = load_known(opts.known, opts.docs)
    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    results = [check_module(m, opts, known) for m in opts.modules or list(MODULES)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
