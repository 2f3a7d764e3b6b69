"""Report each fault test's outcome as one line: fault, promise, held or not."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Where the suite's last run is kept, one JSON line per fault, for docs/reliability.md.
RESULTS = Path(os.environ.get("COCKPIT_FAULT_RESULTS", "artifacts/faults.jsonl"))


def pytest_configure(config) -> None:
    """Start a fresh results file for this run."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("")


@pytest.fixture
def fault(request) -> Iterator[Callable[[str, str], None]]:
    """Name the fault and its promise; the line is printed and kept when the test ends."""
    named: dict[str, str] = {}

    def declare(what: str, promise: str) -> None:
        named.update(fault=what, promise=promise)

    yield declare
    if not named:
        raise AssertionError("a fault test must declare its fault and promise")
    report = getattr(request.node, "rep_call", None)
    held = bool(report is not None and report.passed)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(named | {"held": held, "test": request.node.nodeid}) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the call phase's report on the item, so the fixture can tell held from not."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


def pytest_terminal_summary(terminalreporter) -> None:
    """Print one line per fault tested in this run: fault, promise, held or not."""
    if not RESULTS.exists() or not RESULTS.read_text().strip():
        return
    terminalreporter.section("faults")
    for raw in RESULTS.read_text(encoding="utf-8").splitlines():
        row = json.loads(raw)
        held = "held" if row["held"] else "NOT held"
        terminalreporter.write_line(f"{row['fault']} | {row['promise']} | {held}")
