"""Where a tile's text is: the connected-component rules, a learned detector, or both.

One entry point, :func:`find_text`, turns a rendered tile into the image the
recogniser reads and the :class:`~locator.regions.Regions` to cut from it,
by the ``detector`` setting:

* ``cc`` -- the connected-component rules of :mod:`locator.regions` alone
  (cheap; tuned on schematics and drawings);
* ``db`` -- the DBNet text detector that ships inside the ``rapidocr`` wheel
  (PP-OCR's ``*_det_*.onnx``), run on the CPU through onnxruntime directly:
  it finds text inside and touching line art, and text of any size, which
  the CC rules drop (they need a glyph to stand alone and be under
  ``max_text_pt``);
* ``cc+db`` -- both: the CC regions, plus every detector box that no CC
  region already covers, so what the rules already find is read as before.

Before either, faint ink is made dark (:func:`darken_faint_ink`): coloured
thin text rendered grey (cyan is ~180, thin green strokes 215-235 on white)
lies above the fixed ink level and was lost whole (P&ID 09 at 200 dpi grey:
recall 0.125). Everything here is in the tile image's pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from locator.errors import MissingEngineError
from locator.geometry import Box, pt_to_px
from locator.settings import DETECTORS
from locator.tiling import GLYPH_MIN_INK_PT2, GLYPH_MIN_PT
from locator.regions import (INK_LEVEL, Regions, clean_for_ocr, flatten_background,
                             text_regions)


# A mark this much darker than the (flat) paper is ink, however faint (grey
# levels): cyan 4.6 pt text at 200 dpi grey is 228-250 on 255.
FAINT_DELTA = 8
# A mark whose darkest pixel is lighter than this is faint (cyan renders
# at ~180, thin strokes of it at 140-230 with anti-aliasing; a thin black
# stroke's core is under 80), and is stretched so its darkest pixel gets
# DARKENED: about the darkness of a thin black stroke.
FAINT_DARKEST, DARKENED = 100, 40
# Only tiles whose paper is a flat tone are darkened: a render, or a scan
# after flatten_background. On a grainy scan faint specks are noise.
FLAT_SHARE = 0.5
# DB post-processing, as rapidocr's defaults for its PP-OCR detector.
DB_THRESH, DB_BOX_THRESH, DB_UNCLIP = 0.3, 0.5, 1.6
# How much the detector enlarges (or shrinks) the tile, per detector choice.
# Alone it must see small text (4.6 pt is 13 px at 200 dpi): full size,
# ~3 s a 1600 px tile. Beside the CC rules it is there for what they miss --
# title-block and large text, text touching line art -- which it still finds
# at half size (P&ID 10's 8 pt title block: the same box) for ~1/5 the time.
DB_SCALE = {"db": 1.0, "cc+db": 0.5}
# A detector box already covered this much by CC regions adds nothing.
COVERED = 0.6
# A detector box this much taller than wide is vertical text (read turned).
TALL = 1.5


def darken_faint_ink(img: np.ndarray, dpi: float) -> np.ndarray:
    """Faint marks on flat paper stretched dark; dark marks and paper unchanged.

    Each connected mark at least :data:`FAINT_DELTA` darker than the paper
    whose darkest pixel is still lighter than :data:`FAINT_DARKEST` (coloured
    thin text in grey) is stretched towards black about the paper's tone, so
    its darkest pixel becomes :data:`DARKENED`: the region finder sees it as
    ink and the recogniser reads dark text. Marks that already hold ink keep
    every pixel (their anti-aliased edges are not thickened). Only faint
    marks in groups of glyph size count (:func:`_glyph_sized_groups`), not a
    scan's grain.
    """
    import cv2

    if img.size == 0 or int(img.min()) > 255 - FAINT_DELTA:  # nothing darker than paper
        return img
    # The paper's tone from every 4th pixel each way: a full median of a
    # 1600 px tile costs ~20 ms, and most tiles have no faint ink at all.
    sample = img[::4, ::4]
    paper = int(np.median(sample))
    if paper < INK_LEVEL + FAINT_DELTA:
        return img
    if np.mean(np.abs(sample.astype(np.int16) - paper) <= 3) < FLAT_SHARE:
        return img
    mask = img < paper - FAINT_DELTA
    if not mask.any():
        return img
    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    # Marks holding a dark pixel are left alone; the per-mark minimum is taken
    # over the faint marks' few pixels only (np.minimum.at is slow).
    faint = np.bincount(labels[img < FAINT_DARKEST], minlength=n) == 0
    faint[0] = False
    if not faint.any():  # every mark holds dark ink (20 of the A0's 35 tiles)
        return img
    faint &= _glyph_sized_groups(faint[labels], labels, n, dpi)
    if not faint.any():
        return img
    sel = faint[labels] & (img < paper)
    darkest = np.full(n, 255, np.int32)
    np.minimum.at(darkest, labels[sel], img[sel])
    gain = (paper - DARKENED) / np.maximum(1, paper - darkest[labels[sel]])
    out = img.copy()
    stretched = paper - (paper - img[sel].astype(np.float32)) * gain
    out[sel] = np.clip(stretched, 0, 255).astype(np.uint8)
    return out


def _glyph_sized_groups(faint_px: np.ndarray, labels: np.ndarray, n: int,
                        dpi: float) -> np.ndarray:
    """Which of the ``n`` marks (``labels``) belong to a group of faint marks of
    glyph size: marks within half a point of each other form a group (the
    pieces of one thin light glyph, broken where its strokes are lighter than
    the threshold), and a group counts when it is as long and holds as much ink
    as the blank test's smallest glyph (:data:`~locator.tiling.GLYPH_MIN_PT`,
    :data:`~locator.tiling.GLYPH_MIN_INK_PT2`). A scan's grain -- specks of a
    few pixels -- forms few such groups, and where specks outnumber the groups
    the paper is grainy and nothing is kept: made black, grain buried the text
    of a noisy scan (the generated A0 at 200 dpi: 84 of 120 codes found with
    every speck darkened, 118 without)."""
    import cv2

    px_per_pt = dpi / 72.0
    reach = max(1, int(round(0.5 * px_per_pt)))
    # Only the box around the faint pixels, with room for the halo and a pixel
    # of paper beyond it: the groups and their sizes are those of the whole
    # tile (a tile with a few faint marks costs a few of its pixels).
    rows, cols = np.flatnonzero(faint_px.any(axis=1)), np.flatnonzero(faint_px.any(axis=0))
    m = reach + 1
    box = (slice(max(0, rows[0] - m), rows[-1] + m + 1), slice(max(0, cols[0] - m), cols[-1] + m + 1))
    faint_px, labels = faint_px[box], labels[box]
    near = cv2.dilate(faint_px.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8))
    g, groups, stats, _ = cv2.connectedComponentsWithStats(near, connectivity=8)
    ink = np.bincount(groups[faint_px], minlength=g)  # the faint pixels themselves, not the halo
    long = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) - 2 * reach
    ok = (long >= GLYPH_MIN_PT * px_per_pt) & (ink >= GLYPH_MIN_INK_PT2 * px_per_pt * px_per_pt)
    ok[0] = False
    keep = np.zeros(n, bool)
    if int(ok.sum()) < g - 1 - int(ok.sum()):
        # More specks than glyph-sized groups: grainy paper, where the "groups"
        # are mostly specks that happen to lie close (the A0 scan: 306 groups
        # among 2839 specks on one tile, 111 codes found with them darkened).
        # A clean render of coloured ink has next to no specks.
        return keep
    keep[labels[faint_px][ok[groups[faint_px]]]] = True
    return keep


def reading_weight(text: str, conf: float) -> float:
    """How much a read counts when the directions of a vertical candidate compete:
    its confidence times its letters and digits. Punctuation does not count: a
    turned valve tag read upright is a column of brackets and dashes
    (``Ke)``, ``i=)``, ``j=)``, ``>`` for ``V005`` on P&ID 10), which outweighed
    the right turned read when every character counted."""
    return conf * sum(ch.isalnum() for ch in text)


@dataclass(frozen=True, slots=True)
class TextFinding:
    """What :func:`find_text` found: the image to read and where its text is.

    ``image`` is the tile prepared for the recogniser (faint ink darkened,
    line art painted out, marks that lie wholly inside a box only the
    detector found put back); ``regions`` in its pixels."""

    image: np.ndarray
    regions: Regions


class DbDetector:
    """PP-OCR's DBNet text detector from the rapidocr wheel, on onnxruntime.

    Loaded once per process (the model is read from rapidocr's own
    ``models/`` folder: nothing is downloaded); :meth:`boxes` returns
    upright text boxes in the image's pixels. ``scale`` enlarges the image
    before detection (the model sees text best at 20-40 px; small text at
    200 dpi is 10-13 px).
    """

    def __init__(self, *, scale: float = 1.0, threads: int = 1) -> None:
        self.scale = scale
        self._session = _session(threads)
        from rapidocr.ch_ppocr_det.utils import DBPostProcess  # rapidocr's own unclip

        self._post = DBPostProcess(thresh=DB_THRESH, box_thresh=DB_BOX_THRESH,
                                   unclip_ratio=DB_UNCLIP, use_dilation=True)

    def boxes(self, img: np.ndarray) -> list[Box]:
        """Text boxes of a grey ``uint8`` image, axis-aligned, in its pixels."""
        import cv2

        h, w = img.shape[:2]
        rh = max(32, int(round(h * self.scale / 32)) * 32)
        rw = max(32, int(round(w * self.scale / 32)) * 32)
        small = cv2.resize(img, (rw, rh), interpolation=cv2.INTER_LINEAR)
        # The model's normalisation (mean 0.5, std 0.5 per channel), grey as RGB.
        x = (small.astype(np.float32) / 127.5 - 1.0)[None, None]
        x = np.ascontiguousarray(np.repeat(x, 3, axis=1))
        pred = self._session.run(None, {self._session.get_inputs()[0].name: x})[0]
        quads, _scores = self._post(pred, (h, w))
        out: list[Box] = []
        for q in quads:
            x0, y0 = float(q[:, 0].min()), float(q[:, 1].min())
            x1, y1 = float(q[:, 0].max()), float(q[:, 1].max())
            if x1 - x0 >= 2 and y1 - y0 >= 2:
                out.append(Box(x0, y0, x1, y1))
        return out


_sessions: dict[int, Any] = {}


def _session(threads: int) -> Any:
    """The detector's onnxruntime session, one per process (a cache, not state:
    results never depend on it; loading costs ~0.3 s)."""
    if threads not in _sessions:
        try:
            import onnxruntime as ort
            import rapidocr
        except ImportError as e:
            raise MissingEngineError(
                f"detector db: the RapidOCR extra is not installed ({e.name or e}); "
                "pip install 'locator[rapidocr]'") from e
        from pathlib import Path

        models = sorted((Path(rapidocr.__file__).parent / "models").glob("*det*.onnx"))
        if not models:
            raise MissingEngineError("detector db: rapidocr ships no detection model "
                                     f"in {Path(rapidocr.__file__).parent / 'models'}")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        _sessions[threads] = ort.InferenceSession(str(models[-1]), so,
                                                  providers=["CPUExecutionProvider"])
    return _sessions[threads]


def _text_height(box: Box, vertical: bool) -> float:
    """The text's height across its line in a detector box: the box less the
    unclip margin DB adds around the text (about a third of it)."""
    return (box.width if vertical else box.height) / 1.4


def _add_detected(regs: Regions, boxes: list[Box], shape: tuple[int, ...]
                  ) -> tuple[Regions, list[Box]]:
    """CC regions plus the detector boxes they do not already cover; returns the
    new regions and the boxes that were added. Every CC region stays, also
    those inside an added box: a detector box may hold several lines or a
    line and its neighbour (then its text height is wrong, and its crop read
    too small), and dropping the CC lines inside it lost what the rules alone
    had read (P&ID 15 at 200 dpi: recall 0.818 with cc, 0.500 with cc+db)."""
    cc = regs.horizontal + regs.vertical
    H, W = shape[:2]
    added: list[Box] = []
    hz_new: list[tuple[Box, float]] = []
    vt_new: list[tuple[Box, float]] = []
    for b in boxes:
        b = Box(max(0.0, b.x0), max(0.0, b.y0), min(float(W), b.x1), min(float(H), b.y1))
        covered = sum(b.intersection_area(r) for r in cc)
        # A box holding a CC vertical candidate is that candidate: a short
        # vertical word (N7) makes a near-square box the detector calls upright.
        if covered >= COVERED * b.area or any(r.ios(b) > 0.5 for r in regs.vertical):
            continue
        added.append(b)
        if b.height >= TALL * b.width:
            vt_new.append((b, _text_height(b, True)))
        else:
            hz_new.append((b, _text_height(b, False)))

    hz = list(zip(regs.horizontal, regs.horizontal_size)) + hz_new
    vt = list(zip(regs.vertical, regs.vertical_size)) + vt_new
    return Regions([r for r, _ in hz], [r for r, _ in vt],
                   [h for _, h in hz], [h for _, h in vt]), added


def _restore_inside(ready: np.ndarray, raw: np.ndarray, boxes: list[Box],
                    pad: float) -> np.ndarray:
    """``ready`` with the marks of ``raw`` that lie wholly inside one of ``boxes``
    (grown by ``pad`` px) put back: glyphs larger than ``max_text_pt``, which
    cleaning took for art. A mark reaching outside (a bubble's outline, a pipe)
    stays painted out."""
    import cv2

    ink = (raw < INK_LEVEL).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    x0, y0 = stats[:, 0], stats[:, 1]
    x1, y1 = x0 + stats[:, 2], y0 + stats[:, 3]
    inside = np.zeros(n, bool)
    for b in boxes:
        inside |= ((x0 >= b.x0 - pad) & (y0 >= b.y0 - pad)
                   & (x1 <= b.x1 + pad) & (y1 <= b.y1 + pad))
    inside[0] = False
    if not inside.any():
        return ready
    mask = cv2.dilate(inside[labels].astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    out = ready.copy()
    out[mask] = raw[mask]
    return out


def find_text(img: np.ndarray, dpi: float, *, detector: str = "cc", clean: bool = True,
              max_text_pt: float = 24.0, vertical: bool = True, regions: bool = True,
              db: DbDetector | None = None, darkened: bool = False) -> TextFinding:
    """The tile prepared for reading and its text regions, by ``detector``.

    ``img`` is the rendered grey tile. With ``clean``, an uneven background
    is flattened and line art painted out (:mod:`locator.regions`) before the
    CC rules look; the detector looks at the uncleaned tile (it tells text
    from line art itself), and marks wholly inside the boxes only it found
    are put back, so title-block text larger than ``max_text_pt`` reaches the
    recogniser whole.
    ``regions=False``: only the prepared image (the tile is read whole).
    ``darkened``: ``img`` has been through :func:`darken_faint_ink` already (the
    pipeline's render does it, for the blank test); it is not done again unless
    flattening the background changed the image (a second pass over the same
    image changes nothing: what it darkened is dark now).
    """
    if detector not in DETECTORS:
        raise ValueError(f"detector {detector!r}: choose one of {', '.join(DETECTORS)}")
    raw = flatten_background(img, dpi, max_text_pt=max_text_pt) if clean else img
    if not (darkened and raw is img):
        raw = darken_faint_ink(raw, dpi)
    ready = clean_for_ocr(raw, dpi, max_text_pt=max_text_pt) if clean else raw
    if not regions:
        return TextFinding(ready, Regions([], []))
    regs = (text_regions(ready, dpi, max_text_pt=max_text_pt, vertical=vertical)
            if detector != "db" else Regions([], []))
    if detector == "cc":
        return TextFinding(ready, regs)
    boxes = (db or DbDetector(scale=DB_SCALE[detector])).boxes(raw)
    regs, added = _add_detected(regs, boxes, raw.shape)
    if added and ready is not raw:
        ready = _restore_inside(ready, raw, added, pt_to_px(1, dpi))
    return TextFinding(ready, regs)
