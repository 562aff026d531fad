"""`mypy --strict` passes on what users copy: the README's examples, the
example program, and code that uses the installed package (py.typed)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest
from mypy import api as mypy_api  # installed into the venv by python.mk

PY_DIR = Path(__file__).resolve().parents[3] / "bindings/python"
README = PY_DIR / "README.md"
EXAMPLE = PY_DIR / "examples/prototype_device.py"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def mypy_strict(cache_dir: Path, *args: str) -> None:
    out, err, status = mypy_api.run(["--strict", "--no-error-summary",
                                     "--cache-dir", str(cache_dir), *args])
    assert status == 0, f"mypy --strict {' '.join(args)}:\n{out}{err}"


def readme_examples() -> List[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(), re.M | re.S)


def test_readme_has_an_example() -> None:
    assert readme_examples(), f"no ```python block in {README}"


@pytest.mark.parametrize("index", range(len(readme_examples())))
def test_readme_example_is_strictly_typed(index: int, cache_dir: Path,
                                          tmp_path: Path) -> None:
    source = tmp_path / f"readme_example_{index}.py"
    source.write_text(readme_examples()[index])
    mypy_strict(cache_dir, str(source))


def test_example_program_is_strictly_typed(cache_dir: Path) -> None:
    mypy_strict(cache_dir, str(EXAMPLE))


def test_installed_package_is_strictly_typed(cache_dir: Path) -> None:
    # The installed package (the wheel), the way a user's mypy sees it.
    mypy_strict(cache_dir, "-p", "hmm_mirror")
