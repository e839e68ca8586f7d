"""An unconfirmed site (detected in one of the many frames that showed it) on a real
(synthetic) flight: in the review, marked, after the sites on the map; out of the default
export; in an export that asks for it; confirmed once a reviewer accepts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.review import ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.types import ReviewState
from services.export import ExportRequest, export_project
from services.sites import site_review
from tests.truth_runs import write_run


def _write_run(store: ProjectStore, flyover, drop: set[int] = frozenset()) -> int:
    """The flyover's annotations as a run, those at the indices ``drop`` left out."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.annotations)
    return write_run(store, [d for k, d in enumerate(detections) if k not in drop], times)


@pytest.fixture(scope="module")
def one_off(sites_flyover, tmp_path_factory):
    """The flight's ground-truth detections with all but one sighting of its most often
    seen site left out: that site is now a one-off among frames that showed it."""
    from geo.evaluation import detections_from_coco

    folder = tmp_path_factory.mktemp("unconfirmed")
    with ProjectStore.create(folder / "all.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as store:
        _write_run(store, sites_flyover)
        review = site_review(store)
        assert not review.unconfirmed
        target = max(review.sites, key=lambda s: s.frame_count)
        assert target.frame_count >= 3
        stored = {d.id: d for d in store.detections(review.run_id)}
        kept = target.sightings[len(target.sightings) // 2]
        dropped = {(stored[s.detection_id].frame_index, stored[s.detection_id].box_xyxy_px)
                   for s in target.sightings if s.detection_id != kept.detection_id}
        total = len(review.sites)
    detections, _ = detections_from_coco(sites_flyover.annotations)
    drop = {k for k, d in enumerate(detections) if (d.frame_index, d.box_xyxy_px) in dropped}
    assert len(drop) == len(dropped)
    return folder, drop, total


@pytest.fixture
def store(sites_flyover, one_off, tmp_path):
    _folder, drop, _total = one_off
    with ProjectStore.create(tmp_path / "one-off.dmproj", video_path=sites_flyover.video,
                             telemetry_path=sites_flyover.srt) as s:
        _write_run(s, sites_flyover, drop)
        yield s


def _sites(folder) -> list[dict]:
    return [f["properties"] for f in json.loads((folder / "damage_sites.geojson").read_text())["features"]]


def test_the_review_lists_it_marked_after_the_sites_on_the_map(store, one_off):
    _folder, _drop, total = one_off
    review = site_review(store)
    assert len(review.unconfirmed) == 1 and len(review.queue) == total
    (ghost_id,) = review.unconfirmed
    last = review.queue[-1]
    assert last.site.site_id == ghost_id
    assert last.reason.startswith("unconfirmed: detected in 1 of the ")
    assert all("unconfirmed" not in item.reason for item in review.queue[:-1])
    assert review.site_of_detection(last.site.sightings[0].detection_id) == last.site


def test_default_export_leaves_it_out_and_asking_writes_it(store, one_off, tmp_path):
    _folder, _drop, total = one_off
    review = site_review(store)
    (ghost_id,) = review.unconfirmed
    result = export_project(store, ExportRequest(tmp_path / "default", formats=("sites",)))
    sites = _sites(tmp_path / "default")
    assert len(sites) == total - 1 and ghost_id not in {s["id"] for s in sites}
    assert all(s["confirmed"] and s["frames_seen"] >= 1 for s in sites)
    assert result.damage_map is not None and len(result.damage_map.sites) == total - 1

    export_project(store, ExportRequest(tmp_path / "all", formats=("sites",), include_unconfirmed=True))
    by_id = {s["id"]: s for s in _sites(tmp_path / "all")}
    assert len(by_id) == total
    ghost = by_id[ghost_id]
    assert ghost["confirmed"] is False and ghost["frames_seen"] == 1 and ghost["frames_in_view"] >= 3


def test_accepting_it_puts_it_on_the_map(store, tmp_path):
    review = site_review(store)
    (ghost_id,) = review.unconfirmed
    ghost = review.site(ghost_id)
    ReviewSession(store, review.run_id).apply(site_decision(ghost, ReviewState.ACCEPTED))
    after = site_review(store)
    assert not after.unconfirmed
    export_project(store, ExportRequest(tmp_path / "accepted", formats=("sites",)))
    assert len(_sites(tmp_path / "accepted")) == len(after.queue)


def test_the_command_line_writes_them_when_asked(store, tmp_path, capsys):
    from app.cli import main

    path = Path(store.path)
    review = site_review(store)
    (ghost_id,) = review.unconfirmed
    store.close()
    assert main(["export", str(path), "--to", str(tmp_path / "cli"), "--formats", "sites", "--no-thumbnails"]) == 0
    out = capsys.readouterr().out
    assert "note: 1 unconfirmed site (" in out and "left off the map" in out
    assert ghost_id not in {s["id"] for s in _sites(tmp_path / "cli")}
    assert main(["export", str(path), "--out", str(tmp_path / "cli-all"), "--formats", "sites", "--no-thumbnails",
                 "--include-unconfirmed"]) == 0  # --out as damagemap predict's, the same as --to
    out = capsys.readouterr().out
    assert "note: 1 unconfirmed site shown (confirmed false)" in out
    assert {s["id"]: s["confirmed"] for s in _sites(tmp_path / "cli-all")}[ghost_id] is False


def test_the_html_map_and_the_kml_mark_the_unconfirmed_site_apart(store, one_off, tmp_path):
    """A relief team opening the map on a phone tells a site seen once from one on the map."""
    import re
    import xml.etree.ElementTree as ET

    review = site_review(store)
    (ghost_id,) = review.unconfirmed
    out = tmp_path / "marked"
    export_project(store, ExportRequest(out, formats=("kml", "html"), thumbnails=False, include_unconfirmed=True))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    placemarks = {p.get("id"): p for p in ET.parse(out / "damage_sites.kml").getroot().iter(f"{{{ns['k']}}}Placemark")
                  if p.get("id")}
    marked = {pid for pid, p in placemarks.items() if p.find("k:name", ns).text.endswith("(unconfirmed)")}
    assert marked == {f"site-{ghost_id}"} and len(placemarks) > 1
    ghost = placemarks[f"site-{ghost_id}"]
    assert ghost.find("k:styleUrl", ns).text.endswith("-unconfirmed")
    values = {d.get("name"): d.text for d in ghost.iter(f"{{{ns['k']}}}SimpleData")}
    assert values["confirmed"] == "false" and values["reviewed"] == "false"  # XML Schema booleans (KML's bool)

    html = (out / "damage_map.html").read_text()
    assert len(re.findall(r"dm-unconfirmed-site", html)) == 1
    assert html.count("(unconfirmed)") >= 2  # the popup's heading and the site list
    assert "Unconfirmed: detected in 1 of the " in html


def test_buildings_are_graded_from_the_confirmed_sites_even_when_the_map_shows_the_others(
        store, one_off, tmp_path, monkeypatch):
    """`export --include-unconfirmed` graded a building Destroyed from a site seen in 1 of
    16 frames, with no mark, where the relief package grades from confirmed sites only."""
    import services.package

    (ghost_id,) = site_review(store).unconfirmed
    graded_from = []

    class Layers:
        def html_layers(self):
            return lambda folium_map: []  # draws nothing, adds no bounds

    monkeypatch.setattr(services.package, "has_product_sources", lambda store: True)
    monkeypatch.setattr(services.package, "product_layers",
                        lambda store, built: graded_from.append(built) or Layers())
    export_project(store, ExportRequest(tmp_path / "all", formats=("html",), thumbnails=False,
                                        include_unconfirmed=True))
    (built,) = graded_from
    assert ghost_id not in {site.id for site in built.sites} and built.sites
    assert (tmp_path / "all" / "damage_map.html").read_text().count("dm-unconfirmed-site") == 1  # shown, marked
