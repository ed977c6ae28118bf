"""Line boxes -> tight word boxes, for engines that read lines (EasyOCR, RapidOCR).

Deep-learning readers return one box per *line* (a quadrilateral, padded by
the detector) and its text, which may hold several words. The matcher needs a
tight box per word, so this module cuts the line where the image has the
spaces: it binarises the crop, takes the column ink profile, and places each
word boundary at the widest blank gap near where the character counts expect
it. Every box is then shrunk to the ink it holds. When the crop has no usable
ink (a blank or very low-contrast crop) the width is shared out by character
counts instead.

Pure numpy; boxes are in the engine's image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from locator.engines.base import OcrWord
from locator.geometry import Box

# A quad whose edges lean less than this (as rise over run) is treated as an
# axis-aligned rectangle: its bounding box is the line.
_MAX_SLANT = 0.08
# Weight of "distance from the expected boundary, in characters" against "gap
# width, in line heights" when choosing where two words part.
_DISTANCE_WEIGHT = 0.1
_BORDER = 2.0  # px: a line box this close to the image's edge runs into it
_MIN_CONTRAST = 40  # grey levels between ink and paper for the ink profile to count
# A dropped space is put back at a blank gap this wide (in text heights) when
# the characters on either side sit further apart than usual (this factor of
# the line's median character pitch), or at any gap _WIDE_GAP wide.
_SPACE_GAP = 0.44
_SPACE_PITCH = 1.1
_WIDE_GAP = 0.58


def otsu_threshold(grey: np.ndarray) -> int:
    """Otsu's threshold of a ``uint8`` array (pixels ``< t`` are ink)."""
    hist = np.bincount(grey.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    w0 = np.cumsum(hist)
    m0 = np.cumsum(hist * levels)
    w1 = total - w0
    mean_all = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_all * w0 - m0 * total) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0
    return int(np.argmax(between)) + 1


def ink_mask(crop: np.ndarray) -> np.ndarray | None:
    """Dark pixels of a grey crop, isolated specks removed; None when the crop is flat."""
    if crop.size == 0 or int(crop.max()) - int(crop.min()) < _MIN_CONTRAST:
        return None
    ink = crop < otsu_threshold(crop)
    # A scan's salt noise: keep an ink pixel only when one of its 8 neighbours is ink.
    p = np.pad(ink, 1)
    neighbours = (p[:-2, :-2] | p[:-2, 1:-1] | p[:-2, 2:] | p[1:-1, :-2] | p[1:-1, 2:]
                  | p[2:, :-2] | p[2:, 1:-1] | p[2:, 2:])
    return ink & neighbours


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``[start, end)`` runs of True in a 1-D boolean array."""
    if flags.size == 0:
        return []
    d = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


# Ink rows closer than this share of the taller neighbour band belong to one
# line (an i's dot, an accent, a colon's two dots).
_BAND_JOIN = 0.25
# A band shorter than this share of the crop's tallest is a speck, or, at the
# crop's top or bottom edge, a fragment of the next line cut by the margin.
_BAND_MIN = 0.35
_EDGE_BAND_MIN = 0.6
_BAND_PAD = 0.2  # of the band's height, paper kept above and below it


def line_bands(grey: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Each text line in a grey crop whose text runs left to right, top line
    first: its rows ``[y0, y1)`` and ink columns ``[x0, x1)``, padded with a
    little paper.

    For a recogniser that reads one line per image: a crop that is a column
    of short labels is cut into its lines, and the pieces of neighbouring
    lines a crop's margin takes in at its top or bottom edge are left out.
    Empty when the crop holds no ink (nothing to read).
    """
    ink = ink_mask(grey)
    if ink is None:
        return []
    runs = _runs(np.asarray(ink.any(axis=1)))
    if not runs:
        return []
    bands = [list(runs[0])]
    for a, b in runs[1:]:
        last = bands[-1]
        if a - last[1] < _BAND_JOIN * max(last[1] - last[0], b - a):
            last[1] = b
        else:
            bands.append([a, b])
    tallest = max(b - a for a, b in bands)
    H, W = grey.shape[:2]
    out = []
    for a, b in bands:
        h = b - a
        at_edge = a == 0 or b == H
        if h < _BAND_MIN * tallest or (at_edge and len(bands) > 1 and h < _EDGE_BAND_MIN * tallest):
            continue
        # The recogniser's time grows with the line's length: paper left and
        # right of the ink is cut off too (16 % of the columns on P&ID 10).
        cols = np.flatnonzero(ink[a:b].any(axis=0))
        pad = max(2, round(_BAND_PAD * h))
        out.append((max(0, a - pad), min(H, b + pad),
                    max(0, int(cols[0]) - 2 * pad), min(W, int(cols[-1]) + 1 + 2 * pad)))
    return out


