"""pyprobe.py - the program python.py runs: python3 calling every lock
function through ctypes on memory from the mmap module, then using
that memory through system calls, a fork and mlockall.

stdout gets only what must not depend on how locking is done (return
values, errno names, digests of the data), so it is compared byte for
byte across runs; stderr gets `fig NAME=KB` lines, Locked: of the
mapping in question (or of the process) at each step, which python.py
judges per mode.

Usage: pyprobe.py SCRATCH-DIR
"""
import ctypes
import errno
import hashlib
import mmap
import os
import socket
import sys

MiB = 1 << 20
PAGE = mmap.PAGESIZE
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
MAP_LOCKED = 0x2000

libc = ctypes.CDLL(None, use_errno=True)
vp, sz = ctypes.c_void_p, ctypes.c_size_t
for name, args in (("mlock", [vp, sz]), ("munlock", [vp, sz]),
                   ("mlock2", [vp, sz, ctypes.c_uint]),
                   ("mlockall", [ctypes.c_int]), ("munlockall", []),
                   ("munmap", [vp, sz]),
                   ("mmap", [vp, sz, ctypes.c_int, ctypes.c_int,
                             ctypes.c_int, ctypes.c_long])):
    getattr(libc, name).argtypes = args
libc.mmap.restype = vp


def call(name, *args):
    ctypes.set_errno(0)
    r = getattr(libc, name)(*args)
    e = ctypes.get_errno()
    if name == "mmap":
        r = -1 if r in (None, 2**64 - 1) else 0
    shown = "%s=%d" % (name, r) + (" %s" % errno.errorcode[e] if r else "")
    print(shown)
    return r


def addr(m, off=0):
    return ctypes.addressof(ctypes.c_char.from_buffer(m, off))


def locked():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Locked:"):
                return int(line.split()[1])


def locked_in(start, length):
    """Locked: of the mappings inside [start, start + length)."""
    kb, inside = 0, False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and ":" not in head:
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = start <= lo and hi <= start + length
            elif inside and line.startswith("Locked:"):
                kb += int(line.split()[1])
    return kb


def fig(name, start=None, length=None):
    """Locked: of the process, or of one mapping of ours."""
    kb = locked() if start is None else locked_in(start, length)
    sys.stderr.write("fig %s=%d\n" % (name, kb))
    sys.stderr.flush()


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def pattern(n, seed):
    return bytes((i * seed + (i >> 12)) & 0xFF for i in range(256)) * (n // 256)


def main():
    scratch = sys.argv[1]
    fig("start")

    # A 64 MiB mapping locked, then 8 MiB of it used.
    m = mmap.mmap(-1, 64 * MiB)
    a = addr(m)
    call("mlock", a, 64 * MiB)
    fig("mlock_64m", a, 64 * MiB)
    m[0:8 * MiB] = pattern(8 * MiB, 7)
    fig("touch_8m", a, 64 * MiB)
    print("data", digest(m[0:8 * MiB]))

    # The kernel's answers, through the library.
    call("mlock2", a, 64 * MiB, 0xFF)
    call("mlock", a + 1, 4 * MiB - 1)
    call("mlock", a + PAGE * 3 + 5, PAGE)
    call("mlockall", 0)
    call("mlockall", MCL_ONFAULT)
    call("mlockall", 0x100)
    call("mlock", 0xFFFFFFFFFFFFF000, 2 * PAGE)
    ha = libc.mmap(None, 3 * MiB, mmap.PROT_READ | mmap.PROT_WRITE,
                   mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    call("munmap", ha + MiB, MiB)        # a hole in the middle
    call("mlock", ha, 3 * MiB)          # ENOMEM, the part before locked
    call("munlock", ha, 3 * MiB)
    call("munmap", ha, MiB)             # only what is still ours: the
    call("munmap", ha + 2 * MiB, MiB)   # hole may hold a new mapping
    call("munlock", a + 32 * MiB, 32 * MiB)

    # System calls into pending memory: read, recv, write, send.
    p = mmap.mmap(-1, 16 * MiB)
    pa = addr(p)
    call("mlock", pa, 16 * MiB)
    path = os.path.join(scratch, "pyprobe.data")
    with open(path, "wb") as f:
        f.write(pattern(4 * MiB, 13))
    fd = os.open(path, os.O_RDONLY)
    mv = memoryview(p)
    print("readv", os.readv(fd, [mv[0:4 * MiB]]))
    os.close(fd)
    print("read data", digest(p[0:4 * MiB]))
    s1, s2 = socket.socketpair()
    sent = s1.send(mv[0:64 * 1024])
    got = s2.recv_into(mv[8 * MiB:8 * MiB + 64 * 1024])
    print("socket", sent, got, digest(p[8 * MiB:8 * MiB + 64 * 1024]))
    s1.close()
    s2.close()
    fd = os.open(os.path.join(scratch, "pyprobe.out"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    print("write", os.write(fd, mv[12 * MiB:13 * MiB]))
    os.close(fd)
    mv.release()

    # A file mapping, locked and read.
    fd = os.open(path, os.O_RDONLY)
    fm = mmap.mmap(fd, 4 * MiB, mmap.MAP_SHARED, mmap.PROT_READ)
    os.close(fd)
    call("mlock", libc_addr_of_ro(fm), 4 * MiB)
    print("file data", digest(fm[:]))

    # fork: the child reads everything and holds no lock.
    pid = os.fork()
    if pid == 0:
        ok = digest(m[0:8 * MiB]) == digest(pattern(8 * MiB, 7))
        p[15 * MiB] = 1           # a pending page, untouched so far
        os._exit(0 if ok and locked() == 0 else 1)
    print("child", os.waitpid(pid, 0)[1])

    # mlockall: later mappings lock on fault; munlockall ends it all.
    call("mlockall", MCL_CURRENT | MCL_FUTURE)
    fig("mlockall")
    n = mmap.mmap(-1, 256 * MiB)
    na = addr(n)
    fig("new_256m", na, 256 * MiB)
    n[0:16 * MiB] = b"\x5a" * (16 * MiB)
    fig("new_touch_16m", na, 256 * MiB)
    print("new data", digest(n[0:16 * MiB]))
    call("munlockall")
    fig("munlockall")

    # MAP_LOCKED.
    r = libc.mmap(None, 32 * MiB, mmap.PROT_READ | mmap.PROT_WRITE,
                  mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_LOCKED, -1, 0)
    print("map_locked", r is not None and r != 2**64 - 1)
    fig("map_locked_32m", r, 32 * MiB)
    ctypes.memset(r, 0x33, 2 * MiB)
    fig("map_locked_touch_2m", r, 32 * MiB)
    print("map_locked data", digest(ctypes.string_at(r, 2 * MiB)))
    call("munmap", r, 32 * MiB)
    fig("end")


def libc_addr_of_ro(m):
    # A read-only mmap object refuses from_buffer; find it in our maps.
    import re
    want = os.path.realpath(os.path.join(sys.argv[1], "pyprobe.data"))
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip().endswith(want):
                return int(re.match(r"([0-9a-f]+)-", line).group(1), 16)
    raise RuntimeError("file mapping not found")


if __name__ == "__main__":
    main()
