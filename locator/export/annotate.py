"""The marked-up PDF: a copy of the input with every hit outlined and labelled.

``locate DOC -p CATALOG --annotate marked.pdf`` writes, for each hit, a Square
annotation around the hit's box, its stroke just outside it (its content says what was asked for, what was
read, the score and the engine, which viewers show on hover) and a FreeText
label "pattern_id score" beside it, reading upright as the page is shown.
Colours follow the score: green from 95, orange from 85, red below.
Annotations are standard PDF: every viewer shows them, and they can be hidden,
listed or deleted there. The input's own content and annotations are untouched.

Boxes are PDF points in the page's unrotated space (origin top left), the
space of PyMuPDF's annotation methods; one matrix per page (:class:`locator.pdf.PageSpace`,
like every MuPDF call here, from the PDF boundary :mod:`locator.pdf`) takes them to the
PDF's own user space. Image inputs (PNG, JPEG, TIFF, ...) are first wrapped into
a PDF whose pages have the size locator gives the image (pixels x 72 / the
image's dpi), so the boxes land on the same pixels.

The annotations are written as PDF objects with their appearance streams
directly, not through PyMuPDF's ``add_*_annot``: those look through every
annotation already on the page for each one added, which made 1,000 hits on
one page take about a minute; this takes well under a second.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import ExportError, InputFileError
from locator.export.table import atomic_write, hits_frame
from locator.geometry import Box, PageFrame
from locator.model import Hit
from locator.inputs import library_path
from locator.pdf import PageSpace, PdfEditor, text_width

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["annotate_pdf", "AnnotateResult", "score_colour", "ANNOT_TITLE"]

#: The annotations' author ("title"), so a viewer can filter or delete them together.
ANNOT_TITLE = "locator"


def score_colour(score: float) -> tuple[float, float, float]:
    """The RGB (0-1) of a hit's marks: green from 95, orange from 85, red below."""
    if score >= 95:
        return (0.0, 0.6, 0.1)
    if score >= 85:
        return (0.95, 0.5, 0.0)
    return (0.85, 0.0, 0.0)


@dataclass
class AnnotateResult:
    """What :func:`annotate_pdf` wrote: hits marked, and hits skipped with why."""

    path: Path
    annotated: int
    skipped: list[str]


def _open_as_pdf(source: Path, password: str | None) -> PdfEditor:
    """The document as a PDF to add to (an image is converted, page sizes unchanged)."""
    from locator.documents import Document

    with Document(source, password=password) as d:  # sniffing and clear errors
        kind = d.kind
    try:
        with library_path(source) as name:  # a name that is not UTF-8 too
            return PdfEditor(name, password=password, image=kind == "image")
    except Exception as e:
        raise InputFileError(f"{source}: cannot open to annotate: {e}") from e


def _label_rect(frame: PageFrame, view_box: Box, width: float, height: float) -> Box:
    """Where the label goes, in view points: above the hit, else below; on the page."""
    vw, vh = frame.view_size
    x0 = min(max(view_box.x0, 0.0), max(vw - width, 0.0))
    y0 = view_box.y0 - height - 0.5
    if y0 < 0:
        y0 = view_box.y1 + 0.5
    y0 = min(max(y0, 0.0), max(vh - height, 0.0))
    return Box(x0, y0, x0 + width, y0 + height)


def annotate_pdf(source: str | os.PathLike, hits: Sequence[Hit] | pd.DataFrame,
                 path: str | os.PathLike, *, password: str | None = None,
                 labels: bool = True) -> AnnotateResult:
    """Write a copy of ``source`` with every hit marked, atomically, to ``path``.

    ``hits`` are :class:`~locator.model.Hit` objects or a DataFrame with the
    columns of :data:`~locator.model.HIT_COLUMNS` (boxes in PDF points,
    unrotated page space). Each hit gets one Square annotation around its box
    (title :data:`ANNOT_TITLE`, subject the pattern id, content the details)
    and, with ``labels``, one FreeText annotation "pattern_id score" next to
    it. Hits on pages the document does not have are skipped and listed. An
    encrypted input's copy is encrypted with the same (user) password.

    Raises :class:`~locator.errors.InputFileError` when the source cannot be
    opened and :class:`~locator.errors.ExportError` when the copy cannot be written.
    """
    import pandas as pd

    source = Path(source)
    if Path(path).resolve() == source.resolve():
        raise ExportError(f"{path}: refusing to overwrite the input document; "
                          f"choose another name for the marked-up copy")
    df = hits if isinstance(hits, pd.DataFrame) else hits_frame(hits)
    doc = _open_as_pdf(source, password)
    skipped: list[str] = []
    done = 0
    try:
        font = _helvetica(doc) if labels else 0
        new_refs: dict[int, list[int]] = {}
        pages: dict[int, PageSpace] = {}
        for i, rec in enumerate(df.to_dict("records")):
            page_no = int(rec["page"])
            if not 1 <= page_no <= doc.page_count:
                skipped.append(f"row {i + 1}: page {page_no} is not in {source}")
                continue
            if page_no not in pages:
                pages[page_no] = doc.page_space(page_no)
            ps = pages[page_no]
            box = Box(*(float(rec[c]) for c in ("x0", "y0", "x1", "y1")))
            score = float(rec.get("score") or 0.0)
            colour = score_colour(score)
            pid = str(rec.get("pattern_id"))
            content = (f"{pid} ({rec.get('label')}): matched {rec.get('matched')!r}, "
                       f"read {rec.get('text')!r}, score {score:.1f}, "
                       f"engine {rec.get('engine')}, page {page_no}")
            refs = new_refs.setdefault(page_no, [])
            refs.append(_square(doc, ps, box, colour, pid, content, f"locator-{i + 1}-box"))
            if labels:
                angle = rec.get("angle")
                angle = int(angle) if angle is not None and angle == angle else 0
                refs.append(_label(doc, ps, box, angle, f"{pid} {score:.0f}", colour, font,
                                   f"locator-{i + 1}-label"))
            done += 1
        for page_no, refs in new_refs.items():
            doc.append_annots(pages[page_no].xref, refs)
    except Exception as e:
        doc.close()
        raise ExportError(f"{path}: cannot annotate: {e}") from e

    try:
        atomic_write(path, lambda tmp: doc.save(tmp, password=password))
    finally:
        doc.close()
    return AnnotateResult(Path(path), done, skipped)


