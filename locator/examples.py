"""A symbol's example image: read from a PNG (or cut out of a document) and trimmed to its ink.

A catalog ``symbol:`` entry names a cropped example image; ``locate crop``
cuts one out of a document (:func:`crop`, :func:`save_example`: a grey PNG
whose metadata records the DPI it was cropped at) and :func:`load_example`
reads it back as an :class:`Example`: the grey pixels with a margin of paper,
the ink, and its silhouette (ink with enclosed paper filled), which
:mod:`locator.symbols` turns into templates. Pixels are the example's own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from locator.errors import CatalogError
from locator.geometry import Box

__all__ = ["Example", "read_png_dpi", "load_example", "fill_holes", "crop", "save_example"]


@dataclass(frozen=True)
class Example:
    """A symbol's example image, trimmed to its ink plus a margin of paper.

    ``grey`` float32, ``silhouette`` bool (the ink with its holes filled),
    ``ink_box`` the ink's extent in ``grey``'s pixels (pixel edges), ``dpi``
    the resolution it was cropped at (None when the file does not say).
    """

    grey: np.ndarray
    silhouette: np.ndarray
    ink: np.ndarray
    ink_box: Box
    paper: float
    ink_level: float
    dpi: float | None


def read_png_dpi(info: dict) -> float | None:
    """The dpi a PIL image's metadata records (PNG pHYs stores dots per metre)."""
    dpi = info.get("dpi")
    if not dpi:
        return None
    try:
        d = float(dpi[0])
    except (TypeError, ValueError, IndexError):
        return None
    return round(d, 1) if d > 1 else None


def load_example(path: str | Path) -> Example:
    """Read an example image (grey; transparency composited on white) and find its ink.

    Raises :class:`~locator.errors.CatalogError` when it cannot be read or holds no ink.
    """
    import cv2
    from PIL import Image

    p = Path(path)
    try:
        with Image.open(p) as opened:
            im: Image.Image = opened  # (converted below)
            dpi = read_png_dpi(im.info)
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            grey = np.asarray(im.convert("L"), dtype=np.uint8)
    except (OSError, ValueError) as e:
        raise CatalogError(f"symbol image {p}: cannot read it: {e}") from e
    if grey.size == 0 or min(grey.shape) < 2:
        raise CatalogError(f"symbol image {p}: too small ({grey.shape[1]}x{grey.shape[0]} px)")
    thr, _ = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = grey < thr
    if not ink.any() or ink.all() or float(grey[~ink].mean()) - float(grey[ink].mean()) < 40:
        raise CatalogError(f"symbol image {p}: no symbol in it (no dark ink on light paper)")
    # Specks of dirt in a crop from a scan are not part of the symbol.
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    ink = np.isin(labels, 1 + np.nonzero(areas >= 0.02 * areas.max())[0])
    ys, xs = np.nonzero(ink)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    paper = float(np.median(grey[~ink]))
    ink_level = float(np.median(grey[ink]))
    # A margin of paper around the ink: room for the mask's ring at every scale.
    pad = int(math.ceil(0.3 * max(x1 - x0, y1 - y0))) + 3
    canvas = np.full((y1 - y0 + 2 * pad, x1 - x0 + 2 * pad), paper, dtype=np.float32)
    canvas[pad:-pad, pad:-pad] = grey[y0:y1, x0:x1]
    ink_c = np.zeros(canvas.shape, dtype=bool)
    ink_c[pad:-pad, pad:-pad] = ink[y0:y1, x0:x1]
    return Example(grey=canvas, silhouette=fill_holes(ink_c), ink=ink_c,
                   ink_box=Box(pad, pad, pad + x1 - x0, pad + y1 - y0), paper=paper,
                   ink_level=ink_level, dpi=dpi)


def fill_holes(ink: np.ndarray) -> np.ndarray:
    """``ink`` with every region of paper it encloses filled (an outline becomes a solid shape)."""
    import cv2

    closed = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    h, w = closed.shape
    flood = np.zeros((h + 2, w + 2), np.uint8)
    flood[1:-1, 1:-1] = closed
    outside = flood.copy()
    cv2.floodFill(outside, None, (0, 0), 2)  # paper reachable from the border
    return (outside[1:-1, 1:-1] != 2) | ink


def crop(path: str | Path, page: int, box: Box, *, dpi: float | None = None,
         password: str | None = None) -> tuple[np.ndarray, float]:
    """Cut ``box`` (page points, unrotated space) out of a document's ``page`` (1-based).

    Rendered at ``dpi`` (default: an image's own resolution, else 300) exactly
    as the pipeline renders tiles -- in the page's view orientation, aligned
    to whole pixels -- so the crop is what a tile shows there. Returns the grey
    image and the DPI. Raises :class:`~locator.errors.UsageError` for a page
    past the end or a box off the page.
    """
    from locator.documents import Document
    from locator.errors import UsageError
    from locator.geometry import Tile, pt_to_px
    from locator.tiling import view_size_px

    with Document(path, password=password) as doc:
        if not 1 <= page <= doc.page_count:
            raise UsageError(f"--page {page}: the document has {doc.page_count} page(s)")
        frame = doc.frame(page)
        d = float(dpi or doc.native_dpi(page) or 300.0)
        view = frame.box_to_view(box)
        W, H = view_size_px(frame, d)
        x0, y0 = max(0, round(pt_to_px(view.x0, d))), max(0, round(pt_to_px(view.y0, d)))
        x1, y1 = min(W, round(pt_to_px(view.x1, d))), min(H, round(pt_to_px(view.y1, d)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            w, h = frame.width, frame.height
            raise UsageError(f"--box {box.x0:g},{box.y0:g},{box.x1:g},{box.y1:g}: not on the page "
                             f"(page {page} is {w:g} x {h:g} pt, origin top left) or smaller "
                             f"than 2 px at {d:g} dpi")
        img = doc.render(Tile(page=page, rect_px=(x0, y0, x1, y1), dpi=d, frame=frame))
    return img, d


def save_example(img: np.ndarray, dpi: float, out: str | Path) -> Path:
    """Write a crop as a grey PNG whose metadata records ``dpi`` (atomically)."""
    from PIL import Image

    from locator.export.files import atomic_write

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: Image.fromarray(img, "L").save(tmp, format="PNG",
                                                                  dpi=(dpi, dpi)))
    return out
