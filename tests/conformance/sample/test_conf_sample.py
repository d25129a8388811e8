"""tests/conformance/sample/test_conf_sample.py — a test module whose
verbose output has every shape regrtest_output.py must read: each status,
docstrings, output interleaved with the status (stdout, stderr, a child
writing to the fd, no trailing newline), subtests, failing and skipped
class fixtures; and two cases for the end-to-end test. test_harness.py
runs it through CPython's runner (python3 -m test --testdir) and checks
the outcome of every id."""
import os
import subprocess
import sys
import unittest


class Outcomes(unittest.TestCase):
    def test_ok(self):
        pass

    def test_fail(self):
        self.fail("on purpose")

    def test_error(self):
        raise RuntimeError("on purpose")

    @unittest.skip("not here")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_xfail(self):
        self.fail("expected")

    @unittest.expectedFailure
    def test_xpass(self):
        pass

    def test_doc(self):
        """A docstring line ... with dots."""
        self.fail("doc")


class Interleaved(unittest.TestCase):
    def test_prints(self):
        print("a line on stdout")
        print("ERROR", file=sys.stderr)   # looks like a status; the real one comes last
        sys.stderr.flush()

    def test_child_writes(self):
        subprocess.run([sys.executable, "-c", "print('FAIL'); print('test_x (a.b.test_x) ... ok')"])
        self.fail("after the child")

    def test_no_newline(self):
        sys.stdout.write("partial")

    def test_subtests(self):
        for i in range(4):
            with self.subTest(i=i):
                if i == 1:
                    self.fail("one")
                if i == 2:
                    raise ValueError("two")

    def test_subtest_skip(self):
        with self.subTest(k="a"):
            self.skipTest("sub skip")


class BrokenFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise OSError("no fixture")

    def test_never(self):
        pass


class SkippedFixture(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise unittest.SkipTest("whole class")

    def test_never(self):
        pass


class Harness(unittest.TestCase):
    """Cases for test_harness.py's end-to-end run (ok unless asked)."""

    def test_weft_differs(self):
        # fails when run by test_harness.py's stand-in for weft-run
        self.assertNotIn("CONF_SAMPLE_WEFT", os.environ)

    def test_flaky(self):
        # with $CONF_SAMPLE_COUNTER: passes the first time only
        path = os.environ.get("CONF_SAMPLE_COUNTER")
        if path:
            runs = int(open(path).read()) + 1 if os.path.exists(path) else 1
            with open(path, "w") as f:
                f.write(str(runs))
            self.assertEqual(runs, 1)


if __name__ == "__main__":
    unittest.main()
