"""The notice that no GPU was found names what the command at hand offers to make the
analysis lighter: ``analyze``'s --fps and --every, the demo's own --analysis-fps."""

from __future__ import annotations

import argparse
import re

import torch

from app.commands import demo
from engine.device import ANALYSIS_CPU_HINT
from services import analysis


def test_loading_the_model_says_the_analysis_flags_by_default(no_gpu):
    loaded = analysis.load_model(analysis.AnalysisRequest())
    assert loaded.device == torch.device("cpu")
    assert no_gpu() == [f"no CUDA GPU found: running on the CPU (slow; {ANALYSIS_CPU_HINT})"]


def test_a_command_with_its_own_flags_names_them(no_gpu):
    analysis.load_model(analysis.AnalysisRequest(), cpu_hint=demo.CPU_HINT)
    assert no_gpu() == [f"no CUDA GPU found: running on the CPU (slow; {demo.CPU_HINT})"]


def test_the_demos_hint_names_only_flags_the_demo_takes():
    parser = argparse.ArgumentParser()
    demo.add_arguments(parser)
    named = set(re.findall(r"--[a-z][a-z-]*", demo.CPU_HINT))
    assert named and named <= set(parser._option_string_actions)
