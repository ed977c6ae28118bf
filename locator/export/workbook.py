"""The review workbook: every hit with a picture of it, a verdict drop-down, and the run's summary.

``locate DOC -p CATALOG -o review.xlsx`` writes these sheets:

``Hits``
    one row per hit: a ``verdict`` drop-down (correct / wrong / unsure), a
    thumbnail of the snippet with some context (cut from the page at the DPI
    the OCR read it, turned upright when the text runs vertically, the hit's
    box outlined in red), what was asked for and what was read, the score on a
    red-yellow-green scale, the page and a position a person can find
    ("34% across, 12% down" of the page as a viewer shows it), engine and
    source, and a free ``note``. The exact box ``x0, y0, x1, y1`` (PDF points,
    unrotated page space, the space of every box in locator) is kept in hidden
    columns so :mod:`locator.export.review` can read the verdicts back.
``Missing``
    the catalog entries with no hit.
``Summary``
    hits per label and per pattern (with live counts of the verdicts and the
    precision of the reviewed rows), the settings, engine versions, run time
    and warnings.

``Missed``
    an empty table (code, page, box or position) where the reviewer adds the
    tags the run did not find; ``Pages`` (hidden) holds each page's size and
    /Rotate so a position can be turned back into points.

Thumbnails come from :mod:`locator.export.thumbnails`.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from locator.errors import ExportError
from locator.export.files import XLSX_OPTIONS, atomic_write_bytes
from locator.export.table import hits_frame
from locator.export.thumbnails import Thumbnail, is_num, make_thumbnail, page_pictures
from locator.geometry import Box, PageFrame
from locator.model import HIT_COLUMNS, Hit, printable

if TYPE_CHECKING:
    import pandas as pd

    from locator.reports import RunReport

__all__ = ["write_workbook", "missing_frame", "make_thumbnail", "Thumbnail", "WorkbookResult",
           "VERDICTS", "HITS_SHEET", "MISSING_SHEET", "SUMMARY_SHEET", "MISSED_SHEET",
           "PAGES_SHEET", "MISSED_COLUMNS", "PAGES_COLUMNS", "MARKER",
           "HITS_SHEET_COLUMNS", "READ_BACK_COLUMNS"]

VERDICTS = ("correct", "wrong", "unsure")
HITS_SHEET, MISSING_SHEET, SUMMARY_SHEET = "Hits", "Missing", "Summary"
MISSED_SHEET, PAGES_SHEET = "Missed", "Pages"
#: The Missed sheet's columns: a tag the run did not find, added by the reviewer,
#: located by its box (PDF points) or its position ("34% across, 12% down").
MISSED_COLUMNS = ["code", "page", "x0", "y0", "x1", "y1", "position", "note"]
#: The hidden Pages sheet: each page's unrotated size and /Rotate, to turn a
#: position back into points.
PAGES_COLUMNS = ["page", "width", "height", "rotation"]
#: Cell A1 of the Summary sheet; with the Hits sheet's columns it marks a review workbook.
MARKER = "locator review workbook"
FORMAT_VERSION = 1

#: The Hits sheet's columns, in order. ``snippet`` holds the picture, ``position``
#: is for people; ``x0..y1`` are hidden.
HITS_SHEET_COLUMNS = ["verdict", "snippet", "pattern_id", "label", "matched", "text", "score",
                      "conf", "page", "position", "engine", "source", "angle", "note",
                      "file", "shape", "form", "x0", "y0", "x1", "y1"]
HIDDEN_COLUMNS = ("x0", "y0", "x1", "y1")
#: What :mod:`locator.export.review` needs to read a workbook back.
READ_BACK_COLUMNS = ("verdict", "pattern_id", "label", "matched", "page",
                     "x0", "y0", "x1", "y1")

_MAX_WIDTH = {"pattern_id": 24, "label": 16, "matched": 28, "text": 28, "engine": 22,
              "position": 24, "note": 30, "file": 40}
_PX_PER_PT = 96 / 72  # Excel lays pictures and rows out at 96 px per inch
_MISSING_COLUMNS = ["pattern_id", "label", "text", "regex", "min_score"]
# Live verdict counts cost (hits x keys) comparisons on every recalculation;
# past this the Summary keeps the static hit counts only.
_MAX_LIVE_CELLS = 2_000_000


# ---------------------------------------------------------------- the workbook

@dataclass
class WorkbookResult:
    """What :func:`write_workbook` wrote."""

    path: Path
    hits: int
    thumbnails: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


def missing_frame(catalog, missing_ids: Iterable[str]) -> pd.DataFrame:
    """The catalog entries whose id is in ``missing_ids``:
    ``pattern_id, label, text, regex, min_score`` (catalog order)."""
    import pandas as pd

    ids = set(missing_ids)
    rows = [{"pattern_id": p.id, "label": getattr(p, "label", None),
             "text": getattr(p, "text", None), "regex": getattr(p, "regex", None),
             "min_score": getattr(p, "min_score", None)}
            for p in catalog.patterns if p.id in ids]
    return pd.DataFrame(rows, columns=_MISSING_COLUMNS)


def _position(frame: PageFrame | None, box: Box) -> str:
    if frame is None:
        cx, cy = box.center
        return f"x {cx:.0f}, y {cy:.0f} pt"
    u, v = frame.box_to_view(box).center
    vw, vh = frame.view_size
    return f"{u / vw:.0%} across, {v / vh:.0%} down"


def write_workbook(path: str | os.PathLike, hits: Sequence[Hit] | pd.DataFrame, *,
                   document: str | os.PathLike | None = None,
                   report: RunReport | None = None,
                   missing: pd.DataFrame | None = None,
                   dpi: float | None = None, password: str | None = None,
                   thumbnails: bool = True, max_width: int = 400,
                   max_height: int = 160) -> WorkbookResult:
    """Write the review workbook (Hits, Missing, Summary) to ``path`` atomically.

    ``hits`` are :class:`~locator.model.Hit` objects or a DataFrame with the
    columns of :data:`~locator.model.HIT_COLUMNS` (boxes in PDF points,
    unrotated page space). ``document`` is the file the hits were found in:
    without it there are no thumbnails. ``dpi`` is the resolution of the
    thumbnails (default: the run's ``settings.dpi``, else 300; image inputs use
    their own resolution). ``missing`` is :func:`missing_frame`'s table.

    Raises :class:`~locator.errors.ExportError` when the file cannot be
    written, and the document's errors when it cannot be opened.
    """
    import pandas as pd

    t0 = time.perf_counter()
    df = hits if isinstance(hits, pd.DataFrame) else hits_frame(hits)
    absent = [c for c in ("pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1")
              if c not in df.columns]
    if absent:
        raise ExportError(f"{path}: the hits table lacks the column(s) {', '.join(absent)}")
    df = df.reset_index(drop=True)
    for c in HIT_COLUMNS:
        if c not in df.columns:
            df[c] = None
    if dpi is None:
        dpi = getattr(getattr(report, "settings", None), "dpi", None) or 300.0
    warnings: list[str] = []
    thumbs: dict[int, Thumbnail] = {}
    frames: dict[int, PageFrame] = {}
    if document is not None:
        thumbs, frames = page_pictures(df, document, dpi=dpi, password=password,
                                     max_width=max_width, max_height=max_height,
                                     warnings=warnings, pictures=thumbnails)
    if missing is None:
        missing = pd.DataFrame(
            {"pattern_id": list(getattr(report, "missing", []) or [])},
            columns=_MISSING_COLUMNS)

    import xlsxwriter

    # Built in memory, then written like any bytes: a full disk is one clean
    # ExportError, not a zip file half-closed on disk that complains at exit.
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, dict(XLSX_OPTIONS))
    try:
        fmt = _Formats(wb)
        _hits_sheet(wb, fmt, df, thumbs, frames)
        _missing_sheet(wb, fmt, missing)
        _missed_sheet(wb, fmt)
        _summary_sheet(wb, fmt, df, report, document, dpi, warnings, len(thumbs))
        _pages_sheet(wb, fmt, frames)
        wb.set_custom_property("locator_review", FORMAT_VERSION)
    finally:
        wb.close()
    atomic_write_bytes(path, buf.getvalue())
    return WorkbookResult(Path(path), len(df), len(thumbs), time.perf_counter() - t0, warnings)


class _Formats:
    def __init__(self, wb) -> None:
        self.head = wb.add_format({"bold": True, "bg_color": "#DDE4EE", "border": 1,
                                   "valign": "vcenter"})
        self.cell = wb.add_format({"valign": "vcenter"})
        self.text = wb.add_format({"valign": "vcenter", "num_format": "@"})
        self.one = wb.add_format({"valign": "vcenter", "num_format": "0.0"})
        self.two = wb.add_format({"valign": "vcenter", "num_format": "0.00"})
        self.int = wb.add_format({"valign": "vcenter", "num_format": "0"})
        self.pct = wb.add_format({"num_format": "0.0%"})
        self.verdict = wb.add_format({"valign": "vcenter", "bg_color": "#FFF9E6",
                                      "border": 1, "border_color": "#C9C9C9"})
        self.title = wb.add_format({"bold": True, "font_size": 13})
        self.bold = wb.add_format({"bold": True})
        self.warn = wb.add_format({"font_color": "#9C5700"})
        self.good = wb.add_format({"bg_color": "#C6EFCE", "font_color": "#006100"})
        self.bad = wb.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.maybe = wb.add_format({"bg_color": "#FFEB9C", "font_color": "#9C5700"})


def _put(ws, r: int, c: int, v, fmt_text, fmt_num) -> None:
    """One cell: text as text (never a formula or a number), numbers as numbers."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        ws.write_blank(r, c, None, fmt_text)
    elif isinstance(v, (bool, np.bool_)):
        ws.write_string(r, c, str(v), fmt_text)
    elif isinstance(v, (int, float, np.integer, np.floating)):
        ws.write_number(r, c, float(v), fmt_num)
    else:
        ws.write_string(r, c, str(v), fmt_text)


