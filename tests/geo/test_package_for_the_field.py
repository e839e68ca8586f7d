"""The relief package as a field team receives it: a zip opened by people who never saw
damagemap, on a phone or a laptop with no network."""

from __future__ import annotations

import re
import zipfile
import xml.etree.ElementTree as ET

import pytest

KML = "{http://www.opengis.net/kml/2.2}"


@pytest.fixture(scope="module")
def package(flyover_map, tmp_path_factory):  # noqa: ANN001, ANN201 - a geo.export.package.PackageResult
    from geo.export.package import write_package
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Test", analyst="A. Analyst", organisation="Red Cross", version=2)
    return write_package(damage_map, tmp_path_factory.mktemp("package"), info=info,
                         provenance={"produced": "2026-01-02 03:04 UTC"})


def _readme(package) -> str:  # noqa: ANN001
    with zipfile.ZipFile(package.zip_path) as archive:
        return archive.read(f"{package.name}/README.txt").decode("utf-8")


def _section(readme: str, title: str) -> str:
    found = re.search(rf"^{re.escape(title)}\n-+\n((?:.+\n)+)", readme, re.MULTILINE)
    assert found, f"no section {title!r} in the README"
    return found.group(1)


def test_the_readme_says_what_to_open_first_on_each_device(package):
    readme = _readme(package)
    first = _section(readme, "Open first")
    assert readme.index("Open first") < readme.index("Event\n")  # before the provenance
    for file in (f"{package.name}_map.html", f"{package.name}.kmz", f"{package.name}_map.pdf", f"{package.name}.gpkg"):
        assert f"    {file}\n" in first  # each on a line of its own, as it is named in the folder
    assert "no network" in first and "Site number" in first


def test_the_readme_says_what_the_maps_do_not_show(package):
    missing = _section(_readme(package), "What the maps do NOT show")
    assert "outside the area the drone filmed" in missing and "does not mean no damage" in missing


@pytest.mark.parametrize(("doubtful", "said"), [
    (1, "- 1 unconfirmed site: detected in too few of the frames that showed its place"),
    (3, "- 3 unconfirmed sites: detected in too few of the frames that showed their place"),
])
def test_the_readme_counts_the_unconfirmed_sites_left_off_as_a_survey_s_does(flyover_map, doubtful, said):
    import dataclasses

    from geo.export.package import readme_text
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    unconfirmed = [dataclasses.replace(f, confirmed=False) for f in damage_map.fused[:doubtful]]
    damage_map = dataclasses.replace(damage_map, fused=damage_map.fused[doubtful:], unconfirmed=unconfirmed)
    readme = readme_text("flight", damage_map, info=ProductInfo(), layers=[], files=[], provenance={})
    missing = _section(readme, "What the maps do NOT show")
    assert said in missing and "left off every map here" in " ".join(missing.split())


def test_the_readme_names_the_sites_whose_dot_may_be_on_the_building_next_door(flyover_map):
    """"a site's dot can be off by a few metres (here a median of 3 m)" said nothing of the
    demo's four sites that may be 11 to 14 m off: a neighbour's roof."""
    import dataclasses

    from geo.export.package import readme_text
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    far = {damage_map.fused[1].site.id: 14.3, damage_map.fused[0].site.id: 11.0}
    fused = [dataclasses.replace(f, uncertainty_m=far.get(f.site.id, 2.04)) for f in damage_map.fused]
    readme = readme_text("flight", dataclasses.replace(damage_map, fused=fused), info=ProductInfo(), layers=[],
                         files=[], provenance={})
    missing = " ".join(_section(readme, "What the maps do NOT show").split())
    first, second = sorted(far)
    assert "(here a median of 2.0 m)" in missing  # as the processing notes round it
    assert f"2 sites may be more than 10 m off (up to 14 m): {first}, {second};" in missing
    near = [dataclasses.replace(f, uncertainty_m=2.0) for f in damage_map.fused]
    readme = readme_text("flight", dataclasses.replace(damage_map, fused=near), info=ProductInfo(), layers=[],
                         files=[], provenance={})
    assert "more than 10 m off" not in readme


