#!/usr/bin/env python3
"""tools/summarize_testlog.py LOG... — prints "N passed, N failed, N skipped"
from meson's meson-logs/testlog.json files (one JSON object per line, one
per test), summed over all LOGs (release + sanitizer runs). Exit status: 0 if something passed and nothing failed, 1 otherwise.
Called by tools/test.sh after `meson test`."""
import json
import os
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}
# everything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...) fails


def main(paths):
    passed = failed = skipped = 0
    failures = []
    for path in paths:
        passed, failed, skipped = read_log(path, passed, failed, skipped, failures)
    for name in failures:
        print(f"FAILED: {name}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if passed > 0 and failed == 0 else 1


def read_log(path, passed, failed, skipped, failures):
    """Adds one testlog.json's results to the running counts."""
    tag = f" [{os.path.basename(os.path.dirname(os.path.dirname(os.path.abspath(path))))}]"  # the build dir
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            result = t.get("result", "ERROR")
            if result in PASS:
                passed += 1
            elif result in SKIP:
                skipped += 1
            else:
                failed += 1
                failures.append(f"{t.get('name', '?')} ({result}){tag}")
    return passed, failed, skipped


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
