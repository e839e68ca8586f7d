"""The footprints and basemap of a project's products: a file given on the command line
is read before anything is stored, and stored only once the export that uses it
succeeded; a stored file that stops working is named as the project's, with how to clear it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app.cli import main
from core.store import ProjectStore
from services.package import product_sources, set_product_sources, trying_product_sources
from tests.truth_runs import write_run

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

EMPTY = {"type": "FeatureCollection", "features": []}


@pytest.fixture(scope="module")
def flyover(flyover_once):
    """4 s at 10 fps, 320x180, with the scene's footprints and nadir orthophoto."""
    return flyover_once("package-sources", seconds=4.0, fps=10.0, size=(320, 180), seed=2)


@pytest.fixture
def project(flyover, tmp_path) -> Path:
    """A project holding the flyover's ground truth as one run."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.annotations)
    path = tmp_path / "flyover.dmproj"
    with ProjectStore.create(path, video_path=flyover.video, telemetry_path=flyover.srt) as store:
        write_run(store, detections, times, model={"name": "ground truth"})
    return path


def stored_sources(project: Path) -> tuple[Path | None, Path | None]:
    with ProjectStore.open(project) as store:
        return product_sources(store)


def footprints_moved_east(flyover, path: Path, degrees: float = 1.0) -> Path:
    """The scene's footprints some 100 km away: a good file that does not cover the flight."""
    doc = json.loads(Path(flyover.footprints).read_text())
    for feature in doc["features"]:
        geometry = feature["geometry"]
        rings = geometry["coordinates"] if geometry["type"] == "Polygon" else \
            [ring for polygon in geometry["coordinates"] for ring in polygon]
        for ring in rings:
            for point in ring:
                point[0] += degrees
    path.write_text(json.dumps(doc))
    return path


def export(project: Path, out: Path, *flags: str) -> int:
    return main(["export", str(project), "--to", str(out), "--no-thumbnails", *flags])


def test_a_footprints_file_that_cannot_give_buildings_is_refused_and_not_stored(project, tmp_path, capsys):
    empty = tmp_path / "emptyfp.geojson"
    empty.write_text(json.dumps(EMPTY))
    # --formats csv reads no footprints: the file is checked all the same
    assert export(project, tmp_path / "a", "--formats", "csv", "--footprints", str(empty)) == 2
    assert f"{empty}: no building polygons in the file" in capsys.readouterr().err
    assert stored_sources(project) == (None, None)
    assert not (tmp_path / "a").exists()
    assert export(project, tmp_path / "b", "--formats", "html") == 0  # later exports are not broken


def test_a_basemap_that_is_no_georeferenced_raster_is_refused_and_not_stored(flyover, project, tmp_path, capsys):
    assert export(project, tmp_path / "a", "--formats", "csv", "--basemap", str(flyover.gpx)) == 2
    assert f"{flyover.gpx}: cannot read the basemap" in capsys.readouterr().err
    assert stored_sources(project) == (None, None)


def test_the_files_are_stored_only_once_the_export_succeeded(flyover, project, tmp_path, capsys):
    far = footprints_moved_east(flyover, tmp_path / "far.geojson")
    assert export(project, tmp_path / "a", "--package", "--footprints", str(far)) == 2
    assert "no building polygons in the file over the area flown" in capsys.readouterr().err
    assert stored_sources(project) == (None, None)
    assert export(project, tmp_path / "b", "--formats", "html", "--footprints", str(flyover.footprints),
                  "--basemap", str(flyover.orthophoto)) == 0
    assert f"kept --footprints, --basemap in {project}: later exports" in capsys.readouterr().out
    assert "dm-building-" in (tmp_path / "b" / "damage_map.html").read_text()  # used by the export that stored them
    assert stored_sources(project) == (Path(flyover.footprints).resolve(), Path(flyover.orthophoto).resolve())


def test_the_files_tried_are_used_inside_the_block_and_stored_after_it(flyover, project):
    with ProjectStore.open(project) as store:
        with pytest.raises(RuntimeError), trying_product_sources(store, footprints=flyover.footprints):
            assert product_sources(store)[0] == Path(flyover.footprints).resolve()
            raise RuntimeError("the export failed")
        assert product_sources(store) == (None, None)
        with trying_product_sources(store, footprints=flyover.footprints):
            pass
        assert product_sources(store)[0] == Path(flyover.footprints).resolve()
        with trying_product_sources(store, footprints=""):
            assert product_sources(store)[0] is None
        assert product_sources(store) == (None, None)