def _hits_sheet(wb, fmt: _Formats, df: pd.DataFrame, thumbs: dict[int, Thumbnail],
                frames: dict[int, PageFrame]) -> None:
    ws = wb.add_worksheet(HITS_SHEET)
    cols = HITS_SHEET_COLUMNS
    ci = {c: i for i, c in enumerate(cols)}
    n = len(df)
    for j, name in enumerate(cols):
        ws.write_string(0, j, name, fmt.head)
    numfmt = {"score": fmt.one, "conf": fmt.one, "page": fmt.int, "angle": fmt.int,
              "x0": fmt.two, "y0": fmt.two, "x1": fmt.two, "y1": fmt.two}
    widths = {c: len(c) + 2 for c in cols}
    max_w = max((t.width for t in thumbs.values()), default=0)
    records = df.to_dict("records")
    for i, rec in enumerate(records):
        r = i + 1
        box = Box(*(float(rec[c]) for c in ("x0", "y0", "x1", "y1")))
        page = rec["page"]
        frame = frames.get(int(page)) if is_num(page) else None
        ws.write_blank(r, ci["verdict"], None, fmt.verdict)
        for c in ("pattern_id", "label", "matched", "text", "score", "conf", "page",
                  "engine", "source", "angle", "file", "x0", "y0", "x1", "y1"):
            v = rec.get(c)
            _put(ws, r, ci[c], v, fmt.text, numfmt.get(c, fmt.cell))
            if i < 500 and v is not None:
                widths[c] = max(widths[c], len(str(v)) + 2)
        pos = _position(frame, box)
        ws.write_string(r, ci["position"], pos, fmt.text)
        widths["position"] = max(widths["position"], len(pos) + 2)
        ws.write_blank(r, ci["note"], None, fmt.text)
        t = thumbs.get(i)
        if t is not None:
            ws.set_row(r, (t.height + 6) / _PX_PER_PT)
            ws.insert_image(r, ci["snippet"], f"hit{r}.png", {
                "image_data": io.BytesIO(t.png), "x_offset": 3, "y_offset": 3,
                "object_position": 1,  # move and size with the cell: sorting keeps it
                "description": f"{rec.get('pattern_id')} on page {page}",
                "decorative": False})
        else:
            ws.write_blank(r, ci["snippet"], None, fmt.cell)
    for c in cols:
        if c == "snippet":
            width = (max_w + 8 - 5) / 7 if max_w else 10  # Excel: px = 7 * width + 5
        elif c == "verdict":
            width = 11
        else:
            width = min(_MAX_WIDTH.get(c, 14), widths[c])
        ws.set_column(ci[c], ci[c], width, None, {"hidden": c in HIDDEN_COLUMNS})
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(n, 1), len(cols) - 1)
    if n:
        v = ci["verdict"]
        ws.data_validation(1, v, n, v, {
            "validate": "list", "source": list(VERDICTS), "ignore_blank": True,
            "input_title": "verdict", "input_message": "Is this hit right? correct / wrong / unsure",
            "error_title": "verdict", "error_message": "Choose correct, wrong or unsure.",
            "error_type": "stop"})
        for word, f in zip(VERDICTS, (fmt.good, fmt.bad, fmt.maybe)):
            ws.conditional_format(1, v, n, v, {"type": "cell", "criteria": "==",
                                               "value": f'"{word}"', "format": f})
        s = ci["score"]
        ws.conditional_format(1, s, n, s, {
            "type": "3_color_scale",
            "min_type": "num", "min_value": 70, "min_color": "#F8696B",
            "mid_type": "num", "mid_value": 85, "mid_color": "#FFEB84",
            "max_type": "num", "max_value": 100, "max_color": "#63BE7B"})
    ws.activate()


