"""tests/conformance/regrtest_output.py — reads the verbose output of
CPython's test runner (`python3 -m test MODULE -v`) into one outcome per
test id. Used by conformance.py; stdlib only (runs on Debian's python3).

Design note. unittest's verbose runner (3.11, unittest/runner.py) writes,
for each test,

    test_x (test.test_mod.Class.test_x) ... ok

where the status is one of: ok, FAIL, ERROR, skipped 'reason', expected
failure, unexpected success. What makes this more than a regex per line,
and the rule for each:

- Output interleaves. The description and " ... " are flushed when the
  test starts; whatever the test, a child or a stray thread prints comes
  next (stderr even before stdout), the status only when the test ends. So
  a test stays open until the next test starts, collecting lines, and its
  status is the LAST line that is exactly a status (the runner writes it
  last); failing that, a status glued to the end of the last line
  ("partialok": output without a newline).
- Output can look like a test line: a start line counts only if its id
  belongs to the module or the stdlib's test package (a child printing
  "test_x (a.b.test_x) ... ok" is output), or it is a doctest
  ("name (module)" then "Doctest: ...").
- A docstring adds a line: "test_x (id)" then "First doc line ... ok".
- subTests and class/module fixtures have lines of their own, written in
  one go, so their status is on the line: "  test_x (id) (i=1) ... FAIL"
  (two spaces; failures, errors and skips only) and
  "setUpClass (test.test_mod.Class) ... ERROR" (also tearDownClass,
  setUpModule, tearDownModule; skipped when it raised SkipTest). A test
  whose subtests failed (or skipped) gets no status of its own: its
  outcome is SUBTESTS.
  (After subtest lines the runner repeats the test's description with its
  status, e.g. "ok" when the subtests were only skipped.)
- 3.11 quirk: after "expected failure"/"unexpected success" the next
  fixture's status is printed without its description. A bare ERROR or
  skipped status after such a line is taken as that fixture's, with the id
  "<test id> (next fixture)".
- The test lines end where unittest prints its error list ("=" * 70 then
  "ERROR: ", "FAIL: " or "UNEXPECTED SUCCESS: ") or "Ran N tests".

Ids: a test is its unittest id; a subtest "<test id> <params>"; a fixture
"<class or module id>.<fixture>"; a repeated id gets " #2", " #3"...
Counting follows unittest's summary ("Ran N tests", "FAILED (failures=,
errors=, skipped=...)"): run counts tests, the others count tests, subtests
and fixtures. `Run.summary` keeps unittest's own figures when the run got
that far, so a parse can be checked against them.

How the run ended (`Run.state`): completed (unittest's summary and
regrtest's "== Tests result: X ==" seen), skipped (the whole module, e.g.
a resource not enabled), timeout (regrtest's "Timeout (h:mm:ss)!"),
crashed (anything else; the harness adds "hung" when it killed the run).
The test open when a run ends early gets NOT_FINISHED.
"""
import re

OK, FAIL, ERROR, SKIP = "ok", "FAIL", "ERROR", "skipped"
XFAIL, XPASS = "expected failure", "unexpected success"
SUBTESTS = "no status (subtests)"  # a test whose subtests failed or skipped: no status line of its own
NOT_FINISHED = "not finished"     # the run ended (crash, timeout, kill) inside this test
UNKNOWN = "no status found"       # the test ended but no status could be read
NOT_RUN = "not run"               # used by the comparison: the id is absent from a run

FIXTURES = ("setUpClass", "tearDownClass", "setUpModule", "tearDownModule")

_START = re.compile(r"^(?P<indent>  )?(?P<name>\w+) \((?P<id>[\w.]*)\)(?P<rest>.*)$")
_STATUS = r"(ok|FAIL|ERROR|expected failure|unexpected success|skipped (?P<reason>'.*'|\".*\"))"
_STATUS_LINE = re.compile(r"^" + _STATUS + r"$")
_STATUS_GLUED = re.compile(_STATUS + r"$")
_ERROR_LIST = re.compile(r"^(ERROR|FAIL|UNEXPECTED SUCCESS): ")
_RAN = re.compile(r"^Ran (\d+) tests? in ")
_SUMMARY = re.compile(r"^(OK|FAILED)(?: \((.*)\))?$")
_RESULT = re.compile(r"^== Tests result: (.+?) ==$")
_MODULE_SKIP = re.compile(r"^(test_\w+) skipped -- (.*)$")
_TIMEOUT = re.compile(r"Timeout \(\d+:\d\d:\d\d\)!$")


