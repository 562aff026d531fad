"""/proc/PID/maps as dataclasses: find the mapping that holds an address."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Union

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


def _parse_line(line: str) -> Mapping:
    # "start-end perms offset dev inode    pathname" (the path may hold spaces)
    parts = line.rstrip("\n").split(None, 5)
    if len(parts) < 5:
        raise ValueError(f"not a /proc/PID/maps line: {line!r}")
    start, _, end = parts[0].partition("-")
    path = parts[5] if len(parts) > 5 else ""
    deleted = path.endswith(" (deleted)")
    if deleted:
        path = path[: -len(" (deleted)")]
    return Mapping(start=int(start, 16), end=int(end, 16), perms=parts[1],
                   offset=int(parts[2], 16), dev=parts[3], inode=int(parts[4]),
                   pathname=path, deleted=deleted)


def parse_maps(text: Union[str, Iterable[str]]) -> List[Mapping]:
    """Parse the text of a /proc/PID/maps file (or its lines)."""
    lines = text.splitlines() if isinstance(text, str) else text
    return [_parse_line(line) for line in lines if line.strip()]


def _maps_path(pid: Pid) -> str:
    return f"/proc/{'self' if pid is None else pid}/maps"


def read_maps(pid: Pid = None) -> List[Mapping]:
    """The mappings of process ``pid`` (``None``: this process).

    Raises FileNotFoundError (ProcessLookupError semantics) when the
    process does not exist, PermissionError when we may not read it.
    """
    with open(_maps_path(pid)) as f:
        return parse_maps(f.read())


def find_mapping(addr: int, pid: Pid = None,
                 maps: Optional[Iterable[Mapping]] = None) -> Optional[Mapping]:
    """The mapping of ``pid`` (or among ``maps``) that holds ``addr``, or None."""
    for m in (read_maps(pid) if maps is None else maps):
        if m.start <= addr < m.end:
            return m
    return None

