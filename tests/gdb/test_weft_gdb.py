#!/usr/bin/env python3
# tests/gdb/test_weft_gdb.py SAMPLE SCRIPT — drives `gdb -batch` with
# tools/weft-gdb.py against tests/gdb/gdb_sample, first in the live process
# (stopped at weft_sample_ready), then on the core file it leaves with
# --abort. Exits 0 on success, 1 with the gdb transcript on failure, and 77
# (meson: skipped, shown in the summary) only if the kernel's core_pattern
# sends core files elsewhere so that no core file can be had.
import os
import re
import subprocess
import sys
import tempfile

sample, script = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
failures = []


def gdb(*args, cwd=None):
    cmd = ["gdb", "-batch", "-nx", "-ex", "set debuginfod enabled off", "-ex", "source " + script]
    for a in args[:-1]:
        cmd += ["-ex", a]
    cmd += args[-1]
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    return r.stdout + r.stderr


def expect(text, pattern, what):
    if not re.search(pattern, text, re.M):
        failures.append("%s: /%s/ not found" % (what, pattern))


def check_fibers_and_bts(out, what):
    expect(out, r'fiber \d+ "event-waiter" parked, event', what)
    expect(out, r'fiber \d+ "pipe-reader" parked, read fd \d+', what)
    expect(out, r'fiber \d+ "sleeper" parked, sleep', what)
    expect(out, r"fiber \d+ \"main\" running.*\(the carrier runs on this stack\)", what)
    bt_read = out.split("BT-READER")[1].split("BT-EVENT")[0]
    bt_event = out.split("BT-EVENT")[1].split("BT-END")[0]
    expect(bt_read, r"#\d+ .*sample_park_on_read", what + " weft bt pipe-reader")
    expect(bt_read, r"#\d+ .* read \(", what + " weft bt pipe-reader")
    expect(bt_event, r"#\d+ .*sample_park_on_event", what + " weft bt event-waiter")


commands = ["weft fibers", "echo BT-READER\\n", "weft bt pipe-reader", "echo BT-EVENT\\n", "weft bt event-waiter",
            "echo BT-END\\n"]

# Live process, stopped at a breakpoint; afterwards the thread's own stack
# must be intact (weft bt restores the registers it borrowed).
live = gdb("break weft_sample_ready", "run", *commands, "bt 1", "kill", [sample])
check_fibers_and_bts(live, "live")
expect(live.split("BT-END")[1], r"#0 .*weft_sample_ready", "live: thread registers restored")

# Core file written by the kernel when the sample aborts.
with tempfile.TemporaryDirectory() as d:
    import resource

    def allow_core():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    env = dict(os.environ)
    # An ASan build disables core dumps unless told otherwise (its shadow
    # memory is excluded from the core, so the file stays small).
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":disable_coredump=0").lstrip(":")
    subprocess.run([sample, "--abort"], cwd=d, env=env, preexec_fn=allow_core, capture_output=True, timeout=60)
    cores = [f for f in os.listdir(d) if f.startswith("core")]
    if not cores:
        pattern = open("/proc/sys/kernel/core_pattern").read().strip()
        print("SKIP core-file half: no core file in the working directory (core_pattern=%r)" % pattern)
        if not failures:
            print("live-process half passed")
            sys.exit(77)
    else:
        core = gdb(*commands, [sample, os.path.join(d, cores[0])])
        check_fibers_and_bts(core, "core")

if failures:
    print("\n".join(failures))
    print("---- live transcript ----\n" + live)
    if "core" in dir():
        print("---- core transcript ----\n" + core)
    sys.exit(1)
print("ok: weft fibers / weft bt in a live process and a core file")
