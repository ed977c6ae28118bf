"""The P&ID-like drawing: codes, equipment, bubbles, valves and pipes.

Codes are placed first (the seam codes against the tile grid), shapes around
them, and pipes last, clipped so that no line ever crosses or crowds a code.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import pymupdf
from rapidfuzz.distance import Indel, Levenshtein

from locator.geometry import Box, PageFrame

from .sheet import (CAP, INK, ISO_MM, MM, NOTES, SEAM_DPIS, Item, Layout, Sheet,
                    along_axis_span, box_extent, clearance, clip_segment, origin_for,
                    random_point, seam_spots, text_box, text_width, title_texts)


# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

CODE_COUNT = {"A0": 120, "A1": 85, "A2": 60, "A3": 42}
ROTATED_SHARE = 0.12
FONT_SIZES = (4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0)

INSTRUMENT_PREFIXES = ("FIC", "FT", "FE", "FI", "FQI", "PT", "PI", "PIC", "PDT", "PSV",
                       "LT", "LI", "LIC", "LSH", "LSL", "TT", "TI", "TIC", "TE", "AT",
                       "AI", "HS", "ZSC", "ZSO")
VALVE_PREFIXES = ("HV", "XV", "MV", "CV", "FV", "PV", "LV", "TV")
LONG_VALVE_PREFIXES = ("MOV", "SDV", "BDV")  # wide letters: long enough to span an overlap
EQUIPMENT_WORDS = ("VESSEL", "DRUM", "FILTER", "TANK", "COOLER", "HEATER", "REACTOR",
                   "SEPARATOR", "SCRUBBER", "RECEIVER", "PUMP", "COLUMN")


# --------------------------------------------------------------------------
# Codes: vocabulary and confusability
# --------------------------------------------------------------------------

@dataclass
class Code:
    """One code to place: its text, label, font size and, once placed, its origin."""

    text: str
    label: str
    size: float = 6.0
    angle: int = 0
    role: str = "free"        # seam | bubble | equipment | free
    origin: tuple[float, float] | None = None

    @property
    def box(self) -> Box:
        assert self.origin is not None, f"{self.text} not placed"
        return text_box(self.origin, self.text, self.size, self.angle)


def confusable(a: str, b: str) -> bool:
    """Too close for a fuzzy matcher at ``min_score`` 85 to keep apart.

    Edit distance 1 is the brief's rule; RapidFuzz's ``fuzz.ratio`` above 80
    also catches swaps like FIC-101/FIC-110 that a ratio-based matcher would
    score 86. Spaces are ignored too, because OCR often drops them.
    """
    for x, y in ((a, b), (a.replace(" ", ""), b.replace(" ", ""))):
        total = len(x) + len(y)
        # fuzz.ratio = 100 * (1 - indel / total) > 80  <=>  total > 5 * indel, in integers.
        if Levenshtein.distance(x, y) < 2 or total > 5 * Indel.distance(x, y):
            return True
    return False


def digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1))


def instrument_tag(rng: random.Random) -> str:
    return f"{rng.choice(INSTRUMENT_PREFIXES)}-{digits(rng, rng.choice((3, 4)))}"


def part_number(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I/O: part numbering schemes avoid them
    return (f"{rng.choice(letters)}{rng.choice(letters)}-{digits(rng, 5)}"
            f"-{rng.choice(letters)}")


def valve_tag(rng: random.Random) -> str:
    return f"{rng.choice(VALVE_PREFIXES)} {digits(rng, 5)}-{rng.randint(1, 99):02d}"


def long_valve_tag(rng: random.Random) -> str:
    return f"{rng.choice(LONG_VALVE_PREFIXES)} {digits(rng, 5)}-{rng.randint(100, 999)}"


PART_REGEX = r"[A-Z]{2}-\d{5}-[A-Z]"


def make_codes(rng: random.Random, n: int, n_long: int, forbidden: list[str]) -> list[Code]:
    """``n`` codes, pairwise not confusable, none confusable with other page text.

    About 55 % instrument tags, 25 % part numbers, 20 % two-word valve tags, of
    which ``n_long`` are long enough to span a 300 dpi tile overlap at 8 pt.
    """
    n_inst, n_part = round(0.55 * n), round(0.25 * n)
    plan = ([("instrument", instrument_tag)] * n_inst + [("part", part_number)] * n_part
            + [("valve", long_valve_tag)] * n_long
            + [("valve", valve_tag)] * (n - n_inst - n_part - n_long))
    taken: list[str] = []
    codes = []
    for label, make in plan:
        for _ in range(10_000):
            text = make(rng)
            if not any(confusable(text, t) for t in taken + forbidden):
                break
        else:
            raise RuntimeError("could not find a non-confusable code")
        taken.append(text)
        codes.append(Code(text, label, size=rng.choice(FONT_SIZES)))
    for c in codes[n_inst + n_part:n_inst + n_part + n_long]:
        c.size = 8.0  # the widest allowed: these must be wider than the overlap
    return codes


def furniture_words(sheet: Sheet) -> list[str]:
    """All non-code words on the sheet: codes must not be confusable with them."""
    words = [sheet.drawing_no, *EQUIPMENT_WORDS]
    for line in NOTES + tuple(t for _, t, _ in title_texts(sheet)):
        words += line.split()
    return words


# --------------------------------------------------------------------------
# Placement
# --------------------------------------------------------------------------

@dataclass
class Drawing:
    """Everything drawn on the sheet besides its furniture."""

    codes: list[Code] = field(default_factory=list)
    words: list[tuple[tuple[float, float], str, float]] = field(default_factory=list)
    rects: list[Box] = field(default_factory=list)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # cx, cy, r
    bowties: list[Box] = field(default_factory=list)
    pipes: list[tuple[float, float, float, float]] = field(default_factory=list)
    leaders: list[tuple[float, float, float, float]] = field(default_factory=list)
    hosts: list[Code] = field(default_factory=list)  # codes that get a pipe beside them


def code_item(c: Code) -> Item:
    return Item(c.box, "text", c.size)


def try_place(layout: Layout, code: Code, x0: float, y0: float, extra=()) -> bool:
    """Put ``code``'s box top-left at (x0, y0) if it (and ``extra`` items) fit."""
    code.origin = origin_for(x0, y0, code.text, code.size, code.angle)
    unit = [code_item(code), *extra]
    if layout.fits(unit):
        layout.add(unit)
        return True
    code.origin = None
    return False


