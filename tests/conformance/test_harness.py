#!/usr/bin/python3
"""tests/conformance/test_harness.py — tests of the conformance harness
itself, on real output of CPython's runner (sample/ through
`python3 -m test --testdir`): the parser reads every outcome shape, a run
that hangs or crashes is ended and reported with its process group
killed, and the end-to-end comparison finds a difference, accepts a known
one and detects a flaky plain test. Needs only /usr/bin/python3 and its
test package; about 15 s. Run: /usr/bin/python3 tests/conformance/test_harness.py
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "sample")
sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import conformance  # noqa: E402
import regrtest_output as ro  # noqa: E402

PY = "/usr/bin/python3"
M = "test_conf_sample"


def opts(**kw):
    """A stand-in for conformance.py's parsed options."""
    o = dict(timeout=60, testdir=SAMPLE)
    o.update(kw)
    return types.SimpleNamespace(**o)


def alive(pid):
    """alive() says whether pid runs (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Parser(unittest.TestCase):
    """Every outcome of the sample module, read from a real verbose run."""

    @classmethod
    def setUpClass(cls):
        with tempfile.TemporaryDirectory() as d:
            log = os.path.join(d, "log")
            cls.run_, cls.seconds = conformance.run_once(
                [PY] + conformance.regrtest_args(M, opts()), log, 60, M)

    def test_every_outcome(self):
        c = "test_conf_sample."
        want = {
            c + "BrokenFixture.setUpClass": ro.ERROR,
            c + "Interleaved.test_child_writes": ro.FAIL,   # child printed "FAIL" and a fake ok line
            c + "Interleaved.test_no_newline": ro.OK,       # "partialok"
            c + "Interleaved.test_prints": ro.OK,           # "ERROR" on stderr before the status
            c + "Interleaved.test_subtest_skip": ro.SUBTESTS,
            c + "Interleaved.test_subtest_skip (k='a')": ro.SKIP,
            c + "Interleaved.test_subtests": ro.SUBTESTS,
            c + "Interleaved.test_subtests (i=1)": ro.FAIL,
            c + "Interleaved.test_subtests (i=2)": ro.ERROR,
            c + "Harness.test_weft_differs": ro.OK,
            c + "Harness.test_flaky": ro.OK,
            c + "Outcomes.test_doc": ro.FAIL,               # docstring line with " ... " in it
            c + "Outcomes.test_error": ro.ERROR,
            c + "Outcomes.test_fail": ro.FAIL,
            c + "Outcomes.test_ok": ro.OK,
            c + "Outcomes.test_skip": ro.SKIP,
            c + "Outcomes.test_xfail": ro.XFAIL,
            c + "Outcomes.test_xpass": ro.XPASS,
            c + "Outcomes.test_xpass (next fixture)": ro.SKIP,   # SkippedFixture's setUpClass
        }
        self.assertEqual(self.run_.outcomes(), want)
        self.assertEqual(self.run_.entries[c + "Outcomes.test_skip"].reason, "'not here'")

    def test_counts_match_unittest_summary(self):
        self.assertEqual(self.run_.state, "completed")
        self.assertEqual(self.run_.result, "FAILURE")
        self.assertEqual(self.run_.summary, self.run_.counts())
        self.assertEqual(self.run_.counts(), dict(run=14, failures=4, errors=3, skipped=3, xfail=1, xpass=1))

    def test_doctest_and_repeated_ids(self):
        text = ("_local ()\nDoctest: _local ... ok\n_local ()\nDoctest: _local ... FAIL\n"
                "Ran 2 tests in 0.1s\n\nFAILED (failures=1)\n== Tests result: FAILURE ==\n")
        run = ro.parse(text, "test_x")
        self.assertEqual(run.outcomes(), {"_local": ro.OK, "_local #2": ro.FAIL})
        self.assertEqual(run.summary, run.counts())


class EndsEveryRun(unittest.TestCase):
    """A hang, regrtest's timeout and a crash end with the right state,
    within bounds, with the whole process group gone."""

    def run_hang(self, limit, timeout=60, env=None):
        with tempfile.TemporaryDirectory() as d:
            pidfile = os.path.join(d, "pid")
            os.environ.update(CONF_SAMPLE_PID=pidfile, **(env or {}))
            try:
                start = time.monotonic()
                run, _ = conformance.run_once(
                    [PY] + conformance.regrtest_args("test_conf_hang", opts(timeout=timeout)),
                    os.path.join(d, "log"), limit, "test_conf_hang")
                elapsed = time.monotonic() - start
                log = open(os.path.join(d, "log")).read()
                child = int(open(pidfile).read())
            finally:
                for k in ["CONF_SAMPLE_PID"] + list(env or {}):
                    os.environ.pop(k)
        time.sleep(0.2)
        self.assertFalse(alive(child), "the run's child survived")
        o = run.outcomes()
        self.assertEqual(o["test_conf_hang.Hang.test_a_ok"], ro.OK)
        self.assertEqual(o["test_conf_hang.Hang.test_b_stuck"], ro.NOT_FINISHED)
        self.assertNotIn("test_conf_hang.Hang.test_c_after", o)
        return run, elapsed, log

    def test_hang_is_killed_at_the_limit(self):
        run, elapsed, log = self.run_hang(limit=4)
        self.assertEqual(run.state, "hung")
        self.assertLess(elapsed, 4 + 5 + 3)
        self.assertIn("most recent call first", log)   # faulthandler's dump on SIGABRT

    def test_regrtest_timeout(self):
        run, elapsed, _ = self.run_hang(limit=30, timeout=3)
        self.assertEqual(run.state, "timeout")
        self.assertLess(elapsed, 20)

    def test_crash(self):
        run, _, _ = self.run_hang(limit=30, env={"CONF_SAMPLE": "abort"})
        self.assertEqual(run.state, "crashed")


class EndToEnd(unittest.TestCase):
    """conformance.py on the sample module with a stand-in for weft-run
    that only sets CONF_SAMPLE_WEFT (so Harness.test_weft_differs fails)."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.fake = os.path.join(d, "fake-weft-run")
        with open(self.fake, "w") as f:
            f.write('#!/bin/sh\nshift\n[ "$1" = -- ] && shift\nCONF_SAMPLE_WEFT=1 exec "$@"\n')
        os.chmod(self.fake, 0o755)
        self.docs = os.path.join(d, "docs.md")
        with open(self.docs, "w") as f:
            f.write("| test | mode | reason |\n| x | os | the stand-in sets a variable |\n")

    def tearDown(self):
        self.dir.cleanup()

    def conformance(self, known_lines, env=None):
        known = os.path.join(self.dir.name, "known.txt")
        with open(known, "w") as f:
            f.write("# comment\n" + "".join(line + "\n" for line in known_lines))
        p = subprocess.run([PY, os.path.join(HERE, "conformance.py"), "--weft-run", self.fake,
                            "--modes", "os", "--testdir", SAMPLE, "--timeout", "60",
                            "--log-dir", os.path.join(self.dir.name, "logs"),
                            "--known", known, "--docs", self.docs, M],
                           capture_output=True, text=True, timeout=120, env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout + p.stderr

    def test_difference_fails(self):
        rc, out = self.conformance([])
        self.assertEqual(rc, 1, out)
        self.assertIn("test_conf_sample.Harness.test_weft_differs: plain ok | os FAIL", out)
        self.assertIn("os: 1 differences, 1 not in the known list", out)
        self.assertIn("plain re-run of 1 differing tests: completed", out)
        self.assertNotIn("FLAKY", out)

    def test_known_difference_passes(self):
        rc, out = self.conformance(["test_conf_sample.Harness.test_weft_* os the stand-in sets a variable"])
        self.assertEqual(rc, 0, out)
        self.assertIn("[known: the stand-in sets a variable]", out)

    def test_reason_must_be_in_the_docs(self):
        rc, out = self.conformance(["test_conf_sample.Harness.test_weft_differs os some other reason"])
        self.assertEqual(rc, 2, out)
        self.assertIn("reason not found in", out)

    def test_flaky_plain_is_detected(self):
        counter = os.path.join(self.dir.name, "counter")
        rc, out = self.conformance(["test_conf_sample.Harness.test_weft_differs os the stand-in sets a variable"],
                                   env={"CONF_SAMPLE_COUNTER": counter})
        self.assertEqual(rc, 1, out)
        self.assertIn("test_conf_sample.Harness.test_flaky: plain ok | os FAIL", out)
        self.assertIn("FLAKY PLAIN: rerun gave FAIL", out)

    def test_summary_table(self):
        self.conformance([])
        p = subprocess.run([PY, os.path.join(HERE, "conformance.py"), "--summary",
                            os.path.join(self.dir.name, "logs")], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertRegex(p.stdout, r"test_conf_sample +14/4/3/3 \d+s +14/5/3/3 diff 1\(1\)")


if __name__ == "__main__":
    signal.alarm(300)   # watchdog: the whole file must end
    unittest.main()
