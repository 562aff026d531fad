"""bindings/python/examples/prototype_device.py against the real module."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import hmm_mirror as hm

EXAMPLE = Path(__file__).resolve().parents[3] / "bindings/python/examples/prototype_device.py"


def test_prototype_device() -> None:
    proc = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=300)
    out = proc.stdout
    print(out, proc.stderr)
    assert proc.returncode == 0
    with hm.Mirror() as m:
        devmem = bool(m.features & hm.Feature.DEVICE_MEMORY)
    n = 9 if devmem else 7  # two device-memory steps with the feature
    steps = re.findall(r"^== (\d)\. ", out, re.M)
    assert steps == [str(i) for i in range(1, n + 1)]
    assert out.count("   coherent\n") == n and "INCOHERENT" not in out
    assert out.rstrip().endswith(f"{n} of {n} steps coherent")
    if not devmem:
        assert "== device memory: skipped: the module has no device memory" in out
    else:
        step7 = out.split("== 7.")[1].split("== 8.")[0]
        assert re.search(r"^   event #\d+ migrate to-device ", step7, re.M)
        assert re.search(r"^   0-7 +valid\|write\|device 4K +valid\|write\|device 4K$",
                         step7, re.M)
        assert "8 moved, 0 already" in step7
        step8 = out.split("== 8.")[1].split("== 9.")[0]
        assert re.search(r"^   event #\d+ migrate to-system ", step8, re.M)
        assert re.search(r"^   0-1 +- +-$", step8, re.M)
        assert "pages back in system memory: 2; data intact: True" in step8
    for reason in ("unmap", "protection", "release"):
        assert re.search(rf"^   event #\d+ {reason} ", out, re.M), reason
    assert "target sees the device's write: True" in out
    # Step 6: the device's write broke copy-on-write for page 8 only.
    step6 = out.split("== 6.")[1].split("== 7.")[0]
    assert re.search(r"^   8 +valid\|write 4K +valid\|write 4K$", step6, re.M)
    assert re.search(r"^   9-15 +valid 4K +valid 4K$", step6, re.M)