SEAM_PLAN = (  # (dpi, axis, angle, both): a dozen codes on the seams of both grids
    (300, "x", 0, False), (300, "x", 0, False), (300, "x", 0, False),
    (300, "y", 90, False), (300, "y", 0, False),
    (300, "x", 0, True), (300, "x", 0, True),
    (200, "x", 0, False), (200, "x", 0, False), (200, "x", 0, False),
    (200, "y", 90, False), (200, "y", 0, False),
)


def place_seam_codes(layout: Layout, codes: list[Code], frame: PageFrame,
                     rng: random.Random) -> None:
    """Put the codes marked ``seam`` across interior tile edges, as SEAM_PLAN says."""
    spots = {dpi: seam_spots(frame, dpi) for dpi in SEAM_DPIS}
    longs = [c for c in codes if c.role == "seam" and c.size == 8.0 and " " in c.text
             and c.text.split()[0] in LONG_VALVE_PREFIXES]
    others = [c for c in codes if c.role == "seam" and c not in longs]
    used_edges: set[tuple[int, str, float]] = set()
    for dpi, axis, angle, both in SEAM_PLAN:
        code = longs.pop() if both else others.pop()
        code.angle = angle
        w, h = box_extent(code.text, code.size, angle)
        extent, across = (w, h) if axis == "x" else (h, w)
        cands = [s for s in spots[dpi] if s.axis == axis and s.both == both]
        rng.shuffle(cands)
        # Prefer edges not used yet, so the seam codes spread over the sheet.
        cands.sort(key=lambda s: (dpi, axis, round(s.edge, 2)) in used_edges)
        if not _place_on_spots(layout, code, cands, extent, across, rng):
            raise RuntimeError(f"no room on a {dpi} dpi {axis} seam for {code.text}")
        used_edges.add((dpi, axis, round(cands[0].edge, 2)))


def _place_on_spots(layout, code, spots, extent, across, rng) -> bool:
    a = layout.area
    for spot in spots:
        for _ in range(60):
            start = along_axis_span(spot, extent, rng)
            if start is None:
                break
            other = rng.uniform(a.y0, a.y1 - across) if spot.axis == "x" else \
                rng.uniform(a.x0, a.x1 - across)
            x0, y0 = (start, other) if spot.axis == "x" else (other, start)
            if try_place(layout, code, x0, y0):
                spots.remove(spot)
                spots.insert(0, spot)  # report the spot used first
                return True
    return False


def place_equipment(layout: Layout, drawing: Drawing, parts: list[Code], n: int,
                    rng: random.Random) -> None:
    """Vessels (rectangles) and pumps (circles), each with a part number beneath."""
    for k in range(n):
        part = parts[k] if k < len(parts) else None
        for _ in range(400):
            if _try_equipment(layout, drawing, part, rng):
                break
        else:
            if part is not None:
                part.role = "free"  # no room next to equipment: placed freely later


