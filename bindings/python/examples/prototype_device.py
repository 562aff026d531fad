#!/usr/bin/env python3
"""A toy shared-virtual-memory device in Python, kept coherent by hmm_mirror.

The device mirrors a target process it starts (a forked child that changes
its memory when told to), keeps its own page table (a dict: page -> state)
and updates it only from invalidation events, the way a driver would.  After each thing the target does (munmap, mprotect, fork,
exit) it prints its page table beside the module's QUERY and checks that
they agree.  When the module has device memory (ABI 4), it also moves a hot
buffer of the target into device memory, lets the target's CPU write to it
and shows those pages come back (a step skipped, with a message, without
the feature).  Exit status 0 when every step was coherent.

Needs /dev/hmm_mirror (hmm_mirror.ko loaded); run it as root or as a user
who may open the device.
"""
import ctypes
import itertools
import mmap
import os
import sys

import hmm_mirror as hm

PAGES = 16
HOT_PAGES = 8


class Target:
    """A child process with PAGES pages of private memory, which does what
    it is told over a pipe and answers when done, so the invalidations
    its change caused are queued by the time a call returns."""

    def __init__(self) -> None:
        cmd_r, self._cmd = os.pipe()
        self._reply, reply_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self._cmd)
            os.close(self._reply)
            os._exit(self._serve(cmd_r, reply_w))
        os.close(cmd_r)
        os.close(reply_w)
        self.addr = int(self._call("start"))

    @staticmethod
    def _serve(cmd: int, reply: int) -> int:
        ps = mmap.PAGESIZE
        buf = mmap.mmap(-1, PAGES * ps, flags=mmap.MAP_PRIVATE)
        buf.write(b"\x11" * len(buf))               # real, writable pages
        addr = hm.address_of(buf)
        libc = ctypes.CDLL(None, use_errno=True)
        alive_r, alive_w = os.pipe()                 # closes when we exit
        hot = None                                   # the hot buffer, on demand
        with os.fdopen(cmd, "r") as commands, os.fdopen(reply, "w") as answers:
            for line in commands:
                op, *args = line.split()
                start, length = (addr + int(args[0]), int(args[1])) if args else (0, 0)
                result = ""
                if op == "start":
                    result = str(addr)
                elif op == "munmap":
                    libc.munmap(ctypes.c_void_p(start), ctypes.c_size_t(length))
                elif op == "mprotect":
                    libc.mprotect(ctypes.c_void_p(start), ctypes.c_size_t(length),
                                  ctypes.c_int(mmap.PROT_READ))
                elif op == "fork":                   # a child that keeps COW alive
                    if os.fork() == 0:
                        os.close(alive_w)
                        os.read(alive_r, 1)          # until we exit
                        os._exit(0)
                elif op == "peek":
                    result = buf[start - addr:start - addr + length].hex()
                elif op == "hot":                    # mapped after the fork: not shared
                    hot = mmap.mmap(-1, HOT_PAGES * ps, flags=mmap.MAP_PRIVATE)
                    hot.write(b"\x33" * len(hot))
                    result = str(hm.address_of(hot))
                elif op == "hotwrite" and hot is not None:  # the CPU writes
                    off, n = int(args[0]), int(args[1])
                    hot[off:off + n] = b"\x44" * n
                elif op == "hotpeek" and hot is not None:
                    off, n = int(args[0]), int(args[1])
                    result = hot[off:off + n].hex()
                elif op == "exit":
                    return 0
                answers.write(result + "\n")
                answers.flush()
        return 0

    def _call(self, *words: object) -> str:
        os.write(self._cmd, (" ".join(map(str, words)) + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            answer += os.read(self._reply, 4096)
        return answer.decode().strip()

    def munmap(self, addr: int, length: int) -> None:
        self._call("munmap", addr - self.addr, length)

    def mprotect_read_only(self, addr: int, length: int) -> None:
        self._call("mprotect", addr - self.addr, length)

    def fork(self) -> None:
        self._call("fork")

    def peek(self, addr: int, length: int) -> bytes:
        return bytes.fromhex(self._call("peek", addr - self.addr, length))

    def hot(self) -> int:
        """Map HOT_PAGES fresh private pages of 0x33; their address."""
        self.hot_addr = int(self._call("hot"))
        return self.hot_addr

    def hot_write(self, addr: int, length: int) -> None:
        """The target's CPU writes 0x44 over [addr, addr + length) of the hot buffer."""
        self._call("hotwrite", addr - self.hot_addr, length)

    def hot_peek(self, addr: int, length: int) -> bytes:
        return bytes.fromhex(self._call("hotpeek", addr - self.hot_addr, length))

    def exit(self) -> None:
        """Exit and be reaped: the address space is gone when this returns."""
        os.write(self._cmd, b"exit\n")
        os.waitpid(self.pid, 0)
        os.close(self._cmd)
        os.close(self._reply)


class ToyDevice:
    """A device page table in Python, coherent through invalidation events."""

    def __init__(self, mirror: hm.Mirror) -> None:
        self.m = mirror
        self.ps = mirror.page_size
        self.ptes: dict[int, hm.PageState] = {}  # page address -> state
        self.seen: list[hm.Event] = []           # applied, not printed yet

    def access(self, addr: int, pages: int, write: bool) -> None:
        """A device access: fault the pages in, record what got mapped."""
        self.m.fault(addr, pages * self.ps, write=write)
        for i, state in enumerate(self.m.query(addr, pages * self.ps)):
            self.ptes[addr + i * self.ps] = state

    def write(self, addr: int, data: bytes) -> None:
        """A device DMA write (faults for write where needed), recorded."""
        self.m.write(addr, data)
        pages = len(data) // self.ps
        for i, state in enumerate(self.m.query(addr, pages * self.ps)):
            self.ptes[addr + i * self.ps] = state

    def migrate(self, addr: int, pages: int, to_system: bool = False) -> hm.MigrateResult:
        """Move pages into device memory (or back), then record what the
        device maps: the invalidations of the move come first."""
        res = self.m.migrate(addr, pages * self.ps, to_system=to_system)
        self.seen = self.sync()                  # applied now, printed by step()
        for i, state in enumerate(self.m.query(addr, pages * self.ps)):
            if state:
                self.ptes[addr + i * self.ps] = state
        return res

    def sync(self) -> list[hm.Event]:
        """Apply the queued invalidations: drop the entries they name.
        Returns them, after those applied before and not shown yet."""
        events = list(self.m.events(timeout=0))
        shown, self.seen = self.seen + events, []
        for ev in events:
            if ev.reason == hm.EventReason.LOST:  # overflow: forget everything
                self.ptes.clear()
            for page in [p for p in self.ptes if ev.start <= p < ev.end]:
                del self.ptes[page]
        return shown

    def states(self, addr: int, pages: int) -> list[hm.PageState]:
        return [self.ptes.get(addr + i * self.ps, hm.PageState(0)) for i in range(pages)]


def step(dev: ToyDevice, title: str, addr: int, npages: int = PAGES) -> bool:
    """Sync from events, print ours vs QUERY (pages relative to addr)."""
    events = dev.sync()
    ours = dev.states(addr, npages)
    try:
        theirs = dev.m.query(addr, npages * dev.ps)
    except hm.TargetExitedError:  # the address space is gone: nothing mapped
        theirs = [hm.PageState(0)] * npages
    print(f"== {title}")
    for ev in events:
        print(f"   event {ev}")
    print(f"   {'pages':<8}{'device page table (Python)':<30}module QUERY")
    for (a, b), group in itertools.groupby(range(npages), key=lambda i: (ours[i], theirs[i])):
        run = list(group)
        pages = f"{run[0]}-{run[-1]}" if len(run) > 1 else f"{run[0]}"
        print(f"   {pages:<8}{a.describe():<30}{b.describe()}")
    ok = ours == theirs
    print("   coherent" if ok else "   INCOHERENT")
    return ok


def main() -> int:
    results = []
    hm.Mirror().close()                            # no device: fail before forking
    target = Target()
    with hm.Mirror(pid=target.pid, events=True) as m:
        dev = ToyDevice(m)
        ps = m.page_size
        addr = target.addr                         # PAGES private, written pages
        print(f"target pid {target.pid}: {hm.find_mapping(addr, target.pid)}")

        def page(i: int) -> int:
            """The address of page i of the target's mapping."""
            return addr + i * ps

        dev.access(addr, PAGES, write=True)
        results.append(step(dev, "1. device maps 16 pages for write", addr))

        target.munmap(page(0), 4 * ps)
        results.append(step(dev, "2. target munmap()s pages 0-3", addr))

        target.mprotect_read_only(page(4), 4 * ps)
        results.append(step(dev, "3. target mprotect()s pages 4-7 read-only", addr))
        dev.access(page(4), 4, write=False)
        results.append(step(dev, "4. device maps pages 4-7 again, for read", addr))

        target.fork()
        results.append(step(dev, "5. target fork()s: its private pages become copy-on-write", addr))
        dev.write(page(8), b"\x22" * ps)             # breaks COW for page 8
        dev.access(page(9), 7, write=False)
        data_ok = target.peek(page(8), 4) == b"\x22" * 4 and \
            m.read(page(9), 4) == b"\x11" * 4
        results.append(step(dev, "6. device writes page 8, reads pages 9-15", addr) and data_ok)
        print(f"   target sees the device's write: {data_ok}")

        n = 7
        if not m.features & hm.Feature.DEVICE_MEMORY:
            print("== device memory: skipped: the module has no device memory (its "
                  "HANDSHAKE lacks HMM_MIRROR_FEAT_DEVICE_MEMORY: a kernel without "
                  "CONFIG_DEVICE_PRIVATE, or device_memory_mb=0)")
        else:
            hot = target.hot()                     # a buffer the device uses a lot
            dev.access(hot, HOT_PAGES, write=True)
            res = dev.migrate(hot, HOT_PAGES)
            moved = res.moved == HOT_PAGES
            results.append(step(dev, f"7. device moves a hot {HOT_PAGES}-page buffer "
                                "into its memory", hot, HOT_PAGES) and moved)
            print(f"   {res}")
            dm = m.device_memory()
            print(f"   device memory: {dm.used_bytes >> 10} KiB used of "
                  f"{dm.total_bytes >> 20} MiB")
            target.hot_write(hot, 2 * ps)          # the CPU touches pages 0-1
            intact = target.hot_peek(hot, 4) == b"\x44" * 4 and \
                m.read(hot + 2 * ps, 4) == b"\x33" * 4
            back = sum(1 for st in m.snapshot(hot, HOT_PAGES * ps) if not st.device)
            results.append(step(dev, "8. target's CPU writes hot pages 0-1: they come "
                                "back to system memory", hot, HOT_PAGES)
                           and intact and back == 2)
            print(f"   pages back in system memory: {back}; data intact: {intact}")
            n = 9

        target.exit()
        results.append(step(dev, f"{n}. target exits", addr))
    print(f"{sum(results)} of {len(results)} steps coherent")
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except hm.DeviceNotFoundError as err:
        print(f"prototype_device: {err}", file=sys.stderr)
        sys.exit(2)
