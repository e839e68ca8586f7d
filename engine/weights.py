"""Model weights on disk: a ``.safetensors`` file plus a JSON config beside it.

The JSON (``path.with_suffix(".json")``) holds what rebuilds the model: the arguments of
:func:`engine.msnet.build_msnet` under ``"model"``, the class names and a format
version, and whatever the trainer adds (data, schedule, metrics). Safetensors cannot
run code, so no weights file is ever unpickled. Tensors may be stored in float16, the
largest in int8 (:mod:`engine.compact`), to keep the shipped model small;
:func:`load_model` converts them back to float32.
"""

from __future__ import annotations

import copy
import errno
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from core.errors import InputError, ModelError, disk_full, first_line
from core.model_files import config_path_for
from engine.compact import compact_state, expand_state, stored_dtype

if TYPE_CHECKING:
    from engine.msnet.close_look import CloseLookHead

#: the shipped default models (MSNet + SRN) and their model card
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "resources" / "models" / "default"
DEFAULT_MSNET_WEIGHTS = DEFAULT_MODEL_DIR / "msnet.safetensors"



def refuse_shipped_folder(path: str | Path, what: str = "") -> None:
    """Raise :class:`~core.errors.InputError` when ``path`` lies in the shipped default
    model's folder: every analysis without ``--weights`` runs the model there, and a
    file written over it (an exported fine-tune, a training run's weights) would change
    every later analysis and leave no copy of the model as shipped."""
    target = Path(path).expanduser().resolve()
    if target.parent == DEFAULT_MODEL_DIR.resolve() or target == DEFAULT_MODEL_DIR.resolve():
        raise InputError(f"{what or path}: is in the shipped default model's folder ({DEFAULT_MODEL_DIR}), which "
                         "damagemap never writes: every analysis without --weights uses the model there; write to "
                         "another folder and give that file with --weights")


#: bumped when the JSON layout changes in a way old readers cannot follow
FORMAT_VERSION = 1
_KIND = "damagemap.msnet"


