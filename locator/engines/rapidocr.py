"""RapidOCR: PaddleOCR's PP-OCR models (DB detector + SVTR recogniser) on onnxruntime.

The ``rapidocr`` wheel (3.x) ships its default models in its own
``rapidocr/models/`` folder in site-packages (PP-OCRv6 small detector and
recogniser, the recogniser's character list inside the ONNX file), and
RapidOCR checks each file's SHA-256 there before use: nothing is downloaded at
run time (``tests/test_engines.py`` reads with the network blocked). Only a
missing or damaged model file would make RapidOCR fetch it again from its
model hub; where that fails (offline), loading is a
:class:`MissingEngineError` naming the reinstall. The package depends on
``opencv-python-headless`` (not the GUI build), like locator itself.

Three of RapidOCR's defaults hurt small text on tiles or cost time for nothing
and are changed here: images longer than 2000 px are shrunk before detection
(``max_side_len`` is raised so a tile is read at its own size), images under
736 px are enlarged (off: the pipeline already enlarges text), and the
0/180-degree direction classifier is off -- text directions are the pipeline's
job (its rotation passes). The detector runs on the image shrunk to
``detect_dpi``, the recogniser on lines cut from the image as given. Like
EasyOCR it returns line boxes, cut into tight word boxes by
:func:`locator.engines._split.split_line`.

The pipeline has found the text already (its regions, cut out and enlarged
into a mosaic): RapidOCR ``recognises_lines``, so the pipeline hands it each
region's crop and only the recogniser runs (:meth:`RapidOcrEngine.recognise`);
the DB detector, most of ``read``'s time, runs only inside a crop whose
tall band the recogniser read badly. ``read`` (detector and recogniser) is
for whole images: dense tiles, upside-down reads, ``text_regions`` off.

One RapidOCR object per process and settings, created on the first read.
Only this file imports rapidocr (and through it onnxruntime, cv2).
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any

import numpy as np

from locator.engines._heap import trim_heap
from locator.engines._split import line_bands, split_line
from locator.engines.base import EngineBase, OcrWord
from locator.errors import EngineError, MissingEngineError
from locator.geometry import Box

INSTALL_HINT = "pip install 'locator[rapidocr]'"

_ENGINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()
_RIM = 4  # px of paper put around a recognised band (see RapidOcrEngine.recognise)
# A band this many times taller than the median band of one recognise call
# may hold several lines (see RapidOcrEngine.recognise).
_TALL_BAND = 2.0


def _weight(lines: list[tuple]) -> float:
    """How much confident text ``(quad, text, score, pos)`` lines hold."""
    return sum(score * len(text.strip()) for _q, text, score, _p in lines)


def _import():
    # rapidocr imports onnxruntime only when it builds a session: import it
    # here, so a missing runtime is the same clear error as a missing rapidocr.
    try:
        import onnxruntime  # noqa: F401
        import rapidocr
    except ImportError as e:
        raise MissingEngineError(
            f"rapidocr: the RapidOCR extra is not installed ({e.name or e}); {INSTALL_HINT}") from e
    return rapidocr


def _engine(threads: int, max_side: int, min_side: int):
    key = (threads, max_side, min_side)
    with _LOCK:
        if key not in _ENGINES:
            mod = _import()
            try:
                eng = mod.RapidOCR(params={
                    "Global.use_cls": False, "Global.max_side_len": max_side,
                    "Global.return_word_box": True, "Global.log_level": "error",
                    "Det.limit_side_len": min_side, "Det.limit_type": "min",
                    "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1})
                # RapidOCR 3 loads each model on first use: load the recogniser
                # now, so a missing model fails here and not in the middle of a
                # tile; the detector when first wanted (_detector): the
                # pipeline's mosaic is read by the recogniser alone.
                eng.recognize_txt([np.full((48, 48, 3), 255, np.uint8)])
            except Exception as e:  # a broken wheel: models missing, damaged, unreadable
                raise MissingEngineError(f"rapidocr: cannot load its models ({e}); "
                                         f"reinstall: {INSTALL_HINT}") from e
            _ENGINES[key] = eng
        return _ENGINES[key]


def _detector(eng) -> None:
    """Load RapidOCR's DB detector into ``eng`` (once), a missing model being
    :class:`MissingEngineError` as in :func:`_engine`."""
    with _LOCK:
        if getattr(eng, "text_det", None) is None:
            try:
                eng(np.full((48, 48, 3), 255, np.uint8), use_det=True, use_cls=False,
                    use_rec=False)
            except Exception as e:
                raise MissingEngineError(f"rapidocr: cannot load its detector ({e}); "
                                         f"reinstall: {INSTALL_HINT}") from e


def char_positions(ncols: float, word_cols) -> list[float] | None:
    """Each character's centre along the line (0-1) from the recogniser's CTC
    columns: ``ncols`` columns span the line, ``word_cols`` holds each word's
    characters' columns. None when there is nothing to place."""
    try:
        cols = [c for word in word_cols for c in word]
    except TypeError:  # another version's layout
        return None
    if not ncols or ncols <= 0 or not cols:
        return None
    return [min(1.0, (c + 0.5) / ncols) for c in cols]