def _row_extent(ink: np.ndarray, h: int) -> tuple[int, int] | None:
    """Rows of the text in ``ink`` (a word's columns): the inkiest run of rows and
    the runs close above or below it (an i's dot, a colon), not a neighbour line."""
    counts = ink.sum(axis=1)
    runs = _runs(counts > 0)
    if not runs:
        return None
    best = max(range(len(runs)), key=lambda i: counts[runs[i][0]:runs[i][1]].sum())
    top, bottom = runs[best]
    join = max(2, int(0.25 * h))
    for s, e in reversed(runs[:best]):
        if top - e <= join:
            top = s
        else:
            break
    for s, e in runs[best + 1:]:
        if s - bottom <= join:
            bottom = e
        else:
            break
    return top, bottom


def _tokens(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text`` with their ``[start, end)`` character indices."""
    out, i = [], 0
    for part in text.split(" "):
        if part.strip():
            out.append((part, i, i + len(part)))
        i += len(part) + 1
    return out


def _respace(ink: np.ndarray, text: str, xs: list[float]) -> tuple[str, list[float]]:
    """Put back the spaces a recogniser left out, where the ink has a word gap.

    ``xs`` is each character's centre (crop columns) from the recogniser's
    alignment. A blank gap in the column profile at least 0.58 of the text
    height wide is a space, and so is one at least 0.44 wide between two
    characters whose centres sit 1.1x further apart than the line's median pitch
    (measured on Helvetica, Courier and Times labels at 4.5-8 pt, 200 dpi: word
    gaps 0.44-1.5 text heights, gaps inside words up to 0.55, e.g. ``V1`` in
    Courier, ``71`` in Helvetica; a false space costs little, since the
    matcher also joins neighbouring words). ``TAG4410B`` -> ``TAG 4410 B``.
    """
    rows = _row_extent(ink, ink.shape[0])
    if rows is None or len(text) < 2:
        return text, xs
    h = rows[1] - rows[0]
    runs = _runs(ink.any(axis=0))  # type: ignore[arg-type]  # numpy stubs: a scalar maybe; ink is 2-D
    pitches = [xs[i + 1] - xs[i] for i in range(len(text) - 1)
               if text[i] != " " and text[i + 1] != " "]
    pitch = float(np.median(pitches)) if pitches else 0.0
    inserts = []
    for (_, s), (t, _) in zip(runs[:-1], runs[1:]):
        width, centre = t - s, (s + t) / 2
        if width < _SPACE_GAP * h:
            continue
        k = int(np.searchsorted(xs, centre))  # characters left of the gap
        if not 0 < k < len(text) or text[k - 1] == " " or text[k] == " ":
            continue
        if width >= _WIDE_GAP * h or xs[k] - xs[k - 1] >= _SPACE_PITCH * pitch:
            inserts.append((k, centre))
    for k, centre in reversed(inserts):
        text = text[:k] + " " + text[k:]
        xs = xs[:k] + [centre] + xs[k:]
    return text, xs


def _cut_positions(cols: np.ndarray, text: str, xs: list[float] | None,
                   height: int) -> list[float] | None:
    """Where the line parts into its words: one x per boundary (crop columns).

    ``cols`` is the boolean column ink profile; ``xs`` the characters' centres
    when the recogniser gave them, else boundaries are expected where the
    character counts put them. Returns None when the crop has no ink at all.
    """
    runs = _runs(cols)
    if not runs:
        return None
    first, last = runs[0][0], runs[-1][1]
    toks = _tokens(text)
    span = toks[-1][2] - toks[0][1]
    char_w = (last - first) / max(1, span)
    expected = []
    for (_, _, end), (_, start, _) in zip(toks[:-1], toks[1:]):
        if xs is not None:
            expected.append((xs[end - 1] + xs[start]) / 2)
        else:  # the middle of the spaces, by character count
            expected.append(first + ((end + start) / 2 - toks[0][1]) * char_w)
    gaps = [(runs[i][1], runs[i + 1][0]) for i in range(len(runs) - 1)]
    cuts: list[float] = []
    g0 = 0  # gaps before g0 are used up (boundaries stay in reading order)
    for k, e in enumerate(expected):
        remaining = len(expected) - k - 1
        best, best_score = None, -np.inf
        for gi in range(g0, len(gaps) - remaining):
            s, t = gaps[gi]
            score = (t - s) / max(1, height) - _DISTANCE_WEIGHT * abs((s + t) / 2 - e) / max(1e-6, char_w)
            if score > best_score:
                best, best_score = gi, score
        if best is None:  # fewer gaps than spaces: share out by characters
            prev = cuts[-1] if cuts else first
            cuts.append(max(prev, e))
            continue
        s, t = gaps[best]
        cuts.append((s + t) / 2)
        g0 = best + 1
    return cuts


def _split_upright(crop: np.ndarray, text: str, xs: list[float] | None = None,
                   ) -> list[tuple[str, float, float, float, float]]:
    """Split an upright line crop into word boxes ``(text, x0, y0, x1, y1)`` in crop pixels.

    ``xs``: each character's centre in crop columns, when known.
    """
    h, w = crop.shape[:2]
    ink = ink_mask(crop)
    if ink is not None and xs is not None:
        text, xs = _respace(ink, text, xs)
    tokens = [t for t, _, _ in _tokens(text)]
    cols = ink.any(axis=0) if ink is not None else None
    cuts = (_cut_positions(cols, text, xs, h)  # type: ignore[arg-type]  # (as in _respace)
            if cols is not None else None)
    if cuts is None:  # no ink: proportional by characters over the whole box
        joined = " ".join(tokens)
        out, pos = [], 0
        for t in tokens:
            a, b = pos / len(joined) * w, (pos + len(t)) / len(joined) * w
            out.append((t, a, 0.0, b, float(h)))
            pos += len(t) + 1
        return out
    assert ink is not None  # cuts come from its columns
    bounds = [0.0, *cuts, float(w)]
    out = []
    for t, a, b in zip(tokens, bounds[:-1], bounds[1:]):
        ia, ib = int(np.floor(a)), int(np.ceil(b))
        sub = ink[:, ia:ib]
        cs = np.flatnonzero(sub.any(axis=0))
        if cs.size == 0:  # this word's share holds no ink: keep the share
            out.append((t, a, 0.0, b, float(h)))
            continue
        sub = sub[:, cs[0]: cs[-1] + 1]
        rows = _row_extent(sub, h) or (0, h)
        out.append((t, float(ia + cs[0]), float(rows[0]), float(ia + cs[-1] + 1), float(rows[1])))
    return out


def _trim_edges(crop: np.ndarray, keep_start: bool = False,
                keep_end: bool = False) -> tuple[int, int]:
    """Columns ``[a, b)`` of the crop without ink that only touches its padded margins.

    Detectors pad line boxes; a neighbour's glyph edge inside that padding, set
    apart by blank columns, does not belong to the line. A side where the line
    runs into the image's border (``keep_start``/``keep_end``) keeps its ink:
    there it is the visible part of a glyph the tile edge cut.
    """
    h, w = crop.shape[:2]
    ink = ink_mask(crop)
    if ink is None:
        return 0, w
    runs = _runs(ink.any(axis=0))  # type: ignore[arg-type]  # numpy stubs: a scalar maybe; ink is 2-D
    if len(runs) < 2:
        return 0, w
    band = max(1, int(0.12 * h))
    a, b = 0, w
    if not keep_start and runs[0][1] <= band and runs[1][0] - runs[0][1] >= 1:
        a = runs[0][1]
    if not keep_end and runs[-1][0] >= w - band and runs[-1][0] - runs[-2][1] >= 1:
        b = runs[-1][0]
    return a, b


def _reach_borders(words: list[OcrWord], touch: tuple[bool, bool, bool, bool],
                   W: int, H: int) -> list[OcrWord]:
    """Stretch the words at a side where the line ran into the image border to it.

    A word the tile edge cut may end in a blank gap short of the edge (the cut
    fell between two letters); its box must still touch the edge, so the
    pipeline knows it is cut and prefers the neighbouring tile's whole read.
    ``touch`` is (left, top, right, bottom).
    """
    if not words or not any(touch):
        return words
    left, top, right, bottom = touch
    size = max(1.0, min(max(w.box.height for w in words), max(w.box.width for w in words)))
    lo_x, lo_y = min(w.box.x0 for w in words), min(w.box.y0 for w in words)
    hi_x, hi_y = max(w.box.x1 for w in words), max(w.box.y1 for w in words)
    out = []
    for w in words:
        b = w.box
        b = Box(0.0 if left and b.x0 <= lo_x + size / 2 else b.x0,
                0.0 if top and b.y0 <= lo_y + size / 2 else b.y0,
                float(W) if right and b.x1 >= hi_x - size / 2 else b.x1,
                float(H) if bottom and b.y1 >= hi_y - size / 2 else b.y1)
        out.append(OcrWord(w.text, w.conf, b))
    return out


def split_line(grey: np.ndarray, quad: Sequence[Sequence[float]], text: str,
               conf: float, *, char_pos: Sequence[float] | None = None,
               turned: bool | None = None) -> list[OcrWord]:
    """One detected line -> its words with tight boxes (image pixels).

    ``quad`` is the line's four corners ``[[x, y], ...]`` in ``grey``'s pixels
    (any order), ``text`` what was read there, ``conf`` 0-100 (every word of
    the line gets it). ``char_pos``, when the recogniser gives it, is each
    character's centre as a fraction (0-1) of the line's length in reading
    order: it places the cuts and lets spaces the recogniser dropped be put
    back where the ink has them. A line that stands upright (taller than 1.5x
    its width) was read turned counter-clockwise, top to bottom, as detectors
    crop it, and is split along its height; ``turned`` says so instead where
    the caller knows (False: the text runs left to right, however short).
    """
    if not text.strip():
        return []
    if char_pos is not None and len(char_pos) != len(text):
        char_pos = None
    tokens = text.split()
    pts = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    H, W = grey.shape[:2]
    x0, y0 = max(0.0, pts[:, 0].min()), max(0.0, pts[:, 1].min())
    x1, y1 = min(float(W), pts[:, 0].max()), min(float(H), pts[:, 1].max())
    if x1 - x0 < 1 or y1 - y0 < 1:
        return []
    ix0, iy0, ix1, iy1 = int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))
    if not _is_axis_aligned(pts):
        return _split_slanted(pts, tokens, conf, W, H)
    crop = grey[iy0:iy1, ix0:ix1]
    if crop.ndim == 3:
        crop = crop.mean(axis=2).astype(np.uint8)
    upright = (crop.shape[0] >= 1.5 * crop.shape[1] and len(text) > 1
               if turned is None else turned)
    if upright:
        # Turned counter-clockwise: turned[i, j] == crop[j, w - 1 - i], so
        # turned columns are crop rows and turned rows are crop columns
        # counted from the right.
        crop = np.rot90(crop)
    # Sides where the line runs into the image border: a tile edge may cut it there.
    touch = (x0 <= _BORDER, y0 <= _BORDER, x1 >= W - _BORDER, y1 >= H - _BORDER)
    start, end = (touch[1], touch[3]) if upright else (touch[0], touch[2])
    a, b = _trim_edges(crop, start, end)
    xs = None
    if char_pos is not None:
        xs = [float(f) * crop.shape[1] - a for f in char_pos]
    parts = _split_upright(crop[:, a:b], text, xs)
    if upright:
        cw = ix1 - ix0
        words = [OcrWord(t, conf, Box(ix0 + cw - v1, iy0 + a + u0, ix0 + cw - v0, iy0 + a + u1))
                 for t, u0, v0, u1, v1 in parts]
    else:
        words = [OcrWord(t, conf, Box(ix0 + a + u0, iy0 + v0, ix0 + a + u1, iy0 + v1))
                 for t, u0, v0, u1, v1 in parts]
    return _reach_borders(words, touch, W, H)


def _is_axis_aligned(pts: np.ndarray) -> bool:
    if len(pts) != 4:
        return True
    # The longest edge's slant tells whether the line is tilted.
    edges = [pts[(i + 1) % 4] - pts[i] for i in range(4)]
    dx, dy = max(edges, key=lambda e: float(np.hypot(*e)))
    dx, dy = abs(dx), abs(dy)
    return min(dx, dy) <= _MAX_SLANT * max(dx, dy, 1e-9)


def _split_slanted(pts: np.ndarray, tokens: Sequence[str], conf: float,
                   W: int, H: int) -> list[OcrWord]:
    """A tilted line: share its length out by character counts along the slant."""
    # Order corners: the longest edge runs along the text; start at its left end.
    c = pts.mean(axis=0)
    order = np.argsort(np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0]))
    p = pts[order]  # counter-clockwise in image coordinates starting at some corner
    lengths = [np.hypot(*(p[(i + 1) % 4] - p[i])) for i in range(4)]
    i = int(np.argmax(lengths))
    a, b = p[i], p[(i + 1) % 4]
    d, e = p[(i + 3) % 4], p[(i + 2) % 4]  # the opposite edge, same direction
    if a[0] > b[0]:
        a, b, d, e = e, d, b, a
    joined = " ".join(tokens)
    out, pos = [], 0
    for t in tokens:
        f0, f1 = pos / len(joined), (pos + len(t)) / len(joined)
        corners = np.array([a + (b - a) * f0, a + (b - a) * f1, d + (e - d) * f0, d + (e - d) * f1])
        out.append(OcrWord(t, conf, Box(max(0.0, corners[:, 0].min()), max(0.0, corners[:, 1].min()),
                                        min(float(W), corners[:, 0].max()),
                                        min(float(H), corners[:, 1].max()))))
        pos += len(t) + 1
    return out
