"""Vector pieces of a generated P&ID: labels, strokes, and the symbols built from them.

A symbol is built in its own text frame (``u`` along the text, ``v`` across
it, positive towards the descent, origin at the symbol's centre) and turned
onto the page by :func:`to_page`, so one builder gives upright, 90 (reading
bottom to top) and 270 (top to bottom) versions alike. Everything is PDF
points, origin top-left of the unrotated page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pymupdf

from locator.geometry import Box

from .sheet import ASC, CAP, DESC, text_width

BLACK = (0.0, 0.0, 0.0)
Point = tuple[float, float]


def to_page(cx: float, cy: float, u: float, v: float, angle: int) -> Point:
    """A point of the text frame centred at (cx, cy) in page points."""
    if angle == 0:
        return (cx + u, cy + v)
    if angle == 90:     # text runs up the page; its descent points right
        return (cx + v, cy - u)
    if angle == 270:    # text runs down the page; its descent points left
        return (cx - v, cy + u)
    raise ValueError(f"angle {angle}")


def frame_box(cx: float, cy: float, u0: float, v0: float, u1: float, v1: float,
              angle: int) -> Box:
    """The page box of the text-frame rectangle [u0, u1] x [v0, v1]."""
    pts = [to_page(cx, cy, u, v, angle) for u in (u0, u1) for v in (v0, v1)]
    return Box(min(p[0] for p in pts), min(p[1] for p in pts),
               max(p[0] for p in pts), max(p[1] for p in pts))


@dataclass(frozen=True, slots=True)
class Label:
    """One text run on the sheet (one word), and what it is for the truth.

    ``feature`` is empty for words that are not codes (pipe sizes, headings);
    ``role`` is ``code``, ``letters`` / ``number`` (the two lines of a
    bubble, ``group`` its index) or ``word``.
    """

    text: str
    size: float
    angle: int
    origin: Point
    colour: tuple[float, float, float] = BLACK
    feature: str = ""
    label: str = ""
    role: str = "word"
    group: int = -1

    @property
    def box(self) -> Box:
        """The box PyMuPDF's text layer reports for this run."""
        x, y, s = self.origin[0], self.origin[1], self.size
        w = text_width(self.text, s)
        if self.angle == 0:
            return Box(x, y - ASC * s, x + w, y + DESC * s)
        if self.angle == 90:
            return Box(x - ASC * s, y - w, x + DESC * s, y)
        return Box(x - DESC * s, y, x + ASC * s, y + w)


def centred_label(cx: float, cy: float, text: str, size: float, angle: int, v_base: float,
                  u_shift: float = 0.0, **kw) -> Label:
    """A label centred along the text at ``u_shift``, baseline at ``v_base`` (text frame)."""
    w = text_width(text, size)
    return Label(text, size, angle, to_page(cx, cy, u_shift - w / 2, v_base, angle), **kw)


def ink_centre_base(size: float) -> float:
    """The baseline offset that puts the ink of capitals/digits centred on v = 0."""
    return CAP * size / 2


@dataclass(frozen=True, slots=True)
class Stroke:
    """A polyline (``closed``: a polygon) or, with ``radius``, a circle at points[0]."""

    points: tuple[Point, ...]
    colour: tuple[float, float, float] = BLACK
    width: float = 0.5
    closed: bool = False
    dashes: str | None = None
    fill: tuple[float, float, float] | None = None
    radius: float = 0.0

    @property
    def box(self) -> Box:
        """The stroke's extent including half the line width."""
        h = self.width / 2
        if self.radius:
            (x, y), r = self.points[0], self.radius + h
            return Box(x - r, y - r, x + r, y + r)
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return Box(min(xs) - h, min(ys) - h, max(xs) + h, max(ys) + h)


def line(a: Point, b: Point, **kw) -> Stroke:
    return Stroke((a, b), **kw)


def draw(page: pymupdf.Page, strokes: list[Stroke], labels: list[Label]) -> None:
    """Strokes first, then every label on top (as vector text with a text layer)."""
    sh = page.new_shape()
    for s in strokes:
        if s.radius:
            sh.draw_circle(s.points[0], s.radius)
        else:
            sh.draw_polyline(list(s.points))
        sh.finish(width=s.width, color=s.colour, fill=s.fill, closePath=s.closed,
                  dashes=s.dashes, lineCap=1 if s.dashes is None else 0)
    for lb in labels:
        sh.insert_text(lb.origin, lb.text, fontsize=lb.size, fontname="helv",
                       color=lb.colour, rotate=lb.angle)
    sh.commit()


# --------------------------------------------------------------------------
# Instrument bubbles (ISA-5.1)
# --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Bubble:
    """An instrument bubble: function letters over the loop number, and its outline."""

    letters: Label
    number: Label
    shape: str
    strokes: tuple[Stroke, ...]

    @property
    def box(self) -> Box:
        return Box.union_all([s.box for s in self.strokes])


