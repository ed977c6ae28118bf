"""Opening documents and rendering tiles, through the PDF boundary :mod:`locator.pdf`.

A :class:`Document` wraps a PDF or an image (MuPDF opens PNG, JPEG, TIFF, ...
as one-page-per-frame documents). It knows each page's :class:`PageFrame`
(unrotated size and ``/Rotate``) and renders a :class:`Tile` to a grey numpy
array from a display list built once per page, so a page is interpreted once
and never rasterised whole. It also reads a PDF page's text layer (judged by
:mod:`locator.textlayer`), says what is wrong with a damaged file's pages, and
refuses images whose header promises more pixels than can be decoded, before
decoding them; only regular files are opened (a FIFO would block forever).
Finding the files of a run is :mod:`locator.inputs`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from locator.errors import InputFileError, UnsupportedFormatError, UsageError
from locator.geometry import Box, PageFrame, Tile
# Files, folders and globs are found in locator.inputs (kept importable from here).
from locator.inputs import SUFFIXES, check_regular, expand_inputs, library_path  # noqa: F401
from locator.pdf import PdfFile, Refused

log = logging.getLogger("locator.documents")

if TYPE_CHECKING:
    from locator.textlayer import TextLayer

#: Images are refused above this many pixels (a frame's width x height), from
#: the header alone: decoding more takes gigabytes. It is (just under) where PIL
#: itself refuses a file as a decompression bomb; an A0 scan at 300 dpi is 139
#: million, at 350 dpi 189 million.
MAX_IMAGE_PIXELS = 178_000_000
#: Images (frames) narrower or lower than this cannot hold text.
MIN_IMAGE_SIDE_PX = 8

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
        # O_NONBLOCK: opening a FIFO for reading would wait for a writer forever;
        # this way it opens at once and is refused as what it is
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise InputFileError(f"{path}: cannot read: {e.strerror or e}") from e
    with os.fdopen(fd, "rb") as f:
        check_regular(path, f.fileno())
        try:
            head = f.read(1024)
        except OSError as e:
            raise InputFileError(f"{path}: cannot read: {e.strerror or e}") from e
    if not head:
        raise InputFileError(f"{path}: the file is empty (0 bytes)")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        # checked before the PDF marker: a zip that stores a PDF uncompressed has
        # "%PDF-" near its start, and the reader would scan the archive for objects
        raise UnsupportedFormatError(
            f"{path}: a zip archive (or .docx, .xlsx, ...), not a PDF or an image; "
            f"unzip it and give the documents inside")
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
    Every MuPDF call goes through :class:`locator.pdf.PdfFile`; this class adds
    the file's checks and names the file and page in every error.
    """

    def __init__(self, path: str | os.PathLike, *, password: str | None = None) -> None:
        self.path = Path(path)
        self.kind = sniff(self.path)
        self._frame_px: list[tuple[int, int]] = []
        if self.kind == "image":
            self._frame_px = check_image(self.path)
        try:
            with library_path(self.path) as name:  # MuPDF opens UTF-8 names only
                self._pdf = PdfFile.open(name, password=password)
        except Refused as e:
            raise InputFileError(f"{self.path}: {e}") from None
        except Exception as e:  # PyMuPDF raises several types for broken files
            raise InputFileError(f"{self.path}: cannot open as {self.kind} "
                                 f"(damaged or truncated?): {e}") from e
        #: Set when the reader had to repair the file (a broken cross-reference
        #: table, a truncated file): pages may be missing content.
        self.repaired = self._pdf.repaired

    # -- pages ---------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return self._pdf.page_count

    def frame(self, page: int) -> PageFrame:
        """The page's unrotated size (points) and rotation.

        Raises :class:`InputFileError` when the page cannot be loaded (a
        truncated image, a damaged page).
        """
        try:
            return self._pdf.frame(page)
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page} cannot be loaded: {e}") from e

    def native_dpi(self, page: int) -> float | None:
        """For image inputs, the resolution that reproduces the image's pixels."""
        if self.kind != "image":
            return None
        # PyMuPDF's image pages list no images; PIL read each frame's size from
        # the header, without decoding the pixels, when the file was opened.
        if page - 1 >= len(self._frame_px):
            return None
        width_px = self._frame_px[page - 1][0]
        return width_px * 72.0 / self._pdf.frame(page).view_size[0]

    # -- the text layer and damage -------------------------------------------
    def text_layer(self, page: int) -> TextLayer | None:
        """The page's text layer, judged (:class:`locator.textlayer.TextLayer`,
        with what could not be decoded), or None for images.

        One interpretation of the page. Boxes are page points, unrotated space.
        Raises :class:`InputFileError` when the page cannot be interpreted.
        """
        from locator.textlayer import judge_text

        if self.kind != "pdf":
            return None
        try:
            return judge_text(self._pdf.read_text(page), page)
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page}: cannot read its text: {e}") from e

    def outlines(self, page: int) -> tuple:
        """The page's painted paths of a bubble's size
        (:class:`locator.pdf.PathOutline`, unrotated page points); none for
        images or a page whose drawings cannot be read (its bubbles are then
        not composed, and its single words still match)."""
        if self.kind != "pdf":
            return ()
        try:
            return self._pdf.read_outlines(page)
        except Exception as e:  # a damaged page already warned about by its text read
            log.debug("%s: page %d: drawings not read: %s", self.path, page, e)
            return ()

    def content_work(self, page: int, limit: int) -> int:
        """About how much interpreting the page's Form XObjects costs, every form
        counted as often as it is drawn (nesting multiplies), from a scan of
        the forms' streams without interpreting them (:meth:`PdfFile.content_work`);
        counting stops past ``limit``. 0 for images, and for what cannot be
        scanned (reading it finds that out)."""
        if self.kind != "pdf":
            return 0
        try:
            return self._pdf.content_work(page, limit)
        except Exception:
            return 0

    def count_paths(self, page: int) -> int:
        """How many paths the page paints (a cheap content-stream scan; 0 for images)."""
        if self.kind != "pdf":
            return 0
        try:
            return self._pdf.count_paths(page)
        except Exception:
            return 0

    def page_problems(self, page: int, *, decode: bool = True) -> list[tuple[str, bool]]:
        """What is wrong with a page of a damaged PDF: ``(message, unreadable)`` pairs.

        Finds page objects and content streams that the file no longer holds
        (a truncated file repaired by the reader keeps the page but loses what
        it showed: ``unreadable``) and an empty ``/MediaBox`` (the reader then
        assumes US Letter). With ``decode``, also content streams that cannot
        be decompressed; without, the caller learns that from the text layer's
        :attr:`~locator.textlayer.TextLayer.decode_problem` (a 100,000-path
        page's 8 MB stream is then inflated once, not twice). Empty when
        nothing is wrong.
        """
        if self.kind != "pdf":
            return []
        return self._pdf.page_problems(page, decode=decode)

    # -- rendering -----------------------------------------------------------
    def render(self, tile: Tile, *, colour: bool = False) -> np.ndarray:
        """The tile as a grey ``uint8`` array of ``tile.size_px`` (height, width).

        ``colour``: rendered in RGB and reduced to its darkest channel, so
        coloured ink (cyan, yellow, green: light in grey) is as dark as black
        and a grey page comes out the same as in grey.

        The clip is the tile's view box; because the tile is aligned to whole
        pixels the pixmap covers exactly ``tile.rect_px``. A tile with
        ``images_only`` shows the page's images alone
        (:func:`locator.pdf.draw_images`).
        """
        if tile.images_only and self.kind == "pdf":
            try:
                return self._pdf.draw_page_images(tile.page, tile.rect_px, tile.dpi)
            except Exception as e:
                raise InputFileError(
                    f"{self.path}: page {tile.page}: cannot draw its images: {e}") from e
        try:
            img, at = self._pdf.render(tile.page, tile.view_clip, tile.dpi, color=colour,
                                       grey_ok=True)
        except Exception as e:
            raise InputFileError(
                f"{self.path}: page {tile.page}: cannot render: {e}") from e
        if colour and img.ndim == 3:  # the darkest channel (np.minimum: ~30x .min(axis=2))
            img = np.minimum(np.minimum(img[..., 0], img[..., 1]), img[..., 2])
        w, h = tile.size_px
        # MuPDF rounds the clip outward; with whole-pixel tiles that is at most a
        # 1-px difference at the far edge, which we pad or trim so the image has
        # exactly the tile's size and pixel (0, 0) is the tile's corner.
        if at != (tile.rect_px[0], tile.rect_px[1]):
            raise InputFileError(
                f"{self.path}: page {tile.page}: renderer placed the tile at "
                f"{at}, expected {tile.rect_px[:2]}")
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
        frame = self.frame(page)
        v = frame.box_to_view(box)
        vw, vh = frame.view_size
        x0, y0, x1, y1 = max(v.x0, 0.0), max(v.y0, 0.0), min(v.x1, vw), min(v.y1, vh)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 0, 3) if color else (0, 0), dtype=np.uint8)
        try:
            img, _ = self._pdf.render(page, Box(x0, y0, x1, y1), dpi, color=color)
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page}: cannot render: {e}") from e
        return img

    # -- lifecycle -----------------------------------------------------------
    def close(self) -> None:
        self._pdf.close()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_image(path: Path) -> list[tuple[int, int]]:
    """Each frame's ``(width, height)`` in pixels, from the header alone; refuse bad sizes.

    Raises :class:`InputFileError` for a file PIL cannot identify, a frame of
    more than :data:`MAX_IMAGE_PIXELS` (a decompression bomb or an absurd
    scan: refused before anything is decoded) or one too small to hold text.
    """
    import warnings

    from PIL import Image

    sizes: list[tuple[int, int]] = []
    try:
        with warnings.catch_warnings():
            # bombs are judged below; PIL's complaints about damaged metadata
            # (TIFF tags, EXIF) would print file:line noise on stderr
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                for i in range(getattr(im, "n_frames", 1)):
                    if i:
                        im.seek(i)
                    sizes.append(im.size)
    except Image.DecompressionBombError as e:
        raise InputFileError(f"{path}: the image is too large to decode safely "
                             f"(over {MAX_IMAGE_PIXELS / 1e6:,.0f} megapixels: {e}); "
                             f"split or downsample it") from e
    except Exception as e:
        raise InputFileError(f"{path}: cannot read the image header "
                             f"(damaged or truncated?): {e}") from e
    for i, (w, h) in enumerate(sizes, 1):
        where = f" (frame {i})" if len(sizes) > 1 else ""
        if w * h > MAX_IMAGE_PIXELS:
            raise InputFileError(
                f"{path}{where}: the image is {w:,} x {h:,} px ({w * h / 1e6:,.0f} megapixels), "
                f"over the limit of {MAX_IMAGE_PIXELS / 1e6:,.0f}; split or downsample it")
        if min(w, h) < MIN_IMAGE_SIDE_PX:
            raise InputFileError(f"{path}{where}: the image is {w} x {h} px, too small to hold text")
    return sizes


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
        if lo >= 1 and hi < lo:
            raise UsageError(f"--pages {spec!r}: the range {part!r} is reversed; "
                             f"write {hi}-{lo}")
        if lo < 1 or hi < lo:
            raise UsageError(f"--pages {spec!r}: {part!r} is not a valid range (pages start at 1)")
        if hi > page_count:
            raise UsageError(
                f"--pages {spec!r}: page {hi} does not exist; the document has {page_count}")
        pages.update(range(lo, hi + 1))
    return sorted(pages)
