"""Exclusive access (ABI 5): Mirror.exclusive(), Mirror.atomic(), the
EXCLUSIVE page state and the EXCLUSIVE event of a CPU access taking a page
back, against the module.

Every test skips, naming the reason, when the handshake lacks
HMM_MIRROR_FEAT_EXCLUSIVE (a kernel without CONFIG_DEVICE_PRIVATE, such as
Debian's stock 6.1 and 6.12), except the one that checks the refusal.
"""
from __future__ import annotations

import errno
import mmap
import struct
from typing import Iterator

import pytest

import hmm_mirror as hm


def _has_exclusive() -> bool:
    with hm.Mirror() as m:
        return bool(m.features & hm.Feature.EXCLUSIVE)


@pytest.fixture
def m() -> Iterator[hm.Mirror]:
    if not _has_exclusive():
        pytest.skip("the module's HANDSHAKE lacks HMM_MIRROR_FEAT_EXCLUSIVE "
                    "(kernel without CONFIG_DEVICE_PRIVATE)")
    with hm.Mirror(events=[hm.EventReason.EXCLUSIVE]) as mirror:
        yield mirror


@pytest.fixture
def buf(ps: int) -> Iterator[mmap.mmap]:
    b = mmap.mmap(-1, 4 * ps, flags=mmap.MAP_PRIVATE)
    b.madvise(mmap.MADV_NOHUGEPAGE)
    for i in range(4):
        b[i * ps:i * ps + 8] = struct.pack("<Q", 1000 + i)
    yield b
    b.close()


def test_without_the_feature_exclusive_raises_unsupported(ps: int) -> None:
    with hm.Mirror() as mirror:
        if mirror.features & hm.Feature.EXCLUSIVE:
            pytest.skip("the kernel has device-exclusive entries: nothing to refuse")
        b = mmap.mmap(-1, ps, flags=mmap.MAP_PRIVATE)
        addr = hm.address_of(b)
        with pytest.raises(hm.UnsupportedFeatureError) as info:
            mirror.exclusive(addr, ps)
        assert info.value.errno == errno.EOPNOTSUPP
        with pytest.raises(hm.UnsupportedFeatureError):
            mirror.atomic(addr, hm.AtomicOp.ADD, 1)
        b.close()


def test_grant_atomics_and_the_cpu_taking_a_page_back(m: hm.Mirror, buf: mmap.mmap,
                                                       ps: int) -> None:
    addr = hm.address_of(buf)
    res = m.exclusive(addr, 4 * ps)
    assert res.all_granted and res.pages_granted == 4 and res.pages_refused == 0, res
    states = m.query(addr, 4 * ps)
    assert all(s.exclusive and s.valid and s.writable for s in states), states

    # Device atomics on page 1's first word; the page stays the device's.
    assert m.atomic(addr + ps, hm.AtomicOp.ADD, 5) == 1001
    assert m.atomic(addr + ps, hm.AtomicOp.CMPXCHG, 7, compare=1006) == 1006
    assert m.atomic(addr + ps, hm.AtomicOp.XCHG, 9, grant=False) == 7
    assert m.query(addr + ps, ps)[0].exclusive
    stats = m.stats()
    assert (stats.exclusive_granted, stats.atomic_ops) == (4, 3)

    # The CPU reads page 1: the device loses it, with an EXCLUSIVE event.
    assert struct.unpack("<Q", buf[ps:ps + 8])[0] == 9
    events = [e for e in m.events(timeout=0) if e.reason == hm.EventReason.EXCLUSIVE]
    assert [(e.start, e.end, e.pages) for e in events] == [(addr + ps, addr + 2 * ps, 1)]
    states = m.query(addr, 4 * ps)
    assert not states[1].valid and states[0].exclusive and states[3].exclusive
    with pytest.raises(hm.HmmMirrorError) as info:
        m.atomic(addr + ps, hm.AtomicOp.ADD, 1, grant=False)
    assert info.value.errno == errno.EAGAIN
    # Without grant=False the device takes it again.
    assert m.atomic(addr + ps, hm.AtomicOp.OR, 0x100) == 9
    assert struct.unpack("<Q", buf[ps:ps + 8])[0] == 0x109


def test_a_read_only_page_is_refused_with_efault(m: hm.Mirror, ps: int) -> None:
    b = mmap.mmap(-1, 2 * ps, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ)
    addr = hm.address_of(b)
    res = m.exclusive(addr, 2 * ps)
    assert res.results == (errno.EFAULT, errno.EFAULT) and res.pages_refused == 2
    with pytest.raises(hm.HmmMirrorError) as info:
        m.atomic(addr, hm.AtomicOp.ADD, 1)
    assert info.value.errno == errno.EFAULT
    b.close()
