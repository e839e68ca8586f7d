"""Which damage sites are confirmed: detected in enough of the analysed frames whose view
showed them (geo.fusion.is_confirmed / count_views), on an exactly known scene: a camera
flying north over marked points."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from core.types import DamageLevel, ReviewState
from geo.export import export_map
from geo.fusion import FusionSettings, is_confirmed
from geo.mapping import build_damage_map_from
from tests.geo.test_geo_fusion import fly as fly_levels


@pytest.mark.parametrize(("seen", "in_view", "confirmed"), [
    (1, 20, False),  # a one-off: the detector fired once while the spot was in view for 20 frames
    (8, 10, True),
    (2, 10, True),  # the boundary: 2 frames and 20%
    (2, 11, False),  # under 20%
    (1, 5, False),  # one frame of several is not enough
    (1, 1, True),  # the only frame that showed it detected it
    (3, 3, True),
])
def test_seen_in_k_of_n_frames(seen, in_view, confirmed):
    assert is_confirmed(seen, in_view) is confirmed


def test_a_person_confirms_and_settings_move_the_bar():
    assert is_confirmed(1, 20, reviewed=True)
    assert is_confirmed(1, 20, FusionSettings(min_seen_views=1, min_seen_ratio=0.05))
    assert not is_confirmed(5, 10, FusionSettings(min_seen_ratio=0.6))
    assert is_confirmed(3, 2)  # detected in frames the position fell outside of: counted in view


def fly(points, *, frames=24, keep=None):
    """Slight damage around each point (``keep[j]``: the frames, among those showing point
    j, where it is detected), frame times, telemetry, video, and how many frames showed each."""
    shown: list[int] = []
    detections, times, track, video, _local = fly_levels(points, [DamageLevel.SLIGHT] * len(points), frames=frames,
                                                         keep=keep, shown=shown)
    return detections, times, track, video, shown


@pytest.fixture(scope="module")
def one_off():
    """A roof seen in every frame that shows it, and a spot 25 m east detected once although
    many frames showed it."""
    detections, times, track, video, shown = fly([(0.0, 40.0, 5.0), (25.0, 40.0, 5.0)], keep=[None, {6}])
    assert shown[1] >= 10
    return build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0), shown


def test_the_one_off_is_kept_but_not_on_the_map(one_off):
    damage_map, shown = one_off
    assert len(damage_map.fused) == 1 and len(damage_map.unconfirmed) == 1
    real, ghost = damage_map.fused[0], damage_map.unconfirmed[0]
    assert real.confirmed and real.frames_seen == shown[0]
    assert real.frames_in_view == pytest.approx(shown[0], abs=2)  # the square's corners vs its centre
    assert not ghost.confirmed and ghost.frames_seen == 1
    assert ghost.frames_in_view == pytest.approx(shown[1], abs=2)
    assert [f.site.id for f in damage_map.all_fused] == [1, 2]  # one numbering for both
    assert damage_map.sites == [real.site]
    assert sum(damage_map.level_counts().values()) == 1
    assert any("1 unconfirmed site" in note for note in damage_map.notes)


def test_a_reviewed_detection_confirms_its_site():
    detections, times, track, video, _ = fly([(0.0, 40.0, 5.0), (25.0, 40.0, 5.0)], keep=[None, {6}])
    detections = [replace(d, review=ReviewState.ACCEPTED) if d.id // 1000 == 1 else d for d in detections]
    damage_map = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    assert len(damage_map.fused) == 2 and not damage_map.unconfirmed


def test_regrouping_confirms_the_rebuilt_sites_again(one_off):
    damage_map, _ = one_off
    copy = replace(damage_map, fused=list(damage_map.fused), unconfirmed=list(damage_map.unconfirmed))
    real, ghost = damage_map.fused[0], damage_map.unconfirmed[0]
    # a reviewer merges the one-off into the roof's site: one confirmed site of both
    copy.regroup_sites([[m.detection.id for m in (*real.members, *ghost.members)]])
    assert len(copy.fused) == 1 and not copy.unconfirmed
    merged = copy.fused[0]
    assert merged.site.observation_count == real.site.observation_count + 1
    assert merged.frames_seen == real.frames_seen  # the one-off's frame showed the roof too


def test_exports_leave_unconfirmed_sites_out_unless_asked(one_off, tmp_path):
    damage_map, _ = one_off
    export_map(damage_map, tmp_path / "default", formats=["sites", "csv"])
    features = json.loads((tmp_path / "default" / "damage_sites.geojson").read_text())["features"]
    assert [f["properties"]["id"] for f in features] == [1]
    props = features[0]["properties"]
    assert props["confirmed"] is True
    assert props["frames_seen"] == damage_map.fused[0].frames_seen
    assert props["frames_in_view"] == damage_map.fused[0].frames_in_view
    header = (tmp_path / "default" / "damage_sites.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "frames_seen" in header and "frames_in_view" in header and "confirmed" in header

    export_map(damage_map.with_unconfirmed(), tmp_path / "all", formats=["sites"])
    features = json.loads((tmp_path / "all" / "damage_sites.geojson").read_text())["features"]
    by_id = {f["properties"]["id"]: f["properties"] for f in features}
    assert set(by_id) == {1, 2}
    assert by_id[2]["confirmed"] is False and by_id[2]["frames_seen"] == 1 and by_id[2]["frames_in_view"] >= 10


def test_frames_far_beyond_its_sightings_do_not_count():
    # the roof detected only in the last frames, the closest; the camera had it in view
    # from much farther away before
    detections, times, track, video, shown = fly([(0.0, 40.0, 5.0)], keep=[set(range(20, 40))])
    near = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0,
                                 fusion=FusionSettings(view_range_factor=1.1))
    anywhere = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0,
                                     fusion=FusionSettings(view_range_factor=100.0))
    (site,), (same,) = near.all_fused, anywhere.all_fused
    assert site.frames_seen == same.frames_seen == shown[0] - 20
    assert same.frames_in_view == pytest.approx(shown[0], abs=2)
    assert site.frames_seen <= site.frames_in_view < same.frames_in_view


def test_frames_too_blurred_to_look_do_not_count_against_a_site():
    """A spot detected in 2 of the 10-odd frames that showed it is unconfirmed; when the
    others were smeared by a fast turn (core.frame_quality), they were no look at it, and
    the 2 that were are enough."""
    detections, times, track, video, shown = fly([(0.0, 40.0, 5.0), (25.0, 40.0, 5.0)], keep=[None, {6, 7}])
    plain = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    [ghost] = plain.unconfirmed
    detected_in = {m.frame_index for m in ghost.members}
    assert len(detected_in) == 2 and ghost.frames_in_view >= 10
    smeared = {i: "blurred" for i in times if i not in detected_in}
    smeared[10_000] = "black"  # a frame that is not among the analysed ones is left out
    judged = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, unusable_frames=smeared)
    assert not judged.unconfirmed and len(judged.fused) == 2
    spot = next(f for f in judged.fused if {m.frame_index for m in f.members} == detected_in)
    assert spot.frames_seen == spot.frames_in_view == 2
    # the roof detected in every frame that showed it stays confirmed: its own frames still count as seen
    assert all(f.confirmed for f in judged.fused)
    assert 10_000 not in judged.unusable_frames and set(judged.looking_poses) == set(judged.poses) - set(smeared)
    [note] = [n for n in judged.notes if "did not count as a look" in n]
    assert note.startswith(f"{len(smeared) - 1} of the {len(times)} analysed frames") and "blurred" in note
    assert not any("did not count as a look" in n for n in plain.notes)


def test_a_sites_best_frame_is_one_that_looked_at_the_ground():
    """The popup's thumbnail and the app's click-to-seek go to the best frame: never a
    smeared or black one while the site has a sharp one."""
    detections, times, track, video, _ = fly([(0.0, 40.0, 5.0)])
    plain = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0)
    [site] = plain.sites
    smeared = {site.best_frame: "blurred"}
    judged = build_damage_map_from(detections, times, track, video=video, hfov_deg=80.0, unusable_frames=smeared)
    [again] = judged.sites
    assert again.best_frame != site.best_frame and again.best_frame not in smeared
    assert judged.fused[0].frames_seen == plain.fused[0].frames_seen  # its detections are all kept


@pytest.mark.parametrize(("count", "said"), [
    (1, "1 unconfirmed site (detected in fewer than 2 or under 20% of the views that showed it;"),
    (3, "3 unconfirmed sites (detected in fewer than 2 or under 20% of the views that showed them;"),
])
def test_the_map_note_counts_the_unconfirmed_sites_in_words_that_agree(count, said):
    from geo.mapping import UNCONFIRMED_NOTE, _with_unconfirmed_note

    notes = _with_unconfirmed_note(["an earlier note"], [object()] * count, FusionSettings())
    assert notes[0] == "an earlier note"
    assert notes[1].startswith(said) and notes[1].endswith(UNCONFIRMED_NOTE)
