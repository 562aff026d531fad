"""The example fails cleanly where there is no device."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hmm_mirror as hm

EXAMPLE = Path(__file__).resolve().parents[3] / "bindings/python/examples/prototype_device.py"


@pytest.mark.skipif(hm.device_available(), reason="the device exists here")
def test_example_without_device() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "is hmm_mirror.ko loaded" in proc.stderr
    assert "Traceback" not in proc.stderr
