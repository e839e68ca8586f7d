"""MSNet (Zhu et al., WACV 2021) from torchvision detection parts: HRPN + Mask R-CNN heads."""

from engine.msnet.gating import GateMetric, anchor_gate_scores, gate_anchors, inner_intersection
from engine.msnet.hrpn import GatedRegionProposalNetwork, HierarchicalRPN, build_hrpn
from engine.msnet.model import DAMAGE_CLASS_NAMES, Arch, MSNet, build_msnet, set_training_matches

__all__ = [
    "DAMAGE_CLASS_NAMES",
    "Arch",
    "GateMetric",
    "GatedRegionProposalNetwork",
    "HierarchicalRPN",
    "MSNet",
    "anchor_gate_scores",
    "build_hrpn",
    "build_msnet",
    "set_training_matches",
    "gate_anchors",
    "inner_intersection",
]
