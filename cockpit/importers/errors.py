"""Name where an import file is wrong, say what an import wrote, and read the file's text."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class ImportFileError(ValueError):
    """Reject an import file, naming where in it the problem is (feature, line, column)."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason

    def __reduce__(self):
        """Pickle with both arguments, so the error survives crossing processes."""
        return type(self), (self.location, self.reason)


class ImportStoreError(RuntimeError):
    """Refuse an import the store cannot take yet, such as one before any street is seeded."""


class ImportRefusedError(ImportStoreError):
    """Refuse an import that would leave the street wrong (people outside it, a use gone)."""

    def __init__(self, reason: str, counts: dict[str, int], override: str) -> None:
        shown = ", ".join(f"{name} {value}" for name, value in counts.items())
        super().__init__(f"refused: {reason} ({shown}); {override} to import anyway")
        self.reason = reason
        self.counts = counts
        self.override = override

    def __reduce__(self):
        """Pickle with every argument, so the refusal survives crossing processes."""
        return type(self), (self.reason, self.counts, self.override)


@dataclass
class ImportReport:
    """Tell what an import wrote: its kind, how many records, and counted details."""

    kind: str
    imported: int
    details: dict[str, int | str] = field(default_factory=dict)
    # One line per feature or line left out by --skip-invalid: "feature 5 (way/1): reason".
    skipped: list[str] = field(default_factory=list)
    # Things the import did that a person should know about, such as a use left with no building.
    warnings: list[str] = field(default_factory=list)


def read_text(path_or_text: str | Path | bytes, suffixes: tuple[str, ...] = ()) -> str:
    """Return the UTF-8 text, BOM dropped, of a path, raw bytes, or a string holding the text."""
    # A one-line string naming an existing file is read as that file; one ending in a known
    # suffix that names no file is reported missing rather than parsed as (nonsense) text.
    if isinstance(path_or_text, Path):
        return _decode(_read_file(path_or_text))
    if isinstance(path_or_text, bytes | bytearray):
        return _decode(bytes(path_or_text))
    text = path_or_text
    if "\n" not in text and 0 < len(text) < 4096:
        if _is_file(text):
            return _decode(_read_file(Path(text)))
        if suffixes and text.strip().lower().endswith(suffixes):
            raise ImportFileError("file", f"no such file: {text.strip()}")
    text = text.removeprefix("\ufeff")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ImportFileError(
            f"line {text.count(chr(10), 0, err.start) + 1}", "is not valid Unicode"
        ) from None
    return text


def _is_file(text: str) -> bool:
    """Tell whether a string names an existing file, treating unusable names as text."""
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read_file(path: Path) -> bytes:
    """Return a file's bytes, or name the file that cannot be read."""
    try:
        return path.read_bytes()
    except OSError as err:
        raise ImportFileError("file", f"cannot read {path}: {err.strerror or err}") from None


def _decode(data: bytes) -> str:
    """Decode UTF-8 with or without a BOM, naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ImportFileError(f"line {line}", "is not valid UTF-8") from None
