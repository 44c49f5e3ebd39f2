"""go-vault.py - a static Go program with the memory pattern of
HashiCorp Vault and OpenBao (test/programs/govault/main.go): mlockall
(MCL_CURRENT | MCL_FUTURE) at start, a 1 GiB database file mapped
read-only and shared, one byte read per MiB, then 1 GiB of heap with one
byte written per MiB. LD_PRELOAD cannot reach a static Go binary: under
./lockonfault the supervisor rewrites its mlockall into the kernel's
MCL_ONFAULT (issue 13).

Each pattern (STRIDES) is run three ways, the file's pages dropped from the page cache before
each (posix_fadvise DONTNEED: nothing system-wide changes):
  native    as it is: everything locked and faulted in at mmap;
  auto      ./lockonfault -- govault: the supervisor;
  onfault   govault -onfault: the program asks for MCL_ONFAULT itself,
            the kernel's own lock-on-fault, the reference.
Checks: under the wrapper the mlockall is lazy (VmFlags "lf" on the
file's mapping), Locked: is within 2x of the reference's, and the mmap
takes no longer than the reference's plus 10 ms. Figures go to
bench/programs.md.

Needs golang-go (scripts/programs-deps.sh installs it); the Go build
cache lives in the build tree.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lofprog as T  # noqa: E402

DB_BYTES = 1 << 30
HEAP_MIB = 1024
# The pattern, one page per MiB; and a sparser one. On a machine
# with a large read_ahead_kb (8 MiB here) and transparent huge pages,
# the kernel itself maps nearly everything at one page per MiB, even
# with MCL_ONFAULT: the sparser pattern shows what lock-on-fault saves.
STRIDES = (1, 64)


def build(work):
    """go build the program, static (CGO_ENABLED=0); its path."""
    out = os.path.join(work, "govault")
    env = dict(os.environ, CGO_ENABLED="0", GO111MODULE="off",
               GOCACHE=os.path.join(work, "gocache"),
               GOPATH=os.path.join(work, "gopath"),
               GOTMPDIR=work, HOME=work)
    src = os.path.join(T.S, "test", "programs", "govault", "main.go")
    r = subprocess.run(["go", "build", "-o", out, src], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        T.bail("go build failed:\n" + r.stdout.decode(errors="replace"))
    return out


def make_db(path):
    """A 1 GiB file of data (not a sparse one: a database has data)."""
    if os.path.exists(path) and os.path.getsize(path) == DB_BYTES:
        return
    chunk = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for _ in range(DB_BYTES >> 20):
            f.write(chunk)


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def db_vmflags(pid, db):
    """VmFlags of the file's mapping in /proc/PID/smaps."""
    inside = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if "-" in line.split(" ")[0] and not line.startswith("VmFlags"):
                inside = line.rstrip().endswith(db)
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    return []


def hold(mode, prog, db, stride):
    drop_cache(db)
    argv = [prog, "-heap", str(HEAP_MIB), "-stride", str(stride), "-db", db]
    if mode == "onfault":
        argv.insert(1, "-onfault")
        p = T.spawn("native", argv, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    else:
        p = T.spawn(mode, argv, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    ready, out = T.read_until(p, b"ready", 120)
    r = {"ready": ready, "s": time.monotonic() - t0, "out": out}
    if ready:
        r["kb"] = T.locked_kb(p.pid)
        r["flags"] = db_vmflags(p.pid, db)
        for w in out.decode(errors="replace").split():
            if w.startswith("mmap_ms="):
                r["mmap_ms"] = float(w.split("=")[1])
    p.stdin.close()
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        pass
    r["status"] = T.reap(p)
    r["err"] = p.stderr.read().decode(errors="replace")
    return r


def pattern(prog, db, stride):
    """The three runs at one stride, and the checks."""
    runs = {m: hold(m, prog, db, stride)
            for m in ("native", "auto", "onfault")}
    tag = "one page per %d MiB" % stride
    for m, r in runs.items():
        T.ok(r["ready"] and r["status"] == 0,
             "govault %s, %s: ready, exit 0" % (m, tag),
             "%s\n%s" % (r["out"], r.get("err")))
        if r["ready"]:
            T.note("%s, %s: Locked %s, mmap %.3f ms, ready after %.0f ms, "
                   "VmFlags %s" % (m, tag, T.mib(r["kb"]), r["mmap_ms"],
                                   r["s"] * 1000, " ".join(r["flags"])))
            T.result(program="go-vault (static Go), %s" % tag,
                     what="launch to `ready` (Locked: then)", mode=m,
                     seconds=r["s"], locked_end_kb=r["kb"])
    a, o, n = runs["auto"], runs["onfault"], runs["native"]
    if not (a["ready"] and o["ready"]):
        return
    T.ok("lf" in a["flags"] and "lo" in a["flags"],
         "%s: under lockonfault the file's mapping is lo lf (lazy)" % tag,
         " ".join(a["flags"]))
    T.ok(a["kb"] <= 2 * o["kb"],
         "%s: under lockonfault Locked %s is within 2x of MCL_ONFAULT's "
         "%s (native %s)" % (tag, T.mib(a["kb"]), T.mib(o["kb"]),
                             T.mib(n.get("kb", 0))))
    T.ok(a["mmap_ms"] <= o["mmap_ms"] + 10,
         "%s: under lockonfault the mmap takes %.3f ms (MCL_ONFAULT: "
         "%.3f ms, native %.1f ms)" % (tag, a["mmap_ms"], o["mmap_ms"],
                                      n.get("mmap_ms", -1)))


def main():
    T.start("go-vault", needs=["go"])
    work = os.path.join(T.WORK, "go-vault")
    os.makedirs(work, exist_ok=True)
    try:
        prog = build(work)
        db = os.path.join(work, "vault.db")
        make_db(db)
        for stride in STRIDES:
            pattern(prog, db, stride)
        r = T.run("auto", [prog, "-heap", "0", "-db", db], env=None,
                  timeout=60, stdin=subprocess.DEVNULL)
        T.ok(r[0] == 0 and not r[2],
             "under lockonfault nothing on stderr", r[2])
        r = T.run("native", [T.WRAPPER, "--supervise=never", "--", prog,
                             "-heap", "0", "-db", db], timeout=120)
        T.ok(r[2].count(b"\n") == 1 and b"statically linked" in r[2],
             "--supervise=never: one warning line", r[2])
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
