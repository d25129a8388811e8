# tools/weft-gdb.py — gdb commands for weft fibers, in a live process or a
# core file, with or without debug info:
#   (gdb) source tools/weft-gdb.py
#   (gdb) weft fibers        list every fiber of every scheduler
#   (gdb) weft bt <id|name>  backtrace of one fiber
#
# Design: the runtime exports a table, `weft_debug` (runtime/debug_table.hpp),
# with field offsets, state/reason names and the list of live schedulers, so
# this script needs only memory reads. A suspended fiber's registers are in
# the frame jump_fcontext pushed at its saved context (x86-64 System V:
# mxcsr/fpu, r12, r13, r14, r15, rbx, rbp, then the return address); `weft bt`
# loads them into the selected thread, runs gdb's own `bt`, and restores the
# thread's registers. gdb cannot write registers of a core file, so there the
# fiber's stack is unwound by a gdb Python unwinder instead (same registers).
import struct

import gdb
from gdb.unwinder import Unwinder, register_unwinder

TABLE_VERSION = 1


def _mem(addr, n):
    return bytes(gdb.selected_inferior().read_memory(addr, n))


def _u64(addr):
    return struct.unpack("<Q", _mem(addr, 8))[0]


def _u32(addr):
    return struct.unpack("<I", _mem(addr, 4))[0]


def _u8(addr):
    return _mem(addr, 1)[0]


def _cstr(addr, limit=512):
    if addr == 0:
        return ""
    out = b""
    while len(out) < limit:
        chunk = _mem(addr + len(out), 64)
        nul = chunk.find(b"\0")
        if nul >= 0:
            return (out + chunk[:nul]).decode("utf-8", "replace")
        out += chunk
    return out.decode("utf-8", "replace")


class Table:
    """The runtime's weft_debug table, read from the inferior."""

    FIELDS = ("version off_id off_name off_state off_reason off_wait_arg off_wait_since off_deadline "
              "off_fctx off_all_next off_spawn_file off_spawn_line off_stack_sp off_stack_size "
              "n_states n_reasons").split()

    def __init__(self):
        try:
            self.addr = int(gdb.parse_and_eval("(unsigned long)&weft_debug"))
        except gdb.error:
            raise gdb.GdbError("weft: no weft_debug symbol (is libweft loaded? weft >= this script?)")
        vals = struct.unpack("<16I", _mem(self.addr, 64))
        for k, v in zip(self.FIELDS, vals):
            setattr(self, k, v)
        if self.version != TABLE_VERSION:
            raise gdb.GdbError("weft: weft_debug version %d, this script reads %d" % (self.version, TABLE_VERSION))
        states, reasons, self.scheds = struct.unpack("<QQQ", _mem(self.addr + 64, 24))
        self.states = [_cstr(_u64(states + 8 * i)) for i in range(self.n_states)]
        self.reasons = [_cstr(_u64(reasons + 8 * i)) for i in range(self.n_reasons)]

    def schedulers(self):
        """Yields (tid, running fiber address, [fiber addresses])."""
        s = self.scheds
        while s:
            nxt, head_slot, running_slot, tid = struct.unpack("<QQQi", _mem(s, 28))
            fibers, f = [], _u64(head_slot)
            while f and len(fibers) < 1000000:
                fibers.append(f)
                f = _u64(f + self.off_all_next)
            yield tid, _u64(running_slot), fibers
            s = nxt

    def fiber(self, f):
        """A dict describing the fiber at address f."""
        name_ptr, name_len = struct.unpack("<QQ", _mem(f + self.off_name, 16))
        return {
            "addr": f,
            "id": _u64(f + self.off_id),
            "name": _mem(name_ptr, min(name_len, 256)).decode("utf-8", "replace") if name_len else "",
            "state": self.states[_u8(f + self.off_state)],
            "reason": self.reasons[_u8(f + self.off_reason)],
            "wait_arg": _u64(f + self.off_wait_arg),
            "fctx": _u64(f + self.off_fctx),
            "spawned": "%s:%d" % (_cstr(_u64(f + self.off_spawn_file)), _u32(f + self.off_spawn_line)),
            "stack_kib": _u64(f + self.off_stack_size) // 1024,
        }


def _describe(fb):
    text = '%s "%s" %s' % (fb["id"], fb["name"], fb["state"])
    if fb["state"] == "parked":
        text += ", " + fb["reason"]
        if fb["reason"] in ("read", "write"):
            text += " fd %d" % fb["wait_arg"]
        elif fb["reason"] == "join":
            text += " fiber %d" % fb["wait_arg"]
    return text + ", %d KiB stack, spawned at %s" % (fb["stack_kib"], fb["spawned"])


