"""Flight logs as other tools write them: DJI Flight Reader's day and time of day in two
columns, Litchi's local and UTC date-times side by side and its altitude above take-off;
spreadsheets' day-first dates, Unix times, exact times at .000 and feet in the name."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.telemetry import read_telemetry

FLIGHT_READER = (
    "CUSTOM.date [local],CUSTOM.updateTime [local],OSD.flyTime [s],OSD.latitude,OSD.longitude,OSD.height [ft],"
    "OSD.yaw,GIMBAL.pitch\n"
    + "".join(f"9/5/2021,07:23:{48 + k // 5:02d}.{(k % 5) * 20:02d} PM,{k * 0.2:.1f},{47.5727 + k * 1e-6:.7f},"
              f"-122.6266,100.0,-90.0,-30.0\n" for k in range(20))
)


def _litchi(path: Path, *, local_first: bool) -> Path:
    """A Litchi log across the EU clock change (01:00 UTC, 26 March 2023)."""
    dates = ["datetime(local)", "datetime(utc)"] if local_first else ["datetime(utc)", "datetime(local)"]
    lines = ["latitude,longitude,altitude(m),ascent(m),time(millisecond)," + ",".join(dates) + ",flycState"]
    for k in range(20):
        utc = f"2023-03-26 00:59:{50 + k:02d}" if k < 10 else f"2023-03-26 01:00:{k - 10:02d}"
        local = f"2023-03-26 01:59:{50 + k:02d}" if k < 10 else f"2023-03-26 03:00:{k - 10:02d}"
        stamps = [local, utc] if local_first else [utc, local]
        lines.append(f"{48.8566 + k * 1e-5:.7f},2.3522,{k * 2.5:.1f},{k * 2.5:.1f},{k * 1000},"
                     + ",".join(stamps) + ",P-GPS")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_flight_reader_s_day_and_time_of_day_make_the_times(tmp_path):
    """Its time column holds a time of day alone: no row had a readable time, and the
    file was refused ("no row with both a position and a readable time")."""
    track = read_telemetry(tmp_path.joinpath("DJIFlightRecord_2021-09-05_[19-23-48].csv").write_text(FLIGHT_READER)
                           and tmp_path / "DJIFlightRecord_2021-09-05_[19-23-48].csv")
    assert len(track.samples) == 20
    assert track.samples[0].t_s == pytest.approx(1630869828.0)  # 2021-09-05T19:23:48 (read as UTC)
    assert track.samples[-1].t_s - track.samples[0].t_s == pytest.approx(3.8)
    assert any("local time, read as UTC" in note for note in track.notes)


def test_a_time_of_day_alone_falls_back_on_the_counter_and_the_file_name(tmp_path):
    text = FLIGHT_READER.replace("CUSTOM.date [local],", "").replace("9/5/2021,", "")
    path = tmp_path / "DJIFlightRecord_2021-09-05_[19-23-48].csv"
    path.write_text(text.replace("07:23:", "xx:23:"))  # a time column nothing reads
    track = read_telemetry(path)
    assert len(track.samples) == 20
    assert track.samples[0].t_s == pytest.approx(1630869828.0)
    assert any("file name" in note for note in track.notes)


@pytest.mark.parametrize("local_first", [False, True])
def test_litchi_s_utc_column_is_read_wherever_it_stands_and_its_altitude_is_above_take_off(tmp_path, local_first):
    track = read_telemetry(_litchi(tmp_path / "litchi.csv", local_first=local_first))
    assert track.duration_s == pytest.approx(19.0)  # not 3619 s: local time jumps an hour at 01:00 UTC
    assert track.samples[0].t_s == pytest.approx(1679792390.0)  # 2023-03-26T00:59:50Z
    assert [s.alt_rel_m for s in track.samples][:3] == [0.0, 2.5, 5.0]
    assert all(s.alt_abs_m is None for s in track.samples)
    assert any("Litchi" in note and "above take-off" in note for note in track.notes)


def test_a_european_spreadsheet_s_decimal_commas_are_read(tmp_path):
    """';' between cells and ',' in numbers (German or French Excel): "no row with a
    position", with no word of the commas."""
    path = tmp_path / "log.csv"
    path.write_text("time;latitude;longitude;altitude\n" + "".join(
        f"2023-06-01T12:00:{k:02d}Z;45,{1000 + k};7,5;100,5\n" for k in range(10)))
    track = read_telemetry(path)
    assert len(track.samples) == 10
    assert (track.samples[1].lat_deg, track.samples[1].lon_deg, track.samples[1].alt_abs_m) == (45.1001, 7.5, 100.5)


