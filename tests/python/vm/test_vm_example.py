"""bindings/python/examples/prototype_device.py against the real module."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[3] / "bindings/python/examples/prototype_device.py"


def test_prototype_device() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout
    print(out, proc.stderr)
    assert proc.returncode == 0
    steps = re.findall(r"^== (\d)\. ", out, re.M)
    assert steps == [str(i) for i in range(1, 8)]
    assert out.count("   coherent\n") == 7 and "INCOHERENT" not in out
    assert out.rstrip().endswith("7 of 7 steps coherent")
    for reason in ("unmap", "protection", "release"):
        assert re.search(rf"^   event #\d+ {reason} ", out, re.M), reason
    assert "target sees the device's write: True" in out
    # Step 6: the device's write broke copy-on-write for page 8 only.
    step6 = out.split("== 6.")[1].split("== 7.")[0]
    assert re.search(r"^   8 +valid\|write 4K +valid\|write 4K$", step6, re.M)
    assert re.search(r"^   9-15 +valid 4K +valid 4K$", step6, re.M)
