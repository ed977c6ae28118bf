"""The symbols sheet (issue 9): small triangles and arrows with exact ground truth.

Four symbols — ``filled_triangle``, ``empty_triangle``, ``up_arrow``,
``down_arrow`` — at 6, 8, 12 and 16 pt in several rotations, scattered on an
ordinary sheet among pipes, boxes and circles. Also writes one template PNG per
symbol (drawn at 8 pt, rendered at 200 dpi) and ``symbols.yaml``.

Rotations are counter-clockwise as seen on the page, like text ``rotate=90``.
Arrows appear only at 0 and 90: an up arrow turned 180 *is* a down arrow, so
with all four rotations the two patterns would match the same shapes and every
arrow would count once right and once wrong. Between them the two arrow
patterns still cover all four directions (up = up_arrow 0, left = up_arrow 90,
down = down_arrow 0, right = down_arrow 90).

Boxes are the drawn geometry (stroke included: round joins and caps, so the
box is the vertices' box grown by half the line width), in PDF points, origin
top-left of the unrotated page.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import pymupdf
import yaml

from locator.geometry import Box, PageFrame

from .scan import make_scan
from .sheet import (INK, ISO_MM, MM, Item, Layout, clearance, clip_segment, draw_furniture,
                    make_sheet, random_point, save_pdf, seam_flags, set_fixed_metadata)
from .truth import ink_box, write_truth

SYMBOLS = ("filled_triangle", "empty_triangle", "up_arrow", "down_arrow")
SIZES_PT = (6.0, 8.0, 12.0, 16.0)
TEMPLATE_PT = 8.0
TEMPLATE_DPI = 200
ROTATIONS = {"filled_triangle": (0, 90, 180, 270), "empty_triangle": (0, 90, 180, 270),
             "up_arrow": (0, 90), "down_arrow": (0, 90)}
# Sets of (size x rotation) per symbol on the sheet; arrows have half the
# rotations, so they get each one twice: every symbol appears equally often.
COPIES = {"A3": 1, "A2": 1, "A1": 2, "A0": 2}
DISTRACTOR_WORDS = ("FLOW", "VENT", "DRAIN", "SUPPLY", "RETURN", "TO FLARE")


@dataclass(frozen=True)
class Symbol:
    """One drawn symbol: its strokes (page points), style and tight box."""

    name: str
    size: float
    angle: int
    strokes: tuple[tuple[tuple[float, float], ...], ...]
    closed: bool
    filled: bool
    width: float

    @property
    def box(self) -> Box:
        pts = [p for s in self.strokes for p in s]
        b = Box(min(x for x, _ in pts), min(y for _, y in pts),
                max(x for x, _ in pts), max(y for _, y in pts))
        return b.grow(self.width / 2)


def line_width(size: float) -> float:
    return max(0.5, size / 14)


def canonical_strokes(name: str, s: float) -> list[list[tuple[float, float]]]:
    """The symbol at rotation 0, centred on (0, 0), y down, ``s`` points tall."""
    if name.endswith("triangle"):
        h = s * math.sqrt(3) / 2  # equilateral, pointing up, side s
        return [[(0.0, -h / 2), (s / 2, h / 2), (-s / 2, h / 2)]]
    sign = -1.0 if name == "up_arrow" else 1.0  # where the head points
    tip = (0.0, sign * s / 2)
    barb = sign * (s / 2 - 0.35 * s)
    return [[(0.0, -sign * s / 2), tip], [(-0.3 * s, barb), tip, (0.3 * s, barb)]]


def rotate(p: tuple[float, float], angle: int) -> tuple[float, float]:
    """Turn ``p`` counter-clockwise *as seen* (the page's y axis points down)."""
    a = math.radians(angle)
    x, y = p
    return (x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a))


def make_symbol(name: str, size: float, angle: int, cx: float, cy: float) -> Symbol:
    strokes = tuple(tuple((cx + rx, cy + ry) for rx, ry in (rotate(p, angle) for p in s))
                    for s in canonical_strokes(name, size))
    return Symbol(name, size, angle, strokes, closed=name.endswith("triangle"),
                  filled=name == "filled_triangle", width=line_width(size))


def draw_symbol(sh: pymupdf.Shape, sym: Symbol) -> None:
    for stroke in sym.strokes:
        sh.draw_polyline(list(stroke))
    # Round joins and caps keep the stroke inside the vertices' box + width/2.
    sh.finish(width=sym.width, color=INK, fill=INK if sym.filled else None,
              closePath=sym.closed, lineJoin=1, lineCap=1)


