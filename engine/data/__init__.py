"""Datasets (ISBDA layout, COCO JSON with damage and house boxes) and augmentation."""

from engine.data.isbda import ISBDADataset, collate, read_coco_json
from engine.data.transforms import Compose, RandomHorizontalFlip, multiscale_sizes, train_transforms

__all__ = [
    "Compose",
    "ISBDADataset",
    "RandomHorizontalFlip",
    "collate",
    "multiscale_sizes",
    "read_coco_json",
    "train_transforms",
]
