"""Generated documents of every kind a text layer can be (or fail to be), with true boxes.

Each maker writes a file and returns ``{code: Box}`` in page points, unrotated
space (the coordinates hits must come back in). Codes drawn as text take their
boxes from the text layer (font boxes, ascender to descender); codes inside an
image take the source page's text boxes mapped through the image's placement.
(``tests.conftest.draw_codes`` returns *ink* boxes instead; :func:`layer_boxes`
gives the text layer's boxes of any page.)
"""

from __future__ import annotations

from pathlib import Path

import pymupdf

from locator.geometry import Box, PageFrame
from tests.conftest import draw_codes

Code = tuple[str, float, float, float, int]  # text, x, y, size pt, angle


def layer_boxes(path: Path, page: int = 1) -> dict[str, Box]:
    """The text layer's own word boxes of a page (``get_text("words")``, unrotated points)."""
    with pymupdf.open(path) as doc:
        return {w[4]: Box(*w[:4]) for w in doc[page - 1].get_text("words")}


def codes_page(codes: list[Code], width: float, height: float):
    """An in-memory one-page PDF with ``codes`` drawn as text, and their boxes."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    for text, x, y, size, angle in codes:
        page.insert_text((x, y), text, fontsize=size, fontname="helv", rotate=angle)
    truth = {}
    for text, *_ in codes:
        (r,) = page.search_for(text)
        truth[text] = Box(r.x0, r.y0, r.x1, r.y1)
    return doc, truth


def codes_pixmap(codes: list[Code], width: float, height: float, dpi: float = 200):
    """``codes`` rendered to a grey pixmap (a "scan"), and their boxes on the source page."""
    doc, truth = codes_page(codes, width, height)
    pix = doc[0].get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY, alpha=False)
    return pix, truth


def _place(truth: dict[str, Box], src_w: float, src_h: float, rect) -> dict[str, Box]:
    kx, ky = rect.width / src_w, rect.height / src_h
    return {t: Box(rect.x0 + b.x0 * kx, rect.y0 + b.y0 * ky, rect.x0 + b.x1 * kx,
                   rect.y0 + b.y1 * ky) for t, b in truth.items()}


def scan_pdf(path: Path, codes: list[Code], *, width=500, height=350, dpi=200,
             invisible: list[tuple[str, float, float]] | None = None,
             rotation: int = 0, upright_in_view: bool = False) -> dict[str, Box]:
    """An image-only page (a scan of ``codes``), optionally with an invisible text
    layer (render mode 3) of ``invisible`` words ``(text, x, y)`` over it.

    With ``rotation`` the page gets that ``/Rotate``; the scan is upright in the
    unrotated space, or (``upright_in_view``) upright as the page is shown,
    ``width x height`` being then the shown size -- how scanners write a
    landscape sheet. Boxes are always unrotated page points.
    """
    pix, truth = codes_pixmap(codes, width, height, dpi)
    doc = pymupdf.open()
    if upright_in_view and rotation:
        import io

        from PIL import Image

        w, h = (height, width) if rotation in (90, 270) else (width, height)
        page = doc.new_page(width=w, height=h)
        # the view turns the page clockwise by /Rotate: store the scan turned back
        img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        buf = io.BytesIO()
        img.rotate(rotation, expand=True).save(buf, format="PNG")
        page.insert_image(page.rect, stream=buf.getvalue())
        page.set_rotation(rotation)
        frame = PageFrame(w, h, rotation)
        truth = {t: frame.box_to_page(b) for t, b in truth.items()}
    else:
        page = doc.new_page(width=width, height=height)
        page.insert_image(page.rect, pixmap=pix)
        if rotation:
            page.set_rotation(rotation)
    for text, x, y in invisible or []:
        page.insert_text((x, y), text, fontsize=9, fontname="helv", render_mode=3)
    doc.save(path)
    return truth


def mixed_pdf(path: Path, vector: list[Code], scanned: list[Code], *, width=600, height=420,
              image_rect=(320, 200, 570, 380), dpi=200, rotation: int = 0) -> dict[str, Box]:
    """Vector text (``vector``) plus an embedded scan of other codes (``scanned``)
    placed at ``image_rect``: a page whose text layer covers only part of it."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.draw_rect(pymupdf.Rect(10, 10, width - 10, height - 10), color=(0, 0, 0), width=0.8)
    for text, x, y, size, angle in vector:
        page.insert_text((x, y), text, fontsize=size, fontname="helv", rotate=angle)
    truth = {}
    for text, *_ in vector:
        (r,) = page.search_for(text)
        truth[text] = Box(r.x0, r.y0, r.x1, r.y1)
    rect = pymupdf.Rect(*image_rect)
    src_w, src_h = rect.width, rect.height
    pix, img_truth = codes_pixmap(scanned, src_w, src_h, dpi)
    page.insert_image(rect, pixmap=pix)
    truth.update(_place(img_truth, src_w, src_h, rect))
    if rotation:
        page.set_rotation(rotation)
    doc.save(path)
    return truth


