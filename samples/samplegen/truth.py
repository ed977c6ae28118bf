"""Ground truth: read back from the PDF's own text layer, checked, written as CSV.

The CSV columns are ``pattern_id,label,matched,page,x0,y0,x1,y1,size_pt,angle,on_seam``;
boxes in PDF points, origin top-left of the unrotated page, pages 1-based.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pymupdf

from locator.geometry import Box, PageFrame

from .drawing import Code
from .sheet import ASC, CAP, clearance, seam_flags


CSV_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1",
               "size_pt", "angle", "on_seam"]


def read_truth(page: pymupdf.Page, codes: list[Code]) -> list[dict]:
    """One row per code, its box taken from the PDF's own text layer.

    Two-word codes are the union of their words. Raises when what the text
    layer holds differs from what was drawn.
    """
    words = page.get_text("words")
    frame = PageFrame(page.rect.width, page.rect.height)
    rows = []
    for c in codes:
        want = c.box
        mine = [w for w in words if want.grow(0.5).contains_point((w[0] + w[2]) / 2,
                                                                  (w[1] + w[3]) / 2)]
        # Reading order: left to right, or bottom to top for rotated text.
        mine.sort(key=(lambda w: w[0]) if c.angle == 0 else (lambda w: -w[3]))
        text = " ".join(w[4] for w in mine)
        if text != c.text:
            raise AssertionError(f"text layer has {text!r} where {c.text!r} was drawn")
        box = Box.union_all([Box(*w[:4]) for w in mine])
        rows.append({"pattern_id": c.text, "label": c.label, "matched": c.text, "page": 1,
                     "x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1,
                     "size_pt": c.size, "angle": c.angle,
                     "on_seam": seam_flags(box, frame)})
    rows.sort(key=lambda r: (r["page"], round(r["y0"], 1), r["x0"]))
    return rows


def check_angles(page: pymupdf.Page, rows: list[dict]) -> None:
    """The text layer's writing direction agrees with the truth's angle."""
    lines = [ln for b in page.get_text("dict")["blocks"] for ln in b.get("lines", ())]
    for r in rows:
        box = Box(r["x0"], r["y0"], r["x1"], r["y1"])
        for ln in lines:
            if box.contains_point(*Box(*ln["bbox"]).center):
                dx, dy = ln["dir"]
                angle = round(math.degrees(math.atan2(-dy, dx))) % 360
                assert angle == r["angle"], f"{r['pattern_id']}: dir {ln['dir']}"


def check_boxes(page: pymupdf.Page, rows: list[dict]) -> None:
    """Every truth box is tight, on the page, clear of lines and of other codes.

    Tight: rendered at 288 dpi, the ink lies inside the box, its left and right
    ends meet the box's (the box is the advance width), and its top sits at the
    cap height. Clear: no ink in a ring around the box out to the clearance.
    """
    W, H = page.rect.width, page.rect.height
    boxes = [Box(r["x0"], r["y0"], r["x1"], r["y1"]) for r in rows]
    for r, b in zip(rows, boxes):
        assert 0 <= b.x0 < b.x1 <= W and 0 <= b.y0 < b.y1 <= H, f"{r['pattern_id']} off page"
        _check_ink(page, r, b)
    for i, a in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            gap = a.distance(boxes[j])
            need = 2.0 * max(rows[i]["size_pt"], rows[j]["size_pt"]) - 0.01
            assert gap >= need, f"{rows[i]['pattern_id']} too close to {rows[j]['pattern_id']}"


def ink_box(page: pymupdf.Page, box: Box, ring: float, name: str,
            tol: float = 0.5, zoom: float = 4.0) -> Box:
    """The ink of the thing in ``box`` (points), after checking its surroundings are clear.

    Renders ``box`` grown by ``ring`` at ``zoom`` x 72 dpi. Raises when ink lies
    between ``tol`` and ``ring`` points of the box (a line or neighbour too
    close) or when there is no ink inside it.
    """
    clip = box.grow(ring)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), colorspace=pymupdf.csGRAY,
                          clip=pymupdf.Rect(clip.x0, clip.y0, clip.x1, clip.y1), alpha=False)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    ys, xs = np.nonzero(img < 128)
    # Pixel centres in page points, and their distance from the box (0 inside).
    px = (pix.x + xs + 0.5) / zoom
    py = (pix.y + ys + 0.5) / zoom
    dx = np.maximum(0, np.maximum(box.x0 - px, px - box.x1))
    dy = np.maximum(0, np.maximum(box.y0 - py, py - box.y1))
    dist = np.hypot(dx, dy)
    near = (dist > tol) & (dist <= ring)
    assert not near.any(), f"{name}: ink within {ring:.1f} pt of its box (a line too close)"
    own = dist <= tol
    assert own.any(), f"{name}: no ink in its box"
    return Box(px[own].min(), py[own].min(), px[own].max(), py[own].max())


def _check_ink(page: pymupdf.Page, row: dict, box: Box) -> None:
    s, name, tol = row["size_pt"], row["pattern_id"], 0.5
    ink = ink_box(page, box, clearance(s) - 0.3, name, tol)
    # Along the text the box is the advance width: side bearings stay small
    # (Helvetica's '1' has the largest, ~0.2 em). Across it, the cap tops sit
    # (ascender - cap height) below the box's top edge.
    if row["angle"] == 0:
        lead, trail, top = ink.x0 - box.x0, box.x1 - ink.x1, ink.y0 - box.y0
    else:
        lead, trail, top = box.y1 - ink.y1, ink.y0 - box.y0, ink.x0 - box.x0
    assert -tol < lead < 0.25 * s + tol and -tol < trail < 0.25 * s + tol, f"{name}: loose"
    assert abs(top - (ASC - CAP) * s) < 0.1 * s + tol, f"{name}: cap height off"


def write_truth(rows: list[dict], path: Path) -> None:
    """The truth as CSV (CSV_COLUMNS), boxes to 1/1000 pt."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({**r, **{k: f"{r[k]:.3f}" for k in ("x0", "y0", "x1", "y1")}})
