#!/usr/bin/env python3
"""Sum every suite's results in a directory into one closing line.

Reads GoogleTest JSON reports (*.json) and plain count files (*.counts,
one line "passed failed skipped"); prints a line per suite and ends with
"N passed, N failed, N skipped".  Exits 1 when anything failed or when
the directory holds no result at all.
"""
import json
import sys
from pathlib import Path


def gtest_counts(path: Path) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    data = json.loads(path.read_text())
    for suite in data.get("testsuites", []):
        for test in suite.get("testsuite", []):
            if test.get("failures"):
                failed += 1
            elif test.get("result") == "SKIPPED" or test.get("status") == "NOTRUN":
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


def plain_counts(path: Path) -> tuple[int, int, int]:
    p, f, s = (int(x) for x in path.read_text().split()[:3])
    return p, f, s


def kernel_of(results: Path, path: Path) -> str | None:
    """The kernel a result belongs to: its kernel-NAME/ directory's kernel.txt."""
    rel = path.relative_to(results)
    if len(rel.parts) > 1 and rel.parts[0].startswith("kernel-"):
        info = results / rel.parts[0] / "kernel.txt"
        try:
            name, release = info.read_text().split()[:2]
            return f"{name} ({release})"
        except (OSError, ValueError):
            return rel.parts[0][len("kernel-"):]
    return None


def line(counts: list[int] | tuple[int, int, int]) -> str:
    return f"{counts[0]} passed, {counts[1]} failed, {counts[2]} skipped"


def main() -> int:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "build/results")
    totals = [0, 0, 0]
    kernels: dict[str, list[int]] = {}
    files = sorted(results.glob("**/*.json")) + sorted(results.glob("**/*.counts"))
    for path in files:
        try:
            counts = gtest_counts(path) if path.suffix == ".json" else plain_counts(path)
        except (ValueError, OSError) as err:
            print(f"{path.stem}: unreadable result ({err})")
            counts = (0, 1, 0)
        for i, n in enumerate(counts):
            totals[i] += n
        kernel = kernel_of(results, path)
        name = path.stem
        if kernel is not None:
            per = kernels.setdefault(kernel, [0, 0, 0])
            for i, n in enumerate(counts):
                per[i] += n
            name = f"{path.parent.name}/{path.stem}"
        print(f"{name}: {line(counts)}")
    # A kernel whose directory holds no result at all failed before its suites.
    for info in sorted(results.glob("kernel-*/kernel.txt")):
        kernel = kernel_of(results, info)
        if kernel is not None and kernel not in kernels:
            kernels[kernel] = [0, 1, 0]
            totals[1] += 1
    for kernel in sorted(kernels):
        print(f"kernel {kernel}: {line(kernels[kernel])}")
    if not files:
        print(f"no test results in {results}")
        totals[1] += 1
    print(line(totals))
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
