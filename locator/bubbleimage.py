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
    empty when any (a circle, a square, a diamond). ``ring``: the share of a
    fitted outline's ring that is inked (:func:`fit_outline`; 1 for an outline
    found by its white inside)."""

    bubble: Bubble
    inside: np.ndarray
    origin_px: tuple[int, int]
    turns: tuple[int, ...] = ()
    ring: float = 1.0


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


# ------------------------------------------------------------------ outlines fitted around text
#
# A faint outline broken in places leaks its inside into the paper around it;
# digits touching the outline at both ends cut the inside in pieces. Neither
# has a white inside whose hull is the shape, but both keep most of their
# outline: an outline is confirmed by ink along a fitted circle, square,
# diamond or hexagon ring, which a gap or a touching digit barely changes.
# The ring is only looked for around text the page's OCR read as two stacked
# lines (the bubble pass's seeds), never from the ring alone.

#: A ring sample has ink when ink is this near (px; the fit's step and blur).
RING_TOL_PX = 1.5
#: An outline: ink at this share of its ring's samples, at least ...
MIN_RING = 0.88
#: ... and at most this share a few pixels outside it (a line, not an area of
#: ink or hatching; signal lines and a square around a circle cross it).
MAX_OUTSIDE = 0.4
#: Just inside the ring the text may touch it (digits at both ends): the
#: share of ink there may be this much more than outside.
INSIDE_SLACK = 0.25
#: "Just outside" (and inside): this far out of the ring (px), past the outline's own blurred
#: ink (2-3 px) and the tolerance.
OUT_PX = 2 * RING_TOL_PX + 2
#: A bar is ink along this share of a chord through the middle, at least
#: (digits under it, ink at a third of it, never reach that).
MIN_BAR = 0.9
#: Ink in the fit is this many noise deviations under the paper (the crop's
#: own median and spread, smoothed): a faint 0.5 pt outline scanned at 200 dpi
#: is 10-16 levels under the paper, the smoothed noise 1.5-2.
RING_SIGMAS = 4.0
RING_SAMPLES = 64


def _ring_distance(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's distance (px) to the nearest ink of the smoothed crop, and
    that ink: :data:`RING_SIGMAS` of the crop's noise under its paper."""
    import cv2

    sm = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 0.8)
    paper = float(np.median(sm))
    noise = 1.4826 * float(np.median(np.abs(sm - paper)))
    ink = sm < paper - max(5.0, RING_SIGMAS * noise)
    dist: np.ndarray = cv2.distanceTransform((~ink).astype(np.uint8), cv2.DIST_L2, 3)
    return dist, ink


def _unit_ring(kind: str, n: int = RING_SAMPLES) -> np.ndarray:
    """``n`` points along a unit outline (half-size 1) centred at 0."""
    if kind == "circle":
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    corners = {"square": [(-1, -1), (1, -1), (1, 1), (-1, 1)],
               "diamond": [(-1, 0), (0, -1), (1, 0), (0, 1)]}[kind]
    return _edge_points(np.array(corners, float), n)


