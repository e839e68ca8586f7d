"""A project's stored settings in the words and flags a user gives them with
(``clock offset +2.0 s (--offset)``), for ``damagemap info``: the raw keys
(``time_offset_s=2.0``, ``product_info={'analyst': ...}``, the camera turns of every hover
as lists of numbers) are for ``--json``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.text import is_one_line_text

#: the relief package's fields (``export --package``), in the order its flags are listed
_PRODUCT_FIELDS = (("event", "event"), ("glide", "GLIDE"), ("analyst", "analyst"),
                   ("organisation", "organisation"), ("contact", "contact"), ("area", "area"),
                   ("version", "version"))
#: a relief package field -> the export flag that gives it again
_PRODUCT_FLAGS = {"version": "--product-version"}


def _shown(value: Any) -> str:
    """``value`` as typed where it is one line of text; else its repr, so that a stored
    terminal escape, line break or right-to-left override (kept by an older damagemap,
    or edited by hand) is seen, not obeyed by the terminal."""
    text = str(value)
    return text if is_one_line_text(text) else repr(value)


def _product_field(key: str, label: str, value: Any) -> str:
    if isinstance(value, str) and not is_one_line_text(value):
        flag = _PRODUCT_FLAGS.get(key, f"--{key}")
        return f"{label} {value!r} (not one line of text: give it again, export {flag})"
    return f"{label} {_shown(value)}"


def _said(key: str, say: Callable[[Any, Mapping[str, Any]], str], given: Mapping[str, Any]) -> str:
    """``say`` of a stored setting, or ``key=value (not valid)`` where the store holds
    what no damagemap writes there (a value edited by hand), instead of a traceback."""
    try:
        return say(given[key], given)
    except (TypeError, ValueError):
        return f"{key}={_shown(given[key])} (not valid)"


def _plus_minus(value: float, sigma: Any, unit: str, digits: int) -> str:
    spread = f" +-{sigma:.{digits}f}" if isinstance(sigma, (int, float)) and sigma else ""
    return f"{value:.{digits}f}{spread}" + (f" {unit}" if unit else "")


def _number(name: str, flag: str | None, unit: str, digits: int = 1, *, signed: bool = False,
            sigma_key: str | None = None) -> Callable[[Any, Mapping[str, Any]], str]:
    def text(value: Any, settings: Mapping[str, Any]) -> str:
        sigma = settings.get(sigma_key) if sigma_key else None
        read = isinstance(sigma, (int, float)) and not isinstance(sigma, bool)  # only a reading has a spread
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            shown = str(value)  # a preset name (--hfov mavic-2-pro)
        else:
            shown = _plus_minus(value, sigma, unit, digits)
            shown = f"+{shown}" if signed and value >= 0 else shown
        origin = [where for where in ("read from the video" if read else None, flag) if where]
        return f"{name} {shown}" + (f" ({'; '.join(origin)})" if origin else "")
    return text


#: setting key -> how it reads (its sigma, a ``*_sigma_*`` key, is read with it)
_WORDS: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "time_offset_s": _number("clock offset", "--offset", "s", signed=True, sigma_key="time_offset_sigma_s"),
    "hfov_deg": _number("field of view", "--hfov", "deg", sigma_key="hfov_sigma_deg"),
    "camera_pitch_deg": _number("camera pitch", "--pitch", "deg", sigma_key="camera_pitch_sigma_deg"),
    "heading_offset_deg": _number("heading offset", None, "deg", signed=True, sigma_key="heading_offset_sigma_deg"),
    "ground_elevation_m": _number("ground elevation", "--ground-elevation", "m", sigma_key="ground_elevation_sigma_m"),
    "flight_height_m": _number("flight height", "--flight-height", "m", sigma_key="flight_height_sigma_m"),
    "min_score": _number("minimum score", "--min-score", "", digits=2),
    "hover_turns": lambda turns, _: f"camera turns read from the video for {len(turns)} "
                                    f"hover{'' if len(turns) == 1 else 's'} (--camera auto)",
}
#: stored files: setting key -> the flag that sets it
_FILES = {"footprints_path": "--footprints", "basemap_path": "--basemap", "survey_folder": None}


def settings_lines(settings: Mapping[str, Any], files: Mapping[str, Mapping[str, Any]] | None = None) -> list[str]:
    """One line of map settings, one per stored file, one of the relief package's fields,
    and ``key=value`` for any other setting; unset values (``None``, empty) are left out.

    ``files``: stored file's key -> ``{"path": ..., "exists": ...}``, where the products
    find it now (a project moved with its files finds them beside it, not at the absolute
    path stored); a file gone is marked ``(missing!)``, as ``info`` marks the video."""
    given = {k: v for k, v in settings.items() if v is not None and v != "" and v != [] and v != {}}
    words = [_said(key, say, given) for key, say in _WORDS.items() if key in given]
    lines = [", ".join(words)] if words else []
    for key, flag in _FILES.items():
        if key in given:
            name = key.removesuffix("_path").replace("_", " ")
            found = (files or {}).get(key)
            path = given[key] if found is None else found["path"]
            missing = "" if found is None or found["exists"] else "  (missing!)"
            lines.append(f"{name}: {_shown(path)}" + (f" ({flag})" if flag else "") + missing)
    product = given.get("product_info")
    if isinstance(product, Mapping):
        fields = [_product_field(key, label, product[key]) for key, label in _PRODUCT_FIELDS
                  if product.get(key) not in (None, "")]
        if fields:
            lines.append("relief package: " + ", ".join(fields))
    known = {*_WORDS, *_FILES, "product_info"}
    rest = sorted((k, v) for k, v in given.items()
                  if k not in known and "_sigma_" not in k and not k.endswith(("_relative", "_absolute")))
    if rest:
        lines.append(", ".join(f"{k}={_shown(v)}" for k, v in rest))
    return lines


__all__ = ["settings_lines"]
