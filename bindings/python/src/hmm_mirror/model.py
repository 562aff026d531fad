"""Results of the mirror's commands: features, handshake, faults, events, stats.

Every numeric value comes from libhmm_mirror's header through the compiled
extension; the Python names mirror the C names without their prefix.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Tuple, Union

from ._hmm_mirror_cffi import ffi, lib

__all__ = [
    "Feature",
    "Info",
    "FaultResult",
    "CopyResult",
    "EventReason",
    "Event",
    "Counter",
    "Stats",
    "reasons_mask",
    "MigrateStatus",
    "MigrateResult",
    "DeviceMemory",
    "Direction",
]


class Feature(enum.IntFlag):
    """What the module supports (``HMM_MIRROR_FEAT_*``), from the handshake."""

    FAULT = lib.HMM_MIRROR_FEAT_FAULT
    SNAPSHOT = lib.HMM_MIRROR_FEAT_SNAPSHOT
    DEVICE_RW = lib.HMM_MIRROR_FEAT_DEVICE_RW
    QUERY = lib.HMM_MIRROR_FEAT_QUERY
    HUGE_ENTRIES = lib.HMM_MIRROR_FEAT_HUGE_ENTRIES
    ATTACH = lib.HMM_MIRROR_FEAT_ATTACH
    EVENTS = lib.HMM_MIRROR_FEAT_EVENTS
    LAZY_NOTIFIERS = lib.HMM_MIRROR_FEAT_LAZY_NOTIFIERS
    FILE_BACKED = lib.HMM_MIRROR_FEAT_FILE_BACKED
    FORK = lib.HMM_MIRROR_FEAT_FORK
    EXIT = lib.HMM_MIRROR_FEAT_EXIT
    STATS = lib.HMM_MIRROR_FEAT_STATS
    SNAPSHOT_RUNS = lib.HMM_MIRROR_FEAT_SNAPSHOT_RUNS
    RW_COPIED = lib.HMM_MIRROR_FEAT_RW_COPIED
    ADDR_LIMIT = lib.HMM_MIRROR_FEAT_ADDR_LIMIT
    #: Device-private memory and MIGRATE (ABI 4; depends on the kernel's
    #: CONFIG_DEVICE_PRIVATE and the module's device_memory_mb).
    DEVICE_MEMORY = lib.HMM_MIRROR_FEAT_DEVICE_MEMORY
    #: EXCLUSIVE and ATOMIC (ABI 5; a kernel with CONFIG_DEVICE_PRIVATE).
    EXCLUSIVE = lib.HMM_MIRROR_FEAT_EXCLUSIVE
    #: MIGRATE can evict the pool's oldest pages to make room
    #: (``Mirror.migrate(..., evict=True)``; ABI 5, with DEVICE_MEMORY only).
    DEVICE_EVICT = lib.HMM_MIRROR_FEAT_DEVICE_EVICT

    @property
    def names(self) -> List[str]:
        """The library's names of the bits set ("fault", "snapshot", ...)."""
        out = []
        value = int(self)
        bit = 0
        while value >> bit:
            if value >> bit & 1:
                name = lib.hmm_mirror_feature_name(1 << bit)
                out.append(ffi.string(name).decode() if name != ffi.NULL else f"bit{bit}")
            bit += 1
        return out


@dataclass(frozen=True)
class Info:
    """The module's answer to the handshake (``struct hmm_mirror_info``)."""

    #: ABI version the module speaks.
    abi_version: int
    #: ABI version libhmm_mirror (compiled into this package) speaks.
    lib_abi_version: int
    #: log2 of the page size every range is measured in.
    page_shift: int
    #: Every feature the module supports.
    features: Feature
    #: Bit n set when the module has command number n.
    ioctls: int
    #: The end (exclusive) of the addresses the device page table can map,
    #: ``1 << 48``: a range reaching past it is EINVAL, even where the process
    #: maps memory (5-level paging).  None when the module does not say
    #: (:attr:`Feature.ADDR_LIMIT` missing: ABI 2 and older).
    addr_limit: Optional[int] = None

    @property
    def page_size(self) -> int:
        """The page size in bytes."""
        return 1 << self.page_shift

    @property
    def commands(self) -> List[str]:
        """Names of the module's commands ("HANDSHAKE", "FAULT", ...)."""
        out = []
        for nr in range(64):
            if self.ioctls >> nr & 1:
                name = lib.hmm_mirror_command_name(nr)
                out.append(ffi.string(name).decode() if name != ffi.NULL else f"#{nr}")
        return out

    @classmethod
    def _from_c(cls, c: Any) -> "Info":
        return cls(abi_version=c.abi_version, lib_abi_version=c.lib_abi_version,
                   page_shift=c.page_shift, features=Feature(c.features),
                   ioctls=c.ioctls, addr_limit=int(c.addr_limit) or None)


