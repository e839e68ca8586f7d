"""The store of the last few values computed (``core.last_few.LastFew``)."""

from __future__ import annotations

import pytest

from core.last_few import LastFew


def test_the_least_recently_used_value_goes_first():
    kept = LastFew(2)
    kept.put("a", 1)
    kept.put("b", 2)
    assert kept.get("a") == 1  # now the most recently used
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)
    assert len(kept) == 2 and kept.stored == 3


def test_a_failed_read_is_not_kept_and_none_is_refused():
    kept = LastFew(4)
    calls = []

    def read():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("not yet")
        return "read"

    with pytest.raises(OSError):
        kept.get_or_read("file", read)
    assert kept.get_or_read("file", read) == "read" and kept.get_or_read("file", read) == "read"
    assert len(calls) == 2
    with pytest.raises(ValueError):
        kept.put("nothing", None)
    kept.clear()
    assert kept.get("file") is None


def test_weighed_values_are_dropped_beyond_the_budget_but_the_last_stays():
    kept = LastFew(4, budget=10)
    kept.put("small", "s", weight=3)
    kept.put("medium", "m", weight=6)
    assert len(kept) == 2  # 9 of 10
    kept.get("small")  # now the most recently used
    kept.put("large", "l", weight=4)  # 13: the least recently used goes
    assert (kept.get("small"), kept.get("medium"), kept.get("large")) == ("s", None, "l")
    kept.put("huge", "h", weight=25)  # over the budget alone: kept, the rest dropped
    assert len(kept) == 1 and kept.get("huge") == "h"
    kept.put("small", "s2", weight=1)  # put again: its new weight counts
    assert len(kept) == 1 and kept.get("small") == "s2"
