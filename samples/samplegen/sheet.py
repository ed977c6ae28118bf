"""The sheet every sample page is drawn on, and the geometry shared by all pages.

ISO sizes, Helvetica text boxes as PyMuPDF's text layer reports them, the
collision-free :class:`Layout`, the border / zones / title block, the tile
seams of the pipeline's default grid, and deterministic PDF saving. All boxes
are PDF points, origin top-left of the unrotated page.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import pymupdf

from locator.geometry import Box, PageFrame, px_to_pt
from locator.tiling import grid


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

MM = 72 / 25.4
ISO_MM = {"A0": (1189, 841), "A1": (841, 594), "A2": (594, 420), "A3": (420, 297)}

# The default tile grid of the pipeline; seam codes are placed against it.
SEAM_DPIS = (300, 200)
TILE_PX = 1600
OVERLAP_PX = 200

FONT = pymupdf.Font("helv")
ASC = FONT.ascender           # 1.075: top of the text-layer box above the baseline, in em
DESC = -FONT.descender        # 0.299: bottom of the box below the baseline, in em
CAP = 0.718                   # Helvetica cap height in em: where the ink of A-Z/0-9 ends

INK = (0, 0, 0)

NOTES = ("NOTES:",
         "1. ALL DIMENSIONS IN MILLIMETRES UNLESS NOTED OTHERWISE.",
         "2. INSTRUMENT IDENTIFICATION AND SYMBOLS PER ISA 5.1.",
         "3. GENERATED SAMPLE DRAWING FOR LOCATOR TESTS. NOT FOR CONSTRUCTION.")


# --------------------------------------------------------------------------
# Text geometry
# --------------------------------------------------------------------------

def text_width(text: str, size: float) -> float:
    return FONT.text_length(text, fontsize=size)


def text_box(origin: tuple[float, float], text: str, size: float, angle: int) -> Box:
    """The text-layer box PyMuPDF reports for ``text`` inserted at baseline ``origin``.

    PDF points, top-left origin. Angle 90 reads bottom-to-top (``rotate=90``):
    the baseline then runs upward from the origin and the ascent points left.
    """
    x, y = origin
    w = text_width(text, size)
    if angle == 0:
        return Box(x, y - ASC * size, x + w, y + DESC * size)
    return Box(x - ASC * size, y - w, x + DESC * size, y)


def origin_for(x0: float, y0: float, text: str, size: float, angle: int) -> tuple[float, float]:
    """The baseline origin that puts the text-layer box's top-left corner at (x0, y0)."""
    if angle == 0:
        return (x0, y0 + ASC * size)
    return (x0 + ASC * size, y0 + text_width(text, size))


def box_extent(text: str, size: float, angle: int) -> tuple[float, float]:
    """(width, height) in points of the text-layer box."""
    w, h = text_width(text, size), (ASC + DESC) * size
    return (w, h) if angle == 0 else (h, w)


def clearance(size: float) -> float:
    """How close a line may come to a code's text-layer box (points).

    The box already carries ~0.3 em of empty space above and below the ink, so
    lines stay at least ~0.8 em from the ink: OCR sees the code cleanly.
    """
    return max(2.0, 0.5 * size)


# --------------------------------------------------------------------------
# Layout: collision-free placement
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Item:
    """Something that occupies the page: a code or word (text) or a drawn shape."""

    box: Box
    kind: str            # "text" | "graphic"
    size: float = 0.0    # font size, for text


def required_gap(a: Item, b: Item) -> float:
    """Smallest allowed distance between two items' boxes (points)."""
    if a.kind == "text" and b.kind == "text":
        # ~3 character widths: two codes never read as one line or one word.
        return 2.0 * max(a.size, b.size)
    if a.kind == "text":
        return clearance(a.size)
    if b.kind == "text":
        return clearance(b.size)
    return 6.0