class Entry:
    """One test, subtest or fixture of the output: `kind` is "test",
    "subtest" or "fixture"; `outcome` one of the constants above (None while
    open); `reason` the skip reason. Made and filled by parse() only."""

    def __init__(self, test_id, kind):
        self.id, self.kind = test_id, kind
        self.outcome, self.reason = None, ""
        self.lines = []            # output collected while open
        self.had_subtests = False  # subtest lines were printed while it ran
        self.expect_doc = False    # the docstring line with " ... " comes next


class Run:
    """The parsed output of one run: `entries` (id -> Entry, in output
    order), `state`, `result` (regrtest's "Tests result"), `summary`
    (unittest's counts, or None) and `note` (module skip reason, timeout)."""

    def __init__(self):
        self.entries = {}
        self.state, self.result, self.summary, self.note = "crashed", "", None, ""

    def add(self, entry):
        """add() stores an entry, renaming a repeated id."""
        base, n = entry.id, 2
        while entry.id in self.entries:
            entry.id, n = f"{base} #{n}", n + 1
        self.entries[entry.id] = entry

    def outcomes(self):
        """outcomes() is {id: outcome} for every entry."""
        return {i: e.outcome for i, e in self.entries.items()}

    def counts(self):
        """counts() gives unittest-style figures computed from the entries."""
        c = dict(run=0, failures=0, errors=0, skipped=0, xfail=0, xpass=0)
        key = {FAIL: "failures", ERROR: "errors", SKIP: "skipped", XFAIL: "xfail", XPASS: "xpass"}
        for e in self.entries.values():
            c["run"] += e.kind == "test"
            if e.outcome in key:
                c[key[e.outcome]] += 1
        return c


def _summary_counts(ran, text):
    """_summary_counts() turns "Ran N tests" + "(failures=1, skipped=2)" into counts."""
    c = dict(run=ran, failures=0, errors=0, skipped=0, xfail=0, xpass=0)
    names = {"failures": "failures", "errors": "errors", "skipped": "skipped",
             "expected failures": "xfail", "unexpected successes": "xpass"}
    for part in filter(None, (text or "").split(", ")):
        k, _, v = part.partition("=")
        if k in names:
            c[names[k]] = int(v)
    return c


def _set_status(entry, m):
    entry.outcome = SKIP if m.group(1).startswith("skipped ") else m.group(1)
    entry.reason = m.group("reason") or ""


def _close(run, entry, run_ended):
    """_close() settles an open entry's outcome from the lines it collected."""
    if entry is None or entry.outcome is not None:
        return
    found = [(n, m) for n, line in enumerate(entry.lines) if (m := _STATUS_LINE.match(line.strip()))]
    expected = [(n, m) for n, m in found if m.group(1) in (XFAIL, XPASS)]
    if expected and found[-1][1].group(1) not in (XFAIL, XPASS, OK, FAIL):
        # the 3.11 quirk: an xfail/xpass line, then a fixture's bare status
        n, m = expected[-1]
        _set_status(entry, m)
        for _, later in (x for x in found if x[0] > n):
            fixture = Entry(f"{entry.id} (next fixture)", "fixture")
            _set_status(fixture, later)
            run.add(fixture)
        return
    if found:
        _set_status(entry, found[-1][1])
        return
    glued = _STATUS_GLUED.search(entry.lines[-1].rstrip()) if entry.lines else None
    if run_ended:
        entry.outcome = NOT_FINISHED
    elif glued:
        _set_status(entry, glued)
    else:
        entry.outcome = SUBTESTS if entry.had_subtests else UNKNOWN


