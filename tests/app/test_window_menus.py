"""The menus as a first-time analyst meets them: every item reachable by its letter
(Alt, then the menu's letter, then the item's), one letter per item within a menu."""

from __future__ import annotations

import re

import pytest

from PySide6.QtGui import QAction

#: menus whose items are the user's data (recent files, the project's runs), not named here
_LISTS = ("Open &Recent", "Show &Run")


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).lower() if found else None


def _menus(window):
    stack = [a.menu() for a in window.menuBar().actions()]
    while stack:
        menu = stack.pop()
        yield menu
        stack.extend(a.menu() for a in menu.actions() if a.menu() is not None and a.text() not in _LISTS)


def _items(menu) -> list[QAction]:
    return [a for a in menu.actions() if not a.isSeparator()]


def test_every_menu_item_has_a_letter_of_its_own(window):
    bar = [_mnemonic(a.text()) for a in window.menuBar().actions()]
    assert None not in bar and len(set(bar)) == len(bar), bar
    for menu in _menus(window):
        letters: dict[str, str] = {}
        for action in _items(menu):
            letter = _mnemonic(action.text())
            assert letter is not None, f"{menu.title()} > {action.text()!r} has no mnemonic"
            assert letter not in letters, (f"{menu.title()}: {action.text()!r} and {letters[letter]!r} "
                                           f"share the letter {letter!r}")
            letters[letter] = action.text()


def test_playback_items_do_not_repeat_their_key_in_their_name(window):
    """The menu shows each item's key beside it; "Pause (K)" said it twice."""
    for action in (window.reverse_action, window.pause_action, window.forward_action):
        assert "(" not in action.text() and action.shortcut().toString() in ("J", "K", "L")


def test_the_overlay_toolbar_and_its_layers_are_told_apart(window):
    texts = [a.text() for a in _items(window.view_menu)]
    assert "Overlay Tool&bar" in texts and "Overlay La&yers" in texts and "Overlays" not in texts


def _greyed_out_without_reason(window) -> list[str]:
    """Every menu item off whose tooltip does not say why (the menus show tooltips).
    Undo and Redo are off with nothing to undo, which their names say."""
    silent = []
    for menu in _menus(window):
        if not menu.toolTipsVisible():
            silent.append(f"{menu.title()} shows no tooltips")
        for action in _items(menu):
            if action.isEnabled() or action in (window.undo_action, window.redo_action):
                continue
            if action.toolTip() in ("", action.text().replace("&", "").replace("…", "")):
                silent.append(f"{menu.title()} > {action.text()}")
    return silent


@pytest.fixture
def project(flyover):
    """The flyover with one run of two hand-made detections in its first frame."""
    import numpy as np

    from core.masks import RleMask
    from core.store import ProjectStore
    from core.types import DamageLevel, Detection, Frame
    from engine.video import VideoReader

    video, path = flyover / "flight.mp4", flyover / "reviewed.dmproj"  # not the video's own project
    with ProjectStore.create(path, video_path=video) as store, VideoReader(video) as reader:
        run = store.start_run(model={"weights": None}, settings={})
        mask = np.zeros((96, 160), bool)
        mask[30:60, 10:40] = True
        store.write_frame(run, Frame(0, reader.pts_s[0], 160, 96),
                          [Detection(0, DamageLevel.SEVERE, 0.9, (10.0, 30.0, 40.0, 60.0), RleMask.from_array(mask))])
        store.finish_run(run)
    return path


def test_an_item_greyed_out_says_why(window, project, flyover):
    from app.window_actions import NO_PROJECT_REASON, NO_RUN_REASON, NO_SELECTION_REASON

    assert _greyed_out_without_reason(window) == []
    assert window.export_action.toolTip() == NO_PROJECT_REASON
    assert "survey" in window.next_flight_action.toolTip()

    assert window.open_path(flyover / "flight.mp4")  # a video, not analysed yet
    assert _greyed_out_without_reason(window) == []
    assert window.export_action.toolTip() == NO_RUN_REASON and window.accept_action.toolTip() == NO_RUN_REASON

    assert window.open_path(project)
    window.select_detection(None)
    assert _greyed_out_without_reason(window) == []
    assert window.accept_action.toolTip() == NO_SELECTION_REASON
    window.select_detection(window.document.all_detections(masks=False)[0].id)
    assert window.accept_action.isEnabled() and window.accept_action.toolTip() == "Accept Detection"  # Qt's own: not shown
    assert window.export_action.isEnabled() and window.export_action.statusTip() == ""


def test_the_edit_menu_names_what_it_acts_on(window):
    """The Sites panel's Accept (A) decides a whole site; Edit > Accept, the selected
    detection: the menu says so, as Delete Detection did already."""
    for action in (window.accept_action, window.reject_action, *window.relabel_actions, window.delete_action,
                   window.next_action):
        assert "Detection" in action.text(), action.text()
