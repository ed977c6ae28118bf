"""A scripted fake OCR engine for pipeline tests: no OCR, known words, real seams.

The engine is told which words are drawn on each page (page points) and the
tile grid the pipeline will use; on its n-th call it answers for the n-th tile
exactly as a perfect OCR engine would: words wholly inside the tile whole, words
crossing a tile edge clipped to the tile and their text cut in proportion (what
a real engine reads of a cut word). Run the pipeline with ``skip_blank=False``
``rotations=(0,)``, ``text_regions=False`` and ``clean=False`` so every tile
is read once, whole, in grid order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from locator.engines.base import OcrWord
from locator.geometry import Box, PageFrame, pt_to_px
from locator.tiling import grid


class ScriptedEngine:
    name = "fake"

    def __init__(self, words: dict[int, list[tuple[str, Box]]], frames: dict[int, PageFrame],
                 *, dpi: float, tile: int, overlap: int, conf: float = 90.0,
                 fault: Callable[[int], None] | None = None) -> None:
        self.tiles = [t for page in sorted(frames)
                      for t in grid(page, frames[page], dpi, tile, overlap)]
        self.words = words
        self.conf = conf
        self.fault = fault
        self.calls = 0

    def version(self) -> str:
        return "fake 1"

    def read(self, image: np.ndarray, *, dpi: float) -> list[OcrWord]:
        n = self.calls
        self.calls += 1
        if self.fault is not None:
            self.fault(n)
        tile = self.tiles[n]
        assert image.shape == (tile.size_px[1], tile.size_px[0])
        out = []
        tx0, ty0, tx1, ty1 = tile.rect_px
        for text, box in self.words.get(tile.page, []):
            # page points -> view pixels (these tests use unrotated pages)
            b = Box(*(pt_to_px(v, dpi) for v in (box.x0, box.y0, box.x1, box.y1)))
            cx0, cx1 = max(b.x0, tx0), min(b.x1, tx1)
            cy0, cy1 = max(b.y0, ty0), min(b.y1, ty1)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            if cy0 > b.y0 or cy1 < b.y1:  # cut across the text line: unreadable
                continue
            shown = text
            if cx0 > b.x0 or cx1 < b.x1:  # cut along the line: read the visible letters
                a = round((cx0 - b.x0) / b.width * len(text))
                z = round((cx1 - b.x0) / b.width * len(text))
                shown = text[a:z]
                if not shown:
                    continue
            out.append(OcrWord(shown, self.conf, Box(cx0 - tx0, cy0 - ty0, cx1 - tx0, cy1 - ty0)))
        return out
