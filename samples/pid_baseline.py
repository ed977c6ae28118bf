#!/usr/bin/env python3
"""How many of a generated P&ID's codes locator finds today, per feature (a report, not a test).

Generates the P&ID sheet (``make_samples.py --pid-only``) with grey and colour
scans at ``--dpi``, then runs :func:`locator.locate` with the sheet's own
catalog three times: on the born-digital PDF with ``source="text"``, and with
``source="ocr"`` (Tesseract) on the grey and on the colour scan. A code counts
as found when a hit with its ``matched`` has its centre within 2 pt of the
code's truth box (issue 20's rule); a hit on no occurrence of its code is
false. A last column says how many are legible at all: Tesseract (``--psm 7``)
on a tight crop of each code from the colour scan (its truth box and 1.5 pt
around, at 400 dpi, darkest channel, turned upright), read as the code up to
O/0 and I/l/1. Prints a Markdown
table for samples/README.md.

Usage (from the repository root)::

    python samples/pid_baseline.py --size A1 --seed 1 --dpi 200
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for p in (REPO, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import locator  # noqa: E402
from locator.geometry import Box  # noqa: E402
from make_samples import generate_pid  # noqa: E402
from samplegen.pidtruth import FEATURES  # noqa: E402


def found(hits: list[tuple[str, float, float]], row: dict, grow: float = 2.0) -> bool:
    b = Box(*(float(row[k]) for k in ("x0", "y0", "x1", "y1"))).grow(grow)
    return any(m == row["matched"] and b.contains_point(x, y) for m, x, y in hits)


def score(frame, truth: list[dict]) -> tuple[dict[str, int], int]:
    """(codes found per feature, false hits)."""
    hits = [(h.matched, (h.x0 + h.x1) / 2, (h.y0 + h.y1) / 2) for h in frame.itertuples()]
    per = {f: sum(found(hits, r) for r in truth if r["feature"] == f) for f in FEATURES}
    false = sum(1 for h in hits if not any(found([h], r) for r in truth))
    return per, false


#: What a matcher forgives (locator's confusion credit): O/0 and I/l/1.
_SAME = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


def _read_as(text: str, code: str) -> bool:
    """Tesseract's read is the code, up to O/0 and I/l/1 and stray marks at the ends
    (a piece of the bubble or pipe inside the crop)."""
    core = text.replace(" ", "").strip(".,:;'\"`~*-_/\\()[]{}<>|!‘’“”")
    return core.translate(_SAME) == code.translate(_SAME)


def legible(scan: Path, truth: list[dict]) -> dict[str, int]:
    """Codes Tesseract reads from a tight, upright crop of the colour scan, per feature.

    The crop is the truth box and 1.5 pt around, rendered at 400 dpi, in the
    darkest of the three channels per pixel (so cyan ink on white is as dark as
    black would be), turned upright.
    """
    import numpy as np
    import pymupdf
    import pytesseract
    from PIL import Image

    page = pymupdf.open(scan)[0]
    per = dict.fromkeys(FEATURES, 0)
    for r in truth:
        if r["feature"] == "bubble":
            continue  # two lines: no single crop reads as the composed tag
        b = Box(*(float(r[k]) for k in ("x0", "y0", "x1", "y1"))).grow(1.5)
        pix = page.get_pixmap(dpi=400, clip=pymupdf.Rect(b.x0, b.y0, b.x1, b.y1),
                              colorspace=pymupdf.csRGB, alpha=False)
        rgb = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)
        rgb = rgb[:, :pix.width * 3].reshape(pix.height, pix.width, 3)
        img = Image.fromarray(rgb.min(axis=2))
        img = img.rotate({"0": 0, "90": -90, "270": 90}[r["angle"]], expand=True)
        if float(r["size_pt"]) > 12:  # large text at 400 dpi is too tall for Tesseract
            k = float(r["size_pt"]) / 8
            img = img.resize((round(img.width / k), round(img.height / k)))
        text = pytesseract.image_to_string(img, config="--psm 7").strip()
        per[r["feature"]] += _read_as(text, r["matched"])
    return per


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="A1", type=str.upper)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dpi", type=int, default=200)
    ap.add_argument("--workers", type=int, default=0, help="OCR processes (0: one per core)")
    ap.add_argument("--out", type=Path, default=REPO / "samples" / "generated")
    a = ap.parse_args(argv)
    tag = a.size.lower()
    paths = generate_pid(a.size, a.out, a.out, a.seed, [a.dpi])
    with open(paths["pid-truth"], newline="") as f:
        truth = list(csv.DictReader(f))
    runs = [("text layer", paths["pid"], "text"),
            (f"OCR grey {a.dpi} dpi", paths[f"pid-scan{a.dpi}-grey"], "ocr"),
            (f"OCR colour {a.dpi} dpi", paths[f"pid-scan{a.dpi}-colour"], "ocr")]
    results = []
    for name, path, source in runs:
        t0 = time.perf_counter()
        frame = locator.locate(path, paths["pid-catalog"], source=source, dpi=a.dpi,
                               engine=("tesseract",), workers=a.workers, cache=False)
        results.append((name, *score(frame, truth), time.perf_counter() - t0))
        print(f"{name}: {len(frame)} hits in {results[-1][-1]:.1f} s", file=sys.stderr)
    crops = legible(paths[f"pid-scan{a.dpi}-colour"], truth)
    print(f"pid-{tag}, seed {a.seed}: codes found (hit centre within 2 pt of the truth box)\n")
    print("| feature | codes | " + " | ".join(r[0] for r in results) + " | legible (crop) |")
    print("|---|---:|" + "---:|" * (len(results) + 1))
    for f in FEATURES:
        n = sum(1 for r in truth if r["feature"] == f)
        print(f"| {f} | {n} | " + " | ".join(str(r[1][f]) for r in results)
              + f" | {crops[f] if f != 'bubble' else '-'} |")
    n = len(truth)
    print(f"| **all** | {n} | " + " | ".join(str(sum(r[1].values())) for r in results)
          + f" | {sum(crops.values())} |")
    print("| false hits | | " + " | ".join(str(r[2]) for r in results) + " |")
    print("| seconds | | " + " | ".join(f"{r[3]:.0f}" for r in results) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
