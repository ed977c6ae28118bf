"""Writing a copy of a document with objects added: :class:`PdfEditor` (the marked-up
PDF of :mod:`locator.export.annotate`), the page-space matrix and text widths it needs."""

from __future__ import annotations

import os
from dataclasses import dataclass

from locator.geometry import Box, PageFrame
from locator.pdf.library import import_pymupdf


@dataclass(frozen=True, slots=True)
class PageSpace:
    """One page's geometry for writing annotations: its object number, its
    unrotated size and ``/Rotate`` (``frame``), and ``to_user``, the 6-tuple
    matrix from the unrotated space (top-left origin) to PDF user space."""

    xref: int
    frame: PageFrame
    to_user: tuple[float, float, float, float, float, float]

    def user_rect(self, box: Box) -> tuple[float, float, float, float]:
        """``box`` (unrotated points) in PDF user space, as (x0, y0, x1, y1), normalised
        (MuPDF's own transform, in single precision, as PDF viewers compute)."""
        pymupdf = import_pymupdf()
        r = pymupdf.Rect(box.x0, box.y0, box.x1, box.y1) * pymupdf.Matrix(*self.to_user)
        r.normalize()
        return (r.x0, r.y0, r.x1, r.y1)


def text_width(text: str, fontsize: float) -> float:
    """The width (points) of ``text`` set in Helvetica at ``fontsize``."""
    return import_pymupdf().get_text_length(text, fontname="helv", fontsize=fontsize)


class PdfEditor:
    """A document opened to add objects to and save as a PDF (an image is
    converted: one page per frame, sizes unchanged); :meth:`close` it."""

    def __init__(self, path: str | os.PathLike, *, password: str | None = None,
                 image: bool = False) -> None:
        pymupdf = import_pymupdf()
        doc = pymupdf.open(path)
        #: The input was encrypted: the copy is saved with the same password.
        self.encrypted = bool(doc.needs_pass)
        if self.encrypted:
            doc.authenticate(password or "")
        if image:
            pdf = pymupdf.open("pdf", doc.convert_to_pdf())
            doc.close()
            doc, self.encrypted = pdf, False
        self._doc = doc

    @property
    def page_count(self) -> int:
        return self._doc.page_count

    def page_space(self, page: int) -> PageSpace:
        """Page ``page``'s (1-based) :class:`PageSpace`."""
        p = self._doc[page - 1]
        rotation = p.rotation % 360
        # PyMuPDF's unrotated space -> PDF user space. transformation_matrix is
        # only that map while /Rotate is 0, so read it there and put /Rotate back.
        if rotation:
            p.set_rotation(0)
        m = ~p.transformation_matrix
        w, h = p.rect.width, p.rect.height
        if rotation:
            p.set_rotation(rotation)
        return PageSpace(p.xref, PageFrame(w, h, rotation=rotation),
                         (m.a, m.b, m.c, m.d, m.e, m.f))

    def add_object(self, text: str, stream: bytes | None = None) -> int:
        """A new object from its PDF source ``text`` (with ``stream``); its number."""
        xref = self._doc.get_new_xref()
        self._doc.update_object(xref, text)
        if stream is not None:
            self._doc.update_stream(xref, stream)
        return xref

    def append_annots(self, page_xref: int, refs: list[int]) -> None:
        """Add annotation objects to the page's /Annots, keeping the ones it has."""
        doc = self._doc
        kind, value = doc.xref_get_key(page_xref, "Annots")
        if kind == "xref":  # an indirect array
            value = doc.xref_object(int(value.split()[0]), compressed=True)
            kind = "array"
        old = value.strip()[1:-1].strip() if kind == "array" else ""
        new = " ".join(f"{r} 0 R" for r in refs)
        doc.xref_set_key(page_xref, "Annots", f"[{old} {new}]" if old else f"[{new}]")

    def save(self, path: str | os.PathLike, *, password: str | None = None) -> None:
        """Write the document; encrypted (AES-256, ``password`` for both user and
        owner) when the input was and a password is given."""
        if self.encrypted and password:
            pymupdf = import_pymupdf()
            self._doc.save(path, garbage=1, deflate=True, encryption=pymupdf.PDF_ENCRYPT_AES_256,
                           user_pw=password, owner_pw=password)
        else:
            self._doc.save(path, garbage=1, deflate=True)

    def close(self) -> None:
        self._doc.close()
