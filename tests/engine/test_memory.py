import platform

import pytest

from engine import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_retained_memory_is_counted_and_given_back(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "_mallopt", lambda: lambda option, value: calls.append((option, value)) or 1)
    monkeypatch.setattr(memory, "_malloc_trim", lambda: lambda pad: calls.append(("trim", pad)) or 1)
    with memory.retain_freed_memory() as retained:
        assert retained
        with memory.retain_freed_memory():
            pass
        assert len(calls) == 2  # set once, not restored by the inner exit
    assert calls[0] == (memory._M_MMAP_MAX, 0)
    assert calls[2:] == [(memory._M_MMAP_MAX, memory._DEFAULT_MMAP_MAX),
                         (memory._M_TRIM_THRESHOLD, memory._DEFAULT_TRIM_THRESHOLD), ("trim", 0)]
    assert memory._active == 0


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_real_glibc_calls_are_found_and_accept_the_settings():
    mallopt = memory._mallopt()
    assert mallopt is not None and memory._malloc_trim() is not None
    assert mallopt(memory._M_TRIM_THRESHOLD, memory._DEFAULT_TRIM_THRESHOLD) == 1  # glibc: 1 on success
    with memory.retain_freed_memory() as retained:
        assert retained


def test_without_mallopt_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(memory, "_mallopt", lambda: None)
    with memory.retain_freed_memory() as retained:
        assert not retained
