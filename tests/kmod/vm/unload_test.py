#!/usr/bin/env python3
"""unload_test.py - unloading hmm_mirror.ko while something still needs it.

A VM suite of make test (tests/vm/guest-suite.sh), run after the
conformance suites: it unloads the module and loads it again, with the
parameters it had (read from /sys/module/hmm_mirror/parameters), from
$HMM_MODULE (the .ko the VM runner loaded; make vm-test passes it), so
suites after it still find it.  Writes $HMM_RESULTS/unload_test.counts
("passed failed skipped").

The behaviour (abi/README.md, "Unloading"): the module cannot be unloaded
while a mirror is open, nor while any page is in its device memory, even
with no mirror open; delete_module(2) then fails with EAGAIN
(EWOULDBLOCK; rmmod(8) says "in use").  Once the pages are freed (munmap,
exit) it unloads.  The device-memory checks need
HMM_MIRROR_FEAT_DEVICE_MEMORY and are skipped, naming it, without.

Raw ioctls through ctypes: no library or binding needed, so this also
checks the ABI numbers by hand.
"""
import ctypes
import errno
import mmap
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

DEV = "/dev/hmm_mirror"
NAME = "hmm_mirror"
PARAMS = Path("/sys/module") / NAME / "parameters"
MAGIC = 0xB2
IOC_HANDSHAKE = (MAGIC << 8) | 0x00   # _IO(0xB2, 0): no size in the number
IOC_MIGRATE = (MAGIC << 8) | 0x09
FEAT_DEVICE_MEMORY = 1 << 15
SYS_DELETE_MODULE = 176               # x86_64
O_NONBLOCK = os.O_NONBLOCK
PAGES = 64

libc = ctypes.CDLL(None, use_errno=True)
results = {"passed": 0, "failed": 0, "skipped": 0}


def report(ok, what, skip=None):
    if skip is not None:
        results["skipped"] += 1
        print(f"SKIP {what}: {skip}")
    elif ok:
        results["passed"] += 1
        print(f"ok   {what}")
    else:
        results["failed"] += 1
        print(f"FAIL {what}")


def ioctl(fd, cmd, buf):
    b = ctypes.create_string_buffer(bytes(buf), len(buf))
    if libc.ioctl(fd, ctypes.c_ulong(cmd), b) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return b.raw


