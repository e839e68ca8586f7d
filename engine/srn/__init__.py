"""Score Refinement Network (MSNet paper, sections 4.3 and 4.5).

- :func:`build_srn` / :class:`SRNEncoder`: three 1x1 convs (256 -> 1024 -> 1024 -> 1024,
  ReLU) applied to each FPN level P2-P5 of a frozen detector backbone.
- :func:`multiscale_consistency_loss`: the triplet loss it is trained with.
- :func:`train_srn` with :class:`FrameBank` and :class:`TripletSampler`: unsupervised
  training on video, no labels.
- :class:`ScoreRefiner` (``refine_pair``) and :class:`SequenceRefiner`: streaming score
  refinement of adjacent frames.
- :func:`save_srn` / :func:`load_srn`: safetensors weights with a JSON config.
"""

from engine.srn.backbone import FrozenFPN, build_untrained_fpn, load_frozen_fpn
from engine.srn.encoder import FPN_LEVELS, SRNEncoder, build_srn
from engine.srn.frames import FrameBank
from engine.srn.io import SRNConfig, load_srn, save_srn
from engine.srn.loss import feature_distance, multiscale_consistency_loss
from engine.srn.refine import (
    FrameDescriptors,
    FramePredictions,
    PairRefinement,
    RefinedFrame,
    ScoreRefiner,
    SequenceRefiner,
)
from engine.srn.sampling import Triplet, TripletSampler
from engine.srn.training import SRNTrainingConfig, TrainingStep, train_srn

__all__ = [
    "FPN_LEVELS",
    "FrameBank",
    "FrameDescriptors",
    "FramePredictions",
    "FrozenFPN",
    "PairRefinement",
    "RefinedFrame",
    "SRNConfig",
    "SRNEncoder",
    "SRNTrainingConfig",
    "ScoreRefiner",
    "SequenceRefiner",
    "TrainingStep",
    "Triplet",
    "TripletSampler",
    "build_srn",
    "build_untrained_fpn",
    "feature_distance",
    "load_frozen_fpn",
    "load_srn",
    "multiscale_consistency_loss",
    "save_srn",
    "train_srn",
]
