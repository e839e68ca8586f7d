"""Large GPX logs: read in one streaming pass with no document tree, and GPS jumps
flagged with array operations; both give what the slower ways gave."""

from __future__ import annotations

import datetime as dt
import math
import tracemalloc

import numpy as np
import pytest

from core.errors import TelemetryError
from geo.telemetry import read_telemetry
from geo.telemetry.gpx import read_gpx
from geo.telemetry.jumps import flag_jumps

GPX_OPEN = ('<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="{version}" creator="t" '
            'xmlns="http://www.topografix.com/GPX/1/{minor}" xmlns:ext="urn:ext">\n')


def _drone_gpx(path, points: int) -> None:
    start = dt.datetime(2024, 6, 14, 20, 15, 46, tzinfo=dt.timezone.utc).timestamp()
    with path.open("w") as f:
        f.write(GPX_OPEN.format(version="1.1", minor=1) + "<trk><trkseg>\n")
        for i in range(points):
            stamp = dt.datetime.fromtimestamp(start + i / 10, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            f.write(f'<trkpt lat="{35.9 + i * 1e-6:.7f}" lon="{-75.6 + math.sin(i / 50) * 1e-4:.7f}">'
                    f"<ele>{60 + i % 7}.5</ele><time>{stamp}Z</time><speed>8.0</speed></trkpt>\n")
        f.write("</trkseg></trk></gpx>\n")


def test_reading_keeps_no_document_tree(tmp_path):
    path = tmp_path / "big.gpx"
    _drone_gpx(path, 40_000)
    tracemalloc.start()
    try:
        track = read_gpx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(track) == 40_000 and track.samples[1].t_s - track.samples[0].t_s == pytest.approx(0.1)
    # the text, its bytes while decoding, and the samples; a parsed tree costs several times more
    assert peak < 8 * path.stat().st_size, peak / path.stat().st_size


def test_every_shared_gpx_sample_reads_as_gpxpy_reads_it(samples):
    gpxpy = pytest.importorskip("gpxpy")
    for path in sorted((samples / "gpx").glob("*.gpx")):
        parsed = gpxpy.parse(path.read_text(encoding="utf-8-sig").replace("something_not_in_the_spec", "3d"))
        points = [p for t in parsed.tracks for s in t.segments for p in s.points] or \
                 [p for r in parsed.routes for p in r.points]
        expected = sorted(
            ((p.time if p.time.tzinfo else p.time.replace(tzinfo=dt.timezone.utc)).timestamp(),
             p.latitude, p.longitude, p.elevation) for p in points if p.time is not None
        )
        try:
            track = read_gpx(path)
        except TelemetryError:
            assert not expected, path.name
            continue
        got = sorted((s.t_s, s.lat_deg, s.lon_deg, s.alt_abs_m) for s in track.samples)
        assert got == expected, path.name


def test_times_zones_versions_and_namespaces(tmp_path):
    path = tmp_path / "forms.gpx"
    path.write_text(
        GPX_OPEN.format(version="1.0", minor=0)
        + "<trk><trkseg>"
        + '<trkpt lat="1" lon="2"><time>2020-01-01T02:00:00+02:00</time><course>370</course></trkpt>'
        + '<trkpt lat="1" lon="2"><time>2020-01-01T00:00:01.123456789</time></trkpt>'
        + '<trkpt lat="1" lon="2"><time>2020-01-01T00:00:02\u221200:30</time><ext:time>x</ext:time></trkpt>'
        + '<trkpt lat="1" lon="2"><time>2020-02-30T00:00:03Z</time></trkpt>'
        + '<trkpt lat="1" lon="2"><time>yesterday</time></trkpt>'
        + '<trkpt lat="1" lon="2"/>'
        + '<trkpt lat="100" lon="2"><time>2020-01-01T00:00:04Z</time></trkpt>'
        + "</trkseg></trk></gpx>"
    )
    track = read_telemetry(path)
    base = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    assert [s.t_s - base for s in track.samples] == pytest.approx([0.0, 1.123456, 1802.0])
    assert track.samples[0].yaw_deg == pytest.approx(10.0)  # GPX 1.0 <course>
    notes = " / ".join(track.notes)
    assert "1 of 7 points have no time" in notes
    assert "2 of 7 points have an unreadable time" in notes and "2020-02-30T00:00:03Z" in notes
    assert "1 points have invalid coordinates" in notes
    assert track.format_detail == "GPX 1.0, 1 track(s), 1 segment(s)"


def test_entities_are_never_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("2020-01-01T00:00:00Z")
    path = tmp_path / "xxe.gpx"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"><time>&x;</time></trkpt>'
                    "</trkseg></trk></gpx>")
    with pytest.raises(TelemetryError, match="not a readable GPX"):
        read_gpx(path)
    laughs = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10}">' for i in range(1, 10))
    bomb = tmp_path / "bomb.gpx"
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY l0 "ha">{laughs}]>'
                    '<gpx version="1.1"><wpt lat="1" lon="2"><name>&l9;</name></wpt></gpx>')
    with pytest.raises(TelemetryError) as info:
        read_gpx(bomb)
    assert str(bomb) in str(info.value) and "\n" not in str(info.value)


def _loop_flags(t, east, north, max_speed=40.0, slack=15.0):
    """The rule as one loop per sample (what geo.sync does), to compare against."""
    n = len(t)
    flags = np.zeros(n, dtype=bool)
    if n < 3:
        return flags
    for i in range(n):
        near = [j for j in (i - 2, i - 1, i + 1, i + 2) if 0 <= j < n]
        e, nn = np.median(east[near]), np.median(north[near])
        span = max(abs(t[j] - t[i]) for j in near)
        flags[i] = math.hypot(east[i] - e, north[i] - nn) > max_speed * span + slack
    return flags


def test_vectorised_jump_flags_equal_the_per_sample_rule():
    rng = np.random.default_rng(7)
    flagged = 0
    for n in list(range(0, 12)) + [40, 200, 70_000]:
        t = np.cumsum(rng.uniform(0.05, 3.0, n))
        east, north = np.cumsum(rng.normal(0, 8, n)), np.cumsum(rng.normal(0, 8, n))
        if n:
            spikes = rng.integers(0, n, max(1, n // 50))
            east[spikes] += rng.normal(0, 400, len(spikes))
            north[spikes] += rng.normal(0, 400, len(spikes))
        if n > 1000:  # the loop is the slow part: check a stretch of the long track
            expected = _loop_flags(t[:3000], east[:3000], north[:3000])
            assert (flag_jumps(t, east, north)[:2998] == expected[:2998]).all()
        else:
            expected = _loop_flags(t, east, north)
            assert (flag_jumps(t, east, north) == expected).all(), n
        flagged += int(expected.sum())
    assert flagged > 10


def test_the_collector_is_back_on_after_a_read_even_a_failed_one(tmp_path):
    import gc

    good, bad = tmp_path / "good.gpx", tmp_path / "bad.gpx"
    _drone_gpx(good, 10)
    bad.write_text("<gpx><trk><trkseg><trkpt lat=")
    assert gc.isenabled()
    read_gpx(good)
    with pytest.raises(TelemetryError):
        read_gpx(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        read_gpx(good)
        assert not gc.isenabled()  # left as it was found
    finally:
        gc.enable()
