"""Grouping a page's words into text lines, in reading order.

A *line* is a run of words of one page and one text direction that sit on the
same baseline with small gaps between them: what a person would read as one
label or one line of a paragraph. Two labels far apart on the same height of
a drawing are two lines, so a phrase or a split code never joins words across
open space.

Directions follow :class:`~locator.model.Word.angle` (degrees counter-clockwise):
0 reads left to right, 90 bottom to top, 180 right to left upside down, 270 top
to bottom. Other angles snap to the nearest of these. Boxes are page points,
unrotated space, origin top left.

Standard library only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from locator.geometry import Box
from locator.model import Word

#: A word joins a line when its cross-axis extent overlaps the line's by at
#: least this share of the smaller of the two text heights.
MIN_OVERLAP = 0.5
#: A gap along the reading direction wider than this many text heights starts
#: a new line (a normal word space is 0.2-0.5 of the height).
MAX_GAP = 1.0


@dataclass(frozen=True, slots=True)
class Line:
    """Words of one page and direction on one baseline, in reading order.

    ``box`` is the union of the words' boxes (page points, unrotated space).
    """

    page: int
    angle: int
    words: tuple[Word, ...]
    box: Box

    @property
    def text(self) -> str:
        """The words as read, joined by single spaces."""
        return " ".join(w.text for w in self.words)


def snap_angle(angle: float) -> int:
    """The nearest of 0, 90, 180, 270."""
    return int(round((angle % 360) / 90.0)) % 4 * 90


def _axes(angle: int, b: Box) -> tuple[float, float, float, float]:
    """(reading start, reading end, cross low, cross high) of ``b`` for ``angle``.

    Reading coordinates grow in reading order, so sorting by the start gives
    reading order in every direction.
    """
    if angle == 0:
        return b.x0, b.x1, b.y0, b.y1
    if angle == 180:
        return -b.x1, -b.x0, b.y0, b.y1
    if angle == 90:  # bottom to top: y decreases as one reads
        return -b.y1, -b.y0, b.x0, b.x1
    return b.y0, b.y1, b.x0, b.x1  # 270: top to bottom


def reading_span(angle: int, b: Box) -> tuple[float, float]:
    """(start, end) of ``b`` along the reading direction ``angle`` (grows in reading order)."""
    return _axes(angle, b)[:2]


def group_lines(words: Sequence[Word], *, max_gap: float = MAX_GAP,
                min_overlap: float = MIN_OVERLAP) -> list[Line]:
    """Group ``words`` into lines per page and text direction.

    Parameters
    ----------
    words
        Words of any number of pages; boxes in page points (unrotated space).
    max_gap
        Largest gap between neighbouring words of one line, in text heights.
    min_overlap
        Least cross-axis overlap, as a share of the smaller text height, for
        two words to share a baseline.

    Returns
    -------
    list[Line]
        Sorted by page, then top-left of the line's box; words inside a line
        are in reading order.

    Examples
    --------
    >>> from locator.geometry import Box
    >>> w = lambda t, x: Word(t, 90.0, Box(x, 10, x + 20, 20), 1, "t")
    >>> [l.text for l in group_lines([w("101", 25), w("FIC-", 0), w("far", 300)])]
    ['FIC- 101', 'far']
    """
    groups: dict[tuple[int, int], list[Word]] = defaultdict(list)
    for w in words:
        groups[(w.page, snap_angle(w.angle))].append(w)
    lines: list[Line] = []
    for (page, angle), ws in groups.items():
        for row in _rows(ws, angle, min_overlap):
            lines.extend(_split(row, page, angle, max_gap))
    lines.sort(key=lambda ln: (ln.page, ln.box.y0, ln.box.x0, ln.angle))
    return lines


def _rows(ws: list[Word], angle: int, min_overlap: float) -> list[list[Word]]:
    """Words sharing a baseline (any distance apart along it)."""
    items = []
    for w in ws:
        start, _, lo, hi = _axes(angle, w.box)
        items.append(((lo + hi) / 2, lo, hi, w, start))
    # a total order, so the result does not depend on the input order
    items.sort(key=lambda t: (t[0], t[4], t[1], t[3].text, t[3].conf, t[3].engine))
    rows: list[list] = []  # each: [lo, hi, centre, words]; kept sorted by centre
    for centre, lo, hi, w, _ in items:
        h = max(hi - lo, 1e-6)
        best, best_ov = None, 0.0
        # Rows are created in centre order; only the last few can overlap.
        for row in reversed(rows):
            rlo, rhi, rc, _ = row
            if rc < lo - 2 * h and rhi < lo:
                break
            ov = min(hi, rhi) - max(lo, rlo)
            need = min_overlap * min(h, max(rhi - rlo, 1e-6))
            if ov >= need and ov > best_ov:
                best, best_ov = row, ov
        if best is None:
            rows.append([lo, hi, centre, [w]])
        else:
            # Keep the row's extent that of its typical word, so a tall word
            # does not swallow the neighbouring baselines.
            best[3].append(w)
            n = len(best[3])
            best[0] += (lo - best[0]) / n
            best[1] += (hi - best[1]) / n
            best[2] = (best[0] + best[1]) / 2
    return [r[3] for r in rows]


def _split(row: list[Word], page: int, angle: int, max_gap: float) -> list[Line]:
    """One row cut into lines wherever the gap along it is too wide."""
    items = sorted(((*_axes(angle, w.box), w.text, w.conf, w.engine, w) for w in row),
                   key=lambda t: t[:7])
    out: list[Line] = []
    cur: list[Word] = []
    cur_end = 0.0
    prev_h = 0.0
    for start, end, lo, hi, *_, w in items:
        h = hi - lo
        # the gap allowed is max_gap times the mean height of the two words
        # beside it (the median of two)
        if cur and start - cur_end > max_gap * max((prev_h + h) / 2, 1e-6):
            out.append(_line(cur, page, angle))
            cur = []
        cur.append(w)
        cur_end = end if len(cur) == 1 else max(cur_end, end)
        prev_h = h
    if cur:
        out.append(_line(cur, page, angle))
    return out


def _line(ws: list[Word], page: int, angle: int) -> Line:
    return Line(page=page, angle=angle, words=tuple(ws),
                box=Box.union_all([w.box for w in ws]))
