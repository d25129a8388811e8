"""tests/conformance/sample/test_conf_hang.py — a module that passes one
test and then never ends (or crashes, with CONF_SAMPLE=abort): the runs
that conformance.py must end on its own. The hanging test first starts a
child in the run's process group and writes its pid to $CONF_SAMPLE_PID,
so test_harness.py can check that the harness killed the whole group."""
import os
import subprocess
import time
import unittest


class Hang(unittest.TestCase):
    def test_a_ok(self):
        pass

    def test_b_stuck(self):
        child = subprocess.Popen(["sleep", "300"])
        with open(os.environ["CONF_SAMPLE_PID"], "w") as f:
            f.write(str(child.pid))
        if os.environ.get("CONF_SAMPLE") == "abort":
            os.abort()
        time.sleep(300)

    def test_c_after(self):
        pass
