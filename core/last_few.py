"""A small thread-safe store of the last few values computed, by key.

The map is built again after every review decision, on the app's job thread, from what
mostly did not change: the video's and the telemetry's headers, each detection placed on
the ground, the sites built of the same sightings, the buildings' coverage. Each of those
is kept in a :class:`LastFew` by what it was computed from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class LastFew:
    """The last ``size`` values by key, the least recently used dropped first; safe to
    use from several threads. ``None`` is not a value it keeps (:meth:`get` gives it for
    a key it does not hold)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
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

    def put(self, key: Hashable, value: Any) -> None:
        if value is None:
            raise ValueError("LastFew keeps no None")
        with self._lock:
            self.stored += 1
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)

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


__all__ = ["LastFew"]
