"""Target processes to mirror, for prototyping and tests.

:func:`spawn_target` starts a process and returns a handle to it.  Without
arguments it starts the *scriptable target*: a small Python process that
maps, unmaps, protects, fills and forks memory on command, so that a
prototype device can watch what each of those does to its mirror::

    with hmm_mirror.spawn_target() as t, hmm_mirror.Mirror(pid=t.pid) as m:
        addr = t.mmap(16 * m.page_size)          # populated, read-write
        m.fault(addr, 16 * m.page_size, write=True)
        t.munmap(addr, 4 * m.page_size)          # invalidates 4 pages
        ...

With an argument list it runs that program instead (any program, to be
mirrored with ``Mirror(pid=t.pid)``).  The scriptable target runs as a
forked copy of the caller (fast: no new interpreter) or, with
``method="exec"``, as a new interpreter running :func:`main`.
"""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from typing import (IO, Any, Callable, Dict, List, Optional, Sequence, TypeVar, Union,
                    overload)

from ._hmm_mirror_cffi import ffi, lib
from .errors import TargetExitedError
from .maps import Mapping, find_mapping, read_maps

__all__ = ["Target", "ScriptedTarget", "spawn_target", "prot_flags"]

_T = TypeVar("_T", bound="Target")


def prot_flags(prot: Union[str, int]) -> int:
    """PROT_* bits of ``"rw"``, ``"r"``, ``"rwx"``, ``""``/``"none"`` (or an int)."""
    if isinstance(prot, int):
        return prot
    if prot in ("", "none", "-", "---"):
        return int(lib.PROT_NONE)
    bits = 0
    for ch in prot:
        if ch == "r":
            bits |= lib.PROT_READ
        elif ch == "w":
            bits |= lib.PROT_WRITE
        elif ch != "-":
            raise ValueError(f"bad protection {prot!r}: use the letters r and w")
    return bits


class Target:
    """A running process to mirror (``pid``), as :func:`spawn_target` started it.

    Ends the process on :meth:`close` (or leaving the ``with`` block).
    """

    def __init__(self, proc: Any) -> None:
        self._proc = proc
        self.pid: int = proc.pid

    def __enter__(self: _T) -> _T:  # a ScriptedTarget's is one too
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.returncode}"
        return f"<{type(self).__name__} pid {self.pid} {state}>"

    @property
    def alive(self) -> bool:
        """True while the process has not been reaped."""
        return self._proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        """Exit status once reaped (negative: killed by that signal)."""
        status: Optional[int] = self._proc.poll()
        return status

    def poll(self) -> Optional[int]:
        """The exit status if the process has ended, else None."""
        status: Optional[int] = self._proc.poll()
        return status

    def wait(self, timeout: Optional[float] = None) -> int:
        """Wait for the process to end; its exit status."""
        return int(self._proc.wait(timeout))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (default SIGKILL) unless it has already been reaped."""
        if self._proc.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """End the process (SIGKILL) and reap it."""
        self.kill()
        self._proc.wait()

    def maps(self) -> List[Mapping]:
        """The process's mappings (/proc/PID/maps)."""
        return read_maps(self.pid)

    def find_mapping(self, addr: int) -> Optional[Mapping]:
        """The mapping that holds ``addr``, or None."""
        return find_mapping(addr, self.pid)


