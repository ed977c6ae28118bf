"""The marked-up PDF: a copy of the input with every hit outlined and labelled.

``locate DOC -p CATALOG --annotate marked.pdf`` writes, for each hit, a Square
annotation at the hit's box (its content says what was asked for, what was
read, the score and the engine, which viewers show on hover) and a FreeText
label "pattern_id score" beside it, reading upright as the page is shown.
Colours follow the score: green from 95, orange from 85, red below.
Annotations are standard PDF: every viewer shows them, and they can be hidden,
listed or deleted there. The input's own content and annotations are untouched.

Boxes are PDF points in the page's unrotated space, which is exactly the space
PyMuPDF's annotation methods take, so a hit's box is used as it is. Image inputs
(PNG, JPEG, TIFF, ...) are first wrapped into a PDF whose pages have the size
locator gives the image (pixels x 72 / the image's dpi), so the boxes land on
the same pixels.
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
    path: Path
    annotated: int
    skipped: list[str]


def _open_as_pdf(source: Path, password: str | None):
    """The document as a PyMuPDF PDF (an image is converted), page sizes unchanged."""
    import pymupdf

    from locator.documents import Document

    with Document(source, password=password) as d:  # sniffing and clear errors
        kind = d.kind
    try:
        doc = pymupdf.open(source)
        if doc.needs_pass:
            doc.authenticate(password or "")
        if kind == "image":
            pdf = pymupdf.open("pdf", doc.convert_to_pdf())
            doc.close()
            return pdf
        return doc
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
    unrotated page space). Each hit gets one Square annotation at its box
    (title :data:`ANNOT_TITLE`, subject the pattern id, content the details)
    and, with ``labels``, one FreeText annotation "pattern_id score" next to
    it. Hits on pages the document does not have are skipped and listed.

    Raises :class:`~locator.errors.InputFileError` when the source cannot be
    opened and :class:`~locator.errors.ExportError` when the copy cannot be written.
    """
    import pandas as pd
    import pymupdf

    source = Path(source)
    if Path(path).resolve() == source.resolve():
        raise ExportError(f"{path}: refusing to overwrite the input document; "
                          f"choose another name for the marked-up copy")
    df = hits if isinstance(hits, pd.DataFrame) else hits_frame(hits)
    doc = _open_as_pdf(source, password)
    skipped: list[str] = []
    done = 0
    try:
        for i, rec in enumerate(df.to_dict("records")):
            page_no = int(rec["page"])
            if not 1 <= page_no <= doc.page_count:
                skipped.append(f"row {i + 1}: page {page_no} is not in {source}")
                continue
            page = doc[page_no - 1]
            box = Box(*(float(rec[c]) for c in ("x0", "y0", "x1", "y1")))
            score = float(rec.get("score") or 0.0)
            colour = score_colour(score)
            pid = str(rec.get("pattern_id"))
            annot = page.add_rect_annot(pymupdf.Rect(box.x0, box.y0, box.x1, box.y1))
            annot.set_border(width=max(0.5, min(1.5, box.height / 8, box.width / 8)))
            annot.set_colors(stroke=colour)
            annot.set_info(title=ANNOT_TITLE, subject=pid, content=(
                f"{pid} ({rec.get('label')}): matched {rec.get('matched')!r}, "
                f"read {rec.get('text')!r}, score {score:.1f}, "
                f"engine {rec.get('engine')}, page {page_no}"))
            annot.update()
            if labels:
                angle = rec.get("angle")
                angle = int(angle) if angle is not None and angle == angle else 0
                _add_label(page, box, angle, f"{pid} {score:.0f}", colour)
            done += 1
    except Exception as e:
        doc.close()
        raise ExportError(f"{path}: cannot annotate: {e}") from e

    def write(tmp: Path) -> None:
        doc.save(tmp, garbage=1, deflate=True)

    try:
        atomic_write(path, write)
    finally:
        doc.close()
    return AnnotateResult(Path(path), done, skipped)


def _add_label(page, box: Box, angle: int, text: str, colour) -> None:
    """A FreeText "id score" above (else below) the hit, upright in the view."""
    import pymupdf

    rot = page.rotation % 360
    w, h = page.rect.width, page.rect.height  # the view's size
    frame = PageFrame(*((h, w) if rot in (90, 270) else (w, h)), rotation=rot)
    view = frame.box_to_view(box)
    text_h = view.width if angle % 180 == 90 else view.height  # angle: in the view
    fs = max(4.0, min(9.0, 0.8 * text_h))
    width = pymupdf.get_text_length(text, fontname="helv", fontsize=fs) + fs * 0.8
    lab = _label_rect(frame, view, width, fs * 1.45)
    r = frame.box_to_page(lab)
    annot = page.add_freetext_annot(
        pymupdf.Rect(r.x0, r.y0, r.x1, r.y1), text, fontsize=fs, fontname="helv",
        text_color=colour, fill_color=(1, 1, 1), rotate=rot, border_width=0)
    annot.set_opacity(0.85)
    annot.set_info(title=ANNOT_TITLE, subject=text.split(" ")[0], content=text)
    annot.update(fontsize=fs, text_color=colour, fill_color=(1, 1, 1), rotate=rot)
