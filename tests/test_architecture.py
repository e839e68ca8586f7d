"""The package directions of DESIGN.md, checked with import-linter (napari does the same)."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is part of the dev extra"
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


def test_core_imports_without_torch_or_qt():
    code = (
        "import sys, core.types, core.masks, core.camera, core.errors\n"
        "bad = [m for m in ('torch', 'PySide6', 'cv2') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_core_is_type_checked_strictly():
    """mypy --strict on core (the [tool.mypy] section of pyproject.toml)."""
    assert importlib.util.find_spec("mypy"), "mypy is part of the dev extra"
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
