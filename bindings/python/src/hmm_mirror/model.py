"""Results of the mirror's commands: features, handshake, faults, events, stats.

Every numeric value comes from libhmm_mirror's header through the compiled
extension; the Python names mirror the C names without their prefix.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, fields
from typing import Any, Dict, FrozenSet, Iterable, List, NamedTuple, Optional, Union

from ._hmm_mirror_cffi import ffi, lib

__all__ = [
    "Feature",
    "Info",
    "FaultResult",
    "CopyResult",
    "EventReason",
    "Event",
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
    """One invalidation event (``struct hmm_mirror_event_record``).

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


@dataclass(frozen=True)
class Stats:
    """Counters of one mirror or of the whole module (``STATS``)."""

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

    @property
    def total_invalidations(self) -> int:
        """Invalidation callbacks of every reason."""
        return sum(self.invalidations.values())

    def as_dict(self) -> Dict[str, Any]:
        """The counters as a plain dict (reasons by their library names)."""
        out: Dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "invalidations":
                value = {r.label: n for r, n in value.items()}
            out[f.name] = value
        return out

    @classmethod
    def _from_c(cls, c: Any) -> "Stats":
        inval = {EventReason(i): int(c.invalidations[i])
                 for i in range(lib.HMM_MIRROR_EVENT_NR_REASONS)}
        kwargs: Dict[str, Any] = {f.name: int(getattr(c, f.name)) for f in fields(cls)
                                  if f.name not in ("is_global", "invalidations")}
        return cls(is_global=bool(getattr(c, "global")), invalidations=inval,
                   **kwargs)