def handshake(fd):
    """(features_supported, device_memory_size) of an ABI 4 handshake."""
    hs = struct.pack("=IIII QQQ II QQQ", 72, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    out = ioctl(fd, IOC_HANDSHAKE, hs)
    f = struct.unpack_from("=IIII QQQ II QQQ", out)
    return f[5], f[10]


def migrate(fd, addr, length):
    """Pages moved into device memory."""
    a = struct.pack("=II QQQQ QQ", 56, 0, addr, length, 0, 0, 0, 0)
    out = ioctl(fd, IOC_MIGRATE, a)
    return struct.unpack_from("=II QQQQ QQ", out)[6]


def delete_module():
    """0, or the errno of delete_module(NAME, O_NONBLOCK)."""
    rc = libc.syscall(SYS_DELETE_MODULE, NAME.encode(), O_NONBLOCK)
    return 0 if rc == 0 else ctypes.get_errno()


def refcnt():
    try:
        return int((Path("/sys/module") / NAME / "refcnt").read_text())
    except OSError:
        return -1


def loaded():
    return (Path("/sys/module") / NAME).exists()


def unload_eventually():
    """Unload, retrying briefly (a freed page's reference goes after the
    free callback returns); 0 or the last errno."""
    e = 0
    for _ in range(50):
        e = delete_module()
        if e != errno.EAGAIN:
            return e
        time.sleep(0.1)
    return e


def tool(name):
    """kmod's tool: the guest's PATH is the host user's, maybe sbin-less."""
    for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
        if os.access(f"{d}/{name}", os.X_OK):
            return f"{d}/{name}"
    return name


def load(module, params):
    r = subprocess.run([tool("insmod"), module] + params,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"insmod {module} {' '.join(params)}: {r.stderr.strip()}")
        return False
    for _ in range(50):         # devtmpfs makes the node asynchronously
        if os.path.exists(DEV):
            return True
        time.sleep(0.1)
    return False


def hold_pages(ready_w, go_r):
    """Child: move PAGES pages into device memory, close the mirror, say
    how many moved, wait for the word, exit (freeing them)."""
    moved = 0
    try:
        fd = os.open(DEV, os.O_RDWR)
        mem = mmap.mmap(-1, PAGES * mmap.PAGESIZE,
                        mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        mem[:] = bytes(range(256)) * (PAGES * mmap.PAGESIZE // 256)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
        moved = migrate(fd, addr, PAGES * mmap.PAGESIZE)
        os.close(fd)
    except OSError as e:
        print(f"child: {e}")
    os.write(ready_w, f"{moved}\n".encode())
    os.read(go_r, 1)
    os._exit(0)


def main():
    out = os.environ.get("HMM_RESULTS", "/tmp")
    module = os.environ.get("HMM_MODULE", "")
    counts = Path(out) / "unload_test.counts"
    if not loaded() or not module or not os.path.exists(module):
        print(f"unload_test: module not loaded or HMM_MODULE ({module!r}) "
              "missing: run through make vm-test")
        counts.write_text("0 1 0\n")
        return 1
    params = []
    for p in sorted(PARAMS.iterdir()) if PARAMS.exists() else []:
        try:
            params.append(f"{p.name}={p.read_text().strip()}")
        except OSError:
            pass

    fd = os.open(DEV, os.O_RDWR)
    features, dm_size = handshake(fd)
    # 1. An open mirror keeps the module.
    e = delete_module()
    report(e == errno.EAGAIN, f"an open mirror: delete_module is EAGAIN "
           f"(got {errno.errorcode.get(e, e)}, refcnt {refcnt()})")
    r = subprocess.run([tool("rmmod"), NAME], capture_output=True, text=True)
    report(r.returncode != 0 and loaded(),
           f"an open mirror: rmmod fails ({r.stderr.strip()!r})")
    os.close(fd)

    # 2. Pages in device memory keep it, with no mirror open.
    skip = None if features & FEAT_DEVICE_MEMORY else \
        "the module does not advertise HMM_MIRROR_FEAT_DEVICE_MEMORY (bit 15)"
    if skip:
        for what in ("pages out: delete_module is EAGAIN",
                     "pages out: rmmod fails", "pages freed: unloads"):
            report(False, what, skip)
    else:
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ready_r)
            os.close(go_w)
            hold_pages(ready_w, go_r)
        os.close(ready_w)
        os.close(go_r)
        moved = int(os.read(ready_r, 64).decode().strip() or 0)
        report(moved == PAGES, f"{moved} of {PAGES} pages moved to device "
               f"memory ({dm_size >> 20} MiB), the mirror closed")
        e = delete_module()
        report(e == errno.EAGAIN and loaded(),
               f"pages out: delete_module is EAGAIN (got "
               f"{errno.errorcode.get(e, e)}, refcnt {refcnt()})")
        r = subprocess.run([tool("rmmod"), NAME], capture_output=True, text=True)
        report(r.returncode != 0 and loaded(),
               f"pages out: rmmod fails ({r.stderr.strip()!r})")
        os.write(go_w, b"x")
        _, status = os.waitpid(pid, 0)
        report(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
               "the holder exited")
        e = unload_eventually()
        report(e == 0 and not loaded(),
               f"pages freed: unloads (errno {errno.errorcode.get(e, e)})")

    # 3. Nothing needs it: it unloads (if step 2 did not already).
    if loaded():
        e = unload_eventually()
        report(e == 0 and not loaded(),
               f"nothing open: unloads (errno {errno.errorcode.get(e, e)})")
    # 4. Back for whatever runs next, as it was.
    ok = load(module, params)
    report(ok, f"reloaded with {' '.join(params) or 'no parameters'}")
    if ok:
        fd = os.open(DEV, os.O_RDWR)
        f2, dm2 = handshake(fd)
        os.close(fd)
        report(f2 == features and dm2 == dm_size,
               "the reloaded module answers as before")

    counts.write_text(f"{results['passed']} {results['failed']} "
                      f"{results['skipped']}\n")
    print(f"unload_test: {results['passed']} passed, {results['failed']} "
          f"failed, {results['skipped']} skipped")
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
