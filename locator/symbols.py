"""Small symbols found by example: masked template matching over scales and rotations, and NMS.

A catalog ``symbol:`` entry names a cropped example image (a PNG whose dpi
metadata says at what resolution it was cropped, as ``locate crop`` writes it;
without it the example is taken pixel for pixel at the render DPI).
:class:`SymbolSet` turns the entries into template *variants* for one render
DPI -- every scale x rotation, each with a mask that covers the symbol's
silhouette (its ink with enclosed paper filled) plus a ring of paper around
it -- and :meth:`SymbolSet.find` finds them in one tile image:

1. **coarse**: for each variant the tile's ink coverage (0 paper .. 1 ink) is
   shrunk so the symbol is about :data:`COARSE_SIDE_PX` pixels long (one
   shrunk copy per power of sqrt 2, shared), and correlated with the
   variant's zero-mean coverage (``TM_CCORR``, the cheapest), ink where the
   symbol has paper weighing :data:`~locator.symbol_variants.COARSE_PAPER_WEIGHT`
   times. Scales are
   :data:`COARSE_RATIO` apart. Local maxima above ``min_score`` less
   :data:`COARSE_SLACK` are peaks; overlapping peaks of any symbol make one
   *place*.
2. **fine**: at each place, the *contenders* -- every symbol and rotation whose
   best peak there is within :data:`CONTEND` of the place's best -- are
   matched again at full resolution in a small window around their peaks:
   every fine scale near a peak's scale is placed by plain correlation
   (``TM_CCOEFF_NORMED`` with the pixels outside the mask made neutral),
   the search moving on while the best sits at an end, and the best few are
   scored with masked ``TM_CCOEFF_NORMED``. The mask holds the inside of the
   symbol, so a filled triangle and an empty one disagree over their whole
   interior, not just along the outline. Tile and templates are softened by
   :data:`FINE_BLUR` so crisp thin lines at another sub-pixel phase than the
   example's still correlate.
3. **competition**: detections of any symbols on one place (the intersection
   covers :data:`SAME_PLACE_IOS` of the smaller box) are one detection: the
   best score wins. A filled triangle's template scores well on an empty
   triangle's outline, but the empty triangle's scores better there, so the
   filled one is dropped; an arrow's head is not also a triangle.

Scores are the masked correlation x 100 (0-100). Everything in this module is
in the tile image's pixels except :func:`nms`, which works in whatever space
its boxes are (the pipeline runs it again per page, in page points, so a
symbol seen by two overlapping tiles is one hit), and :func:`crop`, which cuts
an example out of a document by a box in page points. ``angle`` is the
template's rotation in degrees counter-clockwise, as for text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from operator import attrgetter
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from locator.catalog.patterns import DEFAULT_SYMBOL_SCALES
from locator.examples import load_example
from locator.geometry import Box, GridIndex
from locator.symbol_variants import Variant, coarse_variant, make_variant, scale_steps

if TYPE_CHECKING:
    from locator.catalog import Catalog

# Fine scale steps: neighbouring scales move the symbol's far edge by about this many pixels.
FINE_STEP_PX = 1.5
# Gaussian blur (pixels) of both the tile and the templates for the fine matching.
FINE_BLUR = 0.6
# Coarse pass: a symbol's longer side, in pixels of the shrunk tile (at least),
# and the ratio between the scales it tries. At ~10 px a symbol half a step
# (1.12x) off a coarse scale still peaks well above the coarse threshold; 1.25
# found as much as 1.15 on the symbol and sizes sheets, plain and noisy, at
# two thirds of the coarse variants; 1.35 lost symbols (bench/README-symbols.md).
COARSE_SIDE_PX = 10.0
COARSE_RATIO = 1.25
MAX_SHRINK = 8.0
# A coarse maximum this far below a symbol's min_score (0-1) still makes a place.
COARSE_SLACK = 0.35
COARSE_FLOOR = 0.30
# Symbols and rotations whose best peak comes within this of a place's best are refined.
CONTEND = 0.20
# Fine scales (the best by plain correlation) scored with the mask, per contender;
# none when the best plain correlation is this far below the symbol's min_score.
FINE_KEEP = 3
PLAIN_SLACK = 0.35
# Two detections are on the same place when their intersection covers this
# share of the smaller box (a triangle inside an arrow's head counts).
SAME_PLACE_IOS = 0.5
MAX_PEAKS = 400  # per coarse variant and tile: a page of noise cannot explode the work


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One ``symbol:`` catalog entry, as the matcher needs it (picklable).

    ``scales``: two values are a range ``[low, high]``, sampled as finely as
    the template's size needs; one or three or more values are the scales to
    try; the default is the range :data:`DEFAULT_SYMBOL_SCALES` (0.8-1.25).
    ``rotations`` are degrees counter-clockwise. ``min_score`` is 0-100.
    """

    id: str
    label: str
    path: str
    scales: tuple[float, ...] = DEFAULT_SYMBOL_SCALES
    rotations: tuple[float, ...] = (0.0,)
    min_score: float = 70.0


