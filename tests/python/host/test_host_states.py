"""Decoding of page states, features, events and stats (no device needed)."""
from __future__ import annotations

import pytest

import hmm_mirror as hm
from hmm_mirror._hmm_mirror_cffi import ffi, lib

V, W, E, Z = (lib.HMM_MIRROR_PAGE_VALID, lib.HMM_MIRROR_PAGE_WRITE,
              lib.HMM_MIRROR_PAGE_ERROR, lib.HMM_MIRROR_PAGE_ZERO)
D = lib.HMM_MIRROR_PAGE_DEVICE
SHIFT = lib.HMM_MIRROR_PAGE_ORDER_SHIFT


def test_flags_match_abi() -> None:
    assert hm.PageFlag.VALID == V and hm.PageFlag.WRITE == W
    assert hm.PageFlag.ERROR == E and hm.PageFlag.ZERO == Z
    assert hm.PageFlag.DEVICE == D == 1 << 4
    assert isinstance(hm.PageFlag.VALID | hm.PageFlag.WRITE, hm.PageFlag)


@pytest.mark.parametrize("raw, flags, order, text", [
    (0, 0, 0, "-"),
    (V, hm.PageFlag.VALID, 0, "valid 4K"),
    (V | W, hm.PageFlag.VALID | hm.PageFlag.WRITE, 0, "valid|write 4K"),
    (V | (9 << SHIFT), hm.PageFlag.VALID, 9, "valid 2M"),
    (V | W | (18 << SHIFT), hm.PageFlag.VALID | hm.PageFlag.WRITE, 18, "valid|write 1G"),
    (V | Z, hm.PageFlag.VALID | hm.PageFlag.ZERO, 0, "valid|zero 4K"),
    (E, hm.PageFlag.ERROR, 0, "error"),
    (V | W | D, hm.PageFlag.VALID | hm.PageFlag.WRITE | hm.PageFlag.DEVICE, 0,
     "valid|write|device 4K"),
])
def test_decode(raw: int, flags: int, order: int, text: str) -> None:
    st = hm.PageState(raw)
    assert st == raw
    assert st.flags == flags and isinstance(st.flags, hm.PageFlag)
    assert st.order == order == lib.HMM_MIRROR_PAGE_ORDER(raw)
    assert st.describe() == text == str(st)
    assert st.valid == bool(raw & V)
    assert st.writable == bool(raw & W)
    assert st.zero == bool(raw & Z)
    assert st.error == bool(raw & E)
    assert st.device == bool(raw & D)
    assert hm.PageState.make(flags, order) == st


def test_repr_and_make_checks() -> None:
    assert repr(hm.PageState.make(hm.PageFlag.VALID, 9)) == "PageState(VALID, order=9)"
    assert repr(hm.PageState(0)) == "PageState(0, order=0)"
    with pytest.raises(ValueError):
        hm.PageState.make(hm.PageFlag.VALID, 1 << 12)


def test_unknown_bits_are_kept() -> None:
    st = hm.PageState(V | 0x40)  # not a known flag (DEVICE is 0x10)
    assert st.valid and int(st.flags) == V | 0x40
    assert "0x40" in st.describe()


def test_collapse_and_expand() -> None:
    rw, ro = V | W, V
    states = [rw, rw, 0, 0, ro, rw, rw, rw]
    base = 0x10000
    runs = hm.collapse(base, states, 0x1000)
    assert runs == [(0x10000, 0x12000, rw), (0x12000, 0x14000, 0), (0x14000, 0x15000, ro),
                    (0x15000, 0x18000, rw)]
    assert all(isinstance(r, hm.PageRange) and isinstance(r.state, hm.PageState) for r in runs)
    start, end, state = runs[0]  # a plain (start, end, state) tuple too
    assert (start, end, state.writable) == (0x10000, 0x12000, True)
    assert runs[0].length == 0x2000 and runs[0].pages(0x1000) == 2
    assert hm.collapse(base, states, 0x1000, skip_empty=True) == [
        r for r in runs if r.state]
    table = hm.expand(runs, 0x1000)
    assert table == {base + i * 0x1000: s for i, s in enumerate(states) if s}
    assert hm.collapse(base, [], 0x1000) == []


