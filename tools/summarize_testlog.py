#!/usr/bin/env python3
"""tools/summarize_testlog.py LOG — prints "N passed, N failed, N skipped"
from meson's meson-logs/testlog.json (one JSON object per line, one per
test). Exit status: 0 if something passed and nothing failed, 1 otherwise.
Called by tools/test.sh after `meson test`."""
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}
# everything else (FAIL, TIMEOUT, ERROR, UNEXPECTEDPASS, INTERRUPT, ...) fails


def main(path):
    passed = failed = skipped = 0
    failures = []
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
                failures.append(f"{t.get('name', '?')} ({result})")
    for name in failures:
        print(f"FAILED: {name}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 0 if passed > 0 and failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