def bubble(cx: float, cy: float, letters: str, number: str, shape: str, angle: int,
           size: float, snug: float, colour, text_colour, group: int, bar: bool) -> Bubble:
    """Build a bubble centred at (cx, cy).

    The two text-layer boxes abut (as on the Covestro sheet). ``snug`` scales
    the outline around the text: 1.0 passes through the corners of the widest
    line's ink, below 1 the outline touches the outer digits.
    """
    s = size
    wl, wn = text_width(letters, s), text_width(number, s)
    # Letters' box ends at v = 0, the number's starts there; the ink's middle
    # (cap tops of the letters to the number's baseline) sits near v = 0.
    v_bar = ((ASC - CAP) * s - DESC * s) / 2  # between the two lines' ink
    kw = {"colour": text_colour, "feature": "bubble", "label": "instrument", "group": group}
    lab_l = centred_label(cx, cy, letters, s, angle, -DESC * s, role="letters", **kw)
    lab_n = centred_label(cx, cy, number, s, angle, ASC * s, role="number", **kw)
    half_w = max(wl, wn) / 2
    reach = ASC * s  # from v = 0 to the number's baseline, the ink's far edge
    st = dict(colour=colour, width=0.5)
    out: list[Stroke] = []
    if shape in ("circle", "circle-bar", "box"):
        r = max(math.hypot(half_w, reach) * snug, 1.6 * s)
        out.append(Stroke(((cx, cy),), radius=r, **st))
        if shape == "box":
            out.append(_polygon(cx, cy, [(-r, -r), (r, -r), (r, r), (-r, r)], angle, **st))
        if shape == "circle-bar" or bar:
            du = math.sqrt(max(r * r - v_bar * v_bar, 0.0))
            out.append(_polyline(cx, cy, [(-du, v_bar), (du, v_bar)], angle, **st))
    elif shape == "diamond":
        a = max((half_w + reach) * snug, 2.2 * s)
        out.append(_polygon(cx, cy, [(-a, 0), (0, -a), (a, 0), (0, a)], angle, **st))
        out.append(_polygon(cx, cy, [(-a, -a), (a, -a), (a, a), (-a, a)], angle, **st))
        if bar:
            du = a - abs(v_bar)
            out.append(_polyline(cx, cy, [(-du, v_bar), (du, v_bar)], angle, **st))
    elif shape == "hexagon":
        h = reach * max(snug, 1.0) + 0.8
        b = half_w * snug
        a = b + 0.6 * h
        out.append(_polygon(cx, cy, [(-a, 0), (-b, -h), (b, -h), (a, 0), (b, h), (-b, h)],
                            angle, **st))
    else:
        raise ValueError(shape)
    return Bubble(lab_l, lab_n, shape, tuple(out))


def _polygon(cx, cy, pts, angle, **kw) -> Stroke:
    return Stroke(tuple(to_page(cx, cy, u, v, angle) for u, v in pts), closed=True, **kw)


def _polyline(cx, cy, pts, angle, **kw) -> Stroke:
    return Stroke(tuple(to_page(cx, cy, u, v, angle) for u, v in pts), **kw)


def bubble_extent(letters: str, number: str, shape: str, size: float, snug: float) -> float:
    """Half the width of the bubble's outline in its text frame (for a signal line's start)."""
    half_w = max(text_width(letters, size), text_width(number, size)) / 2
    reach = ASC * size
    if shape == "diamond":
        return max((half_w + reach) * snug, 2.2 * size)
    if shape == "hexagon":
        return reach * max(snug, 1.0) + 0.8
    return max(math.hypot(half_w, reach) * snug, 1.6 * size)


# --------------------------------------------------------------------------
# Other symbols
# --------------------------------------------------------------------------

def bowtie(cx: float, cy: float, vertical: bool, colour, fill) -> list[Stroke]:
    """A gate valve: two triangles meeting at the centre, along the pipe; a dot between."""
    a, b = 5.0, 3.5  # half-length along the pipe, half-width across
    if vertical:
        pts = ((cx - b, cy - a), (cx + b, cy - a), (cx - b, cy + a), (cx + b, cy + a))
    else:
        pts = ((cx - a, cy - b), (cx - a, cy + b), (cx + a, cy - b), (cx + a, cy + b))
    return [Stroke(pts, colour=colour, width=0.5, closed=True, fill=fill),
            Stroke(((cx, cy),), colour=colour, width=0.3, radius=0.8, fill=colour)]


def hatched_box(box: Box, step: float, colour) -> list[Stroke]:
    """An outlined box filled with 45-degree hatching ``step`` points apart."""
    out = [Stroke(((box.x0, box.y0), (box.x1, box.y0), (box.x1, box.y1), (box.x0, box.y1)),
                  colour=colour, width=0.5, closed=True)]
    c = box.x0 + box.y0 + step
    while c < box.x1 + box.y1:
        # The line x + y = c inside the box.
        xa, xb = max(box.x0, c - box.y1), min(box.x1, c - box.y0)
        if xb > xa:
            out.append(line((xa, c - xa), (xb, c - xb), colour=colour, width=0.35))
        c += step
    return out


def hexagon_around(label: Label, pad: float, colour) -> Stroke:
    """A flat-topped hexagon around an upright label's text box."""
    b = label.box
    cx, cy = b.center
    h = b.height / 2 + pad
    w = b.width / 2 + pad
    a = w + 0.6 * h
    return Stroke(((cx - a, cy), (cx - w, cy - h), (cx + w, cy - h), (cx + a, cy),
                   (cx + w, cy + h), (cx - w, cy + h)), colour=colour, width=0.5, closed=True)


def vessel(body: Box, colour) -> list[Stroke]:
    """A vertical vessel: straight sides and shallow domed heads (polylines)."""
    x0, y0, x1, y1 = body.x0, body.y0, body.x1, body.y1
    dome = 0.12 * (y1 - y0)
    n = 12
    top = [(x0 + (x1 - x0) * i / n, y0 + dome * (1 - math.sin(math.pi * i / n)))
           for i in range(n + 1)]
    bottom = [(x1 - (x1 - x0) * i / n, y1 - dome * (1 - math.sin(math.pi * i / n)))
              for i in range(n + 1)]
    return [Stroke(tuple(top + bottom), colour=colour, width=0.7, closed=True)]
