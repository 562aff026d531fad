"""Exceptions: every failure of a libhmm_mirror call is an OSError.

:class:`HmmMirrorError` carries the errno the library returned and, as its
message, libhmm_mirror's explanation (which call, with which arguments, the
errno name and what it means for that call).  A few errnos get a subclass
that also derives from the matching built-in OSError subclass, so both
``except hmm_mirror.DeviceNotFoundError`` and ``except FileNotFoundError``
work.
"""
from __future__ import annotations

import errno as _errno
from typing import Dict, Optional, Type

from ._hmm_mirror_cffi import ffi, lib

__all__ = [
    "HmmMirrorError",
    "DeviceNotFoundError",
    "MirrorPermissionError",
    "TargetExitedError",
    "UnsupportedFeatureError",
    "MirrorClosedError",
]


class HmmMirrorError(OSError):
    """A libhmm_mirror call failed.

    ``errno`` is the positive errno, ``strerror`` the library's explanation
    and ``errno_name`` the symbolic name ("EFAULT").  ``str(err)`` reads
    ``[Errno 14] hmm_mirror_fault(addr=0x..., length=0x..., read): EFAULT:
    part of the range is not mapped, or not readable (PROT_NONE)``.

    ``bytes_copied``: for a failed :meth:`Mirror.read`,
    :meth:`~Mirror.read_into` or :meth:`~Mirror.write`, the bytes copied
    before the failure, from the start of the range: those were copied and
    nothing after them was (0 when the arguments were refused).  None for
    other calls, and when the module does not say (ABI 2, no
    :attr:`Feature.RW_COPIED`).
    """

    #: Bytes a failed READ or WRITE copied, or None.
    bytes_copied: Optional[int] = None

    @property
    def errno_name(self) -> str:
        """The symbolic errno name, for example ``"EINVAL"``."""
        code = self.errno or 0
        name = lib.hmm_mirror_errno_name(code)
        if name != ffi.NULL:
            return str(ffi.string(name).decode())
        return _errno.errorcode.get(code, str(code))


class DeviceNotFoundError(HmmMirrorError, FileNotFoundError):
    """The device node is missing or has no driver: hmm_mirror.ko is not loaded."""


class MirrorPermissionError(HmmMirrorError, PermissionError):
    """EPERM or EACCES: no access to the node, a target we may not ptrace, or
    a write to memory without write permission."""


class TargetExitedError(HmmMirrorError, ProcessLookupError):
    """ESRCH: the mirrored process (or the one to attach to) is gone."""


class UnsupportedFeatureError(HmmMirrorError):
    """EOPNOTSUPP: the module lacks a feature the call needs."""


class MirrorClosedError(HmmMirrorError):
    """The :class:`~hmm_mirror.Mirror` was closed (EBADF)."""


_BY_ERRNO: Dict[int, Type[HmmMirrorError]] = {
    _errno.ENOENT: DeviceNotFoundError,
    _errno.ENXIO: DeviceNotFoundError,
    _errno.ENODEV: DeviceNotFoundError,
    _errno.EPERM: MirrorPermissionError,
    _errno.EACCES: MirrorPermissionError,
    _errno.ESRCH: TargetExitedError,
    _errno.EOPNOTSUPP: UnsupportedFeatureError,
}


def error_from_result(ret: int, message: Optional[str] = None, *,
                      bytes_copied: Optional[int] = None) -> HmmMirrorError:
    """The exception for a negative libhmm_mirror return value ``ret``.

    Call it right after the failing call, in the same thread: the message
    comes from hmm_mirror_last_error(), which is per thread.
    ``bytes_copied`` becomes the exception's attribute of that name.
    """
    code = -ret if ret < 0 else ret
    if message is None:
        message = ffi.string(lib.hmm_mirror_last_error()).decode(errors="replace")
        if not message:
            message = ffi.string(lib.hmm_mirror_strerror(code)).decode(errors="replace")
    cls = _BY_ERRNO.get(code, HmmMirrorError)
    err = cls(code, message)
    err.bytes_copied = bytes_copied
    return err


def check(ret: int) -> int:
    """Raise the matching :class:`HmmMirrorError` when ``ret`` is negative."""
    if ret < 0:
        raise error_from_result(ret)
    return ret
