"""``--device auto`` on a machine without a GPU: one notice, with the hint of the command
that asked (an analysis can be made lighter; training or a single photo cannot)."""

from __future__ import annotations

import torch

from engine.device import ANALYSIS_CPU_HINT, resolve_device


def test_an_analysis_is_told_how_to_be_lighter_on_the_cpu(no_gpu):
    assert resolve_device("auto", cpu_hint=ANALYSIS_CPU_HINT) == torch.device("cpu")
    assert no_gpu() == [f"no CUDA GPU found: running on the CPU (slow; {ANALYSIS_CPU_HINT})"]


def test_other_commands_get_no_analysis_flags_and_the_notice_comes_once(no_gpu):
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert no_gpu() == ["no CUDA GPU found: running on the CPU (slow)"]


def test_an_explicit_cpu_gives_no_notice(no_gpu):
    assert resolve_device(" CPU ") == torch.device("cpu")
    assert no_gpu() == []
