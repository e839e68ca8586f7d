"""Image files read as the detector takes them: ``uint8[H, W, 3]`` RGB.

One reader for ``predict``, training and evaluation, so that a photo is the same picture
to all three: a 16-bit picture scaled to 8 bits (PIL's own conversion clips it to white),
and, where asked, its EXIF orientation applied (a photo a phone or a drone stored
sideways, shown upright by every viewer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import InputError

#: PIL's modes of 16-bit grey pictures.
_SIXTEEN_BIT_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N")


def read_image_file(path: Path, *, upright: bool = True) -> np.ndarray:
    """``path`` as ``uint8[H, W, 3]`` RGB (``upright``: its EXIF orientation applied);
    :class:`~core.errors.InputError` naming it and why it cannot be read."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as opened:
            image = ImageOps.exif_transpose(opened) if upright else opened
            if image.mode in _SIXTEEN_BIT_GREY:  # to 8 bits, not clipped
                grey = (np.asarray(image, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8)
                return np.repeat(grey[:, :, None], 3, axis=2)
            return np.array(image.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = ("no such file" if isinstance(exc, FileNotFoundError)
                  else "a folder, not an image" if isinstance(exc, IsADirectoryError) else str(exc))
        raise InputError(f"{path}: cannot read image ({reason})") from None


__all__ = ["read_image_file"]
