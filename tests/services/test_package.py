"""The relief package: one folder and zip with every layer, the maps and the provenance,
the same from the command line and the app."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from app.cli import main
from core.store import ProjectStore
from tests.truth_runs import write_run

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

NAME = "TC-2018-000166-USA_AOI02_GRA_DRONE_v03"


@pytest.fixture(scope="module")
def flyover(tmp_path_factory):
    """4 s at 10 fps, 320x180, with the scene's footprints and nadir orthophoto."""
    from engine.synth import render_flyover

    out = tmp_path_factory.mktemp("flyover")
    return render_flyover(out, seconds=4.0, fps=10.0, size=(320, 180), seed=2)


@pytest.fixture
def project(flyover, tmp_path) -> Path:
    """A project holding the flyover's ground truth as one run."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.annotations)
    path = tmp_path / "flyover.dmproj"
    with ProjectStore.create(path, video_path=flyover.video, telemetry_path=flyover.srt) as store:
        write_run(store, detections, times, model={"name": "ground truth", "weights": "/models/msnet.safetensors"})
    return path


@pytest.fixture
def scored_project(flyover, tmp_path) -> Path:
    """The flyover's ground truth as one run, with the scores a model gives spread from
    0.2 to 0.99: a threshold keeps some sightings of a site and drops others."""
    from geo.evaluation import detections_from_coco

    detections, times = detections_from_coco(flyover.annotations)
    scores = (0.2, 0.5, 0.8, 0.99)
    detections = [replace(d, score=scores[k % len(scores)]) for k, d in enumerate(detections)]
    path = tmp_path / "scored.dmproj"
    with ProjectStore.create(path, video_path=flyover.video, telemetry_path=flyover.srt) as store:
        write_run(store, detections, times, model={"name": "ground truth, scored"})
    return path


def _package_args(flyover, project, out):
    folder = Path(flyover.truth).parent
    return ["export", str(project), "--to", str(out), "--package", "--no-thumbnails",
            "--event", "Hurricane Michael", "--glide", "tc-2018-000166-usa", "--analyst", "A. Analyst",
            "--organisation", "Relief Org", "--area", "AOI02", "--product-version", "3",
            "--footprints", str(folder / "footprints.geojson"), "--basemap", str(folder / "nadir.tif")]


def test_cli_package_layers_maps_and_provenance(flyover, project, tmp_path, capsys):
    import pyogrio

    out = tmp_path / "out"
    assert main([*_package_args(flyover, project, out), "--include-unconfirmed"]) == 0
    printed = capsys.readouterr().out
    assert f"relief package {NAME}" in printed
    assert "the relief package holds the confirmed sites only" in printed  # not silently ignored
    folder = out / NAME
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["README.txt", f"{NAME}.gpkg", f"{NAME}.kmz", f"{NAME}_map.html", f"{NAME}_map.pdf", f"{NAME}_map.png"])
    assert not any(out.glob("*.geojson"))  # --package alone writes only the package
    with zipfile.ZipFile(out / f"{NAME}.zip") as archive:
        assert sorted(archive.namelist()) == sorted(f"{NAME}/{p.name}" for p in folder.iterdir())

    gpkg = folder / f"{NAME}.gpkg"
    layers = [name for name, _ in pyogrio.list_layers(gpkg)]
    with zipfile.ZipFile(folder / f"{NAME}.kmz") as kmz:  # the phone's copy: the same sites, nothing to fetch
        placemarks = kmz.read("doc.kml").decode().count('<Placemark id="site-')
        assert "files/site.png" in kmz.namelist()
        # found on a phone by the package's one title (its maps' and README's), not the video file's
        assert "<name>Damage map: Hurricane Michael (GLIDE TC-2018-000166-USA), 2018-" in kmz.read("doc.kml").decode()
    assert placemarks == len(pyogrio.read_dataframe(gpkg, layer="damage_sites")) > 0
    for layer in ("graded_buildings", "damage_sites", "observations", "coverage", "camera_footprints", "track",
                  "area_of_interest"):
        assert layer in layers
        assert pyogrio.read_info(gpkg, layer=layer)["crs"] == "EPSG:4326"
    buildings = pyogrio.read_dataframe(gpkg, layer="graded_buildings")
    for column in ("building_id", "level", "ems_grade", "xbd_damage", "xbd_subtype", "osm_damage", "confidence",
                   "site_ids", "best_frame", "sightings", "frames_seen", "nearest_m", "steepest_deg",
                   "roof_in_view", "seen_well"):
        assert column in buildings.columns
    assert set(buildings["ems_grade"]) <= {"Destroyed", "Damaged", "Possibly damaged", "No visible damage",
                                           "Not Applicable"}
    assert (buildings["level"] == "not_assessed").any()
    # one outline a building, in a layer of MultiPolygons as every polygon layer (the same type for every flight)
    assert set(buildings.geometry.geom_type) == {"MultiPolygon"}
    assert all(len(building.geoms) == 1 for building in buildings.geometry)
    damaged = buildings[buildings["site_ids"].notna()]
    assert len(damaged) and damaged["best_frame"].notna().all()
    coverage = pyogrio.read_dataframe(gpkg, layer="coverage").set_index("unit_id")
    graded = buildings[buildings["level"] != "not_assessed"]["building_id"]
    assert (coverage.loc[graded, "assessment"] == "assessed").all()  # the two layers agree on every building
    assert (coverage["assessment"] == "not assessed").sum() == (buildings["level"] == "not_assessed").sum()
    aoi = pyogrio.read_dataframe(gpkg, layer="area_of_interest")
    assert aoi["glide"].iloc[0] == "TC-2018-000166-USA" and aoi["area"].iloc[0] == "AOI02"

    readme = (folder / "README.txt").read_text()
    for text in ("Hurricane Michael", "TC-2018-000166-USA", "A. Analyst", "Relief Org", "ground truth",
                 "msnet.safetensors", "footprints.geojson", "nadir.tif", "PRELIMINARY", "2018-10-12"):
        assert text in readme
    assert "/footprints.geojson" not in readme and "/nadir.tif" not in readme  # no local path goes out with it
    # fewer damaged buildings than sites, and the README says why, with the GeoPackage's counts
    sites = pyogrio.read_dataframe(gpkg, layer="damage_sites")
    on_buildings = {int(i) for ids in damaged["site_ids"] for i in str(ids).split(",")}
    assert on_buildings <= set(sites["id"]) and len(damaged) < len(on_buildings)
    counts = re.search(r"(?:(\d+) of )?[Tt]he (\d+) damage sites lie on (\d+) buildings: a building with several takes "
                       r"the grade of its most severe one", " ".join(readme.split()))
    assert counts, readme[readme.index("Buildings by grade"):]
    assert (int(counts.group(1) or counts.group(2)), int(counts.group(2)), int(counts.group(3))) == (
        len(on_buildings), len(sites), len(damaged))
    # and why "Not assessed" counts fewer buildings than the flight did not see well
    not_seen_well = int((~buildings["seen_well"].astype(bool)).sum())
    graded_anyway = int((~buildings["seen_well"].astype(bool) & buildings["site_ids"].notna()).sum())
    assert not_seen_well - graded_anyway == (buildings["level"] == "not_assessed").sum()
    said = " ".join(readme[readme.index("Coverage units"):].split())
    assert "glimpsed: in view, never well enough to grade; not seen: in no analysed frame" in said
    if graded_anyway:
        assert f"{graded_anyway} building{'s' if graded_anyway > 1 else ''} not seen well " in said
    # one paragraph, as a survey's README opens, not a line cut short after "of oblique drone video;"
    assert ("Grades come from an automatic analysis\nof oblique drone video, reviewed where a reviewer decided (the "
            "'reviewed' attribute);\ncheck on the ground") in readme
    files = re.search(r"Files\n-+\n((?:.+\n)+)", readme).group(1).splitlines()
    column = files[0].index("GeoPackage")  # every description, first lines and the rest, in one column
    assert all(len(line) > column and line[column - 1] == " " and line[column] != " " for line in files), files
    html = (folder / f"{NAME}_map.html").read_text()
    assert '"pane": "dm-basemap"' in html and "data:image/webp;base64," in html  # the basemap, inline
    assert "dm-building-not_assessed" in html and "Hurricane Michael" in html
    pdf_bytes = (folder / f"{NAME}_map.pdf").read_bytes()
    assert pdf_bytes.startswith(b"%PDF") and len(re.findall(rb"/Type /Page\b(?!s)", pdf_bytes)) >= 2  # map + atlas
    assert "site atlas" in readme
    if shutil.which("pdftoppm"):  # the PDF renders (poppler)
        from PIL import Image

        pdf = folder / f"{NAME}_map.pdf"
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
        page = Image.open(tmp_path / "page.png").convert("RGB")
        assert page.width > page.height  # A4 landscape
        assert len(page.resize((64, 45)).getcolors(64 * 45)) > 50  # a map, not a blank page

    with ProjectStore.open(project) as store:  # the options travel with the project
        from services.package import product_info, product_sources

        info = product_info(store)
        assert (info.event, info.glide, info.version) == ("Hurricane Michael", "TC-2018-000166-USA", 3)
        assert product_sources(store)[0].name == "footprints.geojson"
    # ... and the project's plain HTML map shows the graded buildings on the basemap too
    assert main(["export", str(project), "--to", str(tmp_path / "maps"), "--formats", "html,sites",
                 "--no-thumbnails"]) == 0
    plain = (tmp_path / "maps" / "damage_map.html").read_text()
    assert "dm-building-" in plain and '"pane": "dm-basemap"' in plain
    assert (tmp_path / "maps" / "damage_sites.geojson").is_file()


def test_bad_options_are_refused_before_any_file(flyover, project, tmp_path, capsys):
    out = tmp_path / "out"
    args = _package_args(flyover, project, out)
    assert main([*args[:args.index("--glide") + 1], "storm-1", *args[args.index("--glide") + 2:]]) == 2
    assert "GLIDE number must look like" in capsys.readouterr().err
    assert main([*args[:-1], str(tmp_path / "missing.tif")]) == 2
    assert "no such basemap file" in capsys.readouterr().err


def test_without_footprints_coverage_is_a_grid(project, tmp_path):
    from services.package import PackageRequest, export_package

    with ProjectStore.open(project) as store:
        result = export_package(store, PackageRequest(tmp_path / "out", thumbnails=False))
    assert result.name == "DAMAGEMAP_AOI01_FEP_DRONE_v01"
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(result.folder / f"{result.name}.gpkg")]
    assert "graded_buildings" not in layers and "coverage" in layers
    cells = pyogrio.read_dataframe(result.folder / f"{result.name}.gpkg", layer="coverage")
    assert set(cells["unit"]) == {"cell"} and (cells["frames_seen"] > 0).any()
    assert set(cells["status"]) <= {"seen well", "glimpsed", "not seen"}
    # a first estimate has no graded buildings; its README counts the damage sites by level
    sites = pyogrio.read_dataframe(result.folder / f"{result.name}.gpkg", layer="damage_sites")
    readme = (result.folder / "README.txt").read_text()
    counts = re.search(r"Damage sites\n-+\n((?:.+\n)+)", readme).group(1)
    for level, grade in (("Debris", "Destroyed"), ("Severe", "Damaged"), ("Slight", "Possibly damaged")):
        assert f"{level}: {int((sites['level'] == level.lower()).sum())} ({grade})" in counts
    assert f"Reviewed by an analyst: 0 of {len(sites)}" in counts and len(sites) > 0
    assert "Buildings by grade" not in readme


def test_cli_and_app_write_the_same_package(qtbot, flyover, project, tmp_path, qapp):
    from app.dialogs.export_dialog import ExportChoice, ExportDialog
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from app.workers import wait_for_jobs
    from PySide6.QtCore import QSettings

    cli_dir, app_dir = tmp_path / "cli", tmp_path / "app"
    assert main(_package_args(flyover, project, cli_dir)) == 0

    dialog = ExportDialog(app_dir, has_telemetry=True, project=project)
    qtbot.addWidget(dialog)
    assert dialog.package_edits["glide"].text() == "TC-2018-000166-USA"  # read from the project
    assert dialog.version_spin.value() == 3
    dialog.package_box.setChecked(True)
    for check in dialog.format_checks.values():
        check.setChecked(False)
    choice = dialog.choice()
    assert choice.formats == ("package",)
    choice = replace(choice, out_dir=app_dir)

    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    try:
        assert window.open_path(project)
        with qtbot.waitSignal(window.export_finished, timeout=120_000):
            window.start_export(ExportChoice(app_dir, formats=("package",)))
    finally:
        wait_for_jobs()
        window.document.close()
    cli, app = cli_dir / NAME, app_dir / NAME
    assert (cli / f"{NAME}.gpkg").read_bytes() == (app / f"{NAME}.gpkg").read_bytes()

    def readme(folder):
        lines = (folder / "README.txt").read_text().splitlines()
        return [line for line in lines if not line.startswith(("Produced", "Made:"))]  # when each was made

    assert readme(cli) == readme(app)


def test_no_thumbnails_leaves_the_popups_bare_and_the_atlas_its_close_ups(project, tmp_path):
    """--no-thumbnails is about the HTML map's popups: the printed atlas is there to show
    each site's damage, and keeps its close-ups."""
    from services.export import ExportRequest, export_project

    def images(pdf: Path) -> int:
        return len(re.findall(rb"/Subtype\s*/Image", pdf.read_bytes()))

    counts = {}
    with ProjectStore.open(project) as store:
        for thumbnails in (True, False):
            out = tmp_path / f"thumbnails-{thumbnails}"
            result = export_project(store, ExportRequest(out, formats=(), package=True, thumbnails=thumbnails))
            assert result.package is not None
            folder = result.package.folder
            html = (folder / f"{result.package.name}_map.html").read_text()
            counts[thumbnails] = (images(folder / f"{result.package.name}_map.pdf"), "dm-closeup" in html)
            sites = len(result.damage_map.sites)
    assert sites > 0
    assert counts[True][0] == counts[False][0] >= sites  # a close-up per atlas card, either way
    assert counts[True][1] and not counts[False][1]


