"""Read CSV records with the physical line each starts on, so errors can name the line."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from cockpit.importers.errors import ImportFileError


def csv_records(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Yield (first physical line, cells) of each non-blank record; bad CSV names its line."""
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ImportFileError(f"line {reader.line_num}", f"is not valid CSV: {err}") from None
        if any(cell.strip() for cell in cells):
            yield line, cells
        line = reader.line_num + 1
