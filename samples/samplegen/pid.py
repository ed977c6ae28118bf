"""A generated P&ID sheet with what real ones have and ``drawing.py``'s sheets lack.

Modelled on the DEXPI examples (09, 10, 11, 15 in the shared real documents):
ISA-5.1 instrument bubbles (letters over the loop number; circle, circle with
a bar, circle in a box, hexagon, diamond in a box; upright and turned 90/270),
valve tags turned beside bow-tie valves, long line numbers along pipes and
inline on them, hatched boxes with a tag, tags in hexagons, vessels with
two-character nozzle marks and a large equipment tag, coloured text and lines,
and a title block with a 31 pt drawing number and 3 pt small print. Unlike
``drawing.py``, text comes as close to line art as real sheets put it (digits
touch bubble outlines, tags sit 1 pt from a valve).

Each symbol with its texts and pipes is one *unit*, placed where it keeps the
:class:`~samplegen.sheet.Layout` gaps from every other unit; background pipes
come last and are cut where they would cross a unit.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

import pymupdf

from locator.geometry import Box

from .pidshapes import (BLACK, Bubble, Label, Stroke, bowtie, bubble, bubble_extent, draw,
                        hatched_box, hexagon_around, line, to_page, vessel)
from .pidvocab import (COLOURS, LOOP_LETTERS, SHAPES, Numbering, drawing_number,
                       equipment_tag, hatch_tag, hex_tag, line_number, loop_tag,
                       title_small_codes, valve_tag)
from .sheet import (ASC, CAP, DESC, ISO_MM, MM, Item, Layout, Sheet, clearance, clip_segment,
                    draw_frame, make_sheet, random_point, text_width)

#: How many of each unit an A1 sheet gets; other sizes scale by area, with a floor
#: so that an A3 still has every variant.
COUNTS_A1 = {"bubble": 30, "valve": 30, "line": 20, "hatch": 6, "hex": 8, "vessel": 4}
FLOORS = {"bubble": 12, "valve": 6, "line": 8, "hatch": 2, "hex": 3, "vessel": 2}

PIPE = 0.8
C = COLOURS


def bubble_angle(i: int) -> int:
    """The direction of bubble ``i`` (its shape is ``i % 5``).

    The first five are upright; after that about half are turned, 90 or 270,
    the pattern shifting by one shape every five, so any 25 consecutive from
    the start have every shape upright, at 90 and at 270.
    """
    if i < 5:
        return 0
    return {1: 90, 3: 270}.get((i % 5 + i // 5) % 4, 0)


@dataclass
class Unit:
    """A symbol with its labels and pipes, placed as one."""

    items: list[Item] = field(default_factory=list)
    strokes: list[Stroke] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    bubbles: list[Bubble] = field(default_factory=list)

    def add_strokes(self, *strokes: Stroke) -> None:
        self.strokes += strokes
        self.items += [Item(s.box, "graphic") for s in strokes]

    def add_labels(self, *labels: Label) -> None:
        self.labels += labels
        self.items += [Item(lb.box, "text", lb.size) for lb in labels]


@dataclass
class PidSheet:
    """Everything drawn on a P&ID sheet."""

    sheet: Sheet
    strokes: list[Stroke] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    bubbles: list[Bubble] = field(default_factory=list)

    def take(self, unit: Unit) -> None:
        self.strokes += unit.strokes
        self.labels += unit.labels
        self.bubbles += unit.bubbles


def pick(rng: random.Random, *names: str) -> tuple[float, float, float]:
    return C[rng.choice(names)]


# --------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------

def bubble_unit(rng, x, y, letters, number, shape, angle, group) -> Unit:
    s = rng.choice((5.0, 5.5, 6.0, 7.0, 8.0))
    snug = rng.uniform(0.95, 1.15)
    colour = pick(rng, "green", "green", "lime", "black")
    text_colour = rng.choice((BLACK, BLACK, colour))
    b = bubble(x, y, letters, number, shape, angle, s, snug, colour, text_colour, group,
               bar=shape in ("box", "diamond") and rng.random() < 0.5)
    u = Unit(bubbles=[b])
    u.add_strokes(*b.strokes)
    u.labels += [b.letters, b.number]  # inside the outline: the outline's item covers them
    if rng.random() < 0.7:  # a dashed signal line leaving from the bottom (text frame)
        e = bubble_extent(letters, number, shape, s, snug)
        a = to_page(x, y, 0, e, angle)
        z = to_page(x, y, 0, e + rng.uniform(12, 40), angle)
        u.add_strokes(line(a, z, colour=colour, width=0.4, dashes="[3 2] 0"))
    return u


def valve_unit(rng, x, y, tag) -> Unit:
    """A bow-tie valve on a pipe; its tag turned beside it (vertical pipe) or above."""
    s = rng.uniform(3.8, 5.0)
    vertical = rng.random() < 0.7
    gap = rng.uniform(0.8, 2.5)
    w = text_width(tag, s)
    l1, l2 = rng.uniform(15, 60), rng.uniform(15, 60)
    pipe_c = pick(rng, "black", "black", "red")
    tag_c = pick(rng, "black", "cyan", "blue", "black")
    u = Unit()
    u.add_strokes(*bowtie(x, y, vertical, pick(rng, "olive", "yellow", "cyan"), (1, 1, 1)))
    if vertical:
        u.add_strokes(line((x, y - 5 - l1), (x, y - 5), colour=pipe_c, width=PIPE),
                      line((x, y + 5), (x, y + 5 + l2), colour=pipe_c, width=PIPE))
        u.add_labels(replace(Label(tag, s, 90, (x - 3.5 - gap - DESC * s, y + w / 2), tag_c),
                             feature="valve", label="valve", role="code"))
        if rng.random() < 0.5:  # a pipe size on the other side, as on sheet 15
            word = rng.choice(("25", "50", "100"))
            u.add_labels(Label(word, s, 90, (x + 3.5 + gap + ASC * s,
                                             y + text_width(word, s) / 2)))
    else:
        u.add_strokes(line((x - 5 - l1, y), (x - 5, y), colour=pipe_c, width=PIPE),
                      line((x + 5, y), (x + 5 + l2, y), colour=pipe_c, width=PIPE))
        u.add_labels(Label(tag, s, 0, (x - w / 2, y - 3.5 - gap - DESC * s), tag_c,
                           "valve", "valve", "code"))
        if rng.random() < 0.5:
            word = rng.choice(("25", "50", "100"))
            u.add_labels(Label(word, s, 0, (x - text_width(word, s) / 2,
                                            y + 3.5 + gap + ASC * s)))
    return u


def line_unit(rng, x, y, text, vertical: bool, inline: bool) -> Unit:
    """A line number along a pipe (just above it) or inline (the pipe stops at its ends)."""
    s = rng.uniform(5.0, 7.0)
    w = text_width(text, s)
    l1, l2 = rng.uniform(15, 80), rng.uniform(15, 80)
    width = rng.choice((PIPE, PIPE, 1.4))
    pipe_c = pick(rng, "black", "black", "black", "red", "blue")
    colour = pick(rng, "black", "black", "blue", "green")
    feature = "line-on-pipe" if inline else "line"
    g = rng.uniform(0.6, 1.5) if inline else rng.uniform(0.3, 1.5) + width / 2
    # Text frame: u along the pipe from the text's start, v across (descent side +).
    base = CAP * s / 2 if inline else -g - DESC * s
    angle = 90 if vertical else 0
    start = (x, y + w) if vertical else (x, y)  # the text's start; reading upward when turned

    def at(u: float, v: float):
        return (start[0] + v, start[1] - u) if vertical else (start[0] + u, start[1] + v)

    u = Unit()
    label = Label(text, s, angle, at(0, base), colour, feature, "line", "code")
    if inline:
        u.add_strokes(line(at(-l1, 0), at(-g, 0), colour=pipe_c, width=width),
                      line(at(w + g, 0), at(w + l2, 0), colour=pipe_c, width=width))
    else:
        u.add_strokes(line(at(-l1, 0), at(w + l2, 0), colour=pipe_c, width=width))
    u.add_labels(label)
    return u


def hatch_unit(rng, x, y, tag) -> Unit:
    """A hatched box (heat tracing, insulation) with its tag beside or above."""
    s = rng.uniform(5.0, 7.0)
    bw, bh = rng.uniform(20, 40), rng.uniform(5, 9)
    box = Box(x, y, x + bw, y + bh)
    colour = pick(rng, "black", "black", "red")
    u = Unit()
    u.add_strokes(*hatched_box(box, rng.uniform(1.8, 3.0), colour))
    piped = rng.random() < 0.5
    if piped:  # the pipe runs through the hatching, the tag goes above
        cy = box.center[1]
        u.add_strokes(line((x - rng.uniform(15, 50), cy), (x, cy), width=PIPE),
                      line((box.x1, cy), (box.x1 + rng.uniform(15, 50), cy), width=PIPE))
    w = text_width(tag, s)
    gap = rng.uniform(1.0, 2.5)
    if piped or rng.random() < 0.4:
        origin = (box.center[0] - w / 2, box.y0 - gap - DESC * s)
    else:
        origin = (box.x1 + gap, box.center[1] + CAP * s / 2)
    u.add_labels(Label(tag, s, 0, origin, pick(rng, "black", "black", "cyan"), "hatch", "tag",
                       "code"))
    return u


def hex_unit(rng, x, y, tag) -> Unit:
    s = rng.uniform(5.0, 7.0)
    colour = pick(rng, "black", "green", "blue")
    label = Label(tag, s, 0, (x, y + CAP * s / 2), colour, "hexagon", "tag", "code")
    hexa = hexagon_around(label, rng.uniform(0.4, 1.2), colour)
    u = Unit()
    u.add_strokes(hexa)
    u.labels.append(label)  # inside the hexagon
    if rng.random() < 0.6:
        left = hexa.points[0]
        u.add_strokes(line((left[0] - rng.uniform(15, 50), left[1]), left, colour=colour,
                           width=0.4, dashes="[3 2] 0"))
    return u


def vessel_unit(rng, x, y, tag, scale: float) -> Unit:
    """A vessel with a large equipment tag and nozzles N1..Nk with their marks."""
    bw, bh = rng.uniform(50, 90) * scale, rng.uniform(110, 180) * scale
    body = Box(x, y, x + bw, y + bh)
    colour = pick(rng, "red", "red", "black", "lime")
    u = Unit()
    u.add_strokes(*vessel(body, colour))
    s_tag = min(rng.uniform(12, 28), (bw - 10) / text_width(tag, 1.0))
    w = text_width(tag, s_tag)
    cx, cy = body.center
    u.labels.append(Label(tag, s_tag, 0, (cx - w / 2, cy + CAP * s_tag / 2),
                          pick(rng, "red", "black"), "equipment", "equipment", "code"))
    sides = ["left", "right", "top"] + [rng.choice(("left", "right", "top"))
                                        for _ in range(rng.randint(0, 3))]
    rng.shuffle(sides)
    used = {"left": [], "right": [], "top": []}
    for k, side in enumerate(sides, start=1):
        _nozzle(rng, u, body, side, f"N{k}", colour, used[side])
    return u


def _nozzle(rng, u: Unit, body: Box, side: str, mark: str, colour, used: list[float]) -> None:
    s = rng.uniform(3.5, 5.0)
    wm = text_width(mark, s)
    text_c = rng.choice((colour, BLACK))
    for _ in range(50):
        if side == "top":
            t = rng.uniform(0.2, 0.8)
            pos = body.x0 + t * body.width
        else:
            pos = rng.uniform(body.y0 + 0.2 * body.height, body.y1 - 0.2 * body.height)
        if all(abs(pos - p) > 14 for p in used):
            break
    else:
        return
    used.append(pos)
    if side == "top":
        dome = 0.12 * body.height
        top = body.y0 + dome * (1 - math.sin(math.pi * t))
        a, b = (pos, top), (pos, top - 13)  # long enough that the mark clears the tick
        tick = line((pos - 3, top - 13), (pos + 3, top - 13), colour=colour, width=0.5)
        # Beside the stub on the side where the head falls away, clear of its curve.
        outward = -1 if t < 0.5 else 1
        if rng.random() < 0.5:  # turned, as on sheet 09
            across = (ASC + DESC) * s
            x = pos + 1.5 + ASC * s if outward > 0 else pos - 1.5 - across + ASC * s
            lb = Label(mark, s, 90, (x, top - 2.5), text_c)
        else:
            x = pos + 1.5 if outward > 0 else pos - 1.5 - wm
            lb = Label(mark, s, 0, (x, top - 2.5 - DESC * s), text_c)
    else:
        x_side = body.x0 if side == "left" else body.x1
        end = x_side - 10 if side == "left" else x_side + 10
        a, b = (x_side, pos), (end, pos)
        tick = line((end, pos - 3), (end, pos + 3), colour=colour, width=0.5)
        lx = min(x_side, end) + (10 - wm) / 2
        lb = Label(mark, s, 0, (lx, pos - 1.5 - DESC * s), text_c)
    u.add_strokes(line(a, b, colour=colour, width=0.6), tick)
    u.add_labels(replace(lb, feature="nozzle", label="nozzle", role="code"))


# --------------------------------------------------------------------------
# Title block: a 31 pt drawing number and 3-5 pt small print
# --------------------------------------------------------------------------

TITLE_H_MM = 70


def pid_sheet(size: str, seed: int) -> Sheet:
    """The sheet: ISO frame and zones, a taller title block, no notes block."""
    sheet = make_sheet(size, seed, kind="PID")
    f = sheet.frame
    title = Box(f.x1 - 180 * MM, f.y1 - TITLE_H_MM * MM, f.x1, f.y1)
    return replace(sheet, title=title, notes=Box(title.x0, title.y0, title.x0, title.y0))


def title_block(sheet: Sheet, num: Numbering) -> Unit:
    """Cells with 3-4 pt headings, the drawing number at 31 pt, small codes at 3-4.5 pt."""
    t = sheet.title
    rows = [t.y0 + v * MM for v in (0, 14, 36, 50, TITLE_H_MM)]
    u = Unit()
    cell = dict(width=0.5)
    u.strokes.append(Stroke(((t.x0, t.y0), (t.x1, t.y0), (t.x1, t.y1), (t.x0, t.y1)),
                            width=1.0, closed=True))
    for y in rows[1:-1]:
        u.strokes.append(line((t.x0, y), (t.x1, y), **cell))
    cols = [t.x0 + v * MM for v in (0, 45, 90, 135, 180)]
    for x in cols[1:-1]:
        u.strokes.append(line((x, rows[2]), (x, rows[3]), **cell))

    def head(x: float, y: float, text: str, s: float = 3.0) -> Label:  # a cell's heading
        return Label(text, s, 0, (x + 1.5 * MM, y + 1.2 * MM + ASC * s))

    u.labels += [Label("LOCATOR SAMPLE WORKS", 10.0, 0, (t.x0 + 4 * MM, rows[0] + 9 * MM)),
                 Label("P&IDs", 9.0, 0, (t.x0 + 110 * MM, rows[0] + 9 * MM)),
                 head(t.x0, rows[1], "Drawing-No.", 3.5)]
    dwg = drawing_number(num, sheet.size_name)
    s = 31.0
    u.labels.append(Label(dwg, s, 0, (t.x0 + 8 * MM, rows[2] - 2.5 * MM - DESC * s), BLACK,
                          "title", "drawing", "code"))
    names = ("File Name", "Plant", "Project", "Standard")
    for k, (code, name) in enumerate(zip(title_small_codes(num, dwg), names)):
        size = (3.0, 3.5, 4.0, 4.5)[k]
        u.labels += [head(cols[k], rows[2], name),
                     Label(code, size, 0, (cols[k] + 1.5 * MM, rows[2] + 9 * MM), BLACK,
                           "title-small", "drawing", "code")]
    for i, words in enumerate((("Rev.", "Date", "Description", "Drawn", "Checked"),
                               ("A", "2024-05-17", "FIRST ISSUE", "A. NOVAK", "R. OKAFOR"),
                               ("B", "2024-09-02", "BUBBLES ADDED", "A. NOVAK", "M. LINDQVIST"))):
        for j, w in enumerate(words):
            x = t.x0 + (2 + (0, 12, 34, 90, 130)[j]) * MM
            u.labels.append(Label(w, 3.0, 0, (x, rows[3] + (4 + 5 * i) * MM)))
    return u


# --------------------------------------------------------------------------
# Placing units and routing the background pipes
# --------------------------------------------------------------------------

def place(layout: Layout, build, rng: random.Random, tries: int = 3000) -> Unit | None:
    """Build the unit at random points until one fits; add it to the layout."""
    area = layout.area
    for _ in range(tries):
        x, y = random_point(rng, area, 0, 0)
        unit = build(x, y)
        if layout.fits(unit.items):
            layout.add(unit.items)
            return unit
    return None


def counts(size: str) -> dict[str, int]:
    w, h = ISO_MM[size]
    scale = (w * h) / (ISO_MM["A1"][0] * ISO_MM["A1"][1])
    return {k: max(FLOORS[k], round(v * scale)) for k, v in COUNTS_A1.items()}


def _bubble_plan(num: Numbering, n: int) -> list[tuple[str, str]]:
    """(letters, number) per bubble; about one in seven shares a loop with an earlier one."""
    rng, out, tags = num.rng, [], set()
    while len(out) < n:
        if out and rng.random() < 0.15:
            letters0, number = rng.choice(out)
            mates = [x for x in LOOP_LETTERS if x[0] == letters0[0] and x != letters0]
            if not number[0].isalpha() or not mates:
                continue
            letters = rng.choice(mates)
        else:
            letters, number = loop_tag(num)
        if f"{letters}-{number}" not in tags:
            tags.add(f"{letters}-{number}")
            out.append((letters, number))
    return out


def place_units(layout: Layout, pid: PidSheet, num: Numbering, size: str) -> None:
    rng, n = num.rng, counts(size)
    scale = 1.0 if size in ("A0", "A1") else 0.75
    plan = []
    for i, (letters, number) in enumerate(_bubble_plan(num, n["bubble"])):
        plan.append(lambda x, y, i=i, lt=letters, nb=number: bubble_unit(
            rng, x, y, lt, nb, SHAPES[i % 5], bubble_angle(i), i))
    for _ in range(n["vessel"]):
        tag = equipment_tag(num)
        plan.append(lambda x, y, t=tag: vessel_unit(rng, x, y, t, scale))
    for i in range(n["line"]):
        text = line_number(num)
        plan.append(lambda x, y, t=text, i=i: line_unit(rng, x, y, t, i % 2 == 1, i % 4 >= 2))
    plan += [lambda x, y, t=valve_tag(num): valve_unit(rng, x, y, t) for _ in range(n["valve"])]
    plan += [lambda x, y, t=hatch_tag(num): hatch_unit(rng, x, y, t) for _ in range(n["hatch"])]
    plan += [lambda x, y, t=hex_tag(num): hex_unit(rng, x, y, t) for _ in range(n["hex"])]
    for build in plan:  # big units first (the plan's order), small ones into the gaps
        unit = place(layout, build, rng)
        if unit is None:
            raise RuntimeError("no room left on the sheet; use a larger size")
        pid.take(unit)


def background_pipes(layout: Layout, pid: PidSheet, rng: random.Random, n: int) -> None:
    """Long process and signal lines, cut wherever they would cross or crowd a unit."""
    area = layout.area
    blocks = [it.box.grow(clearance(it.size) + 1.0) if it.kind == "text" else it.box.grow(1.5)
              for it in layout.items]
    for k in range(n):
        if k % 3 != 2:
            y = rng.uniform(area.y0, area.y1)
            x = rng.uniform(area.x0, area.x1 - 100)
            seg = (x, y, min(area.x1, x + rng.uniform(100, 0.6 * area.width)), y)
        else:
            x = rng.uniform(area.x0, area.x1)
            y = rng.uniform(area.y0, area.y1 - 80)
            seg = (x, y, x, min(area.y1, y + rng.uniform(80, 0.6 * area.height)))
        signal = rng.random() < 0.3
        style = (dict(colour=pick(rng, "green", "lime"), width=0.4, dashes="[4 3] 0") if signal
                 else dict(colour=pick(rng, "black", "black", "red"),
                           width=rng.choice((PIPE, 1.4))))
        for x0, y0, x1, y1 in clip_segment(seg, blocks):
            pid.strokes.append(line((x0, y0), (x1, y1), **style))


def build_pid(size: str, seed: int, rng: random.Random) -> PidSheet:
    """Lay out a whole P&ID sheet (nothing drawn yet)."""
    sheet = pid_sheet(size, seed)
    num = Numbering(rng)
    layout = Layout(sheet.area, [sheet.title.grow(4 * MM)])
    pid = PidSheet(sheet)
    pid.take(title_block(sheet, num))
    place_units(layout, pid, num, size)
    w, h = ISO_MM[size]
    background_pipes(layout, pid, rng, max(12, round(60 * w * h / (841 * 594))))
    return pid


def render_pid(page: pymupdf.Page, pid: PidSheet) -> None:
    """Frame and zones, then every stroke, then every label."""
    draw_frame(page, pid.sheet)
    draw(page, pid.strokes, pid.labels)
