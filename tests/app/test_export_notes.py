"""File > Export… tells what ``damagemap export`` prints as "note: ...": the map's notes
and the relief package's (characters the print map cannot draw), not only "Exported 12 files"."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from app.dialogs.export_dialog import ExportChoice
from geo.export.package import PackageResult
from services.export import ExportResult

PRINT_NOTE = "the print map (PDF, PNG) cannot draw 地震 (no font for them here): they print as empty boxes"


def test_an_export_with_notes_lists_them_in_a_box_that_does_not_block(window, tmp_path):
    paths = [tmp_path / "a.geojson", tmp_path / "b.html"]
    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=("geojson", "html")), paths,
                           ["the drone hovered at 4-14 s (21 frames)", PRINT_NOTE])
    assert window.statusBar().currentMessage().endswith("(2 notes)")
    box = window.export_notes_box
    assert box is not None and box.isVisible()
    assert "Exported 2 files" in box.text()
    assert box.informativeText() == f"• the drone hovered at 4-14 s (21 frames)\n• {PRINT_NOTE}"

    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=("geojson",)), paths[:1], [])
    assert window.export_notes_box is box  # an export without notes leaves the last box alone
    assert not window.statusBar().currentMessage().endswith("note)")


def test_the_export_s_notes_are_the_map_s_then_the_package_s(tmp_path):
    damage_map = SimpleNamespace(notes=["the drone hovered at 4-14 s (21 frames)"])  # a DamageMap's notes
    package = PackageResult(tmp_path, tmp_path / "p.zip", notes=[PRINT_NOTE])
    result = ExportResult([Path("a")], damage_map, package)
    assert result.notes == [*damage_map.notes, PRINT_NOTE]
    assert ExportResult().notes == []


def test_the_notes_box_says_notes_in_window_words_and_keeps_each_line_whole(window, tmp_path):
    """The unconfirmed sites exported too are said as the dialog's option names them (not
    as the files' property "confirmed false"), and the box is wide enough that no note
    breaks across lines ("84.0" and "deg" apart)."""
    from PySide6.QtWidgets import QLabel

    from app.dialogs.export_dialog import UNCONFIRMED_OPTION
    from geo.mapping import unconfirmed_shown_note

    notes = ["camera: 640x360, horizontal FOV 84.0 deg (given)",
             "site uncertainty: median 2.5 m (geometry 2.0 m, gps 1.5 m)",
             unconfirmed_shown_note(3)]
    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=("geojson", "html"), include_unconfirmed=True),
                           [tmp_path / "a.geojson"], notes, 3)
    box = window.export_notes_box
    lines = box.informativeText().split("\n")
    assert lines[:2] == [f"• {note}" for note in notes[:2]]
    assert "confirmed false" not in lines[2] and f"“{UNCONFIRMED_OPTION}” was ticked" in lines[2]
    assert lines[2].startswith("• 3 unconfirmed sites exported too")
    label = box.findChild(QLabel, "qt_msgbox_informativelabel")
    for line in lines:
        assert label.fontMetrics().horizontalAdvance(line) <= label.contentsRect().width(), line


def test_the_window_words_come_from_the_export_s_count_not_from_a_note_s_ending():
    """Only the note the export wrote for its own unconfirmed sites is said in the window's
    words; another note that happens to end the same way is left as it is."""
    from app.main_window import export_note_in_window_words
    from geo.mapping import UNCONFIRMED_SHOWN_NOTE, unconfirmed_shown_note

    assert unconfirmed_shown_note(1) == f"1 unconfirmed site {UNCONFIRMED_SHOWN_NOTE}"
    assert export_note_in_window_words(unconfirmed_shown_note(1), 1).startswith("1 unconfirmed site exported too")
    assert export_note_in_window_words(unconfirmed_shown_note(2), 2).startswith("2 unconfirmed sites exported too")
    look_alike = f"site 4's label {UNCONFIRMED_SHOWN_NOTE}"
    assert export_note_in_window_words(look_alike, 2) == look_alike
    assert export_note_in_window_words(unconfirmed_shown_note(2), 0) == unconfirmed_shown_note(2)
    assert ExportResult(damage_map=SimpleNamespace(notes=[], unconfirmed_shown=2)).unconfirmed_shown == 2
    assert ExportResult().unconfirmed_shown == 0


def test_a_note_longer_than_the_notes_box_can_be_wraps_inside_it(qtbot, window, tmp_path):
    """A message box is never wider than the screen allows (886 pixels on a 1366-pixel
    screen); a note wider than that wraps within the box instead of running past its edge,
    cut ("… left off the map" ended "le")."""
    from PySide6.QtWidgets import QLabel

    long_note = ("13 unconfirmed sites (detected in fewer than 2 or under 20% of the views that showed them; "
                 "a hover's frames count as one view) left off the map, " * 2).strip()
    window._on_export_done(ExportChoice(out_dir=tmp_path, formats=("geojson",)), [tmp_path / "a.geojson"],
                           [long_note])
    box = window.export_notes_box
    qtbot.waitExposed(box)
    label = box.findChild(QLabel, "qt_msgbox_informativelabel")
    assert label.fontMetrics().horizontalAdvance(long_note) > box.width()  # it must wrap
    assert label.geometry().right() <= box.rect().right()
    box.close()