def specs_from_catalog(catalog: Catalog) -> list[SymbolSpec]:
    """The catalog's ``symbol:`` entries, in catalog order."""
    return [SymbolSpec(id=p.id, label=p.label, path=str(p.symbol),
                       scales=tuple(p.scales), rotations=tuple(p.rotations),
                       min_score=float(p.min_score))
            for p in catalog.patterns if p.kind == "symbol"]


@dataclass(frozen=True, slots=True)
class Detection:
    """One symbol found: ``box`` in the space it was found in (tile pixels, or
    page points once lifted), ``score`` 0-100, ``angle`` degrees CCW."""

    index: int  # position of the symbol in the SymbolSet's specs
    score: float
    box: Box
    angle: float
    scale: float


# -- matching -----------------------------------------------------------------

def _peaks(r: np.ndarray, thr: float, size: tuple[int, int]) -> list[tuple[float, int, int]]:
    """Local maxima of a response map above ``thr``: (score, x, y), best first."""
    import cv2

    ys, xs = np.nonzero(r >= thr)
    if len(xs) == 0:
        return []
    k = max(3, min(size) | 1)
    local = cv2.dilate(r, np.ones((k, k), np.uint8))
    top = r[ys, xs] >= local[ys, xs]
    ys, xs = ys[top], xs[top]
    scores = r[ys, xs]
    # A flat ridge (a clean line under a line-like template) is all maxima:
    # one per k x k cell is enough.
    out: list[tuple[float, int, int]] = []
    cells: set[tuple[int, int]] = set()
    for i in np.argsort(-scores, kind="stable"):
        cell = (int(xs[i]) // k, int(ys[i]) // k)
        if cell in cells:
            continue
        cells.add(cell)
        out.append((float(scores[i]), int(xs[i]), int(ys[i])))
        if len(out) == MAX_PEAKS:
            break
    return out


class SymbolSet:
    """The symbols of a catalog, ready to find in tile images at any DPI.

    Examples are read (and checked) once; the variants for a DPI are built
    on first use and kept. Pickles without its variants: worker processes
    build their own.
    """

    def __init__(self, specs: Sequence[SymbolSpec]) -> None:
        self.specs = list(specs)
        self.examples = [load_example(s.path) for s in self.specs]
        self._levels: dict[float, _Level] = {}

    def __bool__(self) -> bool:
        return bool(self.specs)

    def __getstate__(self):
        return {"specs": self.specs, "examples": self.examples}

    def __setstate__(self, state) -> None:
        self.specs = state["specs"]
        self.examples = state["examples"]
        self._levels = {}

    def level(self, dpi: float) -> _Level:
        """The variants for tiles rendered at ``dpi`` (built on first use)."""
        lv = self._levels.get(dpi)
        if lv is None:
            lv = self._levels[dpi] = _Level(self, dpi)
        return lv

    def find(self, img: np.ndarray, dpi: float) -> list[Detection]:
        """Every symbol in a grey tile image rendered at ``dpi``; boxes in its pixels.

        Overlapping detections are already reduced to the best one (any
        symbol); detections below their symbol's ``min_score`` are kept down to
        the coarse threshold so the page-level :func:`nms` can still let a
        better neighbour win -- filter with :meth:`passes`.
        """
        return self.level(dpi).find(img)

    def passes(self, d: Detection) -> bool:
        """Whether ``d`` reaches its symbol's ``min_score``."""
        return d.score >= self.specs[d.index].min_score


def specs_floor(spec: SymbolSpec) -> float:
    """A symbol's ``min_score`` as a correlation (0-1)."""
    return spec.min_score / 100.0


def _shrink_for(side_px: float) -> float:
    """How much the coarse pass shrinks the tile for a symbol ``side_px`` long:
    a power of sqrt(2) that brings it to about COARSE_SIDE_PX (1 to MAX_SHRINK)."""
    if side_px <= COARSE_SIDE_PX:
        return 1.0
    k = math.floor(2 * math.log2(side_px / COARSE_SIDE_PX))
    return min(MAX_SHRINK, 2 ** (k / 2))


class _Level:
    """All variants of a SymbolSet at one render DPI (coarse and fine)."""

    def __init__(self, symset: SymbolSet, dpi: float) -> None:
        self.set = symset
        self.dpi = dpi
        self.stats: dict[str, int] = {}  # of the last find: peaks, places, refined
        self.coarse: list[Variant] = []
        self.fine: dict[tuple[int, float], list[Variant]] = {}  # (symbol, angle) -> by scale
        self.coarse_ratio: dict[int, float] = {}  # symbol -> ratio between its coarse scales
        self.max_side = 1.0  # the largest symbol's longer side (px): the grouping grid's cell
        for i, (spec, ex) in enumerate(zip(symset.specs, symset.examples)):
            base = dpi / ex.dpi if ex.dpi else 1.0  # example px -> render px at scale 1
            side = max(ex.ink_box.width, ex.ink_box.height) * base
            top = max(spec.scales)
            self.max_side = max(self.max_side, side * top)
            fine_scales = scale_steps(spec.scales, 1.0 + FINE_STEP_PX / (side * top))
            coarse_scales = scale_steps(spec.scales, COARSE_RATIO)
            self.coarse_ratio[i] = max([b / a for a, b in zip(coarse_scales, coarse_scales[1:])],
                                       default=1.0)
            for angle in dict.fromkeys(spec.rotations):
                vs = [make_variant(ex, i, base * s, s, angle, FINE_BLUR) for s in fine_scales]
                self.fine[(i, angle)] = [v for v in vs if v is not None]
                for s in coarse_scales:
                    v = coarse_variant(ex, i, base * s, s, angle, _shrink_for(side * s))
                    if v is not None:
                        self.coarse.append(v)

    def find(self, img: np.ndarray) -> list[Detection]:
        import cv2

        img = img if img.dtype == np.float32 else img.astype(np.float32)
        H, W = img.shape
        specs = self.set.specs
        # Both sides of the fine matching are softened a little: crisp thin
        # lines at another sub-pixel phase than the example's still correlate.
        sharp, img = img, (cv2.GaussianBlur(img, (0, 0), FINE_BLUR) if FINE_BLUR else img)
        # 1. coarse: candidate places, on the tile's ink coverage (0 paper .. 1 ink),
        #    shrunk for each variant so that its symbol is about COARSE_SIDE_PX long
        sample = sharp[::4, ::4]
        paper = float(np.median(sample))
        dark = float(np.percentile(sample, 0.2))
        cover_full = np.clip((paper - sharp) / max(40.0, paper - dark), 0.0, 1.0)
        covers: dict[float, tuple[np.ndarray, float, float]] = {}
        peaks: list[tuple[float, Box, Variant]] = []
        for v in self.coarse:
            if v.shrink not in covers:
                cw, ch = max(1, round(W / v.shrink)), max(1, round(H / v.shrink))
                small = cover_full if (cw, ch) == (W, H) else cv2.resize(
                    cover_full, (cw, ch), interpolation=cv2.INTER_AREA)
                covers[v.shrink] = (small, W / cw, H / ch)
            cover, sx, sy = covers[v.shrink]
            if cover.shape[0] < v.templ.shape[0] or cover.shape[1] < v.templ.shape[1]:
                continue
            r = cv2.matchTemplate(cover, v.templ, cv2.TM_CCORR)
            r *= 1.0 / v.norm  # type: ignore[arg-type]  # cv2's stubs: any int/float Mat; it is float32
            thr = max(COARSE_FLOOR, specs[v.index].min_score / 100.0 - COARSE_SLACK)
            b = v.ink_box
            for score, x, y in _peaks(r, thr, v.size):
                peaks.append((score, Box((x + b.x0) * sx, (y + b.y0) * sy,
                                         (x + b.x1) * sx, (y + b.y1) * sy), v))
        peaks.sort(key=lambda p: -p[0])
        # 2. one place per cluster of overlapping peaks; its contenders refined
        grid = GridIndex(max(1.0, self.max_side))
        leaders: list[Box] = []
        groups: list[list[tuple[float, Box, Variant]]] = []
        for p in peaks:
            k = max(grid.near(p[1]), key=lambda k: leaders[k].ios(p[1]), default=None)
            if k is not None and leaders[k].ios(p[1]) < SAME_PLACE_IOS:
                k = None
            if k is None:
                grid.add(len(leaders), p[1])
                leaders.append(p[1])
                groups.append([p])
            else:
                groups[k].append(p)
        dets: list[Detection] = []
        for group in groups:
            # The contenders are the symbols and rotations whose best peak comes
            # near the place's best; every peak of theirs there is a seed (the
            # coarse score is not normalised for ink weight, so a smaller scale
            # on a heavier-drawn symbol may outscore the right one).
            best = group[0][0]
            by_kind: dict[tuple[int, float], list[tuple[float, Box, float]]] = {}
            top: dict[tuple[int, float], float] = {}
            for score, box, v in group:
                kind = (v.index, v.angle)
                by_kind.setdefault(kind, []).append((v.scale, box, v.shrink))
                top.setdefault(kind, score)
            for kind, seeds in by_kind.items():
                if top[kind] < best - CONTEND:
                    continue
                d = self._refine(img, kind, seeds)
                if d is not None:
                    dets.append(d)
        self.stats = {"peaks": len(peaks), "places": len(leaders), "refined": len(dets)}
        # 3. competition: one detection per place, the best of any symbol
        return nms(dets)

    def _refine(self, img: np.ndarray, kind: tuple[int, float],
                seeds: list[tuple[float, Box, float]]) -> Detection | None:
        """The best fine variant of one symbol and rotation at one place (tile px).

        ``seeds`` are the coarse (scale, ink box, shrink) peaks of this symbol and
        rotation there. Every fine scale within a coarse step and a half of
        one of them is placed by plain correlation with its neutral template,
        in a small window around the nearest seed's box; the best few are
        scored with the mask, and the best of those wins.
        """
        import cv2

        vs = self.fine[kind]
        if not vs:
            return None
        H, W = img.shape
        step = self.coarse_ratio[kind[0]] * 1.001
        tried: dict[int, tuple[float, int, int] | None] = {}

        def place(j: int) -> tuple[float, int, int] | None:
            if j in tried:
                return tried[j]
            v = vs[j]
            tw, th = v.size
            _, box, shrink = min(seeds, key=lambda sd: abs(math.log(sd[0] / v.scale)))
            cx, cy = box.center
            margin = 2 * shrink + 2
            # The window where the ink boxes' centres agree, +- a margin.
            ox = cx - (v.ink_box.x0 + v.ink_box.x1) / 2
            oy = cy - (v.ink_box.y0 + v.ink_box.y1) / 2
            mx, my = margin + 0.15 * tw, margin + 0.15 * th
            x0, y0 = max(0, int(ox - mx)), max(0, int(oy - my))
            x1, y1 = min(W, int(math.ceil(ox + tw + mx))), min(H, int(math.ceil(oy + th + my)))
            out = None
            if x1 - x0 >= tw and y1 - y0 >= th:
                assert v.neutral is not None  # make_variant sets it (coarse variants lack it)
                r = cv2.matchTemplate(img[y0:y1, x0:x1], v.neutral, cv2.TM_CCOEFF_NORMED)
                _, score, _, (px, py) = cv2.minMaxLoc(r)
                out = (score, x0 + px, y0 + py)
            tried[j] = out
            return out

        def plain(j: int) -> float:
            p = place(j)
            return -2.0 if p is None else p[0]

        js = [j for j, v in enumerate(vs)
              if any(sd[0] / step <= v.scale <= sd[0] * step for sd in seeds)]
        if not js:
            js = [min(range(len(vs)), key=lambda i: abs(math.log(vs[i].scale / seeds[0][0])))]
        floor = specs_floor(self.set.specs[kind[0]]) - PLAIN_SLACK
        # Every other scale of the bracket, then the neighbours of the best;
        # while the best sits at an end of what was tried, go further (a seed
        # may be missing: its peak went to a neighbouring place).
        lo, hi = min(js), max(js)
        top = max(sorted(set(range(lo, hi + 1, 2)) | {hi}), key=plain)
        while True:
            for n in (top - 1, top + 1):
                if 0 <= n < len(vs) and plain(n) > plain(top):
                    top = n
                    break
            else:
                break
        if plain(top) < floor:
            return None  # far from a match: skip the masked scoring
        placed = sorted(((p, j) for j, p in tried.items() if p is not None),
                        key=lambda pj: -pj[0][0])
        return _masked_best(img, vs, placed[:FINE_KEEP])


def _masked_best(img: np.ndarray, vs: list[Variant],
                 placed: list[tuple[tuple[float, int, int], int]]) -> Detection | None:
    """The best of the placed fine variants (``((plain score, x, y), index)``),
    each scored with its mask within a pixel of where plain correlation put it."""
    import cv2

    H, W = img.shape
    best: Detection | None = None
    for (_, x, y), j in placed:
        v = vs[j]
        tw, th = v.size
        x0, y0 = max(0, x - 1), max(0, y - 1)
        x1, y1 = min(W, x + tw + 1), min(H, y + th + 1)
        r = cv2.matchTemplate(img[y0:y1, x0:x1], v.templ, cv2.TM_CCOEFF_NORMED, mask=v.mask)
        np.nan_to_num(r, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        _, score, _, (px, py) = cv2.minMaxLoc(r)
        if best is None or 100.0 * score > best.score:
            b = v.ink_box
            bx, by = x0 + px, y0 + py
            best = Detection(v.index, 100.0 * max(0.0, float(score)),
                             Box(float(bx + b.x0), float(by + b.y0), float(bx + b.x1),
                                 float(by + b.y1)), float(v.angle), float(v.scale))
    return best


T = TypeVar("T")


def nms(items: Sequence[T], *, ios: float = SAME_PLACE_IOS,
        box: Callable[[T], Box] = attrgetter("box"),
        score: Callable[[T], float] = attrgetter("score")) -> list[T]:
    """Non-maximum suppression across symbols: best score first, an item is
    dropped when it covers ``ios`` of the smaller box with a kept one.

    Works in any one space (tile pixels, page points). Returns the kept items,
    best first.
    """
    # Ties (a symbol seen alike by two tiles) go to the top-left box, so the
    # result does not depend on the order tiles finished in.
    order = sorted(items, key=lambda d: (-score(d), box(d).y0, box(d).x0))
    if not order:
        return []
    # A grid with cells as large as the largest box: boxes that intersect share a cell.
    cell = max(1.0, max(max(box(d).width, box(d).height) for d in order))
    kept: list[T] = []
    grid = GridIndex(cell)
    for d in order:
        b = box(d)
        if any(box(kept[k]).ios(b) >= ios for k in grid.near(b)):
            continue
        grid.add(len(kept), b)
        kept.append(d)
    return kept
