"""A video whose name holds a byte that is not UTF-8 (a card written by a Latin-1 system:
``caf\\xe9.mp4``; Python keeps the byte as a lone surrogate): the relief package names it
with U+FFFD in its credits and README, as a PDF font and a UTF-8 file can hold, where
drawing the print map failed with matplotlib's signature and nothing of the package was
left."""

from __future__ import annotations

import os
import shutil

from app.cli import main
from core.store import ProjectStore
from core.text import shown_file_name
from tests.truth_runs import write_run


def test_a_name_that_is_not_utf8_is_shown_with_a_replacement_character():
    assert shown_file_name(os.fsdecode(b"caf\xe9 north.mp4")) == "caf\ufffd north.mp4"
    assert shown_file_name("café 日本.mp4") == "café 日本.mp4"


def test_the_relief_package_of_a_video_named_in_bytes_that_are_not_utf8_is_written(sites_truth, tmp_path, capsys):
    video = tmp_path / os.fsdecode(b"caf\xe9.mp4")
    shutil.copy2(sites_truth.video, video)
    project = tmp_path / "flight.dmproj"
    with ProjectStore.create(project, video_path=video, telemetry_path=sites_truth.srt) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    out = tmp_path / "out"
    assert main(["export", str(project), "--to", str(out), "--formats", "geojson", "--package", "--no-thumbnails",
                 "--event", "Storm"]) == 0, capsys.readouterr().err
    readme = next(out.glob("*/README.txt")).read_text(encoding="utf-8")
    assert "drone video caf\ufffd.mp4" in readme
    assert list(out.glob("*/*.pdf"))
