"""Reading a document through MuPDF: :class:`PdfFile` (pages, text, outlines, images,
painted paths, damage, renders) and :func:`draw_images`.

Every MuPDF object stays inside this module; callers get numpy arrays and the
records of :mod:`locator.pdf.records`. Errors are MuPDF's own exceptions:
callers name the file.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from locator.geometry import Box, PageFrame
from locator.paths import subpaths
from locator.pdf.library import first_error, import_pymupdf
from locator.pdf.records import OUTLINE_PT, ImagePlacement, PageText, PathOutline, RawWord


def _angle(dx: float, dy: float) -> int:
    """A line direction (unrotated page space, y down) -> 0, 90, 180 or 270 ccw."""
    return int(round(math.degrees(math.atan2(-dy, dx)) / 90.0)) % 4 * 90


def _image_block(block) -> ImagePlacement:
    """An image block of a text page as a placement (box clipped to the page)."""
    r = block.m_internal.bbox
    try:
        im = block.i_image()
        w_px, h_px = int(im.w()), int(im.h())
        t = block.i_transform()
        handle = (im, (t.a, t.b, t.c, t.d, t.e, t.f))
    except Exception:
        w_px = h_px = 0
        handle = None
    return ImagePlacement(Box(r.x0, r.y0, r.x1, r.y1), w_px, h_px, handle)


_PAINT = re.compile(rb"(?<=\s)(?:[fFSsBb]\*?)(?=\s|$)")


# -- how much a page's forms cost to interpret, without interpreting them -------------

_DO = re.compile(rb"/([^\s/\[\]<>(){}%]+)\s*Do\b")
_REF = re.compile(r"/([^\s/\[\]<>(){}%]+)\s+(\d+)\s+\d+\s+R")


#: What drawing one form costs beyond its content (measured: about 30 us in
#: MuPDF's text extraction, as much as ~1.5 KB of content).
_DRAW_COST = 100


def _xobjects(doc: Any, resources: tuple[str, str]) -> dict[str, int]:
    """A resource dictionary's XObjects by name (``resources``: ``xref_get_key``'s answer)."""
    kind, value = resources
    if kind == "xref":
        value = doc.xref_get_key(int(value.split()[0]), "XObject")[1]
    elif kind == "dict":
        m = re.search(r"/XObject\s*(<<.*?>>|\d+ \d+ R)", value, re.S)
        value = m.group(1) if m else ""
    else:
        return {}
    if re.fullmatch(r"\d+ \d+ R", value.strip()):
        value = doc.xref_object(int(value.split()[0]), compressed=True)
    return {n: int(x) for n, x in _REF.findall(value)}


def _form_work(doc: Any, resources: tuple[str, str], body: bytes | None, limit: int,
               memo: dict[int, int], path: frozenset[int]) -> int:
    """The cost of one form's content ``body`` and of every form it draws, as
    often as it draws it (``body`` None: the page, which draws each of its
    forms once as far as this scan knows). See :meth:`PdfFile.content_work`."""
    names = _xobjects(doc, resources)
    drawn = ([n.decode("latin-1") for n in _DO.findall(body)] if body is not None
             else list(names))
    total = 1 + len(body or b"") // 16
    for name in drawn:
        child = names.get(name)
        if child is None or child in path:  # unknown, or a cycle MuPDF refuses itself
            continue
        if child not in memo:
            memo[child] = 0
            if doc.xref_get_key(child, "Subtype")[1] == "/Form":
                res = doc.xref_get_key(child, "Resources")
                memo[child] = _form_work(doc, res if res[0] != "null" else resources,
                                         doc.xref_stream(child) or b"", limit, memo,
                                         path | {child})
        total += _DRAW_COST + memo[child]
        if total > limit:
            return total
    return total



class Refused(Exception):
    """A document MuPDF opened but that cannot be read: encrypted without the
    right password, or without pages (the message says which)."""


class PdfFile:
    """An open document in MuPDF; pages are 1-based; :meth:`close` it.

    Raises MuPDF's exceptions (the caller names the file), and
    :class:`Refused` when :meth:`open` will not open it.
    Caches (the current page object, its display list, the images its last
    text read kept) change how fast a page is served, never what.
    """

    def __init__(self, doc) -> None:
        self._doc = doc
        self._page_no: int | None = None
        self._page_obj = None
        self._dl_page: int | None = None
        self._dl = None
        # the images the last text read of a page kept: an image region is then
        # drawn without a second interpretation (a worker that did not read the
        # layer finds them itself; the pixels are the same, as tests check)
        self._images: tuple[int, tuple[ImagePlacement, ...]] | None = None
        # a scanned page's one image, decoded once: ((page, dpi, colour), state):
        # ("first", clip, pixels, corner) of the first tile MuPDF drew,
        # ("image", (pixmap, pixels)) once checked, or ("no",)
        self._scan: tuple[tuple, tuple] | None = None

    @classmethod
    def open(cls, path: str | os.PathLike, *, password: str | None = None) -> PdfFile:
        """Open ``path``; raise :class:`Refused` when it needs a password that
        was not given or is wrong, or has no pages."""
        pymupdf = import_pymupdf()
        pymupdf.TOOLS.mupdf_warnings(reset=True)
        doc = pymupdf.open(path)
        if doc.needs_pass and (password is None or not doc.authenticate(password)):
            doc.close()
            raise Refused("the PDF is encrypted; "
                          + ("the password is wrong" if password else "give --password"))
        if doc.page_count == 0:
            doc.close()
            raise Refused("the document has no pages")
        return cls(doc)

    @property
    def page_count(self) -> int:
        return self._doc.page_count

    @property
    def repaired(self) -> bool:
        """The reader had to repair the file (broken cross-references, truncated)."""
        return bool(getattr(self._doc, "is_repaired", False))

    def _page(self, page: int):
        # The current page, loaded once: loading a 100,000-path schematic's
        # page object takes 10 ms, and a page is asked for its frame, text
        # layer, damage and display list in turn.
        if self._page_no != page:
            self._page_obj = self._doc[page - 1]
            self._page_no = page
        return self._page_obj

    def frame(self, page: int) -> PageFrame:
        """The page's unrotated size (points) and rotation."""
        p = self._page(page)
        # page.rect is the rotated view; derotating its size gives the unrotated size.
        w, h = p.rect.width, p.rect.height
        rot = p.rotation % 360
        if rot in (90, 270):
            w, h = h, w
        return PageFrame(width=w, height=h, rotation=rot)

    def _text_page(self, page: int):
        pymupdf = import_pymupdf()
        return self._page(page).get_textpage(
            flags=pymupdf.TEXTFLAGS_WORDS | pymupdf.TEXT_PRESERVE_IMAGES)

    def read_text(self, page: int) -> PageText:
        """The page's words and images in one interpretation (no display list,
        which costs 15 % more on a 100,000-path schematic).

        Words and boxes equal ``page.get_text("words")`` (unrotated space, also
        on pages with ``/Rotate``), duplicates included.
        """
        pymupdf = import_pymupdf()
        mupdf = pymupdf.mupdf
        pymupdf.TOOLS.mupdf_warnings(reset=True)
        tp = self._text_page(page)  # held: its blocks live as long as it does
        raw = tp.extractWORDS()
        # Line directions and visibility, keyed like extractWORDS's (block, line):
        # it numbers text blocks only, in order, so image blocks are not counted.
        # Only a line's first glyph is looked at for a missing Unicode mapping:
        # one look per line.
        lines: dict[tuple[int, int], tuple[int, bool, bool]] = {}
        images: list[ImagePlacement] = []
        tb = -1
        image_block, text_block = mupdf.FZ_STEXT_BLOCK_IMAGE, mupdf.FZ_STEXT_BLOCK_TEXT
        is_cid = mupdf.FZ_STEXT_UNICODE_IS_CID
        for block in tp.this:
            bt = block.m_internal.type
            if bt == image_block:
                images.append(_image_block(block))
                continue
            if bt != text_block:
                continue
            tb += 1
            for ln, line in enumerate(block):
                li = line.m_internal
                fc = li.first_char
                visible = True if fc is None else (fc.argb >> 24) != 0
                unmapped = fc is not None and bool(fc.flags & is_cid)
                d = li.dir
                lines[(tb, ln)] = (_angle(d.x, d.y), visible, unmapped)
        plain = (0, True, False)
        words = tuple(RawWord(text, Box(x0, y0, x1, y1), *lines.get((b, ln), plain))
                      for x0, y0, x1, y1, text, b, ln, _ in raw)
        said = first_error(pymupdf.TOOLS.mupdf_warnings(reset=True))
        self._images = (page, tuple(images))
        return PageText(words=words, images=tuple(images), decode_error=said)

    def read_outlines(self, page: int) -> tuple[PathOutline, ...]:
        """The page's painted paths of a bubble's size (:data:`OUTLINE_PT`), as
        :class:`PathOutline` records (unrotated page points, like the words).

        One ``get_drawings`` call: tens of ms on a P&ID sheet of a few
        thousand paths. A path is split at each move-to, so a circle and its
        bar drawn as one path still come out as two outlines.
        """
        lo, hi = OUTLINE_PT
        out: list[PathOutline] = []
        for d in self._page(page).get_drawings():
            r = d["rect"]
            if max(r.width, r.height) < lo or min(r.width, r.height) > hi:
                continue
            for pts, curved in subpaths(d["items"]):
                if d.get("closePath") and pts[0] != pts[-1]:
                    pts.append(pts[0])
                box = Box(min(x for x, _ in pts), min(y for _, y in pts),
                          max(x for x, _ in pts), max(y for _, y in pts))
                if lo <= max(box.width, box.height) <= hi:
                    out.append(PathOutline(box, tuple(pts), curved))
        return tuple(out)

    def read_images(self, page: int) -> tuple[ImagePlacement, ...]:
        """The images the page draws, in drawing order (one interpretation, or
        none when the page's text was the last thing read)."""
        if self._images is None or self._images[0] != page:
            mupdf = import_pymupdf().mupdf
            tp = self._text_page(page)
            found = tuple(_image_block(b) for b in tp.this
                          if b.m_internal.type == mupdf.FZ_STEXT_BLOCK_IMAGE)
            self._images = (page, found)
        return self._images[1]

    def content_work(self, page: int, limit: int) -> int:
        """About how much interpreting the page's Form XObjects costs, every form
        counted as often as it is drawn (nesting multiplies), from a scan of the
        forms' streams without interpreting them; counting stops past ``limit``.
        The page's own content stream is not scanned: its cost grows with its
        size only, and what hangs MuPDF for hours is nesting (12 levels of
        forms, each drawing the one below 10 times)."""
        p = self._page(page)
        return _form_work(self._doc, self._doc.xref_get_key(p.xref, "Resources"), None, limit,
                          {}, frozenset())

    def count_paths(self, page: int) -> int:
        """How many paths the page paints (fill/stroke operators in its content
        and forms): a scan of the streams, no interpretation (tens of ms for
        a 100,000-path schematic). Used to spot text drawn as curves."""
        p, doc = self._page(page), self._doc
        streams = []
        try:
            streams.append(p.read_contents())
        except Exception:
            pass
        try:
            xobjects = p.get_xobjects()
        except Exception:
            xobjects = []
        for xref, *_ in xobjects:
            try:
                if doc.xref_get_key(xref, "Subtype")[1] == "/Form":
                    streams.append(doc.xref_stream(xref))
            except Exception:
                continue
        return sum(len(_PAINT.findall(b" " + s)) for s in streams if s)

    def page_problems(self, page: int, *, decode: bool = True) -> list[tuple[str, bool]]:
        """What is wrong with a page of a damaged file: ``(message, unreadable)``
        pairs (see :meth:`locator.documents.Document.page_problems`)."""
        try:
            p = self._page(page)
        except Exception as e:
            return [(f"cannot be loaded ({e})", True)]
        doc = self._doc
        if not 0 < p.xref < doc.xref_length():
            return [("the page object is missing from the file (damaged or truncated)", True)]
        out: list[tuple[str, bool]] = []
        try:
            mb = doc.xref_get_key(p.xref, "MediaBox")
            if mb[0] == "array":
                vals = [float(v) for v in mb[1].strip("[]").split()]
                if len(vals) == 4 and (abs(vals[2] - vals[0]) < 1 or abs(vals[3] - vals[1]) < 1):
                    out.append((f"its MediaBox {mb[1]} is empty; read as {p.rect.width:.0f} x "
                                f"{p.rect.height:.0f} pt (the reader's default)", False))
        except Exception:
            pass
        try:
            xrefs = p.get_contents()
        except Exception:
            xrefs = []
        missing, damaged = self._stream_damage(xrefs, decode)
        if missing and missing == len(xrefs):
            out.append(("its content is missing from the file (damaged or truncated)", True))
        elif missing:
            out.append((f"{missing} of its {len(xrefs)} content streams are missing from the "
                        f"file (damaged or truncated); the rest is read", False))
        if damaged:
            out.append((f"{len(damaged)} of its {len(xrefs)} content streams cannot be "
                        f"decoded ({damaged[0]}); the page is read as far as it can be, "
                        f"and may be incomplete", False))
        return out

    def _stream_damage(self, xrefs: list[int], decode: bool) -> tuple[int, list[str]]:
        # How many content streams the file lacks and, with decode, why the
        # others cannot be decompressed: decompressing is cheap (no
        # interpretation) and is where a corrupt stream shows
        pymupdf = import_pymupdf()
        doc = self._doc
        missing = 0
        damaged: list[str] = []
        for x in xrefs:
            try:
                if not 0 < x < doc.xref_length() or doc.xref_stream_raw(x) is None:
                    missing += 1
                    continue
                if not decode:
                    continue
                pymupdf.TOOLS.mupdf_warnings(reset=True)
                doc.xref_stream(x)
                said = first_error(pymupdf.TOOLS.mupdf_warnings(reset=True))
                if said:
                    damaged.append(said)
            except Exception as e:
                damaged.append(str(e) or type(e).__name__)
        pymupdf.TOOLS.mupdf_warnings(reset=True)
        return missing, damaged

    # -- rendering -----------------------------------------------------------
    def _display_list(self, page: int):
        # One display list per page: the content stream is parsed once and every
        # tile renders from it. Only the current page's list is kept.
        if self._dl_page != page:
            self._dl = self._page(page).get_displaylist()
            self._dl_page = page
        return self._dl

    def render(self, page: int, view_clip: Box, dpi: float, *, color: bool = False,
               grey_ok: bool = False) -> tuple[np.ndarray, tuple[int, int]]:
        """The view region ``view_clip`` (rotated view points) at ``dpi``: a grey
        ``(h, w)`` or RGB ``(h, w, 3)`` ``uint8`` array, and the pixel position of
        its corner (MuPDF rounds the clip outward).

        A page that only shows one image pixel for pixel at ``dpi`` (a scan
        read at its own resolution) is served from the image decoded once
        (:meth:`_scan_crop`): MuPDF drawing the image again into each tile was
        1.4 s of a 10 s run of a 200 dpi A0 scan. ``grey_ok``: such a scan's
        grey image is returned grey even with ``color`` (its RGB render has
        that grey in every channel)."""
        crop = self._scan_crop(page, view_clip, dpi, color, grey_ok)
        if crop is not None:
            return crop
        return self._draw(page, view_clip, dpi, color)

    def _draw(self, page: int, view_clip: Box, dpi: float, color: bool
              ) -> tuple[np.ndarray, tuple[int, int]]:
        pymupdf = import_pymupdf()
        c, scale = view_clip, dpi / 72.0
        pix = self._display_list(page).get_pixmap(
            matrix=pymupdf.Matrix(scale, scale), clip=pymupdf.Rect(c.x0, c.y0, c.x1, c.y1),
            colorspace=pymupdf.csRGB if color else pymupdf.csGRAY, alpha=False)
        n = 3 if color else 1
        img: np.ndarray = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.stride)
        img = img[:, : pix.width * n]
        if color:
            img = img.reshape(pix.height, pix.width, n)
        return img, (pix.x, pix.y)

    def _scan_crop(self, page: int, view_clip: Box, dpi: float, color: bool,
                   grey_ok: bool = False) -> tuple[np.ndarray, tuple[int, int]] | None:
        """``view_clip`` cut from the page's one image (see :func:`_scan_image`),
        or None (then MuPDF draws it). The first tile of a page is drawn by
        MuPDF and kept; at the second the image is decoded and checked against
        it, and a page whose image does not give that tile's pixels exactly is
        drawn by MuPDF throughout. A process that renders one tile of a page
        (the blank test of the first tile, before the workers start) never
        decodes its image."""
        key = (page, dpi, color)
        state = self._scan[1] if self._scan is not None and self._scan[0] == key else None
        if state is None:
            self._scan = None  # (the previous page's image is let go first)
            drawn, at = self._draw(page, view_clip, dpi, color)
            self._scan = (key, ("first", view_clip, drawn, at))
            return drawn, at
        if state[0] == "first":
            _first, clip, drawn, at = state
            self._scan = (key, ("no",))
            found = _scan_image(self._doc, self._page(page), dpi, color)
            if found is None:
                return None
            cut = _cut(found[1], clip, dpi, color, grey_ok=False)
            if cut is None:  # the first tile is not whole pixels inside the image
                clip, (drawn, at) = view_clip, self._draw(page, view_clip, dpi, color)
                cut = _cut(found[1], clip, dpi, color, grey_ok=False)
            if (cut is None or cut[1] != at or cut[0].shape != drawn.shape
                    or not np.array_equal(cut[0], drawn)):
                return (drawn, at) if clip is view_clip else None
            self._scan = (key, ("image", found))
            state = self._scan[1]
        if state[0] != "image":
            return None
        return _cut(state[1][1], view_clip, dpi, color, grey_ok=grey_ok)

    def draw_page_images(self, page: int, view_px: tuple[int, int, int, int],
                         dpi: float) -> np.ndarray:
        """The page's images alone in the view pixels ``view_px`` (see :func:`draw_images`)."""
        m = self._page(page).rotation_matrix
        return draw_images(self.read_images(page), view_px, (m.a, m.b, m.c, m.d, m.e, m.f), dpi)

    def close(self) -> None:
        self._dl = self._images = self._scan = None
        self._page_obj = self._page_no = None
        self._doc.close()