def test_the_kmz_shows_the_close_ups_beside_a_map_with_buildings_and_in_the_package(flyover, project, tmp_path):
    """The map files written beside an HTML map that draws the project's buildings, and
    the relief package, hold the same KMZ: a close-up in each site's balloon (none with
    --no-thumbnails)."""
    import zipfile

    from services.export import ExportRequest, export_project
    from services.package import set_product_sources

    def close_ups(kmz: Path) -> int:
        with zipfile.ZipFile(kmz) as archive:
            return sum(name.startswith("files/site-") for name in archive.namelist())

    with ProjectStore.open(project) as store:
        set_product_sources(store, footprints=Path(flyover.truth).parent / "footprints.geojson")
        for thumbnails in (True, False):
            out = tmp_path / f"thumbnails-{thumbnails}"
            result = export_project(store, ExportRequest(out, package=True, thumbnails=thumbnails))
            sites = len(result.damage_map.sites)
            packaged = result.package.folder / f"{result.package.name}.kmz"
            assert (close_ups(out / "damage_sites.kmz"), close_ups(packaged)) == ((sites, sites) if thumbnails else (0, 0))
    assert sites > 0


def test_every_site_lies_in_the_area_filmed(project, tmp_path):
    """The area of interest is the ground the frames saw: a damage found 160 m away was
    seen there, so the area reaches it (an analyst clipping to the area keeps it)."""
    import pyogrio
    import shapely

    from geo.coverage import detection_reach
    from geo.reach import farthest_reach_m
    from services.maps import damage_map
    from services.package import PackageRequest, export_package

    with ProjectStore.open(project) as store:
        assert max(farthest_reach_m(detection_reach(damage_map(store))).values()) > 150  # past the footprints' usual range
        result = export_package(store, PackageRequest(tmp_path / "out", thumbnails=False))
    gpkg = result.folder / f"{result.name}.gpkg"
    area = shapely.union_all(pyogrio.read_dataframe(gpkg, layer="area_of_interest").geometry.values)
    sites = pyogrio.read_dataframe(gpkg, layer="damage_sites")
    assert len(sites) > 5
    outside = [int(row.id) for row in sites.itertuples() if not area.buffer(1e-7).contains(row.geometry)]
    assert outside == []


