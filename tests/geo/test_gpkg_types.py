"""GeoPackage columns keep their types: a whole-number column with some empty cells is
INTEGER, not REAL (a GIS showed the xBD grade 3 as 3.0, a frame 125 as 125.0)."""

from __future__ import annotations

import sqlite3

from shapely.geometry import Point

from geo.export.vector import write_gpkg_layer


def test_whole_numbers_with_empty_cells_stay_integers(tmp_path):
    path = tmp_path / "t.gpkg"
    records = [({"id": 1, "xbd_damage": 3, "best_frame": None, "score": 0.5, "name": None}, Point(0, 0)),
               ({"id": 2, "xbd_damage": None, "best_frame": 125, "score": None, "name": "a"}, Point(1, 1))]
    write_gpkg_layer(path, "sites", records, append=False)
    with sqlite3.connect(path) as conn:
        columns = {row[1]: row[2] for row in conn.execute('PRAGMA table_info("sites")')}
        values = conn.execute('SELECT xbd_damage, best_frame FROM "sites" ORDER BY id').fetchall()
    assert columns["xbd_damage"] == columns["best_frame"] == columns["id"] == "INTEGER"
    assert columns["score"] == "REAL" and columns["name"] == "TEXT"
    assert values == [(3, None), (None, 125)]


def test_times_with_their_zone_are_date_times(tmp_path):
    """first_time, reviewed_at... were TEXT: QGIS could not filter them as times."""
    path = tmp_path / "t.gpkg"
    records = [({"first_time": "2018-10-12T15:00:04.500+00:00", "reviewed_at": None, "local": "2018-10-12T15:00:04"},
                Point(0, 0)),
               ({"first_time": "2018-10-12T15:00:05+00:00", "reviewed_at": "2026-12-07T04:00:00Z",
                 "local": "2018-10-12T15:00:05"}, Point(1, 1))]
    write_gpkg_layer(path, "sites", records, append=False)
    with sqlite3.connect(path) as conn:
        columns = {row[1]: row[2] for row in conn.execute('PRAGMA table_info("sites")')}
        first = conn.execute('SELECT first_time FROM "sites" ORDER BY fid').fetchall()
    assert columns["first_time"] == columns["reviewed_at"] == "DATETIME"
    assert columns["local"] == "TEXT"  # a time with no zone is not made UTC
    # to the millisecond, as GeoPackage 1.2 (the version the files declare) writes a DATETIME
    assert first == [("2018-10-12T15:00:04.500Z",), ("2018-10-12T15:00:05.000Z",)]


def test_a_time_column_with_no_time_yet_is_a_date_time_all_the_same(tmp_path):
    """reviewed_at was TEXT in an export before any review and DATETIME after one: the
    GeoPackage's schema changed from one export to the next."""
    path = tmp_path / "t.gpkg"
    write_gpkg_layer(path, "sites", [({"id": 1, "reviewed_at": None, "time": None}, Point(0, 0))], append=False)
    with sqlite3.connect(path) as conn:
        columns = {row[1]: row[2] for row in conn.execute('PRAGMA table_info("sites")')}
    assert columns["reviewed_at"] == columns["time"] == "DATETIME"