def plan(size: str) -> list[tuple[str, float, int]]:
    """(name, size, angle) of every symbol on a sheet of ``size``."""
    out = []
    for _ in range(COPIES[size]):
        for name in SYMBOLS:
            rots = ROTATIONS[name] * (4 // len(ROTATIONS[name]))
            out += [(name, s, a) for s in SIZES_PT for a in rots]
    return out


def place_symbols(layout: Layout, wanted, rng: random.Random) -> list[Symbol]:
    """Scatter the symbols with a clear margin (symbols count as text-sized items)."""
    placed = []
    for name, s, a in wanted:
        for _ in range(5000):
            cx, cy = random_point(rng, layout.area.grow(-s), 0, 0)
            sym = make_symbol(name, s, a, round(cx, 2), round(cy, 2))
            unit = [Item(sym.box, "text", s)]
            if layout.fits(unit):
                layout.add(unit)
                placed.append(sym)
                break
        else:
            raise RuntimeError(f"no room for {name} {s} pt")
    return placed


def place_distractors(layout: Layout, rng: random.Random, scale: float):
    """Boxes, circles and words that are not symbols, so a matcher has something to reject."""
    rects, circles, words = [], [], []
    for k in range(max(6, round(40 * scale))):
        w, h = rng.uniform(20, 120), rng.uniform(15, 80)
        x0, y0 = random_point(rng, layout.area, w, h)
        body = Box(x0, y0, x0 + w, y0 + h)
        if k % 3 == 0:
            r = min(w, h) / 2
            body = Box(x0, y0, x0 + 2 * r, y0 + 2 * r)
        if layout.fits([Item(body, "graphic")]):
            layout.add([Item(body, "graphic")])
            (circles if k % 3 == 0 else rects).append(body)
    for _ in range(max(4, round(20 * scale))):
        text, ws = rng.choice(DISTRACTOR_WORDS), rng.choice((5.0, 6.0, 7.0))
        w = pymupdf.get_text_length(text, fontname="helv", fontsize=ws)
        x0, y0 = random_point(rng, layout.area, w, ws * 1.4)
        box = Box(x0, y0, x0 + w, y0 + ws * 1.374)
        if layout.fits([Item(box, "text", ws)]):
            layout.add([Item(box, "text", ws)])
            words.append(((x0, y0 + 1.075 * ws), text, ws))
    return rects, circles, words


def pipes(layout: Layout, rng: random.Random, n: int) -> list[tuple[float, float, float, float]]:
    """Random process lines, clipped around every symbol, word and shape."""
    area = layout.area
    blocks = [it.box.grow(clearance(it.size) + 0.6) if it.kind == "text" else it.box
              for it in layout.items]
    out = []
    for k in range(n):
        if k % 3 != 2:
            y, x = rng.uniform(area.y0, area.y1), rng.uniform(area.x0, area.x1 - 100)
            seg = (x, y, min(area.x1, x + rng.uniform(100, 0.5 * area.width)), y)
        else:
            x, y = rng.uniform(area.x0, area.x1), rng.uniform(area.y0, area.y1 - 80)
            seg = (x, y, x, min(area.y1, y + rng.uniform(80, 0.5 * area.height)))
        out += clip_segment(seg, blocks)
    return out


def truth_rows(symbols: list[Symbol], frame: PageFrame) -> list[dict]:
    rows = []
    for s in symbols:
        b = s.box
        rows.append({"pattern_id": s.name, "label": s.name, "matched": s.name, "page": 1,
                     "x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1, "size_pt": s.size,
                     "angle": s.angle, "on_seam": seam_flags(b, frame)})
    rows.sort(key=lambda r: (r["page"], round(r["y0"], 1), r["x0"]))
    return rows


def check_symbols(page: pymupdf.Page, rows: list[dict]) -> None:
    """Each truth box holds its symbol's ink tightly (within 0.4 pt) and nothing else near."""
    for r in rows:
        box = Box(r["x0"], r["y0"], r["x1"], r["y1"])
        ink = ink_box(page, box, clearance(r["size_pt"]) - 0.3, r["pattern_id"], tol=0.3)
        slack = max(ink.x0 - box.x0, ink.y0 - box.y0, box.x1 - ink.x1, box.y1 - ink.y1)
        assert slack < 0.4, f"{r['pattern_id']} at {box}: box {slack:.2f} pt loose"


def write_templates(patterns_dir: Path) -> dict[str, Path]:
    """One PNG per symbol: drawn at TEMPLATE_PT, rotation 0, rendered at TEMPLATE_DPI."""
    folder = patterns_dir / "symbols"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in SYMBOLS:
        sym = make_symbol(name, TEMPLATE_PT, 0, 0.0, 0.0)
        clip = sym.box.grow(1.0)  # 1 pt of paper around it, ~3 px
        doc = pymupdf.open()
        page = doc.new_page(width=clip.width, height=clip.height)
        sym = make_symbol(name, TEMPLATE_PT, 0, -clip.x0, -clip.y0)
        sh = page.new_shape()
        draw_symbol(sh, sym)
        sh.commit()
        path = folder / f"{name}.png"
        page.get_pixmap(dpi=TEMPLATE_DPI, colorspace=pymupdf.csGRAY, alpha=False).save(path)
        out[f"template {name}"] = path
    return out


def write_symbol_catalog(path: Path) -> None:
    scales = [s / TEMPLATE_PT for s in SIZES_PT]
    pats = [{"id": n, "symbol": f"symbols/{n}.png", "label": n, "min_score": 80,
             "scales": list(scales), "rotations": list(ROTATIONS[n])} for n in SYMBOLS]
    header = (
        "# Symbol catalog for samples/symbols-*.pdf,"
        " written by samples/make_samples.py --symbols.\n"
        f"# Templates: each symbol drawn at {TEMPLATE_PT:g} pt, rendered at {TEMPLATE_DPI} dpi,"
        " 1 pt of paper around it.\n"
        "# scales are relative to the template (the sheet has "
        + ", ".join(f"{s:g}" for s in SIZES_PT) + " pt symbols).\n"
        "# Rotations are counter-clockwise as seen. Arrows list only 0 and 90: an up arrow\n"
        "# turned 180 is a down arrow. Up = up_arrow 0, left = up_arrow 90,\n"
        "# down = down_arrow 0, right = down_arrow 90.\n")
    body = yaml.safe_dump({"defaults": {"min_score": 80}, "patterns": pats},
                          sort_keys=False, default_flow_style=None, width=100)
    path.write_text(header + body)


def draw_symbol_sheet(sheet, layout, symbols, rng: random.Random, check: bool = True):
    """The sheet with ``symbols`` drawn among distractors (boxes, circles, words,
    pipes) and the drawing's furniture: the document and its truth rows."""
    scale = (sheet.area.width * sheet.area.height) / (ISO_MM["A0"][0] * ISO_MM["A0"][1] * MM * MM)
    rects, circles, words = place_distractors(layout, rng, scale)
    lines = pipes(layout, rng, max(14, round(120 * scale)))

    doc = pymupdf.open()
    page = doc.new_page(width=sheet.width, height=sheet.height)
    draw_furniture(page, sheet)
    sh = page.new_shape()
    for r in rects:
        sh.draw_rect(pymupdf.Rect(r.x0, r.y0, r.x1, r.y1))
    for c in circles:
        sh.draw_circle(c.center, c.width / 2)
    sh.finish(width=0.8, color=INK)
    for x0, y0, x1, y1 in lines:
        sh.draw_line((x0, y0), (x1, y1))
    sh.finish(width=0.8, color=INK)
    for sym in symbols:
        draw_symbol(sh, sym)
    for origin, text, ws in words:
        sh.insert_text(origin, text, fontsize=ws, fontname="helv", color=INK)
    sh.commit()

    rows = truth_rows(symbols, PageFrame(sheet.width, sheet.height))
    if check:
        check_symbols(page, rows)
    return doc, rows


def generate_symbols(size: str, out: Path, patterns_dir: Path, seed: int,
                     scan_dpis: list[int], check: bool = True) -> dict[str, Path]:
    """Make the symbols sheet, its truth and scans, the templates and the catalog."""
    size, tag = size.upper(), size.lower()
    rng = random.Random(f"locator-symbols/{size}/{seed}")
    sheet = make_sheet(size, seed, kind="SYM", subject="SYMBOL RECOGNITION TEST SHEET")
    layout = Layout(sheet.area, [sheet.title.grow(4 * MM), sheet.notes.grow(4 * MM)])
    symbols = place_symbols(layout, plan(size), rng)
    doc, rows = draw_symbol_sheet(sheet, layout, symbols, rng, check)
    paths = {"symbols pdf": out / f"symbols-{tag}.pdf",
             "symbols truth": out / f"symbols-{tag}.truth.csv",
             "symbols catalog": patterns_dir / "symbols.yaml"}
    set_fixed_metadata(doc, f"Locator symbols sheet {sheet.drawing_no}")
    save_pdf(doc, paths["symbols pdf"])
    write_truth(rows, paths["symbols truth"])
    write_symbol_catalog(paths["symbols catalog"])
    paths.update(write_templates(patterns_dir))
    keep_out = [Box(r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows]
    for dpi in scan_dpis:
        paths[f"symbols scan{dpi}"] = out / f"symbols-{tag}-scan{dpi}.pdf"
        make_scan(paths["symbols pdf"], paths[f"symbols scan{dpi}"], dpi, seed, keep_out)
    return paths