def test_format_page_table() -> None:
    runs = hm.collapse(0x7f0000000000, [V | W] * 4 + [0] * 12, 4096)
    text = hm.format_page_table(runs, title="device")
    lines = text.splitlines()
    assert lines[0] == "device"
    assert lines[1].split() == ["start", "end", "pages", "state"]
    assert lines[2].split() == ["0x7f0000000000", "0x7f0000004000", "4", "valid|write", "4K"]
    assert lines[3].split() == ["0x7f0000004000", "0x7f0000010000", "12", "-"]
    assert "nothing mapped" in hm.format_page_table([])


def test_features() -> None:
    every = hm.Feature(0)
    for f in hm.Feature:
        every |= f
    # The twelve ABI v1 bits, SNAPSHOT_RUNS (v2), RW_COPIED and ADDR_LIMIT
    # (v3), DEVICE_MEMORY (v4), EXCLUSIVE and DEVICE_EVICT (v5).
    assert int(every) == (1 << 18) - 1 == lib.HMM_MIRROR_FEAT_ALL
    assert hm.Feature.DEVICE_MEMORY == lib.HMM_MIRROR_FEAT_DEVICE_MEMORY
    assert hm.Feature.EXCLUSIVE.names == ["exclusive"]
    assert hm.Feature.DEVICE_MEMORY.names == ["device_memory"]
    assert hm.Feature.SNAPSHOT_RUNS.names == ["snapshot_runs"]
    assert (hm.Feature.RW_COPIED | hm.Feature.ADDR_LIMIT).names == ["rw_copied", "addr_limit"]
    assert hm.Feature.FAULT == lib.HMM_MIRROR_FEAT_FAULT
    assert (hm.Feature.FAULT | hm.Feature.STATS).names == ["fault", "stats"]
    assert hm.Feature(1 << 40).names == ["bit40"]  # a future bit is kept


def test_info_from_struct() -> None:
    c = ffi.new("struct hmm_mirror_info *")
    lib.hmm_mirror_info_init(c)
    c.abi_version, c.lib_abi_version, c.page_shift = 1, 1, 12
    c.features = lib.HMM_MIRROR_FEAT_FAULT | lib.HMM_MIRROR_FEAT_QUERY
    c.ioctls = 0b100011
    info = hm.Info._from_c(c)
    assert info.page_size == 4096
    assert info.features == hm.Feature.FAULT | hm.Feature.QUERY
    assert info.commands == ["HANDSHAKE", "FAULT", "QUERY"]
    assert info.addr_limit is None  # not reported (ABI 2 and older)
    c.addr_limit = 1 << 48
    assert hm.Info._from_c(c).addr_limit == 1 << 48


def test_copy_result() -> None:
    r = hm.CopyResult(8192, 1)
    assert r.bytes_copied == 8192 and r.device_faults == 1
    assert r == (8192, 1)
    res = ffi.new("struct hmm_mirror_rw_result *")
    lib.hmm_mirror_rw_result_init(res)
    assert res.size == ffi.sizeof("struct hmm_mirror_rw_result") == 24


def test_event_reasons() -> None:
    assert hm.EventReason.UNMAP == lib.HMM_MIRROR_EVENT_UNMAP
    assert hm.EventReason.SOFT_DIRTY.label == "soft-dirty"
    assert hm.EventReason.LOST.label == "lost"
    assert hm.EventReason.LOST not in hm.EventReason.all()
    assert len(hm.EventReason.all()) == lib.HMM_MIRROR_EVENT_NR_REASONS
    assert hm.reasons_mask(None) == lib.HMM_MIRROR_EVENT_ALL_REASONS
    assert hm.reasons_mask(hm.EventReason.all()) == lib.HMM_MIRROR_EVENT_ALL_REASONS
    assert hm.reasons_mask(hm.EventReason.CLEAR) == 1 << lib.HMM_MIRROR_EVENT_CLEAR
    assert hm.reasons_mask([hm.EventReason.UNMAP, hm.EventReason.RELEASE]) == \
        (1 << lib.HMM_MIRROR_EVENT_UNMAP) | (1 << lib.HMM_MIRROR_EVENT_RELEASE)
    assert hm.reasons_mask(0b101) == 0b101


