"""Build hook: the cffi extension (see ffibuild.py); metadata is in pyproject.toml."""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


class SdistWithLibrary(sdist):
    """An sdist that carries libhmm_mirror's sources and the ABI header
    (under vendor/), so it builds away from the source tree."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        import sys
        sys.path.insert(0, str(HERE))
        import ffibuild  # copies from where the build finds the sources

        vendor = Path(base_dir) / "vendor"
        shutil.copytree(ffibuild.LIB_DIR / "include", vendor / "c" / "include")
        shutil.copytree(ffibuild.LIB_DIR / "src", vendor / "c" / "src")
        (vendor / "abi").mkdir(parents=True)
        shutil.copy2(ffibuild.ABI_DIR / "hmm_mirror.h", vendor / "abi")


# cffi builds the extension against the stable ABI (Py_LIMITED_API,
# hmm_mirror/_hmm_mirror_cffi.abi3.so); the wheel says so, so that one wheel
# installs on every CPython from requires-python's 3.9 up.
setup(
    cffi_modules=["ffibuild.py:ffibuilder"],
    cmdclass={"sdist": SdistWithLibrary},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
