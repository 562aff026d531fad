"""Fixtures for the tests against hmm_mirror.ko (run inside the test VM).

Without the device these tests are skipped, unless HMM_PYTHON_REQUIRE_DEVICE
is set (tests/python/python.sh sets it in the VM): then they fail.
"""
from __future__ import annotations

import os
from typing import Iterator

import pytest

import hmm_mirror as hm
from scripted_target import ScriptedTarget, spawn_target  # tests/python/scripted_target.py


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    if hm.device_available() or os.environ.get("HMM_PYTHON_REQUIRE_DEVICE"):
        return
    skip = pytest.mark.skip(reason=f"{hm.DEVICE_PATH} missing: run in the VM "
                            "(make test)")
    for item in items:
        item.add_marker(skip)


@pytest.fixture
def target() -> Iterator[ScriptedTarget]:
    """The scriptable target process (tests/target/hmm_target.c)."""
    with spawn_target() as t:
        yield t


@pytest.fixture
def mirror(target: ScriptedTarget) -> Iterator[hm.Mirror]:
    """A mirror of ``target`` with every event reason enabled."""
    with hm.Mirror(pid=target.pid, events=True) as m:
        yield m


@pytest.fixture
def ps() -> int:
    return os.sysconf("SC_PAGESIZE")