class FaultResult(NamedTuple):
    """What :meth:`Mirror.fault` reports."""

    #: 4K pages the device maps in the range after the call.
    pages_mapped: int
    #: Times the kernel walk restarted because an invalidation raced with it.
    retries: int


class CopyResult(NamedTuple):
    """What :meth:`Mirror.read_into` and :meth:`Mirror.write` report."""

    #: Bytes copied: all of them (a failure raises, with the bytes copied
    #: before it as the exception's ``bytes_copied``).
    bytes_copied: int
    #: Device faults taken to map missing pages.
    device_faults: int


class EventReason(enum.IntEnum):
    """Why device entries were invalidated (``HMM_MIRROR_EVENT_*``)."""

    UNMAP = lib.HMM_MIRROR_EVENT_UNMAP                #: munmap, mremap
    CLEAR = lib.HMM_MIRROR_EVENT_CLEAR                #: madvise, truncate, zap
    PROTECTION = lib.HMM_MIRROR_EVENT_PROTECTION      #: mprotect, fork COW
    MIGRATE = lib.HMM_MIRROR_EVENT_MIGRATE            #: page migration
    RELEASE = lib.HMM_MIRROR_EVENT_RELEASE            #: the address space exited
    SOFT_DIRTY = lib.HMM_MIRROR_EVENT_SOFT_DIRTY      #: soft-dirty clearing
    EXCLUSIVE = lib.HMM_MIRROR_EVENT_EXCLUSIVE        #: exclusive device access
    OTHER = lib.HMM_MIRROR_EVENT_OTHER                #: any other kernel reason
    #: Not an invalidation: ``pages`` events were lost (the queue was full).
    LOST = lib.HMM_MIRROR_EVENT_LOST

    @property
    def label(self) -> str:
        """The library's name: "unmap", "protection", "soft-dirty", ..."""
        return _reason_name(int(self))

    @classmethod
    def all(cls) -> FrozenSet["EventReason"]:
        """Every invalidation reason (LOST is not one: it always comes)."""
        return frozenset(r for r in cls if r != cls.LOST)


def _reason_name(value: int) -> str:
    name = lib.hmm_mirror_event_reason_name(value)
    return ffi.string(name).decode() if name != ffi.NULL else f"reason{value}"


def reasons_mask(reasons: Union[None, int, EventReason, Iterable[Union[EventReason, int]]]) -> int:
    """The reasons bit mask of ``hmm_mirror_events_config()``.

    ``None`` means every reason; an int is taken as a ready mask; an
    :class:`EventReason` or an iterable of them sets bit ``1 << reason``.
    """
    if reasons is None:
        return int(lib.HMM_MIRROR_EVENT_ALL_REASONS)
    if isinstance(reasons, EventReason):
        return 1 << int(reasons)
    if isinstance(reasons, int):
        return reasons
    mask = 0
    for r in reasons:
        mask |= 1 << int(r)
    return mask


class Direction(enum.IntFlag):
    """Which way a MIGRATE event moved pages (``HMM_MIRROR_EVENT_FLAG_*``,
    :attr:`Event.direction`); neither bit: the kernel moved system pages
    (NUMA balancing, compaction, another device)."""

    #: Into this module's device memory (:meth:`Mirror.migrate`).
    TO_DEVICE = lib.HMM_MIRROR_EVENT_FLAG_TO_DEVICE
    #: Out of it: migrated back, or a CPU access faulted the page back.
    TO_SYSTEM = lib.HMM_MIRROR_EVENT_FLAG_TO_SYSTEM


