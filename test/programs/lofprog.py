"""lofprog.py - what the program tests share: TAP output, the ways a
program is run, processes that are always reaped, /proc figures, and
the timing rows that report.py turns into bench/programs.md.

A program runs in one of five modes:
  native   as it is;
  auto     under the build tree's wrapper, ./lockonfault -- CMD, with
           the default engine (auto: the kernel's own MLOCK_ONFAULT and
           MCL_ONFAULT on a 4.4+ kernel);
  sigsegv  the same with LOCKONFAULT_ENGINE=sigsegv (the user-space
           engine: table, PROT_NONE and a SIGSEGV handler);
  sim43    the wrapper under test/sim43/lof-kernel43, a seccomp filter
           answering as Linux 4.3 (no mlock2, no MCL_ONFAULT): auto
           picks the SIGSEGV engine, which then supplies MLOCK_ONFAULT,
           the RLIMIT_MEMLOCK charge and MCL_FUTURE itself (emulation);
  onfault  with test/programs' shim preloaded, which turns every lock
           call into the kernel's own MLOCK_ONFAULT/MCL_ONFAULT variant
           (the reference: what the kernel itself gives).
The three lockonfault modes are LOF_MODES; check_engines() checks that
each runs the engine it names (lockonfault --probe in that mode).
Every process started here is recorded and killed by its PID (or by the
process group made for it) when the test ends, however it ends.

Environment: LOF_TOP_BUILDDIR, LOF_TOP_SRCDIR (set by make check).
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import time

B = os.path.abspath(os.environ.get("LOF_TOP_BUILDDIR", os.getcwd()))
S = os.path.abspath(os.environ.get(
    "LOF_TOP_SRCDIR", os.path.join(os.path.dirname(__file__), "..", "..")))
WRAPPER = os.path.join(B, "lockonfault")
LIB = os.path.join(B, "src", ".libs", "liblockonfault.so")
SHIM = os.path.join(B, "test", "programs", ".libs", "libonfault.so")
K43 = os.path.join(B, "test", "sim43", "lof-kernel43")
LOF_MODES = ("auto", "sigsegv", "sim43")
MODES = ("native",) + LOF_MODES + ("onfault",)
# How each mode is named in bench/programs.md.
LABELS = {
    "native": "native",
    "auto": "lockonfault, auto (kernel flags)",
    "sigsegv": "lockonfault, sigsegv",
    "sim43": "lockonfault, simulated 4.3 (sigsegv emulating)",
    "onfault": "kernel MLOCK_ONFAULT",
}

# Scratch space and results live in the build tree, never elsewhere.
WORK = os.path.join(B, "test", "programs", "work")
RESULTS = os.path.join(B, "test", "programs", "results")

_procs = []
_results = []
_tests = []
_name = None


# ---------------------------------------------------------------------
# TAP: results are collected and printed with the plan at the end.
# ---------------------------------------------------------------------
def ok(cond, desc, diag=None):
    n = len(_tests) + 1
    _tests.append(bool(cond))
    print("%s %d - %s" % ("ok" if cond else "not ok", n, desc))
    if not cond and diag is not None:
        for line in str(diag).splitlines()[:40]:
            print("# " + line)
    sys.stdout.flush()
    return bool(cond)


def note(msg):
    for line in str(msg).splitlines():
        print("# " + line)
    sys.stdout.flush()


def skip_all(reason):
    print("1..0 # SKIP " + reason)
    sys.exit(0)


def bail(reason):
    print("Bail out! " + reason)
    sys.exit(1)


def start(name, needs=()):
    """Begin the test NAME; skip it if a program it needs is missing."""
    global _name
    _name = name
    for prog in needs:
        if not shutil.which(prog):
            skip_all("%s is not installed (scripts/programs-deps.sh)" % prog)
    for f in (WRAPPER, LIB, SHIM, K43):
        if not os.path.exists(f):
            bail("not built: %s (make check-programs builds it)" % f)
    for k in list(os.environ):
        if k.startswith("LOCKONFAULT_") or k == "LD_PRELOAD":
            del os.environ[k]
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(RESULTS, exist_ok=True)
    atexit.register(_finish)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, f: sys.exit(1))


def _finish():
    reap_all()
    with open(os.path.join(RESULTS, _name + ".json"), "w") as f:
        json.dump(_results, f, indent=1)
    print("1..%d" % len(_tests))
    sys.stdout.flush()


def result(**row):
    """A measured row for bench/programs.md (see report.py)."""
    _results.append(row)


# ---------------------------------------------------------------------
# Running programs.
# ---------------------------------------------------------------------
def command(mode, argv, env=None):
    """argv and environment to run ARGV in MODE."""
    e = dict(os.environ)
    e.update(env or {})
    if mode == "native":
        return list(argv), e
    if mode == "auto":
        return [WRAPPER, "--"] + list(argv), e
    if mode == "sigsegv":
        e["LOCKONFAULT_ENGINE"] = "sigsegv"
        return [WRAPPER, "--"] + list(argv), e
    if mode == "sim43":
        return [K43, WRAPPER, "--"] + list(argv), e
    if mode == "onfault":
        e["LD_PRELOAD"] = SHIM
        return list(argv), e
    raise ValueError(mode)


def probe(mode):
    """{field: value} of lockonfault --probe run in MODE (a LOF_MODE)."""
    a, e = command(mode, ["true"])
    a = a[:a.index("--")] + ["--probe"]
    p = subprocess.run(a, env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    d = {}
    for line in p.stdout.decode(errors="replace").splitlines():
        k, _, v = line.partition(": ")
        d[k] = v
    return d


_engines = {}


def engine_of(mode):
    """(engine, emulation) the library reports in MODE: what auto
    chooses on this kernel (native where it has the flags), sigsegv, and
    under the simulated 4.3 sigsegv supplying MLOCK_ONFAULT."""
    if mode not in _engines:
        p = probe(mode)
        kernel = p.get("mlock_onfault", "").startswith("yes")
        _engines[mode] = (p.get("engine"), "1" if p.get("engine") ==
                          "sigsegv" and not kernel else "0")
    return _engines[mode]


def check_engines():
    """One check per lockonfault mode: it runs the engine it stands for.
    auto: the kernel's flags where --probe finds MLOCK_ONFAULT (here),
    else the SIGSEGV engine emulating it; sigsegv: that engine over the
    kernel's flags; sim43: the kernel seen without mlock2, and the
    SIGSEGV engine emulating MLOCK_ONFAULT."""
    kernel = probe("auto").get("mlock_onfault", "").startswith("yes")
    want = {"auto": ("native", "0") if kernel else ("sigsegv", "1"),
            "sigsegv": ("sigsegv", "0" if kernel else "1"),
            "sim43": ("sigsegv", "1")}
    for m in LOF_MODES:
        got = engine_of(m)
        why = ""
        if m == "sim43":
            why = probe(m).get("mlock2", "")
            got = got if why.startswith("no") else (got, why)
        ok(got == want[m],
           "mode %s: the library runs engine=%s%s" % (
               m, want[m][0], ", emulating MLOCK_ONFAULT"
               if want[m][1] == "1" else ""),
           "lockonfault --probe in this mode: engine, emulation %s %s"
           % (got, why))


def report_ok(mode, rep, regions):
    """A --stats report REP of MODE shows the library at work: the
    engine the mode stands for, and under the SIGSEGV engine at least
    REGIONS pending ranges (the native engine keeps no table: the kernel
    does the work). Returns (bool, why)."""
    eng, emu = engine_of(mode)
    if len(rep) != 1 or rep[0].get("engine") != eng:
        return False, "want one report with engine=%s: %s" % (eng, rep)
    if eng == "sigsegv" and (rep[0].get("emulation") != emu or
                             int(rep[0].get("regions", 0)) < regions):
        return False, "want emulation=%s, regions>=%d: %s" % (
            emu, regions, rep)
    return True, ""


def as_user(argv, user="nobody", memlock=None):
    """ARGV run as USER (no supplementary groups) under a memlock limit."""
    pre = ["setpriv", "--reuid", user, "--regid", group_of(user),
           "--clear-groups"]
    if memlock is not None:
        pre += ["prlimit", "--memlock=%d:%d" % (memlock, memlock)]
    return pre + list(argv)


def group_of(user):
    import pwd
    import grp
    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name


def spawn(mode, argv, env=None, **kw):
    """Start ARGV in MODE in its own process group; reaped at exit."""
    a, e = command(mode, argv, env)
    p = subprocess.Popen(a, env=e, start_new_session=True, **kw)
    _procs.append(p)
    return p


def reap(p, sig=signal.SIGTERM, grace=10):
    """Stop P and whatever it forked into its group, by its PID."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    # Children that outlived their parent, still in the group.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if p in _procs:
        _procs.remove(p)
    return p.returncode