#: A page's content stream that draws one XObject and nothing else.
_ONE_DRAW = re.compile(rb"\s*q\s+((?:[-+.\d]+\s+){6})cm\s+/([^\s/\[\]<>(){}%]+)\s+Do\s+Q\s*")
#: The largest image :func:`_scan_image` keeps decoded (bytes): an A0 at 300 dpi
#: in grey is 140 MB.
SCAN_IMAGE_MAX = 256 * 2**20


def _scan_image(doc: Any, p: Any, dpi: float, color: bool) -> tuple[Any, np.ndarray] | None:
    """The page's view at ``dpi`` as a decoded image (grey, or RGB when
    ``color`` and the image is in colour; ``(h, w)`` or ``(h, w, 3)``), when
    the page shows exactly one opaque 8-bit grey or RGB image, unrotated,
    whose pixels are the view's pixels at ``dpi`` (its corner on a pixel
    corner, one image pixel a view pixel), and nothing else: its content
    stream is one ``q ... cm /Im Do Q``, and it has no annotations. Else None.
    Returned with its pixmap, whose memory the array is."""
    pymupdf = import_pymupdf()
    try:
        if p.rotation % 360 or p.first_annot is not None or p.first_widget is not None:
            return None
        content = p.read_contents()
        m = _ONE_DRAW.fullmatch(content or b"")
        if m is None:
            return None
        images = [i for i in p.get_images(full=True) if i[7] == m.group(2).decode("latin-1")]
        if len(images) != 1:
            return None
        xref, _smask, w, h, bpc = images[0][:5]
        if bpc != 8 or doc.xref_get_key(xref, "Subtype")[1] != "/Image":
            return None
        for name in ("SMask", "Mask", "Decode", "ImageMask"):
            if doc.xref_get_key(xref, name)[0] != "null":
                return None
        # the image's unit square in the page's (top-down) space; its pixel row
        # 0 is the square's top (y = 1)
        cm = pymupdf.Matrix(*(float(v) for v in m.group(1).split()))
        t = cm * p.transformation_matrix
        corner = pymupdf.Point(0, 1) * t
        k = dpi / 72.0
        if t.b or t.c or t.a <= 0 or t.d >= 0:
            return None
        if (abs(t.a * k - w) > 0.01 or abs(-t.d * k - h) > 0.01
                or abs(corner.x * k) > 1e-3 or abs(corner.y * k) > 1e-3):
            return None  # not pixel for pixel from the page's corner
        pix = pymupdf.Pixmap(doc, xref)
        if pix.alpha or pix.n not in (1, 3) or pix.width != w or pix.height != h:
            return None
        if pix.n == 3 and not color:
            pix = pymupdf.Pixmap(pymupdf.csGRAY, pix)
        if pix.height * pix.stride > SCAN_IMAGE_MAX:
            return None
        # the pixmap's own memory, not a copy (the pixmap is kept beside it)
        img: np.ndarray = np.frombuffer(pix.samples_mv, np.uint8).reshape(pix.height,
                                                                         pix.stride)
        img = img[:, : pix.width * pix.n]
        return pix, (img.reshape(pix.height, pix.width, 3) if pix.n == 3 else img)
    except Exception:  # anything unusual: MuPDF draws the page, as for any page
        return None


