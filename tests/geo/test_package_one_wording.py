"""A relief package reads as one product: the same thing carries the same name in its
README, web map, KMZ balloons, print map, site atlas and GeoPackage, and its web and
print maps carry the same title (:mod:`geo.export.labels`). Read back from the files."""

from __future__ import annotations

import html
import re
import sqlite3
import xml.etree.ElementTree as ET
import zipfile

import pytest

from geo.export import labels

KML = "{http://www.opengis.net/kml/2.2}"
#: What the exports called these things before they had one name each.
OLD_NAMES = ("(EMS grade:", "Copernicus EMS:", "Copernicus EMS</td>", "Uncertain by", "confirmed by a reviewer",
             "reviewed: ", "EMS: ")


@pytest.fixture(scope="module")
def package(flyover_map, tmp_path_factory):  # noqa: ANN001, ANN201 - a geo.export.package.PackageResult
    from geo.export.package import write_package
    from geo.export.products import ProductInfo

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Test", glide="TC-2018-000166-USA", analyst="A. Analyst")
    return write_package(damage_map, tmp_path_factory.mktemp("package"), info=info)


def _web_map(package) -> str:  # noqa: ANN001
    return (package.folder / f"{package.name}_map.html").read_text(encoding="utf-8")


def _popups(page: str) -> list[str]:
    """The sites' popups, as the page gives them to Leaflet (JSON-escaped HTML)."""
    return [html.unescape(p.encode().decode("unicode_escape")) for p in re.findall(r'dm-popup\\?".*?</table>', page)]


def _kmz_descriptions(package) -> list[str]:  # noqa: ANN001
    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        kml = ET.fromstring(kmz.read("doc.kml"))
    return [p.findtext(f"{KML}description") for p in kml.iter(f"{KML}Placemark") if p.get("id", "").startswith("site-")]


def test_a_site_s_grade_uncertainty_and_review_carry_one_name_in_every_file(package, flyover_map):
    from geo.export.print_map import draw_site_atlas
    from geo.export.products import ProductInfo

    popups = _popups(_web_map(package))
    assert popups
    for popup in popups:
        for row in (labels.EMS_GRADE, labels.heading(labels.UNCERTAINTY), labels.heading(labels.BEST_FRAME),
                    labels.heading(labels.REVIEWED)):
            assert f"<td>{row}</td>" in popup, (row, popup)
    descriptions = _kmz_descriptions(package)
    assert descriptions
    for text in descriptions:
        assert f"({labels.EMS_GRADE}: " in text and f"; {labels.UNCERTAINTY} \u00b1" in text
        assert text.endswith(labels.REVIEWED)  # no one reviewed the flyover
    atlas = [t.get_text() for page in draw_site_atlas(flyover_map[0], info=ProductInfo(event="Hurricane Test"))
             for t in page.texts]
    assert any(t.startswith(f"{labels.EMS_GRADE}: ") for t in atlas)
    assert any(t.startswith(f"{labels.UNCERTAINTY} \u00b1") for t in atlas)
    assert f"{labels.REVIEWED}: no" in atlas
    readme = (package.folder / "README.txt").read_text(encoding="utf-8")
    for word in (labels.EMS_GRADE, labels.SIGHTINGS, labels.UNCERTAINTY, labels.REVIEWED):
        assert re.search(rf"^{re.escape(word)}\s|\s{re.escape(word)}:", readme, re.MULTILINE), word
    with sqlite3.connect(package.folder / f"{package.name}.gpkg") as gpkg:
        described = dict(gpkg.execute("SELECT table_name, description FROM gpkg_contents"))
    assert f'"{labels.heading(labels.AREA_FILMED)}"' in described["area_of_interest"]
    for text in (*popups, *descriptions, *atlas, readme, *described.values()):
        assert not any(old in text for old in OLD_NAMES), text


def test_the_web_map_and_the_print_map_carry_the_same_title(package, flyover_map):
    from geo.export.print_map import draw_map
    from geo.export.products import ProductInfo, map_title

    damage_map, _ = flyover_map
    info = ProductInfo(event="Hurricane Test", glide="TC-2018-000166-USA", analyst="A. Analyst")
    title = re.search(r"<title>(.*?)</title>", _web_map(package)).group(1)
    assert html.unescape(title) == map_title(damage_map, info)
    assert title.startswith(f"{labels.PRODUCT_TITLE}: Hurricane Test (GLIDE TC-2018-000166-USA)")
    panel = draw_map(damage_map, info=info).axes[1]
    heading, product = (" ".join(t.get_text().split()) for t in panel.texts[:2])  # wrapped to the panel
    assert (heading, product) == (html.unescape(title), labels.heading(labels.FIRST_ESTIMATE_PRODUCT))


def test_the_kmz_and_the_readme_carry_the_package_s_one_title(package, flyover_map):
    """A phone (Organic Maps, Google Earth) lists a KMZ by its document's name: the package's
    KMZ is named by the title its web map and print map carry, not by a name of its own,
    and the README opens with it, the package's name under it."""
    from geo.export.products import ProductInfo, map_title

    with zipfile.ZipFile(package.folder / f"{package.name}.kmz") as kmz:
        name = ET.fromstring(kmz.read("doc.kml")).findtext(f"{KML}Document/{KML}name")
    web_title = html.unescape(re.search(r"<title>(.*?)</title>", _web_map(package)).group(1))
    info = ProductInfo(event="Hurricane Test", glide="TC-2018-000166-USA", analyst="A. Analyst")
    assert name == web_title == map_title(flyover_map[0], info)
    readme = (package.folder / "README.txt").read_text(encoding="utf-8").splitlines()
    assert readme[0] == name and readme[2] == f"Package: {package.name}"
