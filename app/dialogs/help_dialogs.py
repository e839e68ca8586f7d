"""Help menu: keyboard shortcuts, the model card, About."""

from __future__ import annotations

from pathlib import Path

from app import _refcount_guard  # noqa: F401, I001 - pins None/True/False before any PySide6 call
from PySide6.QtCore import QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

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
    ("Sites panel: Home / End, PgUp / PgDown", "first / last site listed, a page of sites up / down "
                                               "(Left / Right still step the frames)"),
    ("Sites panel: Tab, then arrows / Shift+arrows, Ctrl+click", "to the crop grid: move across the crops / "
                                                                 "select several to split off"),
    ("Sites panel: S", "split the crops selected in the grid off into a site of their own"),
    ("Sites panel: M", "merge the selected sites (one selected: with its nearest site)"),
    ("Sites panel: Shift+Down, Shift+click, Ctrl+click", "select several sites: A / X / 1-3 decide them all, one step"),
    ("Alt+S", "the Sites menu: the Sites panel's actions, each with its key"),
    ("Ctrl+1 / Ctrl+2", "go to the Sites panel / the Review Table (its list takes the keys)"),
    ("Review Table: Home / End", "first / last row (the video follows)"),
    ("] / [", "raise / lower the score threshold by 0.05"),
    ("Ctrl+Shift+M / Ctrl+Shift+B / Ctrl+Shift+U", "show or hide the masks / the damage boxes / the building boxes "
                                                   "(View > Overlay Layers, as the overlay toolbar's boxes)"),
    ("Ctrl+Shift+L / Ctrl+Shift+X / Ctrl+Shift+O", "show or hide the labels / the rejected detections; one box per "
                                                   "site on or off"),
    ("D", "draw a new outline (click vertices, Enter or double-click to close, Esc to cancel)"),
    ("drag a vertex / the inside", "reshape / move the selected mask"),
    ("Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y", "undo / redo (also after closing and reopening the project)"),
    ("Ctrl+O", "open a video or project"),
    ("Ctrl+W", "close the project"),
    ("Ctrl+Q", "quit"),
    ("Tab / Shift+Tab", "move through the controls: the overlay boxes and the score threshold, the transport "
                        "buttons, the map's options, each panel's filters, slider and buttons"),
    ("Space, arrows (on a focused control)", "tick / press it, move its slider (not play or step the video)"),
    ("F1", "this list of keys"),
    ("Ctrl+Shift+S", "save the project as a copy and go on in it"),
    ("Ctrl+R", "analyse"),
    ("Ctrl+E", "export"),
    ("Ctrl+PgDown / Ctrl+PgUp", "next / previous flight of the survey"),
)


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{key}</b></td><td>{what}</td></tr>" for key, what in SHORTCUTS)
    return f"<h3>Keyboard shortcuts</h3><table cellpadding='4'>{rows}</table>"


class TextDialog(QDialog):
    """A read-only text (HTML, Markdown, or a Markdown file) with a Close button.

    A file (``source``) is shown in place, so that its relative links (the model card's
    to the measurements beside it) and images open in the same window, with a Back button
    to return."""

    def __init__(self, title: str, *, html: str | None = None, markdown: str | None = None,
                 source: Path | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        if source is not None:
            self.browser.setSource(QUrl.fromLocalFile(str(Path(source).resolve())),
                                   QTextDocument.ResourceType.MarkdownResource)
        elif markdown is not None:
            self.browser.setMarkdown(markdown)
        else:
            self.browser.setHtml(html or "")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.back_button = QPushButton("Back")
        self.back_button.setEnabled(False)
        self.back_button.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        buttons.addButton(self.back_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.back_button.setVisible(source is not None)  # only a file has links to follow
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(620, 520)


NO_MODEL_CARD = "# No model card\n\nNo `MODEL_CARD.md` was found beside the model weights."
#: The shipped model's folder (its weights and card), found without importing torch.
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "default"


def _is_shipped(weights: str | Path | None) -> bool:
    if weights is None:
        return True
    try:
        return Path(weights).resolve().parent == SHIPPED_MODEL_DIR.resolve()
    except OSError:
        return False


def model_card_path(weights: str | Path | None) -> Path | None:
    """The MODEL_CARD.md beside ``weights``; the shipped model's for the shipped weights
    (or none given). Other weights without a card of their own (a fine-tuned model) have
    none: the shipped model's card does not describe them."""
    if weights is not None:
        beside = Path(weights).with_name("MODEL_CARD.md")
        if beside.is_file():
            return beside
    if not _is_shipped(weights):
        return None
    shipped = SHIPPED_MODEL_DIR / "MODEL_CARD.md"
    return shipped if shipped.is_file() else None


def fine_tuned_card(weights: str | Path) -> str | None:
    """Markdown saying what a fine-tuned model (its JSON beside the weights, as
    ``damagemap finetune`` writes it) was trained on; ``None`` for other weights."""
    from core.model_files import read_model_metadata

    metadata = read_model_metadata(weights) or {}
    tuned = metadata.get("fine_tuned_on")
    if not isinstance(tuned, dict):
        return None
    weights = Path(weights)
    name = weights.parent.name if weights.name == "model.safetensors" else weights.stem
    lines = [f"# Fine-tuned model {name}", "",
             f"`{weights}`", "",
             "Fine-tuned from the shipped demo model on the reviews of one project: the shipped model's card "
             "(Help > Model Card with the shipped model) and its measurements do not describe this model. "
             "Compare its run with the shipped model's on the same video before relying on it.", ""]
    facts = (("Project", tuned.get("project")), ("Run", tuned.get("run_id")),
             ("Reviewed frames", len(tuned.get("reviewed_frames") or [])),
             ("Frames trained on", len(tuned.get("train_frames") or [])),
             ("Frames held out to measure with", len(tuned.get("heldout_frames") or [])),
             ("Damage outlines / frames with none", f"{tuned.get('positives', '?')} / {tuned.get('negatives', '?')}"),
             ("Made", tuned.get("created_utc")))
    lines += [f"- **{label}**: {value}" for label, value in facts if value not in (None, "")]
    return "\n".join(lines) + "\n"


def model_card_dialog(weights: str | None, parent: QWidget | None = None) -> TextDialog:
    """The model card of ``weights`` (the shipped model's by default), its links followable;
    a fine-tuned model's own summary where it has no card."""
    path = model_card_path(weights)
    if path is not None:
        return TextDialog("Model card", source=path, parent=parent)
    tuned = None if weights is None else fine_tuned_card(weights)
    if tuned is not None:
        return TextDialog("Model card", markdown=tuned, parent=parent)
    return TextDialog("Model card", markdown=NO_MODEL_CARD, parent=parent)
