"""Page states as SNAPSHOT and QUERY report them, and ranges of them.

A page state is one 32-bit value per page: flag bits (:class:`PageFlag`)
plus the order of the mapping that holds the page (0 for 4K, 9 for 2M, 18
for 1G).  :class:`PageState` is that value as an ``int`` with readable
properties; :func:`collapse` turns a per-page list into runs of equal
states; :func:`format_page_table` prints runs as a text table.
"""
from __future__ import annotations

import enum
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence, Union

from ._hmm_mirror_cffi import lib

__all__ = [
    "PageFlag",
    "PageState",
    "PageRange",
    "collapse",
    "expand",
    "format_page_table",
    "ORDER_SHIFT",
    "ORDER_MASK",
]

#: Bit position of the order field in a page state.
ORDER_SHIFT: int = lib.HMM_MIRROR_PAGE_ORDER_SHIFT
#: The order field once shifted down (what HMM_MIRROR_PAGE_ORDER() keeps).
ORDER_MASK: int = lib.HMM_MIRROR_PAGE_ORDER(0xFFFFFFFF)


class PageFlag(enum.IntFlag):
    """Flag bits of a page state (``HMM_MIRROR_PAGE_*``)."""

    #: A page is present.
    VALID = lib.HMM_MIRROR_PAGE_VALID
    #: ... and writable without a fault.
    WRITE = lib.HMM_MIRROR_PAGE_WRITE
    #: Cannot be mirrored (PROT_NONE, VM_IO/VM_PFNMAP); SNAPSHOT only.
    ERROR = lib.HMM_MIRROR_PAGE_ERROR
    #: ... and it is the shared zero page.
    ZERO = lib.HMM_MIRROR_PAGE_ZERO
    #: The page is in the module's device-private memory (ABI 4, after
    #: :meth:`Mirror.migrate`); a CPU access moves it back.
    DEVICE = lib.HMM_MIRROR_PAGE_DEVICE
    #: The device holds the page exclusively (ABI 5, QUERY only, after
    #: :meth:`Mirror.exclusive`); a CPU access takes it back.
    EXCLUSIVE = lib.HMM_MIRROR_PAGE_EXCLUSIVE


_FLAG_MASK = int(PageFlag.VALID | PageFlag.WRITE | PageFlag.ERROR | PageFlag.ZERO
                 | PageFlag.DEVICE | PageFlag.EXCLUSIVE)
_ORDER_NAMES = {0: "4K", 9: "2M", 18: "1G"}


class PageState(int):
    """One page's state: an ``int`` (the raw ABI value) with properties.

    ``PageState(0)`` is "nothing mapped".  Build one from parts with
    :meth:`make`.  Equal raw values compare equal, so states can be
    compared with plain ints and used as dict keys.
    """

    __slots__ = ()

    @classmethod
    def make(cls, flags: Union[PageFlag, int] = 0, order: int = 0) -> "PageState":
        """The state with ``flags`` and mapping ``order``."""
        if not 0 <= order <= ORDER_MASK:
            raise ValueError(f"order {order} out of range 0..{ORDER_MASK}")
        return cls(int(flags) | (order << ORDER_SHIFT))

    @property
    def flags(self) -> PageFlag:
        """The flag bits (unknown future bits are kept)."""
        return PageFlag(int(self) & ~(ORDER_MASK << ORDER_SHIFT))

    @property
    def order(self) -> int:
        """Order of the mapping that holds the page: 0 (4K), 9 (2M), 18 (1G)."""
        return (int(self) >> ORDER_SHIFT) & ORDER_MASK

    @property
    def valid(self) -> bool:
        """A page is present."""
        return bool(int(self) & PageFlag.VALID)

    @property
    def writable(self) -> bool:
        """The page is writable without a fault."""
        return bool(int(self) & PageFlag.WRITE)

    @property
    def zero(self) -> bool:
        """The page is the shared zero page."""
        return bool(int(self) & PageFlag.ZERO)

    @property
    def device(self) -> bool:
        """The page is in the module's device memory (ABI 4)."""
        return bool(int(self) & PageFlag.DEVICE)

    @property
    def exclusive(self) -> bool:
        """The device holds the page exclusively (ABI 5, QUERY only)."""
        return bool(int(self) & PageFlag.EXCLUSIVE)

    @property
    def error(self) -> bool:
        """The page cannot be mirrored (SNAPSHOT only)."""
        return bool(int(self) & PageFlag.ERROR)

    def describe(self) -> str:
        """Short text: ``"-"`` for nothing, else ``"valid|write 2M"``."""
        value = int(self)
        if value == 0:
            return "-"
        names = [f.name.lower() for f in PageFlag if value & f and f.name]
        unknown = value & ~_FLAG_MASK & ~(ORDER_MASK << ORDER_SHIFT)
        if unknown:
            names.append(hex(unknown))
        order = self.order
        size = _ORDER_NAMES.get(order, f"order{order}")
        return "|".join(names) + (f" {size}" if order or self.valid else "")

    def __repr__(self) -> str:
        flags = "|".join(f.name for f in PageFlag if int(self) & f and f.name) or "0"
        return f"PageState({flags}, order={self.order})"

    __str__ = describe