def test_the_readme_says_what_each_level_means_beside_its_copernicus_grade(package):
    """The damage scale gave the names of four scales side by side, its heading's columns
    out of line with its rows, and never what a level looks like or how sure the
    correspondence is."""
    readme = _readme(package)
    table = _section(readme, "Damage scale").splitlines()
    assert len({tuple(k for k, c in enumerate(line) if c == "|") for line in table}) == 1  # one set of columns
    assert [line.split("|")[1].strip() for line in table[1:]] == [
        "Destroyed", "Damaged", "Possibly damaged", "No visible damage", "Not Applicable"]
    meanings = " ".join(readme[readme.index("What each level means"):].split())
    for level, seen in (("Debris", "collapsed"), ("Severe", "a large part of the roof gone"),
                        ("Slight", "part of the roof damaged"), ("No visible damage", "seen well"),
                        ("Not assessed", "not seen well enough")):
        assert f"{level} {seen}" in meanings
    assert "EMS-98" in meanings and "a suggestion to confirm" in meanings


def test_the_readme_s_file_list_says_the_kmz_outlines_the_area_filmed(package):
    """"Open first" said the KMZ holds the area filmed, the file list only "the sites by
    level and the track"."""
    files = " ".join(_section(_readme(package), "Files").split())
    kmz = files[files.index(f"{package.name}.kmz"):files.index(f"{package.name}_map.pdf")]
    assert "the track and the outline of the area filmed" in kmz


def test_the_readme_gives_the_median_uncertainty_as_its_processing_notes_do(package):
    """"here a median of 3 m" above, "site uncertainty: median 3.2 m" below."""
    readme = _readme(package)
    said = re.search(r"here a median of ([\d.]+) m", readme).group(1)
    noted = re.search(r"site uncertainty: median ([\d.]+) m", readme).group(1)
    assert said == noted


def test_the_readme_says_up_front_how_many_sites_a_person_checked(package, flyover_map):
    """"Reviewed by an analyst: 0 of 15" was the README's last word on it, under the
    damage scale: a map no one checked reads, up front, as the detector's alone."""
    import dataclasses

    from geo.export.package import readme_text
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    sites = len(damage_map.fused)
    missing = " ".join(_section(_readme(package), "What the maps do NOT show").split())
    assert not any(f.site.reviewed for f in damage_map.fused)
    assert f"- A person's check: none of the {sites} sites was reviewed on screen; each is the detector's alone." \
        in missing
    first = damage_map.fused[0]
    one = dataclasses.replace(damage_map, fused=[dataclasses.replace(first, site=dataclasses.replace(
        first.site, reviewed=True)), *damage_map.fused[1:]])
    readme = readme_text("flight", one, info=ProductInfo(), layers=[], files=[], provenance={})
    missing = " ".join(_section(readme, "What the maps do NOT show").split())
    assert f"1 of the {sites} sites was reviewed on screen; the other {sites - 1} are the detector's alone" in missing
    assert f"Reviewed by an analyst: 1 of {sites}" in readme  # as the counts further down say


def test_the_readme_explains_the_words_the_maps_use(package):
    words = _section(_readme(package), "Words on the maps")
    for word in ("best score", "best_score", "level agreement", "confidence", "uncertainty_m", "unconfirmed",
                 "reviewed"):
        assert word in words
    assert "not a probability" in words


