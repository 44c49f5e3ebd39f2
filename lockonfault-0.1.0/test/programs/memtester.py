"""memtester.py - memtester's messages as an oracle for errno handling,
and the time it takes to lock 2 GiB.

memtester mallocs its buffer and mlocks it with an unaligned length;
on ENOMEM it shrinks the length by a page and tries again, on EPERM it
goes on unlocked, and it says which at every step. Run as nobody under
a lowered RLIMIT_MEMLOCK, its whole output must be byte for byte what
it prints natively, and so must its exit status; the statistics file
shows the library was loaded and managed the range it locked.

Then, as root without limits, `memtester 2G 1` is timed from launch to
`locked.` natively, under lockonfault and with the kernel's
MLOCK_ONFAULT, alternately; lockonfault must take under a tenth of the
native time, with little locked at that point.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

KiB, MiB = 1024, 1024 * 1024

# (RLIMIT_MEMLOCK, memtester size, LOCKONFAULT_MIN_SIZE or None)
ORACLE = [
    (0, "9M", None),             # EPERM: goes on unlocked
    (8 * MiB, "9M", None),       # ENOMEM 200-odd times, then locked
    (900 * KiB, "1M", "0"),      # the same below the default MIN_SIZE
]
ROUNDS = int(os.environ.get("LOF_PROGRAMS_ROUNDS", "3"))


def oracle():
    st, _, err, _ = T.run("native", T.as_user(["cat", T.LIB, T.WRAPPER]),
                          timeout=30)
    if not T.ok(st == 0, "nobody can read the build tree's library",
                "%s\nthe oracle runs as nobody: make the build tree "
                "readable (chmod o+rx on its directories)" % err.decode()):
        return
    sdir = os.path.join(T.WORK, "memtester-stats")
    os.makedirs(sdir, exist_ok=True)
    os.chmod(sdir, 0o1777)       # nobody writes its report here
    try:
        for limit, size, minsize in ORACLE:
            argv = T.as_user(["memtester", size, "1"], memlock=limit)
            tag = "memtester %s 1 as nobody, RLIMIT_MEMLOCK %d" % (size, limit)
            if minsize is not None:
                tag += ", LOCKONFAULT_MIN_SIZE=" + minsize
            st, out, err, _ = T.run("native", argv, timeout=120)
            prefix = os.path.join(sdir, "s")
            env = {"LOCKONFAULT_STATS": prefix + ".%p"}
            if minsize is not None:
                env["LOCKONFAULT_MIN_SIZE"] = minsize
            lst, lout, lerr, _ = T.run("lof", argv, env=env, timeout=120)
            T.ok(st == 0 and lst == st,
                 tag + ": same exit status as natively",
                 "native %s, lockonfault %s\n%s" % (st, lst, lerr[-2000:]))
            same = out == lout and err == lerr
            T.ok(same, tag + ": output byte for byte the native output",
                 diff(out + err, lout + lerr))
            rep = T.stats_files(prefix)
            regions = sum(int(r.get("regions", 0)) for r in rep)
            want = 0 if limit == 0 else 1
            T.ok(len(rep) == 1 and regions >= want,
                 tag + ": the library was loaded and managed %d range(s)"
                 % want, "reports: %s" % rep)
    finally:
        for n in os.listdir(sdir):
            os.unlink(os.path.join(sdir, n))
        os.rmdir(sdir)


def diff(a, b):
    al, bl = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return "line %d differs:\nnative: %r\nunder:  %r" % (
                i + 1, x[:200], y[:200])
    return "lengths differ: %d and %d lines" % (len(al), len(bl))


def lock_time(mode):
    """Seconds from launch to `locked.`, and Locked: at that moment."""
    t0 = time.monotonic()
    p = T.spawn(mode, ["memtester", "2G", "1"], stdout=T.subprocess.PIPE,
                stderr=T.subprocess.STDOUT)
    seen, out = T.read_until(p, b"locked.", 120)
    dt = time.monotonic() - t0
    kb = T.locked_kb(p.pid) if seen else None
    T.reap(p)
    return (dt if seen else None), kb, out


def timing():
    if os.geteuid() != 0:
        T.note("not root: memtester 2G cannot lock; timing skipped")
        return
    times = {m: [] for m in T.MODES}
    locked = {}
    for _ in range(ROUNDS):
        for mode in T.MODES:
            dt, kb, out = lock_time(mode)
            if not T.ok(dt is not None,
                        "memtester 2G 1, %s: prints locked." % mode,
                        out[-1000:].decode(errors="replace")):
                continue
            times[mode].append(dt)
            locked.setdefault(mode, kb)
    med = {m: T.median(v) for m, v in times.items()}
    for m in T.MODES:
        if med[m] is not None:
            T.note("memtester 2G 1, %s: locked. after %s ms (median of %d), "
                   "Locked %s" % (m, ", ".join("%.0f" % (x * 1000)
                                             for x in times[m]),
                                  len(times[m]), T.mib(locked[m])))
            T.result(program="memtester 2G 1", what="launch to `locked.`",
                     mode=m, seconds=med[m], runs=len(times[m]),
                     locked_start_kb=locked[m])
    if med["native"] and med["lof"]:
        T.ok(med["lof"] < 0.10 * med["native"],
             "memtester 2G under lockonfault: locked. in under 10% of "
             "the native time", "%.0f ms against %.0f ms"
             % (med["lof"] * 1000, med["native"] * 1000))
        T.ok(locked["lof"] < 2 * 1024 * 1024 * 0.05,
             "memtester 2G under lockonfault: under 5% of it locked "
             "at locked.", T.mib(locked["lof"]))
        T.ok(locked["native"] >= 2 * 1024 * 1024,
             "memtester 2G natively: all of it locked at locked.",
             T.mib(locked["native"]))


def main():
    T.start("memtester", needs=["memtester", "setpriv", "prlimit"])
    oracle()
    timing()


if __name__ == "__main__":
    main()
