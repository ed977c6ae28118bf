"""Turning many tiles' words into one clean set of words per page.

Tiles overlap, so a word near a seam is read twice, and a word crossing an
interior tile edge is read cut in one tile and whole in its neighbour. This
module drops cut copies when a whole copy exists, de-duplicates the rest
(overlap, rotation passes, several engines), and stitches a word that no tile
held whole from its two cut halves. Boxes are page points (unrotated space).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from locator.geometry import Box, Tile
from locator.model import Word
from locator.tiling import interior_edges

# Two reads of one word rarely agree to the pixel; this share of the smaller
# box inside the larger one makes them the same word.
SAME_WORD_IOS = 0.5
_CELL = 64.0  # points; spatial-hash cell for neighbour look-ups


@dataclass(frozen=True, slots=True)
class Candidate:
    """A word lifted to page space, remembering whether a tile edge cut it."""

    word: Word
    cut: bool


def is_cut(box_px: Box, tile: Tile, margin_px: float = 2.0) -> bool:
    """True when a box (tile pixels) touches an interior edge of ``tile``."""
    left, top, right, bottom = interior_edges(tile, tile.frame)
    w, h = tile.size_px
    return ((left and box_px.x0 <= margin_px) or (top and box_px.y0 <= margin_px)
            or (right and box_px.x1 >= w - margin_px)
            or (bottom and box_px.y1 >= h - margin_px))


class _Index:
    """A spatial hash over kept words for near-constant-time overlap queries."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[int]] = defaultdict(list)

    @staticmethod
    def _keys(b: Box):
        for i in range(int(b.x0 // _CELL), int(b.x1 // _CELL) + 1):
            for j in range(int(b.y0 // _CELL), int(b.y1 // _CELL) + 1):
                yield (i, j)

    def add(self, k: int, b: Box) -> None:
        for key in self._keys(b):
            self.cells[key].append(k)

    def near(self, b: Box) -> set[int]:
        out: set[int] = set()
        for key in self._keys(b):
            out.update(self.cells.get(key, ()))
        return out


def stitch_text(first: str, second: str) -> str:
    """Join two partial reads of one word that overlap in the middle.

    ``first`` comes first in reading order. The longest suffix of ``first``
    equal to a prefix of ``second`` is written once:

    >>> stitch_text("HV 9616", "6160-01")
    'HV 96160-01'

    With no overlap at all, the longer read is the better guess.
    """
    for k in range(min(len(first), len(second)), 0, -1):
        if first.endswith(second[:k]):
            return first + second[k:]
    return first if len(first) >= len(second) else second


def _reading_key(w: Word) -> float:
    """Position along the reading direction, to order the halves of a word."""
    if w.angle == 90:  # reads bottom-to-top
        return -w.box.y1
    if w.angle == 270:  # reads top-to-bottom
        return w.box.y0
    return w.box.x0


def _combine(kept: Word, other: Word) -> Word:
    """Two reads of the same word from different engines: record both engines."""
    if other.engine == kept.engine:
        return kept
    engines = "+".join(sorted(set(kept.engine.split("+")) | set(other.engine.split("+"))))
    conf = kept.conf
    if other.text == kept.text:  # agreement raises confidence
        conf = min(100.0, kept.conf + (100.0 - kept.conf) * other.conf / 100.0)
    return replace(kept, engine=engines, conf=conf)


def merge_page(cands: list[Candidate]) -> list[Word]:
    """One page's candidates -> its words, without duplicates or cut copies.

    Whole reads are taken best-confidence first; a read overlapping a kept word
    (intersection over the smaller box >= 0.5) is the same word and is dropped
    (its engine noted). Cut reads are dropped when a whole read covers them;
    cut reads that overlap only each other are stitched into one word.
    """
    order = sorted(cands, key=lambda c: (c.cut, -c.word.conf, -len(c.word.text)))
    kept: list[Word] = []
    kept_cut: list[bool] = []
    index = _Index()
    for c in order:
        w = c.word
        same = next((k for k in index.near(w.box) if kept[k].box.ios(w.box) >= SAME_WORD_IOS),
                    None)
        if same is not None and not (c.cut and kept_cut[same]):
            # A whole read is there: this read is a duplicate or a cut copy of it.
            kept[same] = _combine(kept[same], w)
            continue
        if c.cut:
            # Halves of a word cut in both tiles overlap only in the overlap band:
            # any overlap on the same line with another cut read makes one word.
            half = same if same is not None else next(
                (k for k in index.near(w.box) if kept_cut[k] and kept[k].angle == w.angle
                 and kept[k].box.intersection_area(w.box) > 0), None)
            if half is not None and kept[half].box.ios(w.box) >= 0.95:
                # One read lies inside the other: the larger saw more of the word.
                if w.box.area > kept[half].box.area:
                    kept[half] = w
                    index.add(half, w.box)
                continue
            if half is not None:
                a, b = sorted((kept[half], w), key=_reading_key)
                kept[half] = replace(kept[half], text=stitch_text(a.text, b.text),
                                     box=a.box.union(b.box), conf=min(a.conf, b.conf))
                index.add(half, kept[half].box)
                continue
        index.add(len(kept), w.box)
        kept.append(w)
        kept_cut.append(c.cut)
    return sorted(kept, key=lambda w: (w.page, w.box.y0, w.box.x0))
