"""The PDF boundary: the one package that calls MuPDF (PyMuPDF), like docTR's ``io/pdf.py``.

Everything else sees plain values and the small frozen records defined here:

- :class:`PdfFile` -- an open document (a PDF, or an image MuPDF opens as
  pages): page frames, a page's text as :class:`PageText` (its raw words with
  their direction and visibility, its image placements, what MuPDF could not
  decode) in one interpretation, painted-path counts, damage found in the
  file, and renders to numpy arrays (from one display list per page, or from
  the page's images alone).
- :class:`PdfEditor` -- a copy of a document to add PDF objects to and save
  (the marked-up PDF of :mod:`locator.export.annotate`).

Its modules: :mod:`~locator.pdf.library` (the import), :mod:`~locator.pdf.records`,
:mod:`~locator.pdf.reading` and :mod:`~locator.pdf.editing`; every name is
re-exported here, and nothing outside the package imports PyMuPDF (a test
checks). PyMuPDF is imported lazily (``locate --help`` does not load it) and through
:func:`import_pymupdf`. Boxes are PDF points in the page's *unrotated* space,
origin top left (``page.get_text("words")``'s space); renders are in the
rotated view. Errors are MuPDF's own exceptions: callers name the file.
"""

from locator.pdf.editing import PageSpace, PdfEditor, text_width
from locator.pdf.library import first_error, import_pymupdf
from locator.pdf.reading import PdfFile, Refused, draw_images
from locator.pdf.records import OUTLINE_PT, ImagePlacement, PageText, PathOutline, RawWord

__all__ = ["PageSpace", "PdfEditor", "text_width", "first_error", "import_pymupdf", "PdfFile",
           "Refused", "draw_images", "OUTLINE_PT", "ImagePlacement", "PageText", "PathOutline",
           "RawWord"]
