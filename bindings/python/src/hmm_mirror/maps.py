"""/proc/PID/maps as dataclasses: find the mapping that holds an address.

The parsing is libhmm_mirror's (``hmm_mirror_maps_*()``), shared with the
hmm-mirror tool.
"""
from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass
from typing import Any, Iterable, List, Optional, Union

from ._hmm_mirror_cffi import ffi, lib

__all__ = ["Mapping", "parse_maps", "read_maps", "find_mapping"]

Pid = Union[int, str, None]


@dataclass(frozen=True)
class Mapping:
    """One line of /proc/PID/maps: the VMA ``[start, end)``."""

    start: int
    end: int
    #: "rw-p", "r-xs", ...
    perms: str
    offset: int
    #: "major:minor" of the backing file's device ("00:00" for anonymous).
    dev: str
    inode: int
    #: The file, "[heap]", "[stack]", ... or "" for anonymous memory.
    pathname: str = ""
    #: True when the kernel appended " (deleted)" to the path.
    deleted: bool = False

    @property
    def size(self) -> int:
        """Bytes in the mapping."""
        return self.end - self.start

    @property
    def readable(self) -> bool:
        return self.perms[0] == "r"

    @property
    def writable(self) -> bool:
        return self.perms[1] == "w"

    @property
    def executable(self) -> bool:
        return self.perms[2] == "x"

    @property
    def shared(self) -> bool:
        """MAP_SHARED (perms end with "s"), else private."""
        return self.perms[3] == "s"

    @property
    def anonymous(self) -> bool:
        """No backing file (anonymous memory, heap, stack)."""
        return self.inode == 0 and not self.pathname.startswith("/")

    def __contains__(self, addr: object) -> bool:
        return isinstance(addr, int) and self.start <= addr < self.end

    def __str__(self) -> str:
        return (f"0x{self.start:x}-0x{self.end:x} {self.perms} "
                f"{self.pathname or '[anon]'}")


def _walk(it: Any) -> List[Mapping]:
    """Every mapping of a libhmm_mirror maps walk, which it closes."""
    walk = ffi.gc(it, lib.hmm_mirror_maps_close)
    try:
        m = ffi.new("struct hmm_mirror_mapping *")
        lib.hmm_mirror_mapping_init(m)
        out: List[Mapping] = []
        while True:
            ret = lib.hmm_mirror_maps_next(walk, m)
            if ret == 0:
                return out
            if ret < 0:
                # A line that is not a mapping: the library quotes it.
                raise ValueError(ffi.string(lib.hmm_mirror_last_error()).decode())
            out.append(Mapping(
                start=int(m.start), end=int(m.end),
                perms=ffi.string(m.perms).decode(), offset=int(m.offset),
                dev=f"{m.dev_major:02x}:{m.dev_minor:02x}", inode=int(m.inode),
                pathname=ffi.string(m.path).decode("utf-8", "surrogateescape"),
                deleted=bool(m.flags & lib.HMM_MIRROR_MAPPING_DELETED)))
    finally:
        ffi.release(walk)


def parse_maps(text: Union[str, Iterable[str]]) -> List[Mapping]:
    """Parse the text of a /proc/PID/maps file (or its lines), with
    libhmm_mirror's parser.  Raises ValueError on a line that is not a
    mapping."""
    if not isinstance(text, str):
        text = "\n".join(line.rstrip("\n") for line in text)
    data = text.encode("utf-8", "surrogateescape")
    out = ffi.new("struct hmm_mirror_maps **")
    ret = lib.hmm_mirror_maps_parse(data, len(data), out)
    if ret < 0:
        raise MemoryError(ffi.string(lib.hmm_mirror_last_error()).decode())
    return _walk(out[0])


def _maps_path(pid: Pid) -> str:
    return f"/proc/{'self' if pid is None else pid}/maps"


def read_maps(pid: Pid = None) -> List[Mapping]:
    """The mappings of process ``pid`` (``None``: this process).

    Raises FileNotFoundError (ProcessLookupError semantics) when the
    process does not exist, PermissionError when we may not read it.
    """
    path = _maps_path(pid)
    n = 0 if pid is None or pid == "self" else int(pid)
    if n <= 0 and not (pid is None or pid == "self"):
        raise FileNotFoundError(_errno.ENOENT, os.strerror(_errno.ENOENT), path)
    out = ffi.new("struct hmm_mirror_maps **")
    ret = lib.hmm_mirror_maps_open(n, 0, out)
    if ret < 0:
        # OSError picks the subclass (FileNotFoundError, ...) from errno.
        raise OSError(-ret, os.strerror(-ret), path)
    return _walk(out[0])


def find_mapping(addr: int, pid: Pid = None,
                 maps: Optional[Iterable[Mapping]] = None) -> Optional[Mapping]:
    """The mapping of ``pid`` (or among ``maps``) that holds ``addr``, or None."""
    for m in (read_maps(pid) if maps is None else maps):
        if m.start <= addr < m.end:
            return m
    return None