def _cut(image: np.ndarray, view_clip: Box, dpi: float, color: bool, *, grey_ok: bool
         ) -> tuple[np.ndarray, tuple[int, int]] | None:
    """``view_clip`` of a page's image (its pixels the view's at ``dpi``) and
    its corner, or None when the clip is not whole pixels inside the image.
    A grey image read in colour: RGB with that grey in every channel, or grey
    with ``grey_ok``."""
    k = dpi / 72.0
    edges = [view_clip.x0 * k, view_clip.y0 * k, view_clip.x1 * k, view_clip.y1 * k]
    x0, y0, x1, y1 = (int(round(v)) for v in edges)
    if (any(abs(v - round(v)) > 1e-3 for v in edges) or x0 < 0 or y0 < 0
            or x1 > image.shape[1] or y1 > image.shape[0] or x1 <= x0 or y1 <= y0):
        return None
    cut = image[y0:y1, x0:x1].copy()  # (not a view that holds the whole image)
    if color and cut.ndim == 2 and not grey_ok:
        cut = np.repeat(cut[:, :, None], 3, axis=2)
    return cut, (x0, y0)


def draw_images(images: Sequence[ImagePlacement], view_px: tuple[int, int, int, int],
                to_view: tuple, dpi: float) -> np.ndarray:
    """The page's images alone, drawn in drawing order into the view pixels
    ``view_px`` (x0, y0, x1, y1) at ``dpi``, on white: a grey ``uint8`` array.

    ``images`` come from the page's :class:`PdfFile`; ``to_view`` is the page's
    unrotated-to-view matrix (PyMuPDF's ``page.rotation_matrix``, as a 6-tuple).
    Stencil masks are painted black; an image with a soft mask (alpha) or a
    stencil ``/Mask`` is drawn through it, its transparent parts white. Nothing
    else of the page is drawn: an image region is read from the image itself,
    without the page's line art or text over it (that text is in the text
    layer), and without a display list of the whole page.
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
            if im.handle is None or not (pymupdf.Rect(b.x0, b.y0, b.x1, b.y1) * rot).intersects(view):
                continue
            image, placement = im.handle
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
