"""Instrument bubbles: their outlines classified, and the text inside each composed into one tag.

On a P&ID an ISA-5.1 instrument tag is two lines in an outline -- function
letters over the loop number (``FIC`` over ``F0001``) -- and the tag looked up
is the two together (``FIC-F0001``). This stage is pure (no PDF): it takes a
page's painted paths of a bubble's size (:class:`locator.pdf.PathOutline`) and
its words, and gives

- :func:`find_bubbles`: each outline classified (:class:`Shape`) and nested
  outlines of one bubble joined (a circle in a square is ``box``, a circle
  with a bar across its middle ``circle-bar``);
- :func:`compose`: the words inside each bubble, top line then bottom line
  in the words' own direction (upright, 90, 180, 270), as one composed
  :class:`~locator.model.Word` with the bubble's box and shape, kept beside the
  single words (``form="bubble"``);
- :func:`compose_stacked`: two stacked lines not in a bubble composed the same
  way (``form="stacked"``), for catalogs that ask for it (``stacked: true``).

Boxes are PDF points, unrotated page space, origin top left.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from locator.geometry import Box, GridIndex
from locator.model import Word


class Shape(str, Enum):
    """An instrument bubble's outline (ISA-5.1 gives each a meaning: field
    mounted, control room, computer function, PLC)."""

    circle = "circle"
    circle_bar = "circle-bar"
    hexagon = "hexagon"
    box = "box"
    diamond = "diamond"


@dataclass(frozen=True, slots=True)
class Bubble:
    """One instrument bubble on a page: its outline's box and its shape."""

    box: Box
    shape: Shape
    page: int


#: How far a round outline's vertices may stray from its mean radius (share).
ROUND_SPREAD = 0.08
#: A round outline or a square is about as wide as it is tall (long/short side).
SQUARE_ASPECT = 1.25
#: A stadium (round ends, straight sides) is at most this long for its height.
STADIUM_ASPECT = 2.5


def _index(boxes: Sequence[Box]) -> GridIndex:
    grid = GridIndex(40.0)
    for i, b in enumerate(boxes):
        grid.add(i, b)
    return grid


def _closed(pts: Sequence[tuple[float, float]], box: Box) -> bool:
    return len(pts) >= 4 and math.dist(pts[0], pts[-1]) <= 0.05 * max(box.width, box.height)