def test_the_readme_says_the_maps_count_frames_from_1_and_the_files_from_0(package):
    """A site's popup says "Best frame 161" where the GeoPackage says best_frame 160: the
    README says which is which."""
    import pyogrio

    words = " ".join(_section(_readme(package), "Words on the maps").split())
    assert "frame one picture of the video, numbered from 1 on the maps" in words
    assert "(frame, best_frame, first_frame, last_frame) count from 0" in words
    sites = pyogrio.read_dataframe(package.folder / f"{package.name}.gpkg", layer="damage_sites")
    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        kml = ET.fromstring(kmz.read("doc.kml"))
    balloons = {p.get("id"): p.findtext(f"{KML}description") for p in kml.iter(f"{KML}Placemark")}
    site = sites[sites["first_frame"] < sites["last_frame"]].iloc[0]  # as the README says it
    assert f"(frames {site.first_frame + 1}-{site.last_frame + 1})" in balloons[f"site-{site.id}"]


def test_the_readme_says_whom_to_tell_and_how_old_it_is(package):
    contact = _section(_readme(package), "Contact and dates")
    assert "A. Analyst, Red Cross" in contact
    assert "Filmed: 2018-10-12" in contact and "Made: 2026-01-02 03:04 UTC, version 02" in contact


def test_the_kmz_outlines_the_area_filmed(package):
    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        kml = ET.fromstring(kmz.read("doc.kml"))
    outlines = [p for p in kml.iter(f"{KML}Placemark") if p.findtext(f"{KML}styleUrl") == "#area-filmed"]
    assert outlines and all(p.find(f"{KML}LineString") is not None for p in outlines)  # lines: every phone app draws them
    assert "not looked at" in outlines[0].findtext(f"{KML}name")
    styles = {s.get("id"): s for s in kml.iter(f"{KML}Style")}
    assert styles["area-filmed"].findtext(f"{KML}LineStyle/{KML}color")
    hrefs = [h.text for h in kml.iter(f"{KML}href")]
    assert hrefs and not [h for h in hrefs if "://" in h]  # every icon inside the KMZ: nothing to fetch


def test_the_area_of_interest_layer_is_the_outline_the_maps_draw(package):
    """A GIS opening the GeoPackage sees the "Area filmed" of the KMZ and the maps, not
    the saw-toothed union of the camera footprints, and its area_km2 is that outline's."""
    import pyogrio
    import shapely
    from shapely.geometry import Polygon

    gpkg = package.folder / f"{package.name}.gpkg"
    (area,) = pyogrio.read_dataframe(gpkg, layer="area_of_interest").itertuples()
    union = shapely.union_all(pyogrio.read_dataframe(gpkg, layer="camera_footprints").geometry.values)
    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        kml = ET.fromstring(kmz.read("doc.kml"))
    (drawn,) = [p.findtext(f"{KML}LineString/{KML}coordinates") for p in kml.iter(f"{KML}Placemark")
                if p.findtext(f"{KML}styleUrl") == "#area-filmed"]
    drawn = Polygon([tuple(map(float, point.split(",")[:2])) for point in drawn.split()])

    (layer,) = area.geometry.geoms
    assert len(layer.exterior.coords) == len(drawn.exterior.coords) < len(union.exterior.coords) / 2
    assert layer.symmetric_difference(drawn).area < 1e-4 * drawn.area  # the KMZ's outline, to its decimals
    assert area.area_km2 < _km2(union) and abs(area.area_km2 - _km2(layer)) < 1e-3 * area.area_km2
    assert "Area filmed" in area.source
    assert f"Area of interest: AOI01, the area filmed: {area.area_km2:g} km2 (layer area_of_interest)" in _readme(package)


def _km2(lonlat) -> float:  # noqa: ANN001 - a shapely polygon in WGS84
    from pyproj import Geod

    return abs(Geod(ellps="WGS84").geometry_area_perimeter(lonlat)[0]) / 1e6


def test_the_print_map_legend_says_outside_the_area_filmed_was_not_looked_at(flyover_map):
    from geo.export.print_map import draw_map
    from geo.export.products import camera_records

    damage_map, _ = flyover_map
    figure = draw_map(damage_map, camera=camera_records(damage_map))
    legend = figure.axes[1].get_legend()
    assert "Area filmed; outside it: not looked at" in [text.get_text() for text in legend.get_texts()]