# ---------------------------------------------------------------- PDF objects

def _text_string(s: str) -> str:
    """A PDF text string of any characters (UTF-16BE with a byte-order mark)."""
    return "<" + (b"\xfe\xff" + s.encode("utf-16-be")).hex() + ">"


def _num(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") or "0"


def _rgb(c: tuple[float, float, float]) -> str:
    return " ".join(_num(v) for v in c)


def _helvetica(doc: PdfEditor) -> int:
    return doc.add_object("<</Type/Font/Subtype/Type1/BaseFont/Helvetica"
                          "/Encoding/WinAnsiEncoding>>")


def _square(doc: PdfEditor, ps: PageSpace, box: Box, colour, subject: str, content: str,
            name: str) -> int:
    """A Square annotation whose stroke lies just outside ``box`` (unrotated points)."""
    bw = max(0.5, min(1.5, box.height / 8, box.width / 8))
    x0, y0, x1, y1 = ps.user_rect(box.grow(bw))
    w, h = x1 - x0, y1 - y0
    ap = doc.add_object(
        f"<</Type/XObject/Subtype/Form/BBox[0 0 {_num(w)} {_num(h)}]/Resources<<>>>>",
        (f"q {_rgb(colour)} RG {_num(bw)} w {_num(bw / 2)} {_num(bw / 2)} "
         f"{_num(w - bw)} {_num(h - bw)} re S Q").encode())
    half = _num(bw / 2)
    return doc.add_object(
        f"<</Type/Annot/Subtype/Square/Rect[{_num(x0)} {_num(y0)} {_num(x1)} {_num(y1)}]"
        f"/C[{_rgb(colour)}]/BS<</W {_num(bw)}/S/S>>/RD[{half} {half} {half} {half}]"
        f"/F 4/P {ps.xref} 0 R/T{_text_string(ANNOT_TITLE)}"
        f"/Subj{_text_string(subject)}/Contents{_text_string(content)}"
        f"/NM{_text_string(name)}/AP<</N {ap} 0 R>>>>")


def _label(doc: PdfEditor, ps: PageSpace, box: Box, angle: int, text: str, colour, font: int,
           name: str) -> int:
    """A FreeText "id score" above (else below) the hit, reading upright in the view."""
    frame = ps.frame
    view = frame.box_to_view(box)
    # the hit's angle is in unrotated page space (Word.angle): turned into the view's
    text_h = view.width if frame.angle_to_view(angle) % 180 == 90 else view.height
    fs = max(4.0, min(9.0, 0.8 * text_h))
    shown = text.encode("cp1252", errors="replace")
    width = text_width(shown.decode("cp1252"), fs) + fs * 0.8
    height = fs * 1.45
    lab = _label_rect(frame, view, width, height)
    x0, y0, x1, y1 = ps.user_rect(frame.box_to_page(lab))
    # The form is drawn upright in a width x height box, then turned with the
    # page's /Rotate (counter-clockwise in user space) so the view shows it upright.
    rot = frame.rotation
    cos, sin = {0: (1, 0), 90: (0, 1), 180: (-1, 0), 270: (0, -1)}[rot]
    stream = (f"q /Half gs 1 1 1 rg 0 0 {_num(width)} {_num(height)} re f Q "
              f"BT /Helv {_num(fs)} Tf {_rgb(colour)} rg {_num(fs * 0.4)} {_num(fs * 0.38)} Td "
              f"<{shown.hex()}> Tj ET").encode()
    ap = doc.add_object(
        f"<</Type/XObject/Subtype/Form/BBox[0 0 {_num(width)} {_num(height)}]"
        f"/Matrix[{cos} {sin} {-sin} {cos} 0 0]"
        f"/Resources<</Font<</Helv {font} 0 R>>"
        f"/ExtGState<</Half<</Type/ExtGState/ca 0.8/CA 0.8>>>>>>>>", stream)
    return doc.add_object(
        f"<</Type/Annot/Subtype/FreeText/Rect[{_num(x0)} {_num(y0)} {_num(x1)} {_num(y1)}]"
        f"/Contents{_text_string(text)}/DA(/Helv {_num(fs)} Tf {_rgb(colour)} rg)"
        f"/Q 0/Rotate {rot}/BS<</W 0>>/Border[0 0 0]/F 4/P {ps.xref} 0 R"
        f"/T{_text_string(ANNOT_TITLE)}/Subj{_text_string(text.split(' ')[0])}"
        f"/NM{_text_string(name)}/AP<</N {ap} 0 R>>>>")
