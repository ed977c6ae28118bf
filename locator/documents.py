"""Opening documents and rendering tiles: the one file that imports PyMuPDF for pages.

A :class:`Document` wraps a PDF or an image (PyMuPDF opens PNG, JPEG, TIFF, ...
as one-page-per-frame documents). It knows each page's :class:`PageFrame`
(unrotated size and ``/Rotate``) and renders a :class:`Tile` to a grey numpy
array from a display list built once per page, so a page is interpreted once
and never rasterised whole. It also reads a PDF page's text layer (through
:mod:`locator.textlayer`), says what is wrong with a damaged file's pages, and
refuses images whose header promises more pixels than can be decoded, before
decoding them; only regular files are opened (a FIFO would block forever).
Finding the files of a run is :mod:`locator.inputs`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from locator.errors import InputFileError, UnsupportedFormatError, UsageError
from locator.geometry import Box, PageFrame, Tile
# Files, folders and globs are found in locator.inputs (kept importable from here).
from locator.inputs import SUFFIXES, check_regular, expand_inputs, library_path  # noqa: F401

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


def import_pymupdf():
    """PyMuPDF, without the add-ons PyMuPDF 2 loads when it is imported.

    PyMuPDF imports ``pymupdf.layout`` and ``pymupdf4llm`` when they are
    installed (PyMuPDF 2.0 requires them); they load onnxruntime and an ONNX
    layout model -- seconds and memory a Tesseract run must not pay, and
    onnxruntime is an engine's dependency. Marking them absent for the moment
    of the import makes PyMuPDF skip them (it catches the ImportError); the
    marks are removed afterwards so a caller may still import them itself.
    """
    import sys

    if "pymupdf" not in sys.modules:
        blocked = [m for m in ("pymupdf.layout", "pymupdf4llm") if m not in sys.modules]
        for m in blocked:
            sys.modules[m] = None  # type: ignore[assignment]
        try:
            import pymupdf  # noqa: F401
        finally:
            for m in blocked:
                if m in sys.modules and sys.modules[m] is None:
                    del sys.modules[m]
    import pymupdf

    return pymupdf


def _first_error(said: str) -> str | None:
    """The first line of MuPDF's warnings that reports an error, if any."""
    return next((ln for ln in said.splitlines() if "error" in ln), None)


