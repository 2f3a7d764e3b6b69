"""Stand in for the device registry, so a test can ingest readings without seeding a street."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class KnownDevices:
    """Answer ingest's registry look-ups from a fixed id -> kind map, never from SQL."""

    def __init__(self, kinds: Mapping[int, str]) -> None:
        self._kinds = {device_id: str(kind) for device_id, kind in kinds.items()}

    def kinds(self, device_ids: Iterable[int]) -> dict[int, str]:
        """Return the fixed map whatever ids are asked about."""
        return self._kinds