class ScriptedTarget(Target):
    """The scriptable target: memory operations on command.

    Every method runs in the target and returns when it is done there, so
    the invalidations it causes have reached the mirror (and its event
    queue) by the time the method returns.  A failed system call raises
    OSError with its errno.
    """

    def __init__(self, proc: Any, cmd: IO[bytes], reply: IO[bytes]) -> None:
        super().__init__(proc)
        self._cmd = cmd
        self._reply = reply

    def _call(self, op: str, **args: Any) -> Any:
        try:
            self._cmd.write(json.dumps({"op": op, **args}).encode() + b"\n")
            self._cmd.flush()
            line = self._reply.readline()
        except (BrokenPipeError, ValueError):  # ValueError: pipe closed
            line = b""
        if not line:
            status = self._proc.poll()
            raise TargetExitedError(errno.ESRCH, f"target process {self.pid} is gone"
                                    f"{'' if status is None else f' (status {status})'}")
        reply = json.loads(line)
        if not reply["ok"]:
            if reply.get("errno"):
                raise OSError(reply["errno"], f"target {reply['error']}")
            raise RuntimeError(f"target {op}: {reply['error']}")
        return reply.get("result")

    def close(self) -> None:
        """Ask the target to exit (ending its forks), then reap it."""
        if self._proc.poll() is None:
            try:
                self.exit(timeout=5)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                super().close()
        for f in (self._cmd, self._reply):
            try:
                f.close()
            except OSError:
                pass

    def ping(self) -> int:
        """Round trip; the target's pid."""
        return int(self._call("ping"))

    def mmap(self, length: int, prot: Union[str, int] = "rw", *, shared: bool = False,
             populate: bool = True, fill: Optional[int] = None,
             path: Optional[str] = None, offset: int = 0, hugepage: bool = False) -> int:
        """Map ``length`` bytes; the address.

        Anonymous private memory by default; ``shared=True`` for MAP_SHARED;
        ``path`` maps that file instead (opened read-write when ``prot``
        has "w" and the mapping is shared, else read-only).  ``populate``
        pre-faults the pages (MAP_POPULATE: private writable memory gets real
        writable pages); ``fill`` writes that byte to every byte first (needs
        "w"); ``hugepage`` asks for THP (MADV_HUGEPAGE) before populating.
        """
        return int(self._call("mmap", length=length, prot=prot_flags(prot),
                              shared=shared, populate=populate, fill=fill,
                              path=path, offset=offset, hugepage=hugepage))

    def munmap(self, addr: int, length: int) -> None:
        """munmap(2) ``[addr, addr + length)``."""
        self._call("munmap", addr=addr, length=length)

    def mprotect(self, addr: int, length: int, prot: Union[str, int]) -> None:
        """mprotect(2) to ``prot`` ("r", "rw", "none" ...)."""
        self._call("mprotect", addr=addr, length=length, prot=prot_flags(prot))

    def madvise(self, addr: int, length: int, advice: str = "dontneed") -> None:
        """madvise(2): ``"dontneed"`` (drops the pages) or ``"hugepage"``."""
        self._call("madvise", addr=addr, length=length, advice=advice)

    def fill(self, addr: int, length: int, byte: int) -> None:
        """memset() the range with ``byte`` (faults the pages for write)."""
        self._call("fill", addr=addr, length=length, byte=byte)

    def poke(self, addr: int, data: bytes) -> None:
        """Write ``data`` at ``addr``, as the target's CPU."""
        self._call("poke", addr=addr, data=bytes(data).hex())

    def peek(self, addr: int, length: int) -> bytes:
        """Read ``length`` bytes at ``addr``, as the target's CPU."""
        return bytes.fromhex(self._call("peek", addr=addr, length=length))

    def fork(self) -> int:
        """fork(2) the target; the child's pid.  The child only waits (it
        keeps the copy-on-write sharing alive) until :meth:`end_forks` or
        the target exits."""
        return int(self._call("fork"))

    def end_forks(self) -> List[int]:
        """End the children :meth:`fork` made and reap them; their pids."""
        return [int(p) for p in self._call("end_forks")]

    def exit(self, status: int = 0, timeout: Optional[float] = 30) -> int:
        """Make the target exit with ``status`` and reap it; its exit status.

        When this returns the target's address space is gone, so a mirror
        of it has seen the RELEASE.
        """
        try:
            self._call("exit", status=status)
        except TargetExitedError:
            pass
        return int(self._proc.wait(timeout))


# ---------------------------------------------------------------------------
# the target's side


