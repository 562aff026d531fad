"""The scriptable target process (tests/target/hmm_target.c, driven by
tests/python/scripted_target.py); no device needed."""
from __future__ import annotations

import errno
import mmap
import os
import sys

import pytest

import hmm_mirror as hm
from scripted_target import ScriptedTarget, Target, spawn_target

PS = mmap.PAGESIZE


@pytest.fixture
def target():
    with spawn_target() as t:
        yield t


def test_memory_commands(target: ScriptedTarget) -> None:
    assert target.alive and target.ping() == target.pid != os.getpid()
    addr = target.mmap(8 * PS, fill=0x5A)
    m = target.find_mapping(addr)
    # (The kernel may merge it with a neighbouring anonymous mapping.)
    assert m is not None and m.start <= addr and addr + 8 * PS <= m.end and m.perms == "rw-p"
    assert target.peek(addr, 4) == b"ZZZZ"
    target.poke(addr + 1, b"hi")
    assert target.peek(addr, 4) == b"Zhi" + b"Z"
    target.fill(addr, PS, 0x33)
    assert target.peek(addr + PS - 2, 3) == b"\x33\x33Z"

    target.mprotect(addr, 2 * PS, "r")
    assert target.find_mapping(addr).perms == "r--p"
    target.mprotect(addr, 2 * PS, "none")
    assert target.find_mapping(addr).perms == "---p"
    target.munmap(addr + 4 * PS, 4 * PS)
    assert target.find_mapping(addr + 4 * PS) is None
    target.madvise(addr + 2 * PS, 2 * PS, "dontneed")
    assert target.peek(addr + 2 * PS, 2) == b"\0\0"  # private anonymous: zero again


def test_shared_and_file_mappings(target: ScriptedTarget, tmp_path) -> None:
    addr = target.mmap(2 * PS, shared=True)
    assert target.find_mapping(addr).shared
    f = tmp_path / "data"
    f.write_bytes(b"file-backed!" + bytes(PS * 2 - 12))
    faddr = target.mmap(2 * PS, "r", path=str(f))
    m = target.find_mapping(faddr)
    assert m.pathname == str(f) and m.perms == "r--p" and not m.anonymous
    assert target.peek(faddr, 12) == b"file-backed!"
    waddr = target.mmap(PS, "rw", shared=True, path=str(f), offset=PS)
    target.poke(waddr, b"written")
    target.munmap(waddr, PS)
    assert f.read_bytes()[PS:PS + 7] == b"written"


def test_errors_carry_errno(target: ScriptedTarget) -> None:
    with pytest.raises(OSError) as info:
        target.munmap(1, PS)  # unaligned
    assert info.value.errno == errno.EINVAL
    assert "munmap" in str(info.value)
    with pytest.raises(OSError) as info:
        target.mmap(PS, path="/nonexistent/file")
    assert info.value.errno == errno.ENOENT
    with pytest.raises(RuntimeError):
        target.madvise(0, PS, "no-such-advice")
    assert target.ping() == target.pid  # still serving
    with pytest.raises(ValueError):
        target.mprotect(0, PS, "rwz")


def test_fork_and_exit(target: ScriptedTarget) -> None:
    child = target.fork()
    assert child != target.pid and os.path.exists(f"/proc/{child}")
    assert target.end_forks() == [child]
    target.fork()
    assert target.exit(3) == 3  # ends the fork too and reaps the target
    assert not target.alive and target.returncode == 3
    with pytest.raises(hm.TargetExitedError):
        target.ping()
    target.close()  # idempotent


def test_target_sees_no_inherited_fds() -> None:
    r, w = os.pipe()
    try:
        with spawn_target() as t:
            fds = {int(x) for x in os.listdir(f"/proc/{t.pid}/fd")}
            assert fds == {0, 1, 2}  # its command pipes, nothing else
    finally:
        os.close(r)
        os.close(w)


def test_guard_pages_and_read_touch(target: ScriptedTarget) -> None:
    # What the CLI tests build their regions with.
    addr = target.mmap(4 * PS, "r", populate=False, guard=True, nohugepage=True)
    m = target.find_mapping(addr)
    assert m is not None and (m.start, m.end, m.perms) == (addr, addr + 4 * PS, "r--p")
    assert target.find_mapping(addr - PS).perms == "---p"
    target.touch_read(addr, 4 * PS)
    assert target.peek(addr, 2) == b"\0\0"


def test_any_program() -> None:
    with spawn_target([sys.executable, "-c", "import time; time.sleep(60)"]) as t:
        assert type(t) is Target and t.alive and t.poll() is None
        assert any(m.pathname == "[stack]" for m in t.maps())
        stack = next(m for m in t.maps() if m.pathname == "[stack]")
        assert t.find_mapping(stack.start) == stack
        assert "running" in repr(t)
        t.kill(15)
        assert t.wait(10) == -15 and t.poll() == -15
    assert not t.alive and t.returncode == -15 and "exited -15" in repr(t)


def test_no_test_tooling_in_the_package() -> None:
    assert not hasattr(hm, "spawn_target") and not hasattr(hm, "ScriptedTarget")
