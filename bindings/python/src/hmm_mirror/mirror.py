"""The mirror: an open /dev/hmm_mirror, bound to a process's address space."""
from __future__ import annotations

import asyncio
import errno as _errno
import os
import time
from typing import (Any, AsyncIterator, Iterable, Iterator, List, Literal,
                    Optional, Union, overload)

from ._hmm_mirror_cffi import ffi, lib
from .errors import HmmMirrorError, MirrorClosedError, check, error_from_result
from .model import (AtomicOp, CopyResult, DeviceMemory, Event, EventReason,
                    ExclusiveResult, FaultResult, Feature, Info, MigrateResult, Stats,
                    reasons_mask)
from .states import PageRange, PageState, _states, collapse

__all__ = ["Mirror", "DEVICE_PATH", "address_of"]

#: Where the device node is by default.
DEVICE_PATH: str = ffi.string(lib.HMM_MIRROR_DEVICE_PATH).decode()

#: States arrays bigger than this (in pages) are refused before any call:
#: 64 Mi pages is a 256 GiB range and a 256 MiB array.
MAX_STATES = 1 << 26

Reasons = Union[None, int, EventReason, Iterable[Union[EventReason, int]]]
PathLike = Union[str, "os.PathLike[str]"]


def address_of(buffer: Any) -> int:
    """Address in this process of a writable or read-only buffer (bytes,
    bytearray, mmap, memoryview, array, numpy array ...).

    For mirroring your own memory (``Mirror()`` without ``pid``).  The
    address is valid only while ``buffer`` is alive and not resized.
    """
    return int(ffi.cast("uintptr_t", ffi.from_buffer(buffer)))


