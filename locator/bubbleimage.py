"""Instrument bubbles found in a page image (a scan): outlines from the white inside them.

On a born-digital page a bubble is a painted path (:mod:`locator.bubbles`);
on a scan it is ink, touched by signal lines and often by its own digits,
thin and faint. What stays clean is the *inside*: the paper enclosed by the
outline is one white region, or two when a bar crosses it (``circle-bar``).
This stage is image analysis only (numpy, OpenCV; no PDF, no OCR):

- :func:`find_in_image`: the white regions of a bubble's size whose convex
  hull is a circle, a stadium, a hexagon, a square or a diamond; two halves
  split by a straight bar joined; a circle with ink at its box's four corners
  (a square around it) is ``box``. Each comes back as an :class:`ImageBubble`:
  the :class:`~locator.bubbles.Bubble` (page points, unrotated space) and
  the inside to read -- a crop of the image with everything outside the hull
  of the inside painted white, so the outline and the bar are not read as
  text, while digits that touch the outline stay.

Every size is in points, turned into pixels at the image's DPI, so one rule
serves every scan resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from locator.bubbles import Bubble, Shape
from locator.geometry import Box, Tile, lift

#: The inside of a bubble, points on its long side (outlines of 8-80 pt:
#: :data:`locator.pdf.OUTLINE_PT`, less the stroke).
INSIDE_PT = (7.0, 80.0)
#: The short side of the inside (or of half of it, above or under a bar):
#: at least one line of 4.5 pt text.
MIN_SIDE_PT = 3.5
#: Ink is this many grey levels darker than the paper (the image's median):
#: a faint 0.5 pt outline scanned at 200 dpi is 20-40 levels under the paper,
#: sensor noise and paper grain some 5.
INK_DELTA = 18
#: Pixels this much under the paper are ink where they touch ink (hysteresis,
#: as Canny's): about twice the noise.
FAINT_DELTA = 10
#: A white region bounded by an outline fills its convex hull; one bounded by
#: digits touching the outline is notched a little; the space between line
#: art (corners of a square around a circle, cells of crossing pipes) much.
MIN_SOLIDITY = 0.4
#: The share of a region's hull that is ink (its text, inside or touching the
#: outline), at least: a line of 4.5 pt capitals in a 30 pt circle is 4 %.
MIN_INK_INSIDE = 0.02
#: The widest bar between two halves of one bubble, points (with its blur).
MAX_BAR_PT = 2.0
#: How far a round hull's edge may stray from its mean radius (share).
ROUND_SPREAD = 0.09
#: Long over short side: a circle or square at most, a stadium at most.
SQUARE_ASPECT = 1.25
STADIUM_ASPECT = 2.6
#: A long outline's end is round when, a sixth of its short side in, it is at
#: least this share of the short side across (a semicircle: 0.745; the pointed
#: ends of the generated and the DEXPI hexagons, their inside blunted by the
#: stroke: 0.40-0.68).
ROUND_END = 0.72


@dataclass(frozen=True, slots=True)
class ImageBubble:
    """A bubble found in an image: ``bubble`` (page points), and ``inside``,
    the grey crop of the image to read its text from (white outside the
    bubble's inside), whose pixel (0, 0) is ``origin_px`` of the image.
    ``turns``: the text directions its outline allows (a bar runs along the
    text, a long outline too), in degrees counter-clockwise of the image;
    empty when any (a circle, a square, a diamond)."""

    bubble: Bubble
    inside: np.ndarray
    origin_px: tuple[int, int]
    turns: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Region:
    """One white region: its box (image px), hull points, area, label."""

    label: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    hull: np.ndarray
    area: float


def _ink(img: np.ndarray) -> np.ndarray:
    """Ink (1) and paper (0): pixels :data:`INK_DELTA` under the paper, and the
    fainter ones (:data:`FAINT_DELTA`) touching them -- a faint outline is
    dark in places and barely there between; noise alone is never kept."""
    import cv2

    paper = _median(img)
    faint = (img < paper - FAINT_DELTA).astype(np.uint8)
    n, labels = cv2.connectedComponents(faint, connectivity=8)
    keep = np.zeros(n, bool)
    keep[labels[img < paper - INK_DELTA]] = True  # (fancy assignment: no sort, unlike unique)
    keep[0] = False
    return keep[labels].astype(np.uint8)


def _median(img: np.ndarray) -> float:
    """The median grey level (from the histogram: a tenth of ``np.median``'s time)."""
    import cv2

    cum = np.cumsum(cv2.calcHist([img], [0], None, [256], [0, 256]).ravel())
    return float(np.searchsorted(cum, cum[-1] / 2))


def _regions(white: np.ndarray, px: float) -> tuple[np.ndarray, list[_Region]]:
    """The white regions of a bubble's inside size (or half of it) that fill
    their hull, and the label image."""
    import cv2

    n, labels, stats, _ = cv2.connectedComponentsWithStats(white, connectivity=4)
    h_img, w_img = white.shape
    lo, hi = INSIDE_PT[0] * px, INSIDE_PT[1] * px
    out = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if x == 0 or y == 0 or x + w >= w_img or y + h >= h_img:
            continue  # cut by the image's edge: whole in the neighbouring tile
        if max(w, h) < lo or max(w, h) > hi or min(w, h) < MIN_SIDE_PT * px:
            continue
        mask = (labels[y:y + h, x:x + w] == i).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        c = max(contours, key=cv2.contourArea)
        hull = cv2.convexHull(c)
        hull_area = cv2.contourArea(hull)
        # the region with its islands (the text) filled, against its hull
        if hull_area <= 0 or cv2.contourArea(c) / hull_area < MIN_SOLIDITY:
            continue
        # nothing written inside (a letter's counter, an empty frame): no tag to read
        if 1.0 - area / hull_area < MIN_INK_INSIDE:
            continue
        out.append(_Region(i, (x, y, x + w, y + h), hull.reshape(-1, 2) + (x, y), hull_area))
    return labels, out


def hull_kind(points: np.ndarray) -> str | None:
    """A convex outline (hull points, px) as ``round`` (a circle or a stadium),
    ``hexagon``, ``square``, ``diamond``, or None."""
    import cv2

    hull = cv2.convexHull(points.astype(np.float32))
    x, y, w, h = cv2.boundingRect(hull)
    if min(w, h) <= 0:
        return None
    aspect = max(w, h) / min(w, h)
    area = cv2.contourArea(hull)
    extent = area / (w * h)
    peri = cv2.arcLength(hull, True)
    corners = len(cv2.approxPolyDP(hull, 0.03 * peri, True))
    edge = _edge_points(hull.reshape(-1, 2))
    centre = edge.mean(axis=0)
    radii = np.hypot(*(edge - centre).T)
    spread = float(np.max(np.abs(radii - radii.mean())) / radii.mean())
    if aspect <= SQUARE_ASPECT and spread <= ROUND_SPREAD:
        return "round"
    if corners == 4 and aspect <= SQUARE_ASPECT:
        return "square" if extent >= 0.85 else ("diamond" if extent <= 0.62 else None)
    if aspect <= SQUARE_ASPECT and corners in (6, 7) and 0.65 <= extent <= 0.92:
        return "hexagon"
    # long: a stadium (round ends, straight sides) or a hexagon (pointed ends)
    if aspect <= STADIUM_ASPECT and corners >= 6 and 0.65 <= extent <= 0.96:
        return "round" if _round_ends(hull.reshape(-1, 2), (x, y, w, h)) else "hexagon"
    return None


def _round_ends(hull: np.ndarray, rect: tuple[int, int, int, int]) -> bool:
    """The ends of a long convex outline are round (a stadium), not pointed (a
    hexagon): a sixth of the short side in from each end, a semicircle is
    0.75 of the short side across, a hexagon's point 0.4-0.58, blunted by the
    stroke to about 0.68 (:data:`ROUND_END`)."""
    import cv2

    x, y, w, h = rect
    mask = np.zeros((h + 2, w + 2), np.uint8)
    cv2.fillConvexPoly(mask, (hull - (x - 1, y - 1)).astype(np.int32), 1)
    if h > w:
        mask, w, h = mask.T, h, w
    d = max(1, round(h / 6))
    across = [int(mask[:, 1 + d].sum()), int(mask[:, w - d].sum())]
    return min(across) >= ROUND_END * h


def _edge_points(poly: np.ndarray, n: int = 72) -> np.ndarray:
    """``n`` points spread evenly along a closed polygon's edges."""
    pts = np.vstack([poly, poly[:1]]).astype(float)
    seg = np.hypot(*np.diff(pts, axis=0).T)
    total = seg.sum()
    at = np.linspace(0, total, n, endpoint=False)
    cum = np.concatenate([[0], np.cumsum(seg)])
    idx = np.clip(np.searchsorted(cum, at, side="right") - 1, 0, len(seg) - 1)
    t = (at - cum[idx]) / np.maximum(seg[idx], 1e-9)
    return pts[idx] + (pts[idx + 1] - pts[idx]) * t[:, None]


def _halves(a: _Region, b: _Region, px: float) -> bool:
    """``a`` and ``b`` are the two halves of one inside, a straight bar between:
    side by side across a gap no wider than a bar, spanning the same width."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    bar = MAX_BAR_PT * px
    for (p0, p1, q0, q1), (s0, s1, t0, t1) in (((ay0, ay1, by0, by1), (ax0, ax1, bx0, bx1)),
                                              ((ax0, ax1, bx0, bx1), (ay0, ay1, by0, by1))):
        gap = max(q0 - p1, p0 - q1)
        overlap = min(s1, t1) - max(s0, t0)
        if 0 <= gap <= bar and overlap >= 0.8 * max(s1 - s0, t1 - t0):
            return True
    return False


def _stroke_px(ink: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """The outline's width in pixels: the run of ink outward from the inside's
    box at the middle of each side (the median of four)."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    h, w = ink.shape
    runs = []
    for dx, dy, sx, sy in ((0, -1, cx, y0 - 1), (0, 1, cx, y1), (-1, 0, x0 - 1, cy),
                           (1, 0, x1, cy)):
        n, x, y = 0, sx, sy
        while 0 <= x < w and 0 <= y < h and ink[y, x] and n < 12:
            n, x, y = n + 1, x + dx, y + dy
        runs.append(n)
    return int(sorted(runs)[1]) if runs else 0  # low median: a stub line makes a run long


def _square_around(ink: np.ndarray, box: tuple[int, int, int, int], reach: int) -> bool:
    """Ink just outside all four corners of ``box`` (within ``reach``): a square
    drawn around the round inside (ISA's shared display, ``box``). Only the
    quarter outside each corner is looked at: the circle itself passes inside
    the box's corners, and a window centred on them would reach it."""
    x0, y0, x1, y1 = box
    h, w = ink.shape
    r = max(2, reach)
    hits = 0
    for xa, xb, ya, yb in ((x0 - r, x0 + 1, y0 - r, y0 + 1), (x1 - 1, x1 + r, y0 - r, y0 + 1),
                           (x0 - r, x0 + 1, y1 - 1, y1 + r), (x1 - 1, x1 + r, y1 - 1, y1 + r)):
        win = ink[max(0, ya):min(h, yb), max(0, xa):min(w, xb)]
        hits += bool(win.any())
    return hits == 4


def find_in_image(img: np.ndarray, tile: Tile) -> list[ImageBubble]:
    """The bubbles in ``img`` (the grey render of ``tile``): boxes lifted to
    page points (unrotated space), the inside of each to read. Bubbles cut by
    the image's edge are left to the tile that holds them whole."""
    import cv2

    px = tile.dpi / 72.0
    ink = _ink(img)
    labels, regions = _regions(1 - ink, px)
    by_box = sorted(range(len(regions)), key=lambda i: regions[i].box)
    paired: dict[int, int] = {}
    for k, i in enumerate(by_box):
        if i in paired:
            continue
        for j in by_box[k + 1:]:
            if regions[j].box[0] > regions[i].box[2] + MAX_BAR_PT * px:
                break
            if j not in paired and _halves(regions[i], regions[j], px):
                both = np.vstack([regions[i].hull, regions[j].hull])
                if hull_kind(both) is not None:
                    paired[i], paired[j] = j, i
                    break
    out: list[ImageBubble] = []
    done: set[int] = set()
    for i, r in enumerate(regions):
        if i in done:
            continue
        parts = [r] + ([regions[paired[i]]] if i in paired else [])
        done.update([i] + ([paired[i]] if i in paired else []))
        points = np.vstack([p.hull for p in parts])
        kind = hull_kind(points)
        if kind is None:
            continue
        x0 = min(p.box[0] for p in parts)
        y0 = min(p.box[1] for p in parts)
        x1 = max(p.box[2] for p in parts)
        y1 = max(p.box[3] for p in parts)
        stroke = _stroke_px(ink, (x0, y0, x1, y1))
        shape = _shape(kind, len(parts) == 2, ink, (x0, y0, x1, y1), stroke)
        box = lift(Box(x0 - stroke, y0 - stroke, x1 + stroke, y1 + stroke), tile)
        # the inside to read: the hull of each part, the rest of the crop white
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        for p in parts:
            cv2.fillConvexPoly(mask, (p.hull - (x0, y0)).astype(np.int32), 1)
        crop = img[y0:y1, x0:x1].copy()
        crop[mask == 0] = 255
        out.append(ImageBubble(Bubble(box, shape, tile.page), crop, (x0, y0),
                               _turns(parts, (x0, y0, x1, y1))))
    return out


def _turns(parts: list[_Region], box: tuple[int, int, int, int]) -> tuple[int, ...]:
    """The text directions an outline allows: halves one above the other (a bar
    across) or a wide outline, upright text; side by side or tall, turned."""
    x0, y0, x1, y1 = box
    if len(parts) == 2:
        a, b = parts
        upright = a.box[3] <= b.box[1] + 1 or b.box[3] <= a.box[1] + 1
    elif max(x1 - x0, y1 - y0) > SQUARE_ASPECT * min(x1 - x0, y1 - y0):
        upright = x1 - x0 > y1 - y0
    else:
        return ()
    return (0, 180) if upright else (90, 270)


def _shape(kind: str, barred: bool, ink: np.ndarray, box: tuple[int, int, int, int],
           stroke: int) -> Shape:
    if kind == "diamond":
        return Shape.diamond
    if kind == "hexagon":
        return Shape.hexagon
    if kind == "square":
        return Shape.box
    # a round inside: in a square (box), split by a bar (circle-bar), or alone
    x0, y0, x1, y1 = box
    square = max(x1 - x0, y1 - y0) <= SQUARE_ASPECT * min(x1 - x0, y1 - y0)
    if square and _square_around(ink, box, reach=int(math.ceil(stroke * 1.5)) + 1):
        return Shape.box
    return Shape.circle_bar if barred else Shape.circle
