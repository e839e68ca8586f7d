"""The engine's numerical tests pass whatever vector instructions the CPU has.

torch picks its CPU kernels by instruction set (AVX-512, AVX2, or plain code), and they
round differently: a test tuned on an AVX-512 machine once failed on every run on an
AVX2-only one. ``ATEN_CPU_CAPABILITY=default`` makes a capable machine use the plain
kernels, so here a few engine tests that compare numbers (a training curve, chunked
against torchvision's heads, the HRPN gating, the SRN's loss and matching, the RoI pooling
against torchvision's kernel) run again in a subprocess with them.
``ATEN_CPU_CAPABILITY=avx2 python -m pytest tests/engine`` checks the AVX2 set the same
way, by hand.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

NUMERIC_TESTS = [
    "tests/engine/test_msnet_model.py::test_loss_goes_down_on_a_fixed_batch",
    "tests/engine/test_msnet_heads.py::test_chunked_cpu_eval_equals_torchvision_for_any_count",
    "tests/engine/test_msnet_gating.py",
    "tests/engine/test_srn_loss.py",
    "tests/engine/test_srn_refine.py::test_refinement_is_symmetric_for_a_pair",
    "tests/engine/test_srn_refine.py::test_encoding_only_around_the_boxes_is_exact",
    "tests/engine/test_gather_roi_align.py::test_multiscale_pooling_equals_torchvision_and_trains_through_torchvision",
]

# the child checks that torch really took the plain kernels before running the tests
CHILD = """
import sys, torch, pytest
capability = torch.backends.cpu.get_cpu_capability()
if capability != "DEFAULT":
    sys.exit(f"ATEN_CPU_CAPABILITY=default was not taken: torch uses {capability}")
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-n", "0", *sys.argv[1:]]))
"""


@pytest.mark.skipif(platform.machine().lower() not in {"x86_64", "amd64"}, reason="x86-64 kernel sets")
def test_engine_numerics_hold_with_the_plain_kernels():
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *NUMERIC_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
