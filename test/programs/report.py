"""report.py - bench/programs.md from the rows the program tests
measured in this run (test/programs/results/*.json): per program, the
time natively, under lockonfault in each mode (auto: the kernel's flags
here; sigsegv; the simulated 4.3 kernel) and with the kernel's own
MLOCK_ONFAULT (the onfault shim), side by side, with Locked: where it
was read, and the machine it ran on. A mode with a suffix ("auto
MIN_SIZE=0") gets a row of its own, its figures in its mode's column.

Usage: report.py BUILDDIR OUTPUT
"""
import datetime
import glob
import json
import os
import platform
import sys

ORDER = ["memcached", "memtester", "fio", "vmtouch", "stress-ng", "python"]
COLS = [("native", "native"), ("auto", "lockonfault auto (kernel flags)"),
        ("sigsegv", "lockonfault sigsegv"),
        ("sim43", "lockonfault, simulated 4.3 (sigsegv emulating)"),
        ("onfault", "kernel MLOCK_ONFAULT")]


def ms(s):
    return "—" if s is None else ("%.0f ms" % (s * 1000) if s >= 0.01
                                  else "%.1f ms" % (s * 1000))


def mib(kb):
    return "%.0f MiB" % (kb / 1024.0)


def cell(row):
    if row is None:
        return "n/a"
    t = ms(row.get("seconds"))
    parts = []
    if "locked_start_kb" in row:
        parts.append(mib(row["locked_start_kb"]))
    if "locked_end_kb" in row:
        parts.append(mib(row["locked_end_kb"]))
    return t + (" (" + " → ".join(parts) + ")" if parts else "")


def machine():
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB" % (int(f.readline().split()[1]) / 1048576.0)
    except OSError:
        pass
    return "%d CPUs, %s, Linux %s" % (os.cpu_count(), mem, platform.release())


def main():
    build, out = sys.argv[1], sys.argv[2]
    rows = {}
    for path in glob.glob(os.path.join(build, "test/programs/results/*.json")):
        name = os.path.basename(path)[:-5]
        with open(path) as f:
            rows[name] = json.load(f)
    if not rows:
        print("report.py: no results in %s" % build, file=sys.stderr)
        return 1
    lines = [
        "# Programs: start-up natively, under lockonfault's engines, and "
        "with the kernel's MLOCK_ONFAULT",
        "",
        "Written by `make check-programs` (test/programs/report.py) from "
        "one run on %s, %s. Each program was run in every way one "
        "after the other in the same run. Locked: (from "
        "/proc/PID/smaps_rollup) is shown in brackets where it was read: "
        "right after start-up → after the workload, or at the moment "
        "timed." % (machine(), datetime.date.today().isoformat()),
        "The kernel column preloads test/programs/onfault.c, which turns "
        "mlock, mlock2, mlockall and MAP_LOCKED into their lock-on-fault "
        "variants. The lockonfault columns are the wrapper with the "
        "default engine (auto, which on this kernel passes the kernel's "
        "own flags), with LOCKONFAULT_ENGINE=sigsegv, and with the default "
        "engine under test/sim43/lof-kernel43, a seccomp filter answering "
        "as Linux 4.3 (no mlock2, no MCL_ONFAULT), where auto runs the "
        "SIGSEGV engine and it supplies MLOCK_ONFAULT, the RLIMIT_MEMLOCK "
        "charge and MCL_FUTURE itself. n/a: not run that way.",
        "",
        "| program | measured | " + " | ".join(c[1] for c in COLS) + " |",
        "|---|---|" + "---|" * len(COLS),
    ]
    for name in ORDER + sorted(set(rows) - set(ORDER)):
        seen = []
        for r in rows.get(name, []):
            key = (r["program"], r["what"])
            if key not in seen:
                seen.append(key)
        for prog, what in seen:
            by = {}
            for r in rows[name]:
                if (r["program"], r["what"]) == (prog, what):
                    by.setdefault(r["mode"], r)
            lines.append("| `%s` | %s | %s |" % (
                prog, what, " | ".join(cell(by.get(m)) for m, _ in COLS)))
            # "auto MIN_SIZE=0" and the like: one row per suffix.
            suffixes = []
            for m in by:
                base, _, suf = m.partition(" ")
                if suf and suf not in suffixes:
                    suffixes.append(suf)
            for suf in suffixes:
                lines.append("| `%s`, %s | %s | %s |" % (
                    prog, suf, what, " | ".join(
                        cell(by[m + " " + suf]) if m + " " + suf in by
                        else "" for m, _ in COLS)))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("report.py: wrote %s" % out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
