"""fio.py - fio --lockmem=4g with the null I/O engine: fio maps 4 GiB
and mlocks it before the job starts, and never touches it. Wall time
natively, under lockonfault in each mode (auto, sigsegv, the simulated
4.3) and with the kernel's MLOCK_ONFAULT, side by side; the job's
results (error, bytes, I/O count) must be the native ones, and under
lockonfault the statistics report must show the engine the mode stands
for, and under the SIGSEGV engine the 4 GiB range managed (the time
shows it was never pre-faulted).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

ROUNDS = int(os.environ.get("LOF_PROGRAMS_ROUNDS", "3"))
ARGV = ["fio", "--name=lockmem", "--ioengine=null", "--rw=write",
        "--bs=1m", "--size=256m", "--lockmem=4g", "--output-format=json"]


def job(out):
    """The deterministic part of fio's JSON report."""
    try:
        j = json.loads(out)["jobs"][0]
        return {"error": j["error"], "bytes": j["write"]["io_bytes"],
                "ios": j["write"]["total_ios"]}
    except (ValueError, KeyError, IndexError) as e:
        return {"unreadable": str(e)}


def main():
    T.start("fio", needs=["fio"])
    T.check_engines()
    walls = {m: [] for m in T.MODES}
    jobs, status = {}, {}
    prefix = os.path.join(T.WORK, "fio-stats")
    for _ in range(ROUNDS):
        for m in T.MODES:
            st, out, err, wall = T.run(m, ARGV, timeout=120)
            walls[m].append(wall)
            jobs.setdefault(m, []).append(job(out))
            status.setdefault(m, []).append(st)
            if st != 0:
                T.note("fio, %s: status %s: %s" % (m, st, err[-1000:]))
    want = jobs["native"][0]
    T.ok(want.get("error") == 0 and want.get("bytes") == 256 << 20,
         "fio natively: the job wrote 256 MiB without error", want)
    for m in T.LOF_MODES + ("onfault",):
        T.ok(all(s == 0 for s in status[m]) and
             all(j == want for j in jobs[m]),
             "fio, %s: exit status 0 and the native job results" % m,
             "status %s, jobs %s" % (status[m], jobs[m]))
    # The job's process locks the memory and leaves with _exit(), so no
    # report: one more run in each mode with the job as a thread of the
    # main process.
    for m in T.LOF_MODES:
        st, out, err, _ = T.run(m, ARGV + ["--thread"],
                                env={"LOCKONFAULT_STATS": prefix + ".%p"})
        good, why = T.report_ok(m, T.stats_files(prefix), 1)
        T.ok(st == 0 and job(out) == want and good,
             "fio --thread, %s: the 4 GiB lock went to the library "
             "(engine=%s)" % (m, T.engine_of(m)[0]),
             "status %s, job %s; %s" % (st, job(out), why))
    for m in T.MODES:
        T.note("fio --lockmem=4g, %s: %s ms" % (
            m, ", ".join("%.0f" % (w * 1000) for w in walls[m])))
        T.result(program="fio --lockmem=4g (null engine, 256 MiB job)",
                 what="wall time", mode=m, seconds=T.median(walls[m]),
                 runs=len(walls[m]))
    med = {m: T.median(walls[m]) for m in T.MODES}
    for m in T.LOF_MODES:
        T.ok(med[m] < med["native"],
             "fio, %s: faster than natively" % m,
             "%.0f ms against %.0f ms" % (med[m] * 1000,
                                          med["native"] * 1000))


if __name__ == "__main__":
    main()