def _try_equipment(layout, drawing, part, rng) -> bool:
    word = rng.choice(EQUIPMENT_WORDS)
    if word == "PUMP":
        r = rng.uniform(10, 22)
        w = h = 2 * r
    else:
        ws = 8.0
        w = max(text_width(word, ws) + 16, rng.uniform(50, 180))
        h = rng.uniform(35, 130)
        if word == "COLUMN":
            w, h = max(text_width(word, ws) + 12, rng.uniform(40, 60)), rng.uniform(150, 260)
    x0, y0 = random_point(rng, layout.area, w, h + 30)
    body = Box(x0, y0, x0 + w, y0 + h)
    unit = [Item(body, "graphic")]
    label = None
    if word != "PUMP":
        ws = 8.0
        lw = text_width(word, ws)
        origin = (body.center[0] - lw / 2, body.center[1] + CAP * ws / 2)
        label = (origin, word, ws)
        unit.append(Item(text_box(origin, word, ws, 0), "text", ws))
    if part is not None:
        part.angle = 0
        pw, _ = box_extent(part.text, part.size, 0)
        px0, py0 = body.center[0] - pw / 2, body.y1 + clearance(part.size) + 1.5
        part.origin = origin_for(px0, py0, part.text, part.size, 0)
        unit.append(code_item(part))
    if not layout.fits(unit):
        if part is not None:
            part.origin = None
        return False
    layout.add(unit)
    if word == "PUMP":
        drawing.circles.append((body.center[0], body.center[1], w / 2))
    else:
        drawing.rects.append(body)
        drawing.words.append(label)
    return True


def place_bubble(layout: Layout, drawing: Drawing, code: Code, rng: random.Random) -> bool:
    """An instrument bubble: a circle around the tag, a dashed signal line below."""
    code.angle = 0
    w, h = box_extent(code.text, code.size, 0)
    r = math.hypot(w / 2, h / 2) + clearance(code.size) + 0.5
    for _ in range(2000):
        cx, cy = random_point(rng, layout.area.grow(-r), 0, 0)
        circle = Item(Box(cx - r, cy - r, cx + r, cy + r), "graphic")
        if try_place(layout, code, cx - w / 2, cy - h / 2, extra=[circle]):
            drawing.circles.append((cx, cy, r))
            if rng.random() < 0.7:
                drawing.leaders.append((cx, cy + r, cx, cy + r + rng.uniform(15, 45)))
            return True
    return False


def place_free(layout: Layout, drawing: Drawing, code: Code, rng: random.Random) -> bool:
    """A code on its own, usually with a pipe running beside it (and a valve symbol)."""
    w, h = box_extent(code.text, code.size, code.angle)
    for _ in range(3000):
        x0, y0 = random_point(rng, layout.area, w, h)
        extra = []
        bowtie = None
        if code.label == "valve" and code.angle == 0:
            # Valve symbol on the pipe just under the tag, right of the text.
            c = clearance(code.size)
            bx0, by = x0 + w + c + 3, y0 + h + c + 0.7
            bowtie = Box(bx0, by - 4, bx0 + 10, by + 4)
            extra.append(Item(bowtie, "graphic"))
        if try_place(layout, code, x0, y0, extra=extra):
            if bowtie is not None:
                drawing.bowties.append(bowtie)
            if bowtie is not None or rng.random() < 0.7:
                drawing.hosts.append(code)
            return True
    return False


# --------------------------------------------------------------------------
# Pipes: lines clipped so that they never cross a code
# --------------------------------------------------------------------------

PIPE_WIDTH = 0.8


def blockers(layout: Layout, drawing: Drawing) -> list[Box]:
    """Regions a line may not enter: codes and words (with clearance), shapes."""
    out = []
    for it in layout.items:
        if it.kind == "text":
            out.append(it.box.grow(clearance(it.size) + PIPE_WIDTH / 2 + 0.2))
        else:
            out.append(it.box)
    return out


def route_pipes(layout: Layout, drawing: Drawing, n_main: int, rng: random.Random) -> None:
    """Long process lines across the sheet, plus a pipe beside each host code."""
    area = layout.area
    raw = []
    for k in range(n_main):
        if k % 3 != 2:  # P&IDs run mostly horizontally
            y = rng.uniform(area.y0, area.y1)
            x = rng.uniform(area.x0, area.x1 - 100)
            raw.append((x, y, min(area.x1, x + rng.uniform(100, 0.6 * area.width)), y))
        else:
            x = rng.uniform(area.x0, area.x1)
            y = rng.uniform(area.y0, area.y1 - 80)
            raw.append((x, y, x, min(area.y1, y + rng.uniform(80, 0.6 * area.height))))
    for c in drawing.hosts:
        raw.append(_host_pipe(c, rng))
    blocks = blockers(layout, drawing)
    for x0, y0, x1, y1 in raw:
        seg = (max(x0, area.x0), max(y0, area.y0), min(x1, area.x1), min(y1, area.y1))
        drawing.pipes += clip_segment(seg, blocks)
    for seg in drawing.leaders[:]:
        drawing.leaders.remove(seg)
        drawing.leaders += clip_segment(seg, blocks, min_len=6.0)


