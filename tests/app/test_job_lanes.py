"""Jobs that only decode the video run beside the project's jobs: a map built after a
review decision does not wait behind the next site's crops."""

from __future__ import annotations

import threading

from app.workers import VIDEO_LANE, FunctionJob


def test_a_project_job_finishes_while_a_video_job_still_runs(qtbot):
    release = threading.Event()
    crops = FunctionJob(lambda: release.wait(20) and "crops", lane=VIDEO_LANE)
    build = FunctionJob(lambda: threading.current_thread().name)
    try:
        crops.start()
        with qtbot.waitSignal(build.done, timeout=10_000) as built:
            build.start()
        assert crops.is_running  # the crops are still being cut
        assert built.args[0].startswith("damagemap-project-jobs")
    finally:
        with qtbot.waitSignal(crops.done, timeout=10_000):
            release.set()
