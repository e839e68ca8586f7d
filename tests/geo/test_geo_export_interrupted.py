"""Exports killed part-way: the temporary files they leave are cleared by the next export,
while an export still running keeps its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from geo.export import export_map

# A real export process writing a GeoPackage through the atomic writer, stopped in the
# middle (a layer written, a journal open), as a kill -9 or a power cut finds it.
_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import geopandas as gpd
    from shapely.geometry import Point
    from geo.export._atomic import atomic_path

    target = Path(sys.argv[1]) / "damage_map.gpkg"
    with atomic_path(target) as temp:
        frame = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[Point(0, 0), Point(1, 1)], crs="EPSG:4326")
        frame.to_file(temp, layer="damage_sites", driver="GPKG", engine="pyogrio")
        Path(str(temp) + "-journal").write_bytes(b"\\0" * 4096)
        print("writing", flush=True)
        time.sleep(120)
    """
)


def _start_writer(out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path]))
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(out)], stdout=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()
    if line.strip() != "writing":
        process.kill()
        process.wait()
        pytest.fail(f"the writer did not start: {line!r}")
    return process


def _hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def test_the_next_export_removes_what_a_killed_export_left(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    writer = _start_writer(tmp_path)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    left = _hidden(tmp_path)
    assert any(name.endswith(".part.gpkg") for name in left)
    assert any(name.endswith(".part.gpkg-journal") for name in left)

    export_map(damage_map, tmp_path, formats=["gpkg", "kml"])
    assert _hidden(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damage_map.gpkg", "damage_sites.kml"]


def test_an_export_still_running_keeps_its_temporary_files(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    writer = _start_writer(tmp_path)
    try:
        left = _hidden(tmp_path)
        export_map(damage_map, tmp_path, formats=["gpkg"])
        assert _hidden(tmp_path) == left and left
    finally:
        writer.kill()
        writer.wait()


def test_old_temporary_files_of_an_earlier_version_are_removed_and_others_kept(flyover_map, tmp_path):
    damage_map, _ = flyover_map
    old = [tmp_path / ".damage_map.w8nzsrml.part.gpkg", tmp_path / ".damage_map.w8nzsrml.part.gpkg-journal",
           tmp_path / ".damage_sites.k2_a9zq0.part.geojson"]
    recent = tmp_path / ".damage_sites.u7cc1mvq.part.csv"
    unrelated = [tmp_path / ".damage_map.notes", tmp_path / ".my.part.gpkg", tmp_path / "keep.part.gpkg"]
    two_hours_ago = time.time() - 7200
    for path in [*old, recent, *unrelated]:
        path.write_bytes(b"x" * 100)
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(recent, None)  # just written: perhaps an export running now

    export_map(damage_map, tmp_path, formats=["sites"])
    assert not any(path.exists() for path in old)
    assert recent.exists() and all(path.exists() for path in unrelated)


def test_a_failed_geopackage_leaves_no_journal(flyover_map, tmp_path, monkeypatch):
    import errno

    import geopandas as gpd

    from core.errors import ExportError

    damage_map, _ = flyover_map
    original = gpd.GeoDataFrame.to_file

    def fail_after_a_journal(self, path, *args, **kwargs):
        original(self, path, *args, **kwargs)
        Path(str(path) + "-journal").write_bytes(b"\0" * 512)  # as SQLite leaves it mid-transaction
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", fail_after_a_journal)
    with pytest.raises(ExportError, match="damage_map.gpkg"):
        export_map(damage_map, tmp_path, formats=["gpkg"])
    assert list(tmp_path.iterdir()) == []


def test_a_writer_failing_on_a_full_disk_says_the_disk_is_full(flyover_map, tmp_path, monkeypatch):
    """GDAL, out of space, reports what failed next ("no such table: gpkg_contents");
    the message says why."""
    import shutil
    from collections import namedtuple

    import geopandas as gpd

    from core.errors import ExportError

    damage_map, _ = flyover_map

    def gdal_on_a_full_disk(self, path, *args, **kwargs):
        raise RuntimeError("Could not add feature to layer: sqlite3_exec(CREATE TABLE gpkg_spatial_ref_sys "
                           + "(srs_name TEXT NOT NULL, ...);" * 100 + ") failed: no such table: gpkg_contents")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(gpd.GeoDataFrame, "to_file", gdal_on_a_full_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(300_000, 300_000, 0))
    full_disk = r"damage_map.gpkg: cannot write: no space left on the disk; nothing was written$"
    with pytest.raises(ExportError, match=full_disk) as full:
        export_map(damage_map, tmp_path, formats=["gpkg"])
    assert "CREATE TABLE" not in str(full.value)  # GDAL's script, thousands of characters, is no reason
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: usage(10**12, 10**9, 10**11))
    with pytest.raises(ExportError) as raised:
        export_map(damage_map, tmp_path, formats=["gpkg"])
    assert "no space" not in str(raised.value) and "gpkg_contents" in str(raised.value)
