"""Every Mirror call against the real module."""
from __future__ import annotations

import array
import errno
import mmap
import os
import socket

import pytest

import hmm_mirror as hm
from scripted_target import ScriptedTarget, spawn_target  # tests/python/scripted_target.py
from hmm_mirror import PageFlag as F

RW = F.VALID | F.WRITE


# ---------------------------------------------------------------- lifetime

def test_open_handshake_and_info(ps: int) -> None:
    with hm.Mirror() as m:
        assert m.pid is None and not m.closed
        info = m.info
        assert info.abi_version >= 1 and info.lib_abi_version == hm.ABI_VERSION
        assert info.page_size == m.page_size == ps
        assert info.features == m.features
        assert info.features & hm.Feature.FAULT and info.features & hm.Feature.STATS
        assert m.features.names[:2] == ["fault", "snapshot"]
        assert {"HANDSHAKE", "FAULT", "SNAPSHOT", "QUERY", "STATS"} <= set(info.commands)
        assert m.handshake() == info  # no side effects, same answer
        m.require(hm.Feature.FAULT | hm.Feature.EVENTS)
        assert "mirroring self" in repr(m)
        fd = m.fileno()
        assert fd > 2 and os.get_inheritable(fd) is False
    assert m.closed and repr(m) == "<hmm_mirror.Mirror closed>"


def test_require_missing_feature() -> None:
    with hm.Mirror() as m:
        with pytest.raises(hm.UnsupportedFeatureError) as info:
            m.require(1 << 40)
        assert info.value.errno == errno.EOPNOTSUPP
        assert "bit 40" in str(info.value)


def test_closed_mirror_raises(ps: int) -> None:
    m = hm.Mirror()
    m.close()
    m.close()  # idempotent
    for call in (m.fileno, m.handshake, m.stats, lambda: m.fault(0, ps),
                 lambda: m.snapshot(0, ps), lambda: m.next_event(0)):
        with pytest.raises(hm.MirrorClosedError) as info:
            call()
        assert info.value.errno == errno.EBADF


