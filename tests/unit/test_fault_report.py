"""Fill docs/reliability.md's last-run column from the fault suite's results file."""

from __future__ import annotations

import json

from tests.faults.report import fill, main


def test_rows_whose_tests_ran_are_filled_and_one_failure_makes_a_row_not_held(tmp_path, capsys):
    results = tmp_path / "faults.jsonl"
    results.write_text(
        "\n".join(
            json.dumps({"fault": f, "promise": "p", "held": held, "test": t})
            for f, held, t in [
                ("a", True, "tests/faults/test_a.py::test_a"),
                ("b", True, "tests/faults/test_b.py::test_b1"),
                ("b", False, "tests/faults/test_b.py::test_b2"),
            ]
        )
        + "\n"
    )
    doc = tmp_path / "reliability.md"
    doc.write_text(
        "| a | p | `tests/faults/test_a.py::test_a` | _LAST RUN_ |\n"
        "| b | p | `tests/faults/test_b.py::test_b1`, `tests/faults/test_b.py::test_b2` | _LAST RUN_ |\n"
        "| c | p | `tests/unit/test_c.py::test_c` | _LAST RUN_ |\n"
    )
    assert fill(doc, results) == 2
    a, b, c = doc.read_text().splitlines()
    assert "| held (" in a and "**NOT held**" in b and c.endswith("_LAST RUN_ |")

    assert main([str(results)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 + 3 and "**NOT held**" in printed[-1]


def test_a_missing_results_file_is_said_not_printed_as_an_empty_table(tmp_path, capsys):
    assert main([str(tmp_path / "none.jsonl")]) == 1
    assert "no fault results" in capsys.readouterr().err