# Cache: snapshots repeat few distinct values, so share the objects.
_STATE_CACHE: Dict[int, PageState] = {}


def _state(value: int) -> PageState:
    st = _STATE_CACHE.get(value)
    if st is None:
        if len(_STATE_CACHE) > 4096:
            _STATE_CACHE.clear()
        st = _STATE_CACHE[value] = PageState(value)
    return st


class PageRange(NamedTuple):
    """A run of pages with the same state: ``[start, end)`` in bytes."""

    start: int
    end: int
    state: PageState

    @property
    def length(self) -> int:
        """Bytes in the run."""
        return self.end - self.start

    def pages(self, page_size: int = 4096) -> int:
        """Pages of ``page_size`` bytes in the run."""
        return (self.end - self.start) // page_size

    def __repr__(self) -> str:
        return f"PageRange(0x{self.start:x}, 0x{self.end:x}, {self.state!r})"


def _states(values: Iterable[int]) -> List[PageState]:
    return [_state(v) for v in values]


def collapse(addr: int, states: Sequence[int], page_size: int = 4096,
             *, skip_empty: bool = False) -> List[PageRange]:
    """Runs of equal states, from the per-page ``states`` of a range at ``addr``.

    With ``skip_empty`` the runs of state 0 (nothing mapped) are left out.
    """
    runs: List[PageRange] = []
    n = len(states)
    i = 0
    while i < n:
        value = int(states[i])
        j = i + 1
        while j < n and states[j] == value:
            j += 1
        if value or not skip_empty:
            runs.append(PageRange(addr + i * page_size, addr + j * page_size,
                                  _state(value)))
        i = j
    return runs


def expand(ranges: Iterable[PageRange], page_size: int = 4096) -> Dict[int, PageState]:
    """Per-page dict ``{page address: state}`` of ``ranges`` (state 0 left out)."""
    table: Dict[int, PageState] = {}
    for r in ranges:
        if r.state:
            for a in range(r.start, r.end, page_size):
                table[a] = r.state
    return table


def format_page_table(ranges: Iterable[PageRange], *, page_size: int = 4096,
                      title: Optional[str] = None, empty: str = "(nothing mapped)") -> str:
    """A text table of ``ranges``, one line per run::

        start            end              pages  state
        0x7f3a1c000000   0x7f3a1c004000       4  valid|write 4K
        0x7f3a1c004000   0x7f3a1c010000      12  -
    """
    rows = list(ranges)
    lines = []
    if title:
        lines.append(title)
    if not rows:
        lines.append(f"  {empty}")
        return "\n".join(lines)
    lines.append(f"  {'start':<18} {'end':<18} {'pages':>7}  state")
    for r in rows:
        lines.append(f"  0x{r.start:<16x} 0x{r.end:<16x} {r.pages(page_size):>7}  "
                     f"{r.state.describe()}")
    return "\n".join(lines)
