"""What the reviewer waits for in the window, deciding one site after another.

A decision (A, R, or a level's key in the Sites panel) marks the site in the list at once
and moves to the next site still to decide. Two things then follow off the GUI thread:
the next site's crops are drawn in the grid (decoded ahead, while the reviewer looked at
the site before), and the map is built again (the Sites list, the map panel). This bench
opens a project in the real window (offscreen), takes ``--decisions`` decisions (accept,
reject, relabel as Severe, in turn), each once the pictures asked for are decoded (the
reviewer looking at the site), and times, from each key press:

- **crops**: until every crop of the site now selected is drawn (what the reviewer looks
  at to take the next decision);
- **list**: until the Sites list is read again from the rebuilt map;
- **GUI thread**: the longest the GUI thread was busy at once meanwhile (a frozen window).

The reference is the same with no crops decoded ahead (``SiteReviewPanel.SITES_AHEAD =
0``: each site's crops decoded when it is shown), on another copy, in the same run.

Run::

    QT_QPA_PLATFORM=offscreen python bench/bench_window_review.py --project demo.dmproj [--decisions 6]

The project is copied beside itself first: the decisions are not kept. ``damagemap demo --no-gui
--seconds 300`` makes a 5-minute flight's project.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _gui_clock import GuiClock  # noqa: E402
from _machine import cpu_name  # noqa: E402
from _project_copy import project_copy  # noqa: E402

TIMEOUT_S = 120.0


def _wait(app, done, what: str) -> None:  # noqa: ANN001 - QApplication
    """Turn the event loop until ``done()``; fail after :data:`TIMEOUT_S`."""
    start = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - start > TIMEOUT_S:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.002)


def _crops_drawn(panel) -> bool:  # noqa: ANN001 - SiteReviewPanel
    """Every tile of the grid shows its crop (none its placeholder)."""
    grid = panel.grid
    placeholder = panel._placeholder.cacheKey()
    return grid.count() > 0 and all(grid.item(i).icon().cacheKey() != placeholder for i in range(grid.count()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project (copied, not changed)")
    parser.add_argument("--decisions", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow, _prepare_environment
    from app.panels.site_review_panel import SiteReviewPanel
    from app.settings import AppSettings

    _prepare_environment()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    ahead = SiteReviewPanel.SITES_AHEAD
    results = {}
    for name, sites_ahead in (("no crops ahead (reference)", 0), (f"{ahead} sites' crops ahead", ahead)):
        SiteReviewPanel.SITES_AHEAD = sites_ahead
        with tempfile.TemporaryDirectory() as scratch, project_copy(args.project, str(sites_ahead)) as project:
            settings = AppSettings(QSettings(str(Path(scratch) / "s.ini"), QSettings.Format.IniFormat))
            results[name] = _decide(app, MainWindow(settings=settings), project, args.decisions)
    SiteReviewPanel.SITES_AHEAD = ahead

    print(f"{args.project}: {args.decisions} decisions each way; CPU: {cpu_name()}, {os.cpu_count()} cores")
    print("| from the key press (median / max s) | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for what, label in (("crops", "the next site's crops drawn"), ("list", "the Sites list read again"),
                        ("frozen", "the GUI thread busy at once (longest)")):
        print(f"| {label} | " + " | ".join(f"{statistics.median(r[what]):.2f} / {max(r[what]):.2f}"
                                            for r in results.values()) + " |")
    reference, new = (statistics.median(r["crops"]) for r in results.values())
    print(f"ratio, the next site's crops, reference / ahead: {reference / max(new, 1e-3):.1f}x")
    return 0


def _decide(app, window, project: Path, decisions: int) -> dict:  # noqa: ANN001 - QApplication, MainWindow
    """Open ``project`` in ``window`` and take ``decisions`` decisions, timing each."""
    from app.panels.site_review_panel import SiteReviewPanel

    window.resize(1366, 768)
    window.show()
    panel = window.panel(SiteReviewPanel)
    listed = [0]
    panel.sites_updated.connect(lambda: listed.__setitem__(0, listed[0] + 1))
    window.open_path(project)
    _wait(app, lambda: listed[0] > 0 and not panel.busy and panel.review is not None, "the sites")
    _wait(app, lambda: panel.thumbnails_done, "the thumbnails")
    out: dict = {"crops": [], "list": [], "frozen": []}
    clock = GuiClock()
    triggers = ["accept", "reject", "severe"]
    for k in range(decisions):
        before = listed[0]
        clock.reset()
        t0 = time.perf_counter()
        panel.trigger(triggers[k % len(triggers)])
        _wait(app, lambda: _crops_drawn(panel), "the crops")
        out["crops"].append(time.perf_counter() - t0)
        _wait(app, lambda b=before: listed[0] > b and not panel.busy, "the list")
        out["list"].append(time.perf_counter() - t0)
        out["frozen"].append(clock.longest)
        _wait(app, lambda: panel.thumbnails_done, "the pictures")  # the reviewer looks at the site
    clock.timer.stop()
    window.document.close()
    window.close()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
