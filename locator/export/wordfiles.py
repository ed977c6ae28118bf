"""Every word a run read, and every composed tag, with its box: what ``--words`` writes.

When a catalog finds nothing, this is where a user sees what the engine saw
(issue 21). The format follows the file name:

- a table (``.csv``, ``.json``, ``.jsonl``, ``.xlsx``, ``.parquet``): one row per
  word, :data:`WORD_COLUMNS` -- boxes in PDF points, origin top left of the
  unrotated page; composed words (``form`` ``bubble`` / ``stacked``) with
  their ``shape`` and their lines in ``parts`` (joined by `` | ``);
- hOCR (``.hocr``, ``.html``): XHTML, one ``ocr_page`` per page, each word an
  ``ocrx_word`` in an ``ocr_line`` of its own, boxes in pixels at
  :data:`HOCR_DPI` (``scan_res`` says so), confidence as ``x_wconf``;
  composed words carry ``x_form`` / ``x_shape``;
- ALTO v4 XML (``.xml``): ``MeasurementUnit`` ``inch1200``, one ``Page`` per
  page, each word a ``String`` in a ``TextLine``, ``WC`` its confidence
  (0-1); composed words point (``TAGREFS``) at an ``OtherTag`` naming their
  form and shape.

Written through :func:`locator.export.files.atomic_write_bytes` /
:func:`~locator.export.files.write_table`, like every output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from locator.model import Word, printable

WORD_COLUMNS = ["page", "text", "x0", "y0", "x1", "y1", "conf", "engine", "source", "angle",
                "form", "shape", "parts"]
#: hOCR boxes are whole pixels: of a rendering at this resolution.
HOCR_DPI = 300
XML_SUFFIXES = {".hocr": "hocr", ".html": "hocr", ".htm": "hocr", ".xml": "alto"}


def words_format(path: Path) -> str | None:
    """``hocr``, ``alto``, or None (a table: :func:`locator.export.files.table_format`)."""
    return XML_SUFFIXES.get(path.suffix.lower())


def words_frame(words: Sequence[Word]):
    """The words as a table (:data:`WORD_COLUMNS`), page points, reading order."""
    import pandas as pd

    rows = [{"page": w.page, "text": printable(w.text), "x0": round(w.box.x0, 2),
             "y0": round(w.box.y0, 2), "x1": round(w.box.x1, 2), "y1": round(w.box.y1, 2),
             "conf": round(w.conf, 1), "engine": w.engine, "source": w.source,
             "angle": w.angle, "form": w.form or "word", "shape": w.shape,
             "parts": " | ".join(printable(p) for p in w.parts)}
            for w in sorted(words, key=lambda w: (w.page, bool(w.form), w.box.y0, w.box.x0))]
    return pd.DataFrame(rows, columns=WORD_COLUMNS)


def write_words(words: Sequence[Word], path: Path, sizes: Mapping[int, tuple[float, float]], *,
                csv_safe: bool = False) -> None:
    """``words`` to ``path`` in the format its suffix names. ``sizes``: each
    page's unrotated width and height in points (every page read, with or
    without words)."""
    from locator.export.files import atomic_write_bytes, write_table

    kind = words_format(path)
    name = f"--words {path}"
    if kind is None:
        write_table(words_frame(words), path, sheet="Words", csv_safe=csv_safe, name=name)
        return
    text = hocr(words, sizes) if kind == "hocr" else alto(words, sizes)
    atomic_write_bytes(path, text.encode("utf-8"), name=name)


def _title(w: Word, scale: float) -> str:
    b = w.box
    box = " ".join(str(round(v * scale)) for v in (b.x0, b.y0, b.x1, b.y1))
    extra = f"; x_form {w.form}" + (f"; x_shape {w.shape}" if w.shape else "") if w.form else ""
    return f"bbox {box}; x_wconf {round(w.conf)}{extra}"


def hocr(words: Sequence[Word], sizes: Mapping[int, tuple[float, float]]) -> str:
    """The words as an hOCR document (boxes in pixels at :data:`HOCR_DPI`)."""
    s = HOCR_DPI / 72.0
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
           '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
           "<head><title>locator words</title>",
           '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>',
           '<meta name="ocr-system" content="locator"/>',
           '<meta name="ocr-capabilities" content="ocr_page ocr_line ocrx_word"/>',
           "</head><body>"]
    n = 0
    for page in sorted(sizes):
        w_pt, h_pt = sizes[page]
        out.append(f'<div class="ocr_page" id="page_{page}" title="bbox 0 0 {round(w_pt * s)} '
                   f'{round(h_pt * s)}; ppageno {page - 1}; scan_res {HOCR_DPI} {HOCR_DPI}">')
        for w in (w for w in words if w.page == page):
            n += 1
            t = _title(w, s)
            out.append(f'<span class="ocr_line" id="line_{n}" title={quoteattr(t)}>'
                       f'<span class="ocrx_word" id="word_{n}" title={quoteattr(t)}>'
                       f"{escape(printable(w.text))}</span></span>")
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def alto(words: Sequence[Word], sizes: Mapping[int, tuple[float, float]]) -> str:
    """The words as ALTO v4 XML (``inch1200`` units: 1/1200 inch, 1 pt = 16.67)."""
    s = 1200 / 72.0
    tags = sorted({(w.form, w.shape) for w in words if w.form})
    tag_id = {t: f"form_{t[0]}" + (f"_{t[1]}" if t[1] else "") for t in tags}
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<alto xmlns="http://www.loc.gov/standards/alto/ns-v4#">',
           "<Description><MeasurementUnit>inch1200</MeasurementUnit></Description>"]
    if tags:
        out.append("<Tags>" + "".join(
            f'<OtherTag ID="{tag_id[t]}" LABEL={quoteattr(t[0])} '
            f'DESCRIPTION={quoteattr(t[1] or t[0])}/>' for t in tags) + "</Tags>")
    out.append("<Layout>")
    n = 0

    def geo(b) -> str:
        return (f'HPOS="{round(b.x0 * s)}" VPOS="{round(b.y0 * s)}" '
                f'WIDTH="{round(b.width * s)}" HEIGHT="{round(b.height * s)}"')

    for page in sorted(sizes):
        w_pt, h_pt = sizes[page]
        out.append(f'<Page ID="page_{page}" PHYSICAL_IMG_NR="{page}" '
                   f'WIDTH="{round(w_pt * s)}" HEIGHT="{round(h_pt * s)}">')
        out.append(f'<PrintSpace HPOS="0" VPOS="0" WIDTH="{round(w_pt * s)}" '
                   f'HEIGHT="{round(h_pt * s)}">')
        mine = [w for w in words if w.page == page]
        if mine:
            out.append(f'<TextBlock ID="block_{page}">')
            for w in mine:
                n += 1
                ref = f' TAGREFS="{tag_id[(w.form, w.shape)]}"' if w.form else ""
                out.append(f'<TextLine ID="line_{n}" {geo(w.box)}>'
                           f'<String ID="string_{n}" {geo(w.box)} '
                           f'CONTENT={quoteattr(printable(w.text))} '
                           f'WC="{max(0.0, min(1.0, w.conf / 100)):.2f}"{ref}/></TextLine>')
            out.append("</TextBlock>")
        out.append("</PrintSpace></Page>")
    out.append("</Layout></alto>")
    return "\n".join(out) + "\n"
