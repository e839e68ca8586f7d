"""Help menu: keyboard shortcuts, the model card, About."""

from __future__ import annotations

from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Space", "play / pause"),
    ("Left / Right", "previous / next frame"),
    ("Shift+Left / Shift+Right", "previous / next analysed frame"),
    ("Home / End", "first / last frame"),
    ("J / K / L", "play backwards (again: faster) / pause / play forwards (again: faster)"),
    ("wheel, Ctrl++ / Ctrl+-, 0", "zoom in / out, fit the frame"),
    ("drag", "pan a zoomed frame"),
    ("A", "accept the selected detection"),
    ("X", "reject the selected detection"),
    ("1 / 2 / 3", "relabel as Slight / Severe / Debris"),
    ("Delete", "delete the selected detection"),
    ("N", "next unreviewed detection"),
    ("Sites panel: A / X", "accept / reject every sighting of the site (one undo step)"),
    ("Sites panel: 1 / 2 / 3", "relabel the whole site as Slight / Severe / Debris"),
    ("Sites panel: N / P, Down / Up", "next / previous site"),
    ("Sites panel: S", "split the crops selected in the grid off into a site of their own"),
    ("Sites panel: M", "merge the selected sites (one selected: with its nearest site)"),
    ("D", "draw a new outline (click vertices, Enter or double-click to close, Esc to cancel)"),
    ("drag a vertex / the inside", "reshape / move the selected mask"),
    ("Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y", "undo / redo (also after closing and reopening the project)"),
    ("Ctrl+O", "open a video or project"),
    ("Ctrl+Shift+S", "save the project as a copy and go on in it"),
    ("Ctrl+R", "analyse"),
    ("Ctrl+E", "export"),
)


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{key}</b></td><td>{what}</td></tr>" for key, what in SHORTCUTS)
    return f"<h3>Keyboard shortcuts</h3><table cellpadding='4'>{rows}</table>"


class TextDialog(QDialog):
    """A read-only text (HTML or Markdown) with a Close button."""

    def __init__(self, title: str, *, html: str | None = None, markdown: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        if markdown is not None:
            self.browser.setMarkdown(markdown)
        else:
            self.browser.setHtml(html or "")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(620, 520)


def model_card_text(weights: str | None) -> str:
    """The MODEL_CARD.md beside the weights in use (the shipped model's by default)."""
    candidates = []
    if weights:
        candidates.append(Path(weights).with_name("MODEL_CARD.md"))
    try:
        from engine.weights import DEFAULT_MODEL_DIR

        candidates.append(Path(DEFAULT_MODEL_DIR) / "MODEL_CARD.md")
    except ImportError:  # the weights module is not there yet
        pass
    candidates.append(Path(__file__).resolve().parents[2] / "resources" / "models" / "default" / "MODEL_CARD.md")
    for path in candidates:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return "# No model card\n\nNo `MODEL_CARD.md` was found beside the model weights."


def about_html(version: str) -> str:
    return (
        f"<h2>damagemap {version}</h2>"
        "<p>Turns post-disaster drone video into a georeferenced building-damage map: "
        "MSNet instance segmentation of Slight / Severe / Debris damage, SRN score "
        "refinement across frames, GPS track fusion, offline map exports and review.</p>"
        "<p>Everything runs on this computer; nothing is uploaded.</p>"
    )
