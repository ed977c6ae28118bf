"""A symbol's templates: its example scaled and turned, with the masks the matcher scores by.

:class:`Variant` is one (scale, rotation) of an :class:`~locator.examples.Example`
at a render DPI: the grey template, the mask covering the silhouette plus a
ring of paper, and its ink box; :func:`make_variant` builds the fine ones (full
resolution, softened), :func:`coarse_variant` the shrunk coverage templates of
the coarse pass, :func:`scale_steps` the scales a range is sampled at.
:mod:`locator.symbols` matches them. Pixels are the template's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from locator.examples import Example
from locator.geometry import Box

# Ink where the symbol has paper counts this much more against a place than
# missing ink: a line or a word through the window is not a symbol.
COARSE_PAPER_WEIGHT = 2.0

# The mask's ring of paper around the silhouette: this share of the longer side, at least 2 px.
RING = 0.15
MAX_SCALES = 24


@dataclass(frozen=True)
class Variant:
    """One symbol at one scale and rotation, ready to match at one resolution.

    ``templ`` float32; ``mask`` float32 0/1 (or None); ``ink_box`` where the
    symbol's ink lies in the template window (pixels).
    """

    index: int
    scale: float
    angle: float
    templ: np.ndarray
    mask: np.ndarray | None
    ink_box: Box
    norm: float = 1.0  # coarse variants: the response of a perfect match
    shrink: float = 1.0  # coarse variants: the tile is shrunk by this much for them
    neutral: np.ndarray | None = None  # templ with the pixels outside the mask at its mean

    @property
    def size(self) -> tuple[int, int]:
        return (self.templ.shape[1], self.templ.shape[0])


def _affine_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def make_variant(ex: Example, index: int, factor: float, scale: float,
                 angle: float, blur: float = 0.0) -> Variant | None:
    """The example resized by ``factor``, softened by a Gaussian of ``blur`` pixels
    and turned ``angle`` degrees counter-clockwise, with its mask (None when the
    result is too small to match)."""
    import cv2

    h0, w0 = ex.grey.shape
    w, h = max(1, round(w0 * factor)), max(1, round(h0 * factor))
    fx, fy = w / w0, h / h0
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    t = cv2.resize(ex.grey, (w, h), interpolation=interp)
    if blur:
        t = cv2.GaussianBlur(t, (0, 0), blur)
    sil = cv2.resize(ex.silhouette.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
    # The ink's pixel corners, scaled (pixel-edge coordinates: x_out = x_in * fx).
    ys, xs = np.nonzero(ex.ink)
    corners = np.concatenate([np.column_stack([xs + dx, ys + dy]) for dx in (0, 1) for dy in (0, 1)])
    pts = corners.astype(np.float64) * (fx, fy)
    a = angle % 360.0
    if abs(a - round(a / 90) * 90) < 1e-9:
        k = int(round(a / 90)) % 4
        # np.rot90 turns counter-clockwise: (x, y) -> (y, W - x), k times.
        for _ in range(k):
            ww = t.shape[1]
            t, sil = np.rot90(t), np.rot90(sil)
            pts = np.column_stack([pts[:, 1], ww - pts[:, 0]])
        t, sil = np.ascontiguousarray(t), np.ascontiguousarray(sil)
    else:
        # Any other angle: turn on a canvas large enough for every corner.
        rad = math.radians(a)
        c, s = abs(math.cos(rad)), abs(math.sin(rad))
        nw, nh = int(math.ceil(w * c + h * s)), int(math.ceil(w * s + h * c))
        # In pixel-edge coordinates, counter-clockwise on screen (y down).
        m = cv2.getRotationMatrix2D((w / 2, h / 2), a, 1.0)
        m[0, 2] += nw / 2 - w / 2
        m[1, 2] += nh / 2 - h / 2
        # warpAffine works on pixel centres: shift by half a pixel in and out.
        mc = m.copy()
        mc[:, 2] += m[:, :2] @ np.array([0.5, 0.5]) - 0.5
        t = cv2.warpAffine(t, mc, (nw, nh), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=ex.paper)
        sil = cv2.warpAffine(sil.astype(np.float32), mc, (nw, nh), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0) >= 0.5
        pts = _affine_points(m, pts)
    if not sil.any():
        return None
    ink_box = Box(float(pts[:, 0].min()), float(pts[:, 1].min()),
                  float(pts[:, 0].max()), float(pts[:, 1].max()))
    if min(ink_box.width, ink_box.height) < 2:
        return None
    ring = max(2, int(round(RING * max(ink_box.width, ink_box.height))))
    mask = cv2.dilate(sil.astype(np.uint8), cv2.getStructuringElement(
        cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1)))
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    t = np.ascontiguousarray(t[y0:y1, x0:x1], dtype=np.float32)
    mk = np.ascontiguousarray(mask[y0:y1, x0:x1], dtype=np.float32)
    if float(t[mk > 0].std()) < 1.0:
        return None  # nothing to correlate with
    box = Box(float(ink_box.x0 - x0), float(ink_box.y0 - y0), float(ink_box.x1 - x0),
              float(ink_box.y1 - y0))
    neutral = np.where(mk > 0, t, float(t[mk > 0].mean())).astype(np.float32)
    return Variant(index, scale, angle, t, mk, box, neutral=neutral)


def coarse_variant(ex: Example, index: int, factor: float, scale: float,
                   angle: float, shrink: float) -> Variant | None:
    """A variant for the coarse pass: a zero-mean ink-coverage template.

    The coarse pass correlates it (plain ``TM_CCORR``, the cheapest) with the
    tile's ink coverage (0 paper .. 1 ink), shrunk by ``shrink``; ``norm`` is
    what a perfect match gives, so response / norm is 1 there and 0 on blank
    paper. It is not normalised for the image: heavier ink than the
    example's can score above 1.
    """
    v = make_variant(ex, index, factor / shrink, scale, angle)
    if v is None:
        return None
    assert v.mask is not None  # make_variant always gives one
    cover = np.clip((ex.paper - v.templ) / max(40.0, ex.paper - ex.ink_level), 0.0, 1.0)
    inside = v.mask > 0
    t = np.where(inside, cover - float(cover[inside].mean()), 0.0)
    t = np.where(t < 0, t * COARSE_PAPER_WEIGHT, t).astype(np.float32)
    norm = float((cover * t).sum())
    if norm <= 1e-6:
        return None
    return Variant(index, scale, angle, t, None, v.ink_box, norm, shrink)


def scale_steps(scales: Sequence[float], ratio: float) -> list[float]:
    """The scales to try: a two-value range ``[low, high]`` sampled geometrically
    with neighbours at most ``ratio`` apart (ends included); other lists as given.

    >>> scale_steps([1.0], 1.1)
    [1.0]
    >>> [round(s, 3) for s in scale_steps([0.8, 1.25], 1.25)]
    [0.8, 1.0, 1.25]
    """
    vals = sorted(set(float(s) for s in scales))
    if len(vals) != 2:
        return vals
    lo, hi = vals
    n = int(math.ceil(math.log(hi / lo) / math.log(max(ratio, 1.0001)) - 1e-9))
    n = min(max(n, 1), MAX_SCALES - 1)
    return [lo * (hi / lo) ** (i / n) for i in range(n + 1)]