def _entry_id(m, module, next_line):
    """_entry_id() is (id, kind) of a start line, or (None, None) if the
    line is output that only looks like one."""
    name, dotted, rest = m.group("name"), m.group("id"), m.group("rest")
    tail = rest.split(" ... ", 1)[1] if " ... " in rest else None
    # the module's ids, or of the stdlib's test package (test_wait3 runs
    # test.fork_wait.ForkWait's tests)
    ours = module is None or dotted in (module, "test") or dotted.startswith((module + ".", "test."))
    if m.group("indent"):
        params = rest.split(" ... ", 1)[0].strip()
        ok = ours and dotted.endswith("." + name) and params and tail is not None
        return (f"{dotted} {params}", "subtest") if ok else (None, None)
    if tail is None and rest:
        return None, None
    if ours and dotted.endswith("." + name):
        return dotted, "test"
    if ours and name in FIXTURES and dotted:
        return f"{dotted}.{name}", "fixture"
    if tail is None and next_line.startswith("Doctest: "):
        return (f"{dotted}.{name}" if dotted else name), "test"
    return None, None


class _Parser:
    """_Parser holds parse()'s state: the Run, the open test, the phase."""

    def __init__(self, module):
        self.run, self.module = Run(), module
        self.test = None      # the open test
        self.ran = None       # "Ran N tests" seen: the summary lines follow
        self.in_tests = True  # False once unittest prints its error list

    def end_test(self, run_ended=False):
        _close(self.run, self.test, run_ended)
        self.test = None

    def line(self, line, next_line):
        """line() takes one line of output."""
        run = self.run
        if self.ran is not None:
            if m := _SUMMARY.match(line):
                run.summary = _summary_counts(self.ran, m.group(2))
            elif m := _RESULT.match(line):
                run.result = m.group(1)
        elif m := _TIMEOUT.search(line):   # glued to the open test's line, or its own
            if line[:m.start()].strip():
                self.line(line[:m.start()], "")
            run.state, run.note = "timeout", m.group(0)
            self.end_test(run_ended=True)
        elif m := _RAN.match(line):
            self.ran = int(m.group(1))
            self.end_test()
        elif line == "=" * 70 and _ERROR_LIST.match(next_line):
            self.in_tests = False
            self.end_test()
        elif m := _MODULE_SKIP.match(line):
            run.state, run.note = "skipped", m.group(2)
        elif self.in_tests:
            self.test_line(line, next_line)

    def test_line(self, line, next_line):
        """test_line() takes a line among the test lines: a test, subtest or
        fixture starting, or output of the open test."""
        m = _START.match(line)
        test_id, kind = _entry_id(m, self.module, next_line) if m else (None, None)
        test = self.test
        if test_id is None:       # output of the open test, or its docstring line
            if test is not None and test.expect_doc and " ... " in line:
                test.expect_doc = False
                line = line.split(" ... ", 1)[1]
            if test is not None and line.strip():
                test.lines.append(line)
            return
        tail = m.group("rest").split(" ... ", 1)[1] if " ... " in m.group("rest") else None
        if kind == "test" and test is not None and test.id == test_id and test.had_subtests:
            test.lines.append(tail or "")   # the description repeated after subtests
            return
        entry = Entry(test_id, kind)
        if kind == "subtest":
            if test is not None:
                test.had_subtests = True
        else:
            self.end_test()
        self.run.add(entry)
        if kind == "test":
            self.test = entry
            entry.expect_doc = tail is None
            if tail:
                entry.lines.append(tail)
        elif m := _STATUS_LINE.match((tail or "").strip()):
            _set_status(entry, m)
        else:
            entry.outcome = UNKNOWN


def parse(text, module=None):
    """parse() reads one run's whole output (stdout and stderr merged) into
    a Run; `module` (e.g. "test_socket") makes start lines of other ids output."""
    p = _Parser(module)
    lines = text.splitlines()
    for n, line in enumerate(lines):
        p.line(line, lines[n + 1] if n + 1 < len(lines) else "")
    run = p.run
    if p.ran is not None and run.summary is not None and run.result:
        run.state = "completed"
    p.end_test(run_ended=run.state not in ("completed", "skipped"))
    return run
