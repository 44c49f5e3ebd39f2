"""vmtouch.py - vmtouch -l and -L over a directory of files in the
build tree: vmtouch maps each file, touches every page and then locks
it (mlock per file with -l, mlockall(MCL_CURRENT) with -L). The pages
are present before the lock call, so every one of them must be locked
at once, under lockonfault in each mode (auto, sigsegv, the simulated
4.3) as natively: Locked: is polled until it holds every page of the
files, then vmtouch is stopped and its output and exit status compared
with the native run's.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")
# Sizes around the default LOCKONFAULT_MIN_SIZE (1M) and odd lengths.
SIZES = [5000, 1 << 20, (3 << 20) + 1, 40 << 20, (96 << 20) + 12345,
         (120 << 20) - 7]


def make_files(d):
    os.makedirs(d, exist_ok=True)
    rnd = random.Random(7)
    for i, n in enumerate(SIZES):
        with open(os.path.join(d, "f%d" % i), "wb") as f:
            left = n
            while left:
                k = min(left, 8 << 20)
                f.write(rnd.randbytes(k))
                left -= k
    return sum((n + PAGE - 1) // PAGE * PAGE for n in SIZES) // 1024


def hold(mode, flag, d, want_kb):
    """Run vmtouch FLAG D until Locked: reaches WANT_KB (or stops growing)."""
    t0 = time.monotonic()
    p = T.spawn(mode, ["vmtouch", flag, d], stdout=T.subprocess.PIPE,
                stderr=T.subprocess.PIPE)
    kb, last, still, reached = 0, -1, time.monotonic(), None
    while p.poll() is None and time.monotonic() - t0 < 60:
        kb = T.locked_kb(p.pid)
        if kb >= want_kb and reached is None:
            reached = time.monotonic() - t0
        if kb >= want_kb and flag == "-l":
            break
        if kb != last:
            last, still = kb, time.monotonic()
        elif kb >= want_kb and time.monotonic() - still > 0.5:
            break               # -L: settled with the files locked
        time.sleep(0.01)
    dt = reached if reached is not None else time.monotonic() - t0
    alive = p.poll() is None
    st = T.reap(p)
    out, err = p.communicate()
    return {"kb": kb, "s": dt, "alive": alive, "status": st,
            "out": out + err}


def main():
    T.start("vmtouch", needs=["vmtouch"])
    T.check_engines()
    d = os.path.join(T.WORK, "vmtouch")
    try:
        want = make_files(d)
        T.note("%d files, %s in all" % (len(SIZES), T.mib(want)))
        for flag in ("-l", "-L"):
            runs = {m: hold(m, flag, d, want) for m in T.MODES}
            for m in T.MODES:
                r = runs[m]
                tag = "vmtouch %s DIR, %s" % (flag, m)
                T.ok(r["alive"] and r["kb"] >= want,
                     tag + ": every page of the files locked",
                     "Locked %s of %s, still running: %s\n%s"
                     % (T.mib(r["kb"]), T.mib(want), r["alive"], r["out"]))
                T.note("%s: Locked %s after %.0f ms" % (tag, T.mib(r["kb"]),
                                                      r["s"] * 1000))
            nat = runs["native"]
            for m in T.LOF_MODES:
                lof = runs[m]
                T.ok(lof["status"] == nat["status"] and
                     lof["out"] == nat["out"],
                     "vmtouch %s, %s: same output and exit status as "
                     "natively" % (flag, m),
                     "native %s %r, %s %s %r" % (
                         nat["status"], nat["out"][:500], m, lof["status"],
                         lof["out"][:500]))
                if flag == "-l":
                    # Only the files are locked: the same figure exactly.
                    T.ok(lof["kb"] == nat["kb"],
                         "vmtouch -l, %s: Locked equal to the native "
                         "figure" % m,
                         "%d kB against %d kB" % (lof["kb"], nat["kb"]))
            for m in T.MODES:
                T.result(program="vmtouch %s (%s of files)"
                         % (flag, T.mib(want)),
                         what="launch to all files locked", mode=m,
                         seconds=runs[m]["s"], locked_end_kb=runs[m]["kb"])
    finally:
        if os.path.isdir(d):
            for n in os.listdir(d):
                os.unlink(os.path.join(d, n))
            os.rmdir(d)


if __name__ == "__main__":
    main()