class Layout:
    """The placed items of one page, with a coarse spatial hash for speed."""

    CELL = 64.0

    def __init__(self, area: Box, reserved: list[Box]):
        self.area = area
        self.items: list[Item] = []
        self.buckets: dict[tuple[int, int], list[Item]] = {}
        self.max_size = 8.0  # largest text size placed: bounds every required gap
        for r in reserved:
            self.add([Item(r, "graphic")])

    def _cells(self, box: Box, pad: float):
        c = self.CELL
        for i in range(int((box.x0 - pad) // c), int((box.x1 + pad) // c) + 1):
            for j in range(int((box.y0 - pad) // c), int((box.y1 + pad) // c) + 1):
                yield (i, j)

    def fits(self, unit: list[Item]) -> bool:
        """True when every item is inside the area and far enough from all placed ones."""
        a = self.area
        for it in unit:
            b = it.box
            if b.x0 < a.x0 or b.y0 < a.y0 or b.x1 > a.x1 or b.y1 > a.y1:
                return False
            pad = 2.0 * max(self.max_size, it.size) + 6.0  # >= any required_gap
            for cell in self._cells(b, pad):
                for other in self.buckets.get(cell, ()):
                    if b.distance(other.box) < required_gap(it, other):
                        return False
        return True

    def add(self, unit: list[Item]) -> None:
        for it in unit:
            self.max_size = max(self.max_size, it.size)
            self.items.append(it)
            for cell in self._cells(it.box, 0.0):
                self.buckets.setdefault(cell, []).append(it)


def random_point(rng: random.Random, area: Box, w: float, h: float) -> tuple[float, float]:
    return (rng.uniform(area.x0, area.x1 - w), rng.uniform(area.y0, area.y1 - h))


def clip_segment(seg, blocks: list[Box], min_len: float = 12.0):
    """Split an axis-parallel segment around the boxes it would cross."""
    x0, y0, x1, y1 = seg
    horizontal = y0 == y1
    lo, hi = (min(x0, x1), max(x0, x1)) if horizontal else (min(y0, y1), max(y0, y1))
    cuts = []
    for b in blocks:
        if horizontal and b.y0 <= y0 <= b.y1:
            cuts.append((b.x0, b.x1))
        elif not horizontal and b.x0 <= x0 <= b.x1:
            cuts.append((b.y0, b.y1))
    pieces, cur = [], lo
    for c0, c1 in sorted(cuts):
        if c1 <= cur or c0 >= hi:
            continue
        if c0 > cur:
            pieces.append((cur, c0))
        cur = max(cur, c1)
    if cur < hi:
        pieces.append((cur, hi))
    out = []
    for a, b in pieces:
        if b - a >= min_len:
            out.append((a, y0, b, y0) if horizontal else (x0, a, x0, b))
    return out


# --------------------------------------------------------------------------
# Page furniture: frame, zones, title block, notes
# --------------------------------------------------------------------------

@dataclass
class Sheet:
    """The fixed parts of a sheet and the area left for the drawing."""

    width: float
    height: float
    frame: Box           # the thick drawing frame
    title: Box           # the title block
    notes: Box           # the notes block above the title block
    area: Box            # where codes and drawing may go
    drawing_no: str
    size_name: str
    subject: str = "PIPING AND INSTRUMENTATION DIAGRAM"


def make_sheet(size: str, seed: int, kind: str = "PID",
               subject: str = "PIPING AND INSTRUMENTATION DIAGRAM") -> Sheet:
    w_mm, h_mm = ISO_MM[size]
    w, h = w_mm * MM, h_mm * MM
    # ISO 5457: 20 mm filing margin on the left, 10 mm elsewhere.
    frame = Box(20 * MM, 10 * MM, w - 10 * MM, h - 10 * MM)
    title = Box(frame.x1 - 180 * MM, frame.y1 - 56 * MM, frame.x1, frame.y1)
    notes = Box(title.x0, title.y0 - 30 * MM, title.x1, title.y0 - 6 * MM)
    area = frame.grow(-8 * MM)
    return Sheet(w, h, frame, title, notes, area,
                 drawing_no=f"LS-{kind}-{seed:04d}-{size}", size_name=size, subject=subject)


def title_texts(sheet: Sheet) -> list[tuple[tuple[float, float], str, float]]:
    """(origin, text, size) of every word in the title block, laid out in its cells."""
    t = sheet.title
    col = [t.x0, t.x0 + 70 * MM, t.x0 + 95 * MM, t.x0 + 120 * MM, t.x0 + 145 * MM, t.x1]
    rows = [t.y0, t.y0 + 16 * MM, t.y0 + 32 * MM, t.y0 + 44 * MM, t.y1]
    out = [((t.x0 + 4 * MM, rows[0] + 10 * MM), "LOCATOR SAMPLE WORKS", 12.0),
           ((t.x0 + 2 * MM, rows[1] + 3 * MM), "TITLE", 5.0),
           ((t.x0 + 4 * MM, rows[1] + 8.5 * MM), sheet.subject, 9.0),
           ((t.x0 + 4 * MM, rows[1] + 13.5 * MM), "UNIT 100 FEED AND PREHEAT SECTION", 7.0)]
    people = [("DRAWN", "A. NOVAK"), ("CHECKED", "R. OKAFOR"), ("APPROVED", "M. LINDQVIST"),
              ("DATE", "2024-05-17"), ("STATUS", "ISSUED")]
    bottom = [("DRAWING NO", sheet.drawing_no), ("REV", "C"), ("SCALE", "NTS"),
              ("SIZE", sheet.size_name), ("SHEET", "1 OF 1")]
    for r, cells in ((2, people), (3, bottom)):
        for c, (label, value) in enumerate(cells):
            out.append(((col[c] + 2 * MM, rows[r] + 3 * MM), label, 5.0))
            out.append(((col[c] + 2 * MM, rows[r] + 9 * MM), value, 9.0 if c else 10.0))
    return out


def draw_furniture(page: pymupdf.Page, sheet: Sheet) -> None:
    """Border, zone marks, title block and notes."""
    sh = page.new_shape()
    _draw_frame(sh, sheet)
    _draw_title_block(sh, sheet)
    for i, line in enumerate(NOTES):
        sh.insert_text((sheet.notes.x0 + 2 * MM, sheet.notes.y0 + 4 * MM + i * 5 * MM),
                       line, fontsize=7.0 if i else 8.0, fontname="helv", color=INK)
    sh.commit()


def draw_frame(page: pymupdf.Page, sheet: Sheet) -> None:
    """Border and zone marks alone (the P&ID sheet draws its own title block)."""
    sh = page.new_shape()
    _draw_frame(sh, sheet)
    sh.commit()


def _draw_frame(sh: pymupdf.Shape, sheet: Sheet) -> None:
    f = sheet.frame
    outer = Box(5 * MM, 5 * MM, sheet.width - 5 * MM, sheet.height - 5 * MM)
    sh.draw_rect(pymupdf.Rect(outer.x0, outer.y0, outer.x1, outer.y1))
    sh.finish(width=0.35, color=INK)
    sh.draw_rect(pymupdf.Rect(f.x0, f.y0, f.x1, f.y1))
    sh.finish(width=1.4, color=INK)
    _draw_zones(sh, sheet, outer)


def _draw_zones(sh: pymupdf.Shape, sheet: Sheet, outer: Box) -> None:
    """ISO 5457 grid references: numbers across, letters down, about 50 mm apart."""
    f = sheet.frame
    n_cols = max(2, round((f.x1 - f.x0) / (50 * MM)))
    n_rows = max(2, round((f.y1 - f.y0) / (50 * MM)))
    for i in range(n_cols + 1):
        x = f.x0 + i * (f.x1 - f.x0) / n_cols
        for y_a, y_b in ((outer.y0, f.y0), (f.y1, outer.y1)):
            sh.draw_line((x, y_a), (x, y_b))
        if i < n_cols:
            xm = x + (f.x1 - f.x0) / n_cols / 2 - 2
            for y in (outer.y0 + 3.8 * MM, f.y1 + 3.8 * MM):
                sh.insert_text((xm, y), str(i + 1), fontsize=8, fontname="helv", color=INK)
    for j in range(n_rows + 1):
        y = f.y0 + j * (f.y1 - f.y0) / n_rows
        for x_a, x_b in ((outer.x0, f.x0), (f.x1, outer.x1)):
            sh.draw_line((x_a, y), (x_b, y))
        if j < n_rows:
            ym = y + (f.y1 - f.y0) / n_rows / 2 + 3
            letter = chr(ord("A") + n_rows - 1 - j)  # A at the bottom, as ISO 5457
            for x in ((outer.x0 + f.x0) / 2 - 2.5, f.x1 + 1.5 * MM):
                sh.insert_text((x, ym), letter, fontsize=8, fontname="helv", color=INK)
    sh.finish(width=0.35, color=INK)


def _draw_title_block(sh: pymupdf.Shape, sheet: Sheet) -> None:
    t = sheet.title
    sh.draw_rect(pymupdf.Rect(t.x0, t.y0, t.x1, t.y1))
    sh.finish(width=1.0, color=INK)
    rows = [t.y0 + 16 * MM, t.y0 + 32 * MM, t.y0 + 44 * MM]
    for y in rows:
        sh.draw_line((t.x0, y), (t.x1, y))
    for x in (70, 95, 120, 145):
        sh.draw_line((t.x0 + x * MM, rows[1]), (t.x0 + x * MM, t.y1))
    n = sheet.notes
    sh.draw_rect(pymupdf.Rect(n.x0, n.y0, n.x1, n.y1))
    sh.finish(width=0.5, color=INK)
    for origin, text, size in title_texts(sheet):
        sh.insert_text(origin, text, fontsize=size, fontname="helv", color=INK)


# --------------------------------------------------------------------------
# Tile seams
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SeamSpot:
    """A tile edge a code can straddle, on one axis of one grid.

    ``axis`` "x": the edge is the vertical line x = ``edge``; "y": horizontal.
    Not ``both``: the code must stay inside [``lo``, ``hi``] (the neighbouring
    tile, which then holds it whole). ``both``: [lo, hi] is the overlap and the
    code must stick out of it on both sides, so no tile holds it whole.
    """

    dpi: int
    axis: str
    edge: float
    lo: float
    hi: float
    both: bool


def seam_spots(frame: PageFrame, dpi: int) -> list[SeamSpot]:
    """Every interior tile edge of the default grid at ``dpi`` (points)."""
    tiles = grid(1, frame, dpi, TILE_PX, OVERLAP_PX)
    tw, th = tiles[0].size_px
    spots = []
    for axis, starts, n in (("x", sorted({t.rect_px[0] for t in tiles}), tw),
                            ("y", sorted({t.rect_px[1] for t in tiles}), th)):
        pt = lambda v: px_to_pt(v, dpi)  # noqa: E731
        for a, b in zip(starts, starts[1:]):
            # Tiles A=[a, a+n] and B=[b, b+n] overlap on [b, a+n].
            spots.append(SeamSpot(dpi, axis, pt(a + n), pt(b), pt(b + n), False))
            spots.append(SeamSpot(dpi, axis, pt(b), pt(a), pt(a + n), False))
            spots.append(SeamSpot(dpi, axis, pt(b), pt(b), pt(a + n), True))
    return spots


def along_axis_span(spot: SeamSpot, extent: float, rng: random.Random) -> float | None:
    """Start coordinate of a code of ``extent`` points straddling ``spot``, or None."""
    if spot.both:
        spare = extent - (spot.hi - spot.lo)
        if spare < 6.0:  # at least ~3 pt (most of a character) cut off on each side
            return None
        return spot.lo - spare / 2
    # Cut: at least 30 % of the code on each side of the edge; whole inside the
    # neighbour with 1 pt (4 px at 300 dpi) to spare.
    lo = max(spot.lo + 1.0, spot.edge - 0.7 * extent)
    hi = min(spot.hi - 1.0 - extent, spot.edge - 0.3 * extent)
    return rng.uniform(lo, hi) if lo <= hi else None


def cut_by_grid(box: Box, frame: PageFrame, dpi: int) -> bool:
    """True when an interior tile edge of the default grid at ``dpi`` passes through ``box``."""
    for t in grid(1, frame, dpi, TILE_PX, OVERLAP_PX):
        c = t.clip
        inside = c.x0 <= box.x0 and c.y0 <= box.y0 and box.x1 <= c.x1 and box.y1 <= c.y1
        if box.intersection_area(c) > 0 and not inside:
            return True
    return False


def seam_flags(box: Box, frame: PageFrame) -> int:
    """The truth's ``on_seam``: 1 if cut at 300 dpi, 2 if cut at 200 dpi, 3 if both, else 0."""
    return sum(1 << i for i, dpi in enumerate(SEAM_DPIS) if cut_by_grid(box, frame, dpi))


# --------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------

def set_fixed_metadata(doc: pymupdf.Document, title: str) -> None:
    """Fixed dates and no random /ID: the same seed gives the same bytes."""
    stamp = "D:20240517000000Z"
    doc.set_metadata({"title": title, "author": "locator samples", "creator": "make_samples.py",
                      "producer": "PyMuPDF", "creationDate": stamp, "modDate": stamp})


def save_pdf(doc: pymupdf.Document, path: Path) -> None:
    doc.save(path, garbage=3, deflate=True, no_new_id=True)