class Document:
    """An open PDF or image. Use as a context manager; pages are 1-based.

    For images, :meth:`native_dpi` is the image's own resolution: rendering at
    it reproduces the pixels exactly, and page points are ``px * 72 / dpi``.
    """

    def __init__(self, path: str | os.PathLike, *, password: str | None = None) -> None:
        pymupdf = import_pymupdf()

        self.path = Path(path)
        self.kind = sniff(self.path)
        self._frame_px: list[tuple[int, int]] = []
        if self.kind == "image":
            self._frame_px = check_image(self.path)
        pymupdf.TOOLS.mupdf_warnings(reset=True)
        try:
            with library_path(self.path) as name:  # MuPDF opens UTF-8 names only
                self._doc = pymupdf.open(name)
        except Exception as e:  # PyMuPDF raises several types for broken files
            raise InputFileError(f"{self.path}: cannot open as {self.kind} "
                                 f"(damaged or truncated?): {e}") from e
        if self._doc.needs_pass:
            if password is None or not self._doc.authenticate(password):
                self._doc.close()
                what = "the password is wrong" if password else "give --password"
                raise InputFileError(f"{self.path}: the PDF is encrypted; {what}")
        if self._doc.page_count == 0:
            self._doc.close()
            raise InputFileError(f"{self.path}: the document has no pages")
        #: Set when the reader had to repair the file (a broken cross-reference
        #: table, a truncated file): pages may be missing content.
        self.repaired = bool(getattr(self._doc, "is_repaired", False))
        self._dl_page: int | None = None
        self._dl = None
        self._images: tuple[int, list] | None = None  # (page, its images), for drawing
        self._page_no: int | None = None
        self._page_obj = None
        self._decode_errors: dict[int, str | None] = {}

    # -- pages ---------------------------------------------------------------
    @property
    def page_count(self) -> int:
        return self._doc.page_count

    def _page(self, page: int):
        # The current page, loaded once: loading a 100,000-path schematic's
        # page object takes 10 ms, and a page is asked for its frame, text
        # layer, damage and display list in turn.
        if self._page_no != page:
            self._page_obj = self._doc[page - 1]
            self._page_no = page
        return self._page_obj

    def frame(self, page: int) -> PageFrame:
        """The page's unrotated size (points) and rotation.

        Raises :class:`InputFileError` when the page cannot be loaded (a
        truncated image, a damaged page).
        """
        try:
            p = self._page(page)
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page} cannot be loaded: {e}") from e
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
        # PyMuPDF's image pages list no images; PIL read each frame's size from
        # the header, without decoding the pixels, when the file was opened.
        if page - 1 >= len(self._frame_px):
            return None
        width_px = self._frame_px[page - 1][0]
        return width_px * 72.0 / self._page(page).rect.width

    # -- the text layer and damage -------------------------------------------
    def text_layer(self, page: int):
        """The page's text layer (:class:`locator.textlayer.TextLayer`), or None for images.

        Boxes are page points, unrotated space. Raises :class:`InputFileError`
        when the page cannot be interpreted.
        """
        from locator.textlayer import read_text_layer

        if self.kind != "pdf":
            return None
        try:
            # Straight from the page: one interpretation, and no display list
            # (which costs 15 % more on a 100,000-path schematic). Image regions
            # are then drawn from the images this read keeps; only a page read
            # whole (or around broken words) builds a display list to render.
            import pymupdf

            pg = self._page(page)
            pymupdf.TOOLS.mupdf_warnings(reset=True)
            layer = read_text_layer(pg, page)
            self._interpreted(page, pymupdf.TOOLS.mupdf_warnings(reset=True))
            self._images = (page, layer.images)
            return layer
        except Exception as e:
            raise InputFileError(f"{self.path}: page {page}: cannot read its text: {e}") from e

    def decode_problem(self, page: int) -> str | None:
        """Why the page's content could not be fully decoded when it was last
        interpreted (its text layer read), as a warning; None when it was
        decoded, or has not been interpreted."""
        said = self._decode_errors.get(page)
        if not said:
            return None
        return (f"its content cannot be decoded ({said}); the page is read as far as it "
                f"can be, and may be incomplete")

    def _interpreted(self, page: int, said: str) -> None:
        # MuPDF reports a stream it cannot inflate as a library error while
        # interpreting, and carries on with what came before it
        self._decode_errors[page] = _first_error(said)

    def count_paths(self, page: int) -> int:
        """How many paths the page paints (a cheap content-stream scan; 0 for images)."""
        from locator.textlayer import count_paths

        if self.kind != "pdf":
            return 0
        try:
            return count_paths(self._page(page))
        except Exception:
            return 0

    def page_problems(self, page: int, *, decode: bool = True) -> list[tuple[str, bool]]:
        """What is wrong with a page of a damaged PDF: ``(message, unreadable)`` pairs.

        Finds page objects and content streams that the file no longer holds
        (a truncated file repaired by the reader keeps the page but loses what
        it showed: ``unreadable``) and an empty ``/MediaBox`` (the reader then
        assumes US Letter). With ``decode``, also content streams that cannot
        be decompressed; without, the caller learns that from
        :meth:`decode_problem` once the page has been interpreted (a 100,000-path
        page's 8 MB stream is then inflated once, not twice). Empty when
        nothing is wrong.
        """
        if self.kind != "pdf":
            return []
        import pymupdf

        out: list[tuple[str, bool]] = []
        try:
            p = self._page(page)
        except Exception as e:
            return [(f"cannot be loaded ({e})", True)]
        doc = self._doc
        if not 0 < p.xref < doc.xref_length():
            return [("the page object is missing from the file (damaged or truncated)", True)]
        try:
            mb = doc.xref_get_key(p.xref, "MediaBox")
            if mb[0] == "array":
                vals = [float(v) for v in mb[1].strip("[]").split()]
                if len(vals) == 4 and (abs(vals[2] - vals[0]) < 1 or abs(vals[3] - vals[1]) < 1):
                    out.append((f"its MediaBox {mb[1]} is empty; read as {p.rect.width:.0f} x "
                                f"{p.rect.height:.0f} pt (the reader's default)", False))
        except Exception:
            pass
        missing = 0
        damaged: list[str] = []
        try:
            xrefs = p.get_contents()
        except Exception:
            xrefs = []
        for x in xrefs:
            try:
                if not 0 < x < doc.xref_length() or doc.xref_stream_raw(x) is None:
                    missing += 1
                    continue
                if not decode:
                    continue
                # decompressing is cheap (no interpretation) and is where a
                # corrupt stream shows: the reader then keeps what came before
                pymupdf.TOOLS.mupdf_warnings(reset=True)
                doc.xref_stream(x)
                said = _first_error(pymupdf.TOOLS.mupdf_warnings(reset=True))
                if said:
                    damaged.append(said)
            except Exception as e:
                damaged.append(str(e) or type(e).__name__)
        if missing and missing == len(xrefs):
            out.append(("its content is missing from the file (damaged or truncated)", True))
        elif missing:
            out.append((f"{missing} of its {len(xrefs)} content streams are missing from the "
                        f"file (damaged or truncated); the rest is read", False))
        if damaged:
            out.append((f"{len(damaged)} of its {len(xrefs)} content streams cannot be "
                        f"decoded ({damaged[0]}); the page is read as far as it can be, "
                        f"and may be incomplete", False))
        pymupdf.TOOLS.mupdf_warnings(reset=True)
        return out

    # -- rendering -----------------------------------------------------------
    def _display_list(self, page: int):
        # One display list per page: the content stream is parsed once and every
        # tile renders from it. Only the current page's list is kept.
        if self._dl_page != page:
            import pymupdf

            pymupdf.TOOLS.mupdf_warnings(reset=True)
            self._dl = self._page(page).get_displaylist()
            self._dl_page = page
            self._interpreted(page, pymupdf.TOOLS.mupdf_warnings(reset=True))
        return self._dl

    def _page_images(self, page: int) -> list:
        # The images the last text-layer read of this page kept; a worker
        # process that did not read it finds them (one interpretation).
        if self._images is None or self._images[0] != page:
            from locator.textlayer import page_images

            self._images = (page, page_images(self._page(page)))
        return self._images[1]

    def render(self, tile: Tile) -> np.ndarray:
        """The tile as a grey ``uint8`` array of ``tile.size_px`` (height, width).

        The clip is the tile's view box; because the tile is aligned to whole
        pixels the pixmap covers exactly ``tile.rect_px``. A tile with
        ``images_only`` shows the page's images alone (:func:`draw_images`).
        """
        pymupdf = import_pymupdf()

        if tile.images_only and self.kind == "pdf":
            try:
                m = self._page(tile.page).rotation_matrix
                return draw_images(self._page_images(tile.page), tile.rect_px,
                                   (m.a, m.b, m.c, m.d, m.e, m.f), tile.dpi)
            except Exception as e:
                raise InputFileError(
                    f"{self.path}: page {tile.page}: cannot draw its images: {e}") from e

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
        self._dl = self._images = None
        self._page_obj = self._page_no = None
        self._doc.close()

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
                    sizes.append(tuple(im.size))
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
        if lo < 1 or hi < lo:
            raise UsageError(f"--pages {spec!r}: {part!r} is not a valid range (pages start at 1)")
        if hi > page_count:
            raise UsageError(
                f"--pages {spec!r}: page {hi} does not exist; the document has {page_count}")
        pages.update(range(lo, hi + 1))
    return sorted(pages)