def reap_all():
    for p in list(_procs):
        reap(p, grace=5)


def run(mode, argv, env=None, timeout=120, stdin=subprocess.DEVNULL):
    """Run ARGV in MODE to the end, bounded in time.
    Returns (status, stdout bytes, stderr bytes, wall seconds);
    status is None when it timed out (and was killed)."""
    t0 = time.monotonic()
    p = spawn(mode, argv, env, stdin=stdin, stdout=subprocess.PIPE,
              stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        reap(p, signal.SIGKILL)
        out, err = p.communicate()
        status = None
    wall = time.monotonic() - t0
    reap(p)
    return status, out, err, wall


def read_until(p, token, timeout):
    """Read P's stdout until TOKEN; returns (seconds since t, bytes)."""
    import selectors
    buf = b""
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    end = time.monotonic() + timeout
    while token not in buf:
        left = end - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
    sel.close()
    return token in buf, buf


# ---------------------------------------------------------------------
# What the kernel says.
# ---------------------------------------------------------------------
def rollup(pid):
    """{field: kB} from /proc/PID/smaps_rollup; {} once PID is gone (it
    may exit between a poll() and the read: the caller's own checks of
    its status then say so)."""
    d = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "kB":
                    d[parts[0].rstrip(":")] = int(parts[1])
    except (ProcessLookupError, FileNotFoundError):
        return {}
    return d


def locked_kb(pid):
    """Locked: of PID, or -1 once PID is gone."""
    return rollup(pid).get("Locked", -1)


def vmlck_kb(pid):
    """VmLck: of /proc/PID/status: what the kernel charges to
    RLIMIT_MEMLOCK (every page of a locked mapping, touched or not)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmLck:"):
                return int(line.split()[1])
    return None


def max_map_count():
    with open("/proc/sys/vm/max_map_count") as f:
        return int(f.read())


def mib(kb):
    return "%.1f MiB" % (kb / 1024.0)


def stats_files(prefix):
    """The lockonfault --stats reports written to PREFIX.<pid>."""
    d, base = os.path.split(prefix)
    rows = []
    for n in sorted(os.listdir(d)):
        if n.startswith(base + "."):
            kv = {}
            with open(os.path.join(d, n)) as f:
                for line in f:
                    if line.startswith("lockonfault: ") and "=" in line:
                        k, v = line[13:].strip().split("=", 1)
                        kv[k] = v
            rows.append(kv)
            os.unlink(os.path.join(d, n))
    return rows


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if xs else None
