"""The printed map's PDF stays small enough to share over a satellite link: photographs
(the sites' close-ups, the basemap) go in as JPEG at the pixels they print at, not as
lossless copies resampled to the page's resolution (which made a real flight's PDF some
60 kB a site: 54 MB for a long flight)."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from core.types import DamageLevel
from geo.export.print_map import (
    ATLAS_GRID,
    MAP_BOX,
    PDF_IMAGE_DPI,
    AtlasCard,
    draw_atlas_pages,
    new_page,
    save_pages,
)

SITES = 24
CLOSEUP_PX = 160  # as engine.thumbnails makes them


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    """An RGB image with a photograph's detail: shapes at several scales and sensor noise,
    which lossless compression keeps nearly whole and JPEG does not."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for scale, amplitude in ((32, 60.0), (8, 30.0), (2, 12.0)):
        coarse = rng.normal(0.0, 1.0, (max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        image += amplitude * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    image += rng.normal(0.0, 3.0, image.shape).astype(np.float32)
    return np.clip(image + 128.0, 0, 255).astype(np.uint8)


def _closeup(seed: int) -> bytes:
    return cv2.imencode(".jpg", _photo(CLOSEUP_PX, CLOSEUP_PX, seed), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def _images(pdf: bytes) -> list[dict[str, str]]:
    """Each image XObject's header entries (Width, Height, Filter, ColorSpace ...)."""
    found = []
    for match in re.finditer(rb"\d+ 0 obj\s*(<<(?:(?!endobj).)*?>>)\s*stream", pdf, re.S):
        header = match.group(1).decode("latin-1")
        if "/Subtype /Image" in header:
            found.append(dict(re.findall(r"/(Width|Height|Filter|ColorSpace) /?(\w+)", header)))
    return found


def _pages(basemap_px: tuple[int, int]):  # noqa: ANN202 - (map page Figure, map Axes, atlas Figures)
    """A map page with a photographic basemap over the whole map, as draw_map draws one,
    and the atlas of SITES sites with photographic close-ups."""
    page, ax, _ = new_page()
    rows, columns = basemap_px
    ax.imshow(_photo(rows, columns, 0), extent=(0, columns, 0, rows), origin="upper", interpolation="bilinear",
              zorder=0)
    ax.set_xlim(0, columns)
    ax.set_ylim(0, rows)
    ax.set_aspect("equal")
    closeups = [_closeup(seed) for seed in range(1, SITES + 1)]
    cards = [AtlasCard(k + 1, list(DamageLevel)[k % 3], ("lat 30.1, lon -85.6", "\u00b12.0 m"),
                       lambda jpeg=jpeg: jpeg, (0.3, 0.3, 0.7, 0.7)) for k, jpeg in enumerate(closeups)]
    return page, ax, draw_atlas_pages(cards, "Size test")


def test_the_pdf_holds_every_site_in_a_few_kb_each_as_jpeg_at_its_own_pixels(tmp_path):
    page, ax, atlas = _pages((900, 1200))  # the print basemap: 1200 px at most, about 170 ppi on the map
    png, pdf = save_pages(tmp_path / "map.png", tmp_path / "map.pdf", page, atlas)
    data = pdf.read_bytes()
    assert len(re.findall(rb"/Type /Page\b(?!s)", data)) == 1 + math.ceil(SITES / (ATLAS_GRID[0] * ATLAS_GRID[1]))
    images = [i for i in _images(data) if i.get("ColorSpace") != "DeviceGray"]  # (soft masks aside)
    assert len(images) == SITES + 1
    assert {i.get("Filter") for i in images} == {"DCTDecode"}  # photographs as JPEG
    closeups = [i for i in images if int(i["Width"]) < 400]
    assert len(closeups) == SITES
    # at their own pixels: not blown up to the page's resolution (193 px at 150 dpi)
    assert {(int(i["Width"]), int(i["Height"])) for i in closeups} == {(CLOSEUP_PX, CLOSEUP_PX)}
    (basemap,) = [i for i in images if int(i["Width"]) >= 400]
    assert int(basemap["Width"]) == 1200  # coarser than PDF_IMAGE_DPI on paper: its own pixels too
    # the whole file: a few kB a site (the close-ups' JPEGs are 7 kB), where lossless copies
    # resampled to the page took some 60 kB a site
    budget = 400_000 + SITES * 10_000  # the map page with its basemap, fonts; then the sites
    assert len(data) < budget, f"{len(data) / 1e3:.0f} kB for {SITES} sites"
    # the figures are left as drawn, and the PNG keeps the page as before (a 150-dpi raster)
    assert ax.images[0].get_interpolation() == "bilinear"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_a_basemap_finer_than_print_is_resampled_to_the_print_resolution(tmp_path):
    page, ax, atlas = _pages((2400, 3200))  # 3200 px over a map about 7 inches wide: 450 ppi
    _, pdf = save_pages(tmp_path / "map.png", tmp_path / "map.pdf", page, atlas[:1])
    (basemap,) = [i for i in _images(pdf.read_bytes()) if i.get("ColorSpace") != "DeviceGray"
                  and int(i["Width"]) >= 400]
    assert basemap["Filter"] == "DCTDecode"
    map_width_in = MAP_BOX[2] * page.get_size_inches()[0]
    assert int(basemap["Width"]) <= math.ceil(PDF_IMAGE_DPI * map_width_in) + 2
    assert int(basemap["Width"]) >= 0.9 * PDF_IMAGE_DPI * map_width_in  # and not coarser than that