def draw_images(images: list, view_px: tuple[int, int, int, int],
                to_view: tuple, dpi: float) -> np.ndarray:
    """The page's images alone, drawn in drawing order into the view pixels
    ``view_px`` (x0, y0, x1, y1) at ``dpi``, on white: a grey ``uint8`` array.

    ``images`` are :class:`locator.textlayer.ImageArea` with their drawing;
    ``to_view`` is the page's unrotated-to-view matrix (PyMuPDF's
    ``page.rotation_matrix``, as a 6-tuple). Stencil masks are painted black;
    an image with a soft mask (alpha) or a stencil ``/Mask`` is drawn through
    it, its transparent parts white. Nothing else of the page is drawn: an
    image region is read from the image itself, without the page's line art
    or text over it (that text is in the text layer), and without a display
    list of the whole page.
    """
    pymupdf = import_pymupdf()
    mupdf = pymupdf.mupdf
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(*view_px), False)
    pix.clear_with(255)
    view = pymupdf.Rect(*view_px) * (72.0 / dpi)
    scale = pymupdf.Matrix(dpi / 72.0, dpi / 72.0)
    rot = pymupdf.Matrix(*to_view)
    dev = mupdf.fz_new_draw_device(mupdf.FzMatrix(), pix.this)
    black = mupdf.new_floats(1)
    mupdf.floats_setitem(black, 0, 0.0)
    try:
        for im in images:
            b = im.box
            if im.drawing is None or not (pymupdf.Rect(b.x0, b.y0, b.x1, b.y1) * rot).intersects(view):
                continue
            image, placement = im.drawing
            m = pymupdf.Matrix(*placement) * rot * scale
            ctm = mupdf.FzMatrix(m.a, m.b, m.c, m.d, m.e, m.f)
            if image.imagemask():
                mupdf.fz_fill_image_mask(dev, image, ctm, mupdf.fz_device_gray(), black, 1.0,
                                         mupdf.FzColorParams())
                continue
            # an image with a soft mask or a stencil /Mask: drawn through it,
            # as MuPDF's interpreter does (its transparent parts stay white)
            mask = image.mask()
            masked = mask.m_internal is not None
            if masked:
                mupdf.fz_clip_image_mask(dev, mask, ctm, mupdf.FzRect(mupdf.FzRect.Fixed_INFINITE))
            mupdf.fz_fill_image(dev, image, ctm, 1.0, mupdf.FzColorParams())
            if masked:
                mupdf.fz_pop_clip(dev)
        mupdf.fz_close_device(dev)
    finally:
        mupdf.delete_floats(black)
    img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
    return img[:, : pix.width].copy()