class RapidOcrEngine(EngineBase):
    """Reads a grey image with RapidOCR (its default PP-OCR models through onnxruntime).

    The detector sees the image scaled to ``detect_dpi`` (never enlarged;
    None: as given), the recogniser reads each line cut from the image at the
    resolution it was given: detection is most of the time, recognition gains
    from the pipeline's enlarged text. ``box_thresh``/``unclip_ratio`` are the
    DB detector's, ``text_score`` drops lines read with less confidence (0-1).
    ``max_side``: images longer than this are shrunk before detection, as
    RapidOCR does by default at 2000 px; the default here never shrinks a tile.
    ``min_side``: images whose shorter side is below it are enlarged for
    detection (RapidOCR's default 736 would enlarge the pipeline's short text
    mosaics for nothing). ``threads``: onnxruntime's intra-op threads (-1: all
    cores). One, because the pipeline runs one OCR process per core: on the
    2-core machine one thread read the A2 sample in 23 CPU-s against 36 with
    two (and faster in wall time too, with other jobs running).
    ``redetect_below``: in :meth:`recognise`, a band more than twice as tall as
    the call's usual band and read with less confidence than this (0-1) is
    read again with the DB detector inside it (0: never). Measured figures:
    bench/README-engines.md, bench/README-pid.md.
    """

    name = "rapidocr"
    recognises_lines = True

    def __init__(self, *, detect_dpi: float | None = 300.0, box_thresh: float = 0.5,
                 unclip_ratio: float = 1.6, text_score: float = 0.3,
                 threads: int = 1, max_side: int = 100_000, min_side: int = 64,
                 redetect_below: float = 0.7) -> None:
        self._mod = _import()
        self.detect_dpi = float(detect_dpi) if detect_dpi else None
        self.box_thresh, self.unclip_ratio = float(box_thresh), float(unclip_ratio)
        self.text_score, self.threads = float(text_score), int(threads)
        self.max_side, self.min_side = int(max_side), int(min_side)
        self.redetect_below = float(redetect_below)

    def version(self) -> str:
        try:
            v = metadata.version("rapidocr")
        except metadata.PackageNotFoundError:  # pragma: no cover
            v = "?"
        import onnxruntime

        return f"rapidocr {v} (onnxruntime {onnxruntime.__version__})"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in ``image`` (grey uint8), boxes in its pixels, conf 0-100."""
        scale = 1.0
        if self.detect_dpi and dpi > 0:
            scale = min(1.0, self.detect_dpi / dpi)
        try:
            lines = self.read_lines(np.ascontiguousarray(image), scale)
        except MissingEngineError:
            raise
        except Exception as e:  # onnxruntime/cv2 raise many types
            raise EngineError(f"{self.name} failed: {type(e).__name__}: {e}") from e
        trim_heap()  # see locator.engines._heap
        out: list[OcrWord] = []
        for quad, text, score, pos in lines:
            out.extend(split_line(image, quad, text, score * 100.0, char_pos=pos))
        return out

    def recognise(self, crops: list[np.ndarray], *, dpi: float) -> list[list[OcrWord]]:
        """Each grey crop read as text lines by the recogniser alone (no DB
        detection): per crop its words, boxes in the crop's pixels.

        A crop may hold more than one line (a vertical-word candidate read
        upright is often a column of short labels): it is cut into its bands
        of ink rows first (:func:`~locator.engines._split.line_bands`), each
        band recognised as one line; fragments of neighbouring lines at the
        crop's top or bottom edge are left out. All bands of all crops go to
        the recogniser in one call (it sorts them by width and batches).
        """
        eng = _engine(self.threads, self.max_side, self.min_side)
        pieces: list[tuple[int, int, int, np.ndarray]] = []  # (crop index, x0, y0, band)
        for i, crop in enumerate(crops):
            grey = crop if crop.ndim == 2 else crop.mean(axis=2).astype(np.uint8)
            for y0, y1, x0, x1 in line_bands(grey):
                pieces.append((i, x0, y0, np.ascontiguousarray(grey[y0:y1, x0:x1])))
        out: list[list[OcrWord]] = [[] for _ in crops]
        if not pieces:
            return out
        try:
            rec = eng.recognize_txt([np.stack([b] * 3, axis=-1) for *_, b in pieces])
        except Exception as e:  # onnxruntime/cv2 raise many types
            raise EngineError(f"{self.name} failed: {type(e).__name__}: {e}") from e
        trim_heap()  # see locator.engines._heap
        infos = rec.word_results or [None] * len(pieces)
        usual = float(np.median([b.shape[0] for *_, b in pieces]))
        scale = min(1.0, self.detect_dpi / dpi) if self.detect_dpi and dpi > 0 else 1.0
        for (i, x0, y0, band), text, score, info in zip(pieces, rec.txts, rec.scores, infos):
            score = float(score)
            h, w = band.shape[:2]
            # The band on a rim of paper: a line touching the image's border is
            # taken by split_line as cut by a tile edge and stretched to it.
            rim = np.pad(band, _RIM, constant_values=int(np.median(band)))
            lines, detected = [], False
            if score >= self.text_score and text.strip():
                pos = char_positions(getattr(info, "line_txt_len", 0),
                                     getattr(info, "word_cols", None))
                quad = [[_RIM, _RIM], [_RIM + w, _RIM], [_RIM + w, _RIM + h], [_RIM, _RIM + h]]
                lines = [(quad, text, score, pos if pos is None or len(pos) == len(text)
                          else None)]
            if (self.redetect_below and h > _TALL_BAND * usual
                    and score < self.redetect_below):
                # A band far taller than the others that the recogniser reads
                # badly holds several lines it could not cut apart (lines that
                # overlap, a title block's cells) or large text: DB detection
                # in that band alone, and the better reading of the two.
                found = self._lines_in(rim, scale)
                if _weight(found) > _weight(lines):
                    lines, detected = found, True
            dx, dy = x0 - _RIM, y0 - _RIM
            for quad, t, sc, pos in lines:
                out[i].extend(OcrWord(ow.text, ow.conf, Box(ow.box.x0 + dx, ow.box.y0 + dy,
                                                            ow.box.x1 + dx, ow.box.y1 + dy))
                              for ow in split_line(rim, quad, t, sc * 100.0, char_pos=pos,
                                                   turned=None if detected else False))
        return out

    def _lines_in(self, img: np.ndarray, scale: float) -> list[tuple]:
        try:
            return self.read_lines(img, scale)
        except MissingEngineError:
            raise
        except Exception as e:  # onnxruntime/cv2 raise many types
            raise EngineError(f"{self.name} failed: {type(e).__name__}: {e}") from e

    def read_lines(self, img: np.ndarray, scale: float) -> list[tuple]:
        """RapidOCR's detector on ``img`` scaled by ``scale``, then its
        recogniser on lines cut from ``img`` itself, with the CTC alignment kept.

        ``RapidOCR.__call__`` would detect and recognise on the same (shrunk)
        image; the recogniser called on its own (``recognize_txt``, with
        ``return_word_box``) also says where each character was read. That
        alignment is what lets :func:`split_line` put back the spaces PP-OCR's
        recogniser often leaves out between words (``TAG4410B``). Returns
        ``(quad, text, score 0-1, char_pos)``; quads in ``img``'s pixels.
        """
        import cv2

        eng = _engine(self.threads, self.max_side, self.min_side)
        _detector(eng)
        rgb = np.stack([img] * 3, axis=-1) if img.ndim == 2 else img
        h, w = rgb.shape[:2]
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        det = eng(small, use_det=True, use_cls=False, use_rec=False,
                  box_thresh=self.box_thresh, unclip_ratio=self.unclip_ratio)
        quads = getattr(det, "boxes", None)
        if quads is None or not len(quads):
            return []
        sx, sy = w / small.shape[1], h / small.shape[0]
        quads = [np.clip(np.asarray(q, dtype=np.float32) * (sx, sy), 0, (w - 1, h - 1))
                 .astype(np.float32) for q in quads]
        rec = eng.recognize_txt(eng.crop_text_regions(rgb, quads))
        words = rec.word_results or [None] * len(quads)
        out = []
        for quad, text, score, info in zip(quads, rec.txts, rec.scores, words):
            score = float(score)
            if score < self.text_score or not text.strip():
                continue
            pos = char_positions(getattr(info, "line_txt_len", 0), getattr(info, "word_cols", None))
            if pos is not None and len(pos) != len(text):
                pos = None  # spaces in the text have no column: no alignment
            out.append((quad, text, score, pos))
        return out
