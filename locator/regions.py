"""Cheap image analysis inside one tile: where rotated text may be, and packing it for OCR.

Reading a whole tile again at 90 and 270 degrees triples the OCR cost, and on
most drawings only a few labels run vertically. Vertical words have a tell:
their glyphs are character-sized connected components stacked in a column.
:func:`vertical_text_regions` finds such columns with two connected-component
passes (milliseconds per tile); :class:`Mosaic` turns each candidate upright
(both ways, since 90 and 270 cannot be told apart cheaply), stacks them into
one small image, and maps what the engine reads there back to tile pixels.
Everything here is in the tile image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from locator.geometry import Box, pt_to_px, rotate_image_box_back

# Text sizes this looks for, in points: small labels up to title-block size.
MIN_TEXT_PT, MAX_TEXT_PT = 3.0, 16.0


def vertical_text_regions(img: np.ndarray, dpi: float, *, ink_level: int = 160) -> list[Box]:
    """Boxes (tile pixels) that may hold text running vertically.

    Character-sized components are kept (lines, frames and symbols are larger
    or thinner), smeared vertically by about a letter gap, and the resulting
    blobs that are tall, narrow, and as wide as a letter is tall are returned.
    False candidates only cost a little OCR on a small crop.
    """
    import cv2

    ink = (img < ink_level).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return []
    lo = max(2, int(pt_to_px(MIN_TEXT_PT * 0.5, dpi)))
    hi = int(pt_to_px(MAX_TEXT_PT, dpi))
    w, h = stats[:, 2], stats[:, 3]
    glyph = (w >= 1) & (h >= 1) & (w <= hi) & (h <= hi) & (np.maximum(w, h) >= lo)
    glyph[0] = False
    # Each glyph's whole bounding box, not its pixels, stretched up and down by
    # about a letter gap: the letters of a vertical word share the line's band
    # across, though not pixel columns (a T's bar, a hyphen), and their gaps
    # grow with the text size, which the box's width (the cap height) tells.
    H = ink.shape[0]
    smeared = np.zeros_like(ink)
    for x, y, bw, bh, _a in stats[np.flatnonzero(glyph)]:
        e = int(0.4 * bw) + 1
        smeared[max(0, y - e):min(H, y + bh + e), x:x + bw] = 1
    n2, blobs, st, _ = cv2.connectedComponentsWithStats(smeared, connectivity=8)
    # How many glyphs each blob holds: a vertical word is at least three letters
    # stacked; a lone tall glyph ("1", "I") is one.
    on = glyph[labels]
    pairs = np.unique(blobs[on].astype(np.int64) * (n + 1) + labels[on])
    glyphs_per_blob = np.bincount(pairs // (n + 1), minlength=n2)
    cap_lo = pt_to_px(MIN_TEXT_PT * 0.6, dpi)  # the cap height of the smallest text
    out = []
    for i in range(1, n2):
        x, y, bw, bh = (int(v) for v in st[i, :4])
        if cap_lo <= bw <= hi and bh >= 2 * bw and glyphs_per_blob[i] >= 3:
            out.append(Box(float(x), float(y), float(x + bw), float(y + bh)))
    return out


@dataclass(frozen=True, slots=True)
class _Slot:
    """One crop placed in the mosaic: where it came from and how it was turned."""

    crop: Box  # in tile pixels
    angle: int  # text angle this slot reads (90 or 270)
    y0: int  # top of the slot in the mosaic
    w: int  # the turned crop's size in the mosaic
    h: int


class Mosaic:
    """Candidate regions turned upright and stacked into one image for one OCR call."""

    def __init__(self, img: np.ndarray, regions: list[Box], angles: tuple[int, ...], *,
                 margin: int, gap: int) -> None:
        H, W = img.shape[:2]
        pieces, slots = [], []
        y = gap
        for r in _merge_overlapping([r.grow(margin) for r in regions]):
            x0, y0 = max(0, int(r.x0)), max(0, int(r.y0))
            x1, y1 = min(W, int(np.ceil(r.x1))), min(H, int(np.ceil(r.y1)))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            crop = img[y0:y1, x0:x1]
            for angle in angles:
                turned = np.rot90(crop, k=-(angle // 90))
                th, tw = turned.shape[:2]
                slots.append(_Slot(Box(x0, y0, x1, y1), angle, y, tw, th))
                pieces.append((y, turned))
                y += th + gap
        self.slots = slots
        if not slots:
            self.image = None
            return
        width = max(s.w for s in slots) + 2 * gap
        canvas = np.full((y, width), 255, dtype=np.uint8)
        for top, turned in pieces:
            canvas[top:top + turned.shape[0], gap:gap + turned.shape[1]] = turned
        self.gap = gap
        self.image = canvas

    def to_tile(self, box: Box) -> tuple[Box, int] | None:
        """A box read in the mosaic -> (box in tile pixels, text angle); None if it spans slots."""
        cy = (box.y0 + box.y1) / 2
        for s in self.slots:
            if s.y0 <= cy <= s.y0 + s.h:
                local = Box(box.x0 - self.gap, box.y0 - s.y0, box.x1 - self.gap, box.y1 - s.y0)
                local = Box(max(0.0, local.x0), max(0.0, local.y0),
                            min(float(s.w), local.x1), min(float(s.h), local.y1))
                cw, ch = int(s.crop.width), int(s.crop.height)
                back = rotate_image_box_back(local, s.angle, cw, ch)
                return (Box(back.x0 + s.crop.x0, back.y0 + s.crop.y0,
                            back.x1 + s.crop.x0, back.y1 + s.crop.y0), s.angle)
        return None


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Union boxes that overlap until none do (few boxes per tile: quadratic is fine)."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        out: list[Box] = []
        for b in boxes:
            for i, o in enumerate(out):
                if o.intersection_area(b) > 0:
                    out[i] = o.union(b)
                    merged = True
                    break
            else:
                out.append(b)
        boxes = out
    return boxes


def clean_for_ocr(img: np.ndarray, dpi: float, *, max_text_pt: float = MAX_TEXT_PT,
                  ink_level: int = 160) -> np.ndarray:
    """The tile with line art removed, so OCR sees only text-sized marks.

    Tesseract reads nothing in a crop where a tag sits inside an instrument
    bubble, and slows down on pipes and frames. Long straight runs (longer than
    the largest text) are lines; what is left and still larger than the largest
    text (circles, symbols, boxes) is art. Both are painted over in the paper's
    tone; glyphs that
    touched a straight line keep their own strokes.
    """
    import cv2

    ink = (img < ink_level).astype(np.uint8)
    if not ink.any():
        return img
    long = max(8, int(pt_to_px(max_text_pt, dpi)))
    lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, long), np.uint8))
    lines |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((long, 1), np.uint8))
    rest = ink & (1 - lines)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(rest, connectivity=8)
    big = (stats[:, 2] > long) | (stats[:, 3] > long)
    big[0] = False
    keep = rest.astype(bool) & ~big[labels]
    drop = ink.astype(bool) & ~keep
    if not drop.any():
        return img
    # Clear the anti-aliased fringe of what goes, but never a kept glyph's pixels.
    ring = np.ones((3, 3), np.uint8)
    drop = cv2.dilate(drop.astype(np.uint8), ring).astype(bool)
    drop &= ~cv2.dilate(keep.astype(np.uint8), ring).astype(bool)
    # Paint with the paper's own tone, not white: on a grey scan a white circle
    # is a new edge that OCR reads as letters.
    out = img.copy()
    out[drop] = int(np.median(img))
    return out
