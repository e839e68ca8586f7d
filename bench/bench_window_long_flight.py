"""What an analyst waits for in the window on a long flight's project.

Opens a project in the real window (offscreen, 1366x768) and times, from the action to
the moment its result shows (the event loop turned until then, waiting on the signals
that say so):

- **open**: opening the project until the first site is selected, its best view shown in
  the player and the map drawn;
- **next site**: Down in the Sites list until the player shows that site's best view;
- **decision**: A (accept) until the Sites list is read again and the map drawn again;
- **seek**: a jump of the player to a frame far away until it is shown;
- **filter**: "Show decided sites" switched until the list shows the change;
- **undo**: Edit > Undo of a decision until the list and the map are read again;
- **seek playing**: a jump of the player to a frame far away while it plays (the slider
  dragged) until that frame is shown;
- **undo reopened**: Edit > Undo of a decision made before the project was closed and
  opened again, until the list and the map are read again and the site's best view is
  shown;

and, for each, the longest the GUI thread went without turning its event loop (a frozen
window). Each is the median of ``--repeats`` runs.

With ``--base REV``, the reference is the same actions on another copy of the project
with that git revision's files, taken in turn with this checkout's, each run a fresh
process that opens the project once untimed first.

Run::

    QT_QPA_PLATFORM=offscreen python bench/bench_window_long_flight.py --project flight.dmproj [--repeats 5] [--base HEAD~3]

The project is copied beside itself first: the decisions are not kept. ``damagemap synth
--seconds 150 --size 640x360`` then ``damagemap analyze --fps 2`` make a long flight's project.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gui_clock import GuiClock  # noqa: E402

TIMEOUT_MS = 120_000
ACTIONS = ("open", "next site", "decision", "seek", "filter", "undo", "seek playing", "undo reopened")


def wait_for(done: Callable[[], bool], signals: list, what: str) -> None:  # noqa: ANN001 - Qt signals
    """Turn an event loop until ``done()``, looked at each time one of ``signals`` fires
    (and every 50 ms, for state a signal does not announce); fail after :data:`TIMEOUT_MS`."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return
    loop = QEventLoop()
    timed_out = []

    def check(*_args: object) -> None:
        if done():
            loop.quit()

    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(check)
    limit = QTimer()
    limit.setSingleShot(True)
    limit.timeout.connect(lambda: (timed_out.append(True), loop.quit()))
    for signal in signals:
        signal.connect(check)
    poll.start()
    limit.start(TIMEOUT_MS)
    loop.exec()
    poll.stop()
    limit.stop()
    for signal in signals:
        signal.disconnect(check)
    if timed_out:
        raise SystemExit(f"gave up waiting for {what}")


class _Session:
    """The window on one project, with counters of what says a result is shown."""

    def __init__(self, project: Path, settings_file: Path) -> None:
        from PySide6.QtCore import QSettings

        from app.main_window import MainWindow
        from app.panels.map_panel import MapPanel
        from app.panels.site_review_panel import SiteReviewPanel
        from app.settings import AppSettings

        self.project = project
        self.window = MainWindow(settings=AppSettings(QSettings(str(settings_file), QSettings.Format.IniFormat)))
        self.window.resize(1366, 768)
        self.window.show()
        self.sites = self.window.panel(SiteReviewPanel)
        self.map = self.window.panel(MapPanel)
        self.listed = 0
        self.mapped = 0
        self.shown_frame = -1
        self.sites.sites_updated.connect(self._on_listed)
        self.map.map_updated.connect(self._on_mapped)
        self.window.frame_shown.connect(self._on_frame)
        self.signals = [self.sites.sites_updated, self.map.map_updated, self.window.frame_shown]

    def _on_listed(self) -> None:
        self.listed += 1

    def _on_mapped(self) -> None:
        self.mapped += 1

    def _on_frame(self, index: int) -> None:
        self.shown_frame = index

    def settled(self, listed: int, mapped: int) -> bool:
        """The list and the map were read again since the counts ``listed``, ``mapped``,
        and nothing more is on its way."""
        return (self.listed > listed and self.mapped > mapped and not self.sites.busy and not self.map.busy)

    def best_view_shown(self) -> bool:
        site = self.sites.current_site()
        return site is not None and self.shown_frame == site.best_frame

    def open_path(self) -> None:
        self.window.open_path(self.project)

    def opened(self) -> bool:
        """The first site listed and shown in the player, the map drawn."""
        return self.settled(0, 0) and self.best_view_shown()

    def close(self) -> None:
        self.window.document.close()
        self.window.close()
        self.window.deleteLater()


