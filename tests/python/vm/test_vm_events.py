"""Invalidation events: iterator, fileno/selectors, asyncio, overflow, exit."""
from __future__ import annotations

import asyncio
import errno
import selectors
import signal
import time

import pytest

import hmm_mirror as hm
from scripted_target import ScriptedTarget  # tests/python/scripted_target.py
from hmm_mirror import EventReason as R


def _mapped(mirror: hm.Mirror, target: ScriptedTarget, pages: int, ps: int) -> int:
    addr = target.mmap(pages * ps, fill=3)
    mirror.fault(addr, pages * ps, write=True)
    return addr


def test_unmap_protection_clear(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = _mapped(mirror, target, 12, ps)
    target.munmap(addr, 4 * ps)
    target.mprotect(addr + 4 * ps, 4 * ps, "r")
    target.madvise(addr + 8 * ps, 4 * ps, "dontneed")
    events = list(mirror.events(timeout=0))
    assert [(e.reason, e.start, e.end, e.pages) for e in events] == [
        (R.UNMAP, addr, addr + 4 * ps, 4),
        (R.PROTECTION, addr + 4 * ps, addr + 8 * ps, 4),
        (R.CLEAR, addr + 8 * ps, addr + 12 * ps, 4),
    ]
    assert [e.seq for e in events] == [events[0].seq + i for i in range(3)]
    assert isinstance(events[0], hm.Event) and "unmap" in str(events[0])
    assert mirror.query(addr + 4 * ps, 8 * ps) == [0] * 8
    assert list(mirror.events(timeout=0)) == []


def test_next_event_timeout(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    assert mirror.next_event(0) is None
    t0 = time.monotonic()
    assert mirror.next_event(0.2) is None
    assert time.monotonic() - t0 >= 0.19
    addr = _mapped(mirror, target, 1, ps)
    target.munmap(addr, ps)
    ev = mirror.next_event(None)
    assert ev is not None and ev.reason == R.UNMAP and ev.pages == 1


def test_events_iterator_waits(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = _mapped(mirror, target, 2, ps)
    target.munmap(addr, ps)
    t0 = time.monotonic()
    got = list(mirror.events(timeout=0.3))  # one event, then 0.3 s of silence
    assert [e.reason for e in got] == [R.UNMAP]
    assert time.monotonic() - t0 >= 0.29


def test_chosen_reasons_only(target: ScriptedTarget, ps: int) -> None:
    with hm.Mirror(pid=target.pid, events=[R.UNMAP]) as m:
        assert m.event_reasons == 1 << R.UNMAP
        addr = _mapped(m, target, 4, ps)
        target.mprotect(addr, 2 * ps, "r")
        target.munmap(addr + 2 * ps, 2 * ps)
        assert [e.reason for e in m.events(timeout=0)] == [R.UNMAP]
        m.disable_events()
        assert m.event_reasons == 0
        m.fault(addr, 2 * ps)
        target.munmap(addr, 2 * ps)
        assert m.next_event(0) is None


def test_events_enable_themselves(target: ScriptedTarget, ps: int) -> None:
    with hm.Mirror(pid=target.pid) as m:
        assert m.event_reasons is None
        with pytest.raises(hm.HmmMirrorError) as info:
            m.next_event(0)  # never enabled
        assert info.value.errno == errno.EINVAL
        assert list(m.events(timeout=0)) == []  # enables every reason
        assert m.event_reasons == hm.reasons_mask(None)


def test_lost_events(target: ScriptedTarget, ps: int) -> None:
    with hm.Mirror(pid=target.pid, events=True, queue_len=2) as m:
        addr = _mapped(m, target, 6, ps)
        for i in range(5):  # five events into a queue of two
            target.munmap(addr + i * ps, ps)
        events = list(m.events(timeout=0))
        reasons = [e.reason for e in events]
        assert reasons[:2] == [R.UNMAP, R.UNMAP] and R.LOST in reasons
        lost = next(e for e in events if e.reason == R.LOST)
        assert lost.pages == 3 and lost.seq == events[0].seq + 2
        assert m.stats().events_lost == 3
        with pytest.raises(hm.HmmMirrorError) as info:
            m.enable_events(queue_len=1 << 20)
        assert info.value.errno == errno.EINVAL


def test_selectors_fileno(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = _mapped(mirror, target, 2, ps)
    with selectors.DefaultSelector() as sel:
        sel.register(mirror, selectors.EVENT_READ)  # uses fileno()
        assert sel.select(0) == []
        target.munmap(addr, ps)
        ready = sel.select(5)
        assert [key.fileobj for key, _ in ready] == [mirror]
        assert mirror.next_event(0).reason == R.UNMAP
        assert sel.select(0) == []


def test_asyncio(mirror: hm.Mirror, target: ScriptedTarget, ps: int) -> None:
    addr = _mapped(mirror, target, 3, ps)

    async def main() -> list:
        loop = asyncio.get_running_loop()
        got = []

        async def consume() -> None:
            async for ev in mirror.aevents(timeout=1.0):
                got.append(ev)
                if len(got) == 2:
                    break

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        await loop.run_in_executor(None, target.munmap, addr, ps)
        await loop.run_in_executor(None, target.mprotect, addr + ps, ps, "r")
        await asyncio.wait_for(task, 10)
        # Silence: the iterator ends after its timeout.
        return got + [ev async for ev in mirror.aevents(timeout=0.1)]

    events = asyncio.run(main())
    assert [e.reason for e in events] == [R.UNMAP, R.PROTECTION]


def test_signal_interrupts_wait(mirror: hm.Mirror) -> None:
    class Alarm(Exception):
        pass

    def handler(signum: int, frame: object) -> None:
        raise Alarm()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        t0 = time.monotonic()
        with pytest.raises(Alarm):
            mirror.next_event(None)  # would wait forever
        assert time.monotonic() - t0 < 5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_exit_release_and_end_of_stream(mirror: hm.Mirror, target: ScriptedTarget,
                                        ps: int) -> None:
    addr = _mapped(mirror, target, 4, ps)
    with selectors.DefaultSelector() as sel:
        sel.register(mirror, selectors.EVENT_READ)
        assert target.exit(0) == 0
        assert sel.select(5)  # readable: the RELEASE record (then POLLHUP)
    events = list(mirror.events(timeout=None))  # ends at the end of the stream
    assert [e.reason for e in events] == [R.RELEASE]
    assert events[0].pages == 4
    with pytest.raises(hm.TargetExitedError) as info:
        mirror.next_event(0)
    assert info.value.errno == errno.ESRCH
    for call in (lambda: mirror.fault(addr, ps), lambda: mirror.query(addr, ps),
                 lambda: mirror.snapshot(addr, ps), lambda: mirror.read(addr, 1),
                 lambda: mirror.write(addr, bytes(ps))):
        with pytest.raises(hm.TargetExitedError):
            call()
    st = mirror.stats()  # STATS and HANDSHAKE still work
    assert st.invalidations[R.RELEASE] == 1 and st.dpt_pages == 0
    assert mirror.handshake() == mirror.info
