"""Print the fault suite's last run as table rows for docs/reliability.md.

python -m tests.faults.report [artifacts/faults.jsonl]
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.faults.conftest import RESULTS


def rows(path: Path) -> list[str]:
    """Return one Markdown row per fault test of the run: fault, promise, test, held or not."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        row = json.loads(raw)
        held = "held" if row["held"] else "**NOT held**"
        out.append(f"| {row['fault']} | {row['promise']} | `{row['test']}` | {held} |")
    return out


def outcomes(path: Path) -> dict[str, bool]:
    """Return each fault test's node id and whether it held."""
    return {
        row["test"]: row["held"]
        for row in (json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines() if raw)
    }


def fill(doc: Path, results: Path, placeholder: str = "_LAST RUN_") -> int:
    """Replace the placeholder of each table row whose tests ran; return how many rows changed."""
    held_by_test = outcomes(results)
    day = datetime.fromtimestamp(results.stat().st_mtime, UTC).date().isoformat()
    changed = 0
    lines = []
    for line in doc.read_text(encoding="utf-8").splitlines():
        ran = [held_by_test[t] for t in re.findall(r"`([^`]+::[^`]+)`", line) if t in held_by_test]
        if placeholder in line and ran:
            line = line.replace(placeholder, f"{'held' if all(ran) else '**NOT held**'} ({day})")
            changed += 1
        lines.append(line)
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    """Print the rows (or fill the document's last-run column), or say why there are none."""
    doc = None
    if argv[:1] == ["--fill"]:
        if len(argv) < 2:
            print("usage: python -m tests.faults.report --fill DOC [RESULTS]", file=sys.stderr)
            return 2
        doc, argv = Path(argv[1]), argv[2:]
    path = Path(argv[0]) if argv else RESULTS
    if not path.exists() or not path.read_text().strip():
        print(f"no fault results at {path}; run: python -m pytest tests/faults -q", file=sys.stderr)
        return 1
    if doc is not None:
        print(f"{doc}: {fill(doc, path)} rows filled from {path}")
        return 0
    print("| fault | promise | test | last run |")
    print("| --- | --- | --- | --- |")
    for line in rows(path):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
