"""The app's analysis leaves out a hover's repeated frames as the command line does: the
placing it needs runs on the app's job thread (pyproj crashed on the pooled thread the
analysis runs on), and the analysis dialog's "While hovering" sets the interval."""

from __future__ import annotations

import shutil
import threading

from app.workers import AnalysisOptions

HOVER = (1.0, 4.0)


def test_the_app_analyses_a_hover_one_frame_every_two_seconds(qtbot, window, flyover_once, tiny_model, errors,
                                                               tmp_path, monkeypatch):
    flight = flyover_once("hover-4s", seconds=6.0, fps=10.0, size=(320, 180), seed=3, annotate_every=30, hover=HOVER)
    folder = tmp_path / "flight"
    folder.mkdir()
    shutil.copy2(flight.video, folder / "flight.mp4")
    shutil.copy2(flight.srt, folder / "flight.SRT")  # the SRT gives the gimbal's yaw: the hover is placed
    placed_on: list[str] = []
    import services.maps

    check = services.maps.check_placement

    def recorded(*args, **kwargs):
        placed_on.append(threading.current_thread().name)
        return check(*args, **kwargs)

    monkeypatch.setattr(services.maps, "check_placement", recorded)
    assert window.open_path(folder / "flight.mp4")
    with qtbot.waitSignal(window.analysis_finished, timeout=180_000) as finished:
        window.start_analysis(AnalysisOptions(device="cpu", srn=False, batch_size=4), model=tiny_model)
    assert finished.args == [False] and not errors
    assert placed_on and all(name.startswith("damagemap-project-jobs") for name in placed_on)
    analysed = sorted(window.document.analysed_frames())
    hover = [i for i in analysed if HOVER[0] + 0.2 <= i / 10.0 <= sum(HOVER) - 0.2]
    assert 1 <= len(hover) <= 3 and len(analysed) < 60 - 30
    assert {i for i in range(60) if i / 10.0 < HOVER[0] - 0.2} <= set(analysed)  # the pass before it, whole
    # the analyst hears what was left out, and where to change it
    said = window.eta_label.toolTip()
    assert f"{60 - len(analysed)} of the 60 frames the rate selects only repeat a view the drone held" in said
    assert "the analysis dialog's While hovering" in said

    with qtbot.waitSignal(window.analysis_finished, timeout=180_000):
        window.start_analysis(AnalysisOptions(device="cpu", srn=False, batch_size=4, hover_every_s=0.0),
                              model=tiny_model)
    assert len(window.document.analysed_frames()) == 60  # the frames left out, added to the same run
    assert window.eta_label.toolTip().startswith("resuming run ")  # this run's notes, not the last one's
