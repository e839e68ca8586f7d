"""A survey of three synthetic flights over one town (same town seed, different path
seeds and days): one map whose sites match the truth buildings as well as each single
flight's map does, no building counted twice, evidence from several dates, coverage
per flight, and review decisions kept when a flight is added.

The flights' detections are the annotations' own (a perfect detector, stored as an
analysis run), so what is tested is the georeferencing and the fusion across flights."""

import dataclasses
import datetime as dt
import json
import math
import os
import re
import shutil
from collections import Counter

import cv2
import numpy as np
import pytest
from pathlib import Path

from core.masks import RleMask
from core.review import ReviewSession
from core.sites import site_decision
from core.store import ProjectStore
from core.survey import PlaceDecision, Survey, SurveyError
from core.types import DamageLevel, Detection, Frame, ReviewState
from geo.building_evaluation import evaluate_buildings, filmed_buildings
from geo.uncertainty import PARTS
from services import survey as surveys
from services.maps import damage_map

DAYS = {1: dt.datetime(2018, 10, 12, 15, tzinfo=dt.timezone.utc),
        2: dt.datetime(2018, 10, 14, 15, tzinfo=dt.timezone.utc),
        3: dt.datetime(2018, 10, 16, 15, tzinfo=dt.timezone.utc)}


@pytest.fixture(scope="module")
def flights(tmp_path_factory):
    """Three 4 s flights (2 frames/s, 320x180) over the town of seed 7."""
    from engine.synth.survey_paths import render_survey_flight

    root = tmp_path_factory.mktemp("flights")
    out = {}
    for seed, start in DAYS.items():
        out[seed] = render_survey_flight(root / f"day{seed}", town_seed=7, path_seed=seed, seconds=4, fps=2,
                                         size=(320, 180), annotate_every=1, start_utc=start)
    truths = {p.truth.read_text() for p in out.values()}
    assert len(truths) == 1  # one town
    return out


