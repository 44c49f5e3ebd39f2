"""python.py - python3 with ctypes and mmap (pyprobe.py) natively,
under lockonfault in each mode (auto, sigsegv, the simulated 4.3; each
with defaults and LOCKONFAULT_MIN_SIZE=0) and with the
kernel's own lock-on-fault: every call's result and every digest of
the data must be the native ones, byte for byte, and Locked: at each
step must be what MLOCK_ONFAULT gives: nothing until touched, then
what was touched; natively, everything at once.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = ([("native", {})] +
            [(m, e) for m in T.LOF_MODES
             for e in ({}, {"LOCKONFAULT_MIN_SIZE": "0"})] +
            [("onfault", {})])


def figures(err):
    d = {}
    for line in err.decode(errors="replace").splitlines():
        if line.startswith("fig "):
            k, v = line[4:].split("=")
            d[k] = int(v)
    return d


def lazy_checks(tag, f):
    """What lock-on-fault must show at each step of pyprobe.py (kB)."""
    T.ok(f["mlock_64m"] < 1024,
         tag + ": mlock of 64 MiB locks nothing yet", f)
    T.ok(8192 <= f["touch_8m"] <= 8192 + 1024,
         tag + ": 8 MiB touched, 8 MiB locked", f)
    T.ok(f["new_256m"] < 256 * 1024 * 0.02,
         tag + ": after mlockall(MCL_CURRENT|MCL_FUTURE) a new 256 MiB "
         "mapping is under 2% locked", f)
    T.ok(16384 <= f["new_touch_16m"] <= 16384 + 1024,
         tag + ": 16 MiB of it touched, 16 MiB locked", f)
    T.ok(f["map_locked_32m"] < 1024 and
         2048 <= f["map_locked_touch_2m"] <= 2048 + 1024,
         tag + ": MAP_LOCKED of 32 MiB locks only what is touched", f)


def main():
    T.start("python", needs=["python3"])
    T.check_engines()
    scratch = os.path.join(T.WORK, "python")
    os.makedirs(scratch, exist_ok=True)
    py = sys.executable or shutil.which("python3")
    argv = [py, os.path.join(HERE, "pyprobe.py"), scratch]
    try:
        outs, figs = {}, {}
        for mode, env in VARIANTS:
            tag = "python3 ctypes+mmap, %s%s" % (
                mode, " MIN_SIZE=0" if env else "")
            st, out, err, wall = T.run(mode, argv, env=env, timeout=120)
            T.ok(st == 0, tag + ": exit status 0",
                 "status %s\n%s" % (st, err.decode(errors="replace")[-2000:]))
            outs[tag], figs[tag] = out, figures(err)
            if mode == "native":
                nat_tag = tag
                continue
            T.ok(out == outs[nat_tag],
                 tag + ": every result and digest as natively",
                 "native:\n%s\nhere:\n%s" % (outs[nat_tag].decode(),
                                             out.decode()))
            mine = [ln for ln in err.decode(errors="replace").splitlines()
                    if not ln.startswith("fig ")]
            T.ok(not mine, tag + ": nothing else on stderr", "\n".join(mine))
            if len(figs[tag]) == 10:
                lazy_checks(tag, figs[tag])
            else:
                T.ok(False, tag + ": every Locked: figure printed", figs[tag])
            T.ok(figs[tag].get("munlockall") == 0 and
                 figs[tag].get("end") == 0,
                 tag + ": munlockall leaves nothing locked", figs[tag])
        f = figs[nat_tag]
        T.ok(len(f) == 10 and f["mlock_64m"] == 65536 and
             f["new_256m"] == 262144 and f["map_locked_32m"] == 32768,
             "python3 natively: every lock call locks its whole range "
             "at once (the figures above are not vacuous)", f)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
