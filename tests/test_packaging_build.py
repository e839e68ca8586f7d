"""``packaging/build.sh`` builds the CPU bundle only from the exact CPU builds of the torch
and torchvision that pyproject.toml pins (``packaging/cpu_torch.py`` finds them first), and
stops at once, in one line saying what it looked at and what to do, when they cannot be
found: never after minutes of work, never with another index's CUDA build."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIND = ROOT / "packaging" / "cpu_torch.py"


def _pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {d.split("==")[0]: d.split("==")[1] for d in deps if d.startswith(("torch==", "torchvision=="))}


def _wheel(name: str, version: str) -> str:
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    return f"{name}-{version}-{tag}-{tag}-manylinux_2_28_{platform.machine()}.whl"


def _index(root: Path, files: dict[str, list[str]]) -> str:
    """A PEP 503 index on disk listing ``files`` (``+`` written as ``%2B``, as indexes do)."""
    for name, names in files.items():
        (root / name).mkdir(parents=True)
        links = "".join(f'<a href="../../files/{n.replace("+", "%2B")}#sha256=00">{n}</a>\n' for n in names)
        (root / name / "index.html").write_text(f"<html><body>{links}</body></html>")
    return root.as_uri()


def _find(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(FIND), str(ROOT / "pyproject.toml"), *args],
                          capture_output=True, text=True, timeout=60)


def test_the_exact_cpu_builds_are_found_in_an_index(tmp_path):
    torch, vision = _pins()["torch"], _pins()["torchvision"]
    index = _index(tmp_path / "simple", {
        "torch": [_wheel("torch", f"{torch}+cpu"), _wheel("torch", torch)],
        "torchvision": [_wheel("torchvision", f"{vision}+cpu")],
    })
    found = _find("--index", index)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == [f"torch=={torch}+cpu", f"torchvision=={vision}+cpu"]


def test_the_exact_cpu_builds_are_found_in_a_folder_of_wheels(tmp_path):
    for name, version in _pins().items():
        (tmp_path / _wheel(name, f"{version}+cpu")).write_bytes(b"")
    found = _find("--wheels", str(tmp_path))
    assert found.returncode == 0 and "+cpu" in found.stdout, found.stderr


def test_an_index_with_only_other_builds_is_one_line_naming_what_it_has(tmp_path):
    torch, vision = _pins()["torch"], _pins()["torchvision"]
    index = _index(tmp_path / "simple", {
        "torch": [_wheel("torch", "2.13.0+cpu"), _wheel("torch", torch)],  # an older CPU build, the CUDA one
        "torchvision": [_wheel("torchvision", f"{vision}+cpu")],
    })
    found = _find("--index", index)
    assert found.returncode == 3 and found.stdout == ""
    lines = found.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("build.sh: the CPU build of torch is not reachable: ")
    assert f"torch {torch}+cpu (CPU builds there: 2.13.0+cpu)" in lines[0]
    assert "torchvision" not in lines[0].split("has no wheel of", 1)[1].split(";")[0]
    assert "TORCH_CPU_INDEX" in lines[0] and "TORCH_CPU_WHEELS" in lines[0] and "--cuda" in lines[0]


def _build(tmp_path, **env) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHON": sys.executable, "DAMAGEMAP_BUILD_DIR": str(tmp_path / "build"), **env}
    return subprocess.run(["bash", str(ROOT / "packaging" / "build.sh")], capture_output=True, text=True,
                          env=environment, timeout=120)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"TORCH_CPU_INDEX": "http://127.0.0.1:9/whl/cpu"}, "build.sh: cannot reach http://127.0.0.1:9/whl/cpu"),
        ({"TORCH_CPU_INDEX": "file:///nonexistent/simple"}, "has no wheel of torch"),
        ({"TORCH_CPU_WHEELS": "/nonexistent/wheels"}, "/nonexistent/wheels has no wheel of torch"),
    ],
)
def test_build_sh_stops_before_making_anything_when_the_cpu_build_is_not_reachable(tmp_path, env, words):
    built = _build(tmp_path, **env)
    assert built.returncode == 3, built.stderr
    lines = built.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert not (tmp_path / "build").exists()  # no environment made, nothing installed
