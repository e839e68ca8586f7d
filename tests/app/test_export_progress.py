"""A long export shows what it writes as it goes, keeps the window free, says where the
files went, and says clearly why it stopped."""

from __future__ import annotations

from app.dialogs.export_dialog import ExportChoice
from geo.export import FILES


def test_an_export_shows_each_step_then_where_the_files_went(qtbot, window, reviewed_project, errors, tmp_path):
    assert window.open_path(reviewed_project)
    out = tmp_path / "maps"
    seen: list[tuple[bool, bool, str, int, int]] = []

    def look(_step: object) -> None:  # after the window's own handler
        seen.append((window.export_label.isVisible(), window.export_progress.isVisible(),
                     window.export_label.text(), window.export_progress.value(), window.export_progress.maximum()))

    with qtbot.waitSignal(window.export_finished, timeout=60_000) as finished:
        job = window.start_export(ExportChoice(out, formats=("geojson", "html"), coco=True))
        assert window.export_label.isVisible() and window.export_progress.isVisible()  # at once, before a step
        assert window.export_progress.maximum() == 0  # busy
        assert job.is_running and not window.export_action.isEnabled()  # on the job thread: the window is free
        job.progress.connect(look)
    # the map, the pictures, the four GeoJSON files, the HTML map, the training data: 8 steps
    steps = [(text, done) for _, _, text, done, _ in seen]
    assert steps[0] == ("Exporting: building the damage map", 0)
    assert ("Exporting: writing damage_map.html", 6) in steps
    assert steps[-1] == ("Exporting: writing the reviewed frames as training data", 7)
    assert [done for _, done in steps] == list(range(8))
    assert all(label and bar and maximum == 8 for label, bar, _, _, maximum in seen)
    assert window.export_progress.text() == "7 of 8 done"  # while the 8th, named beside it, runs
    assert not errors and finished.args[0]
    assert not window.export_label.isVisible() and not window.export_progress.isVisible()
    said = window.statusBar().currentMessage()
    assert said.startswith(f"Exported {len(finished.args[0])} files to {out.resolve()}")
    assert window.open_export_button.isVisible() and window.open_export_button.toolTip() == str(out)
    assert (out / FILES["html"]).is_file()


def test_an_export_that_cannot_write_says_why_and_takes_its_bar_away(qtbot, window, reviewed_project, errors,
                                                                     tmp_path):
    assert window.open_path(reviewed_project)
    with qtbot.waitSignal(window.export_finished, timeout=60_000):
        window.start_export(ExportChoice(tmp_path / "first", formats=("geojson",)))
    assert window.open_export_button.isVisible()  # the first export's folder
    in_the_way = tmp_path / "a file"
    in_the_way.write_text("not a folder")
    with qtbot.waitSignal(window.export_finished, timeout=60_000):
        window.start_export(ExportChoice(in_the_way / "maps", formats=("geojson",)))
    assert not window.open_export_button.isVisible()  # not the earlier folder beside "failed"
    assert len(errors) == 1 and str(in_the_way) in str(errors[0])
    assert not window.export_label.isVisible() and not window.export_progress.isVisible()
    assert window.statusBar().currentMessage() == f"Export to {in_the_way / 'maps'} failed"
    assert window.export_action.isEnabled()
