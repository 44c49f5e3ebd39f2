"""lofprog.py - what the program tests share: TAP output, the three ways
a program is run, processes that are always reaped, /proc figures, and
the timing rows that report.py turns into bench/programs.md.

A program runs in one of three modes:
  native   as it is;
  lof      under the build tree's wrapper, ./lockonfault -- CMD;
  onfault  with test/programs' shim preloaded, which turns every lock
           call into the kernel's own MLOCK_ONFAULT/MCL_ONFAULT variant
           (the reference: what the kernel itself gives).
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
MODES = ("native", "lof", "onfault")

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
    for f in (WRAPPER, LIB, SHIM):
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
    if mode == "lof":
        return [WRAPPER, "--"] + list(argv), e
    if mode == "onfault":
        e["LD_PRELOAD"] = SHIM
        return list(argv), e
    raise ValueError(mode)


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
    """{field: kB} from /proc/PID/smaps_rollup."""
    d = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                d[parts[0].rstrip(":")] = int(parts[1])
    return d


def locked_kb(pid):
    return rollup(pid)["Locked"]


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