@dataclass(frozen=True)
class Event:
    """One invalidation event (``struct hmm_mirror_event``).

    ``[start, end)`` is the invalidated range clipped to where the device
    mapped pages; ``pages`` the 4K device pages it removed.  For a LOST
    record, ``pages`` is the number of lost events and ``seq`` that of the
    first one.
    """

    reason: Union[EventReason, int]
    start: int
    end: int
    seq: int
    pages: int
    flags: int = 0

    @property
    def length(self) -> int:
        """Bytes in ``[start, end)``."""
        return self.end - self.start

    @property
    def direction(self) -> Optional[Direction]:
        """For a MIGRATE event of ABI 4: :attr:`Direction.TO_DEVICE` or
        :attr:`Direction.TO_SYSTEM`; None for other events and for system
        page migrations (no direction flag)."""
        if self.reason != EventReason.MIGRATE:
            return None
        bits = self.flags & int(Direction.TO_DEVICE | Direction.TO_SYSTEM)
        return Direction(bits) if bits else None

    @property
    def to_device(self) -> bool:
        """A MIGRATE event that moved pages into device memory."""
        d = self.direction
        return d is not None and bool(d & Direction.TO_DEVICE)

    @property
    def to_system(self) -> bool:
        """A MIGRATE event that moved pages out of device memory."""
        d = self.direction
        return d is not None and bool(d & Direction.TO_SYSTEM)

    def __str__(self) -> str:
        name = _reason_name(int(self.reason))
        if self.reason == EventReason.LOST:
            return f"#{self.seq} lost {self.pages} events"
        if self.to_device:
            name += " to-device"
        elif self.to_system:
            name += " to-system"
        return (f"#{self.seq} {name} 0x{self.start:x}-0x{self.end:x} "
                f"({self.pages} pages)")

    @classmethod
    def _from_c(cls, c: Any) -> "Event":
        try:
            reason: Union[EventReason, int] = EventReason(c.reason)
        except ValueError:  # a reason from a newer module
            reason = int(c.reason)
        return cls(reason=reason, start=c.start, end=c.end, seq=c.seq,
                   pages=c.pages, flags=c.flags)


class Counter(NamedTuple):
    """One STATS counter, as libhmm_mirror's counter table describes it."""

    #: The field's name in ``struct hmm_mirror_stats``: "device_faults".
    name: str
    #: What it counts, one line.
    meaning: str
    #: Its value, or for an array counter (invalidations) one value per
    #: element with the element's name ("unmap", ...).
    values: Tuple[Tuple[Optional[str], int], ...]

    @property
    def total(self) -> int:
        """The sum of the values."""
        return sum(v for _, v in self.values)


def _c_str(p: Any) -> Optional[str]:
    return ffi.string(p).decode() if p != ffi.NULL else None


def _counters(c: Any) -> Tuple[Counter, ...]:
    """Every counter of a filled ``struct hmm_mirror_stats``, from the table."""
    out = []
    for i in range(lib.hmm_mirror_counter_count()):
        values = tuple((_c_str(lib.hmm_mirror_counter_element_name(i, k)),
                        int(lib.hmm_mirror_counter_value(c, i, k)))
                       for k in range(lib.hmm_mirror_counter_len(i)))
        out.append(Counter(_c_str(lib.hmm_mirror_counter_name(i)) or f"counter{i}",
                           _c_str(lib.hmm_mirror_counter_meaning(i)) or "", values))
    return tuple(out)


