"""Pictures of hits for the review workbook: a small PNG of each snippet with context.

Thumbnails are small clip renders from one display list per page (never a
second full-page render), PNG, at most ``max_width x max_height`` pixels, in
the page's view orientation and turned so the text stands upright, the hit's
box outlined in red. Boxes come in unrotated page points.
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from locator.errors import LocatorError
from locator.geometry import Box, PageFrame

if TYPE_CHECKING:
    import pandas as pd

    from locator.documents import Document

__all__ = ["Thumbnail", "make_thumbnail", "page_pictures", "is_num"]

# Page sizes are cheap next to pictures; past this many pages, only the pages with hits.
_MAX_FRAMES = 5_000


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A PNG of one hit and its size in pixels."""

    png: bytes
    width: int
    height: int


def _text_height(view_box: Box, angle: int) -> float:
    # The height of the text line: across the reading direction (``angle`` is
    # the direction in the view, so the box must be the view's too).
    return view_box.width if angle % 180 == 90 else view_box.height


def make_thumbnail(doc: Document, page: int, box: Box, angle: int, dpi: float, *,
                   max_width: int = 400, max_height: int = 160,
                   margin: float | None = None, outline: bool = True) -> Thumbnail | None:
    """A PNG of the hit at ``box`` (unrotated page points) with context around it.

    Rendered at ``dpi`` (lowered only as far as needed to fit ``max_width x
    max_height`` px), in the page's view orientation, then turned so text
    running at ``angle`` (degrees counter-clockwise in unrotated page space,
    as ``Word.angle``) stands upright. The context ``margin`` (points) defaults to the text height,
    between 2 and 36 pt. The hit's box is outlined in red, just outside it.
    None when the box lies outside the page.
    """
    from PIL import Image

    frame = doc.frame(page)
    angle = frame.angle_to_view(angle)  # the view is what is rendered and turned
    vw, vh = frame.view_size
    hv = frame.box_to_view(box)
    m = margin if margin is not None else min(36.0, max(2.0, _text_height(hv, angle)))
    cv = hv.grow(m)
    cv = Box(max(cv.x0, 0.0), max(cv.y0, 0.0), min(cv.x1, vw), min(cv.y1, vh))
    if cv.width <= 0 or cv.height <= 0:
        return None
    quarter = (angle // 90) % 4
    out_w, out_h = (cv.height, cv.width) if quarter % 2 else (cv.width, cv.height)
    # The renderer rounds the clip outward (up to a pixel each side): leave room for it.
    scale = min(dpi / 72.0, (max_width - 2) / out_w, (max_height - 2) / out_h)
    img = doc.render_clip(page, frame.box_to_page(cv), scale * 72.0)
    if img.size == 0:
        return None
    if outline:
        img = img.copy()
        h, w = img.shape[:2]
        pad = 2
        x0 = int(math.floor((hv.x0 - cv.x0) * scale)) - pad
        y0 = int(math.floor((hv.y0 - cv.y0) * scale)) - pad
        x1 = int(math.ceil((hv.x1 - cv.x0) * scale)) + pad - 1
        y1 = int(math.ceil((hv.y1 - cv.y0) * scale)) + pad - 1
        _draw_rect(img, x0, y0, x1, y1, (220, 30, 30), 2 if min(w, h) >= 40 else 1)
    if quarter:
        img = np.ascontiguousarray(np.rot90(img, k=-quarter))
    buf = io.BytesIO()
    # No pHYs chunk: spreadsheet programs then show one image pixel per screen pixel.
    Image.fromarray(img).save(buf, format="PNG", compress_level=3)
    return Thumbnail(buf.getvalue(), img.shape[1], img.shape[0])


def _draw_rect(img: np.ndarray, x0: int, y0: int, x1: int, y1: int,
               rgb: tuple[int, int, int], t: int) -> None:
    """An outline (inclusive pixel corners), clipped to the image, ``t`` px thick."""
    h, w = img.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if cx1 < cx0 or cy1 < cy0:
        return
    for yy in range(y0, y0 + t):
        if 0 <= yy < h:
            img[yy, cx0:cx1 + 1] = rgb
    for yy in range(y1 - t + 1, y1 + 1):
        if 0 <= yy < h:
            img[yy, cx0:cx1 + 1] = rgb
    for xx in range(x0, x0 + t):
        if 0 <= xx < w:
            img[cy0:cy1 + 1, xx] = rgb
    for xx in range(x1 - t + 1, x1 + 1):
        if 0 <= xx < w:
            img[cy0:cy1 + 1, xx] = rgb


def page_pictures(df: pd.DataFrame, document: str | os.PathLike, *, dpi: float,
                password: str | None, max_width: int, max_height: int,
                warnings: list[str], pictures: bool = True
                ) -> tuple[dict[int, Thumbnail], dict[int, PageFrame]]:
    """Thumbnails by row position, rendered page by page (one display list each),
    and every page's frame (for positions, and for the Missed sheet's read-back)."""
    from locator.documents import Document

    thumbs: dict[int, Thumbnail] = {}
    frames: dict[int, PageFrame] = {}
    if not pictures or not len(df):
        with Document(document, password=password) as doc:
            _all_frames(doc, frames)
        return thumbs, frames
    pages = df["page"].astype(int).to_numpy()
    boxes = df[["x0", "y0", "x1", "y1"]].astype(float).to_numpy()
    angles = df["angle"].to_numpy() if "angle" in df else np.zeros(len(df))
    with Document(document, password=password) as doc:
        for i in np.argsort(pages, kind="stable"):  # page by page: one display list each
            i = int(i)
            page = int(pages[i])
            if not 1 <= page <= doc.page_count:
                warnings.append(f"row {i + 2}: page {page} is not in {document}; no picture")
                continue
            if page not in frames:
                frames[page] = doc.frame(page)
            box = Box(*boxes[i])
            angle = int(angles[i]) if is_num(angles[i]) else 0
            try:
                t = make_thumbnail(doc, page, box, angle, doc.native_dpi(page) or dpi,
                                   max_width=max_width, max_height=max_height)
            except LocatorError as e:
                warnings.append(f"row {i + 2}: no picture: {e}")
                continue
            if t is None:
                warnings.append(f"row {i + 2}: the box lies outside page {page}; no picture")
            else:
                thumbs[i] = t
        _all_frames(doc, frames)
    return thumbs, frames


def _all_frames(doc: Document, frames: dict[int, PageFrame]) -> None:
    # Page sizes are cheap next to pictures; past this, only the pages with hits.
    if doc.page_count <= _MAX_FRAMES:
        for page in range(1, doc.page_count + 1):
            if page not in frames:
                frames[page] = doc.frame(page)


def is_num(v) -> bool:
    try:
        return v is not None and not math.isnan(float(v))
    except (TypeError, ValueError):
        return False
