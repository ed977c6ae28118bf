"""The tile grid: same-size tiles with overlap, edge tiles snapped inward.

A pure function of the page's rendered size (as SAHI's ``slicing.py``): every
tile is ``tile x tile`` pixels (or the whole page side when the page is
smaller), neighbours overlap by at least ``overlap`` pixels, and the last tile
of a row or column is pulled back inside the page instead of hanging over its
edge. Also the cheap blank-tile test that spares OCR on empty paper (judged by
marks of glyph size in physical units, so it does not depend on the tile size).
"""

from __future__ import annotations

import math

import numpy as np

from locator.geometry import PageFrame, Tile, pt_to_px, to_tile_px


def starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``[0, length)``.

    >>> starts(4000, 1600, 200)
    [0, 1200, 2400]
    >>> starts(1000, 1600, 200)
    [0]
    """
    if length <= tile:
        return [0]
    stride = tile - overlap
    n = math.ceil((length - overlap) / stride)
    out = [i * stride for i in range(n)]
    out[-1] = length - tile  # snap the edge tile inward: same size, fully inside
    # Snapping can leave the last two tiles nearly on top of each other; that is
    # cheaper than a ragged, smaller tile that reads differently.
    return sorted(set(out))


def view_size_px(frame: PageFrame, dpi: float) -> tuple[int, int]:
    """The page's rendered view size in whole pixels at ``dpi``.

    Rounded up, so the last partial pixel row and column (and the text that may
    touch the page edge there) are covered too.
    """
    w, h = frame.view_size
    return (max(1, math.ceil(pt_to_px(w, dpi) - 1e-6)), max(1, math.ceil(pt_to_px(h, dpi) - 1e-6)))


def grid(page: int, frame: PageFrame, dpi: float, tile: int, overlap: int, *,
         within: tuple[int, int, int, int] | None = None) -> list[Tile]:
    """All tiles of one page, row by row. ``page`` is 1-based.

    ``overlap`` must be smaller than ``tile``; both are pixels at ``dpi``.
    ``within`` restricts the grid to a rectangle ``(x0, y0, x1, y1)`` of the
    page's view pixels (clipped to the page): the same grid laid over that
    region only, for reading just a part of a page.
    """
    if tile <= 0 or overlap < 0 or overlap >= tile:
        raise ValueError(f"need 0 <= overlap < tile, got tile={tile}, overlap={overlap}")
    w, h = view_size_px(frame, dpi)
    ox, oy = 0, 0
    if within is not None:
        x0, y0 = max(0, within[0]), max(0, within[1])
        x1, y1 = min(w, within[2]), min(h, within[3])
        if x1 <= x0 or y1 <= y0:
            return []
        ox, oy, w, h = x0, y0, x1 - x0, y1 - y0
    tw, th = min(tile, w), min(tile, h)
    out = []
    for r, y in enumerate(starts(h, tile, overlap)):
        for c, x in enumerate(starts(w, tile, overlap)):
            out.append(Tile(page=page, rect_px=(ox + x, oy + y, ox + x + tw, oy + y + th),
                            dpi=dpi, frame=frame, row=r, col=c))
    return out


def blank_outside(img: np.ndarray, tile: Tile) -> np.ndarray:
    """``img`` (the rendered ``tile``) with everything outside ``tile.keep`` white.

    A page whose text layer lacks only some regions (images, broken words) is
    read there only; regions close together share one tile, and the ink
    between them (text the layer already holds) would cost OCR time and give
    words that are dropped again. Pixels partly inside a region are kept.
    """
    if not tile.keep:
        return img
    h, w = img.shape[:2]
    mask = np.zeros((h, w), dtype=bool)
    for box in tile.keep:
        b = to_tile_px(box, tile)
        x0, y0 = max(0, math.floor(b.x0)), max(0, math.floor(b.y0))
        x1, y1 = min(w, math.ceil(b.x1)), min(h, math.ceil(b.y1))
        if x1 > x0 and y1 > y0:
            mask[y0:y1, x0:x1] = True
    if mask.all():
        return img
    out = img.copy()
    out[~mask] = 255
    return out


def interior_edges(t: Tile, frame: PageFrame) -> tuple[bool, bool, bool, bool]:
    """Which of the tile's (left, top, right, bottom) edges lie inside the page.

    A word touching an interior edge may be cut; the neighbouring tile holds it
    whole. Edges on the page border cut nothing.
    """
    w, h = view_size_px(frame, t.dpi)
    x0, y0, x1, y1 = t.rect_px
    return (x0 > 0, y0 > 0, x1 < w, y1 < h)


#: A mark is glyph-sized when its long side is at least this (points): a
#: letter or digit of 4-pt text is 2 (x-height) to 2.9 pt (a ``1``) tall;
#: scanner specks (salt and pepper, dust) are a pixel or three across, and a
#: speck with a pepper pixel touching it on each side is 5 px (1.2 pt at 300 dpi).
GLYPH_MIN_PT = 1.5
#: ... and it holds at least this much ink (square points): a 4-pt ``1`` has
#: about 1, a lone pepper pixel at 300 dpi 0.06.
GLYPH_MIN_INK_PT2 = 0.25


def is_blank(img: np.ndarray, *, dpi: float = 300.0, ink_level: int = 160) -> bool:
    """True when a grey tile rendered at ``dpi`` holds no mark of glyph size: nothing to read.

    Judged per connected mark of pixels darker than ``ink_level``, in physical
    units at ``dpi`` (:data:`GLYPH_MIN_PT`, :data:`GLYPH_MIN_INK_PT2`), not as
    a share of the tile: a single small code on an otherwise empty tile is
    read, whatever the tile size, and a scan's noise alone (isolated pixels,
    dust specks) is still blank.
    """
    if img.size == 0:
        return True
    if img.ndim == 3:
        img = img.mean(axis=2)
    ink = img < ink_level
    if not ink.any():
        return True
    px_per_pt = dpi / 72.0
    side = max(2.0, GLYPH_MIN_PT * px_per_pt)
    area = max(2.0, GLYPH_MIN_INK_PT2 * px_per_pt * px_per_pt)
    # only the box around the ink is labelled: a tile holding one small code is cheap
    per_row = ink.sum(axis=1)
    rows, cols = np.flatnonzero(per_row), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    per_row = per_row[rows[0]:rows[-1] + 1]
    band = int(BLANK_BAND_PT * px_per_pt)
    if len(per_row) > 2 * band:
        # A mark of the band is part of a mark of the tile, as long and as
        # inked at least: a glyph found in the band with the most ink answers
        # for the tile (most tiles of a drawing), at a fraction of labelling
        # it all; else the whole tile is labelled.
        sums = np.convolve(per_row, np.ones(band, np.int64), mode="valid")
        top = int(np.argmax(sums))
        if _has_glyph(ink[top:top + band], side, area):
            return False
    return not _has_glyph(ink, side, area)


#: The band of a tile's rows the blank test labels first (see :func:`is_blank`).
BLANK_BAND_PT = 72.0


def _has_glyph(ink: np.ndarray, side: float, area: float) -> bool:
    """Does the boolean ink image hold a connected mark of glyph size?"""
    import cv2

    _n, _labels, stats, _c = cv2.connectedComponentsWithStats(ink.view(np.uint8), connectivity=8)
    stats = stats[1:]  # row 0 is the background
    long_side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    return bool(np.any((long_side >= side) & (stats[:, cv2.CC_STAT_AREA] >= area)))
