"""STATS of one mirror and of the module."""
from __future__ import annotations

import hmm_mirror as hm
from scripted_target import ScriptedTarget  # tests/python/scripted_target.py
from hmm_mirror import EventReason as R


def test_mirror_stats(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    s0 = mirror.stats()
    assert isinstance(s0, hm.Stats) and not s0.is_global and s0.mirrors == 1
    assert (s0.fault_calls, s0.pages_faulted, s0.dpt_pages, s0.notifiers) == (0, 0, 0, 0)
    addr = target.mmap(8 * ps, fill=1)
    mirror.fault(addr, 4 * ps, write=True)
    mirror.read(addr + 4 * ps, 4 * ps)  # one device fault for the other four
    s1 = mirror.stats()
    assert s1.fault_calls == 2 and s1.device_faults == 1
    assert s1.pages_faulted == 8 and s1.dpt_pages == 8
    assert s1.notifiers == 1 and s1.dpt_tables >= 1
    target.munmap(addr, 8 * ps)
    list(mirror.events(timeout=0))
    s2 = mirror.stats()
    assert s2.invalidations[R.UNMAP] >= 1 and s2.pages_invalidated == 8
    assert s2.dpt_pages == 0 and s2.events_delivered == 1 and s2.events_lost == 0
    assert s2.total_invalidations >= 1
    d = s2.as_dict()
    assert d["dpt_pages"] == 0 and d["invalidations"]["unmap"] >= 1


def test_global_stats(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = target.mmap(2 * ps, fill=1)
    mirror.fault(addr, 2 * ps)
    with hm.Mirror() as other:
        g = other.global_stats()
        assert g.is_global and g.mirrors >= 2
        assert g.dpt_pages >= 2 and g.pages_faulted >= 2
        assert other.stats().dpt_pages == 0