def test_event_from_record() -> None:
    rec = ffi.new("struct hmm_mirror_event *")
    lib.hmm_mirror_event_record_init(rec)
    rec.reason, rec.start, rec.end, rec.seq, rec.pages = (
        lib.HMM_MIRROR_EVENT_UNMAP, 0x1000, 0x5000, 7, 4)
    ev = hm.Event._from_c(rec)
    assert ev == hm.Event(hm.EventReason.UNMAP, 0x1000, 0x5000, 7, 4, 0)
    assert ev.length == 0x4000
    assert str(ev) == "#7 unmap 0x1000-0x5000 (4 pages)"
    rec.reason, rec.pages = lib.HMM_MIRROR_EVENT_LOST, 3
    assert str(hm.Event._from_c(rec)) == "#7 lost 3 events"
    rec.reason = 99  # from a newer module
    assert hm.Event._from_c(rec).reason == 99


def test_stats_from_struct() -> None:
    c = ffi.new("struct hmm_mirror_stats *")
    lib.hmm_mirror_counters_init(c)
    c.device_faults, c.pages_faulted, c.dpt_pages, c.mirrors = 2, 10, 8, 1
    c.invalidations[lib.HMM_MIRROR_EVENT_UNMAP] = 3
    c.invalidations[lib.HMM_MIRROR_EVENT_PROTECTION] = 2
    st = hm.Stats._from_c(c)
    assert not st.is_global
    assert (st.device_faults, st.pages_faulted, st.dpt_pages, st.mirrors) == (2, 10, 8, 1)
    assert st.invalidations[hm.EventReason.UNMAP] == 3
    assert st.total_invalidations == 5
    d = st.as_dict()
    assert d["invalidations"]["protection"] == 2 and d["device_faults"] == 2
    # Every counter of the library's table, in order, with its meaning.
    names = [k.name for k in st.counters]
    assert names[0] == "device_faults" and "dpt_pages" in names and "mirrors" in names
    assert list(d) == ["is_global"] + names
    inval = next(k for k in st.counters if k.name == "invalidations")
    assert inval.total == 5 and inval.values[lib.HMM_MIRROR_EVENT_UNMAP] == ("unmap", 3)
    assert all(k.meaning for k in st.counters)


def test_event_direction() -> None:
    rec = ffi.new("struct hmm_mirror_event *")
    lib.hmm_mirror_event_record_init(rec)
    rec.reason, rec.start, rec.end, rec.seq, rec.pages = (
        lib.HMM_MIRROR_EVENT_MIGRATE, 0x1000, 0x3000, 4, 2)
    rec.flags = lib.HMM_MIRROR_EVENT_FLAG_TO_DEVICE
    ev = hm.Event._from_c(rec)
    assert ev.direction == hm.Direction.TO_DEVICE and ev.to_device and not ev.to_system
    assert str(ev) == "#4 migrate to-device 0x1000-0x3000 (2 pages)"
    rec.flags = lib.HMM_MIRROR_EVENT_FLAG_TO_SYSTEM
    ev = hm.Event._from_c(rec)
    assert ev.direction == hm.Direction.TO_SYSTEM and ev.to_system and not ev.to_device
    assert str(ev) == "#4 migrate to-system 0x1000-0x3000 (2 pages)"
    rec.flags = 0  # the kernel moved system pages
    ev = hm.Event._from_c(rec)
    assert ev.direction is None and str(ev) == "#4 migrate 0x1000-0x3000 (2 pages)"
    rec.reason, rec.flags = lib.HMM_MIRROR_EVENT_UNMAP, lib.HMM_MIRROR_EVENT_FLAG_TO_DEVICE
    assert hm.Event._from_c(rec).direction is None  # only MIGRATE has one


def test_migrate_status_names() -> None:
    assert [s.label for s in hm.MigrateStatus] == [
        "moved", "already", "not_movable", "no_memory"]
    assert hm.MigrateStatus.MOVED == lib.HMM_MIRROR_MIGRATE_MOVED
    assert hm.MigrateStatus.NO_MEMORY == lib.HMM_MIRROR_MIGRATE_NO_MEMORY


