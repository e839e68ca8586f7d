"""Screenshots of the real window on an analysed demo flyover, for the README.

Run under a virtual X server (the window is real, not the offscreen platform)::

    xvfb-run -a -s "-screen 0 1920x1080x24" \
        python docs/screenshots/make_screenshots.py [--project P.dmproj | --work DIR] [--weights W]

Without ``--project`` it renders a synthetic flyover into ``--work``, opens it in the
window, runs the analysis there (the shipped model unless ``--weights``), reviews a few
detections, and saves ``main_window.png``, ``player.png``, ``map.png`` and
``review.png`` into ``docs/screenshots/``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _wait(app, signal=None, predicate=None, timeout_ms: int = 600_000) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    if signal is not None:
        signal.connect(loop.quit)
    timer = QTimer()
    timer.setInterval(50)
    if predicate is not None:
        timer.timeout.connect(lambda: predicate() and loop.quit())
        timer.start()
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    timer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, help="an analysed .dmproj to show")
    parser.add_argument("--work", type=Path, default=Path("/tmp/damagemap-screenshots"))
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--size", default="960x540")
    parser.add_argument("--analysis-fps", type=float, default=2.0)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()

    from app.main_window import _prepare_environment

    _prepare_environment()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import app.errors
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from app.workers import AnalysisOptions
    from core.types import ReviewState

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    app.errors.error_sink = []
    settings = AppSettings(QSettings(str(args.work / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    window.resize(1600, 940)
    window.show()
    window.threshold_spin.setValue(args.threshold)

    if args.project is not None:
        if not window.open_path(args.project):
            print(app.errors.error_sink, file=sys.stderr)
            return 1
    else:
        from engine.synth import render_flyover

        w, h = (int(v) for v in args.size.split("x"))
        flight = args.work / "flight"
        if not (flight / "flight.mp4").exists():
            render_flyover(args.work / "data", seconds=args.seconds, fps=10.0, size=(w, h), seed=0, flight_dir=flight)
        if not window.open_path(flight / "flight.mp4"):
            print(app.errors.error_sink, file=sys.stderr)
            return 1
        if window.document.run_id is None or not window.document.store.run(window.document.run_id).finished:
            options = AnalysisOptions(device="auto", weights=str(args.weights) if args.weights else None,
                                      fps=args.analysis_fps, srn=True)
            window.start_analysis(options)
            _wait(qapp, window.analysis_finished)
    if app.errors.error_sink:
        print("errors:", app.errors.error_sink, file=sys.stderr)
        return 1

    doc = window.document
    from app.panels.map_panel import MapPanel
    from geo.mapping import DamageMap

    map_panel = window.panel(MapPanel)
    _wait(qapp, predicate=lambda: isinstance(map_panel.map_widget.content, DamageMap), timeout_ms=120_000)

    # Show the frame with the most confident damage, review a few detections there.
    visible = [d for d in doc.all_detections() if d.final_score >= args.threshold]
    if visible:
        # the frame showing the most kinds of damage, then the most confident damage
        levels: dict[int, set] = {}
        totals: dict[int, float] = {}
        for det in visible:
            levels.setdefault(det.frame_index, set()).add(det.level)
            totals[det.frame_index] = totals.get(det.frame_index, 0.0) + det.final_score * int(det.level)
        best_frame = max(totals, key=lambda i: (len(levels[i]), totals[i]))
        on_frame = sorted((d for d in visible if d.frame_index == best_frame), key=lambda d: -d.final_score)
        window.select_detection(on_frame[0].id)
        window.set_review(ReviewState.ACCEPTED)
        if len(on_frame) > 2:
            window.select_detection(on_frame[-1].id)
            window.set_review(ReviewState.REJECTED)
        def area(det):
            x1, y1, x2, y2 = det.box_xyxy_px
            return (x2 - x1) * (y2 - y1)

        pending = [d for d in on_frame[1:-1]] or on_frame
        window.select_detection(max(pending, key=area).id)  # the outline editor shows best on a big one
    _wait(qapp, predicate=lambda: not map_panel.busy, timeout_ms=60_000)
    map_panel.map_widget.set_time(doc.current_pts)
    for _ in range(5):
        qapp.processEvents()

    args.out.mkdir(parents=True, exist_ok=True)
    shots = {
        "main_window.png": window,
        "player.png": window.centralWidget(),
        "map.png": map_panel.map_widget,
        "review.png": window.review_panel,
    }
    for name, widget in shots.items():
        widget.grab().save(str(args.out / name))
        print("wrote", args.out / name)
    window.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    sys.exit(main())