def _missing_sheet(wb, fmt: _Formats, missing: pd.DataFrame) -> None:
    ws = wb.add_worksheet(MISSING_SHEET)
    cols = [str(c) for c in missing.columns]
    for c, name in enumerate(cols):
        ws.write_string(0, c, name, fmt.head)
    widths = [len(c) + 2 for c in cols]
    for r, row in enumerate(missing.itertuples(index=False), start=1):
        for c, v in enumerate(row):
            _put(ws, r, c, v, fmt.text, fmt.cell)
            widths[c] = max(widths[c], min(60, len(str(v)) + 2))
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    ws.freeze_panes(1, 0)
    if cols:
        ws.autofilter(0, 0, max(1, len(missing)), len(cols) - 1)


def _missed_sheet(wb, fmt: _Formats) -> None:
    """An empty table where the reviewer adds the tags the run missed."""
    ws = wb.add_worksheet(MISSED_SHEET)
    for c, name in enumerate(MISSED_COLUMNS):
        ws.write_string(0, c, name, fmt.head)
    ws.set_column(0, 0, 20, fmt.text)
    ws.set_column(1, 5, 9)
    ws.set_column(6, 6, 24, fmt.text)
    ws.set_column(7, 7, 30, fmt.text)
    ws.set_column(9, 9, 70)
    ws.freeze_panes(1, 0)
    help_lines = (
        "Tags the run did not find: one row each, read back by 'locate review' into the "
        "truth file.",
        "code: the tag as the catalog has it; page: 1-based.",
        "Where: the box x0, y0, x1, y1 in PDF points (top left of the unrotated page, as "
        "in the Hits sheet), or a position as the Hits sheet writes it: 34% across, 12% "
        "down (coarse: a box is better).")
    for r, line in enumerate(help_lines):
        ws.write_string(r, 9, line, fmt.warn)


