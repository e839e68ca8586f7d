"""Telemetry that is not a regular file (a named pipe, a device) is refused at once,
with one line naming it, instead of blocking on a read that never ends."""

from __future__ import annotations

import os
import threading

import pytest

from core.errors import TelemetryError
from geo.telemetry import read_telemetry
from geo.telemetry.gpx import read_gpx
from geo.telemetry.srt import read_srt

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")


def _read_with_deadline(reader, path, seconds: float = 5.0):
    """Run ``reader(path)`` in a thread; a reader stuck on the pipe is released (by
    opening its writing end) and reported as a failure rather than hanging the tests."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = reader(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(seconds)
        pytest.fail(f"reading {path} blocked for {seconds} s")
    return outcome


@pytest.mark.parametrize("name", ["fifo_noext", "fifo.gpx", "fifo.SRT", "fifo.csv"])
def test_a_named_pipe_is_refused_without_blocking(tmp_path, name):
    path = tmp_path / name
    os.mkfifo(path)
    outcome = _read_with_deadline(read_telemetry, path)
    error = outcome.get("error")
    assert isinstance(error, TelemetryError), outcome
    message = str(error)
    assert str(path) in message and "not a regular file" in message and "\n" not in message


@pytest.mark.parametrize("reader", [read_gpx, read_srt])
def test_readers_called_directly_refuse_a_pipe(tmp_path, reader):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    outcome = _read_with_deadline(reader, path)
    assert isinstance(outcome.get("error"), TelemetryError) and "not a regular file" in str(outcome["error"])


def test_a_device_is_not_called_an_empty_file():
    with pytest.raises(TelemetryError, match="not a regular file"):
        read_telemetry("/dev/null")