@dataclass(frozen=True)
class Stats:
    """Counters of one mirror or of the whole module (``STATS``).

    The named fields are the counters of this version; :attr:`counters`
    lists every counter the library describes, later ones included.
    """

    #: True for the module's totals since it was loaded.
    is_global: bool
    #: Device faults taken by READ and WRITE.
    device_faults: int
    #: FAULT commands plus device faults (hmm_range_fault runs).
    fault_calls: int
    #: Pages entered into the device page table.
    pages_faulted: int
    #: hmm_range_fault() restarts after a racing invalidation.
    fault_retries: int
    #: Invalidation callbacks by reason.
    invalidations: Dict[EventReason, int] = field(default_factory=dict)
    #: Device pages removed by invalidations.
    pages_invalidated: int = 0
    #: Event records read, LOST records included.
    events_delivered: int = 0
    #: Events dropped because the queue was full.
    events_lost: int = 0
    #: Interval notifiers registered now.
    notifiers: int = 0
    #: Device page-table pages allocated now.
    dpt_tables: int = 0
    #: 4K pages the device page table maps now.
    dpt_pages: int = 0
    #: Open mirrors (global); 1 for one mirror.
    mirrors: int = 0
    #: (ABI 4) 4K pages of device memory the module has.
    device_memory_pages: int = 0
    #: (ABI 4) Pages in device memory now: global, all of them; for one
    #: mirror, those it moved there.
    device_pages: int = 0
    #: (ABI 4) Pages MIGRATE moved to device memory.
    pages_to_device: int = 0
    #: (ABI 4) Pages MIGRATE moved back to system memory.
    pages_to_system: int = 0
    #: (ABI 4) Pages a CPU access moved back.
    pages_faulted_back: int = 0
    #: (ABI 4) Pages MIGRATE did not move for lack of memory.
    pages_no_memory: int = 0
    #: (ABI 5) Pages made exclusive to the device (EXCLUSIVE, ATOMIC).
    exclusive_granted: int = 0
    #: (ABI 5) Device atomic operations (ATOMIC).
    atomic_ops: int = 0
    #: (ABI 5) Pages evicted from device memory to make room (for one
    #: mirror: of those it had moved there).
    pages_evicted: int = 0
    #: Every counter, in the order of libhmm_mirror's table.
    counters: Tuple[Counter, ...] = ()

    @property
    def total_invalidations(self) -> int:
        """Invalidation callbacks of every reason."""
        return sum(self.invalidations.values())

    def as_dict(self) -> Dict[str, Any]:
        """The counters as a plain dict: ``is_global``, then every counter
        of the table by name (an array counter as a dict by element name)."""
        out: Dict[str, Any] = {"is_global": self.is_global}
        for c in self.counters:
            if len(c.values) == 1 and c.values[0][0] is None:
                out[c.name] = c.values[0][1]
            else:
                out[c.name] = {name or str(k): v for k, (name, v) in enumerate(c.values)}
        return out

    @classmethod
    def _from_c(cls, c: Any) -> "Stats":
        counters = _counters(c)
        by_name = {k.name: k for k in counters}
        inval = {EventReason(i): v for i, (_, v) in enumerate(by_name["invalidations"].values)}
        kwargs: Dict[str, Any] = {f.name: by_name[f.name].total for f in fields(cls)
                                  if f.name in by_name and f.name != "invalidations"}
        return cls(is_global=bool(c.flags & lib.HMM_MIRROR_STATS_GLOBAL),
                   invalidations=inval, counters=counters, **kwargs)


class MigrateStatus(enum.IntEnum):
    """What :meth:`Mirror.migrate` did with one page (``HMM_MIRROR_MIGRATE_*``)."""

    #: Moved by this call.
    MOVED = lib.HMM_MIRROR_MIGRATE_MOVED
    #: Already where it was asked to go.
    ALREADY = lib.HMM_MIRROR_MIGRATE_ALREADY
    #: Cannot move: a file page, a pinned page, a hole, ...
    NOT_MOVABLE = lib.HMM_MIRROR_MIGRATE_NOT_MOVABLE
    #: No free page at the target (the device pool is full).
    NO_MEMORY = lib.HMM_MIRROR_MIGRATE_NO_MEMORY

    @property
    def label(self) -> str:
        """The library's name: "moved", "already", "not_movable", "no_memory"."""
        return _migrate_name(int(self))


def _migrate_name(value: int) -> str:
    name = lib.hmm_mirror_migrate_result_name(value)
    return ffi.string(name).decode() if name != ffi.NULL else f"result{value}"