def test_migrate_result() -> None:
    M, A, N, O = (lib.HMM_MIRROR_MIGRATE_MOVED, lib.HMM_MIRROR_MIGRATE_ALREADY,
                  lib.HMM_MIRROR_MIGRATE_NOT_MOVABLE, lib.HMM_MIRROR_MIGRATE_NO_MEMORY)
    r = hm.MigrateResult._from_c(0x10000, 6 * 4096, False, [M, M, A, N, O, 99], 2, 2)
    assert r.results[:5] == (hm.MigrateStatus.MOVED, hm.MigrateStatus.MOVED,
                             hm.MigrateStatus.ALREADY, hm.MigrateStatus.NOT_MOVABLE,
                             hm.MigrateStatus.NO_MEMORY)
    assert r.results[5] == 99  # a result from a newer module is kept
    assert (r.moved, r.already, r.not_movable, r.no_memory) == (2, 1, 1, 1)
    assert (r.pages_moved, r.pages_not_moved) == (2, 2)
    assert r.counts == {"moved": 2, "already": 1, "not_movable": 1, "no_memory": 1}
    assert r.names == ["moved", "moved", "already", "not_movable", "no_memory", "result99"]
    assert str(r) == ("migrate to device 0x10000-0x16000: 2 moved, 1 already, "
                      "1 not_movable, 1 no_memory")
    back = hm.MigrateResult._from_c(0x10000, 4096, True, [M], 1, 0)
    assert back.to_system and str(back).startswith("migrate to system")


def test_device_memory_from_struct() -> None:
    c = ffi.new("struct hmm_mirror_device_memory *")
    lib.hmm_mirror_device_memory_init(c)
    assert c.size == ffi.sizeof("struct hmm_mirror_device_memory") == 64
    c.total_bytes, c.used_bytes, c.mirror_pages = 256 << 20, 64 << 20, 16384
    c.pages_to_device, c.pages_to_system, c.pages_faulted_back = 16384, 10, 2
    dm = hm.DeviceMemory._from_c(c)
    assert dm.total_bytes == 256 << 20 and dm.free_bytes == 192 << 20
    assert (dm.mirror_pages, dm.pages_to_device, dm.pages_to_system,
            dm.pages_faulted_back, dm.pages_no_memory) == (16384, 16384, 10, 2, 0)


def test_stats_device_memory_counters() -> None:
    c = ffi.new("struct hmm_mirror_stats *")
    lib.hmm_mirror_counters_init(c)
    c.device_memory_pages, c.device_pages, c.pages_to_device = 65536, 3, 5
    c.pages_to_system, c.pages_faulted_back, c.pages_no_memory = 1, 1, 4
    st = hm.Stats._from_c(c)
    assert (st.device_memory_pages, st.device_pages, st.pages_to_device,
            st.pages_to_system, st.pages_faulted_back, st.pages_no_memory) == (
        65536, 3, 5, 1, 1, 4)
    assert st.as_dict()["pages_no_memory"] == 4
    assert st.pages_evicted == 0
    c.pages_evicted = 7
    st = hm.Stats._from_c(c)
    assert st.pages_evicted == 7 and st.as_dict()["pages_evicted"] == 7
    assert [k.name for k in st.counters][-1] == "pages_evicted"


def test_device_evict_feature_and_flag() -> None:
    # ABI 5: bit 17, after EXCLUSIVE's 16.
    assert hm.Feature.DEVICE_EVICT == lib.HMM_MIRROR_FEAT_DEVICE_EVICT == 1 << 17
    assert hm.Feature.DEVICE_EVICT.names == ["device_evict"]
    assert lib.HMM_MIRROR_MIGRATE_EVICT == 1 << 1
    assert ffi.sizeof("struct hmm_mirror_stats") == 232
    r = hm.MigrateResult._from_c(0x1000, 0x1000, False, [1], 1, 0, True)
    assert r.evict and r.moved == 1
    assert not hm.MigrateResult._from_c(0x1000, 0x1000, False, [1], 1, 0).evict


def test_exclusive_state_and_atomic_ops() -> None:
    s = hm.PageState.make(hm.PageFlag.VALID | hm.PageFlag.WRITE | hm.PageFlag.EXCLUSIVE)
    assert s.exclusive and s.valid and s.writable and not s.device
    assert not hm.PageState.make(hm.PageFlag.VALID).exclusive
    assert int(hm.PageFlag.EXCLUSIVE) == lib.HMM_MIRROR_PAGE_EXCLUSIVE == 32
    assert [op.label for op in hm.AtomicOp] == ["add", "xchg", "cmpxchg", "or", "and"]
    assert len(hm.AtomicOp) == lib.HMM_MIRROR_ATOMIC_NR_OPS
    r = hm.ExclusiveResult(addr=0x1000, length=0x2000, results=(0, 14),
                           pages_granted=1, pages_refused=1)
    assert not r.all_granted
    assert str(r) == "exclusive 0x1000-0x3000: 1 granted, 1 refused"
