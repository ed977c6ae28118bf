#!/usr/bin/env python3
"""Generate sample engineering drawings with exact ground truth for locator.

One run makes, for one ISO size and one seed:

* ``drawing-<size>.pdf`` — a born-digital vector P&ID-like drawing: border with
  zone marks, title block, equipment, pipes, instrument bubbles and 4.5-8 pt
  codes in Helvetica (about 12 % rotated 90 degrees, a dozen placed on the tile
  seams of the default grid);
* ``drawing-<size>.truth.csv`` — where every code is, read back from the PDF's
  own text layer (boxes in PDF points, origin top-left, unrotated page);
* ``drawing-<size>-scan<dpi>.pdf`` — the same drawing as an image-only scan
  (greyscale, blur, tint, noise, speckles, JPEG), same page size in points so
  the truth applies unchanged;
* ``sample-<size>.yaml`` — a pattern catalog for the locator CLI;
* with ``--symbols``: a sheet of small symbols (``symbols-<size>.*``), template
  PNGs under ``symbols/`` and ``symbols.yaml`` next to the catalog;
* with ``--symbol-sizes`` (only those): the symbol sizes sheets
  (``symsizes-<size>.*``: symbols at 0.8-1.25x a 10 pt example; ``symsizes14-<size>.*``:
  12, 14, 16 pt against a 14 pt example), plain and ``-noisy`` scans, examples
  under ``symsizes*/`` and catalogs without ``scales:``;
* with ``--pid`` (or ``--pid-only``): a P&ID sheet modelled on real ones
  (``pid-<size>.pdf``, ``pid-<size>.truth.csv``, grey and colour scans
  ``pid-<size>-scan<dpi>-grey.pdf`` / ``-colour.pdf``, catalog ``pid-<size>.yaml``):
  ISA-5.1 bubbles, turned valve tags, line numbers along pipes, hatching,
  nozzle marks, colour, a title block with a 31 pt drawing number.

Usage (from the repository root; see samples/README.md for the committed files)::

    python samples/make_samples.py --size A2 --scan-dpi 200 --out samples \\
        --patterns-dir patterns --seed 2

The same arguments give byte-identical files. The pieces live in the
``samplegen`` package next to this script.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import pymupdf
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for p in (REPO, HERE):  # runnable as a plain script from anywhere
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from locator.geometry import Box  # noqa: E402
from samplegen.drawing import (CODE_COUNT, PART_REGEX, SEAM_PLAN, assign_roles,  # noqa: E402
                               build_drawing, furniture_words, make_codes, render_drawing)
from samplegen.scan import make_scan  # noqa: E402
from samplegen.sheet import (ISO_MM, draw_furniture, make_sheet, save_pdf,  # noqa: E402
                             set_fixed_metadata)
from samplegen.truth import check_angles, check_boxes, read_truth, write_truth  # noqa: E402


def write_catalog(rows: list[dict], path: Path, source: str) -> None:
    """The locator catalog: every code as a literal, plus one regex for part numbers."""
    pats = [{"id": r["pattern_id"], "text": r["matched"], "label": r["label"]}
            for r in sorted(rows, key=lambda r: (r["label"], r["pattern_id"]))]
    pats.append({"id": "part-number", "regex": PART_REGEX, "label": "part"})
    header = (f"# Pattern catalog for {source}, written by samples/make_samples.py.\n"
              "# Every code on the sheet as a literal, plus a regex that also finds\n"
              "# the part numbers (their hits carry pattern_id 'part-number').\n")
    body = yaml.safe_dump({"defaults": {"min_score": 85}, "patterns": pats},
                          sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body)


def generate(size: str, out: Path, patterns_dir: Path, seed: int, scan_dpis: list[int],
             symbols: bool = False, check: bool = True) -> dict[str, Path]:
    """Make one size's drawing, truth, scans and catalog; return the paths written."""
    size, tag = size.upper(), size.lower()
    out.mkdir(parents=True, exist_ok=True)
    patterns_dir.mkdir(parents=True, exist_ok=True)
    # A string seed: random.Random hashes it the same way on every platform and run.
    rng = random.Random(f"locator-samples/{size}/{seed}")
    sheet = make_sheet(size, seed)
    codes = make_codes(rng, CODE_COUNT[size], n_long=sum(1 for p in SEAM_PLAN if p[3]),
                       forbidden=furniture_words(sheet))
    assign_roles(codes, rng)
    drawing = build_drawing(sheet, codes, rng)

    doc = pymupdf.open()
    page = doc.new_page(width=sheet.width, height=sheet.height)
    draw_furniture(page, sheet)
    render_drawing(page, drawing)
    rows = read_truth(page, codes)
    if check:
        check_angles(page, rows)
        check_boxes(page, rows)
    paths = {"pdf": out / f"drawing-{tag}.pdf", "truth": out / f"drawing-{tag}.truth.csv",
             "catalog": patterns_dir / f"sample-{tag}.yaml"}
    set_fixed_metadata(doc, f"Locator sample drawing {sheet.drawing_no}")
    save_pdf(doc, paths["pdf"])
    write_truth(rows, paths["truth"])
    write_catalog(rows, paths["catalog"], f"samples/drawing-{tag}*.pdf")
    keep_out = [Box(r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows]
    for dpi in scan_dpis:
        paths[f"scan{dpi}"] = out / f"drawing-{tag}-scan{dpi}.pdf"
        make_scan(paths["pdf"], paths[f"scan{dpi}"], dpi, seed, keep_out)
    if symbols:
        from samplegen.symbols import generate_symbols
        paths.update(generate_symbols(size, out, patterns_dir, seed, scan_dpis, check=check))
    return paths


def generate_pid(size: str, out: Path, patterns_dir: Path, seed: int,
                 scan_dpis: list[int], rotation: int = 0) -> dict[str, Path]:
    """Make the P&ID sheet, its truth, grey and colour scans and catalog; return the paths.

    The truth is checked as it is read: every code must read back from the
    text layer, alone, within 0.1 pt of where it was drawn. ``rotation``: the
    sheet and its scans get that /Rotate (files ``pid-<size>-rot<r>*``); the
    drawing and the truth, in unrotated page space, are the same as without.
    """
    from samplegen.pid import build_pid, render_pid
    from samplegen.pidtruth import read_pid_truth, write_pid_catalog, write_pid_truth

    size, tag = size.upper(), size.lower() + (f"-rot{rotation}" if rotation else "")
    out.mkdir(parents=True, exist_ok=True)
    patterns_dir.mkdir(parents=True, exist_ok=True)
    pid = build_pid(size, seed, random.Random(f"locator-samples/pid/{size}/{seed}"))
    doc = pymupdf.open()
    page = doc.new_page(width=pid.sheet.width, height=pid.sheet.height)
    render_pid(page, pid)
    rows = read_pid_truth(page, pid, rotation)  # raises unless every code reads back
    if rotation:
        page.set_rotation(rotation)
    paths = {"pid": out / f"pid-{tag}.pdf", "pid-truth": out / f"pid-{tag}.truth.csv",
             "pid-catalog": patterns_dir / f"pid-{tag}.yaml"}
    set_fixed_metadata(doc, f"Locator sample P&ID {pid.sheet.drawing_no}")
    save_pdf(doc, paths["pid"])
    write_pid_truth(rows, paths["pid-truth"])
    write_pid_catalog(rows, paths["pid-catalog"], f"samples/pid-{tag}*.pdf")
    keep_out = [Box(r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows]
    for dpi in scan_dpis:
        for mode in ("grey", "colour"):
            key = f"pid-scan{dpi}-{mode}"
            paths[key] = out / f"pid-{tag}-scan{dpi}-{mode}.pdf"
            make_scan(paths["pid"], paths[key], dpi, seed, keep_out, colour=mode == "colour",
                      rotation=rotation)
    return paths


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "samples" / "generated",
                   help="directory for PDFs and truth CSVs (default: samples/generated)")
    p.add_argument("--patterns-dir", type=Path, default=None,
                   help="directory for the catalog YAMLs (default: same as --out)")
    p.add_argument("--size", default="A2", type=str.upper, choices=sorted(ISO_MM))
    p.add_argument("--scan-dpi", type=int, nargs="+", default=[200],
                   help="one scan per DPI given (default: 200)")
    p.add_argument("--no-scan", action="store_true", help="vector PDF, truth and catalog only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--symbols", action="store_true", help="also make the symbols sheet")
    p.add_argument("--symbol-sizes", action="store_true",
                   help="make only the symbol sizes sheets (symsizes-<size>.*, symsizes14-<size>.*: "
                        "symbols at 0.8-1.25x their example's size, plain and noisy scans)")
    p.add_argument("--rescan-noisy", type=Path, default=None, metavar="PDF",
                   help="make only a noisy scan of this vector sheet (<stem>-scan<dpi>-noisy.pdf; "
                        "speckles kept off the boxes of <stem>.truth.csv next to it)")
    p.add_argument("--pid", action="store_true",
                   help="also make the P&ID sheet (pid-<size>.*, grey and colour scans)")
    p.add_argument("--pid-only", action="store_true",
                   help="make only the P&ID sheet (no drawing, no symbols)")
    p.add_argument("--pid-rotation", type=int, default=0, choices=(0, 90, 180, 270),
                   help="give the P&ID sheet and its scans this /Rotate (pid-<size>-rot<r>*)")
    p.add_argument("--no-check", action="store_true", help="skip the render-based box checks")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dpis = [] if args.no_scan else args.scan_dpi
    paths = {}
    if args.rescan_noisy:
        from samplegen.symsizes import rescan_noisy
        for dpi in dpis:
            paths[f"noisy scan{dpi}"] = rescan_noisy(args.rescan_noisy, args.out, dpi, args.seed)
    elif args.symbol_sizes:
        from samplegen.symsizes import SHEETS, generate_sizes
        for name in SHEETS:
            paths.update(generate_sizes(name, args.size, args.out, args.patterns_dir or args.out,
                                        args.seed, dpis, check=not args.no_check))
    elif not args.pid_only:
        paths = generate(args.size, args.out, args.patterns_dir or args.out, args.seed, dpis,
                         symbols=args.symbols, check=not args.no_check)
    if args.pid or args.pid_only:
        paths.update(generate_pid(args.size, args.out, args.patterns_dir or args.out,
                                  args.seed, dpis, rotation=args.pid_rotation))
    for kind, path in paths.items():
        size = f" ({path.stat().st_size / 1024:.0f} KiB)" if path.is_file() else ""
        print(f"{kind:>16}: {path}{size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