@dataclass(frozen=True)
class MigrateResult:
    """What :meth:`Mirror.migrate` reports: one status per page and counts.

    ``results[i]`` is the :class:`MigrateStatus` of page ``i`` of the range
    (an int for a value from a newer module).
    """

    #: Start of the range.
    addr: int
    #: Bytes in the range.
    length: int
    #: True when the call moved pages back to system memory.
    to_system: bool
    #: One status per page.
    results: Tuple[Union[MigrateStatus, int], ...]
    #: Pages the call moved (the module's count).
    pages_moved: int
    #: Pages it could not move (NOT_MOVABLE and NO_MEMORY).
    pages_not_moved: int
    #: True when the call could evict pages to make room (ABI 5).
    evict: bool = False

    def count(self, status: Union[MigrateStatus, int]) -> int:
        """Pages with ``status``."""
        return sum(1 for r in self.results if r == status)

    @property
    def moved(self) -> int:
        """Pages moved by this call."""
        return self.count(MigrateStatus.MOVED)

    @property
    def already(self) -> int:
        """Pages that were already where they were asked to go."""
        return self.count(MigrateStatus.ALREADY)

    @property
    def not_movable(self) -> int:
        """Pages that cannot move."""
        return self.count(MigrateStatus.NOT_MOVABLE)

    @property
    def no_memory(self) -> int:
        """Pages left for lack of memory at the target."""
        return self.count(MigrateStatus.NO_MEMORY)

    @property
    def counts(self) -> Dict[str, int]:
        """Pages per status, by the library's names (every name, 0 too)."""
        return {s.label: self.count(s) for s in MigrateStatus}

    @property
    def names(self) -> List[str]:
        """The per-page statuses as the library's names."""
        return [_migrate_name(int(r)) for r in self.results]

    def __str__(self) -> str:
        way = "to system" if self.to_system else "to device"
        counts = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        return (f"migrate {way} 0x{self.addr:x}-0x{self.addr + self.length:x}: "
                f"{counts}")

    @classmethod
    def _from_c(cls, addr: int, length: int, to_system: bool, results: List[int],
                moved: int, not_moved: int, evict: bool = False) -> "MigrateResult":
        out: List[Union[MigrateStatus, int]] = []
        for v in results:
            try:
                out.append(MigrateStatus(v))
            except ValueError:  # a result from a newer module
                out.append(int(v))
        return cls(addr=addr, length=length, to_system=to_system, results=tuple(out),
                   pages_moved=moved, pages_not_moved=not_moved, evict=evict)


class AtomicOp(enum.IntEnum):
    """A device atomic operation (:meth:`Mirror.atomic`)."""

    #: old + operand
    ADD = lib.HMM_MIRROR_ATOMIC_ADD
    #: operand
    XCHG = lib.HMM_MIRROR_ATOMIC_XCHG
    #: operand if old == compare, else old
    CMPXCHG = lib.HMM_MIRROR_ATOMIC_CMPXCHG
    #: old | operand
    OR = lib.HMM_MIRROR_ATOMIC_OR
    #: old & operand
    AND = lib.HMM_MIRROR_ATOMIC_AND

    @property
    def label(self) -> str:
        """The library's name ("add", "cmpxchg", ...)."""
        return str(ffi.string(lib.hmm_mirror_atomic_op_name(int(self))).decode())


@dataclass(frozen=True)
class ExclusiveResult:
    """What :meth:`Mirror.exclusive` reports: per page 0 if the device now
    holds it, else the errno of the kernel's refusal."""

    #: Start of the range.
    addr: int
    #: Bytes in the range.
    length: int
    #: One entry per page: 0 granted, else an errno (EFAULT, EOPNOTSUPP, EBUSY).
    results: Tuple[int, ...]
    #: Pages the device holds after the call (the module's count).
    pages_granted: int
    #: Pages the kernel refused.
    pages_refused: int

    @property
    def all_granted(self) -> bool:
        """Every page of the range was granted."""
        return all(r == 0 for r in self.results)

    def __str__(self) -> str:
        return (f"exclusive 0x{self.addr:x}-0x{self.addr + self.length:x}: "
                f"{self.pages_granted} granted, {self.pages_refused} refused")


@dataclass(frozen=True)
class DeviceMemory:
    """The device's memory and this mirror's use of it
    (``struct hmm_mirror_device_memory``, :meth:`Mirror.device_memory`)."""

    #: Bytes of device memory the module has, shared by every mirror.
    total_bytes: int
    #: Bytes of it holding pages now (every mirror).
    used_bytes: int
    #: Pages this mirror moved there that are there now.
    mirror_pages: int
    #: Pages this mirror's MIGRATE moved to device memory.
    pages_to_device: int
    #: Pages its MIGRATE moved back.
    pages_to_system: int
    #: Of the pages it moved there, those a CPU access moved back.
    pages_faulted_back: int
    #: Pages its MIGRATE left for lack of memory.
    pages_no_memory: int

    @property
    def free_bytes(self) -> int:
        """Bytes of device memory free now."""
        return max(0, self.total_bytes - self.used_bytes)

    @classmethod
    def _from_c(cls, c: Any) -> "DeviceMemory":
        return cls(total_bytes=int(c.total_bytes), used_bytes=int(c.used_bytes),
                   mirror_pages=int(c.mirror_pages),
                   pages_to_device=int(c.pages_to_device),
                   pages_to_system=int(c.pages_to_system),
                   pages_faulted_back=int(c.pages_faulted_back),
                   pages_no_memory=int(c.pages_no_memory))
