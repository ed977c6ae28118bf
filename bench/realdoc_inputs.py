"""Benchmark inputs from real documents with word-level ground truth.

Reads a ``realdocs`` folder (PDFs/images plus ``gt/NAME.words.json``, word
boxes in PDF points, origin top left, unrotated page space; see its
SOURCES.txt) and writes, per document, into an output folder:

* ``NAME.pdf`` -- an image-only copy: every page rasterised (greyscale, at
  ``dpi``) and placed on a page of the same unrotated size with the same
  ``/Rotate``, so it looks identical and its unrotated space is the original's.
  No text layer, so the tool has to read it.
* ``NAME.truth.csv`` -- the "codes" in the sample generator's truth format
  ``pattern_id, label, matched, page, x0, y0, x1, y1, size_pt, angle, on_seam``
  (boxes in PDF points, unrotated page space; pages 1-based).
* ``NAME.catalog.yaml`` -- those codes as literal patterns, ``min_score: 90``.
* ``summary.json`` -- the counts and the checks, per document.

A *code* in a PDF is a word holding both a letter and a digit whose text is
at least ``min_height`` pt tall. "Tall" is measured across the reading
direction: for the vertical (90/270 degree) labels of the schematics, the
``h`` of the ground truth is the word's *length*, so the box width is used.
Several occurrences of a code are several truth rows; the same text twice at
(nearly) the same place (IoU > 0.5) is one.

KiCad's hidden text layer holds its overbar markup (``~{RST}``) where the
drawing shows ``RST`` with a bar: the markup is removed from the truth text.
When a markup group is directly followed by digits at the end of the word
(``~{SUSPEND}36``) the text layer has glued a pin name to its pin number,
which are two separate strings on the drawing: such words are dropped.

A text layer's word is what lies between spaces, so a code in a sentence
carries the sentence's punctuation (``U8, C28 and R45 have``, ``J18:``,
``GPIO0: ...`` on schematics 02/03): a trailing ``,``, ``;`` or ``:`` is
removed from a code's truth text (``punct_stripped`` in the counts). The
drawing shows the code there; without this the note's ``U8`` was no
occurrence of U8, so U8 counted as drawn once and a correct read of the note
as a false hit.

Codes that differ only in what the evaluation ignores (case, dash kind,
spaces; ``1V2``/``1v2``) become one catalog pattern, spelled as most of them
are; the truth rows keep their own ``matched`` text and take that pattern's id.

The receipt photo (07) has truth in image pixels. It is wrapped into a
one-page PDF at ``dpi`` (1 image pixel = 72/dpi pt, so rendering at ``dpi``
gives back the photo's pixels) plus a PNG carrying that dpi, and its truth is
converted to points. Its transcriptions have spaces stripped and almost no
letter+digit words (one: ``1OIY``), so its codes are the words holding a
digit (prices, phone number), as its SOURCES note describes them.

Run: ``python -m bench.realdoc_inputs --realdocs ../shared/realdocs --out bench-out/realdocs --dpi 200``
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

TRUTH_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1",
                 "size_pt", "angle", "on_seam"]
LABEL = "code"
MIN_SCORE = 90
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_KICAD_OVERBAR = re.compile(r"~\{([^{}]*)\}")
_KICAD_GLUED_PIN = re.compile(r"~\{[^{}]*\}\d+$")
#: A sentence's punctuation after a code in a text layer's word (``U8,``).
SENTENCE_PUNCT = ",;:"


def is_code(text: str) -> bool:
    """A word holding both a letter and a digit (``R26``, ``2k2``, ``W-9``)."""
    return bool(_LETTER.search(text) and _DIGIT.search(text))


def visible_text(text: str) -> str | None:
    """The text as drawn: KiCad overbar markup removed (``FLASH_~{WP}|IO2`` ->
    ``FLASH_WP|IO2``); ``None`` for a pin name glued to its number (``~{CE}1``)."""
    if _KICAD_GLUED_PIN.search(text):
        return None
    return _KICAD_OVERBAR.sub(r"\1", text)


def has_digit(text: str) -> bool:
    """The receipt rule: any word with a digit (``3.79``, ``703-777-5833``)."""
    return bool(_DIGIT.search(text))


@dataclass
class DocResult:
    """What was written for one document and what the checks found."""

    name: str
    kind: str                      # "pdf" or "image"
    pages: int
    rotations: list[int]
    words: int                     # ground-truth words
    candidates: int                # words passing the code rule, any size
    too_small: int                 # ... dropped for being < min_height pt tall
    markup: int                    # ... dropped as KiCad markup gluing a pin name to its number
    markup_rewritten: int          # ... whose KiCad overbar markup was removed
    duplicates: int                # ... dropped as the same text at the same place
    truth_rows: int                # rows written to the truth CSV
    unique_codes: int              # patterns in the catalog
    vertical: int                  # truth rows at 90/270 degrees
    boxes_without_ink: int         # truth boxes with no pixel darker than 230 in the new PDF
    faint_boxes: int               # truth boxes whose darkest pixel is >= 128 (grey text: DNP parts)
    render_diff: list[float] = field(default_factory=list)  # per page: mean |orig - new| (0-255)
    render_shift: list[list[int]] = field(default_factory=list)  # per page: best (dy, dx) px
    notes: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ truth

def _span_index(page) -> list[tuple[tuple[float, float, float, float], str, float, int]]:
    """Every text span of a PDF page: (bbox, text, font size, angle in degrees ccw)."""
    out = []
    for block in page.get_text("dict")["blocks"]:
        for line in block.get("lines", []):
            dx, dy = line["dir"]
            angle = round(math.degrees(math.atan2(-dy, dx))) % 360
            for span in line["spans"]:
                out.append((tuple(span["bbox"]), span["text"], float(span["size"]), angle))
    return out


def _word_style(word: dict, spans) -> tuple[float | None, int | None]:
    """Font size and angle of the span a ground-truth word came from (or Nones)."""
    x0, y0, x1, y1 = word["bbox"]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    best = None
    for (sx0, sy0, sx1, sy1), text, size, angle in spans:
        if sx0 - 0.5 <= cx <= sx1 + 0.5 and sy0 - 0.5 <= cy <= sy1 + 0.5:
            rank = 0 if word["text"] in text.replace(" ", "") else 1
            if best is None or rank < best[0]:
                best = (rank, size, angle)
    return (best[1], best[2]) if best else (None, None)


def _iou(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _dedupe(rows: list[dict]) -> tuple[list[dict], int]:
    """Drop a row when the same text on the same page already has a box with IoU > 0.5."""
    kept: list[dict] = []
    seen: dict[tuple[int, str], list[tuple]] = {}
    for r in rows:
        box = (r["x0"], r["y0"], r["x1"], r["y1"])
        others = seen.setdefault((r["page"], r["matched"]), [])
        if any(_iou(box, o) > 0.5 for o in others):
            continue
        others.append(box)
        kept.append(r)
    return kept, len(rows) - len(kept)


def pdf_truth(pdf_path: Path, gt: dict, *, min_height: float = 4.0):
    """Truth rows (a DataFrame in :data:`TRUTH_COLUMNS`) for a born-digital PDF.

    Boxes are the ground truth's, in PDF points, unrotated page space. Angle
    and font size come from the PDF's own text spans; ``size_pt`` is the font
    size (the box is taller: ascender to descender). Returns
    ``(frame, counts)`` with ``candidates``, ``too_small``, ``duplicates``.
    """
    import pandas as pd
    import pymupdf

    rows, candidates, too_small, markup, rewritten, punct = [], 0, 0, 0, 0, 0
    with pymupdf.open(pdf_path) as doc:
        for pg in gt["pages"]:
            page = doc[pg["page"] - 1]
            spans = _span_index(page)
            for w in pg["words"]:
                if not is_code(w["text"]):
                    continue
                candidates += 1
                text = visible_text(w["text"])
                if text is None:
                    markup += 1
                    continue
                if text != w["text"]:
                    rewritten += 1
                    if not is_code(text):
                        continue
                bare = text.rstrip(SENTENCE_PUNCT)
                if bare != text and is_code(bare):  # "U8," in a note: the code U8
                    text = bare
                    punct += 1
                x0, y0, x1, y1 = w["bbox"]
                size, angle = _word_style(w, spans)
                if angle is None:  # no span found: guess from the shape
                    angle = 90 if (y1 - y0) > (x1 - x0) and len(w["text"]) > 1 else 0
                tall = (x1 - x0) if angle in (90, 270) else (y1 - y0)
                if tall < min_height:
                    too_small += 1
                    continue
                rows.append({"pattern_id": text, "label": LABEL, "matched": text,
                             "page": pg["page"], "x0": x0, "y0": y0, "x1": x1, "y1": y1,
                             "size_pt": round(size if size is not None else tall, 2),
                             "angle": int(angle), "on_seam": False})
    rows, dups = _dedupe(rows)
    counts = {"candidates": candidates, "too_small": too_small, "duplicates": dups,
              "markup": markup, "markup_rewritten": rewritten, "punct_stripped": punct}
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS), counts


def image_truth(gt: dict, *, dpi: float, min_height: float = 4.0):
    """Truth rows for an image whose ground truth is in pixels: pixels * 72/dpi -> points.

    Uses :func:`has_digit` as the code rule (see the module docstring).
    """
    import pandas as pd

    k = 72.0 / dpi
    rows, candidates, too_small = [], 0, 0
    for w in gt["words"]:
        text = w["text"].strip()
        if not text or not has_digit(text):
            continue
        candidates += 1
        x0, y0, x1, y1 = (v * k for v in w["bbox"])
        if y1 - y0 < min_height:
            too_small += 1
            continue
        rows.append({"pattern_id": text, "label": LABEL, "matched": text, "page": 1,
                     "x0": round(x0, 3), "y0": round(y0, 3), "x1": round(x1, 3),
                     "y1": round(y1, 3), "size_pt": round(y1 - y0, 2), "angle": 0,
                     "on_seam": False})
    rows, dups = _dedupe(rows)
    counts = {"candidates": candidates, "too_small": too_small, "duplicates": dups,
              "markup": 0, "markup_rewritten": 0}
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS), counts


# ------------------------------------------------------------------ documents

def rasterise_pdf(src: Path, dst: Path, *, dpi: float = 200, colour: bool = False) -> None:
    """Write an image-only copy of ``src``: each page rendered greyscale (RGB
    with ``colour``) at ``dpi`` in its *unrotated* space, placed over the whole page of the same unrotated
    size, then given the original ``/Rotate`` -- so both look the same and boxes
    in unrotated points mean the same place in both."""
    import pymupdf

    with pymupdf.open(src) as doc, pymupdf.open() as out:
        for page in doc:
            rotation = page.rotation
            page.set_rotation(0)  # in memory only: render the unrotated space
            rect = page.rect
            pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72),
                                  colorspace=pymupdf.csRGB if colour else pymupdf.csGRAY,
                                  alpha=False, annots=True)
            new = out.new_page(width=rect.width, height=rect.height)
            # The pixmap covers whole pixels from the top-left corner, so it can reach a
            # fraction of a pixel past the right/bottom edge: place it at its true extent
            # (clipped by the page) rather than stretching it, which would shift the ink.
            k = 72.0 / dpi
            new.insert_image(pymupdf.Rect(rect.x0, rect.y0, rect.x0 + pix.width * k,
                                          rect.y0 + pix.height * k),
                             pixmap=pix, keep_proportion=False)
            new.set_rotation(rotation)
        dst.parent.mkdir(parents=True, exist_ok=True)
        out.save(dst, garbage=3, deflate=True)


def image_to_pdf(src: Path, dst_pdf: Path, dst_png: Path, *, dpi: float = 200) -> tuple[float, float]:
    """Wrap an image into a one-page image-only PDF at ``dpi`` (greyscale) and write a
    greyscale PNG tagged with that dpi. Returns the page size in points."""
    import pymupdf

    pix = pymupdf.Pixmap(str(src))
    if pix.alpha:
        pix = pymupdf.Pixmap(pix, 0)
    gray = pymupdf.Pixmap(pymupdf.csGRAY, pix)
    w_pt, h_pt = pix.width * 72.0 / dpi, pix.height * 72.0 / dpi
    with pymupdf.open() as out:
        page = out.new_page(width=w_pt, height=h_pt)
        page.insert_image(page.rect, pixmap=gray, keep_proportion=False)
        dst_pdf.parent.mkdir(parents=True, exist_ok=True)
        out.save(dst_pdf, garbage=3, deflate=True)
    gray.set_dpi(int(round(dpi)), int(round(dpi)))
    gray.save(str(dst_png))
    return w_pt, h_pt


def _render(page, dpi: float):
    import numpy as np
    import pymupdf

    pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72),
                          colorspace=pymupdf.csGRAY, alpha=False)
    return np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]


def compare_renders(a: Path, b: Path, *, dpi: float = 100) -> list[tuple[float, tuple[int, int]]]:
    """Per page of two PDFs rendered as shown (rotation applied) at ``dpi``: the mean
    absolute grey difference (0-255) and the whole-pixel shift ``(dy, dx)`` within
    +-2 px that makes them agree best -- ``(0, 0)`` when they line up. Raises
    AssertionError if page counts, rotations or render sizes differ."""
    import numpy as np
    import pymupdf

    diffs = []
    with pymupdf.open(a) as da, pymupdf.open(b) as db:
        if len(da) != len(db):
            raise AssertionError(f"{a.name}: {len(da)} pages, {b.name}: {len(db)}")
        for pa, pb in zip(da, db):
            if pa.rotation != pb.rotation:
                raise AssertionError(f"page {pa.number + 1}: /Rotate {pa.rotation} vs {pb.rotation}")
            ia, ib = _render(pa, dpi), _render(pb, dpi)
            if ia.shape != ib.shape:
                raise AssertionError(f"page {pa.number + 1}: render {ia.shape} vs {ib.shape}")
            ia, ib = ia.astype(np.int16), ib.astype(np.int16)
            m = 2
            core = ib[m:-m, m:-m]
            shifts = {(dy, dx): float(np.abs(ia[m + dy:ia.shape[0] - m + dy,
                                                m + dx:ia.shape[1] - m + dx] - core).mean())
                      for dy in range(-m, m + 1) for dx in range(-m, m + 1)}
            best = min(shifts, key=shifts.get)
            diffs.append((float(np.abs(ia - ib).mean()), best))
    return diffs


def ink_in_boxes(pdf: Path, truth, *, dpi: float = 200) -> tuple[int, int]:
    """Count truth boxes (unrotated points) that, in ``pdf`` rendered at ``dpi``,
    hold no ink (no pixel darker than 230) and that hold only faint ink (darkest
    pixel >= 128) -- a check that truth and image line up."""
    import pymupdf

    from locator.geometry import Box, PageFrame

    empty = faint = 0
    with pymupdf.open(pdf) as doc:
        for page_no, rows in truth.groupby("page"):
            page = doc[int(page_no) - 1]
            frame = PageFrame(page.mediabox.width, page.mediabox.height, page.rotation)
            img = _render(page, dpi)
            k = dpi / 72.0
            for r in rows.itertuples(index=False):
                v = frame.box_to_view(Box(r.x0, r.y0, r.x1, r.y1))
                x0, y0 = max(0, int(v.x0 * k)), max(0, int(v.y0 * k))
                x1, y1 = int(math.ceil(v.x1 * k)), int(math.ceil(v.y1 * k))
                patch = img[y0:y1, x0:x1]
                darkest = int(patch.min()) if patch.size else 255
                empty += darkest >= 230
                faint += 128 <= darkest < 230
    return empty, faint


def has_text_layer(pdf: Path) -> bool:
    import pymupdf

    with pymupdf.open(pdf) as doc:
        return any(page.get_text().strip() for page in doc)


# ------------------------------------------------------------------ catalog

def assign_patterns(truth) -> tuple[object, list[str], list[list[str]]]:
    """One catalog pattern per code as :func:`locator.evaluate.normalize_code` sees it.

    Returns ``(truth, codes, merged)``: the truth with ``pattern_id`` set to its
    pattern's id, the pattern ids in order of first appearance (each spelled as
    most of its rows are; ties go to the first seen), and the groups of
    spellings that were merged.
    """
    from collections import Counter

    from locator.evaluate import normalize_code

    keys = [normalize_code(m) for m in truth["matched"]]
    spellings: dict[str, Counter] = {}
    for k, m in zip(keys, truth["matched"]):
        spellings.setdefault(k, Counter())[m] += 1
    rep = {k: c.most_common(1)[0][0] for k, c in spellings.items()}
    out = truth.copy()
    out["pattern_id"] = [rep[k] for k in keys]
    merged = [sorted(c) for c in spellings.values() if len(c) > 1]
    return out, [rep[k] for k in spellings], merged


def write_catalog(codes: list[str], path: Path, *, min_score: int = MIN_SCORE) -> None:
    """A catalog YAML listing ``codes`` as literal patterns (id = text = the code)."""
    import yaml

    doc = {"defaults": {"min_score": min_score},
           "patterns": [{"id": c, "text": c, "label": LABEL} for c in codes]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=1000),
                    encoding="utf-8")


# ------------------------------------------------------------------ driver

def build_one(src: Path, gt_path: Path, out: Path, *, dpi: float = 200,
              min_height: float = 4.0, verify: bool = True) -> DocResult:
    """Write the image-only document, truth CSV and catalog for one source."""
    gt = json.loads(gt_path.read_text(encoding="utf-8"))
    name = src.stem
    files = {"truth": str(out / f"{name}.truth.csv"), "catalog": str(out / f"{name}.catalog.yaml")}
    notes: list[str] = []
    if gt.get("units") == "image_pixels":
        kind, pages, rotations = "image", 1, [0]
        words = len(gt["words"])
        truth, counts = image_truth(gt, dpi=dpi, min_height=min_height)
        pdf, png = out / f"{name}.pdf", out / f"{name}.png"
        image_to_pdf(src, pdf, png, dpi=dpi)
        files.update(pdf=str(pdf), png=str(png))
        notes.append(f"image truth converted px -> pt at {dpi:g} dpi; code rule: words with a digit "
                     f"({sum(is_code(w['text']) for w in gt['words'])} letter+digit words)")
        diffs: list = []
    else:
        kind = "pdf"
        import pymupdf

        with pymupdf.open(src) as doc:
            pages = len(doc)
            rotations = [p.rotation for p in doc]
            for p, pg in zip(doc, gt["pages"]):
                if p.rotation != pg["rotation"]:
                    notes.append(f"page {pg['page']}: PDF /Rotate {p.rotation} but gt says {pg['rotation']}")
                if (abs(p.mediabox.width - pg["width_pt"]) > 0.01
                        or abs(p.mediabox.height - pg["height_pt"]) > 0.01):
                    notes.append(f"page {pg['page']}: size differs from gt")
                if p.cropbox != p.mediabox:
                    notes.append(f"page {pg['page']}: CropBox {tuple(p.cropbox)} != MediaBox")
        words = sum(len(pg["words"]) for pg in gt["pages"])
        truth, counts = pdf_truth(src, gt, min_height=min_height)
        pdf = out / f"{name}.pdf"
        rasterise_pdf(src, pdf, dpi=dpi)
        files["pdf"] = str(pdf)
        diffs = compare_renders(src, pdf, dpi=dpi) if verify else []
        if has_text_layer(pdf):
            notes.append("the image-only PDF still has text!")
    out.mkdir(parents=True, exist_ok=True)
    truth, codes, merged = assign_patterns(truth)
    truth.to_csv(files["truth"], index=False)
    write_catalog(codes, Path(files["catalog"]))
    for group in merged:
        notes.append(f"one pattern for codes equal after normalisation: {group}")
    no_ink, faint = ink_in_boxes(Path(files["pdf"]), truth, dpi=dpi) if verify else (-1, -1)
    return DocResult(name=name, kind=kind, pages=pages, rotations=rotations, words=words,
                     candidates=counts["candidates"], too_small=counts["too_small"],
                     duplicates=counts["duplicates"], markup=counts["markup"],
                     markup_rewritten=counts["markup_rewritten"], truth_rows=len(truth),
                     unique_codes=len(codes), vertical=int(truth["angle"].isin([90, 270]).sum()),
                     boxes_without_ink=no_ink, faint_boxes=faint,
                     render_diff=[round(d, 3) for d, _ in diffs],
                     render_shift=[list(sh) for _, sh in diffs],
                     notes=notes, files=files)


def build(realdocs: Path, out: Path, *, dpi: float = 200, min_height: float = 4.0,
          verify: bool = True) -> list[DocResult]:
    """Build the inputs for every document in ``realdocs`` that has ground truth;
    writes ``out/summary.json`` and returns the per-document results."""
    realdocs, out = Path(realdocs), Path(out)
    results = []
    for gt_path in sorted((realdocs / "gt").glob("*.words.json")):
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
        src = realdocs / gt["source_file"]
        if not src.is_file():
            print(f"skip {gt_path.name}: {src.name} not found", file=sys.stderr)
            continue
        results.append(build_one(src, gt_path, out, dpi=dpi, min_height=min_height, verify=verify))
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(
        json.dumps({"dpi": dpi, "min_height_pt": min_height,
                    "documents": [asdict(r) for r in results]}, indent=2),
        encoding="utf-8")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.realdoc_inputs", description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdocs", type=Path, required=True, help="the realdocs folder (holds gt/)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/realdocs"))
    ap.add_argument("--dpi", type=float, default=200.0, help="rasterisation dpi (default 200)")
    ap.add_argument("--min-height", type=float, default=4.0,
                    help="smallest code height in pt, across the reading direction (default 4)")
    ap.add_argument("--no-verify", action="store_true", help="skip the render and ink checks")
    args = ap.parse_args(argv)
    if not (args.realdocs / "gt").is_dir():
        print(f"error: {args.realdocs}/gt not found", file=sys.stderr)
        return 2
    results = build(args.realdocs, args.out, dpi=args.dpi, min_height=args.min_height,
                    verify=not args.no_verify)
    print(f"{'document':40} {'pages':>5} {'rows':>5} {'codes':>5} {'vert':>4} {'small':>5} "
          f"{'dups':>4} {'markup':>6} {'no-ink':>6} {'faint':>5}  render diff / shift")
    for r in results:
        render = ", ".join(f"{d:.2f}/{tuple(s)}" for d, s in zip(r.render_diff, r.render_shift))
        print(f"{r.name:40} {r.pages:5d} {r.truth_rows:5d} {r.unique_codes:5d} {r.vertical:4d} "
              f"{r.too_small:5d} {r.duplicates:4d} {r.markup:6d} {r.boxes_without_ink:6d} "
              f"{r.faint_boxes:5d}  {render or '-'}")
        for n in r.notes:
            print(f"    note: {n}")
    print(f"written to {args.out}/ (summary.json has the details)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