def _saved_regs(fctx):
    """Registers a suspended fiber resumes with, from its fcontext."""
    slots = struct.unpack("<8Q", _mem(fctx, 64))
    return {"r12": slots[1], "r13": slots[2], "r14": slots[3], "r15": slots[4], "rbx": slots[5],
            "rbp": slots[6], "rip": slots[7], "rsp": fctx + 64}


class _FrameId:
    """A frame id as gdb's unwinder API wants it (gdb 13 has no FrameId)."""

    def __init__(self, sp, pc):
        ulong = gdb.lookup_type("unsigned long")
        self.sp, self.pc = gdb.Value(sp).cast(ulong), gdb.Value(pc).cast(ulong)


class FiberUnwinder(Unwinder):
    """Replaces the innermost frame's registers with a fiber's (core files)."""

    def __init__(self):
        super().__init__("weft-fiber")
        self.regs = None

    def __call__(self, pending):
        if self.regs is None or pending.level() != 0:
            return None
        # Frame #0 becomes a pseudo frame whose caller is the fiber's
        # resume point; its id is made from the fiber's stack pointer.
        info = pending.create_unwind_info(_FrameId(self.regs["rsp"], self.regs["rip"]))
        for r, v in self.regs.items():
            info.add_saved_register(r, gdb.Value(v).cast(pending.read_register(r).type))
        return info


_unwinder = FiberUnwinder()
register_unwinder(None, _unwinder, replace=True)


def _find(table, key):
    """The fiber whose id (int) or name (str) is key: (tid, running?, dict)."""
    for tid, running, fibers in table.schedulers():
        for f in fibers:
            fb = table.fiber(f)
            if fb["id"] == key or fb["name"] == key:
                return tid, f == running, fb
    raise gdb.GdbError("weft: no live fiber %s (see `weft fibers`)" % key)


def _select_thread(tid):
    for t in gdb.selected_inferior().threads():
        if t.ptid[1] == tid:
            t.switch()
            return
    raise gdb.GdbError("weft: carrier thread %d not found" % tid)


class WeftPrefix(gdb.Command):
    """weft fiber commands: weft fibers, weft bt <id>."""

    def __init__(self):
        super().__init__("weft", gdb.COMMAND_STACK, prefix=True)


class WeftFibers(gdb.Command):
    """List every weft fiber: id, name, state, wait, stack size, spawn site."""

    def __init__(self):
        super().__init__("weft fibers", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        table = Table()
        n = 0
        for tid, running, fibers in table.schedulers():
            gdb.write("carrier thread %d: %d fiber(s)\n" % (tid, len(fibers)))
            for f in fibers:
                gdb.write("  fiber %s%s\n" % (_describe(table.fiber(f)), " (the carrier runs on this stack)" if f == running else ""))
                n += 1
        if n == 0:
            gdb.write("weft: no live fibers\n")


class WeftBt(gdb.Command):
    """weft bt <id|name>: backtrace of one fiber (suspended or running)."""

    def __init__(self):
        super().__init__("weft bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        key = arg.strip()
        if not key:
            raise gdb.GdbError("usage: weft bt <fiber id or name>")
        fid = int(key) if key.isdigit() else key
        table = Table()
        tid, is_running, fb = _find(table, fid)
        gdb.write("fiber %s\n" % _describe(fb))
        old = gdb.selected_thread()
        _select_thread(tid)
        try:
            if is_running or not fb["fctx"]:
                gdb.execute("bt")
                return
            regs = _saved_regs(fb["fctx"])
            if self._live():
                self._bt_with_registers(regs)
            else:
                self._bt_with_unwinder(regs)
        finally:
            old.switch()

    @staticmethod
    def _live():
        return _has_process()

    @staticmethod
    def _bt_with_registers(regs):
        saved = {r: int(gdb.parse_and_eval("(unsigned long)$" + r)) for r in regs}
        try:
            for r, v in regs.items():
                gdb.execute("set $%s = %d" % (r, v))
            gdb.execute("bt")
        finally:
            for r, v in saved.items():
                gdb.execute("set $%s = %d" % (r, v))

    @staticmethod
    def _bt_with_unwinder(regs):
        _unwinder.regs = regs
        gdb.invalidate_cached_frames()
        try:
            frame, level = gdb.newest_frame().older(), 0
            while frame is not None and level < 64:
                sal = frame.find_sal()
                where = " at %s:%d" % (sal.symtab.filename, sal.line) if sal.symtab else ""
                gdb.write("#%-2d 0x%016x in %s ()%s\n" % (level, frame.pc(), frame.name() or "??", where))
                frame, level = frame.older(), level + 1
        finally:
            _unwinder.regs = None
            gdb.invalidate_cached_frames()


def _has_process():
    """True for a live process, False for a core file."""
    conn = getattr(gdb.selected_inferior(), "connection", None)
    if conn is not None:
        return conn.type != "core"
    return "core" not in gdb.execute("info target", to_string=True).lower()


WeftPrefix()
WeftFibers()
WeftBt()
