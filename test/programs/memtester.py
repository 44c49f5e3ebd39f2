"""memtester.py - memtester's messages as an oracle for errno handling,
and the time it takes to lock 2 GiB.

memtester mallocs its buffer and mlocks it with an unaligned length;
on ENOMEM it shrinks the length by a page and tries again, on EPERM it
goes on unlocked, and it says which at every step. Run as nobody under
a lowered RLIMIT_MEMLOCK, its whole output must be byte for byte what
it prints natively, and so must its exit status, under each engine
(lofprog.LOF_MODES): auto (the kernel's flags here), sigsegv, and under
the simulated 4.3 kernel, where the library itself charges
RLIMIT_MEMLOCK and answers ENOMEM and EPERM as a 4.4+ kernel would.
The statistics file shows the library was loaded with that engine and,
under the SIGSEGV engine, managed the range it locked.

Then, as root without limits, `memtester 2G 1` is timed from launch to
`locked.` natively, under lockonfault in each mode and with the
kernel's MLOCK_ONFAULT, alternately; each lockonfault mode must take
under a tenth of the native time, with little locked at that point.
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
            for mode in T.LOF_MODES:
                lst, lout, lerr, _ = T.run(mode, argv, env=env, timeout=120)
                mtag = "%s, %s" % (tag, mode)
                T.ok(st == 0 and lst == st,
                     mtag + ": same exit status as natively",
                     "native %s, %s %s\n%s" % (st, mode, lst, lerr[-2000:]))
                same = out == lout and err == lerr
                T.ok(same, mtag + ": output byte for byte the native output",
                     diff(out + err, lout + lerr))
                want = 0 if limit == 0 else 1
                good, why = T.report_ok(mode, T.stats_files(prefix), want)
                T.ok(good, mtag + ": the library was loaded and ran engine="
                     "%s%s" % (T.engine_of(mode)[0],
                               " with %d pending range" % want
                               if T.engine_of(mode)[0] == "sigsegv" and want
                               else ""), why)
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
    for m in T.LOF_MODES:
        if not (med["native"] and med[m]):
            continue
        T.ok(med[m] < 0.10 * med["native"],
             "memtester 2G, %s: locked. in under 10%% of the native time"
             % m, "%.0f ms against %.0f ms"
             % (med[m] * 1000, med["native"] * 1000))
        T.ok(locked[m] < 2 * 1024 * 1024 * 0.05,
             "memtester 2G, %s: under 5%% of it locked at locked." % m,
             T.mib(locked[m]))
    if med["native"]:
        T.ok(locked["native"] >= 2 * 1024 * 1024,
             "memtester 2G natively: all of it locked at locked.",
             T.mib(locked["native"]))


def main():
    T.start("memtester", needs=["memtester", "setpriv", "prlimit"])
    T.check_engines()
    oracle()
    timing()


if __name__ == "__main__":
    main()