def _log(tmp_path: Path, header: str, times: list[str], name: str = "log.csv") -> Path:
    rows = [f"{t},{47.0 + k * 1e-4:.4f},8.0,{50 + k}" for k, t in enumerate(times)]
    path = tmp_path / name
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("scale", [1, 1000])
def test_unix_times_in_a_time_column_are_read_as_utc(tmp_path, scale):
    """Epoch milliseconds in a 'time' column were read as seconds from the log's start: a
    2-second log lasted 2000 s, with no date."""
    track = read_telemetry(_log(tmp_path, "time,lat,lon,alt", [str((1714557600 + k) * scale) for k in range(3)]))
    assert track.time_base.name == "UTC"
    assert [s.t_s for s in track.samples] == [1714557600.0, 1714557601.0, 1714557602.0]
    assert any("holds Unix times" in note for note in track.notes)


def test_a_counter_from_the_start_stays_a_counter(tmp_path):
    track = read_telemetry(_log(tmp_path, "time,lat,lon,alt", ["0", "1.5", "3"]))
    assert track.time_base.name == "LOG" and [s.t_s for s in track.samples] == [0.0, 1.5, 3.0]


def test_a_day_first_date_is_read_day_first(tmp_path):
    """13/04/2024 was refused ("no readable times"), and 05/04/2024 in the same file read
    as 4 May."""
    track = read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,alt",
                                ["05/04/2024 23:59:59", "13/04/2024 10:00:00", "13/04/2024 10:01"]))
    assert track.samples[0].t_s == pytest.approx(1712361599.0, abs=1e-3)  # 2024-04-05T23:59:59Z
    assert track.samples[-1].t_s == pytest.approx(1713002460.0, abs=1e-3)  # 2024-04-13T10:01:00Z: no seconds written


def test_dates_that_never_say_their_order_are_read_month_first_with_a_note(tmp_path):
    track = read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,alt", ["05/04/2024 10:00:00", "05/04/2024 10:00:01"]))
    assert track.samples[0].t_s == pytest.approx(1714816800.0, abs=1e-3)  # 2024-05-04T10:00:00Z, as DJI's apps write it
    assert any("could be day/month or month/day, read month first" in note for note in track.notes)
    clear = read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,alt", ["04/04/2024 10:00:00", "04/04/2024 10:00:01"],
                                name="same.csv"))
    assert not any("day/month" in note for note in clear.notes)  # 4 April either way


def test_dates_written_both_ways_are_refused(tmp_path):
    from core.errors import TelemetryError

    with pytest.raises(TelemetryError, match="both day first and month first"):
        read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,alt", ["13/04/2024 10:00:00", "04/13/2024 10:00:01"]))


def test_times_written_to_the_millisecond_are_exact_even_at_000(tmp_path):
    """A 1 Hz log at .000 with a millisecond counter was taken for whole seconds and moved
    half a second late (its sites 15 m off on a turning flight)."""
    path = tmp_path / "exact.csv"
    path.write_text("datetime(utc),time(millisecond),latitude,longitude,height_above_takeoff(m)\n" + "".join(
        f"2024-05-01 10:00:0{k}.000,{k * 1000},{47.0 + k * 1e-4:.4f},8.0,50\n" for k in range(3)))
    assert read_telemetry(path).samples[0].t_s == pytest.approx(1714557600.0, abs=1e-3)


@pytest.mark.parametrize("header", ["height_feet", "altitude_ft"])
def test_feet_written_after_an_underscore_are_read_as_feet(tmp_path, header):
    track = read_telemetry(_log(tmp_path, f"datetime(utc),lat,lon,{header}",
                                ["2024-05-01 10:00:00", "2024-05-01 10:00:01"]))
    heights = [s.alt_rel_m if s.alt_rel_m is not None else s.alt_abs_m for s in track.samples]
    assert heights == pytest.approx([50 * 0.3048, 51 * 0.3048])