def save_model(model: torch.nn.Module, path: str | Path, config: dict[str, Any] | None = None, *,
               half: bool = False, compact: bool = False) -> Path:
    """Write ``model``'s state dict to ``path`` (safetensors) and its config beside it.

    Parameters
    ----------
    model : MSNet
        Built by :func:`engine.msnet.build_msnet` (its ``build_config`` is stored); a
        ``DistributedDataParallel`` wrapper is unwrapped.
    path : path-like
        Target ``.safetensors`` file; parent folders are created.
    config : dict, optional
        Extra JSON-serialisable information (training data, schedule, metrics).
    half : bool
        Store floating-point tensors as float16 (halves the file; loading converts back).
    compact : bool
        Float16, and int8 for the largest tensors (:mod:`engine.compact`): the
        shipped model's storage.

    Returns
    -------
    Path
        The weights file written.

    Raises
    ------
    InputError
        ``path`` is in the shipped default model's folder (:func:`refuse_shipped_folder`).
    OSError
        ``ENOSPC`` naming ``path`` when the disk filled up (nothing half-written is left).
    """
    from safetensors.torch import save_file

    from engine.msnet.fold import FOLDED_ATTRIBUTE

    refuse_shipped_folder(path)
    from engine.msnet.inference import inference_settings_of
    from engine.msnet.model import DAMAGE_CLASS_NAMES

    model = getattr(model, "module", model)
    if getattr(model, FOLDED_ATTRIBUTE, False):
        raise ModelError(f"save_model: this {type(model).__name__} has its batch norms folded for analysis "
                         "(engine.msnet.fold) and no longer fits its weights file; save the model as loaded")
    build_config = getattr(model, "build_config", None)
    if build_config is None:
        raise ModelError(f"save_model: {type(model).__name__} was not made by build_msnet (no build_config)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compact:
        tensors = compact_state(model.state_dict())
    else:
        tensors = {}
        for name, tensor in model.state_dict().items():
            tensor = tensor.detach().cpu()
            if half and tensor.is_floating_point():
                tensor = tensor.half()
            tensors[name] = tensor.contiguous()
    full_config = {
        "kind": _KIND,
        "version": FORMAT_VERSION,
        "model": build_config,
        "class_names": list(DAMAGE_CLASS_NAMES),
        **(config or {}),
        "stored_dtype": stored_dtype(tensors),
    }
    settings = inference_settings_of(model)  # a loaded model (e.g. fine-tuned) keeps how it ran
    if settings is not None and "inference" not in full_config:
        full_config["inference"] = settings.as_config()
    json_text = json.dumps(full_config, indent=2, sort_keys=False, default=str)
    tmp = path.with_name(path.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata={"kind": _KIND, "version": str(FORMAT_VERSION)})
    except Exception as exc:  # a SafetensorError ("No space left on device (os error 28)") is no OSError
        tmp.unlink(missing_ok=True)
        if "os error 28" in str(exc) or disk_full(tmp):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise
    tmp.chmod(0o644)  # safetensors creates owner-only files; weights are meant to be shared
    tmp.replace(path)
    config_path_for(path).write_text(json_text + "\n", encoding="utf-8")
    return path


def read_config(path: str | Path) -> dict[str, Any]:
    """The JSON config beside ``path``, checked; :class:`ModelError` naming the file."""
    config_path = config_path_for(path)
    if not config_path.is_file():
        if Path(path).suffix == ".pt":  # a training run's checkpoint, given for its weights
            weights = Path(path).with_name("model.safetensors")
            raise ModelError(f"{path}: a training checkpoint, not weights; give the run's weights"
                             + (f" ({weights})" if weights.is_file() else " (model.safetensors, once it finishes)"))
        raise ModelError(f"{config_path}: model config not found (expected beside the weights {Path(path).name!r})")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{config_path}: not a readable JSON model config ({exc})") from None
    if isinstance(config, dict) and config.get("format") == "damagemap-srn":
        raise ModelError(f"{path}: the Score Refinement Network's weights, not a detector's: analyze takes them "
                         "with --srn-weights; --weights takes a detector's")
    if not isinstance(config, dict) or config.get("kind") != _KIND or not isinstance(config.get("model"), dict):
        raise ModelError(f"{config_path}: not a damagemap MSNet config (kind {config.get('kind') if isinstance(config, dict) else None!r})")
    if int(config.get("version", 0)) > FORMAT_VERSION:
        raise ModelError(
            f"{config_path}: format version {config['version']!r} is newer than this damagemap reads "
            f"({FORMAT_VERSION}); update damagemap"
        )
    return config



def _refuse_folder(path: Path) -> None:
    """A run folder given for its weights: say which file to give."""
    if path.is_dir():
        found = path / "model.safetensors"
        hint = f" ({found})" if found.is_file() else ""
        raise ModelError(f"{path}: is a folder; give its model.safetensors{hint}")

def load_model(
    path: str | Path, *, device: str | torch.device = "cpu", inference: Mapping[str, Any] | None = None
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the model described beside ``path`` and load its weights, in eval mode.

    ``inference`` overrides keys of the config's test-time settings (its ``"inference"``
    object, :mod:`engine.msnet.inference`) for this load, e.g. ``{"input_size": 480}``;
    the config returned holds the settings the model runs with.

    Raises
    ------
    ModelError
        Naming the file, when the weights or config are missing, corrupt, hold NaN or
        infinite values (a training run that diverged), or do not fit the architecture
        the config describes.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from engine.msnet.inference import InferenceSettings, apply_inference_settings
    from engine.msnet.model import build_msnet

    path = Path(path)
    _refuse_folder(path)
    if not path.is_file():
        raise ModelError(f"{path}: model weights not found")
    config = read_config(path)
    if inference:
        config["inference"] = {**(config.get("inference") or {}), **inference}
    try:
        state = load_file(str(path), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{path}: not a readable safetensors weights file ({exc})") from None
    state = expand_state(state, source=path)
    _check_finite(state, path)
    try:
        model = build_msnet(**config["model"])
    except (TypeError, ValueError, RuntimeError) as exc:  # RuntimeError: e.g. a negative size
        raise ModelError(f"{config_path_for(path)}: cannot build the model it describes ({exc})") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        details = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mismatched)):
            if keys:
                details.append(f"{len(keys)} {label} (e.g. {keys[0]!r})")
        raise ModelError(
            f"{path}: weights do not fit the {config['model'].get('arch')!r}/{config['model'].get('backbone')!r} "
            f"model in its config: {', '.join(details)}"
        )
    state = {k: v.to(expected[k].dtype) for k, v in state.items()}
    model.load_state_dict(state)
    # Test-time settings: the config's "inference" object over the code's defaults.
    settings = InferenceSettings.from_config(config.get("inference"), source=str(config_path_for(path)))
    try:
        apply_inference_settings(model, settings)
    except ModelError as exc:  # settings this model cannot take (a building gate on a baseline)
        raise ModelError(f"{path}: {exc}") from None
    model.to(device).eval()
    return model, config