def _pages_sheet(wb, fmt: _Formats, frames: dict[int, PageFrame]) -> None:
    ws = wb.add_worksheet(PAGES_SHEET)
    for c, name in enumerate(PAGES_COLUMNS):
        ws.write_string(0, c, name, fmt.head)
    for r, page in enumerate(sorted(frames), start=1):
        f = frames[page]
        for c, v in enumerate((page, f.width, f.height, f.rotation)):
            ws.write_number(r, c, float(v))
    ws.hide()


def _summary_sheet(wb, fmt: _Formats, df: pd.DataFrame, report, document, dpi: float,
                   warnings: list[str], n_thumbs: int) -> None:
    from locator import __version__

    ws = wb.add_worksheet(SUMMARY_SHEET)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 40)
    ws.set_column(2, 6, 11)
    ws.write_string(0, 0, MARKER, fmt.title)
    ws.write_number(0, 1, FORMAT_VERSION)
    r = 2
    n = len(df)

    def row(key: str, value, f=None) -> None:
        nonlocal r
        ws.write_string(r, 0, key, fmt.bold)
        _put(ws, r, 1, value, f or fmt.cell, f or fmt.cell)
        r += 1

    row("locator", __version__)
    row("created", time.strftime("%Y-%m-%d %H:%M:%S"))
    row("file", printable(str(getattr(report, "file", None) or document or "")))
    row("hits", n)
    if report is not None:
        row("pages read", report.pages)
        row("tiles read", report.tiles_read)
        row("tiles blank (skipped)", report.tiles_skipped)
        if getattr(report, "pages_cached", 0):
            row("pages from the OCR cache", report.pages_cached)
        row("words", report.words)
        row("never found", len(report.missing))
        row("seconds", round(report.seconds, 2))
    row("thumbnails", f"{n_thumbs} of {n}, at {dpi:g} dpi (images: their own resolution)")
    r += 1
    ws.write_string(r, 0, "engines", fmt.title)
    r += 1
    for name, version in (getattr(report, "engines", None) or {}).items():
        row(name, version)
    settings = getattr(report, "settings", None)
    if settings is not None:
        r += 1
        ws.write_string(r, 0, "settings", fmt.title)
        r += 1
        for f in fields(settings):
            v = getattr(settings, f.name)
            if f.name == "password":  # never write a secret into a shared file
                v = "(given)" if v else None
            elif isinstance(v, tuple):
                v = ",".join(str(x) for x in v)
            row(f.name, v)
    all_warnings = list(getattr(report, "warnings", None) or []) + warnings
    r += 1
    ws.write_string(r, 0, "warnings", fmt.title)
    ws.write_number(r, 1, len(all_warnings))
    r += 1
    for w in all_warnings:
        ws.write_string(r, 0, "warning", fmt.warn)
        ws.write_string(r, 1, w, fmt.warn)
        r += 1
    r += 1
    r = _count_table(ws, fmt, df, r, ["label"], "label")
    r += 1
    _count_table(ws, fmt, df, r, ["pattern_id", "label"], "pattern_id")


