"""The HTML map numbers its sites as the print map does: a team says "site 12", and a
phone cannot hover to read a tooltip. In a real browser engine (QtWebEngine, offscreen),
at a phone's size (390x844) and a laptop's (1366x768)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6.QtWebEngineWidgets")

from tests.offline_browser import LAPTOP, PHONE, open_offline, read_page_until  # noqa: E402

#: The numbers shown (their text, box and font size) and the sites' circles (their boxes).
_NUMBERS = (
    "(function () {"
    " function box(e) { var b = e.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; }"
    " var labels = Array.from(document.querySelectorAll('.leaflet-pane .dm-site-label'))"
    "  .filter(function (e) { return getComputedStyle(e).display !== 'none'"
    "   && getComputedStyle(e.parentNode).visibility !== 'hidden'; });"
    " return {labels: labels.map(function (e) { return {text: e.textContent, box: box(e),"
    "  size: parseFloat(getComputedStyle(e).fontSize)}; }),"
    "  dots: Array.from(document.querySelectorAll('path.dm-site')).map(box)};"
    "})()"
)


def _zoom(to: int) -> str:
    return ("(function () { var map = Object.values(window).find(function (v) { return v instanceof L.Map; });"
            f" map.setZoom({to}, {{animate: false}}); return true; }})()")


@pytest.fixture
def flight_map(flyover_map, tmp_path) -> Path:
    from geo.export.html import write_html

    damage_map, _ = flyover_map
    return write_html(tmp_path / "damage_map.html", damage_map)


def _overlap(a: list[float], b: list[float]) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > 1 and min(a[3], b[3]) - max(a[1], b[1]) > 1


def _middle(dot: list[float]) -> list[float]:
    """The middle of a circle's box: half its width and height."""
    dx, dy = (dot[2] - dot[0]) / 4, (dot[3] - dot[1]) / 4
    return [dot[0] + dx, dot[1] + dy, dot[2] - dx, dot[3] - dy]


def _assert_apart(numbers: dict, *, whole_dots: bool) -> None:
    """No number covers another, nor the middle of any site's circle (``whole_dots``: any
    of it; its own included: the number is beside it)."""
    labels = numbers["labels"]
    for k, label in enumerate(labels):
        assert not [other["text"] for other in labels[k + 1:] if _overlap(label["box"], other["box"])], label
        covered = [dot for dot in numbers["dots"] if _overlap(label["box"], dot if whole_dots else _middle(dot))]
        assert not covered, label


def test_zoomed_in_every_site_has_its_number_beside_it(qtbot, flight_map, flyover_map):
    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, flight_map, size=LAPTOP)
    view.page().runJavaScript(_zoom(21))
    wanted = sorted(str(site.id) for site in damage_map.sites)
    numbers = read_page_until(qtbot, view, _NUMBERS, lambda n: len(n["dots"]) == len(wanted) and len(n["labels"]) == len(wanted))
    assert sorted(label["text"] for label in numbers["labels"]) == wanted
    _assert_apart(numbers, whole_dots=True)


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_zoomed_out_the_numbers_left_do_not_hide_each_other(qtbot, flight_map, flyover_map, size):
    """Where the sites crowd, a number that would cover another or a circle is left out,
    the most severe sites' kept; each one shown is large enough to read outdoors."""
    from geo.export.html import most_severe_first

    damage_map, _ = flyover_map
    view, _ = open_offline(qtbot, flight_map, size=size)
    read_page_until(qtbot, view, _NUMBERS, lambda n: len(n["dots"]) == len(damage_map.sites))
    view.page().runJavaScript(_zoom(16))
    numbers = read_page_until(qtbot, view, _NUMBERS, lambda n: n["labels"])
    _assert_apart(numbers, whole_dots=False)
    assert str(min(damage_map.sites, key=most_severe_first).id) in [label["text"] for label in numbers["labels"]]
    assert min(label["size"] for label in numbers["labels"]) >= (12 if size == PHONE else 11)
