"""hmm_mirror: Python bindings of libhmm_mirror, for /dev/hmm_mirror.

hmm_mirror.ko is a software device that mirrors a process's address space
into a device page table through the kernel's HMM API.  This package wraps
libhmm_mirror (compiled in, through cffi) for prototyping devices in
Python::

    import mmap
    import hmm_mirror

    with hmm_mirror.Mirror(events=True) as m:    # mirrors this process
        size = 16 * m.page_size
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
        buf.write(b"x" * size)
        addr = hmm_mirror.address_of(buf)
        m.fault(addr, size, write=True)          # into the device page table
        print(hmm_mirror.format_page_table(m.query(addr, size, collapse=True)))
        buf.close()                              # munmap: the kernel invalidates
        for ev in m.events(timeout=0):
            print(ev)                            # #0 unmap 0x...-0x... (16 pages)

``Mirror(pid=...)`` mirrors another process instead.

The package imports without the device; opening a :class:`Mirror` then
raises :class:`DeviceNotFoundError` (an OSError, errno ENOENT).
"""
from __future__ import annotations

from ._hmm_mirror_cffi import ffi as _ffi
from ._hmm_mirror_cffi import lib as _lib
from .errors import (DeviceNotFoundError, HmmMirrorError, MirrorClosedError,
                     MirrorPermissionError, TargetExitedError,
                     UnsupportedFeatureError)
from .maps import Mapping, find_mapping, parse_maps, read_maps
from .mirror import DEVICE_PATH, Mirror, address_of
from .model import (AtomicOp, CopyResult, Counter, DeviceMemory, Direction, Event,
                    EventReason, ExclusiveResult, FaultResult, Feature, Info,
                    MigrateResult, MigrateStatus, Stats, reasons_mask)
from .states import (PageFlag, PageRange, PageState, collapse, expand,
                     format_page_table)

__version__ = "0.1.0"

#: The kernel ABI version libhmm_mirror speaks.
ABI_VERSION: int = _lib.HMM_MIRROR_ABI_VERSION


def lib_version() -> str:
    """The version of libhmm_mirror compiled into this package ("1.5.0")."""
    return str(_ffi.string(_lib.hmm_mirror_lib_version()).decode())


def device_available(path: str = DEVICE_PATH) -> bool:
    """True when the device node exists (the module is loaded)."""
    import os

    return os.path.exists(path)


__all__ = [
    "ABI_VERSION",
    "AtomicOp",
    "CopyResult",
    "Counter",
    "DEVICE_PATH",
    "DeviceMemory",
    "DeviceNotFoundError",
    "Direction",
    "Event",
    "EventReason",
    "ExclusiveResult",
    "FaultResult",
    "Feature",
    "HmmMirrorError",
    "Info",
    "Mapping",
    "MigrateResult",
    "MigrateStatus",
    "Mirror",
    "MirrorClosedError",
    "MirrorPermissionError",
    "PageFlag",
    "PageRange",
    "PageState",
    "Stats",
    "TargetExitedError",
    "UnsupportedFeatureError",
    "address_of",
    "collapse",
    "device_available",
    "expand",
    "find_mapping",
    "format_page_table",
    "lib_version",
    "parse_maps",
    "read_maps",
    "reasons_mask",
]
