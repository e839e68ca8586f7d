"""The per-seed look of a scene: palette, sun, sky and camera colour response.

:data:`LOOKS` are named looks outside what :meth:`Style.sample` draws (a flight in
another region, season or camera): ``with forced_look("ochre-dust"): render_flyover(...)``
renders every scene of the block in it, to measure how a model copes with a look it was
not trained on and how much fine-tuning on a few reviewed frames recovers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

#: share of light-roofed houses in a neighbourhood unless a flight asks for another
DEFAULT_LIGHT_ROOF_SHARE = 0.2
#: share of metal roofs (drawn first); light roofs take the next ``light_roof_share``
METAL_ROOF_SHARE = 0.12
MAX_LIGHT_ROOF_SHARE = 1.0 - METAL_ROOF_SHARE

LAWN_COLOURS = [(86, 118, 60), (104, 116, 68), (122, 124, 78), (64, 98, 48), (92, 110, 72)]


@dataclass(frozen=True)
class Style:
    """Everything about colour and light that a seed varies, so a model cannot learn one look."""

    grass: tuple[float, float, float]
    dry_grass: tuple[float, float, float]
    asphalt: tuple[float, float, float]
    concrete: tuple[float, float, float]
    tree: tuple[float, float, float]
    sun_azimuth_deg: float
    sun_elevation_deg: float
    ambient: float  # share of light that is not direct sun: high when overcast
    debris_density: float  # storm litter on lawns
    storm: float  # 0-1: how hard the storm hit (fallen/stripped trees, branch piles, standing water)
    white_balance: tuple[float, float, float]
    saturation: float
    exposure: float
    haze: float
    #: share of houses with light, tan, beige or tile roofs (the colour of bare decking:
    #: hard negatives); not drawn per seed, set for a flight with ``render_flyover(light_roof_share=)``
    light_roof_share: float = DEFAULT_LIGHT_ROOF_SHARE

    @classmethod
    def sample(cls, rng: np.random.Generator) -> Style:
        """A random look (the same random draws whatever look is forced, so a forced
        look changes the colours of a flight, not its layout)."""
        style = cls._sample(rng)
        if _FORCED_LOOK is not None:
            style = replace(style, **LOOKS[_FORCED_LOOK])
        return style

    @classmethod
    def _sample(cls, rng: np.random.Generator) -> Style:
        overcast = bool(rng.random() < 0.35)  # post-storm skies are often grey: soft shadows
        green = np.array(LAWN_COLOURS[rng.integers(len(LAWN_COLOURS))]) * rng.uniform(0.85, 1.1) + rng.normal(0, 6, 3)

        def colour(base: tuple[float, float, float], low: float, high: float) -> tuple[float, float, float]:
            return tuple(float(v) for v in np.clip(np.array(base) * rng.uniform(low, high), 0, 255))

        return cls(
            grass=tuple(float(v) for v in np.clip(green, 20, 230)),
            dry_grass=colour((140, 135, 85), 0.8, 1.1),
            asphalt=colour((105, 104, 104), 0.75, 1.2),
            concrete=colour((180, 176, 168), 0.85, 1.1),
            tree=tuple(float(v) for v in np.clip(np.array([58, 88, 40]) * rng.uniform(0.75, 1.2) + rng.normal(0, 6, 3), 0, 255)),
            sun_azimuth_deg=float(rng.uniform(0, 360)),
            sun_elevation_deg=float(rng.uniform(35, 70)),
            ambient=float(rng.uniform(0.8, 0.94) if overcast else rng.uniform(0.35, 0.62)),
            debris_density=float(rng.uniform(0.2, 1.0)),
            storm=float(rng.uniform(0.1, 1.0)),
            white_balance=tuple(float(v) for v in rng.uniform(0.86, 1.14, 3)),
            saturation=float(rng.uniform(0.6, 0.85) if overcast else rng.uniform(0.8, 1.05)),
            exposure=float(rng.uniform(0.78, 1.18)),
            haze=float(rng.uniform(0.0, 0.25)),
        )

    @property
    def sun_direction(self) -> np.ndarray:
        """Unit vector towards the sun (ENU)."""
        az, el = math.radians(self.sun_azimuth_deg), math.radians(self.sun_elevation_deg)
        return np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])

    @property
    def shadow_offset(self) -> np.ndarray:
        """Horizontal ENU offset of a shadow per metre of height of what casts it."""
        sun = self.sun_direction
        return -sun[:2] / max(sun[2], 0.2)

    def lighting(self, normal: np.ndarray) -> float:
        """Lambertian brightness factor for a surface normal."""
        return self.ambient + (1.0 - self.ambient) * max(0.0, float(np.dot(normal, self.sun_direction))) * 1.25


#: named looks (overrides of :class:`Style` fields) that :meth:`Style.sample` never draws:
#: "ochre-dust", the red-brown cast of dust-laden air and a camera without white balance,
#: washed-out colour, low sun and haze; "false-colour", every hue turned to its complement
#: (a multispectral camera's false-colour output: lawns magenta, bare decking blue, blue
#: tarps orange); "blue-hour", a cold, dim dusk.
LOOKS: dict[str, dict[str, Any]] = {
    "ochre-dust": dict(white_balance=(1.38, 0.98, 0.62), saturation=1.45, exposure=1.12, haze=0.32,
                       ambient=0.7, sun_elevation_deg=22.0, dry_grass=(170.0, 120.0, 70.0),
                       grass=(150.0, 120.0, 70.0), debris_density=1.0),
    "false-colour": dict(saturation=-0.9, exposure=1.05, haze=0.05),
    "blue-hour": dict(white_balance=(0.7, 0.88, 1.35), saturation=0.55, exposure=0.7, haze=0.1, ambient=0.9,
                      sun_elevation_deg=8.0),
}
_FORCED_LOOK: str | None = None


@contextmanager
def forced_look(name: str | None) -> Iterator[None]:
    """Render with the look ``name`` (a key of :data:`LOOKS`; ``None``: the usual draw)."""
    global _FORCED_LOOK
    if name is not None and name not in LOOKS:
        raise ValueError(f"unknown look {name!r}; known: {', '.join(LOOKS)}")
    previous, _FORCED_LOOK = _FORCED_LOOK, name
    try:
        yield
    finally:
        _FORCED_LOOK = previous
