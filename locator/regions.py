"""Cheap image analysis inside one tile: where text is, and packing it for OCR.

Measured on the sample scans, an OCR engine reads small labels better, and
sooner, from a mosaic of the tile's text regions than from the whole tile: the
line art that confuses it is gone, and the regions can be enlarged (small text
wants more pixels per glyph) for less than the cost of the whole tile at 1x.

* :func:`clean_for_ocr` paints line art (long straight runs, and anything left
  that is larger than text: circles, frames, symbols) in the paper's tone.
* :func:`text_regions` groups character-sized connected components into
  horizontal words/lines and vertical words (glyphs stacked in a column:
  labels at 90 or 270 degrees), with two connected-component passes.
* :class:`Mosaic` cuts the regions out, turns vertical ones upright (both ways,
  since 90 and 270 cannot be told apart cheaply), scales them, packs them on
  shelves into one image for one OCR call, and maps what the engine reads
  there back to tile pixels.

Everything here is in the tile image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from locator.geometry import Box, GridIndex, pt_to_px, rotate_image_box_back

# Text sizes looked for, in points: small labels up to title-block size.
MIN_TEXT_PT, MAX_TEXT_PT = 3.0, 24.0
INK_LEVEL = 160  # grey level below which a pixel is ink
# A tile whose background is at least this light everywhere is left as it is
# (:func:`flatten_background`): scans and renders.
FLAT_PAPER = 200
# A glyph with up to this many letter-like marks on its horizontal line (itself
# included) may still be a letter of a vertical word, when it is wider than
# tall (turned on its side): a part's turned name and value side by side.
NEIGHBOURS_ACROSS = 3
# A vertical word of two glyphs (R1, A2) must be this much taller than wide;
# three or more glyphs: twice.
SHORT_RATIO = 1.3
# Vertical words closer than this many text heights side by side are one region.
SIDE_GAP = 1.0
# More than NEIGHBOURS_ACROSS glyphs across are turned labels side by side
# only when at least this share of them is wide (turned).
CROWDED_WIDE_SHARE = 0.7


@dataclass(frozen=True, slots=True)
class Regions:
    """Where a tile's text may be: horizontal and vertical regions (tile pixels),
    each with the median size of its glyphs across the line (the text height)."""

    horizontal: list[Box]
    vertical: list[Box]
    horizontal_size: list[float] = field(default_factory=list)
    vertical_size: list[float] = field(default_factory=list)


def _glyphs(img: np.ndarray, dpi: float, max_text_pt: float):
    """Connected components of ink that are the size of a character."""
    import cv2

    ink = (img < INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    lo = max(2, int(pt_to_px(MIN_TEXT_PT * 0.5, dpi)))
    hi = int(pt_to_px(max_text_pt, dpi))
    w, h = stats[:, 2], stats[:, 3]
    glyph = (w <= hi) & (h <= hi) & (np.maximum(w, h) >= lo)
    glyph[0] = False
    return n, labels, stats, glyph, hi


def _blobs(shape, stats, ids, stretch_x: float, stretch_y: float):
    """Glyph boxes stretched by a share of their own size, joined into blobs."""
    import cv2

    H, W = shape
    canvas = np.zeros(shape, np.uint8)
    for x, y, bw, bh, _a in stats[ids]:
        ex = int(stretch_x * bh) + 1 if stretch_x else 0  # sideways: a share of the height
        ey = int(stretch_y * bw) + 1 if stretch_y else 0  # up and down: a share of the width
        canvas[max(0, y - ey):min(H, y + bh + ey), max(0, x - ex):min(W, x + bw + ex)] = 1
    return cv2.connectedComponentsWithStats(canvas, connectivity=8)


def _art_like(img: np.ndarray, labels: np.ndarray, stats: np.ndarray,
              ids: np.ndarray, dpi: float) -> np.ndarray:
    """Which of the glyph-sized components ``ids`` look like drawing marks, not letters.

    Marks holding a straight run longer than the tile's typical letter (a
    capacitor plate with its pin, a wire stub: too short for
    :func:`clean_for_ocr`, which removes runs longer than the largest text),
    and solid dots (junction dots). A letter caught here only stops counting
    as a neighbour on its line (:func:`text_regions`).
    """
    import cv2

    st = stats[ids]
    w, h, area = st[:, 2].astype(float), st[:, 3].astype(float), st[:, 4].astype(float)
    long = np.maximum(w, h)
    # The typical letter, among marks at least the size of small text's
    # letters: specks, dots and hyphens would make it too small on a sparse
    # tile, and a 7.5 pt tag's letters would count as art (measured).
    sized = long[long >= pt_to_px(2.5, dpi)]
    typical = float(np.median(sized if len(sized) else long))
    run = max(6, int(round(1.5 * typical)))
    ink = (img < INK_LEVEL).astype(np.uint8)
    lines = np.bitwise_or(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, run), np.uint8)),
                          cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((run, 1), np.uint8)))
    has_run = np.bincount(labels[lines.astype(bool)], minlength=len(stats))[ids] > 0
    dot = (long < 2 * np.maximum(1.0, np.minimum(w, h))) & (area >= 0.75 * w * h) & (long >= 4)
    return has_run | dot


def text_regions(img: np.ndarray, dpi: float, *, max_text_pt: float = MAX_TEXT_PT,
                 vertical: bool = True) -> Regions:
    """Horizontal and vertical text regions of a (cleaned) tile, in its pixels.

    Horizontal lines: each glyph's whole box, stretched sideways by about a
    word gap (a share of its height), joined into blobs. Vertical words: of the
    glyphs alone on their horizontal line, each box (not its pixels: a T's bar
    and a hyphen share the line's band across, not pixel columns) is stretched
    up and down by about a word gap, which grows with the text size that the
    box's width (the cap height) tells; blobs at least twice as tall as wide
    holding three or more glyphs, or 1.3 times holding two (``R1``), are
    vertical words, and their glyphs leave the horizontal regions. A glyph
    wider than tall (turned) with one or two neighbours across also counts as
    alone: a part's turned name and value stand side by side (``C29 | 100n``),
    and such neighbouring vertical words are one region, read turned as a
    block of two lines (iCEBreaker schematic at 200 dpi, Tesseract+RapidOCR:
    recall 0.726 -> 0.763; Olimex 0.842 -> 0.861; precision up; Tesseract alone
    about even, the A2 sample 59 -> 60 of 60). More neighbours across are
    turned labels too when nearly all glyphs of their line are wide (a resistor
    array: R17D 330E R18 330E ...; upright capitals and digits are few wide
    glyphs); these glyphs stay in the horizontal regions as well, read both
    ways (iCEBreaker: 78 -> 95 of 99 vertical codes inside a candidate).
    "Alone" counts letter-like neighbours only: drawing marks of glyph size
    (capacitor plates with their pins, junction dots, :func:`_art_like`) line
    up across a row of vertical labels and would otherwise make it one
    horizontal line (iCEBreaker schematic at 200 dpi: recall 0.482 -> 0.512,
    precision 0.929 -> 0.948; A0 sample 0.975 -> 0.983). A false vertical
    candidate only costs a little OCR on a small crop (it is read upright too).
    """
    n, labels, stats, glyph, hi = _glyphs(img, dpi, max_text_pt)
    if n <= 1 or not glyph.any():
        return Regions([], [])
    cap_lo = pt_to_px(MIN_TEXT_PT * 0.6, dpi)  # the cap height of the smallest text
    ids = np.flatnonzero(glyph)
    # Horizontal lines first, from every glyph stretched sideways by about a
    # word gap. Each glyph's blob is read at its box centre (boxes are filled).
    _n1, hb, hst, _ = _blobs(img.shape, stats, ids, 0.6, 0)
    cy = stats[ids, 1] + stats[ids, 3] // 2
    cx = stats[ids, 0] + stats[ids, 2] // 2
    hblob = hb[cy, cx]
    verticals: list[Box] = []
    vsize: list[float] = []
    taken = np.zeros(len(ids), bool)  # glyphs that went into a vertical word
    art = None
    if vertical:
        art = _art_like(img, labels, stats, ids, dpi)
        verticals, vsize, taken = _vertical_words(img.shape, stats, ids, art, cy, cx, cap_lo, hi)
    if art is None and _has_too_tall(hst, hblob, taken, hi):
        art = _art_like(img, labels, stats, ids, dpi)
    horizontals, hsize = _horizontal_lines(img.shape, stats, ids, art, hst, hblob, taken,
                                           cap_lo, hi)
    return Regions(horizontals, verticals, hsize, vsize)


def _vertical_words(shape: tuple[int, ...], stats: np.ndarray, ids: np.ndarray, art: np.ndarray,
                    cy: np.ndarray, cx: np.ndarray, cap_lo: float,
                    hi: float) -> tuple[list[Box], list[float], np.ndarray]:
    """The vertical words among the glyphs ``ids`` (see :func:`text_regions`):
    their boxes, their glyph sizes, and which glyphs they took from the
    horizontal lines. ``art``: which glyphs are drawing marks; ``cy``, ``cx``:
    the glyphs' box centres."""
    verticals: list[Box] = []
    vsize: list[float] = []
    taken = np.zeros(len(ids), bool)
    # Only a glyph alone on its horizontal line can be a letter of a vertical
    # word: stacked upright labels (pin names A7/B7/A6 on a schematic) have
    # neighbours beside them and must stay horizontal. Neighbours are
    # counted among letter-like marks only: a row of vertical capacitor
    # labels has the capacitor plates, wire stubs and junction dots between
    # them, which would join the row into one "line" (the iCEBreaker
    # schematic's C23/C25/C28... were all read upright as junk).
    _n3, lb, lst, _ = _blobs(shape, stats, ids[~art], 0.6, 0)
    lblob = lb[cy, cx]
    per_lblob = np.bincount(lb[cy[~art], cx[~art]], minlength=len(lst))
    alone = (lblob == 0) | (per_lblob[lblob] <= 1)
    # Vertical labels side by side (a part's name and value: C29 and
    # 100n; a diode's pin beside its name) are two or three glyphs per
    # line across; a glyph turned on its side is wider than tall, an
    # upright one (stacked pin names A7/B7) is not.
    wide = stats[ids, 2] > stats[ids, 3]
    alone |= (per_lblob[lblob] <= NEIGHBOURS_ACROSS) & (lblob != 0) & wide
    # More turned labels side by side (a resistor array: R11A R11B ...
    # with their values) are many glyphs across, nearly all wide; an
    # upright line of capitals and digits holds few wide glyphs.
    wide_share = np.bincount(lb[cy[~art], cx[~art]], weights=wide[~art].astype(float),
                             minlength=len(lst)) / np.maximum(per_lblob, 1)
    crowded = ((per_lblob[lblob] > NEIGHBOURS_ACROSS) & (lblob != 0) & wide
               & (wide_share[lblob] >= CROWDED_WIDE_SHARE))
    cand = ids[(alone | crowded) & ~art]
    if len(cand):
        n2, vb, vst, _ = _blobs(shape, stats, cand, 0, 0.6)
        vy = stats[cand, 1] + stats[cand, 3] // 2
        vx = stats[cand, 0] + stats[cand, 2] // 2
        vblob = vb[vy, vx]
        count = np.bincount(vblob, minlength=n2)
        for i in range(1, n2):
            x, y, bw, bh = (int(v) for v in vst[i, :4])
            if cap_lo <= bw <= hi and ((bh >= 2 * bw and count[i] >= 3)
                                       or (bh >= SHORT_RATIO * bw and count[i] == 2)):
                verticals.append(Box(float(x), float(y), float(x + bw), float(y + bh)))
                members = cand[vblob == i]
                vsize.append(float(np.median(stats[members, 2])))
                taken |= np.isin(ids, members) & ~crowded  # crowded: read both ways
        verticals, vsize = _side_by_side(verticals, vsize)
    return verticals, vsize, taken


def _has_too_tall(hst: np.ndarray, hblob: np.ndarray, taken: np.ndarray, hi: float) -> bool:
    """Whether a horizontal blob left after the vertical words is taller than text."""
    kept = np.unique(hblob[~taken])
    kept = kept[kept != 0]
    return bool((hst[kept, 3] > hi).any())


def _horizontal_lines(shape: tuple[int, ...], stats: np.ndarray, ids: np.ndarray,
                      art: np.ndarray | None, hst: np.ndarray, hblob: np.ndarray,
                      taken: np.ndarray, cap_lo: float,
                      hi: float) -> tuple[list[Box], list[float]]:
    """The horizontal text lines (see :func:`text_regions`) from the glyphs'
    blobs ``hst`` (``hblob``: each glyph's), without the glyphs ``taken`` by
    vertical words: their boxes and median glyph heights."""
    horizontals: list[Box] = []
    hsize: list[float] = []

    def line(blob_stats, members) -> None:
        x, y, bw, bh = (float(v) for v in blob_stats[:4])
        horizontals.append(Box(x, y, x + bw, y + bh))
        # The median glyph height: a valve symbol beside a label must not
        # make the label look large.
        hsize.append(float(np.median(stats[members, 3])))

    keep_blob = np.zeros(len(hst), bool)
    keep_blob[hblob[~taken]] = True
    too_tall = np.zeros(len(ids), bool)  # glyphs of blobs taller than text
    for i in map(int, np.flatnonzero(keep_blob)):
        if i == 0:
            continue
        bh = int(hst[i, 3])
        if cap_lo <= bh <= hi:
            line(hst[i], ids[(hblob == i) & ~taken])
        elif bh > hi:
            too_tall |= (hblob == i) & ~taken
    if too_tall.any():
        # Lines of labels joined top to bottom by drawing marks of glyph size
        # that overlap two lines (a column of resistor bodies between their
        # names and values: R21A [] 33E / R21C [] 33E / ...) make one blob
        # taller than any text, which was dropped whole. Rebuilt without the
        # marks, the lines come apart (iCEBreaker schematic at 200 dpi: 73 of
        # its 471 upright codes lay in no region).
        assert art is not None  # found by the caller when a blob is too tall
        rest = ids[too_tall & ~art]
        if len(rest):
            _n4, rb, rst, _ = _blobs(shape, stats, rest, 0.6, 0)
            rblob = rb[stats[rest, 1] + stats[rest, 3] // 2, stats[rest, 0] + stats[rest, 2] // 2]
            for i in np.unique(rblob):
                if i and cap_lo <= int(rst[i, 3]) <= hi:
                    line(rst[i], rest[rblob == i])
    return horizontals, hsize


def _side_by_side(boxes: list[Box], sizes: list[float]) -> tuple[list[Box], list[float]]:
    """Vertical words next to each other (a part's name and value, C29 | 100n)
    as one region: turned upright, a two-line block the engine reads line by
    line, where one column's crop would hold a slice of its neighbour."""
    order = sorted(range(len(boxes)), key=lambda i: boxes[i].x0)
    out: list[tuple[Box, list[float]]] = []
    for i in order:
        b, sz = boxes[i], sizes[i]
        for k, (g, gs) in enumerate(out):
            gap = b.x0 - g.x1
            span = min(b.y1, g.y1) - max(b.y0, g.y0)
            if (gap <= SIDE_GAP * max(sz, max(gs)) and b.x1 > g.x0
                    and span >= 0.5 * min(b.height, g.height)):
                out[k] = (g.union(b), gs + [sz])
                break
        else:
            out.append((b, [sz]))
    return [g for g, _ in out], [float(np.median(gs)) for _, gs in out]


def vertical_text_regions(img: np.ndarray, dpi: float, *,
                          max_text_pt: float = MAX_TEXT_PT) -> list[Box]:
    """Only the vertical-text candidates of :func:`text_regions`."""
    return text_regions(img, dpi, max_text_pt=max_text_pt).vertical


@dataclass(frozen=True, slots=True)
class _Slot:
    """One crop placed in the mosaic: where it came from and how it was turned."""

    crop: Box  # in tile pixels
    angle: int  # text angle this slot reads (0, 90 or 270)
    x0: int  # top-left of the slot in the mosaic
    y0: int
    w: int  # the turned, scaled crop's size in the mosaic
    h: int
    scale: float  # how much the crop was enlarged
    sheet: int = 0  # which of the mosaic's images holds it


class Mosaic:
    """Text regions cut out, turned upright, enlarged, and stacked into one image.

    ``items`` are ``(region, angle)`` or ``(region, angle, text_height)``: the
    angle the text in the region runs at (0, 90 or 270), and its glyphs' height
    across the line in tile pixels. Each region is enlarged so its text is
    about ``glyph_px`` pixels tall (small text wants more pixels per glyph; at
    most ``max_scale``), grown by ``margin`` tile
    pixels of context, and stacked one per row with ``gap`` pixels of paper
    between rows.
    """

    def __init__(self, img: np.ndarray, items: list[tuple], *, margin: int,
                 gap: int, glyph_px: float = 36.0, max_scale: float = 4.0,
                 max_height: int = 8000) -> None:
        import cv2

        H, W = img.shape[:2]
        self.slots: list[_Slot] = []
        crops = [(it[0], it[1], it[2] if len(it) > 2 else None) for it in items]
        scales = []
        prepared = []
        paper = int(np.median(img))
        # A crop's margin of context shows none of the text of other lines:
        # lines of pin names 7 pt apart put half of the lines above and below
        # in a 2 pt margin, and their cut glyphs made Tesseract read ADBUS0
        # "ApBuso" and ACBUS1 "acsusi" (schematic 02). Regions beside the
        # crop on its own line stay (they may be the rest of its word).
        index = GridIndex(cell=max(8.0, 4.0 * margin))
        for i, (r, _a, _s) in enumerate(crops):
            index.add(i, r)
        for r, angle, size in crops:
            # The text's height across its line: given, else the region's height
            # (its width when the text runs vertically). Enlarge it to ``glyph_px``.
            text_h = size or (r.width if angle in (90, 270) else r.height)
            k = min(max_scale, max(1.0, glyph_px / max(1.0, text_h)))
            g = r.grow(margin)
            x0, y0 = max(0, int(g.x0)), max(0, int(g.y0))
            x1, y1 = min(W, int(np.ceil(g.x1))), min(H, int(np.ceil(g.y1)))
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            piece = _without_other_lines(img[y0:y1, x0:x1], Box(x0, y0, x1, y1), r, angle,
                                         [crops[j][0] for j in index.near(Box(x0, y0, x1, y1))],
                                         paper)
            turned = np.rot90(piece, k=-(angle // 90))
            if k != 1.0:
                turned = cv2.resize(turned, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
            prepared.append((Box(x0, y0, x1, y1), angle, k, np.ascontiguousarray(turned)))
            scales.append(k)
        # One crop per row: an engine sizes text per line, and a small label
        # beside a large one on a shared line is misread (measured). Rows go on
        # sheets no taller than ``max_height``: Tesseract refuses images over
        # 32767 px, and a dense schematic tile makes tens of thousands.
        self.sheets: list[np.ndarray] = []
        rows: list[tuple[_Slot, np.ndarray]] = []
        y, width = gap, gap

        def close_sheet() -> None:
            sheet = np.full((y, width), paper, dtype=np.uint8)
            for slot, piece in rows:
                sheet[slot.y0:slot.y0 + slot.h, slot.x0:slot.x0 + slot.w] = piece
            self.sheets.append(sheet)

        for crop, angle, k, turned in prepared:
            th, tw = turned.shape[:2]
            if rows and y + th + gap > max_height:
                close_sheet()
                rows, y, width = [], gap, gap
            slot = _Slot(crop, angle, gap, y, tw, th, k, len(self.sheets))
            self.slots.append(slot)
            rows.append((slot, turned))
            y += th + gap
            width = max(width, tw + 2 * gap)
        if rows:
            close_sheet()
        self.scale = float(np.median(scales)) if scales else 1.0  # for the engine's dpi

    @property
    def image(self) -> np.ndarray | None:
        """The first sheet (most tiles need only one); None when nothing was cut out."""
        return self.sheets[0] if self.sheets else None

    def piece(self, i: int) -> np.ndarray:
        """Slot ``i``'s crop as placed on its sheet: turned upright, enlarged (a view)."""
        s = self.slots[i]
        return self.sheets[s.sheet][s.y0:s.y0 + s.h, s.x0:s.x0 + s.w]

    def to_tile(self, box: Box, sheet: int = 0) -> tuple[Box, int, int] | None:
        """A box read on ``sheet`` -> (box in tile pixels, text angle, slot index).

        None when the box's centre is on no slot (the paper between them).
        """
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        for i, s in enumerate(self.slots):
            if s.sheet == sheet and s.x0 <= cx <= s.x0 + s.w and s.y0 <= cy <= s.y0 + s.h:
                k = s.scale
                local = Box(max(0.0, (box.x0 - s.x0) / k), max(0.0, (box.y0 - s.y0) / k),
                            min(s.w / k, (box.x1 - s.x0) / k), min(s.h / k, (box.y1 - s.y0) / k))
                cw, ch = int(s.crop.width), int(s.crop.height)
                back = rotate_image_box_back(local, s.angle, cw, ch)
                return (Box(back.x0 + s.crop.x0, back.y0 + s.crop.y0,
                            back.x1 + s.crop.x0, back.y1 + s.crop.y0), s.angle, i)
        return None


def _without_other_lines(piece: np.ndarray, at: Box, own: Box, angle: int,
                         others: list[Box], paper: int) -> np.ndarray:
    """``piece`` (the crop ``at``, tile pixels) with the regions of other lines
    painted paper outside ``own``: those overlapping ``own`` across the line
    (y for upright text, x for vertical) by less than half the thinner."""
    out = None
    for o in others:
        if o == own or o.intersection_area(at) <= 0:
            continue
        a0, a1, b0, b1 = ((own.y0, own.y1, o.y0, o.y1) if angle == 0
                          else (own.x0, own.x1, o.x0, o.x1))
        if min(a1, b1) - max(a0, b0) >= 0.5 * min(a1 - a0, b1 - b0):
            continue  # on the crop's own line
        if out is None:
            out = piece.copy()
        m = np.zeros(piece.shape[:2], dtype=bool)
        m[max(0, int(o.y0 - at.y0)):max(0, int(np.ceil(o.y1 - at.y0))),
          max(0, int(o.x0 - at.x0)):max(0, int(np.ceil(o.x1 - at.x0)))] = True
        m[max(0, int(own.y0 - at.y0)):max(0, int(np.ceil(own.y1 - at.y0))),
          max(0, int(own.x0 - at.x0)):max(0, int(np.ceil(own.x1 - at.x0)))] = False
        out[m] = np.maximum(out[m], paper)
    return piece if out is None else out


def flatten_background(img: np.ndarray, dpi: float, *,
                       max_text_pt: float = MAX_TEXT_PT) -> np.ndarray:
    """The tile divided by its own background, where the paper is not evenly light.

    A photo (a receipt on a grey table, a page in shadow) has "paper" darker
    than :data:`INK_LEVEL` in places: every later step would take it for ink,
    one huge blob, and find no text at all. The background is the image closed
    (dark marks up to the largest text's size filled in with what surrounds
    them), worked out at a quarter of the resolution; dividing by it makes
    every background white and keeps each mark's contrast with its own
    surroundings. Tiles whose background is light everywhere (scans, renders)
    are returned as they are.
    """
    import cv2

    if img.size == 0:
        return img
    small = cv2.resize(img, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    if small.size == 0:
        return img
    k = max(3, int(pt_to_px(max_text_pt, dpi) * 0.25) | 1)
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    bg = cv2.blur(bg, (k, k))
    if float(np.percentile(bg, 2)) >= FLAT_PAPER:
        return img
    bg = cv2.resize(bg, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    out = img.astype(np.float32) * 255.0 / np.maximum(bg.astype(np.float32), 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def clean_for_ocr(img: np.ndarray, dpi: float, *, max_text_pt: float = MAX_TEXT_PT) -> np.ndarray:
    """The tile with line art removed, so OCR sees only text-sized marks.

    Tesseract reads nothing in a crop where a tag sits inside an instrument
    bubble, and slows down on pipes and frames. Long straight runs (longer than
    the largest text) are lines; what is left and still larger than the largest
    text (circles, symbols, boxes) is art. Both are painted over in the paper's
    tone; glyphs that touched a straight line keep their own strokes.
    """
    import cv2

    ink = (img < INK_LEVEL).astype(np.uint8)
    if not ink.any():
        return img
    long = max(8, int(pt_to_px(max_text_pt, dpi)))
    lines = np.bitwise_or(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, long), np.uint8)),
                          cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((long, 1), np.uint8)))
    rest = np.bitwise_and(ink, 1 - lines).astype(np.uint8)
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