def bilevel_pdf(path: Path, vector: list[Code], scanned: list[Code], *, width=600, height=420,
                image_rect=(320, 200, 570, 380), dpi=200, clip: tuple | None = None,
                stencil: bool = True) -> dict[str, Box]:
    """Vector text plus a 1-bit scan of other codes, drawn as a stencil mask
    (``/ImageMask``: the fill colour is painted where the scan has ink, as
    bilevel scans are often placed) or as a 1-bit grey image. ``clip``
    (x0, y0, x1, y1, page points) shows only that part of the image."""
    import numpy as np

    doc, truth = codes_page(vector, width, height)
    page = doc[0]
    rect = pymupdf.Rect(*image_rect)
    pix, img_truth = codes_pixmap(scanned, rect.width, rect.height, dpi)
    a = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width]
    ink = a < 128
    # a stencil's 0 samples are painted; a 1-bit grey image's 0 samples are black
    bits = np.packbits(~ink, axis=1).tobytes()
    kind = "/ImageMask true" if stencil else "/ColorSpace /DeviceGray"
    xref = doc.get_new_xref()
    doc.update_object(xref, f"<< /Type /XObject /Subtype /Image /Width {pix.width} "
                            f"/Height {pix.height} {kind} /BitsPerComponent 1 /Length 0 >>")
    doc.update_stream(xref, bits)
    fonts = doc.xref_get_key(page.xref, "Resources/Font")[1]
    doc.xref_set_key(page.xref, "Resources", f"<< /Font {fonts} /XObject << /Scan {xref} 0 R >> >>")
    # PDF user space: origin bottom left
    h = page.rect.height
    draw = (f"q 0 0 0.6 rg {rect.width:g} 0 0 {rect.height:g} {rect.x0:g} {h - rect.y1:g} cm "
            f"/Scan Do Q")
    if clip is not None:
        x0, y0, x1, y1 = clip
        draw = f"q {x0:g} {h - y1:g} {x1 - x0:g} {y1 - y0:g} re W n {draw} Q"
    (first, *_) = page.get_contents()
    doc.update_stream(first, doc.xref_stream(first) + b"\n" + draw.encode())
    truth.update(_place(img_truth, rect.width, rect.height, rect))
    doc.save(path)
    return truth


def curves_pdf(path: Path, codes: list[Code], *, width=500, height=350,
               real_text: list[Code] = ()) -> dict[str, Box]:
    """``codes`` drawn as curves (glyph outlines, no text), plus optional real text.

    The glyphs are turned into paths by MuPDF's SVG writer (``text_as_path``)
    and the SVG is placed back on a PDF page.
    """
    src, truth = codes_page(codes, width, height)
    svg = src[0].get_svg_image(text_as_path=True)
    pdf_bytes = pymupdf.open(stream=svg.encode(), filetype="svg").convert_to_pdf()
    outlined = pymupdf.open("pdf", pdf_bytes)
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.show_pdf_page(page.rect, outlined, 0)
    for text, x, y, size, angle in real_text:
        page.insert_text((x, y), text, fontsize=size, fontname="helv", rotate=angle)
    assert not [w for w in page.get_text("words") if w[4] in truth]
    doc.save(path)
    return truth


def unmapped_font_pdf(path: Path, codes: list[Code], *, width=500, height=350) -> dict[str, Box]:
    """``codes`` in an embedded font whose ToUnicode map was removed: the text
    shows, but its text layer holds no usable characters (a broken layer)."""
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    page.insert_font(fontname="F9", fontbuffer=_ttf())
    for text, x, y, size, angle in codes:
        page.insert_text((x, y), text, fontsize=size, fontname="F9", rotate=angle)
    truth = {}
    for text, *_ in codes:
        (r,) = page.search_for(text)
        truth[text] = Box(r.x0, r.y0, r.x1, r.y1)
    for xref in range(1, doc.xref_length()):
        if doc.xref_get_key(xref, "ToUnicode")[0] != "null":
            doc.xref_set_key(xref, "ToUnicode", "null")
    doc.save(path)
    return truth


def _ttf() -> bytes:
    """A TrueType font to embed: a system DejaVu if present, else PyMuPDF's own."""
    for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/TTF/DejaVuSans.ttf"):
        if Path(p).is_file():
            return Path(p).read_bytes()
    return pymupdf.Font("figo").buffer  # bundled with PyMuPDF builds that have it


def image_file(path: Path, codes: list[Code], *, width=500, height=350, dpi=200,
               fmt: str | None = None) -> dict[str, Box]:
    """A PNG/JPEG of ``codes`` carrying its dpi; boxes in points at that dpi."""
    from PIL import Image

    pix, truth = codes_pixmap(codes, width, height, dpi)
    img = Image.frombytes("L", (pix.width, pix.height), pix.samples)
    img.save(path, format=fmt, dpi=(dpi, dpi))
    # One image pixel is 72/dpi pt, as one rendered pixel was: the boxes carry over.
    return truth


def tiff_file(path: Path, pages: list[list[Code]], *, sizes=((500, 350), (350, 500)),
              dpi=200) -> list[dict[str, Box]]:
    """A multi-page TIFF, one frame per ``pages`` entry (sizes may differ)."""
    from PIL import Image

    frames, truths = [], []
    for codes, (w, h) in zip(pages, sizes):
        pix, truth = codes_pixmap(codes, w, h, dpi)
        frames.append(Image.frombytes("L", (pix.width, pix.height), pix.samples))
        truths.append(truth)
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(dpi, dpi),
                   compression="tiff_deflate")
    return truths


__all__ = ["layer_boxes", "codes_page", "codes_pixmap", "scan_pdf", "mixed_pdf", "curves_pdf",
           "unmapped_font_pdf", "image_file", "tiff_file", "draw_codes"]