def _count_table(ws, fmt: _Formats, df: pd.DataFrame, r: int, keys: list[str],
                 by: str) -> int:
    """Hits per key (static) and live verdict counts and precision (formulas)."""
    from xlsxwriter.utility import xl_col_to_name, xl_rowcol_to_cell

    n = len(df)
    title = "hits per label" if by == "label" else "hits per pattern"
    ws.write_string(r, 0, title, fmt.title)
    r += 1
    head = keys + ["hits", "correct", "wrong", "unsure", "precision"]
    for c, h in enumerate(head):
        ws.write_string(r, c, h, fmt.head)
    r += 1
    if n == 0:
        return r
    counts = (df.assign(_k=df[by].astype(str)).groupby("_k", sort=True)
              .agg(hits=("_k", "size"), label=("label", "first")))
    key_col = xl_col_to_name(HITS_SHEET_COLUMNS.index(by))
    ver_col = xl_col_to_name(HITS_SHEET_COLUMNS.index("verdict"))
    keys_rng = f"'{HITS_SHEET}'!${key_col}$2:${key_col}${n + 1}"
    ver_rng = f"'{HITS_SHEET}'!${ver_col}$2:${ver_col}${n + 1}"
    nk = len(keys)
    live = n * len(counts) <= _MAX_LIVE_CELLS
    if not live:
        ws.write_string(r - 2, 1, "(too large for live verdict counts: "
                                  "run 'locate review' instead)", fmt.warn)
    for key, rec in counts.iterrows():
        ws.write_string(r, 0, str(key), fmt.text)
        if nk == 2:
            _put(ws, r, 1, rec["label"], fmt.text, fmt.cell)
        ws.write_number(r, nk, int(rec["hits"]))
        if not live:
            r += 1
            continue
        key_cell = xl_rowcol_to_cell(r, 0, row_abs=False, col_abs=True)
        for j, word in enumerate(VERDICTS):
            # SUMPRODUCT compares exactly; COUNTIFS would read * ? < = in ids as operators.
            ws.write_formula(r, nk + 1 + j,
                             f'=SUMPRODUCT(--({keys_rng}={key_cell}),--({ver_rng}="{word}"))',
                             None, 0)
        good = xl_rowcol_to_cell(r, nk + 1)
        bad = xl_rowcol_to_cell(r, nk + 2)
        ws.write_formula(r, nk + 4, f'=IF({good}+{bad}>0,{good}/({good}+{bad}),"")',
                         fmt.pct, "")
        r += 1
    return r
