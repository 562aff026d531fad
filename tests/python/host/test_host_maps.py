"""/proc/PID/maps parsing."""
from __future__ import annotations

import mmap
import os

import pytest

import hmm_mirror as hm

SAMPLE = """\
55d0c8a00000-55d0c8a21000 r--p 00000000 08:01 1315005                    /usr/bin/python3.11
55d0c8a21000-55d0c8b0e000 r-xp 00021000 08:01 1315005                    /usr/bin/python3.11
55d0ca1f4000-55d0ca3a1000 rw-p 00000000 00:00 0                          [heap]
7f0a1c000000-7f0a1c021000 rw-s 00000000 00:05 2054                       /dev/zero (deleted)
7f0a1c100000-7f0a1c200000 ---p 00000000 00:00 0 
7f0a1c200000-7f0a1c201000 r--p 00001000 08:01 42                         /tmp/dir with spaces/f
7ffd5a2e0000-7ffd5a301000 rw-p 00000000 00:00 0                          [stack]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
"""


def test_parse_sample() -> None:
    maps = hm.parse_maps(SAMPLE)
    assert len(maps) == 8
    exe, text, heap, shm, guard, spaced, stack, vsys = maps
    assert exe == hm.Mapping(0x55d0c8a00000, 0x55d0c8a21000, "r--p", 0, "08:01", 1315005,
                             "/usr/bin/python3.11")
    assert text.executable and not text.writable and text.offset == 0x21000
    assert heap.pathname == "[heap]" and heap.anonymous and heap.writable
    assert shm.shared and shm.deleted and shm.pathname == "/dev/zero"
    assert guard.pathname == "" and guard.anonymous and not guard.readable
    assert spaced.pathname == "/tmp/dir with spaces/f" and not spaced.anonymous
    assert stack.size == 0x21000
    assert vsys.end == 0xffffffffff601000
    assert 0x55d0ca1f4000 in heap and 0x55d0ca3a1000 not in heap
    assert str(heap) == "0x55d0ca1f4000-0x55d0ca3a1000 rw-p [heap]"


def test_find_mapping_in_sample() -> None:
    maps = hm.parse_maps(SAMPLE.splitlines())
    assert hm.find_mapping(0x7ffd5a2e0800, maps=maps).pathname == "[stack]"
    assert hm.find_mapping(0x1000, maps=maps) is None


def test_bad_line() -> None:
    with pytest.raises(ValueError):
        hm.parse_maps("garbage\n")


def test_own_mapping() -> None:
    buf = mmap.mmap(-1, 3 * mmap.PAGESIZE)
    try:
        addr = hm.address_of(buf)
        m = hm.find_mapping(addr)
        assert m is not None and m.start <= addr and addr + len(buf) <= m.end
        assert m.readable and m.writable and m.shared  # mmap(-1, ...) is MAP_SHARED
        assert hm.find_mapping(addr, pid=os.getpid()) == m
        assert any(x.pathname == "[stack]" for x in hm.read_maps())
    finally:
        buf.close()


def test_missing_process() -> None:
    with pytest.raises(FileNotFoundError):
        hm.read_maps(2 ** 22 + 12345)  # above pid_max's default


def test_edge_cases() -> None:
    # An empty file, a long path, " (deleted)" only as a suffix, bytes
    # that are not UTF-8, lines without their newline.
    assert hm.parse_maps("") == [] and hm.parse_maps([]) == []
    long = "/" + "d" * 5000 + "/x (deleted) y"
    (m,) = hm.parse_maps([f"1000-2000 r--p 00000000 fd:01 7 {long} (deleted)"])
    assert m.pathname == long and m.deleted and m.dev == "fd:01"
    (raw,) = hm.parse_maps(b"1000-2000 r--p 0 08:01 7 /tmp/\xff\n".decode(
        "utf-8", "surrogateescape"))
    assert raw.pathname.encode("utf-8", "surrogateescape") == b"/tmp/\xff"
    with pytest.raises(ValueError, match="line 2"):
        hm.parse_maps(["1000-2000 r--p 0 08:01 7 /x", "1000 r--p"])
