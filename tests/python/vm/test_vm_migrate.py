"""Device memory (ABI 4): Mirror.migrate(), Mirror.device_memory(), the
DEVICE page state and the direction of MIGRATE events, against the module.

Every test skips, naming the reason, when the handshake lacks
HMM_MIRROR_FEAT_DEVICE_MEMORY (a kernel without CONFIG_DEVICE_PRIVATE, such
as Debian's stock 6.1 and 6.12, or the module loaded with
device_memory_mb=0).
"""
from __future__ import annotations

import errno
import mmap
from typing import Iterator, List

import pytest

import hmm_mirror as hm
from hmm_mirror import PageFlag as F
from scripted_target import ScriptedTarget  # tests/python/scripted_target.py

MIB = 1 << 20


def _has_device_memory() -> bool:
    with hm.Mirror() as m:
        return bool(m.features & hm.Feature.DEVICE_MEMORY)


@pytest.fixture(autouse=True)
def device_memory(request: pytest.FixtureRequest) -> None:
    if request.node.name.startswith("test_without_device_memory"):
        return
    if not _has_device_memory():
        pytest.skip("the module's HANDSHAKE lacks HMM_MIRROR_FEAT_DEVICE_MEMORY "
                    "(kernel without CONFIG_DEVICE_PRIVATE, or device_memory_mb=0)")


def _drain(m: hm.Mirror) -> List[hm.Event]:
    return list(m.events(timeout=0))


