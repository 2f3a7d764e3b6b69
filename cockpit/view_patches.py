"""Compute the difference between two publications of a view model, as operations a screen applies.

A screen holds the last version of each view it was sent; when one case moves, it needs that
case, not the whole list again. `diff` returns operations in a small neutral form that the web
side turns into a Dash `Patch` (callbacks/shell.py) and that `apply` replays here (for tests and
for checking a chain before it is trusted):

    ["set", path, value]          assign a key or a list index
    ["del", path]                 remove a key, or a list item (later items move up)
    ["ins", path, index, value]   insert into the list at path

Lists of records are matched by a key field (`id`, `code`, ...) when every record has a distinct
one, so an item added at the top, dropped, moved or changed costs that item alone; the records
kept in order are the longest increasing run of their old positions. Other lists are compared by
position, with their common head and tail kept. Wherever the operations would be larger than the
value they rewrite, the value is set whole instead.

jsonpatch (RFC 6902) was measured first: it compares lists by position, so one case inserted at
the top of the map's case list rewrote every item after it (a 56 KB patch for a 30 KB view).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from typing import Any

import orjson

Path = list[str | int]
Op = list[Any]
# The fields that name a record in the cockpit's lists, tried in this order.
KEY_FIELDS = ("id", "code", "building_id", "system", "state", "name")


def diff(old: Any, new: Any) -> list[Op]:
    """Return the operations that turn `old` into `new` (two dicts: a view's content)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        raise TypeError("a view model is a JSON object")
    ops: list[Op] = []
    _diff_dict(old, new, [], ops)
    return ops


def apply(doc: Any, ops: Sequence[Op]) -> Any:
    """Return `doc` with the operations applied, as a screen's renderer applies them."""
    doc = orjson.loads(orjson.dumps(doc))  # a deep copy, as plain JSON
    for op in ops:
        kind, path = op[0], op[1]
        if kind == "set" and not path:
            doc = op[2]
            continue
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if kind == "set":
            parent[last] = op[2]
        elif kind == "del":
            del parent[last]
        elif kind == "ins":
            parent[last].insert(op[2], op[3])
        else:
            raise ValueError(f"unknown operation {kind!r}")
    return doc


def size_of(value: Any) -> int:
    """Return the bytes a value takes as JSON."""
    return len(orjson.dumps(value))


def _diff(old: Any, new: Any, path: Path, ops: list[Op]) -> None:
    """Append the operations turning old into new at path: in place where that is smaller."""
    if old == new:
        return
    if type(old) is not type(new) or not isinstance(new, (dict, list)):
        ops.append(["set", path, new])
        return
    inner: list[Op] = []
    if isinstance(new, dict):
        _diff_dict(old, new, path, inner)
    else:
        _diff_list(old, new, path, inner)
    if len(inner) > 1 and size_of(inner) >= size_of(new) + 16:
        ops.append(["set", path, new])
    else:
        ops.extend(inner)


def _diff_dict(old: dict, new: dict, path: Path, ops: list[Op]) -> None:
    """Append the operations for two objects: removed keys, added keys, changed values."""
    for key in old:
        if key not in new:
            ops.append(["del", [*path, key]])
    for key, value in new.items():
        if key not in old:
            ops.append(["set", [*path, key], value])
        else:
            _diff(old[key], value, [*path, key], ops)


def _diff_list(old: list, new: list, path: Path, ops: list[Op]) -> None:
    """Append the operations for two lists: by record key when there is one, else by position."""
    field = _key_field(old, new)
    if field is not None:
        _diff_keyed(old, new, field, path, ops)
        return
    if len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new, strict=True)):
            _diff(before, after, [*path, index], ops)
        return
    head = 0
    shortest = min(len(old), len(new))
    while head < shortest and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < shortest - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    for index in range(len(old) - tail - 1, head - 1, -1):
        ops.append(["del", [*path, index]])
    for index in range(head, len(new) - tail):
        ops.append(["ins", path, index, new[index]])


def _diff_keyed(old: list, new: list, field: str, path: Path, ops: list[Op]) -> None:
    """Append the operations for two lists of records matched by `field`."""
    old_at = {item[field]: index for index, item in enumerate(old)}
    kept = _longest_run([old_at[item[field]] for item in new if item[field] in old_at])
    for index in range(len(old) - 1, -1, -1):
        if index not in kept:
            ops.append(["del", [*path, index]])
    for index, item in enumerate(new):
        before = old_at.get(item[field])
        if before is not None and before in kept:
            _diff(old[before], item, [*path, index], ops)
        else:
            ops.append(["ins", path, index, item])


def _key_field(old: list, new: list) -> str | None:
    """Return the field naming every record of both lists distinctly, or None."""
    if not old or not new or not isinstance(old[0], dict) or not isinstance(new[0], dict):
        return None
    for field in KEY_FIELDS:
        if field in old[0] and _distinct(old, field) and _distinct(new, field):
            return field
    return None


def _distinct(items: list, field: str) -> bool:
    """Say whether every item is a record with a distinct, hashable value of `field`."""
    seen: set[Hashable] = set()
    for item in items:
        if not isinstance(item, dict) or field not in item:
            return False
        value = item[field]
        if not isinstance(value, (str, int)) or value in seen:
            return False
        seen.add(value)
    return True


def _longest_run(positions: list[int]) -> set[int]:
    """Return the positions forming the longest increasing subsequence (patience sorting)."""
    tops: list[int] = []  # the smallest last position of a run of each length
    top_at: list[int] = []  # the index into `positions` of that last position
    before: list[int] = [-1] * len(positions)
    for index, position in enumerate(positions):
        length = bisect_left(tops, position)
        if length == len(tops):
            tops.append(position)
            top_at.append(index)
        else:
            tops[length] = position
            top_at[length] = index
        before[index] = top_at[length - 1] if length else -1
    run: set[int] = set()
    index = top_at[-1] if top_at else -1
    while index >= 0:
        run.add(positions[index])
        index = before[index]
    return run
