"""Analysing a project's video: MSNet on every selected frame, SRN across neighbours.

:func:`analyze_video` is a Qt-free generator: the CLI drives a progress bar with it and
the GUI runs it in a worker thread. Three threads keep the model busy:

- a *prefetch* thread decodes the selected frames ahead into a bounded queue;
- the caller's thread batches them, runs the detector (CUDA with mixed precision and
  channels-last when there is a GPU), thresholds the masks on the device and brings a
  batch's results to the host in one synchronisation; it also streams the SRN, which
  needs the FPN maps of the same pass;
- a *writer* thread turns tensors into detections (:func:`engine.convert.to_detections`,
  the run-length encoding is CPU work) and commits each frame to the project store.

Each frame is committed in one transaction together with the SRN scores it completes
for the previous frame, so a run cancelled or killed at any instant resumes exactly
where it stopped: the frames already stored are skipped, and the SRN state is rebuilt
by re-running the detector on the last two stored frames (results not written again).
A run is identified by its model and the settings that change its results (frame
selection, score threshold, SRN on/off): analysing again with other settings starts a
separate run and keeps the first.

The code is split by job under :mod:`engine.analysis`: ``plan`` (device, models, run,
frames to do), ``detector`` (the :class:`Detector` protocol, batches in and typed
:class:`DetectorOutput` out, the streaming SRN), ``threads`` (decoding ahead, the
writer) and ``run`` (:func:`analyze_video`). This module is their public face.
"""

from engine.analysis.detector import (
    BatchDetector,
    Detector,
    DetectorOutput,
    FeatureDetector,
    HostMaskCrop,
    default_batch_size,
    default_frames_in_flight,
    supports_features,
)
from engine.analysis.plan import (
    DEFAULT_SCORE_THRESHOLD,
    RUN_IDENTITY_KEYS,
    AnalysisPlan,
    default_weights,
    load_detector,
    load_refiner,
    plan_analysis,
    resolve_device,
)
from engine.analysis.run import AnalysisProgress, analyze_video

__all__ = [
    "AnalysisPlan",
    "AnalysisProgress",
    "BatchDetector",
    "DEFAULT_SCORE_THRESHOLD",
    "Detector",
    "DetectorOutput",
    "FeatureDetector",
    "HostMaskCrop",
    "RUN_IDENTITY_KEYS",
    "analyze_video",
    "default_batch_size",
    "default_frames_in_flight",
    "default_weights",
    "load_detector",
    "load_refiner",
    "plan_analysis",
    "resolve_device",
    "supports_features",
]
