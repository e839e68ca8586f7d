"""Screenshots of the real window on the analysed demo project, for the README and docs.

Run under a virtual X server (the window is real, not the offscreen platform)::

    damagemap demo --no-gui --out /tmp/demo
    xvfb-run -a -s "-screen 0 1920x1080x24" \
        python docs/screenshots/make_screenshots.py --project /tmp/demo/demo.dmproj

It works on a copy of the project (the demo's stays as it was): it decides the first
two sites of the queue (one rejected, one accepted), selects the site seen in the most
frames, and saves ``main_window.png`` (the whole window), ``site_review_panel.png`` (the
Sites panel) and ``start_page.png`` (the window with no project, the project among
the recent files) into ``docs/screenshots/``; with ``--survey DIR`` (an analysed survey,
``damagemap survey create|add|analyse``) also ``survey_dialog.png``, its flights as the
window lists them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _palette(path: Path) -> None:
    """Rewrite a screenshot with 256 colours (a third of the bytes; the tree that a GPU
    run carries has a size limit, docs/pipeline.md)."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                  dither=Image.Dither.NONE)
    quantized.save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="the analysed demo project (demo.dmproj)")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--size", default="1480x900", help="window size (default: 1480x900)")
    parser.add_argument("--survey", type=Path, help="an analysed survey folder: also survey_dialog.png")
    args = parser.parse_args()

    from app.main_window import _prepare_environment

    _prepare_environment()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    import app.errors
    from app.main_window import MainWindow
    from app.panels.map_panel import MapPanel
    from app.panels.site_review_panel import SiteReviewPanel
    from app.settings import AppSettings
    from core.types import ReviewState

    work = Path(tempfile.gettempdir()) / "damagemap-screenshots"  # this script's own folder
    shutil.rmtree(work, ignore_errors=True)
    demo = args.project.resolve().parent
    copy = work / "damagemap-demo"
    shutil.copytree(demo, copy, ignore=shutil.ignore_patterns("maps"))  # the video travels with the project
    project = copy / args.project.name

    qapp = QApplication.instance() or QApplication(sys.argv[:1])
    app.errors.error_sink = []
    settings = AppSettings(QSettings(str(work / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()

    def wait(predicate, seconds: float = 300.0) -> None:
        end = time.monotonic() + seconds
        while not predicate() and time.monotonic() < end:
            qapp.processEvents()
            time.sleep(0.01)

    if not window.open_path(project):
        print(app.errors.error_sink, file=sys.stderr)
        return 1
    sites, map_panel = window.panel(SiteReviewPanel), window.panel(MapPanel)

    def settled() -> bool:
        return not sites.busy and not map_panel.busy and sites.review is not None

    wait(settled)
    sites.site_list.setCurrentRow(0)
    sites.decide(ReviewState.REJECTED)
    sites.decide(ReviewState.ACCEPTED)
    wait(lambda: sites.busy or map_panel.busy, 5)
    wait(settled)
    most_seen = max(sites.review.sites, key=lambda s: len({x.frame_index for x in s.sightings}))
    sites.select_site(most_seen.site_id)
    wait(lambda: sites.thumbnails_done)
    for _ in range(50):
        qapp.processEvents()
        time.sleep(0.01)
    if app.errors.error_sink:
        print("errors:", app.errors.error_sink, file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(args.out / "main_window.png"))
    sites.grab().save(str(args.out / "site_review_panel.png"))
    window.document.close()
    for _ in range(20):
        qapp.processEvents()
    window.grab().save(str(args.out / "start_page.png"))
    names = ["main_window.png", "site_review_panel.png", "start_page.png"]
    if args.survey is not None:
        dialog = window.surveys.open(args.survey)
        if dialog is None:
            print(app.errors.error_sink, file=sys.stderr)
            return 1
        wait(lambda: dialog.survey_map is not None or bool(dialog.notes.text()))
        for _ in range(20):
            qapp.processEvents()
        dialog.grab().save(str(args.out / "survey_dialog.png"))
        dialog.close()
        names.append("survey_dialog.png")
    for name in names:
        _palette(args.out / name)
        print("wrote", args.out / name)
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QUICK_BACKEND", "software")
    sys.exit(main())