def _vertices(pts: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The corners of a closed straight-edged path: the closing point and points
    on a straight run (a polygon drawn with its edges split) dropped."""
    ring = list(pts[:-1])
    out = []
    for i, p in enumerate(ring):
        a, c = ring[i - 1], ring[(i + 1) % len(ring)]
        cross = (p[0] - a[0]) * (c[1] - p[1]) - (p[1] - a[1]) * (c[0] - p[0])
        if abs(cross) > 1e-3 * max(math.dist(a, p) * math.dist(p, c), 1e-9):
            out.append(p)
    return out


def outline_kind(box: Box, points: Sequence[tuple[float, float]], curved: bool) -> str | None:
    """One painted path as a bubble part: ``round``, ``square``, ``diamond``,
    ``hexagon``, ``bar`` (one straight segment), or None (anything else)."""
    w, h = box.width, box.height
    if len(points) == 2 and not curved:
        return "bar" if min(w, h) < 0.1 * max(w, h) else None
    if not _closed(points, box) or min(w, h) <= 0:
        return None
    aspect = max(w, h) / min(w, h)
    cx, cy = box.center
    radii = [math.dist(p, (cx, cy)) for p in points[:-1]]
    mean = sum(radii) / len(radii)
    spread = max(abs(r - mean) for r in radii) / mean if mean else 1.0
    corners = _vertices(points)
    # a circle: Bezier quarters (4 end points), or a polygon of many short edges
    if aspect <= SQUARE_ASPECT and spread <= ROUND_SPREAD and (curved or len(radii) >= 8):
        return "round"
    # a stadium (DEXPI draws a field instrument so): two arcs joined by sides
    if aspect <= STADIUM_ASPECT and (curved or len(corners) >= 10):
        return "round"
    if curved:
        return None
    if len(corners) == 6:
        return "hexagon"
    if len(corners) != 4 or aspect > SQUARE_ASPECT:
        return None
    # a square's corners are its box's corners; a diamond's, the middles of its sides
    at_corner = sum(min(abs(x - box.x0), abs(x - box.x1)) < 0.1 * w
                    and min(abs(y - box.y0), abs(y - box.y1)) < 0.1 * h for x, y in corners)
    return "square" if at_corner == 4 else ("diamond" if at_corner == 0 else None)


def _concentric(a: Box, b: Box) -> bool:
    """``b`` is inside ``a`` (a little slack), about the same centre."""
    (ax, ay), (bx, by) = a.center, b.center
    slack = 0.1 * max(a.width, a.height)
    return (b.x0 >= a.x0 - slack and b.y0 >= a.y0 - slack and b.x1 <= a.x1 + slack
            and b.y1 <= a.y1 + slack and math.dist((ax, ay), (bx, by)) <= slack)


def _crosses_middle(bar: Box, circle: Box) -> bool:
    """A bar across a circle's middle, about as long as the circle is wide
    (horizontal in the text's frame: so either way on the page)."""
    cx, cy = circle.center
    r = max(circle.width, circle.height) / 2
    length = max(bar.width, bar.height)
    bx, by = bar.center
    return length >= 1.2 * r and math.dist((bx, by), (cx, cy)) <= 0.35 * r


def find_bubbles(outlines: Iterable, page: int) -> list[Bubble]:
    """The bubbles among a page's outlines (records with ``box``, ``points``,
    ``curved``: :class:`locator.pdf.PathOutline`). The outermost outline of a
    nested group gives the box; a square around a circle is ``box``, a square
    around a diamond ``diamond``, a bar across a circle ``circle-bar``."""
    parts: list[tuple[str, Box]] = []
    for o in outlines:
        kind = outline_kind(o.box, o.points, o.curved)
        if kind is not None:
            parts.append((kind, o.box))
    closed = [(k, b) for k, b in parts if k != "bar"]
    bars = [b for k, b in parts if k == "bar"]
    index = _index([b for _, b in closed])
    taken: set[int] = set()
    found: list[Bubble] = []
    # the largest first: an inner outline joins the bubble of the outline around it
    order = sorted(range(len(closed)), key=lambda i: -closed[i][1].area)
    for i in order:
        if i in taken:
            continue
        kind, box = closed[i]
        inner = [j for j in index.near(box) if j != i and j not in taken
                 and _concentric(box, closed[j][1])]
        kinds = {kind} | {closed[j][0] for j in inner}
        taken.update(inner + [i])
        found.append(Bubble(box, _shape(kinds, box, bars), page))
    return found


def _shape(kinds: set[str], box: Box, bars: list[Box]) -> Shape:
    if "diamond" in kinds:
        return Shape.diamond
    if "square" in kinds:
        return Shape.box
    if "hexagon" in kinds:
        return Shape.hexagon
    if any(_crosses_middle(b, box) for b in bars):
        return Shape.circle_bar
    return Shape.circle


# -------------------------------------------------------------- composing

def _reading_axes(angle: int):
    """For words at ``angle``: a key putting lines top to bottom, and one putting
    a line's words in reading order (unrotated page space, y down)."""
    if angle == 90:    # reads bottom to top: the top line is on the left
        return (lambda b: b.center[0]), (lambda b: -b.center[1])
    if angle == 270:   # reads top to bottom: the top line is on the right
        return (lambda b: -b.center[0]), (lambda b: b.center[1])
    if angle == 180:
        return (lambda b: -b.center[1]), (lambda b: -b.center[0])
    return (lambda b: b.center[1]), (lambda b: b.center[0])


def _line_height(w: Word) -> float:
    return w.box.width if w.angle in (90, 270) else w.box.height


def text_lines(words: Sequence[Word]) -> list[list[Word]]:
    """Words of one place as lines, top line first, each in reading order, in
    the direction most of them read."""
    angle = max({w.angle for w in words}, key=lambda a: sum(w.angle == a for w in words))
    words = [w for w in words if w.angle == angle]
    across, along = _reading_axes(angle)
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: across(w.box)):
        if lines and abs(across(w.box) - across(lines[-1][-1].box)) < 0.5 * _line_height(w):
            lines[-1].append(w)
        else:
            lines.append([w])
    return [sorted(ln, key=lambda w: along(w.box)) for ln in lines]


def composed_word(lines: list[list[Word]], box: Box, *, form: str, shape: str = "") -> Word:
    """One word of several lines: text top line first, joined by ``-`` (the
    default ``tag_format``), ``parts`` the lines."""
    parts = tuple(" ".join(w.text for w in ln) for ln in lines)
    words = [w for ln in lines for w in ln]
    first = words[0]
    return Word(text="-".join(parts), conf=min(w.conf for w in words), box=box,
                page=first.page, engine=first.engine, angle=first.angle,
                source=first.source, shape=shape, form=form, parts=parts)


def _inside(w: Word, b: Bubble) -> bool:
    """The word's middle is inside the bubble, and the word fits in it."""
    x, y = w.box.center
    bx = b.box
    return (bx.x0 < x < bx.x1 and bx.y0 < y < bx.y1
            and w.box.width <= 1.1 * bx.width and w.box.height <= 1.1 * bx.height)


def compose(words: Sequence[Word], bubbles: Sequence[Bubble]) -> list[Word]:
    """The text of each bubble of ``bubbles`` with two or more lines inside it, as
    one composed word (``form="bubble"``, the bubble's box and shape). Words in
    two bubbles (nested outlines of different bubbles) go to the smallest."""
    if not words or not bubbles:
        return []
    index = _index([w.box for w in words])
    home: dict[int, int] = {}
    for bi, b in enumerate(bubbles):
        for wi in index.near(b.box):
            if words[wi].page == b.page and _inside(words[wi], b):
                prior = home.get(wi)
                if prior is None or bubbles[prior].box.area > b.box.area:
                    home[wi] = bi
    members: dict[int, list[Word]] = {}
    for wi, bi in home.items():
        members.setdefault(bi, []).append(words[wi])
    out = []
    for bi in sorted(members):
        lines = text_lines(members[bi])
        if len(lines) >= 2:
            out.append(composed_word(lines, bubbles[bi].box, form="bubble",
                                     shape=bubbles[bi].shape.value))
    return out


def compose_stacked(words: Sequence[Word], *, skip: Iterable[Word] = ()) -> list[Word]:
    """Two stacked one-word lines not in a bubble as one composed word
    (``form="stacked"``): a word and the word right under it in its direction,
    centred on each other, no more than half a line apart. ``skip``: words
    already composed (in a bubble)."""
    skip = set(skip)
    pool = [w for w in words if w not in skip and not w.form]
    if not pool:
        return []
    index = _index([w.box for w in pool])
    out = []
    for w in pool:
        across, along = _reading_axes(w.angle)
        h = _line_height(w)
        for j in index.near(w.box.grow(2 * h)):
            v = pool[j]
            if v is w or v.angle != w.angle or v.page != w.page:
                continue
            gap = across(v.box) - across(w.box)
            if not (0.6 * h <= gap <= 1.6 * h):
                continue
            if abs(along(v.box) - along(w.box)) > 0.25 * max(_along_len(w), _along_len(v)):
                continue
            out.append(composed_word([[w], [v]], w.box.union(v.box), form="stacked"))
    return out


def _along_len(w: Word) -> float:
    return w.box.height if w.angle in (90, 270) else w.box.width


def stacked_pairs(words: Sequence[Word]) -> list[tuple[Word, Word]]:
    """Two words of one direction, one right under the other in it and centred
    on each other: where a bubble's two lines may be (a scan's bubble whose
    outline gave no white inside of its own). OCR boxes hold the ink only, so
    a bubble's lines are up to 2.4 of their ink heights apart, centre to
    centre; the outline fitted around them decides
    (:func:`locator.bubbleimage.fit_outline`)."""
    index = _index([w.box for w in words])
    out = []
    for w in words:
        across, along = _reading_axes(w.angle)
        for j in index.near(w.box.grow(3 * _line_height(w))):
            v = words[j]
            if v is w or v.angle != w.angle or v.page != w.page:
                continue
            h = max(_line_height(w), _line_height(v))
            if not (0.6 * h <= across(v.box) - across(w.box) <= 2.4 * h):
                continue
            if abs(along(v.box) - along(w.box)) > 0.35 * max(_along_len(w), _along_len(v)):
                continue
            out.append((w, v))
    return out


def with_format(w: Word, tag_format: str) -> Word:
    """A composed word written with a catalog's ``tag_format`` (``{letters}``:
    the top line, ``{number}``: the lines under it)."""
    if not w.parts:
        return w
    text = tag_format.format(letters=w.parts[0], number=" ".join(w.parts[1:]))
    return replace(w, text=text)
