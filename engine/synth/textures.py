"""Procedural textures: shingles, decking, tarps, holes, siding, canopies, noise.

All painters take a ``numpy.random.Generator`` so a seed fixes every pixel. Textures
are RGB ``uint8`` (or float32 in [0, 255] while being composed); sizes are in pixels
with an explicit ``px_per_m`` so patterns keep their real-world scale.
"""

from __future__ import annotations

import cv2
import numpy as np

Colour = tuple[float, float, float]

#: fresh OSB/plywood is bright tan-orange; weathered or wet sheets are darker
DECKING_COLOURS: list[Colour] = [(196, 142, 86), (222, 166, 104), (210, 150, 84), (176, 128, 80)]


def smooth_noise(rng: np.random.Generator, height: int, width: int, cell_px: float) -> np.ndarray:
    """Zero-mean, unit-ish-std smooth noise ``float32[height, width]`` with features ``cell_px`` wide."""
    gh = max(2, int(np.ceil(height / max(cell_px, 1.0))) + 2)
    gw = max(2, int(np.ceil(width / max(cell_px, 1.0))) + 2)
    grid = rng.standard_normal((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def jitter_colour(rng: np.random.Generator, colour: Colour, spread: float) -> np.ndarray:
    """A colour with multiplicative brightness and small per-channel jitter."""
    c = np.asarray(colour, dtype=np.float32)
    c = c * rng.uniform(1 - spread, 1 + spread) + rng.normal(0, spread * 30, 3)
    return np.clip(c, 0, 255).astype(np.float32)


def shaded(base: np.ndarray, variation: np.ndarray) -> np.ndarray:
    """``base`` (float RGB) scaled by ``1 + variation`` per pixel."""
    return base * (1.0 + variation[..., None])


def shingles(rng: np.random.Generator, height: int, width: int, px_per_m: float, colour: Colour) -> np.ndarray:
    """Asphalt shingle courses (rows along the eave) with tab joints and weathering."""
    course = 0.14 * px_per_m
    tab = 0.34 * px_per_m
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    course_idx = np.floor(rows / course).astype(np.int64)
    n_courses = int(course_idx.max()) + 2
    offsets = rng.uniform(0, tab, n_courses).astype(np.float32)
    shifted = cols + offsets[course_idx]
    tab_idx = np.floor(shifted / tab).astype(np.int64)
    n_tabs = int(tab_idx.max()) + 2
    tab_tone = rng.normal(0, 0.05, (n_courses, n_tabs)).astype(np.float32)
    tone = tab_tone[course_idx, tab_idx]
    if course >= 2.0:  # coarser textures would only alias the courses
        tone = tone - 0.28 * ((rows - course_idx * course) < max(1.0, 0.18 * course))
        tone = tone - 0.15 * ((shifted - tab_idx * tab) < max(0.8, 0.05 * tab))
    tone = tone + 0.12 * smooth_noise(rng, height, width, 1.5 * px_per_m) + 0.025 * rng.standard_normal((height, width), dtype=np.float32)
    return np.clip(shaded(np.asarray(colour, np.float32), tone), 0, 255)


def metal_roof(rng: np.random.Generator, height: int, width: int, px_per_m: float, colour: Colour) -> np.ndarray:
    """Standing-seam metal roofing: panels running up the slope with bright seams."""
    cols = np.arange(width, dtype=np.float32)[None, :]
    panel = 0.45 * px_per_m
    tone = 0.05 * smooth_noise(rng, height, width, 2.0 * px_per_m) + 0.02 * rng.standard_normal((height, width), dtype=np.float32)
    if panel >= 3.0:
        tone = tone + 0.12 * (np.mod(cols, panel) < max(1.0, 0.04 * px_per_m))
    return np.clip(shaded(np.asarray(colour, np.float32), np.broadcast_to(tone, (height, width))), 0, 255)


def tiles(rng: np.random.Generator, height: int, width: int, px_per_m: float, colour: Colour) -> np.ndarray:
    """Clay or concrete roof tiles: rounded barrels running up the slope, courses along the eave."""
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    barrel = 0.25 * px_per_m
    course = 0.33 * px_per_m
    tone = 0.10 * smooth_noise(rng, height, width, 2.0 * px_per_m) + 0.03 * rng.standard_normal((height, width), dtype=np.float32)
    if barrel >= 3.0:
        tone = tone + 0.14 * np.cos(2 * np.pi * cols / barrel)
    if course >= 2.0:
        tone = tone - 0.18 * (np.mod(rows, course) < max(1.0, 0.12 * course))
    return np.clip(shaded(np.asarray(colour, np.float32), np.broadcast_to(tone, (height, width))), 0, 255)


def skylight(rng: np.random.Generator, height: int, width: int, px_per_m: float) -> np.ndarray:
    """A skylight: light frame around glass that reflects the sky (a gradient), float RGB."""
    frame = jitter_colour(rng, (215, 215, 210), 0.06)
    out = np.broadcast_to(frame, (height, width, 3)).astype(np.float32).copy()
    b = max(1, int(round(0.08 * px_per_m)))
    if height > 2 * b and width > 2 * b:
        top, bottom = jitter_colour(rng, (130, 150, 175), 0.2), jitter_colour(rng, (35, 45, 60), 0.2)
        t = np.linspace(0, 1, height - 2 * b, dtype=np.float32)[:, None, None]
        out[b:-b, b:-b] = top * (1 - t) + bottom * t
    return out


def solar_array(rng: np.random.Generator, height: int, width: int, px_per_m: float, cols: int, rows: int) -> np.ndarray:
    """Rows x cols of solar panels: near-black blue cells, silver frames, float RGB."""
    base = jitter_colour(rng, (26, 32, 52), 0.2)
    tone = 0.10 * smooth_noise(rng, height, width, 1.0 * px_per_m)
    out = shaded(base, tone)
    cell = 0.16 * px_per_m
    if cell >= 3.0:
        yy = np.arange(height)[:, None]
        xx = np.arange(width)[None, :]
        grid = (np.mod(yy, cell) < 1.0) | (np.mod(xx, cell) < 1.0)
        out[np.broadcast_to(grid, (height, width))] *= 1.6
    silver = tuple(float(v) for v in jitter_colour(rng, (175, 178, 182), 0.05))
    for c in range(cols + 1):
        x = min(width - 1, int(round(c * width / cols)))
        cv2.line(out, (x, 0), (x, height - 1), silver, 1)
    for r in range(rows + 1):
        y = min(height - 1, int(round(r * height / rows)))
        cv2.line(out, (0, y), (width - 1, y), silver, 1)
    return np.clip(out, 0, 255)


def decking(rng: np.random.Generator, height: int, width: int, px_per_m: float) -> np.ndarray:
    """Exposed plywood/OSB roof decking: orange-tan sheets with seams and grain."""
    base = jitter_colour(rng, DECKING_COLOURS[rng.integers(len(DECKING_COLOURS))], 0.10)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    tone = 0.12 * smooth_noise(rng, height, width, 0.5 * px_per_m)
    tone = tone + 0.06 * rng.standard_normal((height, width), dtype=np.float32)
    seam_v = (np.mod(cols, 2.44 * px_per_m) < max(1.0, 0.03 * px_per_m))
    seam_h = (np.mod(rows, 1.22 * px_per_m) < max(1.0, 0.03 * px_per_m))
    tone = tone - 0.30 * (seam_v | seam_h)
    return np.clip(shaded(base, tone), 0, 255)


def tarp(rng: np.random.Generator, height: int, width: int, px_per_m: float) -> np.ndarray:
    """A blue tarp with wrinkles and a few battens holding it down."""
    base = jitter_colour(rng, (30, 92, 196), 0.12)
    wrinkles = smooth_noise(rng, height, max(2, width // 3), 0.4 * px_per_m)
    wrinkles = cv2.resize(wrinkles, (width, height), interpolation=cv2.INTER_LINEAR)
    tone = 0.22 * wrinkles + 0.04 * rng.standard_normal((height, width), dtype=np.float32)
    out = shaded(base, tone)
    for _ in range(rng.integers(0, 3)):
        y = int(rng.uniform(0.1, 0.9) * height)
        cv2.line(out, (0, y), (width - 1, y), (150, 120, 85), max(1, int(0.06 * px_per_m)))
    return np.clip(out, 0, 255)


def roof_hole(rng: np.random.Generator, height: int, width: int, px_per_m: float) -> np.ndarray:
    """The dark inside of a collapsed roof, with broken rafters running up the slope."""
    base = jitter_colour(rng, (42, 34, 28), 0.25)
    tone = 0.35 * smooth_noise(rng, height, width, 0.6 * px_per_m) + 0.1 * rng.standard_normal((height, width), dtype=np.float32)
    out = shaded(base, tone)
    spacing = 0.6 * px_per_m
    thickness = max(1, int(round(0.05 * px_per_m)))
    x = rng.uniform(0, spacing)
    while x < width:
        if rng.random() < 0.75:
            y0 = int(rng.uniform(0, 0.4) * height)
            y1 = int(rng.uniform(0.6, 1.0) * height)
            shade = rng.uniform(0.7, 1.1)
            cv2.line(out, (int(x), y0), (int(x + rng.normal(0, 0.1) * px_per_m), y1), (160 * shade, 120 * shade, 80 * shade), thickness)
        x += spacing
    return np.clip(out, 0, 255)


def framing(rng: np.random.Generator, height: int, width: int, px_per_m: float) -> np.ndarray:
    """A roof torn off down to the framing: rafters running up the slope (texture rows) over
    the attic below (insulation, ceiling boards, shadow), a few decking strips left on."""
    below = [(205, 196, 176), (214, 168, 156), (226, 204, 130), (70, 62, 54), (150, 140, 126)]
    base = jitter_colour(rng, below[rng.integers(len(below))], 0.12)
    tone = 0.25 * smooth_noise(rng, height, width, 0.5 * px_per_m) + 0.08 * rng.standard_normal((height, width), dtype=np.float32)
    out = shaded(base, tone)
    wood = jitter_colour(rng, (196, 160, 112), 0.1)
    spacing = rng.uniform(0.4, 0.6) * px_per_m
    thick = max(1, int(round(0.05 * px_per_m)))
    x = rng.uniform(0, spacing)
    while x < width:
        if rng.random() < 0.9:
            cv2.line(out, (int(x) + thick, 0), (int(x) + thick, height - 1), (40, 34, 30), thick)  # shadow
            cv2.line(out, (int(x), 0), (int(x), height - 1), tuple(float(v) for v in wood * rng.uniform(0.85, 1.1)), thick)
        x += spacing
    for _ in range(int(rng.integers(0, 4))):  # decking strips still nailed on
        y = int(rng.uniform(0, height))
        x0 = int(rng.uniform(0, width * 0.6))
        cv2.rectangle(out, (x0, y), (min(width - 1, x0 + int(rng.uniform(1.0, 3.0) * px_per_m)), y + max(1, int(0.6 * px_per_m))), tuple(float(v) for v in jitter_colour(rng, (200, 150, 92), 0.1)), -1)
    return np.clip(out, 0, 255)


def rubble(rng: np.random.Generator, height: int, width: int, px_per_m: float, roof: Colour) -> np.ndarray:
    """A pile of building debris: roof sheets, lumber, insulation, shadows between them."""
    base = jitter_colour(rng, (112, 100, 88), 0.12)
    tone = 0.30 * smooth_noise(rng, height, width, 0.8 * px_per_m) + 0.12 * rng.standard_normal((height, width), dtype=np.float32)
    out = shaded(base, tone)
    lumber = [(196, 160, 112), (170, 136, 96), (140, 112, 82)]
    insulation = [(232, 196, 180), (236, 212, 140), (214, 210, 200)]
    palette = [tuple(roof), tuple(roof), *lumber, (220, 214, 204), (120, 64, 52), (70, 64, 58), insulation[rng.integers(3)]]
    area_m2 = width * height / px_per_m**2
    # big roof sheets first, then smaller and smaller pieces on top, each with a shadow
    for size_m, count in ((3.0, 0.05), (1.5, 0.25), (0.7, 1.0), (0.3, 2.5)):
        for _ in range(int(area_m2 * count) + 1):
            colour = np.asarray(palette[rng.integers(len(palette))], np.float32) * rng.uniform(0.65, 1.1)
            cx, cy = rng.uniform(0, width), rng.uniform(0, height)
            length = rng.uniform(0.4, 1.0) * size_m * px_per_m
            thick = length * (rng.uniform(0.5, 1.0) if size_m >= 1.5 else rng.uniform(0.08, 0.3))
            box = cv2.boxPoints(((cx, cy), (length, thick), float(rng.uniform(0, 180))))
            shift = np.array([0.12, 0.12]) * px_per_m
            cv2.fillPoly(out, [np.round(box + shift).astype(np.int32)], (30, 26, 24))
            cv2.fillPoly(out, [np.round(box).astype(np.int32)], tuple(float(v) for v in colour))
    leaves = np.asarray((70, 96, 48), np.float32) * rng.uniform(0.7, 1.2)
    for _ in range(int(area_m2 * rng.uniform(0.05, 0.4)) + 1):  # branches mixed in
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        cv2.circle(out, (int(cx), int(cy)), max(1, int(rng.uniform(0.2, 0.6) * px_per_m)), tuple(float(v) for v in leaves * rng.uniform(0.7, 1.2)), -1)
    for _ in range(int(area_m2 * 1.5) + 2):  # splintered boards and sticks
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        ang = rng.uniform(0, np.pi)
        length = rng.uniform(0.5, 2.5) * px_per_m
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        colour = lumber[rng.integers(3)] if rng.random() < 0.7 else (100, 84, 66)
        cv2.line(out, (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy)), tuple(float(v) * rng.uniform(0.8, 1.15) for v in colour), max(1, int(0.06 * px_per_m)))
    return np.clip(out, 0, 255)


def wall(
    rng: np.random.Generator,
    height: int,
    width: int,
    px_per_m: float,
    colour: Colour,
    *,
    brick: bool,
    storeys: int,
    top_z_m: float,
    trim: Colour,
) -> np.ndarray:
    """Siding or brick with windows; rows are heights ``top_z_m`` (row 0) down to 0."""
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    tone = 0.05 * smooth_noise(rng, height, width, 1.0 * px_per_m) + 0.04 * rng.standard_normal((height, width), dtype=np.float32)
    if brick and 0.075 * px_per_m >= 2.0:  # finer patterns than 2 px would only alias
        course = 0.075 * px_per_m
        idx = np.floor(rows / course)
        shift = np.where(np.mod(idx, 2) == 0, 0.0, 0.11 * px_per_m)
        joint = (np.mod(rows, course) < 1.0) | (np.mod(cols + shift, 0.22 * px_per_m) < 1.0)
        tone = tone - 0.18 * joint
    elif not brick and 0.2 * px_per_m >= 2.0:
        tone = tone - 0.12 * (np.mod(rows, 0.2 * px_per_m) < 1.0)
    out = shaded(np.asarray(colour, np.float32), np.broadcast_to(tone, (height, width)))
    trim = tuple(float(v) for v in trim)
    glass = np.asarray((45, 55, 65), np.float32) * rng.uniform(0.6, 1.3)
    spacing = rng.uniform(2.6, 3.6)
    n_windows = int((width / px_per_m - 1.0) // spacing)
    margin = (width / px_per_m - n_windows * spacing) / 2
    for storey in range(storeys):
        z0 = 0.9 + 2.8 * storey
        for k in range(n_windows):
            if rng.random() < 0.15:
                continue
            x0 = margin + k * spacing + (spacing - 1.0) / 2
            c0, c1 = int(x0 * px_per_m), int((x0 + 1.0) * px_per_m)
            r0, r1 = int((top_z_m - z0 - 1.3) * px_per_m), int((top_z_m - z0) * px_per_m)
            cv2.rectangle(out, (c0 - 2, r0 - 2), (c1 + 2, r1 + 2), trim, -1)
            cv2.rectangle(out, (c0, r0), (c1, r1), tuple(float(v) for v in glass), -1)
    return np.clip(out, 0, 255)


def canopy(rng: np.random.Generator, size_px: int, colour: Colour, sun_dir_xy: np.ndarray, *, stripped: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A tree crown seen from above: ``(rgb float32[s, s, 3], alpha uint8[s, s])``.

    ``stripped`` (0-1): how much of the foliage the wind tore off, showing bare grey limbs.
    """
    s = size_px
    alpha = np.zeros((s, s), np.float32)
    r = s / 2
    for _ in range(rng.integers(5, 11)):
        ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.45) * r
        cx, cy = r + dist * np.cos(ang), r + dist * np.sin(ang)
        cv2.circle(alpha, (int(cx), int(cy)), int(rng.uniform(0.35, 0.55) * r), 1.0, -1)
    noise = smooth_noise(rng, s, s, max(2.0, s / 10))
    alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), max(1.0, s / 30)) * 1.8 - 0.35 + 0.3 * noise, 0, 1)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    # lit side towards the sun (image rows grow southwards, columns eastwards)
    light = ((xx - r) * sun_dir_xy[0] - (yy - r) * sun_dir_xy[1]) / r
    clumps = smooth_noise(rng, s, s, max(2.0, s / 14))
    tone = 0.25 * light + 0.22 * clumps + 0.12 * rng.standard_normal((s, s), dtype=np.float32)
    rgb = shaded(np.asarray(colour, np.float32), tone)
    if stripped > 0:
        holes = smooth_noise(rng, s, s, max(2.0, s / 8))
        alpha = alpha * np.clip(1.0 - stripped * (1.0 + holes), 0, 1)
        limb = np.asarray((120, 108, 94), np.float32) * rng.uniform(0.7, 1.2)
        width = max(1, int(s / 60))
        for _ in range(int(rng.integers(5, 12))):
            ang = rng.uniform(0, 2 * np.pi)
            end = (int(r + r * 0.9 * np.cos(ang)), int(r + r * 0.9 * np.sin(ang)))
            cv2.line(rgb, (int(r), int(r)), end, tuple(float(v) for v in limb), width, lineType=cv2.LINE_AA)
            cv2.line(alpha, (int(r), int(r)), end, 1.0, width, lineType=cv2.LINE_AA)
    return np.clip(rgb, 0, 255), (alpha * 255).astype(np.uint8)