class Mirror:
    """A mirror of one process's address space, in a software device.

    ``Mirror()`` mirrors the calling process; ``Mirror(pid=1234)`` attaches
    to process 1234 (allowed when we may ptrace it); ``Mirror(pidfd=fd)``
    attaches through a pidfd.  Use it as a context manager, or call
    :meth:`close`::

        with hmm_mirror.Mirror(pid=target.pid, events=True) as m:
            m.fault(addr, 16 * m.page_size, write=True)
            print(m.query(addr, 16 * m.page_size, collapse=True))

    Every failure raises :class:`~hmm_mirror.HmmMirrorError` (an OSError)
    with the errno and libhmm_mirror's explanation; a missing device raises
    :class:`~hmm_mirror.DeviceNotFoundError` (also a FileNotFoundError).

    Addresses and lengths are bytes in the mirrored address space; ranges
    must be multiples of :attr:`page_size`.

    ``events`` enables invalidation events at once (True: every reason; or
    the reasons to receive), ``queue_len`` sets the kernel queue length (0:
    the module's default).
    """

    def __init__(self, pid: Optional[int] = None, *, pidfd: Optional[int] = None,
                 path: Optional[PathLike] = None,
                 events: Union[bool, Reasons] = False, queue_len: int = 0) -> None:
        self._h: Any = None
        self._pid: Optional[int] = None
        self._reasons: Optional[int] = None
        if pid is not None and pidfd is not None:
            raise ValueError("give pid or pidfd, not both")
        self.path: str = os.fspath(path) if path is not None else DEVICE_PATH
        out = ffi.new("struct hmm_mirror **")
        check(lib.hmm_mirror_open_path(self.path.encode(), out))
        self._adopt(out[0], pid, pidfd, events, queue_len)

    def _adopt(self, handle: Any, pid: Optional[int], pidfd: Optional[int],
               events: Union[bool, Reasons], queue_len: int) -> None:
        """Own the library handle, then what the constructor was asked."""
        self._h = ffi.gc(handle, lib.hmm_mirror_close)
        try:
            self._info = self.handshake()
            if pid is not None:
                self.attach(pid)
            elif pidfd is not None:
                self.attach_pidfd(pidfd)
            if events is not False:
                self.enable_events(None if events is True else events, queue_len=queue_len)
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_fd(cls, fd: int, *, events: Union[bool, Reasons] = False,
                queue_len: int = 0) -> "Mirror":
        """A mirror for a descriptor of /dev/hmm_mirror opened elsewhere, for
        example received over a unix socket (:func:`socket.recv_fds`) from
        the process that opened the device::

            msg, fds, flags, addr = socket.recv_fds(sock, 64, 1)
            with hmm_mirror.Mirror.from_fd(fds[0]) as m:
                data = m.read(remote_addr, 4096)

        The mirror is the one behind the descriptor, bound to the address
        space it was bound to: the opener's (the sender), or the one it was
        attached to (:attr:`pid` is None: this object does not know which).

        The handshake checks that ``fd`` is the device: anything else
        raises :class:`~hmm_mirror.HmmMirrorError` with errno ENOTTY and a
        message naming what ``fd`` is.  On success the mirror owns ``fd``
        (:meth:`close` closes it; pass ``os.dup(fd)`` to keep yours) and
        sets close-on-exec on it, and O_NONBLOCK on its open file
        description, which every descriptor of it shares.  On failure
        ``fd`` is left open and unchanged.  ``events`` and ``queue_len`` as
        for the constructor.
        """
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f"from_fd() needs a file descriptor (an int), not "
                            f"{type(fd).__name__}")
        out = ffi.new("struct hmm_mirror **")
        # fds above INT_MAX cannot exist: the library says EBADF for -1.
        check(lib.hmm_mirror_from_fd(fd if 0 <= fd <= 0x7fffffff else -1, out))
        m = cls.__new__(cls)
        m._h = None
        m._pid = None
        m._reasons = None
        try:
            m.path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            m.path = DEVICE_PATH
        m._adopt(out[0], None, None, events, queue_len)
        return m

    # ------------------------------------------------------------------
    # lifetime

    def close(self) -> None:
        """Close the device; the device page table goes with it.  Idempotent."""
        h, self._h = self._h, None
        if h is not None:
            ffi.release(h)  # runs hmm_mirror_close() now

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._h is None

    def __enter__(self) -> "Mirror":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<hmm_mirror.Mirror closed>"
        who = f"pid {self._pid}" if self._pid else "self"
        return f"<hmm_mirror.Mirror fd={self.fileno()} mirroring {who}>"

    def _handle(self) -> Any:
        h = self._h
        if h is None:
            raise MirrorClosedError(_errno.EBADF, "the mirror is closed")
        return h

    def fileno(self) -> int:
        """The device's file descriptor, for selectors, poll and asyncio.

        It becomes readable when an event is queued and reports POLLHUP (a
        selector sees it readable) when the mirrored process exited; then
        call :meth:`next_event` with ``timeout=0``.  The descriptor is owned
        by the mirror: never read from or close it yourself.
        """
        return check(lib.hmm_mirror_fd(self._handle()))

    # ------------------------------------------------------------------
    # handshake, features

    def handshake(self) -> Info:
        """Ask the module again (no side effects) and return its answer."""
        info = ffi.new("struct hmm_mirror_info *")
        lib.hmm_mirror_info_init(info)
        check(lib.hmm_mirror_handshake(self._handle(), info))
        return Info._from_c(info)

    @property
    def info(self) -> Info:
        """The handshake made when the mirror was opened."""
        return self._info

    @property
    def features(self) -> Feature:
        """The module's features (same as ``info.features``)."""
        return self._info.features

    @property
    def page_size(self) -> int:
        """The page size every range is measured in, bytes."""
        return self._info.page_size

    def require(self, features: Union[Feature, int]) -> None:
        """Raise :class:`~hmm_mirror.UnsupportedFeatureError` naming what is
        missing unless the module has every feature in ``features``."""
        check(lib.hmm_mirror_require(self._handle(), int(features)))

    # ------------------------------------------------------------------
    # the address space

    @property
    def pid(self) -> Optional[int]:
        """The process mirrored, or None for the opener (this process)."""
        return self._pid

    def attach(self, pid: int) -> None:
        """Mirror process ``pid`` instead (only while the device maps nothing)."""
        check(lib.hmm_mirror_attach_pid(self._handle(), int(pid)))
        self._pid = int(pid)

    def attach_pidfd(self, pidfd: int) -> None:
        """Mirror the process that ``pidfd`` refers to (we keep no reference
        to ``pidfd``: close it when you like)."""
        check(lib.hmm_mirror_attach_pidfd(self._handle(), int(pidfd)))
        self._pid = _pidfd_pid(pidfd)

    # ------------------------------------------------------------------
    # the device page table

    def fault(self, addr: int, length: int, write: bool = False) -> FaultResult:
        """Fault ``[addr, addr + length)`` into the device page table, for
        read or (``write=True``) for write.

        Raises with EFAULT when part of the range is not mapped or not
        readable, EPERM (:class:`~hmm_mirror.MirrorPermissionError`) for a
        write fault on read-only memory, EBUSY when invalidations kept
        racing, ESRCH (:class:`~hmm_mirror.TargetExitedError`) after the
        process exited.
        """
        _check_range(addr, length)
        pages = ffi.new("uint64_t *")
        retries = ffi.new("uint64_t *")
        flags = lib.HMM_MIRROR_FAULT_WRITE if write else 0
        check(lib.hmm_mirror_fault(self._handle(), addr, length, flags, pages, retries))
        return FaultResult(int(pages[0]), int(retries[0]))

    def _range_pages(self, addr: int, length: int) -> int:
        """Pages of a range given to a command with one entry per page,
        after checking the range and that one call can take it."""
        _check_range(addr, length)
        n = length >> self._info.page_shift
        if n > MAX_STATES:
            raise HmmMirrorError(_errno.EINVAL,
                                 f"a range of {n} pages is too large for one call "
                                 f"(at most {MAX_STATES}): split it")
        return n

    def _pages(self, fn: Any, addr: int, length: int) -> List[int]:
        h = self._handle()
        n = self._range_pages(addr, length)
        states = ffi.new("uint32_t[]", max(n, 1))
        check(fn(h, addr, length, states, max(n, 1)))
        values: List[int] = ffi.unpack(states, n)
        return values

    @overload
    def snapshot(self, addr: int, length: int,
                 collapse: Literal[False] = ...) -> List[PageState]: ...

    @overload
    def snapshot(self, addr: int, length: int,
                 collapse: Literal[True]) -> List[PageRange]: ...

    def snapshot(self, addr: int, length: int,
                 collapse: bool = False) -> Union[List[PageState], List[PageRange]]:
        """What the CPU page table holds for each page of the range, without
        faulting and without changing the device page table.

        Returns one :class:`~hmm_mirror.PageState` per page, or with
        ``collapse=True`` a list of :class:`~hmm_mirror.PageRange`
        ``(start, end, state)`` runs covering the range.
        """
        values = self._pages(lib.hmm_mirror_snapshot, addr, length)
        return self._result(addr, values, collapse)

    def snapshot_runs(self, addr: int, length: int) -> List[PageRange]:
        """:meth:`runs` as a list: each :class:`~hmm_mirror.PageRange` is
        the longest run of pages with one state, in address order and
        without gaps.  Any range can be asked for (no ``MAX_STATES``
        limit)."""
        return list(self.runs(addr, length))

    def runs(self, addr: int, length: int) -> Iterator[PageRange]:
        """The runs of ``[addr, addr + length)`` one at a time, as a
        generator, in bounded memory whatever the range (libhmm_mirror's
        walk, ``hmm_mirror_runs_open()``): the module's runs when it has
        :attr:`Feature.SNAPSHOT_RUNS` (ABI 2), else per-page snapshots of
        bounded pieces collapsed into the same runs.

        A bad range raises here; a failure of the walk raises from the
        generator.  Closing the mirror ends the walk.
        """
        h = self._handle()
        _check_range(addr, length)
        out = ffi.new("struct hmm_mirror_runs **")
        check(lib.hmm_mirror_runs_open(h, addr, length, out))
        # Freed by the generator's end, or by the GC if it is dropped.
        walk = ffi.gc(out[0], lib.hmm_mirror_runs_close)
        return self._walk_runs(h, walk)

    def _walk_runs(self, h: Any, walk: Any) -> Iterator[PageRange]:
        run = ffi.new("struct hmm_mirror_run *")
        try:
            while True:
                # The walk uses the handle: never after close().
                if self._h is not h:
                    raise MirrorClosedError(_errno.EBADF, "the mirror is closed")
                ret = lib.hmm_mirror_runs_next(walk, run)
                if ret == 0:
                    return
                check(ret)
                yield PageRange(int(run.addr), int(run.addr + run.length),
                                PageState(run.state))
        finally:
            ffi.release(walk)

    @overload
    def query(self, addr: int, length: int,
              collapse: Literal[False] = ...) -> List[PageState]: ...

    @overload
    def query(self, addr: int, length: int,
              collapse: Literal[True]) -> List[PageRange]: ...

    def query(self, addr: int, length: int,
              collapse: bool = False) -> Union[List[PageState], List[PageRange]]:
        """What the *device* page table maps now, per page (as
        :meth:`snapshot`; ERROR is never set)."""
        values = self._pages(lib.hmm_mirror_query, addr, length)
        return self._result(addr, values, collapse)

    def _result(self, addr: int, values: List[int],
                do_collapse: bool) -> Union[List[PageState], List[PageRange]]:
        if do_collapse:
            return collapse(addr, values, self.page_size)
        return _states(values)

    def _copy(self, fn: Any, addr: int, cbuf: Any, length: int,
              skip: int = 0) -> CopyResult:
        """READ or WRITE; a failure raises with ``bytes_copied`` (less the
        ``skip`` bytes before what the caller asked for)."""
        h = self._handle()
        res = ffi.new("struct hmm_mirror_rw_result *")
        lib.hmm_mirror_rw_result_init(res)
        ret = fn(h, addr, cbuf, length, res)
        if ret < 0:
            copied: Optional[int] = None
            if self.features & Feature.RW_COPIED:
                copied = max(0, int(res.bytes_copied) - skip)
            raise error_from_result(ret, bytes_copied=copied)
        return CopyResult(int(res.bytes_copied), int(res.device_faults))

    def read(self, addr: int, length: int) -> bytes:
        """``length`` bytes at ``addr``, read through the device page table
        the way a device would (missing pages are faulted first).

        ``addr`` and ``length`` need not be page aligned: the enclosing
        pages are read and the bytes asked for returned.  The kernel copies
        into a fresh buffer and the returned bytes are one more copy;
        :meth:`read_into` copies straight into your buffer.  When the read
        fails part way, the exception's ``bytes_copied`` counts the bytes
        from ``addr`` on that arrived (they are not returned).
        """
        _check_range(addr, length)
        if length == 0:
            return b""
        mask = self.page_size - 1
        start = addr & ~mask
        end = (addr + length + mask) & ~mask
        buf = ffi.new("char[]", end - start)
        try:
            self._copy(lib.hmm_mirror_read_ex, start, buf, end - start, addr - start)
        except HmmMirrorError as err:
            if err.bytes_copied is not None:
                err.bytes_copied = min(err.bytes_copied, length)
            raise
        return bytes(ffi.unpack(buf + (addr - start), length))

    def read_into(self, addr: int, buffer: Any) -> CopyResult:
        """Fill the writable ``buffer`` (bytearray, memoryview, mmap, array,
        numpy array ...: any C-contiguous writable buffer) with the bytes at
        ``addr``, copied by the kernel straight into it.

        The length read is the buffer's size in bytes, a multiple of the
        page size.  Returns the bytes copied (all of them) and the device
        faults taken, as a :class:`~hmm_mirror.CopyResult`.  When the copy
        fails part way the exception's ``bytes_copied`` says how far it got:
        the buffer holds those bytes, and nothing after them was written.
        """
        _check_range(addr, 0)
        try:
            cbuf = ffi.from_buffer(buffer, require_writable=True)
        except BufferError as err:
            raise TypeError(f"read_into() needs a writable buffer, not "
                            f"{type(buffer).__name__}: {err}") from err
        return self._copy(lib.hmm_mirror_read_ex, addr, cbuf, len(cbuf))

    def write(self, addr: int, data: Any) -> CopyResult:
        """Write ``data`` (bytes or any C-contiguous buffer, used in place)
        at ``addr`` through the device page table, faulting for write where
        the device has no writable entry.

        The length is ``data``'s size in bytes, a multiple of the page
        size.  Returns the bytes copied (all of them) and the device faults
        taken, as a :class:`~hmm_mirror.CopyResult`.  When the copy fails
        part way the exception's ``bytes_copied`` says how far it got: the
        memory from ``addr + bytes_copied`` on is unchanged.
        """
        _check_range(addr, 0)
        cbuf = ffi.from_buffer(data)
        return self._copy(lib.hmm_mirror_write_ex, addr, cbuf, len(cbuf))

    # ------------------------------------------------------------------
    # device memory (ABI 4)

    def migrate(self, addr: int, length: int, to_system: bool = False,
                evict: bool = False) -> MigrateResult:
        """Move the anonymous private pages of ``[addr, addr + length)``
        into the module's device memory, or with ``to_system=True`` back to
        system memory.

        With ``evict=True`` (ABI 5, :attr:`Feature.DEVICE_EVICT`) a move to
        the device that finds the pool full first evicts the pool's oldest
        pages, of any mirror, back to system memory (data intact; their
        mirrors get a MIGRATE event with :attr:`Direction.TO_SYSTEM`,
        ``Stats.pages_evicted`` counts them) instead of reporting pages
        NO_MEMORY.  ``evict`` with ``to_system`` is EINVAL; without the
        feature it raises :class:`~hmm_mirror.UnsupportedFeatureError`.

        Pages that cannot move (file pages, pinned pages, holes, a full
        pool) are reported in the result, not raised.  The device reads
        and writes pages in its memory in place; a CPU access moves a page
        back by itself (a MIGRATE event with :attr:`Direction.TO_SYSTEM`).

        Raises :class:`~hmm_mirror.UnsupportedFeatureError` (EOPNOTSUPP)
        when the module has no device memory (:attr:`Feature.DEVICE_MEMORY`
        missing: a kernel without CONFIG_DEVICE_PRIVATE, or
        device_memory_mb=0), EINVAL for a bad range, ESRCH after the
        process exited.
        """
        h = self._handle()
        n = self._range_pages(addr, length)
        results = ffi.new("uint32_t[]", max(n, 1))
        moved = ffi.new("uint64_t *")
        not_moved = ffi.new("uint64_t *")
        flags = lib.HMM_MIRROR_MIGRATE_TO_SYSTEM if to_system else 0
        if evict:
            flags |= lib.HMM_MIRROR_MIGRATE_EVICT
        check(lib.hmm_mirror_migrate(h, addr, length, flags, results, max(n, 1),
                                     moved, not_moved))
        values: List[int] = ffi.unpack(results, n)
        return MigrateResult._from_c(addr, length, to_system, values,
                                     int(moved[0]), int(not_moved[0]), evict)

    def exclusive(self, addr: int, length: int) -> ExclusiveResult:
        """Give the device exclusive access to the pages of
        ``[addr, addr + length)``, for :meth:`atomic`: the CPU loses access
        to them until it touches one, which takes that page back (an
        EXCLUSIVE event).  A page the kernel refuses is reported with the
        errno of the refusal (EFAULT: not mapped or not writable;
        EOPNOTSUPP: not anonymous memory; EBUSY on kernels before 6.15 for
        any refusal, a THP's pages included), not raised.

        Raises :class:`~hmm_mirror.UnsupportedFeatureError` without
        :attr:`Feature.EXCLUSIVE` (a kernel without CONFIG_DEVICE_PRIVATE),
        EINVAL for a bad range, ESRCH after the process exited.
        """
        h = self._handle()
        n = self._range_pages(addr, length)
        results = ffi.new("uint32_t[]", max(n, 1))
        granted = ffi.new("uint64_t *")
        refused = ffi.new("uint64_t *")
        check(lib.hmm_mirror_exclusive(h, addr, length, results, max(n, 1),
                                       granted, refused))
        values: List[int] = ffi.unpack(results, n)
        return ExclusiveResult(addr=addr, length=length, results=tuple(values),
                               pages_granted=int(granted[0]),
                               pages_refused=int(refused[0]))

    def atomic(self, addr: int, op: AtomicOp, operand: int, compare: int = 0,
               grant: bool = True) -> int:
        """A device atomic operation on the 64-bit word at ``addr`` (8-byte
        aligned); returns the word's old value.  ``compare`` is the expected
        value of :attr:`AtomicOp.CMPXCHG` (0 for the others).  The device
        takes exclusive access to the page first if it lacks it; with
        ``grant=False`` that raises EAGAIN instead.

        Raises EINVAL (alignment, op, compare), EAGAIN, the errno of a
        page the kernel refuses (see :meth:`exclusive`),
        :class:`~hmm_mirror.UnsupportedFeatureError` without
        :attr:`Feature.EXCLUSIVE`.
        """
        old = ffi.new("uint64_t *")
        flags = 0 if grant else lib.HMM_MIRROR_ATOMIC_NO_GRANT
        check(lib.hmm_mirror_atomic(self._handle(), addr, int(op),
                                    operand & 0xFFFFFFFFFFFFFFFF,
                                    compare & 0xFFFFFFFFFFFFFFFF, flags, old))
        return int(old[0])

    def device_memory(self) -> DeviceMemory:
        """The module's device memory (pool size and use, shared by every
        mirror) and this mirror's MIGRATE counts.

        Raises :class:`~hmm_mirror.UnsupportedFeatureError` without
        :attr:`Feature.DEVICE_MEMORY`.
        """
        dm = ffi.new("struct hmm_mirror_device_memory *")
        lib.hmm_mirror_device_memory_init(dm)
        check(lib.hmm_mirror_device_memory(self._handle(), dm))
        return DeviceMemory._from_c(dm)

    # ------------------------------------------------------------------
    # events

    def enable_events(self, reasons: Reasons = None, queue_len: int = 0) -> None:
        """Receive invalidation events for ``reasons`` (None: every reason;
        an :class:`~hmm_mirror.EventReason`, an iterable of them, or a bit
        mask).  ``queue_len``: records the kernel queue holds (0: 1024)."""
        mask = reasons_mask(reasons)
        check(lib.hmm_mirror_events_config(self._handle(), mask, queue_len))
        self._reasons = mask

    def disable_events(self) -> None:
        """Stop events (records already queued can still be read)."""
        check(lib.hmm_mirror_events_config(self._handle(), 0, 0))
        self._reasons = 0

    @property
    def event_reasons(self) -> Optional[int]:
        """The reasons mask this object configured, None if never."""
        return self._reasons

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The oldest queued event; waits up to ``timeout`` seconds (None:
        forever, 0: not at all).  Returns None when none came in time.

        Raises :class:`~hmm_mirror.TargetExitedError` at the end of the
        stream: the mirrored process exited and every record, its RELEASE
        included, has been read.
        """
        h = self._handle()
        rec = ffi.new("struct hmm_mirror_event *")
        lib.hmm_mirror_event_record_init(rec)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if deadline is None:
                ms = -1
            else:
                ms = max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
            ret = lib.hmm_mirror_event_next(h, rec, ms)
            if ret == 0:
                return Event._from_c(rec)
            if ret == -_errno.EAGAIN:
                return None
            if ret == -_errno.EINTR:
                # Let Python run its signal handlers (KeyboardInterrupt ...),
                # then wait again for the rest of the time (PEP 475).
                time.sleep(0)
                continue
            raise error_from_result(ret)

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterate over invalidation events as they come.

        Stops when no event arrives within ``timeout`` seconds (None: wait
        forever; 0: just drain what is queued) or at the end of the stream
        (the mirrored process exited).  Enables every reason first if events
        were never enabled on this mirror.
        """
        if self._reasons is None:
            self.enable_events()
        while True:
            try:
                ev = self.next_event(timeout)
            except HmmMirrorError as err:
                if err.errno == _errno.ESRCH:
                    return
                raise
            if ev is None:
                return
            yield ev

    async def aevents(self, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """:meth:`events` for asyncio: ``async for ev in m.aevents(): ...``

        Waits on :meth:`fileno` with the running loop's reader callback, so
        the loop is never blocked.
        """
        if self._reasons is None:
            self.enable_events()
        loop = asyncio.get_running_loop()
        ready = asyncio.Event()
        fd = self.fileno()
        loop.add_reader(fd, ready.set)
        try:
            while True:
                try:
                    ev = self.next_event(0)
                except HmmMirrorError as err:
                    if err.errno == _errno.ESRCH:
                        return
                    raise
                if ev is not None:
                    yield ev
                    continue
                ready.clear()
                try:
                    await asyncio.wait_for(ready.wait(), timeout)
                except asyncio.TimeoutError:
                    # One last look: the record may have come just now.
                    try:
                        ev = self.next_event(0)
                    except HmmMirrorError as err:
                        if err.errno == _errno.ESRCH:
                            return
                        raise
                    if ev is None:
                        return
                    yield ev
        finally:
            try:
                loop.remove_reader(fd)
            except (OSError, ValueError):  # the mirror was closed meanwhile
                pass

    # ------------------------------------------------------------------
    # statistics

    def stats(self) -> Stats:
        """This mirror's counters (works after the process exited)."""
        c = ffi.new("struct hmm_mirror_stats *")
        lib.hmm_mirror_counters_init(c)
        check(lib.hmm_mirror_stats(self._handle(), c))
        return Stats._from_c(c)

    def global_stats(self) -> Stats:
        """The module's counters since it was loaded (notifiers, dpt_* and
        mirrors are totals over the mirrors open now)."""
        c = ffi.new("struct hmm_mirror_stats *")
        lib.hmm_mirror_counters_init(c)
        check(lib.hmm_mirror_stats_global(self._handle(), c))
        return Stats._from_c(c)


def _check_range(addr: int, length: int) -> None:
    # The library checks alignment and size; only what cannot reach it
    # (negative numbers do not convert to uint64_t) is checked here.
    if addr < 0 or length < 0:
        raise HmmMirrorError(_errno.EINVAL,
                             f"addr=0x{addr:x}, length=0x{length:x}: negative "
                             "address or length")


def _pidfd_pid(pidfd: int) -> Optional[int]:
    try:
        with open(f"/proc/self/fdinfo/{pidfd}") as f:
            for line in f:
                if line.startswith("Pid:"):
                    pid = int(line.split()[1])
                    return pid if pid > 0 else None
    except (OSError, ValueError):
        pass
    return None
