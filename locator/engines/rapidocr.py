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

One RapidOCR object per process and settings, created on the first read.
Only this file imports rapidocr (and through it onnxruntime, cv2).
"""

from __future__ import annotations

import threading
from importlib import metadata
from typing import Any

import numpy as np

from locator.engines._heap import trim_heap
from locator.engines._split import split_line
from locator.engines.base import EngineBase, OcrWord
from locator.errors import EngineError, MissingEngineError

INSTALL_HINT = "pip install 'locator[rapidocr]'"

_ENGINES: dict[tuple, Any] = {}
_LOCK = threading.Lock()


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
                # RapidOCR 3 loads each model on first use: load both now, so a
                # missing model fails here and not in the middle of a tile.
                blank = np.full((48, 48, 3), 255, np.uint8)
                eng(blank, use_det=True, use_cls=False, use_rec=False)
                eng.recognize_txt([blank])
            except Exception as e:  # a broken wheel: models missing, damaged, unreadable
                raise MissingEngineError(f"rapidocr: cannot load its models ({e}); "
                                         f"reinstall: {INSTALL_HINT}") from e
            _ENGINES[key] = eng
        return _ENGINES[key]


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
    two (and faster in wall time too, with other jobs running). Measured
    figures: bench/README-engines.md.
    """

    name = "rapidocr"

    def __init__(self, *, detect_dpi: float | None = 300.0, box_thresh: float = 0.5,
                 unclip_ratio: float = 1.6, text_score: float = 0.3,
                 threads: int = 1, max_side: int = 100_000, min_side: int = 64) -> None:
        self._mod = _import()
        self.detect_dpi = float(detect_dpi) if detect_dpi else None
        self.box_thresh, self.unclip_ratio = float(box_thresh), float(unclip_ratio)
        self.text_score, self.threads = float(text_score), int(threads)
        self.max_side, self.min_side = int(max_side), int(min_side)

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