def _host_pipe(c: Code, rng: random.Random):
    """A line just outside the code's clearance, under the text (baseline side)."""
    b, d = c.box, clearance(c.size) + PIPE_WIDTH / 2 + 0.3
    left, right = rng.uniform(10, 90), rng.uniform(10, 90)
    if c.angle == 0:
        y = b.y1 + d
        return (b.x0 - left, y, b.x1 + right, y)
    x = b.x1 + d
    return (x, b.y0 - left, x, b.y1 + right)


# --------------------------------------------------------------------------
# Building the drawing
# --------------------------------------------------------------------------

def assign_roles(codes: list[Code], rng: random.Random) -> None:
    """Decide which codes sit on seams, which are rotated, which go in bubbles."""
    n = len(codes)
    longs = [c for c in codes if c.text.split()[0] in LONG_VALVE_PREFIXES]
    plain = [c for c in codes if c not in longs]
    rng.shuffle(plain)
    n_seam = sum(1 for p in SEAM_PLAN if not p[3])
    seam = plain[:n_seam]
    for c in longs + seam:
        c.role = "seam"
    rest = plain[n_seam:]
    n_rot = round(ROTATED_SHARE * n) - sum(1 for p in SEAM_PLAN if p[2] == 90)
    for c in rest[:n_rot]:
        c.angle = 90
    for c in rest[n_rot:]:
        if c.label == "instrument" and rng.random() < 0.65:
            c.role = "bubble"
        elif c.label == "part" and rng.random() < 0.7:
            c.role = "equipment"


def build_drawing(sheet: Sheet, codes: list[Code], rng: random.Random) -> Drawing:
    """Place every code and shape without collisions, then route the pipes."""
    frame = PageFrame(sheet.width, sheet.height)
    layout = Layout(sheet.area, [sheet.title.grow(4 * MM), sheet.notes.grow(4 * MM)])
    drawing = Drawing(codes=codes)
    scale = (sheet.area.width * sheet.area.height) / (ISO_MM["A0"][0] * ISO_MM["A0"][1] * MM * MM)
    place_seam_codes(layout, codes, frame, rng)
    parts = [c for c in codes if c.role == "equipment"]
    place_equipment(layout, drawing, parts, max(len(parts), round(22 * scale)), rng)
    for c in codes:
        if c.role == "bubble" and not place_bubble(layout, drawing, c, rng):
            c.role = "free"
    for c in codes:
        if c.origin is None:
            c.role = "free"
            if not place_free(layout, drawing, c, rng):
                raise RuntimeError(f"no room for {c.text}")
    for c in codes:  # seam codes get pipes too; they are ordinary labels otherwise
        if c.role == "seam" and rng.random() < 0.5:
            drawing.hosts.append(c)
    route_pipes(layout, drawing, max(14, round(150 * scale)), rng)
    return drawing


def render_drawing(page: pymupdf.Page, drawing: Drawing) -> None:
    """Draw the shapes and codes onto ``page`` (vector, Helvetica)."""
    sh = page.new_shape()
    for r in drawing.rects:
        sh.draw_rect(pymupdf.Rect(r.x0, r.y0, r.x1, r.y1))
    sh.finish(width=1.0, color=INK)
    for cx, cy, r in drawing.circles:
        sh.draw_circle((cx, cy), r)
    sh.finish(width=0.6, color=INK)
    for x0, y0, x1, y1 in drawing.pipes:
        sh.draw_line((x0, y0), (x1, y1))
    sh.finish(width=PIPE_WIDTH, color=INK)
    for x0, y0, x1, y1 in drawing.leaders:
        sh.draw_line((x0, y0), (x1, y1))
    sh.finish(width=0.4, color=INK, dashes="[2 1.5] 0")
    for b in drawing.bowties:
        sh.draw_polyline([(b.x0, b.y0), (b.x1, b.y1), (b.x1, b.y0), (b.x0, b.y1), (b.x0, b.y0)])
    sh.finish(width=0.6, color=INK, fill=(1, 1, 1), closePath=True)
    for origin, text, size in drawing.words:
        sh.insert_text(origin, text, fontsize=size, fontname="helv", color=INK)
    for c in drawing.codes:
        sh.insert_text(c.origin, c.text, fontsize=c.size, fontname="helv",
                       color=INK, rotate=c.angle)
    sh.commit()
