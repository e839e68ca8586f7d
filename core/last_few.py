"""A small thread-safe store of the last few values computed, by key.

The map is built again after every review decision, on the app's job thread, from what
mostly did not change: the video's and the telemetry's headers, each detection placed on
the ground, the sites built of the same sightings, the buildings' coverage. Each of those
is kept in a :class:`LastFew` by what it was computed from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any


class LastFew:
    """The last ``size`` values by key, the least recently used dropped first; safe to
    use from several threads. ``None`` is not a value it keeps (:meth:`get` gives it for
    a key it does not hold).

    ``budget``: values may also be put with a weight (what one holds: a map's sightings),
    and the least recently used are dropped while the weights kept add up to more than
    the budget, the last one put always kept: a few short flights' maps, one long one's."""

    def __init__(self, size: int, *, budget: float | None = None) -> None:
        self._size = size
        self._budget = budget
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._weights: dict[Hashable, float] = {}
        self._lock = threading.Lock()
        self.stored = 0  # values stored since the process started (tests count the maps built)

    def __len__(self) -> int:
        with self._lock:
            return len(self._values)

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._values.get(key)
            if found is not None:
                self._values.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Any, *, weight: float = 0.0) -> None:
        if value is None:
            raise ValueError("LastFew keeps no None")
        with self._lock:
            self.stored += 1
            self._values[key] = value
            self._values.move_to_end(key)
            self._weights[key] = weight
            while len(self._values) > self._size or (
                    self._budget is not None and len(self._values) > 1
                    and sum(self._weights.values()) > self._budget):
                dropped, _ = self._values.popitem(last=False)
                del self._weights[dropped]

    def get_or_read(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """The value kept for ``key``, else ``read()`` (kept); what ``read`` raises is
        not kept, and it is called again next time."""
        found = self.get(key)
        if found is None:
            found = read()
            self.put(key, found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._weights.clear()


class KeptByMembers:
    """What was computed of a list of objects (a site's sightings), kept by their identity
    and what else it was computed from; the last ``size``. An entry holds its objects, so
    no other object takes their ids while it is kept."""

    def __init__(self, size: int) -> None:
        self._entries = LastFew(size)

    def get_or_compute(self, members: Sequence[object], more: tuple[Hashable, ...], compute: Callable[[], Any]) -> Any:
        """What was computed of ``members`` and ``more`` (the rest it depends on), else
        ``compute()``, kept."""
        key = (tuple(map(id, members)), *more)
        kept = self._entries.get(key)
        if kept is not None and len(kept[0]) == len(members) and all(a is b for a, b in zip(kept[0], members)):
            return kept[1]
        value = compute()
        self._entries.put(key, (tuple(members), value))
        return value

    def clear(self) -> None:
        self._entries.clear()


__all__ = ["KeptByMembers", "LastFew"]