def _serve(rfd: int, wfd: int) -> int:
    """Command loop of the scriptable target; returns the exit status."""
    rfile = os.fdopen(rfd, "rb", buffering=0)
    wfile = os.fdopen(wfd, "wb", buffering=0)
    forks: Dict[int, int] = {}  # pid -> write end of the pipe it waits on
    fds: Dict[int, int] = {}    # addr -> fd of a file mapping

    def ptr(addr: int) -> Any:
        return ffi.cast("void *", addr)

    def checked(ret: int, what: str) -> None:
        if ret != 0:
            err = ffi.errno
            raise OSError(err, f"{what}: {os.strerror(err)}")

    def do_mmap(length: int, prot: int, shared: bool, populate: bool,
                fill: Optional[int], path: Optional[str], offset: int,
                hugepage: bool) -> int:
        flags = lib.MAP_SHARED if shared else lib.MAP_PRIVATE
        fd = -1
        if path is None:
            flags |= lib.MAP_ANONYMOUS
        else:
            mode = os.O_RDWR if (shared and prot & lib.PROT_WRITE) else os.O_RDONLY
            fd = os.open(path, mode | os.O_CLOEXEC)
        if populate and not hugepage:
            flags |= lib.MAP_POPULATE
        p = lib.mmap(ffi.NULL, length, prot, flags, fd, offset)
        if fd >= 0:
            os.close(fd)
        if p == lib.MAP_FAILED:
            err = ffi.errno
            raise OSError(err, f"mmap: {os.strerror(err)}")
        addr = int(ffi.cast("uintptr_t", p))
        if hugepage:
            checked(lib.madvise(p, length, lib.MADV_HUGEPAGE), "madvise(MADV_HUGEPAGE)")
            if populate and prot & lib.PROT_WRITE:
                lib.memset(p, 0 if fill is None else fill, length)
        if fill is not None:
            lib.memset(p, fill, length)
        return addr

    def do_fork() -> int:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(w)
                os.read(r, 1)  # until the target ends us (or exits)
            finally:
                os._exit(0)
        os.close(r)
        forks[pid] = w
        return pid

    def end_forks() -> List[int]:
        pids = list(forks)
        for pid, w in forks.items():
            os.close(w)
        for pid in pids:
            os.waitpid(pid, 0)
        forks.clear()
        return pids

    advices = {"dontneed": lib.MADV_DONTNEED, "hugepage": lib.MADV_HUGEPAGE}
    handlers: Dict[str, Callable[..., Any]] = {
        "ping": lambda: os.getpid(),
        "mmap": do_mmap,
        "munmap": lambda addr, length: checked(lib.munmap(ptr(addr), length), "munmap"),
        "mprotect": lambda addr, length, prot: checked(
            lib.mprotect(ptr(addr), length, prot), "mprotect"),
        "madvise": lambda addr, length, advice: checked(
            lib.madvise(ptr(addr), length, advices[advice]), f"madvise({advice})"),
        "fill": lambda addr, length, byte: bool(lib.memset(ptr(addr), byte, length)),
        "poke": lambda addr, data: ffi.memmove(ptr(addr), bytes.fromhex(data),
                                               len(data) // 2),
        "peek": lambda addr, length: ffi.unpack(ffi.cast("char *", addr), length).hex(),
        "fork": do_fork,
        "end_forks": end_forks,
    }
    status = 0
    while True:
        line = rfile.readline()
        if not line:
            break
        req = json.loads(line)
        op = req.pop("op")
        if op == "exit":
            status = int(req.get("status", 0))
            end_forks()
            wfile.write(b'{"ok": true}\n')
            break
        try:
            reply: Dict[str, Any] = {"ok": True, "result": handlers[op](**req)}
        except OSError as err:
            reply = {"ok": False, "errno": err.errno, "error": err.strerror or str(err)}
        except Exception as err:  # report, keep serving
            reply = {"ok": False, "errno": 0, "error": repr(err)}
        wfile.write(json.dumps(reply).encode() + b"\n")
    end_forks()
    return status


class _Forked:
    """subprocess.Popen's poll/wait for a child made with os.fork()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: Optional[int] = None

    def _reap(self, flags: int) -> Optional[int]:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                self.returncode = 0
                return 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def poll(self) -> Optional[int]:
        return self._reap(os.WNOHANG)

    def wait(self, timeout: Optional[float] = None) -> int:
        if timeout is None:
            return self._reap(0)  # type: ignore[return-value]
        deadline = time.monotonic() + timeout
        while self._reap(os.WNOHANG) is None:
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.005)
        return self.returncode  # type: ignore[return-value]


def _close_fds_except(keep: Sequence[int]) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


@overload
def spawn_target(argv: None = None, *, method: str = "fork",
                 **popen_kwargs: Any) -> ScriptedTarget: ...


@overload
def spawn_target(argv: Sequence[str], *, method: str = "fork",
                 **popen_kwargs: Any) -> Target: ...


def spawn_target(argv: Optional[Sequence[str]] = None, *, method: str = "fork",
                 **popen_kwargs: Any) -> Target:
    """Start a process to mirror.

    ``spawn_target()`` starts the scriptable target (a
    :class:`ScriptedTarget`), by default as a forked copy of this process
    (``method="fork"``: it closes every descriptor it inherited, so it
    holds no mirror open; fast: no new interpreter starts) or as a new
    interpreter (``method="exec"``).  Forking write-protects this process's
    private memory, which a mirror of *this* process sees as PROTECTION
    invalidations; use ``method="exec"`` when that matters.

    ``spawn_target(["prog", "arg"], **popen_kwargs)`` runs any program and
    returns a :class:`Target` (its exec has completed when this returns).
    """
    if argv is not None:
        return Target(subprocess.Popen(list(argv), **popen_kwargs))
    cmd_r, cmd_w = os.pipe()
    rep_r, rep_w = os.pipe()
    if method == "fork":
        pid = os.fork()
        if pid == 0:  # the target
            status = 1
            try:
                _close_fds_except((0, 1, 2, cmd_r, rep_w))
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                status = _serve(cmd_r, rep_w)
            finally:
                os._exit(status)
        proc: Any = _Forked(pid)
    elif method == "exec":
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys, hmm_mirror.target as t; sys.exit(t.main())",
             "--fds", str(cmd_r), str(rep_w)],
            pass_fds=(cmd_r, rep_w), **popen_kwargs)
    else:
        raise ValueError(f"method must be 'fork' or 'exec', not {method!r}")
    os.close(cmd_r)
    os.close(rep_w)
    target = ScriptedTarget(proc, os.fdopen(cmd_w, "wb", buffering=0),
                            os.fdopen(rep_r, "rb", buffering=0))
    try:
        target.ping()
    except BaseException:
        target.kill()
        proc.wait()
        raise
    return target


def main(args: Optional[Sequence[str]] = None) -> int:
    """``main(["--fds", CMD_FD, REPLY_FD])``: the scriptable target's command
    loop in a new interpreter (JSON lines in on CMD_FD, out on REPLY_FD)."""
    args = list(sys.argv[1:] if args is None else args)
    if len(args) != 3 or args[0] != "--fds":
        print(main.__doc__, file=sys.stderr)
        return 2
    return _serve(int(args[1]), int(args[2]))

