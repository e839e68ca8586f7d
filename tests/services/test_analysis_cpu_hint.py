"""The notice that no GPU was found names what the command at hand offers to make the
analysis lighter: ``analyze``'s --fps and --every, the demo's own --analysis-fps."""

from __future__ import annotations

import argparse
import logging
import re

import pytest
import torch

import engine.device
from app.commands import demo
from engine.device import ANALYSIS_CPU_HINT
from services import analysis


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(engine.device, "_cpu_notice_given", False)


def _notices(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "engine.device"]


def test_loading_the_model_says_the_analysis_flags_by_default(no_gpu, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.device"):
        loaded = analysis.load_model(analysis.AnalysisRequest())
    assert loaded.device == torch.device("cpu")
    assert _notices(caplog) == [f"no CUDA GPU found: running on the CPU (slow; {ANALYSIS_CPU_HINT})"]


def test_a_command_with_its_own_flags_names_them(no_gpu, caplog):
    with caplog.at_level(logging.WARNING, logger="engine.device"):
        analysis.load_model(analysis.AnalysisRequest(), cpu_hint=demo.CPU_HINT)
    assert _notices(caplog) == [f"no CUDA GPU found: running on the CPU (slow; {demo.CPU_HINT})"]


def test_the_demos_hint_names_only_flags_the_demo_takes():
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    named = set(re.findall(r"--[a-z][a-z-]*", demo.CPU_HINT))
    assert named and named <= set(parser._option_string_actions)
