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


def test_core_and_services_are_type_checked_strictly():
    """mypy --strict on core and services (the [tool.mypy] section of pyproject.toml)."""
    assert importlib.util.find_spec("mypy"), "mypy is part of the dev extra"
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_qt_module_pins_the_singletons_before_importing_qt():
    """Qt modules in app import app._refcount_guard first (PySide6 6.12 on CPython 3.11
    leaks references to None/True/False); the command line, which imports none of them,
    never runs the workaround."""
    import re

    guard = "from app import _refcount_guard"
    qt_import = re.compile(r"^(from|import) (PySide6|superqt)\b", re.M)
    late = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        text = path.read_text()
        first_qt = qt_import.search(text)
        if first_qt and (guard not in text or text.index(guard) > first_qt.start()):
            late.append(str(path.relative_to(ROOT)))
    assert late == [], f"import app._refcount_guard before PySide6/superqt in: {late}"
