"""The small frozen records the PDF boundary hands out: plain values, no MuPDF objects.

Boxes are PDF points in the page's *unrotated* space, origin top left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from locator.geometry import Box


@dataclass(frozen=True, slots=True)
class RawWord:
    """A word of a page's text layer as MuPDF extracts it (``get_text("words")``).

    ``angle``: its line's direction (0, 90, 180, 270 counter-clockwise);
    ``visible``: not drawn invisibly (render mode 3, an OCR layer);
    ``unmapped``: its line's first glyph has no Unicode mapping (a font without
    a usable ``ToUnicode`` map: MuPDF reports the glyph's CID).
    """

    text: str
    box: Box
    angle: int = 0
    visible: bool = True
    unmapped: bool = False


@dataclass(frozen=True, slots=True)
class ImagePlacement:
    """An image a page draws: its box (as much as the page shows), its pixel size,
    and ``handle``, MuPDF's image with its placement, for :func:`draw_images`
    only (an opaque value, not compared; it lives as long as its document)."""

    box: Box
    width_px: int
    height_px: int
    handle: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class PageText:
    """What one interpretation of a page yields: every raw word (duplicates
    included), every image placement in drawing order, and the first error
    MuPDF reported while interpreting (a stream it could not inflate), if any."""

    words: tuple[RawWord, ...] = ()
    images: tuple[ImagePlacement, ...] = ()
    decode_error: str | None = None


@dataclass(frozen=True, slots=True)
class PathOutline:
    """One painted path that could be an instrument bubble's outline (or its
    bar): its box, its vertices in drawing order (curve and line end points,
    a rectangle's corners) and whether it has curves. Unrotated page points.
    Only paths whose box fits an instrument bubble (:data:`OUTLINE_PT`) are
    kept; telling a circle from a hexagon is :mod:`locator.bubbles`'s."""

    box: Box
    points: tuple[tuple[float, float], ...]
    curved: bool = False


#: The size of a bubble's outline, points on its long side: ISA-5.1 bubbles on
#: sheets from A4 to A0 measure 12-60 pt (7/16 in nominal); a bar is as long.
OUTLINE_PT = (8.0, 80.0)
