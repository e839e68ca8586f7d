import sys

import pytest

from engine import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_retained_memory_is_counted_and_given_back(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_mallopt", lambda: lambda option, value: calls.append((option, value)) or 1)
    with memory.retain_freed_memory() as retained:
        assert retained
        with memory.retain_freed_memory():
            pass
        assert len(calls) == 2  # set once, not restored by the inner exit
    assert calls[0] == (memory._M_MMAP_MAX, 0)
    assert calls[2:] == [(memory._M_MMAP_MAX, memory._DEFAULT_MMAP_MAX),
                         (memory._M_TRIM_THRESHOLD, memory._DEFAULT_TRIM_THRESHOLD)]
    assert memory._active == 0


def test_without_mallopt_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(memory, "_mallopt", lambda: None)
    with memory.retain_freed_memory() as retained:
        assert not retained
