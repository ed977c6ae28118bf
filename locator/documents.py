"""Opening documents and rendering tiles: the one file that imports PyMuPDF for pages.

A :class:`Document` wraps a PDF or an image (PyMuPDF opens PNG, JPEG, TIFF, ...
as one-page-per-frame documents). It knows each page's :class:`PageFrame`
(unrotated size and ``/Rotate``) and renders a :class:`Tile` to a grey numpy
array from a display list built once per page, so a page is interpreted once
and never rasterised whole.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from locator.errors import InputFileError, UnsupportedFormatError, UsageError
from locator.geometry import Box, PageFrame, Tile

# File signatures we accept. PyMuPDF would also open e-books and SVG; those are
# not documents this tool is for, and opening a zip renamed .pdf must fail clearly.
_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"\xff\xd8\xff",  # JPEG
    b"II*\x00", b"MM\x00*",  # TIFF
    b"BM",  # BMP
    b"GIF87a", b"GIF89a",
)


def sniff(path: Path) -> str:
    """``"pdf"`` or ``"image"`` from the file's first bytes, else raise.

    Raises :class:`InputFileError` for a missing, unreadable or empty file and
    :class:`UnsupportedFormatError` for anything that is neither.
    """
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a document")
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except OSError as e:
        raise InputFileError(f"{path}: cannot read: {e.strerror or e}") from e
    if not head:
        raise InputFileError(f"{path}: the file is empty (0 bytes)")
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(_IMAGE_MAGIC) or head[4:12] in (b"ftypavif",) or (
        head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    ):
        return "image"
    raise UnsupportedFormatError(
        f"{path}: not a PDF or an image (PNG, JPEG, TIFF, BMP, GIF) — "
        f"the file starts with {head[:8]!r}"
    )


class Document:
    """An open PDF or image. Use as a context manager; pages are 1-based.

    For images, :meth:`native_dpi` is the image's own resolution: rendering at
    it reproduces the pixels exactly, and page points are ``px * 72 / dpi``.
    """

    def __init__(self, path: str | os.PathLike, *, password: str | None = None) -> None:
        import pymupdf

        self.path = Path(path)
        self.kind = sniff(self.path)
        try:
            self._doc = pymupdf.open(self.path)
        except Exception as e:  # PyMuPDF raises several types for broken files
            raise InputFileError(f"{self.path}: cannot open as {self.kind}: {e}") from e
        if self._doc.needs_pass:
            if password is None or not self._doc.authenticate(password):
                self._doc.close()
                what = "the password is wrong" if password else "give --password"
                raise InputFileError(f"{self.path}: the PDF is encrypted; {what}")
        if self._doc.page_count == 0:
            self._doc.close()
            raise InputFileError(f"{self.path}: the document has no pages")
        self._dl_page: int | None = None
        self._dl = None

    # -- pages ---------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return self._doc.page_count

    def frame(self, page: int) -> PageFrame:
        """The page's unrotated size (points) and rotation."""
        p = self._doc[page - 1]
        # page.rect is the rotated view; derotating its size gives the unrotated size.
        w, h = p.rect.width, p.rect.height
        rot = p.rotation % 360
        if rot in (90, 270):
            w, h = h, w
        return PageFrame(width=w, height=h, rotation=rot)

    def native_dpi(self, page: int) -> float | None:
        """For image inputs, the resolution that reproduces the image's pixels."""
        if self.kind != "image":
            return None
        from PIL import Image

        # PyMuPDF's image pages list no images; PIL reads the frame size from
        # the header without decoding the pixels.
        try:
            with Image.open(self.path) as im:
                im.seek(page - 1)
                width_px = im.size[0]
        except Exception:
            return None
        return width_px * 72.0 / self._doc[page - 1].rect.width

    # -- rendering -----------------------------------------------------------
    def _display_list(self, page: int):
        # One display list per page: the content stream is parsed once and every
        # tile renders from it. Only the current page's list is kept.
        if self._dl_page != page:
            self._dl = self._doc[page - 1].get_displaylist()
            self._dl_page = page
        return self._dl

    def render(self, tile: Tile) -> np.ndarray:
        """The tile as a grey ``uint8`` array of ``tile.size_px`` (height, width).

        The clip is the tile's view box; because the tile is aligned to whole
        pixels the pixmap covers exactly ``tile.rect_px``.
        """
        import pymupdf

        c = tile.view_clip
        scale = tile.dpi / 72.0
        try:
            pix = self._display_list(tile.page).get_pixmap(
                matrix=pymupdf.Matrix(scale, scale),
                clip=pymupdf.Rect(c.x0, c.y0, c.x1, c.y1),
                colorspace=pymupdf.csGRAY, alpha=False)
        except Exception as e:
            raise InputFileError(
                f"{self.path}: page {tile.page}: cannot render: {e}") from e
        img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
        img = img[:, : pix.width]
        w, h = tile.size_px
        # MuPDF rounds the clip outward; with whole-pixel tiles that is at most a
        # 1-px difference at the far edge, which we pad or trim so the image has
        # exactly the tile's size and pixel (0, 0) is the tile's corner.
        if (pix.x, pix.y) != (tile.rect_px[0], tile.rect_px[1]):
            raise InputFileError(
                f"{self.path}: page {tile.page}: renderer placed the tile at "
                f"({pix.x}, {pix.y}), expected {tile.rect_px[:2]}")
        if img.shape != (h, w):
            out = np.full((h, w), 255, dtype=np.uint8)
            hh, ww = min(h, img.shape[0]), min(w, img.shape[1])
            out[:hh, :ww] = img[:hh, :ww]
            img = out
        return img

    def render_clip(self, page: int, box: Box, dpi: float, *, color: bool = True) -> np.ndarray:
        """A small region of a page as the page's view shows it (``/Rotate`` applied).

        ``box`` is in unrotated page points; it is clipped to the page. Returns
        ``uint8`` RGB ``(h, w, 3)`` (``color``) or grey ``(h, w)``; pixel
        ``(0, 0)`` is the clipped region's top-left corner *in the view*, give
        or take the renderer's outward rounding (< 1 px). An empty array when the
        box lies outside the page. Renders from the page's display list, like
        :meth:`render`, so many clips of one page cost one interpretation.
        """
        import pymupdf

        frame = self.frame(page)
        v = frame.box_to_view(box)
        vw, vh = frame.view_size
        x0, y0, x1, y1 = max(v.x0, 0.0), max(v.y0, 0.0), min(v.x1, vw), min(v.y1, vh)
        n = 3 if color else 1
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 0, 3) if color else (0, 0), dtype=np.uint8)
        scale = dpi / 72.0
        try:
            pix = self._display_list(page).get_pixmap(
                matrix=pymupdf.Matrix(scale, scale), clip=pymupdf.Rect(x0, y0, x1, y1),
                colorspace=pymupdf.csRGB if color else pymupdf.csGRAY, alpha=False)
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page}: cannot render: {e}") from e
        img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
        img = img[:, : pix.width * n]
        return img.reshape(pix.height, pix.width, n) if color else img

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        self._dl = None
        self._doc.close()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_pages(spec: str | None, page_count: int) -> list[int]:
    """``"1-3,7"`` -> ``[1, 2, 3, 7]`` (1-based, sorted, unique); None -> all pages.

    Open ranges are allowed: ``"5-"`` is page 5 to the end, ``"-2"`` pages 1-2.
    Raises :class:`UsageError` for malformed ranges or pages past the end.
    """
    if spec is None or not spec.strip():
        return list(range(1, page_count + 1))
    pages: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        if not part:
            raise UsageError(f"--pages {spec!r}: empty item between commas")
        try:
            if "-" in part:
                a, b = part.split("-", 1)
                lo = int(a) if a.strip() else 1
                hi = int(b) if b.strip() else page_count
            else:
                lo = hi = int(part)
        except ValueError:
            raise UsageError(
                f"--pages {spec!r}: {part!r} is not a page number or range like 1-3") from None
        if lo < 1 or hi < lo:
            raise UsageError(f"--pages {spec!r}: {part!r} is not a valid range (pages start at 1)")
        if hi > page_count:
            raise UsageError(
                f"--pages {spec!r}: page {hi} does not exist; the document has {page_count}")
        pages.update(range(lo, hi + 1))
    return sorted(pages)