def _measure(project: Path, repeats: int, *, warm_up: bool = True) -> dict[str, list[float]]:
    """Every action of :data:`ACTIONS` ``repeats`` times: ``{action: [seconds...]}`` and
    ``{action + " frozen": [seconds...]}``; ``warm_up``: after one untimed opening (the
    imports and the first video decoder a process pays once)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from app.main_window import _prepare_environment

    _prepare_environment()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    out: dict[str, list[float]] = {}
    clock = GuiClock()

    def timed(name: str, act: Callable[[], None], done: Callable[[], bool], session: _Session) -> None:
        clock.reset()
        start = time.perf_counter()
        act()
        acted = time.perf_counter() - start  # the GUI thread's, at once
        wait_for(done, session.signals, name)
        out.setdefault(name, []).append(time.perf_counter() - start)
        out.setdefault(name + " frozen", []).append(max(acted, clock.longest))

    with tempfile.TemporaryDirectory() as scratch:
        if warm_up:
            copy = project.with_name(f".bench-{os.getpid()}-warm{project.suffix}")
            copy.write_bytes(project.read_bytes())
            session = _Session(copy, Path(scratch) / "warm.ini")
            try:
                session.open_path()
                wait_for(session.opened, session.signals, "the project")
            finally:
                session.close()
                app.processEvents()
                for leftover in copy.parent.glob(copy.name + "*"):
                    leftover.unlink()
        for k in range(repeats):
            copy = project.with_name(f".bench-{os.getpid()}-{k}{project.suffix}")
            copy.write_bytes(project.read_bytes())
            session = _Session(copy, Path(scratch) / f"s{k}.ini")
            try:
                timed("open", session.open_path, session.opened, session)
                wait_for(lambda s=session: s.sites.thumbnails_done, session.signals, "the thumbnails")
                site_list = session.sites.site_list
                site_list.setFocus()

                def next_shown(s: _Session = session, before: int = site_list.currentRow()) -> bool:
                    return s.sites.site_list.currentRow() != before and s.best_view_shown()
                timed("next site", lambda: QTest.keyClick(site_list, Qt.Key.Key_Down), next_shown, session)

                listed, mapped = session.listed, session.mapped
                timed("decision", lambda: QTest.keyClick(site_list, Qt.Key.Key_A),
                      lambda s=session, li=listed, ma=mapped: s.settled(li, ma), session)

                far = (session.window.current_frame + session.window.document.frame_count // 2) \
                    % session.window.document.frame_count
                timed("seek", lambda: session.window.request_frame(far),
                      lambda s=session, f=far: s.shown_frame == f, session)

                box = session.sites.show_decided
                was = site_list.count() - sum(site_list.item(i).isHidden() for i in range(site_list.count()))
                timed("filter", box.toggle,
                      lambda: site_list.count() - sum(site_list.item(i).isHidden() for i in range(site_list.count()))
                      != was, session)
                box.toggle()

                listed, mapped = session.listed, session.mapped
                timed("undo", session.window.document.undo_stack.undo,
                      lambda s=session, li=listed, ma=mapped: s.settled(li, ma), session)

                transport = session.window.transport
                far = (session.window.current_frame + session.window.document.frame_count // 3) \
                    % session.window.document.frame_count
                transport.play()
                timed("seek playing", lambda: transport.slider.setValue(far),
                      lambda s=session, f=far: s.shown_frame == f, session)
                transport.pause()

                # a decision, the project closed and opened again (its review history kept), then Undo
                site = session.sites.current_site()  # the player back on it, as a click on its row
                session.window.document.request_detection(site.best_frame, site.best_detection_id)
                wait_for(lambda s=session: s.best_view_shown(), session.signals, "the site")
                listed, mapped = session.listed, session.mapped
                site_list.setFocus()
                QTest.keyClick(site_list, Qt.Key.Key_A)
                wait_for(lambda s=session, li=listed, ma=mapped: s.settled(li, ma), session.signals, "the decision")
                session.window.document.close()
                session.listed = session.mapped = 0
                session.open_path()
                wait_for(session.opened, session.signals, "the project again")
                wait_for(lambda s=session: s.sites.thumbnails_done, session.signals, "the thumbnails again")
                listed, mapped = session.listed, session.mapped
                timed("undo reopened", session.window.document.undo_stack.undo,
                      lambda s=session, li=listed, ma=mapped: s.settled(li, ma) and s.best_view_shown(), session)
            finally:
                session.close()
                app.processEvents()
                for leftover in copy.parent.glob(copy.name + "*"):
                    leftover.unlink()
    clock.timer.stop()
    return out


_IN_TREE = """
import json, sys
sys.path.insert(0, sys.argv[2])
from bench_window_long_flight import _measure
from pathlib import Path
print(json.dumps(_measure(Path(sys.argv[1]), int(sys.argv[3]))))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, required=True, help="a project (copied, not changed)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--base", help="a git revision to time the same way, as the reference")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if not args.project.is_file():
        raise SystemExit(f"{args.project}: no such project")

    from _machine import cpu_name

    results: dict[str, dict[str, list[float]]] = {}
    if args.base:
        from _revisions import ROOT, revision_tree, run_in_tree

        # in turn, each run a fresh process warmed up the same way: a shared machine's load
        # drifts over minutes, and would favour whichever went second
        with revision_tree(args.base) as tree:
            for _ in range(args.repeats):
                for name, where in ((f"{args.base} (reference)", tree), ("this checkout", ROOT)):
                    run = run_in_tree(where, _IN_TREE, str(args.project.resolve()),
                                      str(Path(__file__).resolve().parent), "1", what="the window bench")
                    for key, values in run.items():
                        results.setdefault(name, {}).setdefault(key, []).extend(values)
    else:
        results["this checkout"] = _measure(args.project.resolve(), args.repeats)

    print(f"{args.project}: median of {args.repeats} runs; CPU: {cpu_name()}, {os.cpu_count()} cores")
    print("| until shown (s) / GUI thread busy at once (s) | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for action in ACTIONS:
        print(f"| {action} | " + " | ".join(
            f"{statistics.median(r[action]):.3f} / {statistics.median(r[action + ' frozen']):.3f}"
            for r in results.values()) + " |")
    if args.base:
        reference, new = results.values()
        print("| ratio, reference / this checkout | " + ", ".join(
            f"{a} {statistics.median(reference[a]) / max(statistics.median(new[a]), 1e-3):.1f}x" for a in ACTIONS) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