def _export_at(store: ProjectStore, min_score: float, out: Path, **request):  # noqa: ANN003, ANN202
    """The package of ``store`` exported with the score threshold ``min_score``: its GeoPackage."""
    from services.package import PackageRequest, export_package

    store.set_project_settings(replace(store.project_settings(), min_score=min_score))
    result = export_package(store, PackageRequest(out, thumbnails=False, **request))
    return result.folder / f"{result.name}.gpkg"


def test_a_site_at_any_threshold_lies_in_the_area_filmed(scored_project, tmp_path):
    """A threshold that drops the sightings that reached farthest keeps the area filmed
    as it was, so a site it keeps still lies inside it."""
    import pyogrio
    import shapely

    with ProjectStore.open(scored_project) as store:
        for min_score in (0.0, 0.6):
            gpkg = _export_at(store, min_score, tmp_path / f"out-{min_score}")
            area = shapely.union_all(pyogrio.read_dataframe(gpkg, layer="area_of_interest").geometry.values)
            sites = pyogrio.read_dataframe(gpkg, layer="damage_sites")
            assert len(sites) > 0
            outside = [int(row.id) for row in sites.itertuples() if not area.buffer(1e-7).contains(row.geometry)]
            assert outside == [], min_score


def test_the_area_assessed_does_not_follow_the_score_threshold(flyover, scored_project, tmp_path):
    """The area of interest, and so the buildings graded and those the flight did not see
    well, are what the flight filmed: the same whatever score threshold the map is drawn
    at. Only a damage site can make a building not seen well assessed."""
    import pyogrio

    footprints = Path(flyover.truth).parent / "footprints.geojson"
    found = {}
    with ProjectStore.open(scored_project) as store:
        for min_score in (0.0, 0.97):
            gpkg = _export_at(store, min_score, tmp_path / f"out-{min_score}", footprints=footprints)
            area = pyogrio.read_dataframe(gpkg, layer="area_of_interest")
            grades = pyogrio.read_dataframe(gpkg, layer="graded_buildings")
            not_seen_well = set(grades.loc[~grades["seen_well"].astype(bool), "building_id"])
            graded_by_a_site = set(grades.loc[grades["site_ids"].fillna("") != "", "building_id"])
            assert set(grades.loc[grades["level"] == "not_assessed", "building_id"]) == not_seen_well - graded_by_a_site
            found[min_score] = (set(grades["building_id"]), float(area["area_km2"].iloc[0]), not_seen_well)
    assert found[0.0] == found[0.97]


