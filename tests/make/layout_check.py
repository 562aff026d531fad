#!/usr/bin/env python3
"""The tests follow tests/README.md's rule (make layout-test).

Checks, on the files git tracks:
  1. every test source (*_test.*, test_*.py, *_fuzz.cc) is under tests/,
     or in a Rust crate's tests/ directory (cargo's place for them);
  2. no two test files share a name (conftest.py, pytest's fixed name,
     excepted), so a file name says which suite it belongs to;
  3. every directory directly under tests/ is listed in tests/README.md.

Usage: layout_check.py [COUNTS]; writes "passed failed 0" to COUNTS.
"""
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_NAME = re.compile(r"(_test\.(c|cc|h|py|rs|sh)|^test_.*\.py|_fuzz\.cc)$")
RUST_TESTS = re.compile(r"^bindings/rust/[^/]+/tests/")
SHARED_NAMES = {"conftest.py"}


def tracked() -> list:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [p for p in out.splitlines() if (ROOT / p).exists()]


def main() -> int:
    files = tracked()
    tests = [p for p in files if TEST_NAME.search(Path(p).name)
             or p.startswith("tests/")]
    failures = []

    for p in tests:
        if not (p.startswith("tests/") or RUST_TESTS.match(p)):
            failures.append((1, f"{p}: a test outside tests/ (tests/README.md)"))

    by_name = defaultdict(list)
    for p in tests:
        name = Path(p).name
        if TEST_NAME.search(name) and name not in SHARED_NAMES:
            by_name[name].append(p)
    for name, paths in sorted(by_name.items()):
        if len(paths) > 1:
            failures.append((2, f"{name}: used by {', '.join(paths)}"))

    readme = (ROOT / "tests/README.md").read_text()
    tops = sorted({p.split("/")[1] for p in files
                   if p.startswith("tests/") and p.count("/") >= 2})
    for top in tops:
        if f"`{top}/" not in readme:
            failures.append((3, f"tests/{top}/: not described in tests/README.md"))

    checks = 3
    for _, text in failures:
        print(f"layout-test: {text}")
    failed = len({check for check, _ in failures})
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(f"{checks - failed} {failed} 0\n")
    print(f"layout-test: {len(tests)} test files, {len(failures)} problem(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
