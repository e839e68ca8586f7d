"""Forking after video was read: the child must not free FFmpeg threads it does not have.

A child freeing its parent's decoder, or a frame scaler with slice threads, waits on them
for ever. Each fork runs in a process of its own, so that a hang fails the test instead of
freezing the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from engine.video import VideoReader, write_video

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")

_ROOT = Path(__file__).resolve().parents[2]

#: Python's after-fork clean-up frees other threads' thread-locals (multiprocessing's fork,
#: a subprocess with a preexec_fn as Ray starts its processes); a child's collector frees
#: cyclic garbage its parent had not collected yet.
_FORK_AFTER_DECODING = textwrap.dedent("""
    import gc, multiprocessing, subprocess, sys, threading
    from engine.video import VideoReader

    video, kept, fork = sys.argv[1:4]
    per_thread = threading.local()
    decoded, finish = threading.Event(), threading.Event()

    def decode():
        reader = VideoReader(video)
        for _ in reader.iter_frames(range(4)):
            pass
        if kept == "thread-local":
            per_thread.reader = reader
        else:
            reader.itself = reader
            gc.disable()
        del reader
        decoded.set()
        finish.wait()

    threading.Thread(target=decode, daemon=True).start()
    decoded.wait()
    if fork == "multiprocessing":
        child = multiprocessing.get_context("fork").Process(target=gc.collect)
        child.start()
        child.join()
        sys.exit(child.exitcode)
    sys.exit(subprocess.run([sys.executable, "-c", "pass"], preexec_fn=gc.collect).returncode)
""")


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    images = [(rng.random((48, 64, 3)) * 255).astype(np.uint8) for _ in range(8)]
    return write_video(tmp_path_factory.mktemp("fork") / "clip.mp4", images, fps=10)


def _run_alone(script: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    """``python -c script args`` in a process group of its own; ``None``, the group
    killed, when it has not ended in 30 s (a hung child with the process that forked it)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", script, *args]
    with subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            _, errors = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            return None
    return subprocess.CompletedProcess(command, process.returncode, None, errors)


@pytest.mark.parametrize("fork", ["multiprocessing", "preexec_fn"])
@pytest.mark.parametrize("kept", ["thread-local", "garbage"])
def test_a_child_forked_after_a_thread_read_video_exits(video, kept, fork):
    done = _run_alone(_FORK_AFTER_DECODING, str(video), kept, fork)
    assert done is not None, f"the child forked after decoding (reader kept as {kept}, forked by {fork}) hung"
    assert done.returncode == 0, done.stderr


_PARENT_AFTER_FORK = textwrap.dedent("""
    import gc, multiprocessing, weakref
    from engine.fork_guard import KeptOverFork

    class Decoder:
        pass

    guard, decoder = KeptOverFork(), Decoder()
    guard.add(decoder)
    freed = weakref.ref(decoder)
    child = multiprocessing.get_context("fork").Process(target=gc.collect)
    child.start()
    child.join()
    del decoder
    assert freed() is None and len(guard) == 0, "the parent still holds what it kept over the fork"
""")


def test_the_parent_keeps_nothing_alive_after_a_fork():
    done = _run_alone(_PARENT_AFTER_FORK)
    assert done is not None and done.returncode == 0, done and done.stderr


def _native_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.skipif(not Path("/proc/self/task").is_dir() or (os.cpu_count() or 1) < 2,
                    reason="counts threads in /proc; FFmpeg's scalers take slice threads from 2 cores")
def test_frames_converted_to_rgb_leave_no_scaler_threads_behind(video):
    import av.video.frame

    with VideoReader(video, threads=False) as reader:  # no decoding threads either
        before = _native_threads()
        frames = list(reader.iter_frames())
        assert _native_threads() == before  # PyAV's to_ndarray left one on the frame the decoder holds
    assert [frame.image.shape for frame in frames] == [(48, 64, 3)] * 8
    # PyAV 19 keeps the scaler of to_ndarray(format=...) on the calling thread, for good
    assert getattr(getattr(av.video.frame, "_thread_local", None), "reformatter", None) is None
