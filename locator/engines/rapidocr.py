"""RapidOCR: PaddleOCR's PP-OCR models (DB detector + SVTR recogniser) on onnxruntime.

The ``rapidocr-onnxruntime`` wheel ships its ONNX models, so nothing is
downloaded. Three of its defaults hurt small text on tiles or cost time for
nothing and are changed here: images longer than
2000 px are shrunk before detection (``max_side_len`` is raised so a tile is
read at its own size), images under 736 px are enlarged (off: the pipeline
already enlarges text), and the 0/180-degree direction classifier is off — text
directions are the pipeline's job (its rotation passes). The detector runs on
the image shrunk to ``detect_dpi``, the recogniser on lines cut from the image
as given. Like EasyOCR it
returns line boxes, cut into tight word boxes by
:func:`locator.engines._split.split_line`.

One RapidOCR object per process and settings, created on the first read.
Only this file imports rapidocr_onnxruntime (and through it onnxruntime, cv2).
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
    try:
        import rapidocr_onnxruntime
    except ImportError as e:
        raise MissingEngineError(
            f"rapidocr: the RapidOCR extra is not installed ({e.name or e}); {INSTALL_HINT}") from e
    return rapidocr_onnxruntime


def _engine(threads: int, max_side: int, min_side: int):
    key = (threads, max_side, min_side)
    with _LOCK:
        if key not in _ENGINES:
            mod = _import()
            try:
                _ENGINES[key] = mod.RapidOCR(
                    max_side_len=max_side, use_cls=False, print_verbose=False,
                    det_limit_side_len=min_side, det_limit_type="min",
                    intra_op_num_threads=threads, inter_op_num_threads=1)
            except Exception as e:  # a broken wheel: models missing or unreadable
                raise MissingEngineError(f"rapidocr: cannot load its models ({e}); "
                                         f"reinstall: {INSTALL_HINT}") from e
        return _ENGINES[key]


class RapidOcrEngine(EngineBase):
    """Reads a grey image with RapidOCR (PP-OCRv4 through onnxruntime).

    The detector sees the image scaled to ``detect_dpi`` (never enlarged;
    None: as given), the recogniser reads each line cut from the image at the
    resolution it was given: detection is most of the time, recognition gains
    from the pipeline's enlarged text. On the A0 sample (bench/README-engines.md)
    detecting at 300 dpi found all 120 codes in 32 s/page; at the mosaic's own
    resolution (600-800 dpi) 120 in 152 s; at 200 dpi 118 in 25 s. ``box_thresh``/``unclip_ratio`` are the DB
    detector's, ``text_score`` drops lines read with less confidence (0-1).
    ``max_side``: images longer than this are shrunk before detection, as
    RapidOCR does by default at 2000 px; the default here never shrinks a tile.
    ``min_side``: images whose shorter side is below it are enlarged for
    detection (RapidOCR's default 736 would enlarge the pipeline's short text
    mosaics for nothing). ``threads``: onnxruntime's intra-op threads (-1: all
    cores). One, because the pipeline runs one OCR process per core: on the
    2-core machine one thread read the A2 sample in 23 CPU-s against 36 with
    two (and faster in wall time too, with other jobs running).
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
            v = metadata.version("rapidocr-onnxruntime")
        except metadata.PackageNotFoundError:  # pragma: no cover
            v = "?"
        import onnxruntime

        return f"rapidocr {v} (onnxruntime {onnxruntime.__version__})"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        """Words in ``image`` (grey uint8), boxes in its pixels, conf 0-100."""
        scale = 1.0
        if self.detect_dpi and dpi > 0:
            scale = min(1.0, self.detect_dpi / dpi)
        eng = _engine(self.threads, self.max_side, self.min_side)
        try:
            lines = self._read_lines(eng, np.ascontiguousarray(image), scale)
        except Exception as e:  # onnxruntime/cv2 raise many types
            raise EngineError(f"rapidocr failed: {type(e).__name__}: {e}") from e
        trim_heap()  # see locator.engines._heap
        out: list[OcrWord] = []
        for quad, text, score, pos in lines:
            out.extend(split_line(image, quad, text, score * 100.0, char_pos=pos))
        return out

    def _read_lines(self, eng, img: np.ndarray, scale: float):
        """RapidOCR's detector on ``img`` scaled by ``scale``, then its
        recogniser on lines cut from ``img`` itself, with the CTC alignment kept.

        ``RapidOCR.__call__`` drops where each character was read; the
        recogniser returns it with ``return_word_box``. That alignment is what
        lets :func:`split_line` put back the spaces PP-OCR's recogniser often
        leaves out between words (``TAG4410B``). Returns ``(quad, text, score
        0-1, char_pos)``; quads in ``img``'s pixels.
        """
        import cv2

        rgb = np.stack([img] * 3, axis=-1) if img.ndim == 2 else img
        h, w = rgb.shape[:2]
        small = rgb
        if scale < 1.0:
            small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_AREA)
        quads, _ = eng(small, use_det=True, use_cls=False, use_rec=False,
                       box_thresh=self.box_thresh, unclip_ratio=self.unclip_ratio,
                       text_score=self.text_score)
        if not quads:
            return []
        sx, sy = w / small.shape[1], h / small.shape[0]
        quads = [np.clip(np.asarray(q, dtype=np.float32) * (sx, sy), 0, (w - 1, h - 1))
                 .astype(np.float32) for q in quads]
        crops = eng.get_crop_img_list(rgb, quads)
        try:
            recs, _ = eng.text_rec(crops, True)  # with each character's CTC column
        except TypeError:  # a recogniser without return_word_box: no alignment
            recs, _ = eng.text_rec(crops)
        out = []
        for quad, rec in zip(quads, recs):
            text, score = rec[0], float(rec[1])
            if score < self.text_score or not text.strip():
                continue
            pos = None
            try:
                ncols, _, word_cols = rec[2][0], rec[2][1], rec[2][2]
                cols = [c for word in word_cols for c in word]
                if ncols > 0 and len(cols) == len(text):
                    pos = [min(1.0, (c + 0.5) / ncols) for c in cols]
            except (IndexError, TypeError, KeyError):  # another version's layout
                pos = None
            out.append((quad, text, score, pos))
        return out
