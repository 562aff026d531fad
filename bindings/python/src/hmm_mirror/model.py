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

    def __str__(self) -> str:
        name = _reason_name(int(self.reason))
        if self.reason == EventReason.LOST:
            return f"#{self.seq} lost {self.pages} events"
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
