"""Model versions of a project: the detectors fine-tuned on its reviews, kept beside it.

A project ``flight.dmproj`` keeps its fine-tuned detectors in ``flight.models/``, one
folder per version (``ft-001``, ``ft-002``, ...) holding ``model.safetensors`` and its
model card ``model.json`` (the config :func:`engine.weights.load_model` reads, plus
what the model was fine-tuned on: project, run, frames, counts, base model, schedule).
Every analysis run records the weights it used (``runs.model_json``), so a run says
which version produced it; analysing with ``--weights`` another version (or none, the
shipped model) switches between them. :func:`export_model` copies a version out as a
standalone weights file with its card, usable with ``--weights`` anywhere.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InputError, ModelError
from core.store import ProjectStore

MODELS_SUFFIX = ".models"
WEIGHTS_NAME = "model.safetensors"
VERSION_PREFIX = "ft-"


def models_dir(project_path: Path) -> Path:
    """``PROJECT.models`` beside the project file (``flight.dmproj`` -> ``flight.models``)."""
    project_path = Path(project_path)
    return project_path.with_name(project_path.stem + MODELS_SUFFIX)


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One fine-tuned detector of a project (``weights`` may not exist yet: a run in
    progress or cancelled, with only its checkpoint)."""

    name: str
    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS_NAME

    @property
    def finished(self) -> bool:
        return self.weights.is_file()

    def card(self) -> dict[str, Any]:
        """The model card (:class:`ModelError` when the version is not finished)."""
        return model_card(self.weights)


def model_card(weights: Path) -> dict[str, Any]:
    """The JSON beside ``weights`` (:func:`engine.weights.read_config`, checked)."""
    from engine.weights import read_config

    return read_config(weights)


def list_models(project_path: Path) -> list[ModelVersion]:
    """The project's model versions, oldest first (unfinished ones too)."""
    folder = models_dir(project_path)
    if not folder.is_dir():
        return []
    return [ModelVersion(p.name, p) for p in sorted(folder.iterdir())
            if p.is_dir() and re.fullmatch(rf"{VERSION_PREFIX}\d+", p.name)]


def new_version(project_path: Path) -> ModelVersion:
    """A new, empty version folder (the next number)."""
    versions = list_models(project_path)
    number = max((int(v.name[len(VERSION_PREFIX):]) for v in versions), default=0) + 1
    folder = models_dir(project_path) / f"{VERSION_PREFIX}{number:03d}"
    folder.mkdir(parents=True, exist_ok=False)
    return ModelVersion(folder.name, folder)


def find_model(project_path: Path, name: str | None = None, *, finished: bool = True) -> ModelVersion:
    """The version called ``name`` (``None``: the latest finished one, or with
    ``finished=False`` the latest at all); :class:`InputError` naming the folder."""
    versions = list_models(project_path)
    folder = models_dir(project_path)
    if name is not None:
        for version in versions:
            if version.name == name:
                if finished and not version.finished:
                    if not (version.folder / "checkpoint.pt").is_file():  # killed before its first checkpoint
                        raise InputError(f"{version.folder}: model {name!r} is not finished and stopped before its "
                                         "first checkpoint, so it cannot be resumed; fine-tune again")
                    raise InputError(f"{version.folder}: model {name!r} is not finished; resume its fine-tune first "
                                     f"(damagemap finetune PROJECT --resume --model {name})")
                return version
        known = ", ".join(v.name for v in versions) or "none"
        raise InputError(f"{folder}: no model version {name!r} (versions: {known})")
    candidates = [v for v in versions if v.finished or not finished]
    if not candidates:
        raise InputError(f"{folder}: the project has no {'finished ' if finished else ''}fine-tuned model yet; "
                         "run 'damagemap finetune' first")
    return candidates[-1]


def run_weights(store: ProjectStore, run_id: int) -> Path | None:
    """The weights a run was analysed with (``None``: not recorded, an injected model)."""
    weights = store.run(run_id).model.get("weights")
    return Path(weights) if isinstance(weights, str) and weights else None


def describe_weights(weights: Path | None) -> str:
    """A short name for a run's model: ``ft-002``, ``shipped default``, a file name."""
    if weights is None:
        return "(not recorded)"
    from engine.weights import DEFAULT_MSNET_WEIGHTS

    shipped = Path(DEFAULT_MSNET_WEIGHTS)
    # another install's (the project analysed on another machine, or by an older install) is the same model
    if weights.resolve() == shipped.resolve() or weights.parts[-4:] == shipped.parts[-4:]:
        return "shipped default"
    if weights.name == WEIGHTS_NAME and weights.parent.parent.name.endswith(MODELS_SUFFIX):
        return weights.parent.name
    return weights.name


def export_model(source: Path, target: Path) -> Path:
    """Copy weights and their model card to ``target`` (``.safetensors``; the card goes
    beside it as ``.json``). Returns ``target``.

    Raises
    ------
    InputError
        ``target`` is not a ``.safetensors`` path, its folder does not exist, it is
        the version's own file, or it lies in the shipped default model's folder.
    ModelError
        ``source`` is not a readable model (no weights or no card).
    """
    from engine.weights import refuse_shipped_folder

    target = Path(target)
    if target.suffix != ".safetensors":
        raise InputError(f"{target}: the exported weights must be a .safetensors file")
    refuse_shipped_folder(target)
    if target.resolve() == Path(source).resolve():
        raise InputError(f"{target}: is the model version's own file; export it to another file")
    if not target.parent.is_dir():
        raise InputError(f"{target}: folder {target.parent} does not exist")
    if not Path(source).is_file():
        raise ModelError(f"{source}: model weights not found")
    card = model_card(source)  # refuses a file without its card
    from core.model_files import config_path_for

    shutil.copyfile(source, target)
    config_path_for(target).write_text(_card_json(card, source), encoding="utf-8")
    return target


def _card_json(card: dict[str, Any], source: Path) -> str:
    import json

    card = dict(card)
    card["exported_from"] = str(Path(source).resolve())
    return json.dumps(card, indent=2, default=str) + "\n"


__all__ = [
    "MODELS_SUFFIX",
    "ModelVersion",
    "describe_weights",
    "export_model",
    "find_model",
    "list_models",
    "model_card",
    "models_dir",
    "new_version",
    "run_weights",
]
