"""Shared pytest setup: the --counts report that `make test` sums up."""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--counts", metavar="FILE", default=None,
                     help='write "passed failed skipped" to FILE (for tests/report.py)')


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    path = config.getoption("counts")
    if not path:
        return
    stats = terminalreporter.stats

    def n(*keys: str) -> int:
        return sum(len(stats.get(k, [])) for k in keys)

    passed = n("passed", "xpassed")
    failed = n("failed", "error")
    skipped = n("skipped", "xfailed")
    if passed + failed + skipped == 0 or exitstatus not in (0, 1):
        # No test ran (exit 5), or pytest itself failed: that is a failure.
        failed += 1
    Path(path).write_text(f"{passed} {failed} {skipped}\n")
