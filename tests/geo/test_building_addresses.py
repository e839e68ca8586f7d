"""A graded building keeps the footprint file's name and address: a relief team is sent to
an address, not to a building id. The columns were read and then dropped."""

from __future__ import annotations

import json

import pyogrio

from geo.export.package import package_layers, write_layers
from geo.export.products import ProductInfo, _building_popup
from geo.footprints import ADDRESS_COLUMNS, read_footprints
from geo.grading import grade_buildings


def _addressed_footprints(flyover, tmp_path):  # noqa: ANN001, ANN202 - the rendered flyover, a Path
    """The flyover's footprints with an OSM-style address on each (and, on the last, the
    address in GDAL's ``other_tags`` as an OpenStreetMap extract gives it)."""
    collection = json.loads(open(flyover.paths.truth, encoding="utf-8").read())
    for k, feature in enumerate(collection["features"][:-1]):
        feature["properties"].update({"addr:street": "Rue Pavée", "addr:housenumber": str(k + 1),
                                      "name": f"Maison {k + 1}", "building:material": "brick"})
    collection["features"][-1]["properties"]["other_tags"] = '"addr:street"=>"Calle Mayor","addr:housenumber"=>"9"'
    path = tmp_path / "buildings.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    return read_footprints(path)


def test_the_graded_buildings_layer_carries_each_footprint_s_address(flyover, flyover_map, tmp_path):
    damage_map, _ = flyover_map
    grading = grade_buildings(damage_map, _addressed_footprints(flyover, tmp_path))
    layers = package_layers(damage_map, grading=grading, info=ProductInfo())
    write_layers(tmp_path / "package.gpkg", layers, last_change="2018-10-12T00:00:00Z")
    table = pyogrio.read_dataframe(tmp_path / "package.gpkg", layer="graded_buildings")

    assert set(ADDRESS_COLUMNS) <= set(table.columns)
    assert "building:material" not in table.columns  # an address, not every tag of the file
    rows = table.set_index("building_id")
    first, last = grading.buildings[0].building_id, grading.buildings[-1].building_id
    assert (rows.loc[first, "addr:street"], rows.loc[first, "addr:housenumber"]) == ("Rue Pavée", "1")
    assert rows.loc[first, "name"] == "Maison 1"
    assert (rows.loc[last, "addr:street"], rows.loc[last, "addr:housenumber"]) == ("Calle Mayor", "9")
    assert rows["addr:postcode"].isna().all()  # a column the file lacks is there, empty


def test_a_building_popup_gives_its_name_and_address(flyover, flyover_map, tmp_path):
    damage_map, _ = flyover_map
    grading = grade_buildings(damage_map, _addressed_footprints(flyover, tmp_path))
    popup = _building_popup(grading.buildings[1])
    assert "<td>Name</td><td>Maison 2</td>" in popup
    assert "<td>Address</td><td>2 Rue Pavée</td>" in popup
    damaged = next(b for b in grading.buildings if b.site_ids)
    popup = _building_popup(damaged)
    assert "<td>Best score</td>" in popup and "<td>Level agreement</td>" in popup and "Confidence" not in popup
