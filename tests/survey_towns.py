"""A small survey for the window's survey tests: two copies of one rendered flight
(tests/conftest.py's ``sites_truth``), "monday" holding its ground truth as a finished
run, "tuesday" added but not analysed yet."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

from core.store import ProjectStore
from core.survey import Survey
from services import survey as surveys
from tests.truth_runs import write_run


def monday_and_tuesday(sites_truth, folder: Path, *, spare_days: Iterable[str] = (),  # noqa: ANN001
                       monday_drone: str | None = None) -> Survey:
    """Survey "town" in ``folder``: monday analysed, tuesday not; the videos (with their
    SRT) of ``spare_days`` copied into ``folder/videos`` beside theirs, not added."""
    videos = folder / "videos"
    videos.mkdir()
    for day in ("monday", "tuesday", *spare_days):
        shutil.copy2(sites_truth.video, videos / f"{day}.mp4")
        shutil.copy2(sites_truth.srt, videos / f"{day}.SRT")
    survey = surveys.create_survey(folder / "town", "town")
    monday = surveys.add_flight(survey, videos / "monday.mp4", date="2018-10-12",
                                **({"drone": monday_drone} if monday_drone else {}))
    surveys.add_flight(survey, videos / "tuesday.mp4", date="2018-10-13")
    with ProjectStore.open(survey.project_path(monday)) as store:
        write_run(store, sites_truth.detections, sites_truth.times)
    return survey
