"""The HTML map's popup thumbnails mark the site's best detection, and say when it is cut
off by the frame's edge; a close-up shows the detection itself."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from geo.export.html import _popup_html

_FAKE_JPEG = b"\xff\xd8\xff\xe0fakejpeg"


def _marker(popup: str) -> dict[str, float]:
    style = re.search(r'class="dm-mark"[^>]*style="([^"]*)"', popup).group(1)
    return {k: float(v) for k, v in re.findall(r"(left|top|width|height):([0-9.]+)%", style)}


def test_the_thumbnail_marks_the_best_detection_in_the_level_colour(flyover_map):
    damage_map, _ = flyover_map
    video = damage_map.video
    for index, fused in enumerate(damage_map.fused[:5]):
        popup = _popup_html(damage_map, index, lambda frame: _FAKE_JPEG)
        best = next(m for m in fused.members if m.detection.id == fused.site.best_detection_id)
        x1, y1, x2, y2 = best.detection.box_xyxy_px
        mark = _marker(popup)
        assert mark["left"] <= 100 * x1 / video.width_px and 100 * x2 / video.width_px <= mark["left"] + mark["width"] + 0.01
        assert mark["top"] <= 100 * y1 / video.height_px and 100 * y2 / video.height_px <= mark["top"] + mark["height"] + 0.01
        assert mark["width"] >= 6 and mark["height"] >= 6  # findable even for a tiny detection
        assert fused.site.level.colour_hex in popup.split('class="dm-mark"')[1]


def test_no_thumbnail_no_marker(flyover_map):
    damage_map, _ = flyover_map
    assert "dm-mark" not in _popup_html(damage_map, 0, None)
    assert "dm-mark" not in _popup_html(damage_map, 0, lambda frame: None)


def test_a_best_detection_cut_off_by_the_frame_edge_is_said(flyover_map):
    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    members = tuple(replace(m, truncated=m.detection.id == fused.site.best_detection_id) for m in fused.members)
    edged = replace(damage_map, fused=[replace(fused, members=members)])
    assert "cut off by the frame's edge" in _popup_html(edged, 0, None)
    width = damage_map.video.width_px

    def best_at(x1, x2):
        return tuple(
            replace(m, truncated=False, detection=replace(m.detection, box_xyxy_px=(x1, 100.0, x2, 140.0)))
            if m.detection.id == fused.site.best_detection_id else m
            for m in fused.members
        )

    inside = replace(damage_map, fused=[replace(fused, members=best_at(width * 0.4, width * 0.5))])
    assert "cut off" not in _popup_html(inside, 0, None)
    near_edge = replace(damage_map, fused=[replace(fused, members=best_at(width - 40.0, width - 3.0))])
    assert "cut off by the frame's edge" in _popup_html(near_edge, 0, None)  # a few pixels short of it


def test_each_site_gets_a_close_up_of_its_best_detection_inside_the_frame(flyover_map):
    from geo.export.html import CLOSEUP_CONTEXT, CLOSEUP_MIN_PX, closeup_requests

    damage_map, _ = flyover_map
    video = damage_map.video
    requests = closeup_requests(damage_map)
    assert sorted(requests) == sorted(f.site.id for f in damage_map.fused)
    for fused in damage_map.fused:
        frame, (x0, y0, x1, y1) = requests[fused.site.id]
        best = next(m for m in fused.members if m.detection.id == fused.site.best_detection_id)
        bx1, by1, bx2, by2 = best.detection.box_xyxy_px
        assert frame == fused.site.best_frame == best.frame_index
        assert 0 <= x0 <= bx1 + 1 and bx2 - 1 <= x1 <= video.width_px  # the detection, whole, in the frame
        assert 0 <= y0 <= by1 + 1 and by2 - 1 <= y1 <= video.height_px
        side = max(CLOSEUP_MIN_PX, CLOSEUP_CONTEXT * max(bx2 - bx1, by2 - by1))
        assert abs((x1 - x0) - min(side, video.width_px)) <= 1 and abs((y1 - y0) - min(side, video.height_px)) <= 1


def test_the_popup_shows_the_close_up_with_the_detection_marked_on_it(flyover_map):
    from geo.export.html import closeup_requests

    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    asked = []
    popup = _popup_html(damage_map, 0, None, lambda site_id: asked.append(site_id) or _FAKE_JPEG)
    assert asked == [fused.site.id] and f'alt="close-up of site {fused.site.id}"' in popup
    _, (x0, y0, x1, y1) = closeup_requests(damage_map)[fused.site.id]
    best = next(m for m in fused.members if m.detection.id == fused.site.best_detection_id)
    bx1, by1, bx2, by2 = best.detection.box_xyxy_px
    mark = _marker(popup.split('class="dm-closeup"')[1])
    assert mark["left"] == pytest.approx(100 * (bx1 - x0) / (x1 - x0), abs=0.02)
    assert mark["width"] == pytest.approx(100 * (bx2 - bx1) / (x1 - x0), abs=0.02)
    assert mark["top"] == pytest.approx(100 * (by1 - y0) / (y1 - y0), abs=0.02)
    assert "dm-closeup" not in _popup_html(damage_map, 0, None, lambda site_id: None)  # no picture, no frame


def test_a_reviewed_site_wears_the_analysts_ring_on_the_map_and_a_tick_in_the_list(flyover_map):
    from geo.export.html import REVIEWED_RING, render_html

    damage_map, _ = flyover_map
    fused = damage_map.fused[0]
    reviewed = replace(damage_map, fused=[replace(fused, site=replace(fused.site, reviewed=True)),
                                          *damage_map.fused[1:]])
    assert not any(f.site.reviewed for f in damage_map.fused[1:])
    before, after = render_html(damage_map), render_html(reviewed)
    ring = f'"color": "{REVIEWED_RING}"'
    assert after.count(ring) == before.count(ring) + 1  # that one circle
    item = re.search(rf'data-site="{fused.site.id}"[^>]*>.*?</div>', after).group(0)
    assert "&#10003;" in item and "&#10003;" not in re.search(rf'data-site="{fused.site.id}"[^>]*>.*?</div>',
                                                              before).group(0)


def test_the_popup_counts_frames_from_1_as_the_app_does(flyover_map):
    """Both the table row and the picture's caption give the frame the app's transport
    shows; the data fields keep the index from 0."""
    damage_map, _ = flyover_map
    site = damage_map.fused[0].site
    popup = _popup_html(damage_map, 0, lambda frame: _FAKE_JPEG)
    assert f"<td>Best frame</td><td>{site.best_frame + 1}" in popup
    assert f'alt="best frame {site.best_frame + 1}"' in popup
