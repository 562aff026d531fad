"""The sdist and the wheel `make python` built (and installed the wheel of):
one abi3 wheel for every CPython the package supports, LICENSE in both.

python.mk passes their directory as HMM_PY_DIST; without it (pytest run
by hand) these tests are skipped.
"""
from __future__ import annotations

import os
import tarfile
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

import hmm_mirror

DIST = os.environ.get("HMM_PY_DIST")
pytestmark = pytest.mark.skipif(not DIST, reason="HMM_PY_DIST not set (make python-host-test sets it)")


def one(pattern: str) -> Path:
    found = sorted(Path(DIST or ".").glob(pattern))
    assert len(found) == 1, f"{pattern} in {DIST}: {found}"
    return found[0]


def test_wheel_is_tagged_abi3() -> None:
    wheel = one("*.whl")
    # name-version-python-abi-platform.whl: cp39 = requires-python's floor.
    assert wheel.name.endswith("-cp39-abi3-linux_x86_64.whl"), wheel.name
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/WHEEL"))
        tags = HeaderParser().parsestr(z.read(info).decode()).get_all("Tag")
    assert tags == ["cp39-abi3-linux_x86_64"]
    # The extension itself is built for the stable ABI, as the tag says.
    assert "hmm_mirror/_hmm_mirror_cffi.abi3.so" in names
    assert "hmm_mirror/py.typed" in names and "hmm_mirror/_hmm_mirror_cffi.pyi" in names


def test_wheel_carries_license() -> None:
    with zipfile.ZipFile(one("*.whl")) as z:
        names = z.namelist()
        lic = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert lic, names
        assert z.read(lic[0]).startswith(b"MIT License")
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        headers = HeaderParser().parsestr(z.read(meta).decode())
    assert headers["License-Expression"] == "MIT"
    assert headers.get_all("License-File") == ["LICENSE"]


def test_sdist_carries_license_and_library_sources() -> None:
    sdist = one("*.tar.gz")
    root = sdist.name[:-len(".tar.gz")]
    with tarfile.open(sdist) as tar:
        lic = tar.getmember(f"{root}/LICENSE")
        # A file, not the repository's symbolic link (which would dangle).
        assert lic.isfile()
        f = tar.extractfile(lic)
        assert f is not None and f.read().startswith(b"MIT License")
        names = tar.getnames()
    for path in ("vendor/abi/hmm_mirror.h", "vendor/c/include/hmm_mirror/libhmm_mirror.h",
                 "vendor/c/src/handle.c"):
        assert f"{root}/{path}" in names, path


def test_installed_package_is_the_wheel() -> None:
    # make python installs the wheel it built from the sdist.
    installed = Path(hmm_mirror.__file__).parent
    assert (installed / "_hmm_mirror_cffi.pyi").is_file()
    assert list(installed.glob("_hmm_mirror_cffi.abi3.so")), list(installed.iterdir())