def _hexagons(a: np.ndarray, h: np.ndarray, along_x: bool
              ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Hexagon rings (points, (P, n, 2)) pointed along x (or y), half-lengths
    ``a``, half-heights ``h``, the flat sides' half-length ``b = a - k h`` for
    a few slopes of the pointed ends; their (a, h, b) rows; and each one's six
    vertices."""
    rows, rings, polys = [], [], []
    for aa in a:
        for hh in h:
            for k in (0.35, 0.6, 0.85):
                b = aa - k * hh
                if b < 0.2 * aa:
                    continue
                poly = np.array([(-aa, 0), (-b, -hh), (b, -hh), (aa, 0), (b, hh), (-b, hh)])
                if not along_x:
                    poly = poly[:, ::-1]
                rings.append(_edge_points(poly, RING_SAMPLES))
                polys.append(poly)
                rows.append((aa, hh, b))
    return np.array(rings), np.array(rows), polys


def _coverage(dist: np.ndarray, centres: np.ndarray, rings: np.ndarray) -> np.ndarray:
    """Share of ring samples with ink near, for every centre x ring: (C, P)."""
    pts = centres[:, None, None, :] + rings[None, :, :, :]
    h, w = dist.shape
    x = np.clip(np.rint(pts[..., 0]).astype(np.intp), 0, w - 1)
    y = np.clip(np.rint(pts[..., 1]).astype(np.intp), 0, h - 1)
    near: np.ndarray = (dist[y, x] <= RING_TOL_PX).mean(axis=2)
    return near


@dataclass(frozen=True, slots=True)
class _Fit:
    kind: str
    ring: float
    outside: float  # ink just outside the ring (or inside, less the slack)
    centre: tuple[float, float]
    poly: np.ndarray  # the outline's vertices (px, crop), a circle as 32 points


def _best(dist: np.ndarray, kind: str, centres: np.ndarray, rings: np.ndarray,
          polys: list[np.ndarray], scale_out: np.ndarray) -> _Fit | None:
    """The best-covered ring of one kind (ring ink less ink just outside)."""
    if not len(rings):
        return None
    cov = _coverage(dist, centres, rings)
    ok = cov >= MIN_RING
    if not ok.any():
        return None
    ci, pi = np.unravel_index(np.argmax(np.where(ok, cov, -1.0)), cov.shape)
    out = float(_coverage(dist, centres[ci:ci + 1], rings[pi:pi + 1] * scale_out[pi])[0, 0])
    inward = float(_coverage(dist, centres[ci:ci + 1], rings[pi:pi + 1] * (2 - scale_out[pi]))[0, 0])
    c = (float(centres[ci][0]), float(centres[ci][1]))
    return _Fit(kind, float(cov[ci, pi]), max(out, inward - INSIDE_SLACK), c, polys[pi] + np.array(c))


def _half(f: _Fit) -> float:
    """A circle's radius, a square's half side."""
    return float(np.abs(f.poly - np.array(f.centre)).max())


def fit_outline(img: np.ndarray, tile: Tile, seed_px: tuple[float, float, float, float]
                ) -> ImageBubble | None:
    """A bubble outline around text (``seed_px``: the box of its two lines in
    ``img``, the grey render of ``tile``) found by the ink along a ring rather
    than by a closed white inside: a circle (alone, in a square: ``box``,
    with a bar: ``circle-bar``), a diamond, a hexagon or a square whose ring
    is inked at :data:`MIN_RING` of its samples and little just outside. None
    when no ring fits. The inside to read is the ring's inside, the outline
    and the bar painted out."""
    import cv2

    px = tile.dpi / 72.0
    x0, y0, x1, y1 = seed_px
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    long, short = max(w, h), min(w, h)
    dist, ink = _ring_distance(img)
    lo, hi = INSIDE_PT[0] * px / 2, INSIDE_PT[1] * px / 2
    # the text is centred in its bubble: the centre a few pixels off the seed's
    reach = max(3.0, 0.15 * short)
    offs = np.arange(-reach, reach + 0.5, 1.0)
    centres = np.array([(cx + dx, cy + dy) for dy in offs for dx in offs])
    coarse = np.array([(cx + dx, cy + dy) for dy in offs[::2] for dx in offs[::2]])
    fits: list[_Fit] = []
    # round and square outlines hold the text's corners (a digit may poke out)
    half_diag = 0.5 * math.hypot(w, h)
    top = 1.6 * half_diag + 3 * px
    for kind, sizes in (("circle", np.arange(max(lo, 0.85 * half_diag), min(hi, top), 1.0)),
                        ("square", np.arange(max(lo, 0.5 * long), min(hi, top), 1.0)),
                        ("diamond", np.arange(max(lo, 0.45 * (w + h)),
                                              min(hi, 1.3 * (w + h) + 3 * px), 1.0))):
        unit = _unit_ring(kind)
        rings = unit[None] * sizes[:, None, None]
        polys = [unit[:: max(1, RING_SAMPLES // 32)] * s if kind == "circle"
                 else _unit_ring(kind, 4) * s for s in sizes]
        scale_out = (sizes + OUT_PX) / sizes
        f = _best(dist, kind, centres, rings, polys, scale_out)
        if f is not None:
            fits.append(f)
    for along_x in (True, False):
        la, sa = (w, h) if along_x else (h, w)
        # a hexagon's sides run clear of its text (its pointed ends past the number)
        clear = RING_TOL_PX + 1
        a = np.arange(max(lo, 0.5 * la + clear), min(hi, 0.65 * la + sa + 3 * px), 2.0)
        hh = np.arange(max(MIN_SIDE_PT * px / 2, 0.5 * sa + clear), 0.8 * sa + 3 * px, 2.0)
        rings, rows, polys = _hexagons(a, hh, along_x)
        if not len(rings):
            continue
        scale_out = np.array([[(r[0] + OUT_PX) / r[0], (r[1] + OUT_PX) / r[1]] if along_x
                              else [(r[1] + OUT_PX) / r[1], (r[0] + OUT_PX) / r[0]] for r in rows])
        f = _best(dist, "hexagon", coarse, rings, polys, scale_out[:, None, :])
        if f is not None:
            fits.append(f)
    by_kind = {f.kind: f for f in fits}
    sq = by_kind.get("square")
    circle = by_kind.get("circle")
    around = (sq is not None and circle is not None and sq.outside <= MAX_OUTSIDE
              and abs(_half(sq) - _half(circle)) <= 2 * RING_TOL_PX)
    # just outside a circle in a square is the square: the square's outside counts
    fits = [f for f in fits if f.outside <= MAX_OUTSIDE or (around and f is circle)]
    if not fits:
        return None
    # the best-inked ring; of rings inked about as well, a diamond or a circle
    # first (often drawn in a square, the inner outline names the shape), a
    # hexagon before a square (its many sizes fit a square's corners loosely)
    top = max(f.ring for f in fits)
    order = ("diamond", "circle", "hexagon", "square")
    best = min((f for f in fits if f.ring >= top - 0.02), key=lambda f: order.index(f.kind))
    poly = best.poly
    bar: np.ndarray | None = None
    if best.kind == "circle":
        shape = Shape.circle
        r = _half(best)
        if around and sq is not None:
            shape, poly = Shape.box, sq.poly  # a square around the circle
        else:
            bar = _bar(dist, ink, best.centre, r)
            shape = Shape.circle_bar if bar is not None else Shape.circle
    else:
        shape = {"square": Shape.box, "diamond": Shape.diamond, "hexagon": Shape.hexagon}[best.kind]
    bx0, by0 = poly.min(axis=0)
    bx1, by1 = poly.max(axis=0)
    ih, iw = img.shape
    if bx0 < 0 or by0 < 0 or bx1 >= iw or by1 >= ih:
        return None  # cut by the render's edge
    box = lift(Box(float(bx0), float(by0), float(bx1), float(by1)), tile)
    # the inside to read: the ring's inside (the circle's, in a box), outline and bar painted out
    inner = best.poly
    gx0, gy0 = int(math.floor(inner[:, 0].min())), int(math.floor(inner[:, 1].min()))
    gx1, gy1 = int(math.ceil(inner[:, 0].max())) + 1, int(math.ceil(inner[:, 1].max())) + 1
    mask = np.zeros((gy1 - gy0, gx1 - gx0), np.uint8)
    ring = [np.rint(inner - (gx0, gy0)).astype(np.int32)]
    cv2.fillPoly(mask, ring, 1)
    # the outline's own ink painted out, no wider: digits touching it keep their ends
    edge = int(math.ceil(RING_TOL_PX))
    cv2.polylines(mask, ring, True, 0, 2 * edge + 1)
    if bar is not None:
        cv2.line(mask, tuple(np.rint(bar[0] - (gx0, gy0)).astype(int)),
                 tuple(np.rint(bar[1] - (gx0, gy0)).astype(int)), 0, 2 * edge + 1)
    crop = img[gy0:gy1, gx0:gx1].copy()
    crop[mask == 0] = 255
    if shape == Shape.hexagon:
        ext = inner.max(axis=0) - inner.min(axis=0)
        turns: tuple[int, ...] = (0, 180) if ext[0] > ext[1] else (90, 270)
    elif bar is not None:
        turns = (0, 180) if abs(bar[1][0] - bar[0][0]) > abs(bar[1][1] - bar[0][1]) else (90, 270)
    else:
        turns = ()
    return ImageBubble(Bubble(box, shape, tile.page), crop, (gx0, gy0), turns, best.ring)


def _bar(dist: np.ndarray, ink: np.ndarray, centre: tuple[float, float],
         r: float) -> np.ndarray | None:
    """The ends (px) of a bar across a circle near its middle, or None: a
    horizontal or vertical chord inked from ring to ring along :data:`MIN_BAR`
    of it, and thin there (a line of text under the chord, or digits reaching
    the ring, is ink :data:`MAX_BAR_PT` across and more)."""
    cx, cy = centre
    t = np.linspace(-0.95, 0.95, RING_SAMPLES)
    h, w = dist.shape
    best: tuple[float, np.ndarray] | None = None
    across = np.arange(-6, 7)
    for d in np.arange(-0.3 * r, 0.3 * r + 0.5, 1.0):
        half = math.sqrt(max(r * r - d * d, 0.0))
        for horizontal in (True, False):
            along = t * half
            xs = cx + along if horizontal else np.full_like(t, cx + d)
            ys = np.full_like(t, cy + d) if horizontal else cy + along
            xi = np.clip(np.rint(xs).astype(np.intp), 0, w - 1)
            yi = np.clip(np.rint(ys).astype(np.intp), 0, h - 1)
            cov = float((dist[yi, xi] <= RING_TOL_PX).mean())
            if cov < MIN_BAR or (best is not None and cov <= best[0]):
                continue
            # the ink across the chord at each sample: a bar's is its own width
            if horizontal:
                wide = ink[np.clip(yi[:, None] + across, 0, h - 1), xi[:, None]].sum(axis=1)
            else:
                wide = ink[yi[:, None], np.clip(xi[:, None] + across, 0, w - 1)].sum(axis=1)
            if float((wide <= 2 * RING_TOL_PX + 2).mean()) < 0.6:
                continue
            ends = (np.array([[cx - half, cy + d], [cx + half, cy + d]]) if horizontal
                    else np.array([[cx + d, cy - half], [cx + d, cy + half]]))
            best = (cov, ends)
    return best[1] if best is not None else None