def test_a_stored_file_that_stopped_working_is_named_with_how_to_clear_it(flyover, project, tmp_path, capsys):
    footprints = tmp_path / "footprints.geojson"
    footprints.write_text(Path(flyover.footprints).read_text())
    with ProjectStore.open(project) as store:
        set_product_sources(store, footprints=footprints)
    footprints_moved_east(flyover, footprints)  # the file was replaced by one of another town
    assert export(project, tmp_path / "a", "--formats", "html") == 2
    error = capsys.readouterr().err
    assert f"{footprints}: no building polygons" in error
    assert "the project's stored footprints file" in error and '--footprints ""' in error
    assert export(project, tmp_path / "b", "--formats", "html", "--footprints", "") == 0
    printed = capsys.readouterr().out
    assert f"cleared --footprints in {project}" in printed and "kept" not in printed, printed
    assert stored_sources(project) == (None, None)


def test_the_app_check_refuses_a_bad_file_before_storing_it(project, tmp_path):
    from core.errors import InputError

    empty = tmp_path / "emptyfp.geojson"
    empty.write_text(json.dumps(EMPTY))
    with ProjectStore.open(project) as store:
        with pytest.raises(InputError, match="no building polygons"):
            set_product_sources(store, footprints=empty)
        assert product_sources(store) == (None, None)


def test_the_apps_export_stores_the_package_files_only_once_it_used_them(flyover, project, tmp_path):
    """File > Export…'s relief package: the dialog checks the files; the export stores
    them, and only when it succeeded (footprints some 100 km off the flight fail it)."""
    from app.dialogs.export_dialog import ExportChoice
    from app.workers import export_job
    from core.errors import DamagemapError

    far = footprints_moved_east(flyover, tmp_path / "far.geojson")
    choice = ExportChoice(out_dir=tmp_path / "out", formats=("geojson", "package"),
                          options={"package": {"footprints": str(far), "basemap": ""}})
    with pytest.raises(DamagemapError):
        export_job(project, None, choice)
    assert stored_sources(project) == (None, None)
    good = ExportChoice(out_dir=tmp_path / "out2", formats=("geojson", "package"),
                        options={"package": {"footprints": str(flyover.footprints), "basemap": ""}})
    assert export_job(project, None, good).written
    assert stored_sources(project)[0] == Path(flyover.footprints).resolve()


def test_the_stored_files_follow_a_project_moved_with_them(flyover, project, tmp_path):
    """Stored beside the project, the footprints and basemap move with it, as its video
    and telemetry do (they were kept as absolute paths only, and a moved project lost them)."""
    import shutil

    footprints = Path(shutil.copy2(flyover.footprints, tmp_path / "footprints.geojson"))
    with ProjectStore.open(project) as store:
        set_product_sources(store, footprints=footprints)
    moved = tmp_path / "handed-over"
    moved.mkdir()
    shutil.move(project, moved / project.name)
    shutil.move(footprints, moved / footprints.name)
    assert stored_sources(moved / project.name)[0] == moved / footprints.name
    # a project copied without it looks beside itself, as the original had it (and names that file if missing)
    (tmp_path / "copy").mkdir()
    shutil.copy2(moved / project.name, tmp_path / "copy" / project.name)
    assert stored_sources(tmp_path / "copy" / project.name)[0] == tmp_path / "copy" / footprints.name


def test_the_app_grades_the_buildings_again_after_a_decision_without_covering_them_again(flyover, project, monkeypatch):
    """The window grades the footprints after every review decision: the file is read and
    its coverage by the frames computed once (neither changes with a decision), the
    grades follow the decision."""
    import geo.coverage
    from core.sites import site_decision
    from core.review import ReviewSession
    from core.types import ReviewState
    from services.maps import display_buildings
    from services.sites import site_review

    from services.maps import clear_cache

    with ProjectStore.open(project) as store:
        set_product_sources(store, footprints=Path(flyover.footprints))
    clear_cache()
    covered = []
    cover = geo.coverage.footprint_coverage
    monkeypatch.setattr(geo.coverage, "footprint_coverage", lambda *a, **k: covered.append(1) or cover(*a, **k))
    before = {b.label: 0 for b in display_buildings(project)}
    graded = display_buildings(project)
    for b in graded:
        before[b.label] += 1
    with ProjectStore.open(project) as store:
        review = site_review(store)
        ReviewSession(store, review.run_id).apply(site_decision(review.queue[0].site, ReviewState.REJECTED))
    after = {b.label: 0 for b in graded}
    for b in display_buildings(project):
        after[b.label] = after.get(b.label, 0) + 1
    assert len(covered) == 1
    assert after != before  # the rejected site's building is graded anew