def _check_finite(state: dict[str, torch.Tensor], path: Path) -> None:
    """Refuse weights holding NaN or infinity: such a model finds nothing, silently."""
    bad = [name for name, tensor in state.items() if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if bad:
        raise ModelError(
            f"{path}: {len(bad)} of {len(state)} weight tensors hold NaN or infinite values (e.g. {bad[0]!r}); "
            "the training run that wrote them probably diverged: use an earlier checkpoint"
        )


#: Why a ``.pth`` holding Python objects is refused (never with torch's advice to load it
#: with ``weights_only=False``, which would run whatever code the file names).
_UNSAFE_PICKLE = (
    "holds Python objects, not only tensors, and is refused: loading it could run code from the file; "
    "save the model's state_dict() (tensors only) or use a .safetensors file"
)


def is_damagemap_weights(path: str | Path) -> bool:
    """``path`` is a damagemap weights file (:func:`save_model`): its ``model.json``
    beside it, or its kind in its safetensors header; ``False`` for any other file
    (torchvision's, ImageNet's)."""
    from safetensors import safe_open

    if config_path_for(path).is_file():
        return True
    try:
        with safe_open(str(path), framework="pt") as opened:
            return (opened.metadata() or {}).get("kind") == _KIND
    except Exception:  # noqa: BLE001 - not a safetensors file: torchvision's own
        return False


def load_init_weights(model: torch.nn.Module, path: str | Path) -> dict[str, int]:
    """Initialise from a local torchvision checkpoint (never downloaded).

    Accepts a detection checkpoint (keys ``backbone.*``, ``rpn.*``, ``roi_heads.*``, e.g.
    ``maskrcnn_resnet50_fpn`` COCO weights) or a classification one (ImageNet ResNet /
    MobileNetV3), as ``.safetensors`` or a ``.pth`` read with ``weights_only=True``.
    A damagemap weights file works too, compact ones included (int8 tensors come back
    scaled to floats), so training can go on from the shipped model.
    Tensors whose names or shapes do not fit (the class-specific predictors) are skipped.
    The stock RPN head initialises both HRPN branches.

    Returns
    -------
    dict
        ``{"loaded": n, "skipped": m}`` tensor counts, and ``"skipped_parts"``: the model
        parts (``roi_heads.box_head``, ...) of the tensors that did not fit.
    """
    path = Path(path)
    _refuse_folder(path)
    if not path.is_file():
        raise ModelError(f"{path}: initialisation weights not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ModelError(f"{path}: {_UNSAFE_PICKLE}") from None
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user
        raise ModelError(f"{path}: cannot read initialisation weights ({first_line(exc)})") from None
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]  # torchvision reference-script checkpoints
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError(f"{path}: expected a state dict of tensors")
    state = expand_state(state, source=path)  # a compact damagemap file (e.g. the shipped model)
    model = getattr(model, "module", model)
    if not any(key.startswith("backbone.") for key in state):
        # classification checkpoint: the body of the FPN backbone
        if any(key.startswith("features.") for key in state):  # MobileNetV3
            state = {f"backbone.body.{key[len('features.'):]}": v for key, v in state.items()}
        else:
            state = {f"backbone.body.{key}": v for key, v in state.items()}
    else:
        state = dict(state)
        for key, value in list(state.items()):
            if key.startswith("rpn.head.conv"):
                state[key.replace("rpn.head.conv", "rpn.trunk")] = value
            for branch in ("building_rpn", "damage_rpn"):
                for layer in ("cls_logits", "bbox_pred"):
                    if key.startswith(f"rpn.head.{layer}"):
                        state[key.replace("rpn.head", f"rpn.{branch}.head")] = value
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not fitting:
        raise ModelError(f"{path}: none of its tensors fit this model (is it for another backbone?)")
    model.load_state_dict(fitting, strict=False)
    # (batch-norm step counters a model with frozen batch norms has no place for are no loss,
    # and a close look is carried on by itself: :func:`close_look_of`)
    unfit = sorted({".".join(key.split(".")[:2]) for key in state
                    if key not in fitting and not key.endswith("num_batches_tracked")
                    and not key.startswith("close_look_head.")})
    return {"loaded": len(fitting), "skipped": len(state) - len(fitting), "skipped_parts": unfit}


@dataclass(frozen=True)
class CloseLookCarried:
    """A damagemap weights file's close look, as training on from that file keeps it.

    The close look (:mod:`engine.msnet.close_look`) has weights of its own that the
    detection losses never train, so a detector trained on from a file that has one keeps
    it, with its record (``"close_look"`` in the config) and the file's test-time
    settings. The int8 ranges (``"cpu_int8"``) are left behind: they were measured on the
    old detector's activations (``python -m engine.msnet.int8`` measures them again)."""

    head: CloseLookHead
    record: dict[str, Any]
    inference: dict[str, Any]


def close_look_of(path: str | Path, model: torch.nn.Module) -> CloseLookCarried | None:
    """The close look of the damagemap weights file ``path``, its head built for
    ``model``'s backbone; ``None`` for any other initialisation file (ImageNet,
    torchvision) or a damagemap file without one. :class:`ModelError` naming the file
    when it cannot be read or its close look does not fit ``model``."""
    from safetensors import safe_open

    from engine.msnet.close_look import CloseLookHead

    path = Path(path)
    if path.suffix != ".safetensors" or not config_path_for(path).is_file():
        return None
    config = read_config(path)
    crop_px = config["model"].get("close_look_px")
    if not crop_px:
        return None
    prefix = "close_look_head."
    try:
        with safe_open(str(path), framework="pt") as stored:
            names = [name for name in stored.keys() if name.startswith(prefix)]
            stored_state = {name: stored.get_tensor(name) for name in names}
    except Exception as exc:  # noqa: BLE001 - any reader failure means the same to the user
        raise ModelError(f"{path}: cannot read its close-look weights ({first_line(exc)})") from None
    state = expand_state(stored_state, source=path)
    state = {name[len(prefix):]: tensor for name, tensor in state.items() if name.startswith(prefix)}
    if not state:
        raise ModelError(f"{path}: its config names a close look but the file holds no close-look weights")
    model = getattr(model, "module", model)
    head = CloseLookHead(copy.deepcopy(model.backbone.body), int(crop_px))
    try:
        head.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{path}: its close look does not fit this model's backbone ({first_line(exc)})") from None
    inference = {key: value for key, value in (config.get("inference") or {}).items() if key != "cpu_int8"}
    return CloseLookCarried(head, dict(config.get("close_look") or {}), inference)