def _on_a_read_only_share(project: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of ``project`` in a folder that cannot be written to (the export's folder can)."""
    import core.store as store_module

    share = tmp_path / "share"
    share.mkdir()
    copy = Path(shutil.copy2(project, share / project.name))
    real = os.access

    def access(path, mode, **kw):
        return False if mode & os.W_OK and Path(path).is_relative_to(share) else real(path, mode, **kw)

    monkeypatch.setattr(store_module.os, "access", access)
    return copy


def test_a_read_only_project_s_package_names_the_event_given_and_the_project_keeps_its_own(
        flyover, project, tmp_path, monkeypatch, capsys):
    """A project opened to view and export (a colleague's, on a read-only share) still
    gives the relief package with the event, producer, footprints and basemap given on the
    command line; the project is not written, and the output says so."""
    from services.package import product_info, product_sources

    project = _on_a_read_only_share(project, tmp_path, monkeypatch)
    before = project.read_bytes()
    out = tmp_path / "out"
    assert main(_package_args(flyover, project, out)) == 0
    printed = capsys.readouterr().out
    assert ("the project is read-only: --footprints, --basemap, --event, --glide, --analyst, --organisation, "
            "--area, --product-version made this export only; the project keeps its own") in printed, printed
    readme = (out / NAME / "README.txt").read_text()
    assert "Hurricane Michael" in readme and "A. Analyst" in readme and "footprints.geojson" in readme
    assert project.read_bytes() == before
    with ProjectStore.open(project, read_only=True) as store:
        assert product_info(store).event == "" and product_sources(store) == (None, None)


def test_the_app_exports_a_read_only_project_s_package_with_the_event_typed(qtbot, project, tmp_path, monkeypatch):
    """The Export dialog on a project opened read-only: the event typed is checked, used by
    the package, and not written into the project."""
    from app.dialogs.export_dialog import ExportDialog
    from app.workers import export_job
    from services.package import product_info

    project = _on_a_read_only_share(project, tmp_path, monkeypatch)
    before = project.read_bytes()
    dialog = ExportDialog(tmp_path / "out", has_telemetry=True, project=project)
    qtbot.addWidget(dialog)
    dialog.package_box.setChecked(True)
    for check in dialog.format_checks.values():
        check.setChecked(False)
    dialog.package_edits["event"].setText("Hurricane Typed")
    dialog.save_package_settings()  # what OK does first: no error on a read-only project
    export_job(project, None, dialog.choice())
    (readme,) = (tmp_path / "out").glob("*/README.txt")
    assert "Hurricane Typed" in readme.read_text()
    assert project.read_bytes() == before
    with ProjectStore.open(project, read_only=True) as store:
        assert product_info(store).event == ""


def test_the_contact_given_on_the_command_line_is_stored_and_edited_in_the_app(qtbot, project, tmp_path):
    """The package named its analyst and organisation but gave a field team no way to
    reach them: the contact is stored as the event is, read and written by the dialog."""
    from app.dialogs.export_dialog import ExportDialog
    from services.package import product_info

    out = tmp_path / "out"
    assert main(["export", str(project), "--to", str(out), "--package", "--no-thumbnails",
                 "--contact", "+33 6 12 34 56 78, VHF ch. 5"]) == 0
    assert "Reach them: +33 6 12 34 56 78, VHF ch. 5." in next(out.glob("*/README.txt")).read_text()
    with ProjectStore.open(project, read_only=True) as store:
        assert product_info(store).contact == "+33 6 12 34 56 78, VHF ch. 5"

    dialog = ExportDialog(tmp_path / "app", has_telemetry=True, project=project)
    qtbot.addWidget(dialog)
    assert dialog.package_edits["contact"].text() == "+33 6 12 34 56 78, VHF ch. 5"
    dialog.package_box.setChecked(True)
    dialog.package_edits["contact"].setText("  maps@relief.example ")
    assert dialog.choice().options["package"]["contact"] == "maps@relief.example"
    dialog.save_package_settings()
    with ProjectStore.open(project, read_only=True) as store:
        assert product_info(store).contact == "maps@relief.example"


def test_an_area_cleared_is_the_default_code_again(project):
    """`--area ""` left the README's "Area of interest:" blank and the map's line reading
    "· product version 01", while the package was named ..._AOI01_..."""
    from services.package import check_product_info, update_product_info

    with ProjectStore.open(project) as store:
        update_product_info(store, area="AOI07")
        assert check_product_info(store, area="").area == "AOI01"
        assert check_product_info(store, area="  ").area == "AOI01"
        assert check_product_info(store).area == "AOI07"  # not given: left as it is


def test_a_read_only_project_exports_at_the_threshold_moved_in_the_window(qtbot, project, tmp_path, monkeypatch):
    """Moved on a read-only project, the threshold could not be stored: the export did
    nothing (a traceback on the console), and the project could not be closed."""
    from app.dialogs.export_dialog import ExportChoice
    from app.document import ProjectDocument
    from app.workers import export_job

    shared = _on_a_read_only_share(project, tmp_path, monkeypatch)
    before = shared.read_bytes()
    doc = ProjectDocument()
    doc.open_path(shared)
    assert doc.store.read_only
    doc.set_score_threshold(0.99)
    doc.save_score_threshold()  # kept in the window, not stored: no error
    assert doc.unsaved_score_threshold == pytest.approx(0.99)
    import services.export

    real, used = services.export.export_project, []

    def recorded(store, request, **kwargs):
        used.append(kwargs.get("settings"))
        return real(store, request, **kwargs)

    monkeypatch.setattr(services.export, "export_project", recorded)
    export_job(shared, doc.run_id, ExportChoice(out_dir=tmp_path / "high", formats=("geojson",)),
               doc.unsaved_score_threshold)
    assert used[0].min_score == pytest.approx(0.99)  # the window's threshold, for this export
    assert (tmp_path / "high" / "damage_sites.geojson").is_file()
    doc.close()
    assert shared.read_bytes() == before


def test_characters_the_print_map_cannot_draw_are_said(project, tmp_path, capsys, monkeypatch):
    """A Chinese event name printed as empty boxes on the PDF, and nothing said so (here
    with no font for Chinese, whatever the machine has)."""
    from app.cli import main
    from geo.export import print_map

    monkeypatch.setattr(print_map, "print_fonts", lambda: (print_map.PRINT_FONT,))
    assert main(["export", str(project), "--to", str(tmp_path / "out"), "--package", "--no-thumbnails",
                 "--event", "台风山竹 Typhoon Mangkhut"]) == 0
    out = capsys.readouterr().out
    assert "note: the print map (PDF, PNG) cannot draw 台风山竹 (no font for them here)" in out
    assert "fonts-noto-cjk" in out  # what to install to print them
    assert main(["export", str(project), "--to", str(tmp_path / "latin"), "--package", "--no-thumbnails",
                 "--event", "Séisme d'Haïti"]) == 0
    assert "cannot draw" not in capsys.readouterr().out


def test_a_package_written_again_under_its_version_says_it_replaced_the_one_sent(project, tmp_path, capsys):
    """A v01 already sent on was rewritten with other grades under the same name, and
    nothing said so: two different products in the field, one name."""
    from app.cli import main

    args = ["export", str(project), "--to", str(tmp_path / "out"), "--package", "--no-thumbnails", "--event", "Ida"]
    assert main(args) == 0
    assert "replaced" not in capsys.readouterr().out
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "note: replaced IDA_AOI01_FEP_DRONE_v01, written " in out
    assert "--product-version 2" in out
    assert main([*args, "--product-version", "2"]) == 0
    assert "replaced" not in capsys.readouterr().out
    for _ in range(2):  # the last version there is: another name, not 99 again
        assert main([*args, "--product-version", "99"]) == 0
    out = capsys.readouterr().out
    assert "--product-version 99" not in out and "give this update another area code (--area" in out
