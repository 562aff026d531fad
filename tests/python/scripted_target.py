"""The scriptable target process for the Python tests: a driver of
tests/target/hmm_target.c, the one target program the CLI tests use too.

Not part of the package (it is test tooling): the tests import it from
here (conftest.py puts this directory on sys.path).  The program is
$HMM_TARGET, else build/tests/hmm_target of this tree.
"""
from __future__ import annotations

import errno
import os
import signal
import subprocess
from pathlib import Path
from typing import Any, List, Optional, Sequence, TypeVar, Union, overload

import hmm_mirror as hm

__all__ = ["Target", "ScriptedTarget", "spawn_target", "TARGET_PROGRAM"]

ROOT = Path(__file__).resolve().parents[2]
TARGET_PROGRAM = os.environ.get("HMM_TARGET", str(ROOT / "build/tests/hmm_target"))

_T = TypeVar("_T", bound="Target")


def _prot(prot: Union[str, int]) -> str:
    """The target's spelling of a protection: "r", "rw", "none" ..."""
    if isinstance(prot, int):
        return "".join(c for bit, c in ((1, "r"), (2, "w"), (4, "x")) if prot & bit) or "none"
    if prot in ("", "none", "-", "---"):
        return "none"
    if not prot or any(c not in "rwx-" for c in prot):
        raise ValueError(f"bad protection {prot!r}: use the letters r and w")
    return prot


class Target:
    """A running process to mirror (``pid``); ends it on :meth:`close`."""

    def __init__(self, proc: "subprocess.Popen[Any]") -> None:
        self._proc = proc
        self.pid: int = proc.pid

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.alive else f"exited {self.returncode}"
        return f"<{type(self).__name__} pid {self.pid} {state}>"

    @property
    def alive(self) -> bool:
        return self._proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self._proc.poll()

    def poll(self) -> Optional[int]:
        return self._proc.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        return int(self._proc.wait(timeout))

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self._proc.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        self.kill()
        self._proc.wait()

    def maps(self) -> List[hm.Mapping]:
        return hm.read_maps(self.pid)

    def find_mapping(self, addr: int) -> Optional[hm.Mapping]:
        return hm.find_mapping(addr, self.pid)


class ScriptedTarget(Target):
    """hmm_target: memory operations on command.  Every method returns once
    the target has done the work; a failed system call raises OSError with
    its errno, a command the target refuses RuntimeError."""

    def _call(self, *words: object) -> List[str]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(" ".join(str(w) for w in words) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except (BrokenPipeError, ValueError):  # ValueError: pipe closed
            line = ""
        if not line:
            status = self._proc.poll()
            raise hm.TargetExitedError(errno.ESRCH, f"target process {self.pid} is gone"
                                       f"{'' if status is None else f' (status {status})'}")
        reply = line.split()
        if reply[0] == "ok":
            return reply[1:]
        err = int(reply[1])
        what = line.split(None, 2)[2].strip()
        if err:
            raise OSError(err, f"target {what}")
        raise RuntimeError(f"target {words[0]}: {what}")

    def close(self) -> None:
        """Ask the target to exit (ending its forks), then reap it."""
        if self._proc.poll() is None:
            try:
                self.exit(timeout=5)
            except (OSError, RuntimeError, subprocess.TimeoutExpired):
                super().close()
        for f in (self._proc.stdin, self._proc.stdout):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def ping(self) -> int:
        return int(self._call("ping")[0])

    def mmap(self, length: int, prot: Union[str, int] = "rw", *, shared: bool = False,
             populate: bool = True, fill: Optional[int] = None,
             path: Optional[str] = None, offset: int = 0, hugepage: bool = False,
             guard: bool = False, hugetlb: bool = False, nohugepage: bool = False) -> int:
        """Map ``length`` bytes; the address.  Anonymous private memory by
        default, pre-faulted (``populate``); ``fill`` writes that byte to
        every byte; ``hugepage`` asks for THP first; ``guard`` keeps a
        PROT_NONE page either side; ``path`` maps that file."""
        words: List[object] = ["mmap", length, _prot(prot)]
        words += [name for name, on in (("shared", shared), ("populate", populate),
                                        ("hugepage", hugepage), ("guard", guard),
                                        ("hugetlb", hugetlb), ("nohugepage", nohugepage))
                  if on]
        if fill is not None:
            words.append(f"fill={fill}")
        if offset:
            words.append(f"offset={offset}")
        if path is not None:
            words.append(f"path={path}")
        return int(self._call(*words)[0], 16)

    def munmap(self, addr: int, length: int) -> None:
        self._call("munmap", hex(addr), length)

    def mprotect(self, addr: int, length: int, prot: Union[str, int]) -> None:
        self._call("mprotect", hex(addr), length, _prot(prot))

    def madvise(self, addr: int, length: int, advice: str = "dontneed") -> None:
        self._call("madvise", hex(addr), length, advice)

    def fill(self, addr: int, length: int, byte: int) -> None:
        self._call("fill", hex(addr), length, byte)

    def touch_read(self, addr: int, length: int) -> None:
        """Read one byte of every page (faults them in for read)."""
        self._call("read", hex(addr), length)

    def poke(self, addr: int, data: bytes) -> None:
        self._call("poke", hex(addr), bytes(data).hex())

    def peek(self, addr: int, length: int) -> bytes:
        reply = self._call("peek", hex(addr), length)
        return bytes.fromhex(reply[0] if reply else "")

    def fork(self) -> int:
        return int(self._call("fork")[0])

    def end_forks(self) -> List[int]:
        return [int(p) for p in self._call("end_forks")]

    def exit(self, status: int = 0, timeout: Optional[float] = 30) -> int:
        """Make the target exit with ``status`` and reap it: when this
        returns, its address space is gone."""
        try:
            self._call("exit", status)
        except hm.TargetExitedError:
            pass
        return int(self._proc.wait(timeout))


@overload
def spawn_target(argv: None = None, **popen_kwargs: Any) -> ScriptedTarget: ...


@overload
def spawn_target(argv: Sequence[str], **popen_kwargs: Any) -> Target: ...


def spawn_target(argv: Optional[Sequence[str]] = None, **popen_kwargs: Any) -> Target:
    """Start hmm_target (a :class:`ScriptedTarget`), or any program."""
    if argv is not None:
        return Target(subprocess.Popen(list(argv), **popen_kwargs))
    proc = subprocess.Popen([TARGET_PROGRAM], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, **popen_kwargs)
    target = ScriptedTarget(proc)
    try:
        target.ping()
    except BaseException:
        target.kill()
        proc.wait()
        raise
    return target
