"""torch off the GUI thread (the GUI audit's findings): the first Analyse… dialog and the
first analysis start froze the window for seconds while the GUI thread imported torch.
The window asks torch for its devices on a thread of its own, and the dialog takes what
it says when it comes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.dialogs.analysis_dialog import AnalysisDialog
from app.workers import AnalysisOptions

#: A fresh interpreter (torch not imported yet): open a video, open Analyse…, accept it.
_FIRST_ANALYSIS = r"""
import sys, threading
main = threading.main_thread()
on_gui_thread = []


class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and threading.current_thread() is main:
            on_gui_thread.append(name)
        return None


sys.meta_path.insert(0, Watch())
from app import _refcount_guard  # noqa: F401
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

qapp = QApplication([])
import app.errors
import app.workers as workers
from app.dialogs.analysis_dialog import AnalysisDialog
from app.main_window import MainWindow
from app.settings import AppSettings

app.errors.error_sink = []
if hasattr(workers, "DeviceProbe"):
    workers.DeviceProbe.start = lambda self: None  # its thread would import torch (and may, any time)
workers.AnalysisJob.start = lambda self: None  # what the run does on its thread is not in question
AnalysisDialog.exec = lambda self: 1  # accepted as it opens
window = MainWindow(settings=AppSettings(QSettings(sys.argv[2], QSettings.Format.IniFormat)))
assert window.open_path(sys.argv[1]), app.errors.error_sink
window.analysis_dialog()
assert window.analysis_job is not None, app.errors.error_sink
print("torch imported on the GUI thread:", bool(on_gui_thread) or "torch" in sys.modules)
window.document.close()
"""


def test_the_first_analysis_imports_no_torch_on_the_gui_thread(flyover, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", _FIRST_ANALYSIS, str(flyover / "flight.mp4"),
                           str(tmp_path / "settings.ini")], cwd=root, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "torch imported on the GUI thread: False" in done.stdout, done.stdout + done.stderr[-3000:]


def test_the_device_probe_answers_on_the_gui_thread(qtbot):
    import threading

    from app.workers import DeviceProbe, known_devices

    probe = DeviceProbe()
    threads: list[threading.Thread] = []
    probe.ready.connect(lambda _devices: threads.append(threading.current_thread()))
    with qtbot.waitSignal(probe.ready, timeout=60_000) as ready:
        probe.start()
    assert ready.args[0][:2] == ["auto", "cpu"] and known_devices() == ready.args[0]
    assert threads == [threading.main_thread()]


def test_a_gpu_found_after_the_dialog_opened_takes_back_the_cpu_rate(qtbot):
    dialog = AnalysisDialog(AnalysisOptions(device="cuda"), video_fps=30.0, devices=["auto", "cpu"])
    qtbot.addWidget(dialog)
    assert dialog.options().fps == 2.0 and dialog.device_combo.currentText() == "auto"  # a CPU, for all it knows
    dialog.set_devices(["auto", "cpu", "cuda"])
    assert dialog.options().fps is None and dialog.device_combo.currentText() == "cuda"  # every frame, on the GPU

    changed = AnalysisDialog(AnalysisOptions(), video_fps=30.0, devices=["auto", "cpu"])
    qtbot.addWidget(changed)
    changed.fps_spin.setValue(5.0)  # the user's own rate stays
    changed.device_combo.setCurrentText("cpu")
    changed.set_devices(["auto", "cpu", "cuda"])
    assert changed.options().fps == 5.0 and changed.options().device == "cpu"
