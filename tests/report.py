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


def main() -> int:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "build/results")
    totals = [0, 0, 0]
    files = sorted(results.glob("**/*.json")) + sorted(results.glob("**/*.counts"))
    for path in files:
        try:
            counts = gtest_counts(path) if path.suffix == ".json" else plain_counts(path)
        except (ValueError, OSError) as err:
            print(f"{path.stem}: unreadable result ({err})")
            counts = (0, 1, 0)
        for i, n in enumerate(counts):
            totals[i] += n
        print(f"{path.stem}: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped")
    if not files:
        print(f"no test results in {results}")
        totals[1] += 1
    print(f"{totals[0]} passed, {totals[1]} failed, {totals[2]} skipped")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