def test_a_log_crossing_midnight_takes_the_date_order_that_keeps_it_one_flight(tmp_path):
    """05/04 then 06/04, saved day first: read month first, the log held a month-long hole."""
    track = read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,alt", ["05/04/2024 23:59:59", "06/04/2024 00:00:00"]))
    assert track.samples[1].t_s - track.samples[0].t_s == pytest.approx(1.0)
    assert track.samples[0].t_s == pytest.approx(1712361599.0, abs=1e-3)  # 5 April
    assert not any("day/month" in note for note in track.notes)


def test_an_empty_first_cell_does_not_stop_the_reading(tmp_path):
    track = read_telemetry(_log(tmp_path, "datetime,lat,lon,alt", ["", "05/04/2024 23:59:31", "05/04/2024 23:59:32"]))
    assert len(track.samples) == 2 and any("05/04/2024" in note for note in track.notes)


def test_a_re_save_without_seconds_beside_a_counter_is_placed_by_the_counter(tmp_path):
    """Stamps to the minute were taken for stamps to the second: the rows before the first
    minute change were put 37 s early."""
    path = tmp_path / "minutes.csv"
    rows = [f"{'10:00' if k < 230 else '10:01'},{k * 100},{47.0 + k * 1e-5:.5f},8.0,50" for k in range(0, 400, 10)]
    path.write_text("datetime(utc),time(millisecond),latitude,longitude,height_above_takeoff(m)\n"
                    + "".join(f"04/05/2024 {row}\n" for row in rows))
    times = [s.t_s for s in read_telemetry(path).samples]
    assert times == pytest.approx([times[0] + k * 1.0 for k in range(len(times))])  # the counter's steps
    start = 1712311200.0  # 2024-04-05 10:00:00
    assert start + 37 <= times[0] < start + 38  # the minute changes between its 23rd and 24th second


def test_whole_seconds_written_as_000_and_repeated_are_refined_by_the_counter(tmp_path):
    path = tmp_path / "airdata.csv"
    path.write_text("datetime(utc),time(millisecond),latitude,longitude,height_above_takeoff(m)\n" + "".join(
        f"2024-04-05 10:00:0{k // 10}.000,{k * 100},{47.0 + k * 1e-5:.5f},8.0,50\n" for k in range(30)))
    times = [s.t_s for s in read_telemetry(path).samples]
    assert len(set(times)) == 30 and times == sorted(times)  # not ten rows a second at one time


@pytest.mark.parametrize(("values", "base"), [([0, 1714557600, 1714557601, 1714557602], "UTC"),
                                              ([1_000_000_000, 1_000_000_500], "LOG")])
def test_unix_times_with_a_row_before_the_fix_and_a_counter_that_is_not_one(tmp_path, values, base):
    """A 0 before the GPS had the time made a Unix column a counter 54 years long; a
    microsecond counter from boot near 1e9 was read as Unix seconds of 2001."""
    track = read_telemetry(_log(tmp_path, "time,lat,lon,alt", [str(v) for v in values]))
    assert track.time_base.name == base


def test_two_digit_years_and_metres_after_an_underscore(tmp_path):
    track = read_telemetry(_log(tmp_path, "datetime(utc),lat,lon,height_m", ["05/14/24 10:00:01", "05/14/24 10:00:02"]))
    assert track.samples[0].t_s == pytest.approx(1715680801.0, abs=1e-3)
    assert [s.alt_rel_m for s in track.samples] == [50.0, 51.0]


def test_a_newest_first_file_with_repeated_times_is_not_said_to_go_backwards(tmp_path):
    csv = tmp_path / "newest.csv"
    csv.write_text("time,lat,lon,alt\n" + "".join(f"{t},{47.0 + k * 1e-4:.4f},8.0,500\n"
                                                   for k, t in enumerate([3, 3, 2, 2, 1, 1, 0])))
    assert not any("go backwards" in note for note in read_telemetry(csv).notes)


def test_a_log_whose_lines_end_in_a_carriage_return_alone_is_read(tmp_path):
    """Excel for Mac's "CSV (Macintosh)" ends lines with ``\\r`` alone: the file was
    refused as "new-line character seen in unquoted field"."""
    path = tmp_path / "mac.csv"
    path.write_bytes(FLIGHT_READER.replace("\n", "\r").encode())
    assert len(read_telemetry(path).samples) == 20
