"""Mask personal data on the server, before any view model can carry it to a browser."""

from __future__ import annotations

MASK = "**"


def mask_name(name: str | None) -> str:
    """Return a person's name as its first character and "**" (王小明 → 王**); "" for no name."""
    # The mask has a fixed length, so it tells neither the given name nor how long it is.
    text = (name or "").strip()
    return f"{text[0]}{MASK}" if text else ""