def _pattern(length: int, ps: int, seed: int) -> bytes:
    """Bytes that differ on every page: the page index, then a byte pattern."""
    page = bytes((seed + i) & 0xFF for i in range(ps - 8))
    return b"".join(i.to_bytes(8, "little") + page for i in range(length // ps))


@pytest.fixture
def own_mirror() -> Iterator[hm.Mirror]:
    """A mirror of this process receiving MIGRATE events, with a queue big
    enough for one event per page of the 64 MiB buffer coming back."""
    with hm.Mirror(events=[hm.EventReason.MIGRATE], queue_len=65536) as m:
        yield m


def test_without_device_memory_migrate_raises_unsupported(target: ScriptedTarget,
                                                           ps: int) -> None:
    with hm.Mirror(pid=target.pid) as m:
        if m.features & hm.Feature.DEVICE_MEMORY:
            pytest.skip("the module has device memory: nothing to refuse")
        addr = target.mmap(ps, fill=1)
        with pytest.raises(hm.UnsupportedFeatureError) as info:
            m.migrate(addr, ps)
        assert info.value.errno == errno.EOPNOTSUPP
        with pytest.raises(hm.UnsupportedFeatureError):
            m.device_memory()


def test_64mib_buffer_round_trip(own_mirror: hm.Mirror, ps: int) -> None:
    """The issue's demo: a Python program moves a 64 MiB buffer into device
    memory, the device reads it intact, the CPU writes to it, the pages
    come back with the data intact, and MIGRATE events of both directions
    are seen."""
    m = own_mirror
    length = 64 * MIB
    pages = length // ps
    dm = m.device_memory()
    if dm.total_bytes - dm.used_bytes < length:
        pytest.skip(f"device memory has {dm.free_bytes} bytes free, the test "
                    f"needs {length}")
    expected = _pattern(length, ps, 0x5A)
    buf = mmap.mmap(-1, length, flags=mmap.MAP_PRIVATE)
    try:
        buf[:] = expected
        addr = hm.address_of(buf)
        base_stats = m.stats()
        m.fault(addr, length, write=True)  # the device maps it: events report moves

        # Into device memory: every page moves, the CPU page table says DEVICE.
        res = m.migrate(addr, length)
        assert (res.moved, res.pages_moved, res.pages_not_moved) == (pages, pages, 0)
        assert res.counts == {"moved": pages, "already": 0, "not_movable": 0,
                              "no_memory": 0}
        runs = m.snapshot_runs(addr, length)
        assert all(r.state.device and r.state.valid for r in runs), runs
        assert m.device_memory().mirror_pages == pages
        assert m.device_memory().used_bytes >= length
        to_device = [e for e in _drain(m) if e.to_device]
        # NUMA balancing may have cleared some device entries before the move.
        assert 0 < sum(e.pages for e in to_device) <= pages
        assert all(e.reason == hm.EventReason.MIGRATE for e in to_device)

        # Again: already there.
        assert m.migrate(addr, length).already == pages

        # The device reads it through its own memory: intact, nothing came back.
        seen = bytearray(length)
        m.read_into(addr, seen)
        assert seen == expected
        del seen
        assert all(r.state.device for r in m.snapshot_runs(addr, length))
        assert m.stats().pages_faulted_back == base_stats.pages_faulted_back

        # The CPU writes one word in every 16th page: those pages come back.
        touched = range(0, pages, 16)
        for i in touched:
            buf[i * ps + 8:i * ps + 16] = b"CPUWROTE"
        states = m.snapshot(addr, length)
        for i, st in enumerate(states):
            assert st.device == (i % 16 != 0), (i, st)
        back = [e for e in _drain(m) if e.to_system]
        assert sum(e.pages for e in back) == len(touched)
        assert {(e.start - addr) // ps for e in back} == set(touched)
        dm = m.device_memory()
        assert dm.pages_faulted_back == len(touched)
        assert dm.mirror_pages == pages - len(touched)

        # The rest comes back on request.
        res = m.migrate(addr, length, to_system=True)
        assert res.to_system
        assert (res.moved, res.already) == (pages - len(touched), len(touched))
        assert not any(st.device for st in m.snapshot(addr, length))
        back = [e for e in _drain(m) if e.to_system]
        assert sum(e.pages for e in back) == pages - len(touched)
        assert m.device_memory().mirror_pages == 0

        # Intact, with the CPU's writes.
        want = bytearray(expected)
        for i in touched:
            want[i * ps + 8:i * ps + 16] = b"CPUWROTE"
        assert buf[:] == want
        after = m.stats()
        assert after.pages_to_device - base_stats.pages_to_device == pages
        assert after.pages_to_system - base_stats.pages_to_system == pages - len(touched)
    finally:
        buf.close()


def test_target_process_pages_and_query(target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(8 * ps, fill=0x33)
    with hm.Mirror(pid=target.pid, events=[hm.EventReason.MIGRATE]) as m:
        m.fault(addr, 8 * ps)  # events report what the device had mapped
        res = m.migrate(addr, 8 * ps)
        assert res.results == (hm.MigrateStatus.MOVED,) * 8
        dev = int(F.VALID | F.WRITE | F.DEVICE)
        assert [int(s) for s in m.snapshot(addr, 8 * ps)] == [dev] * 8
        # The device maps what it moved.
        assert [int(s) for s in m.query(addr, 8 * ps)] == [dev] * 8
        assert "device" in m.snapshot(addr, ps)[0].describe()
        # The device writes in place; the target reads its data back.
        m.write(addr + 2 * ps, b"\x44" * ps)
        assert m.snapshot(addr + 2 * ps, ps)[0].device
        assert target.peek(addr + 2 * ps, 4) == b"\x44" * 4
        assert not m.snapshot(addr + 2 * ps, ps)[0].device  # the CPU took it back
        assert target.peek(addr, 4) == b"\x33" * 4
        evs = _drain(m)
        assert any(e.to_device for e in evs) and any(e.to_system for e in evs)
        assert any("to-system" in str(e) for e in evs)
        back = m.migrate(addr, 8 * ps, to_system=True)
        assert back.count(hm.MigrateStatus.ALREADY) == 2 and back.moved == 6
        assert target.peek(addr + 7 * ps, 1) == b"\x33"


def test_what_cannot_move_is_reported(target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(3 * ps, fill=0x43)
    target.munmap(addr + ps, ps)  # a hole between two anonymous pages
    with hm.Mirror(pid=target.pid) as m:
        res = m.migrate(addr, 3 * ps)
        assert res.results == (hm.MigrateStatus.MOVED, hm.MigrateStatus.NOT_MOVABLE,
                               hm.MigrateStatus.MOVED)
        assert res.names == ["moved", "not_movable", "moved"]
        assert (res.moved, res.not_movable, res.pages_moved, res.pages_not_moved) == \
            (2, 1, 2, 1)
        assert target.peek(addr + 2 * ps, 1) == b"\x43"


def test_device_memory_and_stats(target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(4 * ps, fill=0x21)
    with hm.Mirror(pid=target.pid) as m:
        dm = m.device_memory()
        assert dm.total_bytes > 0 and dm.total_bytes % ps == 0
        assert 0 <= dm.used_bytes <= dm.total_bytes
        assert dm.mirror_pages == 0 and dm.pages_to_device == 0
        assert m.global_stats().device_memory_pages * ps == dm.total_bytes
        m.migrate(addr, 4 * ps)
        dm = m.device_memory()
        assert (dm.mirror_pages, dm.pages_to_device) == (4, 4)
        st = m.stats()
        assert (st.device_pages, st.pages_to_device) == (4, 4)
        assert st.as_dict()["pages_to_device"] == 4
        m.migrate(addr, 4 * ps, to_system=True)
        assert m.device_memory().pages_to_system == 4


def test_bad_ranges(ps: int) -> None:
    with hm.Mirror() as m:
        with pytest.raises(hm.HmmMirrorError) as info:
            m.migrate(0x10001, ps)
        assert info.value.errno == errno.EINVAL
        with pytest.raises(hm.HmmMirrorError) as info:
            m.migrate(-ps, ps)
        assert info.value.errno == errno.EINVAL


def test_without_device_memory_evict_raises_unsupported(ps: int) -> None:
    with hm.Mirror() as m:
        if m.features & hm.Feature.DEVICE_MEMORY:
            pytest.skip("the module has device memory: nothing to refuse")
        assert not m.features & hm.Feature.DEVICE_EVICT
        buf = mmap.mmap(-1, ps, flags=mmap.MAP_PRIVATE)
        try:
            buf[:1] = b"x"
            with pytest.raises(hm.UnsupportedFeatureError):
                m.migrate(hm.address_of(buf), ps, evict=True)
        finally:
            buf.close()


def test_evict_makes_room_with_the_oldest_pages(target: ScriptedTarget, ps: int) -> None:
    """ABI 5: one mirror fills the pool; another's migrate(evict=True)
    moves the pool's oldest pages (the first one moved) back and takes
    their room; the first mirror is told and counts them."""
    with hm.Mirror(pid=target.pid, events=[hm.EventReason.MIGRATE],
                   queue_len=4096) as old, hm.Mirror(pid=target.pid) as new:
        assert old.features & hm.Feature.DEVICE_EVICT
        dm = old.device_memory()
        pool = dm.total_bytes // ps
        if dm.total_bytes > 256 * MIB:
            pytest.skip(f"device memory of {dm.total_bytes >> 20} MiB is too large to fill here")
        if dm.used_bytes:
            pytest.skip(f"{dm.used_bytes // ps} pages of device memory in use by others")
        k = 16
        full = target.mmap(pool * ps, fill=0x61)
        fresh = target.mmap(k * ps, fill=0x62)
        assert old.migrate(full, pool * ps).moved == pool
        _drain(old)
        g0 = old.global_stats().pages_evicted
        assert new.migrate(fresh, k * ps).no_memory == k  # without: nothing fits
        res = new.migrate(fresh, k * ps, evict=True)
        assert res.evict and res.results == (hm.MigrateStatus.MOVED,) * k
        assert old.stats().pages_evicted == k
        assert new.stats().pages_evicted == 0
        assert old.global_stats().pages_evicted == g0 + k
        states = old.snapshot(full, 2 * k * ps)
        assert [s.device for s in states] == [False] * k + [True] * k
        evs = [e for e in _drain(old) if e.reason == hm.EventReason.MIGRATE]
        assert evs and all(e.direction == hm.Direction.TO_SYSTEM for e in evs)
        assert sum(e.pages for e in evs) == k
        assert target.peek(full, 4) == b"\x61" * 4  # intact, in system memory
        assert target.peek(full + (k - 1) * ps, 4) == b"\x61" * 4
        with pytest.raises(hm.HmmMirrorError) as info:
            new.migrate(fresh, k * ps, to_system=True, evict=True)
        assert info.value.errno == errno.EINVAL
        old.migrate(full, pool * ps, to_system=True)
        target.munmap(full, pool * ps)