def test_closing_releases_the_device_table(target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(4 * ps)
    with hm.Mirror(pid=target.pid) as m:
        m.fault(addr, 4 * ps)
        with hm.Mirror() as other:
            before = other.global_stats().mirrors
    with hm.Mirror() as other:
        assert other.global_stats().mirrors == before - 1


# ---------------------------------------------------------------- attach

def test_attach_by_pid_and_pidfd(target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(2 * ps, fill=0x41)
    with hm.Mirror(pid=target.pid) as m:
        assert m.pid == target.pid and f"pid {target.pid}" in repr(m)
        assert m.read(addr, 2) == b"AA"
    pidfd = os.pidfd_open(target.pid)
    try:
        with hm.Mirror(pidfd=pidfd) as m:
            assert m.pid == target.pid
            assert m.read(addr, 2) == b"AA"
        with hm.Mirror() as m:
            m.attach_pidfd(pidfd)
            assert m.read(addr, 2) == b"AA"
    finally:
        os.close(pidfd)
    with pytest.raises(ValueError):
        hm.Mirror(pid=target.pid, pidfd=0)


def test_attach_errors(target: ScriptedTarget, ps: int) -> None:
    with hm.Mirror() as m:
        with pytest.raises(hm.TargetExitedError) as info:
            m.attach(2 ** 22 + 1)  # no such process
        assert isinstance(info.value, ProcessLookupError)
        with pytest.raises(hm.HmmMirrorError) as info:
            m.attach(0)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(hm.HmmMirrorError) as info:
            m.attach_pidfd(m.fileno())  # not a pidfd
        assert info.value.errno == errno.EBADF
        buf = mmap.mmap(-1, ps)
        m.fault(hm.address_of(buf), ps)  # the device maps our page now
        with pytest.raises(hm.HmmMirrorError) as info:
            m.attach(target.pid)
        assert info.value.errno == errno.EBUSY
        assert m.pid is None


# ---------------------------------------------------------------- fault, snapshot, query

def test_fault_snapshot_query(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(8 * ps, fill=1)
    assert mirror.snapshot(addr, 8 * ps) == [RW] * 8
    assert mirror.query(addr, 8 * ps) == [0] * 8
    assert mirror.fault(addr, 4 * ps) == hm.FaultResult(pages_mapped=4, retries=0)
    states = mirror.query(addr, 8 * ps)
    assert all(isinstance(s, hm.PageState) for s in states)
    # A read fault of a writable page maps it writable: the device sees the CPU's entry.
    assert [s.valid for s in states] == [True] * 4 + [False] * 4
    res = mirror.fault(addr, 8 * ps, write=True)
    assert res.pages_mapped == 8 and res.retries >= 0
    assert mirror.query(addr, 8 * ps, collapse=True) == [hm.PageRange(addr, addr + 8 * ps, RW)]


def test_snapshot_does_not_fault(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(4 * ps, populate=False)
    assert mirror.snapshot(addr, 4 * ps, collapse=True) == [(addr, addr + 4 * ps, 0)]
    mirror.fault(addr, 2 * ps)  # read fault of untouched anonymous memory: zero page
    snap = mirror.snapshot(addr, 4 * ps)
    assert snap[0].valid and snap[0].zero and not snap[0].writable
    assert snap[2:] == [0, 0]
    assert mirror.query(addr, 2 * ps) == snap[:2]
    assert mirror.query(addr + 2 * ps, 2 * ps) == [0, 0]


def test_snapshot_protection_and_error(mirror: hm.Mirror, target: ScriptedTarget,
                                       ps: int) -> None:
    addr = target.mmap(3 * ps, fill=7)
    target.mprotect(addr, ps, "r")
    target.mprotect(addr + ps, ps, "none")
    ro, err, rw = mirror.snapshot(addr, 3 * ps)
    assert ro.flags == F.VALID and rw.flags == RW
    assert err.error and not err.valid
    assert mirror.snapshot(addr, 3 * ps, collapse=True)[1] == (addr + ps, addr + 2 * ps, err)


def test_snapshot_runs_match_the_collapsed_snapshot(mirror: hm.Mirror,
                                                    target: ScriptedTarget,
                                                    ps: int) -> None:
    addr = target.mmap(6 * ps, fill=3)
    target.mprotect(addr + ps, ps, "r")
    target.mprotect(addr + 2 * ps, ps, "none")
    runs = mirror.snapshot_runs(addr, 6 * ps)
    assert runs == mirror.snapshot(addr, 6 * ps, collapse=True)
    assert [r.state.flags for r in runs] == [RW, F.VALID, F.ERROR, RW]
    assert runs[-1] == hm.PageRange(addr + 3 * ps, addr + 6 * ps, runs[0].state)


def test_snapshot_runs_beyond_one_batch(mirror: hm.Mirror, target: ScriptedTarget,
                                        ps: int) -> None:
    # 1100 runs (every other page read-only): more than one library call.
    pages = 1100
    addr = target.mmap(pages * ps, fill=5)
    for i in range(1, pages, 2):
        target.mprotect(addr + i * ps, ps, "r")
    runs = mirror.snapshot_runs(addr, pages * ps)
    assert len(runs) == pages
    assert runs == mirror.snapshot(addr, pages * ps, collapse=True)


def test_runs_is_a_generator_over_the_walk(mirror: hm.Mirror,
                                           target: ScriptedTarget, ps: int) -> None:
    pages = 1100
    addr = target.mmap(pages * ps, fill=5)
    for i in range(1, pages, 2):
        target.mprotect(addr + i * ps, ps, "r")
    walk = mirror.runs(addr, pages * ps)
    assert next(walk) == hm.PageRange(addr, addr + ps, mirror.snapshot(addr, ps)[0])
    assert len(list(walk)) == pages - 1
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.runs(addr + 1, ps)  # refused at the call, not at the first next()
    assert info.value.errno == errno.EINVAL


def test_huge_entries(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    size = 4 << 20
    addr = target.mmap(size + (2 << 20), fill=None, populate=False)
    start = (addr + (2 << 20) - 1) & ~((2 << 20) - 1)  # a 2M aligned 4M inside
    target.madvise(start, size, "hugepage")
    target.fill(start, size, 9)
    snap = mirror.snapshot(start, size, collapse=True)
    if any(r.state.order != 9 for r in snap):
        pytest.skip(f"no THP in this kernel (snapshot {snap})")
    mirror.fault(start, size, write=True)
    q = mirror.query(start, size, collapse=True)
    assert q == [hm.PageRange(start, start + size, hm.PageState.make(RW, 9))]
    assert "2M" in hm.format_page_table(q)


def test_fault_errors(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(4 * ps, fill=0)
    target.munmap(addr + 3 * ps, ps)
    target.mprotect(addr + ps, ps, "r")
    target.mprotect(addr + 2 * ps, ps, "none")
    with pytest.raises(hm.MirrorPermissionError) as info:
        mirror.fault(addr + ps, ps, write=True)
    assert info.value.errno == errno.EPERM and isinstance(info.value, PermissionError)
    assert f"pid {target.pid}" in str(info.value)
    for bad in (addr + 2 * ps, addr + 3 * ps):  # PROT_NONE, unmapped
        with pytest.raises(hm.HmmMirrorError) as info:
            mirror.fault(bad, ps)
        assert info.value.errno == errno.EFAULT
    for a, n in ((addr + 1, ps), (addr, ps + 1), (addr, 0), (-ps, ps), (addr, -ps)):
        with pytest.raises(hm.HmmMirrorError) as info:
            mirror.fault(a, n)
        assert info.value.errno == errno.EINVAL, (a, n)
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.snapshot(addr, ps * (hm.mirror.MAX_STATES + 1))
    assert info.value.errno == errno.EINVAL
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.query(addr + 1, ps)
    assert info.value.errno == errno.EINVAL


# ---------------------------------------------------------------- read, write

def _buffers(n: int) -> list:
    out = [bytearray(n), memoryview(bytearray(n)), array.array("I", bytes(n)),
           mmap.mmap(-1, n)]
    try:
        import numpy  # optional: tested when installed
        out.append(numpy.zeros(n // 4, dtype=numpy.uint32))
    except ImportError:
        pass
    return out


def test_read_and_write_target(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(4 * ps, fill=0x61)
    assert mirror.read(addr, 4 * ps) == b"a" * 4 * ps
    assert mirror.read(addr + 10, 5) == b"aaaaa"  # unaligned: enclosing pages
    assert mirror.read(addr, 0) == b""
    data = bytes(range(256)) * (ps // 256)
    assert mirror.write(addr + ps, data).bytes_copied == ps
    assert target.peek(addr + ps, 256) == bytes(range(256))
    assert mirror.read(addr + ps + 1, 3) == b"\x01\x02\x03"
    target.poke(addr, b"CPU")
    assert mirror.read(addr, 3) == b"CPU"  # coherent both ways


@pytest.mark.parametrize("kind", range(len(_buffers(4096))))
def test_read_into_and_write_buffers(mirror: hm.Mirror, target: ScriptedTarget,
                                     ps: int, kind: int) -> None:
    addr = target.mmap(2 * ps, fill=0x7A)
    buf = _buffers(2 * ps)[kind]
    done = mirror.read_into(addr, buf)
    assert done == hm.CopyResult(bytes_copied=2 * ps, device_faults=1)  # one fault for the run
    assert bytes(memoryview(buf).cast("B")) == b"z" * 2 * ps
    assert mirror.read_into(addr, buf).device_faults == 0  # still mapped: no fault
    view = memoryview(buf).cast("B")
    view[:4] = b"dev!"
    mirror.write(addr, buf)
    assert target.peek(addr, 5) == b"dev!z"


def test_read_write_zero_copy_self(ps: int) -> None:
    """Mirroring this process: the kernel copies between our own buffers."""
    src = mmap.mmap(-1, 2 * ps)
    src[:5] = b"hello"
    dst = bytearray(2 * ps)
    with hm.Mirror() as m:
        m.read_into(hm.address_of(src), dst)
        assert dst[:5] == b"hello"
        m.write(hm.address_of(src) + ps, memoryview(dst)[:ps])
        assert src[ps:ps + 5] == b"hello"


def test_read_write_errors(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(2 * ps, fill=0)
    target.mprotect(addr + ps, ps, "r")
    with pytest.raises(hm.MirrorPermissionError):
        mirror.write(addr + ps, bytes(ps))
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.write(addr, bytes(100))  # not a page multiple
    assert info.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        mirror.read_into(addr, bytes(ps))  # read-only buffer
    target.munmap(addr, 2 * ps)
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.read(addr, ps)
    assert info.value.errno == errno.EFAULT


# ---------------------------------------------------------------- helpers on the real device

def test_find_mapping_and_table(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(6 * ps, fill=1)
    vma = target.find_mapping(addr)  # may be merged with a neighbour
    assert vma is not None and addr in vma and addr + 6 * ps <= vma.end
    assert vma.perms == "rw-p" and vma.anonymous
    mirror.fault(addr, 2 * ps, write=True)
    text = hm.format_page_table(mirror.query(addr, 6 * ps, collapse=True),
                                page_size=mirror.page_size, title=str(vma))
    lines = text.splitlines()
    assert lines[0] == f"0x{vma.start:x}-0x{vma.end:x} rw-p [anon]"
    assert lines[2].split() == [f"0x{addr:x}", f"0x{addr + 2 * ps:x}", "2", "valid|write", "4K"]
    assert lines[3].split()[2:] == ["4", "-"]


def test_mirror_any_program(ps: int) -> None:
    with spawn_target(["sleep", "60"]) as t, \
            hm.Mirror(pid=t.pid) as m:
        stack = next(v for v in t.maps() if v.pathname == "[stack]")
        snap = m.snapshot(stack.start, stack.size, collapse=True)
        assert any(r.state.valid and r.state.writable for r in snap)
        top = snap[-1]
        assert top.state.valid and m.read(top.end - ps, ps)


# ---------------------------------------------------------------- ABI 3, from_fd

def test_read_into_and_write_report_what_they_copied(mirror: hm.Mirror,
                                                     target: ScriptedTarget,
                                                     ps: int) -> None:
    addr = target.mmap(12 * ps, fill=0x41)
    buf = bytearray(12 * ps)
    done = mirror.read_into(addr, buf)
    assert done == hm.CopyResult(12 * ps, 1)
    assert done.bytes_copied == 12 * ps and done.device_faults == 1
    assert mirror.write(addr, buf).bytes_copied == 12 * ps
    # Pages 0-3 mapped by the device, 4-7 PROT_NONE: a copy stops there.
    mirror.fault(addr, 4 * ps, write=True)
    target.mprotect(addr + 4 * ps, 4 * ps, "none")
    buf[:] = b"\xee" * len(buf)
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.read_into(addr, buf)
    assert info.value.errno == errno.EFAULT
    assert info.value.bytes_copied == 4 * ps
    assert buf[:4 * ps] == b"A" * 4 * ps and buf[4 * ps:] == b"\xee" * 8 * ps
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.write(addr, bytes(12 * ps))
    assert info.value.bytes_copied == 4 * ps
    # read() counts from the address asked for, not the page before it.
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.read(addr + 100, 8 * ps)
    assert info.value.bytes_copied == 4 * ps - 100
    # Refused arguments: nothing copied; other calls: not applicable.
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.write(addr, bytes(100))
    assert info.value.errno == errno.EINVAL and info.value.bytes_copied == 0
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.fault(addr + 4 * ps, ps)
    assert info.value.bytes_copied is None


def test_handshake_reports_the_address_limit(mirror: hm.Mirror, ps: int) -> None:
    assert mirror.info.abi_version == 5
    assert hm.Feature.ADDR_LIMIT in mirror.features
    limit = mirror.info.addr_limit
    assert limit == 1 << 48
    with pytest.raises(hm.HmmMirrorError) as info:
        mirror.snapshot(limit - ps, 2 * ps)
    assert info.value.errno == errno.EINVAL
    assert "address limit 0x1000000000000" in str(info.value)


def test_from_fd_of_a_descriptor_sent_over_a_unix_socket(ps: int) -> None:
    """A broker opens the device and sends the descriptor with SCM_RIGHTS:
    the receiver's mirror is the broker's, and reads its memory."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:  # the broker
        status = 1
        try:
            parent.close()
            mem = mmap.mmap(-1, 4 * ps)
            mem[:] = b"broker" + bytes(4 * ps - 6)
            fd = os.open(hm.DEVICE_PATH, os.O_RDWR | os.O_CLOEXEC)
            socket.send_fds(child, [hm.address_of(mem).to_bytes(8, "little")], [fd])
            os.close(fd)
            child.recv(1)  # until the receiver is done
            status = 0
        finally:
            os._exit(status)
    child.close()
    try:
        msg, fds, _, _ = socket.recv_fds(parent, 8, 1)
        assert len(fds) == 1
        addr = int.from_bytes(msg, "little")
        with hm.Mirror.from_fd(fds[0]) as m:
            assert m.fileno() == fds[0] and m.pid is None
            assert m.path == hm.DEVICE_PATH
            assert os.get_blocking(fds[0]) is False
            assert m.read(addr, 6) == b"broker"
            assert m.query(addr, ps)[0].valid
        with pytest.raises(OSError):
            os.fstat(fds[0])  # closed with the mirror
    finally:
        parent.close()
        _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_from_fd_of_a_duplicate_shares_the_mirror(ps: int) -> None:
    mem = mmap.mmap(-1, 2 * ps)
    mem[:4] = b"same"
    addr = hm.address_of(mem)
    with hm.Mirror() as mine:
        mine.fault(addr, 2 * ps)
        with hm.Mirror.from_fd(os.dup(mine.fileno())) as other:
            assert other.info == mine.info
            assert all(s.valid for s in other.query(addr, 2 * ps))
            assert other.read(addr, 4) == b"same"
        assert mine.read(addr, 4) == b"same"  # still open


def test_from_fd_refuses_what_is_not_the_device() -> None:
    fd = os.open("/dev/null", os.O_RDWR)
    try:
        with pytest.raises(hm.HmmMirrorError) as info:
            hm.Mirror.from_fd(fd)
        assert info.value.errno == errno.ENOTTY
        assert "not an hmm_mirror device" in str(info.value)
        assert "/dev/null" in str(info.value)
        os.fstat(fd)  # still open
        assert os.get_blocking(fd) is True  # flags unchanged
    finally:
        os.close(fd)
