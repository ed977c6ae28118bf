"""The symbol sizes sheets (issue 20): symbols drawn around their example's size, scanned.

The four symbols of :mod:`.symbols` (filled and empty triangles, up and down
arrows) drawn at a few sizes relative to one *example size* -- 0.8, 0.9, 1.0,
1.1 and 1.25 x a 10 pt example on the ``symsizes`` sheet, 12, 14 and 16 pt
against a 14 pt example on ``symsizes14`` (the case issue 20 reports) -- in
every rotation of :data:`.symbols.ROTATIONS`, among pipes, boxes, circles and
words. Each sheet is scanned at 200 dpi with the generator's ordinary scanner
noise and again with :data:`NOISY` (heavier blur, noise, grain, tint, speckles
and JPEG).

The examples are the symbols drawn at the example size, rotation 0, rendered
at 200 dpi, and the catalog lists them as a user who does not know the sizes
writes it: no ``scales:``.
"""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf
import yaml

from locator.geometry import Box

from .scan import ScanStyle, make_scan
from .sheet import (MM, Layout, make_sheet, save_pdf,
                    set_fixed_metadata)
from .symbols import (ROTATIONS, SYMBOLS, TEMPLATE_DPI, draw_symbol, draw_symbol_sheet, make_symbol,
                      place_symbols)
from .truth import write_truth

# name -> (example size in pt, sizes drawn as factors of it)
SHEETS = {
    "symsizes": (10.0, (0.8, 0.9, 1.0, 1.1, 1.25)),
    "symsizes14": (14.0, (12 / 14, 1.0, 16 / 14)),
}
#: The noisier scan: the "tougher scan" of bench/README-symbols.md.
NOISY = ScanStyle(blur_px_at_200=1.0, noise_sigma=8, grain_sigma=6, tint_amp=12,
                  speckles_per_sq_inch=2, jpeg_quality=50)


def plan(base_pt: float, factors: tuple[float, ...]) -> list[tuple[str, float, int]]:
    """(name, size, angle) of every symbol: each size in every rotation; arrows
    (two rotations) twice, so every symbol appears equally often."""
    out = []
    for name in SYMBOLS:
        rots = ROTATIONS[name] * (4 // len(ROTATIONS[name]))
        out += [(name, round(base_pt * f, 3), a) for f in factors for a in rots]
    return out


def write_examples(folder: Path, base_pt: float) -> dict[str, Path]:
    """One PNG per symbol drawn at ``base_pt``, rotation 0, at TEMPLATE_DPI, 1 pt of paper around."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in SYMBOLS:
        clip = make_symbol(name, base_pt, 0, 0.0, 0.0).box.grow(1.0)
        doc = pymupdf.open()
        page = doc.new_page(width=clip.width, height=clip.height)
        sh = page.new_shape()
        draw_symbol(sh, make_symbol(name, base_pt, 0, -clip.x0, -clip.y0))
        sh.commit()
        path = folder / f"{name}.png"
        page.get_pixmap(dpi=TEMPLATE_DPI, colorspace=pymupdf.csGRAY, alpha=False).save(path)
        out[f"example {folder.name}/{name}"] = path
    return out


def write_catalog(path: Path, folder: str, base_pt: float) -> None:
    """The catalog as a user writes it: example, label, rotations -- no scales."""
    pats = [{"id": n, "symbol": f"{folder}/{n}.png", "label": n,
             "rotations": list(ROTATIONS[n])} for n in SYMBOLS]
    header = (f"# Symbol catalog for samples/{path.stem}-*.pdf, written by"
              " samples/make_samples.py --symbol-sizes.\n"
              f"# Examples drawn at {base_pt:g} pt, rendered at {TEMPLATE_DPI} dpi; no scales:"
              " the default range.\n")
    body = yaml.safe_dump({"defaults": {"min_score": 80}, "patterns": pats},
                          sort_keys=False, default_flow_style=None, width=100)
    path.write_text(header + body)


def generate_sizes(name: str, size: str, out: Path, patterns_dir: Path, seed: int,
                   scan_dpis: list[int], check: bool = True) -> dict[str, Path]:
    """One sizes sheet (:data:`SHEETS` ``name``): PDF, truth, plain and noisy scans,
    examples and catalog."""
    base_pt, factors = SHEETS[name]
    out.mkdir(parents=True, exist_ok=True)  # a fresh --out / --patterns-dir
    patterns_dir.mkdir(parents=True, exist_ok=True)
    size, tag = size.upper(), f"{name}-{size.lower()}"
    rng = random.Random(f"locator-{name}/{size}/{seed}")
    sheet = make_sheet(size, seed, kind="SYM", subject="SYMBOL SIZES TEST SHEET")
    layout = Layout(sheet.area, [sheet.title.grow(4 * MM), sheet.notes.grow(4 * MM)])
    symbols = place_symbols(layout, plan(base_pt, factors), rng)
    doc, rows = draw_symbol_sheet(sheet, layout, symbols, rng, check)
    paths = {f"{name} pdf": out / f"{tag}.pdf", f"{name} truth": out / f"{tag}.truth.csv",
             f"{name} catalog": patterns_dir / f"{name}.yaml"}
    set_fixed_metadata(doc, f"Locator symbol sizes sheet {sheet.drawing_no}")
    save_pdf(doc, paths[f"{name} pdf"])
    write_truth(rows, paths[f"{name} truth"])
    write_catalog(paths[f"{name} catalog"], name, base_pt)
    paths.update(write_examples(patterns_dir / name, base_pt))
    keep_out = [Box(r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows]
    for dpi in scan_dpis:
        for style, suffix in ((ScanStyle(), ""), (NOISY, "-noisy")):
            key = f"{name} scan{dpi}{suffix}"
            paths[key] = out / f"{tag}-scan{dpi}{suffix}.pdf"
            make_scan(paths[f"{name} pdf"], paths[key], dpi, seed, keep_out, style)
    return paths


def rescan_noisy(vector_pdf: Path, out: Path, dpi: int, seed: int) -> Path:
    """A :data:`NOISY` scan of a generated sheet (``<stem>-scan<dpi>-noisy.pdf`` in
    ``out``), speckles kept off the boxes of its ``<stem>.truth.csv``."""
    import csv

    truth = vector_pdf.with_name(f"{vector_pdf.stem}.truth.csv")
    with open(truth, newline="") as f:
        keep_out = [Box(float(r["x0"]), float(r["y0"]), float(r["x1"]), float(r["y1"]))
                    for r in csv.DictReader(f)]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{vector_pdf.stem}-scan{dpi}-noisy.pdf"
    make_scan(vector_pdf, path, dpi, seed, keep_out, NOISY)
    return path