def _oracle_run(store, annotations, model=None):
    """The annotations as a finished analysis run (score 0.9 each); ``model`` is the run's
    model record."""
    doc = json.loads(annotations.read_text())
    run_id = store.start_run(model=model or {"oracle": "annotations"}, settings={"score_threshold": 0.2, "srn": False})
    by_image = {}
    for ann in doc["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    for image in doc["images"]:
        h, w, index = image["height"], image["width"], image["frame_index"]
        detections = []
        for ann in by_image.get(image["id"], []):
            canvas = np.zeros((h, w), np.uint8)
            for polygon in ann["segmentation"]:
                cv2.fillPoly(canvas, [np.round(np.array(polygon).reshape(-1, 1, 2)).astype(np.int32)], 1)
            x, y, bw, bh = ann["bbox"]
            detections.append(Detection(index, DamageLevel(ann["category_id"]), 0.9, (x, y, x + bw, y + bh),
                                        RleMask.from_array(canvas.astype(bool))))
        store.write_frame(run_id, Frame(index, image["pts_s"], w, h), detections)
    store.finish_run(run_id)


def _survey(folder, flights, seeds, models=None):
    """A survey of the flights, each with its oracle run (``models[seed]``: the run's model
    record) and a clock offset known to +-0.1 s per day number (so the flights' error
    budgets differ)."""
    survey = surveys.create_survey(folder, "town 7")
    for seed in seeds:
        record = surveys.add_flight(survey, flights[seed].video)
        with ProjectStore.open(survey.project_path(record)) as store:
            _oracle_run(store, flights[seed].annotations, (models or {}).get(seed))
            store.set_project_settings(dataclasses.replace(store.project_settings(), time_offset_sigma_s=0.1 * seed))
    return survey


def flight_site_of(built, evidence):
    """The flight's own fused site behind one piece of a survey site's evidence."""
    flight = next(f for f in built.flights if f.name == evidence.flight)
    return next(f for f in flight.damage_map.fused if f.site.id == evidence.flight_site_id)


def _buildings_of(points, truth, match_m=5.0):
    """Damaged building id nearest each point (within match_m), for counting."""
    from shapely.geometry import Point, shape

    from geo.local import LocalFrame

    doc = json.loads(truth.read_text())
    damaged = [f for f in doc["features"] if f["properties"].get("damaged")]
    first = damaged[0]["properties"]["parts"][0]
    local = LocalFrame.around(first["lon"], first["lat"])

    def xy(lon, lat):
        e, n = local.to_local([lon], [lat])
        return float(e[0]), float(n[0])

    shapes = [(int(f["properties"]["id"]), shape({"type": "Polygon", "coordinates": [[xy(*c) for c in
                                                  f["geometry"]["coordinates"][0]]]})) for f in damaged]
    out = Counter()
    for lon, lat in points:
        p = Point(xy(lon, lat))
        distance, building = min((s.distance(p), b) for b, s in shapes)
        if distance <= match_m:
            out[building] += 1
    return out


def test_three_flights_make_one_map_as_good_as_each_flight_and_no_building_twice(flights, tmp_path):
    survey = _survey(tmp_path / "survey", flights, [1, 2, 3])
    assert [f.date[:10] for f in Survey.open(tmp_path / "survey").flights] == ["2018-10-12", "2018-10-14", "2018-10-16"]
    truth = flights[1].truth

    singles, filmed_all, glimpsed_all, per_flight_counts = [], set(), set(), []
    for seed, record in zip(DAYS, survey.flights):
        with ProjectStore.open(survey.project_path(record)) as store:
            points = [(s.lon_deg, s.lat_deg) for s in damage_map(store).sites]
        filmed, glimpsed = filmed_buildings(flights[seed].annotations)
        filmed_all |= filmed
        glimpsed_all |= glimpsed
        singles.append(evaluate_buildings(points, truth, filmed, glimpsed))
        per_flight_counts.append(_buildings_of(points, truth))
    glimpsed_all -= filmed_all

    built = surveys.survey_map(survey)
    points = [(s.lon_deg, s.lat_deg) for s in built.sites]
    together = evaluate_buildings(points, truth, filmed_all, glimpsed_all)

    assert all(s.correct_sites > 0 for s in singles)
    assert together.precision >= min(s.precision for s in singles) - 1e-9
    assert together.recall >= min(s.recall for s in singles) - 1e-9
    assert together.median_distance_m <= max(s.median_distance_m for s in singles) + 1.0
    assert together.found_buildings >= max(s.found_buildings for s in singles)

    # No building counted twice: no more survey sites on a building than one flight alone put there.
    counts = _buildings_of(points, truth)
    for building, n in counts.items():
        assert n <= max(c.get(building, 0) for c in per_flight_counts), building
    flight_sites = sum(sum(c.values()) for c in per_flight_counts)
    assert sum(counts.values()) < flight_sites  # sites seen by several flights were fused

    shared = [s for s in built.sites if len(s.evidence) >= 2]
    assert shared and all(len(set(s.flights)) == len(s.flights) for s in built.sites)
    assert any(len(s.dates) >= 2 for s in shared)  # the same roof on two days: both dates in its evidence
    assert [c.flight for c in built.coverage] == [f.name for f in survey.flights]
    assert all(c.area_m2 > 100 and c.frames == 8 and c.footprint_lonlat for c in built.coverage)
    assert sum(c.sites for c in built.coverage) == sum(len(s.evidence) for s in built.sites)

    written = surveys.export_survey(built, tmp_path / "out", title="Damage survey: <town>",
                                    survey=survey)  # the close-ups come from each flight's own video
    assert {p.name for p in written} == {"survey_sites.geojson", "survey_coverage.geojson", "survey.gpkg",
                                         "survey_sites.csv", "survey_sites.kml", "survey_sites.kmz", "survey_map.html",
                                         "survey_map.png", "survey_map.pdf", "survey_README.txt", "survey_package.zip"}
    # the print map, then an atlas page per 12 sites, each card's close-up cut from its flight's video
    pdf = (tmp_path / "out" / "survey_map.pdf").read_bytes()
    assert len(re.findall(rb"/Type /Page\b(?!s)", pdf)) == 1 + math.ceil(len(built.sites) / 12)
    assert pdf.count(b"/Subtype /Image") >= len(built.sites)
    readme = (tmp_path / "out" / "survey_README.txt").read_text()
    assert "PRELIMINARY analysis, not yet validated in the field" in readme
    for flight, seen in zip(survey.flights, built.coverage):  # how each flight was flown, analysed, and what it saw
        assert f"{flight.name}: {flight.date[:10]}" in readme  # its day
        assert f"video: {Path(flight.video).name}; telemetry: {Path(flight.video).with_suffix('.SRT').name}" in readme
        assert f"frames analysed: {seen.frames}\n" in readme
        assert f"ground seen: {seen.area_m2 / 1e4:.2f} ha; survey sites it saw: {seen.sites}" in readme
    counts = built.level_counts()
    assert all(f"{level.label}: {counts[level]} (" in readme for level in DamageLevel)
    assert all(f"\n{p.name} " in readme for p in written if p.name != "survey_README.txt")
    assert "Copernicus EMS" in readme and "software: damagemap".lower() in readme.lower()
    page = (tmp_path / "out" / "survey_map.html").read_text()
    assert f'<span id="dm-site-total">{len(built.sites)}</span>' in page and "&lt;town&gt;" in page
    assert page.count("dm-site dm-site-") == len(built.sites)  # one circle a site
    for site in shared:  # its popup lists what each flight saw of it, with the flight's date, close up
        for evidence in site.evidence:
            assert f'alt="close-up of site {evidence.flight_site_id} of flight {evidence.flight}"' in page
            day_and_time = f"{evidence.date[:10]} {evidence.date[11:16]} UTC"  # the video's creation time, readable
            assert (f'<td>{evidence.flight}</td><td style="white-space:nowrap">{day_and_time}</td>'
                    f"<td>site {evidence.flight_site_id}:") in page
    assert "<script src=" not in page and 'rel="stylesheet" href="http' not in page  # opens with no network
    # the KMZ's balloons show each flight's close-up of a site, cut from its video: asked alone too
    import zipfile

    (alone,) = surveys.export_survey(built, tmp_path / "kmz", formats=["kmz"], survey=survey)
    sightings = {(e.flight, e.flight_site_id) for s in built.sites for e in s.evidence}
    for kmz in (tmp_path / "out" / "survey_sites.kmz", alone):
        with zipfile.ZipFile(kmz) as archive:
            assert len([n for n in archive.namelist() if n.startswith("files/flight-")]) == len(sightings)
    features = json.loads((tmp_path / "out" / "survey_sites.geojson").read_text())["features"]
    assert len(features) == len(built.sites)
    assert any(len(f["properties"]["dates"]) > 1 for f in features)

    # Each survey site's uncertainty keeps its parts, in the export as in every flight's.
    assert all(s.budget is not None and s.uncertainty_m == pytest.approx(s.budget.total_m) for s in built.sites)
    for feature in features:
        props = feature["properties"]
        parts = [props[f"uncertainty_{name}_m"] for name in PARTS]
        assert props["uncertainty_m"] == pytest.approx(float(np.hypot.reduce(parts)), abs=0.02)
        assert props["uncertainty_parts"] is not None
    for site in shared:  # a telemetry part of a fused site: the root mean square over its flights
        budgets = [flight_site_of(built, e).budget for e in site.evidence]
        for name in PARTS[1:]:
            values = [getattr(b, name) for b in budgets]
            assert getattr(site.budget, name) == pytest.approx(float(np.sqrt(np.mean(np.square(values)))), abs=1e-6)
    assert all(s.budget.clock > 0 for s in shared)


def test_adding_a_flight_to_a_reviewed_survey_keeps_every_decision(flights, tmp_path):
    survey = _survey(tmp_path / "survey", flights, [2, 3])
    built = surveys.survey_map(survey)
    shared = sorted((s for s in built.sites if len(s.evidence) == 2), key=lambda s: s.id)
    assert len(shared) >= 2
    rejected, relabelled = shared[0], shared[1]
    assert surveys.decide(survey, rejected.id, ReviewState.REJECTED, built=built) == rejected.observation_count
    surveys.decide(survey, relabelled.id, DamageLevel.SEVERE, built=built, author="tester")
    assert len(Survey.open(survey.folder).decisions) == 2

    stale = Survey.open(survey.folder)  # the survey as a map job read it before the flight below
    record = surveys.add_flight(survey, flights[1].video)
    with ProjectStore.open(survey.project_path(record)) as store:
        _oracle_run(store, flights[1].annotations)
    before = surveys.survey_map(survey, carry_rejections=False)  # the flights' sites as their projects hold them
    carried = surveys.apply_decisions(survey)
    after = surveys.survey_map(survey)

    from core.sites import distance_m

    near = lambda site, other: distance_m(site.lon_deg, site.lat_deg, other.lon_deg, other.lat_deg) <= 3.0  # noqa: E731
    # The rejected place has no site left in any flight; the relabelled one is severe and reviewed everywhere.
    assert not any(near(s, rejected) for s in after.sites)
    (kept,) = [s for s in after.sites if near(s, relabelled)]
    assert kept.level is DamageLevel.SEVERE and kept.reviewed
    assert kept.id == relabelled.id  # its number too, though a third flight saw it
    surveys.survey_map(stale)  # keeping the numbers never writes the manifest read before the flight came
    assert [f.name for f in Survey.open(survey.folder).flights] == [f.name for f in survey.flights]
    summary = surveys.site_summary(kept)
    assert summary.decided and all(s.level is DamageLevel.SEVERE for s in summary.sightings)
    new_flight_saw = [s for s in before.sites if record.name in s.flights and (near(s, rejected) or near(s, relabelled))]
    assert carried == sum(len(surveys.site_summary(s, record.name).sightings) for s in new_flight_saw)
    assert len(Survey.open(survey.folder).decisions) == 2


def test_a_flight_s_sites_name_the_survey_site_number_the_cli_and_the_files_give_them(flights, tmp_path, capsys):
    """A survey lead told "check site 3" finds it in a flight: each flight's site says the
    number of the survey site it is part of (what the window's Sites panel and map show),
    and it is the number `survey info`, `survey decide` and the exported files give that
    site, before a decision and after one changed the map."""
    from app.cli import main

    survey = _survey(tmp_path / "town", flights, (1, 2, 3))

    def numbers_said():
        assert main(["survey", "info", str(survey.folder), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        return {(flight, site_id): site["id"] for site in info["sites"] for flight, site_id in site["flight_sites"].items()}

    def numbers_shown():
        shown, elsewhere = {}, {}
        for flight in survey.flights:
            view = surveys.flight_in_survey(survey, survey.project_path(flight))
            shown.update({(flight.name, site_id): context.survey_site_id for site_id, context in view.sites.items()})
            elsewhere.update({(s.flight, s.site_id): s.survey_site_id for s in view.elsewhere})
        return shown, elsewhere

    said = numbers_said()
    shown, elsewhere = numbers_shown()
    assert shown == said
    assert {key: n for key, n in elsewhere.items() if n is not None} == said  # the other flights' sites on the map
    assert any(site_id != number for (_, site_id), number in said.items())  # a flight's #7 is not the survey's 7
    assert main(["survey", "info", str(survey.folder)]) == 0
    listed = capsys.readouterr().out
    for (flight, site_id), number in said.items():
        assert re.search(rf"site +{number}: .*flights .*\b{flight} #{site_id}\b", listed)
    assert main(["survey", "export", str(survey.folder), "--to", str(tmp_path / "out"), "--formats", "geojson"]) == 0
    capsys.readouterr()
    exported = json.loads((tmp_path / "out" / "survey_sites.geojson").read_text())["features"]
    for feature in exported:
        for part in feature["properties"]["evidence"].split("; "):
            flight, site_id = re.match(r"(\S+) site (\d+):", part).groups()
            assert said[(flight, int(site_id))] == feature["properties"]["id"]

    # a site rejected: the others keep their numbers, in the flights as in the survey
    rejected = next(n for n in sorted(set(said.values())) if list(said.values()).count(n) == 1)
    assert main(["survey", "decide", str(survey.folder), str(rejected), "reject"]) == 0
    capsys.readouterr()
    said_after = numbers_said()
    assert rejected not in said_after.values()
    assert numbers_shown()[0] == said_after
    assert all(said[key] == number for key, number in said_after.items() if key in said)


def test_a_survey_decision_keeps_its_site_one_and_overrules_no_other_decision(flights, tmp_path):
    """A site decided in the survey stays one site, with every flight's evidence, even
    where the flights now place it farther apart than the survey joins (a Debris site is
    placed on the ground, each flight's oblique view moving it its own way): here a survey
    whose gate joins nothing. And a decided site never takes in another flight's site a
    reviewer decided at another level."""
    from geo.survey_fusion import SurveySettings

    survey = _survey(tmp_path / "survey", flights, [2, 3])
    built = surveys.survey_map(survey)
    shared = sorted((s for s in built.sites if len(s.evidence) == 2), key=lambda s: s.id)
    assert len(shared) >= 2
    surveys.decide(survey, shared[0].id, DamageLevel.DEBRIS, built=built)
    nothing_joins = SurveySettings(gate_m=0.0, max_gate_m=0.0, sigma_factor=0.0, min_overlap=2.0)
    apart = surveys.survey_map(survey, settings=nothing_joins)
    (decided,) = [s for s in apart.sites if s.reviewed]
    assert decided.level is DamageLevel.DEBRIS
    assert sorted(e.flight for e in decided.evidence) == sorted(e.flight for e in shared[0].evidence)
    assert all(len(s.evidence) == 1 for s in apart.sites if not s.reviewed)  # the others: as the gate says

    # the other shared site decided Severe on one flight's project, Slight on the other's
    other = next(s for s in surveys.survey_map(survey).sites if not s.reviewed and len(s.evidence) == 2)
    for evidence, level in zip(other.evidence, (DamageLevel.SEVERE, DamageLevel.SLIGHT)):
        with ProjectStore.open(survey.project_path(survey.flight(evidence.flight))) as store:
            summary = surveys.site_summary(other, evidence.flight)
            ReviewSession(store, store.detection_run_id(summary.sightings[0].detection_id)).apply(
                site_decision(summary, level))
    after = surveys.survey_map(survey)
    split = [s for s in after.sites if any(e.flight_site_id == ev.flight_site_id and e.flight == ev.flight
                                           for e in s.evidence for ev in other.evidence)]
    assert sorted(s.level for s in split) == [DamageLevel.SLIGHT, DamageLevel.SEVERE]
    assert all(len(s.evidence) == 1 and s.reviewed for s in split)


def test_a_flight_left_out_for_a_missing_setting_says_where_to_give_it_in_a_survey(flights, tmp_path, monkeypatch,
                                                                                    capsys):
    """The flags a flight's failure names are `damagemap export`'s: in a survey the note
    says which command takes them for that flight (or reads them from its video)."""
    import services.maps as maps
    from core.errors import GeoreferenceError

    survey = _survey(tmp_path / "s", flights, [1, 2])
    name = survey.flights[1].name
    real = maps.damage_map

    def without_ground(store, *args, **kwargs):
        if Path(store.path) == survey.project_path(survey.flights[1]).absolute():
            raise GeoreferenceError("flight.gpx: the log gives absolute altitudes only; give the ground elevation "
                                    "(--ground-elevation M)")
        return real(store, *args, **kwargs)

    monkeypatch.setattr(maps, "damage_map", without_ground)
    built = surveys.survey_map(survey)
    (note,) = [n for n in built.notes if n.startswith(f"flight {name}: left out")]
    assert f"`damagemap survey georeference {survey.folder} --flight {name}` reads them from the video" in note
    assert f"`damagemap export {survey.project_path(survey.flights[1])} ... --save`" in note
    assert [f.name for f in built.flights] == [survey.flights[0].name]
    # survey info's listing says so on the flight's own line, and a flight not analysed is said so
    from app.cli import main

    surveys.add_flight(survey, flights[3].video, name="later")
    assert main(["survey", "info", str(survey.folder)]) == 0
    out, err = capsys.readouterr()
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and "site " not in line}
    assert "not on the survey's map: see its note" in lines[name] and "ha seen" not in lines[name]
    assert "ha seen" in lines[survey.flights[0].name] and "not on the survey's map" not in lines[survey.flights[0].name]
    assert lines["later"].rstrip().endswith("not analysed yet") and "0 frames" not in lines["later"]
    assert f"flight {name}: left out" in err
    # an offset (or a track) is not what georeference reads: it is not sent there, round in circles
    hint = surveys._flags_hint(survey, survey.flights[1], "the track does not overlap: set an offset (--offset -172800)")
    assert "georeference" not in hint and "... --save`" in hint
    # a project with no telemetry is given the one command that keeps it, not flags to piece together
    hint = surveys._flags_hint(survey, survey.flights[1], "the project has no telemetry file; give the video's SRT, "
                               "GPX or flight log: damagemap export PROJECT --telemetry FILE, or in the app, ...")
    assert hint == f"; in a survey, kept in the flight's project: `damagemap export " \
                   f"{surveys.shown_path(survey.project_path(survey.flights[1]))} --telemetry FILE --save`"


def test_a_flight_flown_unlike_its_detector_s_footage_is_named_in_the_survey_notes(flights, tmp_path):
    weights = tmp_path / "detector.safetensors"
    weights.write_bytes(b"")  # only its JSON is read for the note
    weights.with_suffix(".json").write_text(json.dumps({"footage": {"altitude_above_ground_m": [2, 8]}}))
    survey = _survey(tmp_path / "s", flights, [1, 2], models={2: {"weights": str(weights)}})
    built = surveys.survey_map(survey)
    cautions = [n for n in built.notes if "the footage the detector was trained on" in n]
    assert len(cautions) == 1
    assert cautions[0].startswith(f"flight {survey.flights[1].name}: the drone flew about")


def test_a_survey_refuses_what_it_cannot_use(flights, tmp_path):
    survey = surveys.create_survey(tmp_path / "s")
    with pytest.raises(SurveyError, match="holds a survey already"):
        surveys.create_survey(tmp_path / "s")
    with pytest.raises(SurveyError, match="is not a survey"):
        Survey.open(tmp_path)
    surveys.add_flight(survey, flights[1].video, name="monday", date="2018-10-12")
    with pytest.raises(SurveyError, match="flight named 'monday' already"):
        surveys.add_flight(survey, flights[2].video, name="monday")
    # the same footage twice would count each of its sites as seen by two flights
    with pytest.raises(SurveyError, match="is flight monday of survey 's' already"):
        surveys.add_flight(survey, flights[1].video, name="tuesday")
    # a track that cannot be read is refused when it is given, not after the analysis
    from core.errors import TelemetryError

    empty = tmp_path / "empty.gpx"
    empty.write_text("")
    with pytest.raises(TelemetryError, match="empty.gpx: the GPX file is empty"):
        surveys.add_flight(survey, flights[2].video, name="tuesday", telemetry=empty)
    assert [f.name for f in Survey.open(survey.folder).flights] == ["monday"]
    assert not (tmp_path / "s" / "flights" / "tuesday.dmproj").exists()
    with pytest.raises(SurveyError, match="no flight can be mapped yet.*not analysed"):
        surveys.survey_map(survey)
    (tmp_path / "s" / "survey.json").write_text("{not json")
    with pytest.raises(SurveyError, match="survey.json'.*not a readable survey"):
        Survey.open(tmp_path / "s")


def test_cli_creates_adds_reports_decides_and_exports(flights, tmp_path, capsys):
    from app.cli import main

    folder = tmp_path / "town"
    assert main(["survey", "create", str(folder), "--name", "town 7"]) == 0
    videos = tmp_path / "videos"
    videos.mkdir()
    for seed in (2, 3):  # a folder of flights: each video with its telemetry beside it
        for part in ("flight.mp4", "flight.SRT"):
            (videos / f"day{seed}{'.mp4' if part.endswith('mp4') else '.SRT'}").symlink_to(flights[seed].video.parent / part)
    assert main(["survey", "add", str(folder), str(videos), "--drone", "mavic 3"]) == 0
    out = capsys.readouterr().out
    assert "flight day2:" in out and "flight day3:" in out and "3 flights" not in out and "2 flights" in out
    assert main(["survey", "add", str(folder), str(videos)]) == 0  # the folder again: nothing twice
    out = capsys.readouterr().out
    assert "flight day2: day2.mp4 is in the survey already" in out and "2 flights" in out
    survey = Survey.open(folder)
    for seed, record in zip((2, 3), survey.flights):
        assert record.telemetry is not None and record.drone == "mavic 3"
        with ProjectStore.open(survey.project_path(record)) as store:
            _oracle_run(store, flights[seed].annotations)

    assert main(["survey", "info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [f["frames_analysed"] for f in info["flights"]] == [8, 8] and all(f["coverage_m2"] > 0 for f in info["flights"])
    shared = [s for s in info["sites"] if len(s["flights"]) == 2]
    assert shared
    # both flights found the shared ones; a flight that found a site is never among those that did not
    assert all(s["not_found_by"] == [] for s in shared)
    built = surveys.survey_map(Survey.open(folder))
    assert [s["not_found_by"] for s in info["sites"]] == [list(site.not_found_by) for site in built.sites]
    assert all(not set(s["not_found_by"]) & set(s["flights"]) for s in info["sites"])

    to_review = [f["sites_to_review"] for f in info["flights"]]
    assert all(n > 0 for n in to_review)  # nothing decided yet

    assert main(["survey", "decide", str(folder), str(shared[0]["id"]), "severe"]) == 0
    assert "severe on" in capsys.readouterr().out
    assert main(["survey", "info", str(folder), "--json"]) == 0
    # the decided site was each flight's own site once: one fewer to review in each
    assert [f["sites_to_review"] for f in json.loads(capsys.readouterr().out)["flights"]] == [n - 1 for n in to_review]
    assert main(["survey", "info", str(folder)]) == 0
    assert f"sites, {to_review[0] - 1} to review" in capsys.readouterr().out
    assert main(["survey", "decide", str(folder), "999", "reject"]) == 2
    assert "has no site 999" in capsys.readouterr().err

    assert main(["survey", "export", str(folder), "--to", str(tmp_path / "out"), "--formats", "geojson,csv"]) == 0
    features = json.loads((tmp_path / "out" / "survey_sites.geojson").read_text())["features"]
    decided = [f for f in features if f["properties"]["reviewed"]]
    assert len(decided) == 1 and decided[0]["properties"]["level"] == "severe"  # as a flight's export writes it
    assert (decided[0]["properties"]["level_code"], decided[0]["properties"]["ems_grade"]) == (2, "Damaged")
    assert (tmp_path / "out" / "survey_sites.csv").read_text(encoding="utf-8-sig").startswith("id,level,lon,lat")
    assert main(["survey", "export", str(folder), "--to", str(tmp_path / "x"), "--formats", "shp"]) == 2
    assert "unknown format shp" in capsys.readouterr().err
    # without --to, where the app's Export Survey Map… proposes: export/ in the survey's folder
    assert main(["survey", "export", str(folder), "--formats", "csv"]) == 0
    assert str(folder / "export" / "survey_sites.csv") in capsys.readouterr().out
    assert (folder / "export" / "survey_sites.csv").read_text() == (tmp_path / "out" / "survey_sites.csv").read_text()
    # the KMZ carries each flight's close-ups, cut from its video; --no-thumbnails reads no video
    import zipfile

    for flag, pictured in (([], True), (["--no-thumbnails"], False)):
        out = tmp_path / f"kmz{len(flag)}"
        assert main(["survey", "export", str(folder), "--to", str(out), "--formats", "kmz", *flag]) == 0
        with zipfile.ZipFile(out / "survey_sites.kmz") as archive:
            assert any(n.startswith("files/flight-") for n in archive.namelist()) is pictured

    # several sites in one command; with one number wrong, none is decided
    others = [site["id"] for site in info["sites"] if site["id"] != shared[0]["id"]][:2]
    assert len(others) == 2
    assert main(["survey", "decide", str(folder), *map(str, others), "999", "reject"]) == 2
    assert "has no site 999" in capsys.readouterr().err
    assert len(Survey.open(folder).decisions) == 1  # the one made above
    before = surveys.survey_map(Survey.open(folder))
    assert main(["survey", "decide", str(folder), *map(str, others), "reject"]) == 0
    captured = capsys.readouterr()
    assert all(f"site {n}: reject on" in captured.out for n in others)
    assert len(Survey.open(folder).decisions) == 3
    # the rejected sites leave the map; every other site keeps its number (and place), so nothing to say
    after = surveys.survey_map(Survey.open(folder))
    assert {site.id for site in after.sites} == {site.id for site in before.sites} - set(others)
    assert all((before.site(site.id).lon_deg, before.site(site.id).lat_deg) == (site.lon_deg, site.lat_deg)
               for site in after.sites)
    assert "changed other sites" not in captured.err
    assert main(["survey", "decide", str(folder), str(others[0]), "reject"]) == 2  # its number names no site now
    assert f"has no site {others[0]} (its sites: " in capsys.readouterr().err


def test_a_survey_decision_reaches_its_site_as_far_as_the_survey_joins_flights(flights, tmp_path, monkeypatch):
    """A survey site lies between its flights' positions: a decision made at one of them,
    4.5 m from it, was carried within 3 m only, and the site's sightings stayed undecided."""
    from core.review import SiteMark

    survey = _survey(tmp_path / "survey", flights, [2, 3])
    built = surveys.survey_map(survey)
    target = max(built.sites, key=lambda s: len(s.evidence))
    from geo.survey_fusion import SurveySettings

    assert SurveySettings().gate(target.uncertainty_m) >= 5.0  # how far the survey joins this site's flights
    north = 4.5 / 111_320.0  # degrees of latitude in 4.5 m
    mark = SiteMark(target.lon_deg, target.lat_deg + north, ReviewState.REJECTED)
    made = surveys.SurveyDecisions(dated=(("2026-12-07T00:00:00", frozenset(), mark),))  # made in no flight
    monkeypatch.setattr(surveys, "review_decisions", lambda *args, **kwargs: made)
    assert surveys.apply_decisions(survey) > 0


def test_a_site_a_reviewer_decided_on_one_flight_is_decided_on_the_others(flights, tmp_path):
    from core.review import ReviewSession
    from core.sites import site_decision
    from services.sites import site_review

    survey = _survey(tmp_path / "survey", flights, [2, 3])
    built = surveys.survey_map(survey)
    shared = sorted((s for s in built.sites if len(s.evidence) == 2), key=lambda s: s.id)
    assert shared
    target = shared[0]
    first, second = target.evidence[0].flight, target.evidence[1].flight
    # a reviewer rejects the place in the first flight's own project (as the app's Sites panel does)
    with ProjectStore.open(survey.project_path(survey.flight(first))) as store:
        review = site_review(store)
        (own,) = [s for s in review.sites if s.site_id == target.evidence[0].flight_site_id]
        ReviewSession(store, review.run_id, author="analyst").apply(site_decision(own, ReviewState.REJECTED))
    assert len(surveys.survey_decisions(survey, except_project=survey.project_path(survey.flight(second)))) == 1
    assert surveys.survey_decisions(survey, except_project=survey.project_path(survey.flight(first))) == []
    from core.sites import distance_m

    # at once, before the second flight records the rejection: off the survey's map and its
    # exports (not kept as the second flight's site, "not found by" the first), and said so
    at_once = surveys.survey_map(survey)
    assert not any(distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg) <= 3.0 for s in at_once.sites)
    assert any("rejected the damage at that place on another flight" in note for note in at_once.notes)
    assert len(at_once.sites) == len(built.sites) - 1

    second_sightings = surveys.site_summary(target, second).sightings
    assert surveys.apply_decisions(survey) == len(second_sightings) > 0
    with ProjectStore.open(survey.project_path(survey.flight(second))) as store:
        assert {store.detection(s.detection_id).review for s in second_sightings} == {ReviewState.REJECTED}

    # rejected in both flights, the place is off the survey's map
    assert not any(distance_m(s.lon_deg, s.lat_deg, target.lon_deg, target.lat_deg) <= 3.0
                   for s in surveys.survey_map(survey).sites)
    assert surveys.apply_decisions(survey) == 0  # nothing left undecided at that place
    assert Survey.open(survey.folder).decisions == []  # the flights' decisions stay the flights'

    # the reviewer of the second flight takes the carried rejection back (Undo in the app):
    # carrying again (`survey analyse` does) leaves it taken back, as the app does
    with ProjectStore.open(survey.project_path(survey.flight(second))) as store:
        session = ReviewSession(store, store.latest_run_id(), author="analyst")
        assert session.restore_history()[0] >= 1
        session.undo()
        assert {store.detection(s.detection_id).review for s in second_sightings} == {ReviewState.PENDING}
    assert surveys.apply_decisions(survey) == 0
    with ProjectStore.open(survey.project_path(survey.flight(second))) as store:
        assert {store.detection(s.detection_id).review for s in second_sightings} == {ReviewState.PENDING}
        assert ReviewSession(store, store.latest_run_id()).restore_history() == (0, 1)  # the redo kept


def test_the_cli_takes_a_flight_out_of_a_survey_and_names_an_unknown_one(flights, tmp_path, capsys):
    from app.cli import main

    survey = _survey(tmp_path / "survey", flights, [1, 2])
    first, second = (f.name for f in survey.flights)
    assert main(["survey", "remove", str(survey.folder), first]) == 0
    out = capsys.readouterr().out
    assert f"--name {first}" in out and str(survey.project_path(survey.flight(first))) in out
    assert [f.name for f in Survey.open(survey.folder).flights] == [second]
    assert survey.project_path(survey.flight(first)).is_file()
    assert main(["survey", "remove", str(survey.folder), first]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"has no flight {first!r}" in err and second in err


def test_the_survey_grades_the_towns_buildings_from_every_flight(flights, tmp_path, capsys):
    from app.cli import main
    from core.errors import InputError
    from geo.footprints import read_footprints
    from geo.grading import NOT_ASSESSED, grade_buildings
    from services.package import set_product_sources, update_product_info

    survey = _survey(tmp_path / "survey", flights, [1, 2, 3])
    truth = flights[1].truth
    built = surveys.survey_map(survey)
    with pytest.raises(InputError, match="no building footprints"):
        surveys.export_survey(built, tmp_path / "none", survey=survey, formats=["buildings"])
    # footprints and basemap set on one flight's project, as for its relief package: the survey's export finds them
    assert flights[1].orthophoto is not None and flights[1].orthophoto.is_file()
    with ProjectStore.open(survey.project_path(survey.flights[1])) as store:
        set_product_sources(store, footprints=truth, basemap=flights[1].orthophoto)
        update_product_info(store, event="Hurricane Michael", glide="TC-2018-000166-USA", organisation="MapAction")
    written = surveys.export_survey(built, tmp_path / "out", survey=survey,
                                    formats=["buildings", "readme", "html", "print"])
    assert {p.name for p in written} == {"survey_buildings.geojson", "survey_README.txt", "survey_map.html",
                                         "survey_map.png", "survey_map.pdf"}
    html = (tmp_path / "out" / "survey_map.html").read_text()
    assert "Basemap (offline orthophoto)" in html and "data:image/" in html
    readme = (tmp_path / "out" / "survey_README.txt").read_text()  # the event, as the flight's package has it
    assert "Event: Hurricane Michael" in readme and "GLIDE number: TC-2018-000166-USA" in readme
    assert "Organisation: MapAction" in readme
    assert f"footprints from {truth.name}," in readme and str(truth.parent) not in readme  # no local path goes out
    dated = [line.split(": ", 1)[1] for line in readme.splitlines() if line.startswith(("day1: ", "day2: ", "day3: "))]
    assert len(dated) == 3 and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.split(",")[0]) for d in dated)  # days
    import pyogrio

    surveys.export_survey(built, tmp_path / "gpkg", survey=survey, formats=["gpkg"])
    layer = pyogrio.read_info(tmp_path / "gpkg" / "survey.gpkg", layer="buildings")
    assert layer["dtypes"][list(layer["fields"]).index("best_time")].startswith("datetime64")  # as the package's
    assert re.findall(r'"className": "dm-building dm-building-\w+"', html)  # the graded buildings online too
    graded = {f["properties"]["building_id"]: f["properties"]
              for f in json.loads((tmp_path / "out" / "survey_buildings.geojson").read_text())["features"]}
    levels = {str(f["properties"]["id"]): f["properties"]["level"] for f in json.loads(truth.read_text())["features"]}
    assessed = {i for i, props in graded.items() if props["level"] != NOT_ASSESSED}
    # what each flight alone assesses, the survey assesses too, and grades as the truth has it
    footprints = read_footprints(truth)
    singles = [[b for b in grade_buildings(f.damage_map, footprints).buildings if b.level != NOT_ASSESSED]
               for f in built.flights]
    alone = [{b.building_id for b in single} for single in singles]
    assert len(assessed) >= max(map(len, alone)) and len(assessed & set().union(*alone)) >= 0.95 * len(set().union(*alone))
    right = sum(graded[i]["level"] == levels[i] for i in assessed)
    assert right >= max(sum(b.level == levels[b.building_id] for b in single) for single in singles)
    assert right / len(assessed) >= min(sum(b.level == levels[b.building_id] for b in single) / len(single)
                                        for single in singles)
    several = [props for props in graded.values() if props["flights"] and "," in props["flights"]]
    assert several  # damage on one roof seen by two or three flights: one grade, every flight named
    # the command line takes the footprints too
    assert main(["survey", "export", str(survey.folder), "--to", str(tmp_path / "cli"), "--formats", "buildings",
                 "--footprints", str(truth)]) == 0
    assert json.loads((tmp_path / "cli" / "survey_buildings.geojson").read_text())["features"]


def test_footprints_and_basemap_a_flight_names_that_went_away_leave_the_export_going(flights, tmp_path):
    from core.errors import InputError
    from services.package import set_product_sources

    survey = _survey(tmp_path / "survey", flights, [1, 2])
    moved = tmp_path / "moved"
    moved.mkdir()
    footprints, basemap = moved / "footprints.geojson", moved / "nadir.tif"
    footprints.write_bytes(flights[1].truth.read_bytes())
    basemap.write_bytes(flights[1].orthophoto.read_bytes())
    with ProjectStore.open(survey.project_path(survey.flights[0])) as store:
        set_product_sources(store, footprints=footprints, basemap=basemap)
    footprints.unlink()
    basemap.unlink()  # the files were moved after the projects named them
    built = surveys.survey_map(survey)
    written = surveys.export_survey(built, tmp_path / "out", survey=survey, formats=["csv", "html", "readme"])
    assert {p.name for p in written} == {"survey_sites.csv", "survey_map.html", "survey_README.txt"}
    readme = (tmp_path / "out" / "survey_README.txt").read_text()
    assert "no building graded" in readme and "footprints.geojson" in readme
    assert "no basemap drawn" in readme and "nadir.tif" in readme
    # given by name, the same files are refused by name
    with pytest.raises(InputError, match="footprints.geojson"):
        surveys.export_survey(surveys.survey_map(survey), tmp_path / "out2", survey=survey,
                              formats=["csv", "readme"], footprints=footprints)


def test_a_flights_status_counts_its_frames_that_were_no_look_at_the_ground(tmp_path, sites_flyover):
    from app.dialogs.survey_dialog import analysed_text
    from core.frame_quality import FrameQuality

    survey = surveys.create_survey(tmp_path / "town")
    record = surveys.add_flight(survey, Path(sites_flyover.video))
    with ProjectStore.open(survey.project_path(record)) as store:
        run = store.start_run(model={}, settings={})
        for index in range(10):  # frame 4 black: the lens covered
            quality = FrameQuality(3.0, 1.0, 0.2) if index == 4 else FrameQuality(120.0, 30.0, 400.0)
            store.write_frame(run, Frame(index, index / 10, 320, 180, quality=quality), [])
        store.finish_run(run)
    [status] = surveys.flight_statuses(Survey.open(tmp_path / "town"))
    assert (status.frames_analysed, status.frames_no_look) == (10, 1)
    assert analysed_text(status) == "10 frames, 1 too dark or blurred"


def test_a_flight_whose_telemetry_stops_before_its_video_says_so_in_survey_info(sites_truth, tmp_path, capsys):
    """A log cut short leaves the last analysed frame with no pose: the flight's own export
    says so, and so do `survey info` on its line (not plain "complete") and the survey's
    notes, naming the flight and the frames."""
    from app.cli import main
    from tests.truth_runs import write_run

    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy2(sites_truth.video, videos / "monday.mp4")
    blocks = Path(sites_truth.srt).read_text(encoding="utf-8").strip().split("\n\n")
    (videos / "monday.SRT").write_text("\n\n".join(blocks[:4]) + "\n", encoding="utf-8")  # the log stops at 0.4 s
    survey = surveys.create_survey(tmp_path / "town")
    record = surveys.add_flight(survey, videos / "monday.mp4")
    with ProjectStore.open(survey.project_path(record)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)  # frames 0, 5 and 10 (1.0 s)

    assert any(note.startswith("flight monday: 1 analysed frame has no usable telemetry (frame 11, counted from 1")
               for note in surveys.survey_map(survey).notes)
    assert main(["survey", "info", str(survey.folder)]) == 0
    out, err = capsys.readouterr()
    (line,) = [line for line in out.splitlines() if line.strip().startswith("monday")]
    assert "3 frames (complete; 1 with no usable telemetry, not on the map)" in line
    assert "flight monday: 1 analysed frame has no usable telemetry" in err
    assert main(["survey", "info", str(survey.folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["flights"][0]["frames_no_telemetry"] == 1


def test_the_survey_manifest_is_readable_as_any_file_the_user_makes(tmp_path):
    previous = os.umask(0o022)
    try:
        survey = Survey.create(tmp_path / "shared", "team")
        survey.update(lambda fresh: fresh.add_decision(
            PlaceDecision(-85.0, 30.0, ReviewState.ACCEPTED, None, "analyst")))  # written again, under the lock
    finally:
        os.umask(previous)
    assert (survey.folder / "survey.json").stat().st_mode & 0o777 == 0o644  # not 0600: a team shares it


def test_survey_decide_names_the_sites_its_decision_joined_or_parted():
    from types import SimpleNamespace

    from app.commands.survey import _other_sites_changed

    def site(number, level, flights, lon):
        return SimpleNamespace(id=number, level=level, flights=flights, lon_deg=lon, lat_deg=30.0)

    before = SimpleNamespace(sites=[site(10, DamageLevel.DEBRIS, ("day2",), -85.00006),
                                    site(15, DamageLevel.DEBRIS, ("day3",), -85.0), site(3, DamageLevel.SLIGHT, ("day1",), -85.01)])
    after = SimpleNamespace(sites=[site(15, DamageLevel.SEVERE, ("day2", "day3"), -85.00003),
                                   site(3, DamageLevel.SLIGHT, ("day1",), -85.01), site(16, DamageLevel.SLIGHT, ("day1",), -85.02)])
    assert _other_sites_changed(before, after, {15}) == [
        "site 10 (Debris, day2) joined site 15, now Severe", "site 16 (Slight) parted off"]
    assert _other_sites_changed(before, before, {15}) == []
    # site 2 rejected on day1: day2's site at its place, joined to site 3 with day1's, goes with it
    before = SimpleNamespace(sites=[site(2, DamageLevel.SLIGHT, ("day1",), -85.0),
                                    site(3, DamageLevel.SLIGHT, ("day1", "day2"), -85.00004)])
    after = SimpleNamespace(sites=[site(3, DamageLevel.SLIGHT, ("day1",), -85.00004)])
    assert _other_sites_changed(before, after, {2}) == ["site 3 (Slight) lost day2's sighting, now seen by day1"]


def test_a_flight_name_refused_leaves_no_project_behind(flights, tmp_path):
    """`survey add ... --name "Mon, AM"` was refused once the flight's project was made:
    `flights/Mon, AM.dmproj` stayed in the survey's folder."""
    from services import survey as surveys

    survey = surveys.create_survey(tmp_path / "town")
    with pytest.raises(SurveyError, match="flight name 'Mon, AM': use letters"):
        surveys.add_flight(survey, flights[2].video, name="Mon, AM")
    assert not (survey.folder / "flights").exists() or not list((survey.folder / "flights").iterdir())
    assert Survey.open(survey.folder).flights == []


@pytest.mark.parametrize("drone", ["Mavic\x1b[2J\n3", "Mavic \u202e3", "Mavic 3 " * 40])
def test_a_drone_that_is_not_one_line_of_text_is_refused_before_the_flight_s_project_is_made(flights, tmp_path, drone):
    """--drone is listed beside its flight in the survey's README: a line break, a terminal
    escape or a page of text there was written into survey.json and every README."""
    from core.errors import InputError
    from services import survey as surveys

    survey = surveys.create_survey(tmp_path / "town")
    with pytest.raises(InputError, match=r"--drone .*: give one line of text \(at most 200 characters\)") as refused:
        surveys.add_flight(survey, flights[2].video, name="monday", drone=drone)
    assert len(str(refused.value)) < 200
    assert not (survey.folder / "flights").exists() or not list((survey.folder / "flights").iterdir())
    assert Survey.open(survey.folder).flights == []
    assert surveys.add_flight(survey, flights[2].video, name="monday", drone="Mavic 3 · équipe B").drone \
        == "Mavic 3 · équipe B"


@pytest.mark.parametrize("edit", [{"decisions": "none"}, {"decisions": [{"lon_deg": -85.0, "lat_deg": 30.0,
                                                                         "state": "accepted", "applied": "x"}]},
                                  {"flights": {"a": 1}}, {"flights": ["a"]}])
def test_a_manifest_edited_by_hand_into_the_wrong_shape_is_named(tmp_path, edit):
    """``"decisions": "none"`` ended in a traceback (``'str' object has no attribute 'get'``)."""
    survey = Survey.create(tmp_path / "s", "s")
    manifest = survey.folder / "survey.json"
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | edit))
    with pytest.raises(SurveyError, match="survey.json'.*not a readable survey manifest"):
        Survey.open(survey.folder)


_FLIGHT = {"name": "a", "project": "flights/a.dmproj", "video": "a.mp4", "telemetry": None, "date": "2018-10-12",
           "drone": None, "added_utc": "2018-10-12T16:00:00+00:00"}


@pytest.mark.parametrize(("edit", "said"), [
    ({"flights": [_FLIGHT | {"project": None}]}, "flight 1: 'project' is null"),
    ({"flights": [_FLIGHT, {k: v for k, v in _FLIGHT.items() if k != "project"}]}, "flight 2: 'project' is missing"),
    ({"flights": [_FLIGHT | {"project": 5}]}, "flight 1: 'project' must be text, not 5"),
    ({"flights": [_FLIGHT | {"video": " "}]}, "flight 1: 'video' is empty"),
    ({"flights": [_FLIGHT | {"date": "yesterday"}]}, "flight 1: 'date' 'yesterday' is not an ISO date"),
    ({"flights": [_FLIGHT, _FLIGHT | {"project": "flights/b.dmproj"}]}, "flights 1 and 2 are both named 'a'"),
    ({"flights": [_FLIGHT | {"video_identity": "a.mp4"}]},
     "flight 1: 'video_identity' must be an object, not \"a.mp4\""),
    ({"flights": [_FLIGHT | {"video_identity": {"name": "a.mp4", "size_bytes": 4096, "frames": "sixty",
                                                "duration_s": 2.0}}]},
     "flight 1: 'video_identity': 'frames' must be a number, not \"sixty\""),
    ({"name": None}, "'name' is null"),
    ({"name": "Hurricane\nMichael"}, "'name' 'Hurricane\\nMichael' is not one line of text"),
    ({"name": "north\u202eblock"}, "'name' 'north\\u202eblock' is not one line of text"),
    ({"decisions": [{"lat_deg": 30.0, "review": "accepted"}]}, "decision 1: 'lon_deg' is missing"),
])
def test_a_manifest_edited_by_hand_with_wrong_values_names_the_field(tmp_path, capsys, edit, said):
    """``"project": null`` became a project at '…/None', ``"name": null`` a survey 'None', a date
    'yesterday' was shown as a date and two flights 'a' were both listed; a flight without a
    project said only "('project')". The survey is never written back: the edit stays to fix."""
    from app.cli import main

    survey = Survey.create(tmp_path / "s", "s")
    manifest = survey.folder / "survey.json"
    edited = json.dumps(json.loads(manifest.read_text()) | edit)
    manifest.write_text(edited)
    with pytest.raises(SurveyError) as info:
        Survey.open(survey.folder)
    message = str(info.value)
    assert "survey.json'" in message and said in message and "\n" not in message
    assert main(["survey", "info", str(survey.folder)]) == 2
    assert said in capsys.readouterr().err
    with pytest.raises(SurveyError, match=re.escape(said)):  # a change reads the manifest afresh: refused, not written
        survey.update(lambda fresh: fresh.add_decision(PlaceDecision(-85.0, 30.0, ReviewState.ACCEPTED, None, "me")))
    assert manifest.read_text() == edited


def test_a_manifest_with_right_values_still_opens(tmp_path):
    survey = Survey.create(tmp_path / "s", "s")
    manifest = survey.folder / "survey.json"
    second = _FLIGHT | {"name": "b", "project": "/elsewhere/b.dmproj", "date": "2018-10-12T15:00:00Z", "drone": "m3"}
    manifest.write_text(json.dumps(json.loads(manifest.read_text()) | {"flights": [_FLIGHT, second]}))
    opened = Survey.open(survey.folder)
    assert [(f.name, f.project, f.date, f.telemetry) for f in opened.flights] == [
        ("a", "flights/a.dmproj", "2018-10-12", None), ("b", "/elsewhere/b.dmproj", "2018-10-12T15:00:00Z", None)]


def test_a_flight_s_view_withheld_after_a_change_says_nothing_of_the_sites_changed_or_near_them():
    """While the survey is read again after a decision in the window, the flight's view says
    nothing of the sites the decision touched nor of its sites near them (a split's other
    part), nor the other flights' survey numbers; the rest as it was read. A change it
    cannot place (from outside the window, a site it does not know) withholds every site."""
    from services.survey import CHANGE_REACH_M, FlightInSurvey, SiteElsewhere, SiteInSurvey

    monday = SiteElsewhere("monday", "2018-10-12", 4, DamageLevel.SEVERE, 10.0, 50.0, False, survey_site_id=3)
    near, far = 10.0 + CHANGE_REACH_M / 2 / 71_700, 10.001  # a degree of longitude is about 71.7 km at 50°N
    view = FlightInSurvey(
        Path("tuesday.dmproj"), (monday,),
        {1: SiteInSurvey(3, ("monday",), (), 10.0, 50.0), 2: SiteInSurvey(5, (), (), near, 50.0),
         3: SiteInSurvey(6, (), (), far, 50.0)},
        {1: (10.0, 50.0), 2: (near, 50.0), 3: (far, 50.0), 7: (10.002, 50.0)})
    withheld = view.withheld({1})
    assert withheld.site_context(1, 10.0, 50.0) is None
    assert withheld.site_context(2, near, 50.0) is None  # within reach of the change
    assert withheld.site_context(3, far, 50.0) == view.sites[3]
    assert view.withheld({7}).sites.keys() == {1, 2, 3}  # an unconfirmed site decided, far away
    assert [s.survey_site_id for s in withheld.elsewhere] == [None]
    assert [(s.flight, s.site_id) for s in withheld.elsewhere] == [("monday", 4)]  # still drawn
    assert view.withheld(None).sites == {} and view.withheld({8}).sites == {}
    assert view.sites.keys() == {1, 2, 3} and view.elsewhere == (monday,)  # the view read is left as it was
