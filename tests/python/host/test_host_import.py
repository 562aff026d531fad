"""The package imports and answers without a device."""
from __future__ import annotations

import errno
import importlib.resources
import os

import pytest

import hmm_mirror
from hmm_mirror._hmm_mirror_cffi import lib


def test_public_names_resolve() -> None:
    for name in hmm_mirror.__all__:
        assert getattr(hmm_mirror, name) is not None, name


def test_versions() -> None:
    assert hmm_mirror.ABI_VERSION == lib.HMM_MIRROR_ABI_VERSION >= 1
    major, minor, patch = (int(x) for x in hmm_mirror.lib_version().split("."))
    assert (major, minor, patch) == (lib.HMM_MIRROR_LIB_VERSION_MAJOR,
                                     lib.HMM_MIRROR_LIB_VERSION_MINOR,
                                     lib.HMM_MIRROR_LIB_VERSION_PATCH)
    assert hmm_mirror.__version__


def test_installed_with_py_typed_marker() -> None:
    files = importlib.resources.files("hmm_mirror")
    assert files.joinpath("py.typed").is_file()
    # The installed package, not the source tree (which has no extension).
    assert "site-packages" in hmm_mirror.__file__


def test_device_path_from_library() -> None:
    assert hmm_mirror.DEVICE_PATH == "/dev/hmm_mirror"
    assert hmm_mirror.device_available("/nonexistent/hmm_mirror") is False


def test_missing_device_path_raises_clear_error(tmp_path) -> None:
    path = tmp_path / "no-such-node"
    with pytest.raises(hmm_mirror.DeviceNotFoundError) as info:
        hmm_mirror.Mirror(path=path)
    err = info.value
    assert isinstance(err, FileNotFoundError)
    assert isinstance(err, hmm_mirror.HmmMirrorError)
    assert isinstance(err, OSError)
    assert err.errno == errno.ENOENT
    assert err.errno_name == "ENOENT"
    assert str(path) in str(err)
    assert "hmm_mirror.ko" in str(err)  # says what to do


@pytest.mark.skipif(hmm_mirror.device_available(), reason="the device exists here")
def test_default_device_missing_on_host() -> None:
    with pytest.raises(FileNotFoundError, match="is hmm_mirror.ko loaded"):
        hmm_mirror.Mirror()


def test_not_an_hmm_mirror_device() -> None:
    # /dev/null opens, but knows no handshake ioctl.
    with pytest.raises(hmm_mirror.HmmMirrorError) as info:
        hmm_mirror.Mirror(path="/dev/null")
    assert info.value.errno == errno.ENOTTY
    assert "not an hmm_mirror device" in str(info.value)


def test_from_fd_refuses_a_descriptor_that_is_not_the_device(tmp_path) -> None:
    fd = os.open("/dev/null", os.O_RDWR)
    try:
        with pytest.raises(hmm_mirror.HmmMirrorError) as info:
            hmm_mirror.Mirror.from_fd(fd)
        assert info.value.errno == errno.ENOTTY
        assert f"hmm_mirror_from_fd(fd={fd})" in str(info.value)
        assert "not an hmm_mirror device" in str(info.value)
        assert "/dev/null" in str(info.value)
        assert info.value.bytes_copied is None
        os.fstat(fd)  # left open
        assert os.get_blocking(fd) is True  # and unchanged
    finally:
        os.close(fd)
    r, w = os.pipe()
    try:
        with pytest.raises(hmm_mirror.HmmMirrorError) as info:
            hmm_mirror.Mirror.from_fd(r)
        assert "pipe:[" in str(info.value)
    finally:
        os.close(r)
        os.close(w)


def test_from_fd_bad_arguments() -> None:
    with pytest.raises(hmm_mirror.HmmMirrorError) as info:
        hmm_mirror.Mirror.from_fd(-1)
    assert info.value.errno == errno.EBADF
    with pytest.raises(hmm_mirror.HmmMirrorError) as info:
        hmm_mirror.Mirror.from_fd(1 << 40)
    assert info.value.errno == errno.EBADF
    with pytest.raises(TypeError):
        hmm_mirror.Mirror.from_fd("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        hmm_mirror.Mirror.from_fd(True)


def test_regular_file_is_not_a_device(tmp_path) -> None:
    f = tmp_path / "plain"
    f.write_bytes(b"")
    with pytest.raises(hmm_mirror.HmmMirrorError) as info:
        hmm_mirror.Mirror(path=os.fspath(f))
    assert info.value.errno == errno.ENOTTY


def test_pid_and_pidfd_are_exclusive(tmp_path) -> None:
    with pytest.raises(ValueError):  # checked before the device is opened
        hmm_mirror.Mirror(pid=1, pidfd=3, path=tmp_path / "none")


def test_address_of_buffers() -> None:
    buf = bytearray(b"abc")
    a = hmm_mirror.address_of(buf)
    assert a > 0
    assert hmm_mirror.address_of(memoryview(buf)) == a
    assert hmm_mirror.address_of(b"xyz") > 0
