"""Errors: negative libhmm_mirror results become OSError subclasses."""
from __future__ import annotations

import errno

import pytest

import hmm_mirror
from hmm_mirror.errors import check, error_from_result


@pytest.mark.parametrize("code, cls, builtin", [
    (errno.ENOENT, hmm_mirror.DeviceNotFoundError, FileNotFoundError),
    (errno.ENXIO, hmm_mirror.DeviceNotFoundError, FileNotFoundError),
    (errno.EPERM, hmm_mirror.MirrorPermissionError, PermissionError),
    (errno.EACCES, hmm_mirror.MirrorPermissionError, PermissionError),
    (errno.ESRCH, hmm_mirror.TargetExitedError, ProcessLookupError),
    (errno.EOPNOTSUPP, hmm_mirror.UnsupportedFeatureError, OSError),
    (errno.EFAULT, hmm_mirror.HmmMirrorError, OSError),
    (errno.EINVAL, hmm_mirror.HmmMirrorError, OSError),
])
def test_errno_to_class(code: int, cls: type, builtin: type) -> None:
    err = error_from_result(-code, "msg")
    assert type(err) is cls
    assert isinstance(err, builtin)
    assert err.errno == code
    assert err.strerror == "msg"
    assert str(err) == f"[Errno {code}] msg"


def test_bytes_copied() -> None:
    assert error_from_result(-errno.EFAULT, "x").bytes_copied is None
    err = error_from_result(-errno.EFAULT, "x", bytes_copied=4096)
    assert err.bytes_copied == 4096 and err.errno == errno.EFAULT
    perm = error_from_result(-errno.EPERM, "x", bytes_copied=0)
    assert perm.bytes_copied == 0 and type(perm) is hmm_mirror.MirrorPermissionError


def test_errno_names() -> None:
    assert error_from_result(-errno.EBUSY, "x").errno_name == "EBUSY"
    # A value the library does not name falls back to Python's table.
    assert error_from_result(-errno.EXDEV, "x").errno_name == "EXDEV"


def test_check_passes_non_negative() -> None:
    assert check(0) == 0
    assert check(7) == 7
    with pytest.raises(hmm_mirror.HmmMirrorError):
        check(-errno.EIO)


def test_message_defaults_to_library_text() -> None:
    err = error_from_result(-errno.EBUSY)
    assert isinstance(err.strerror, str) and err.strerror
