"""Reading a review workbook back: the verdicts, the precision of the reviewed rows, and a truth file.

After a person has set ``verdict`` (correct / wrong / unsure) on rows of the
Hits sheet written by :mod:`locator.export.workbook`, :func:`read_review`
returns the rows, the precision of the reviewed ones per label and per pattern
(``correct / (correct + wrong)``; unsure and blank rows are counted but left out),
and the truth table: the rows marked correct, as ``pattern_id, label, matched,
page, x0, y0, x1, y1`` (PDF points, unrotated page space), which ``locate
eval`` and ``locate tune`` read.

The truth also holds the tags the reviewer added on the Missed sheet (code,
page, and a box or a position), so recall against it counts them. The truth
file :func:`write_truth` writes says, in its ``review`` column, what each row
is: ``correct`` and ``missed`` rows are the truth; ``wrong`` rows were reviewed
and are not; ``unreviewed`` rows (unsure or blank verdicts) were not judged,
so ``locate eval`` leaves hits on them out of the scores instead of counting
them as false hits.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import InputFileError
from locator.export.workbook import (HITS_SHEET, MARKER, MISSED_SHEET, MISSING_SHEET,
                                     PAGES_SHEET, READ_BACK_COLUMNS, SUMMARY_SHEET, VERDICTS)
from locator.geometry import Box, PageFrame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_review", "Review", "TRUTH_COLUMNS", "write_truth", "normalise_verdict",
           "REVIEW_COLUMN", "REVIEW_VALUES"]

TRUTH_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1"]
#: The truth file's column saying what each row is (see the module docstring).
REVIEW_COLUMN = "review"
REVIEW_VALUES = ("correct", "missed", "wrong", "unreviewed")
_POSITION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*across\s*,?\s*(\d+(?:\.\d+)?)\s*%"
                       r"\s*down\s*$", re.IGNORECASE)
# A position is coarse (whole percent): its truth box spans this share of the
# page's longer side around the point, at least _MIN_HALF pt each way.
_POSITION_HALF = 0.015
_MIN_HALF = 10.0
_STATS = ["reviewed", "correct", "wrong", "unsure", "blank", "precision"]

# What people type instead of picking from the list (LibreOffice lets them).
_SYNONYMS = {
    "correct": "correct", "c": "correct", "ok": "correct", "yes": "correct", "y": "correct",
    "true": "correct", "right": "correct", "✓": "correct", "✔": "correct",
    "wrong": "wrong", "w": "wrong", "no": "wrong", "n": "wrong", "false": "wrong",
    "incorrect": "wrong", "x": "wrong", "✗": "wrong", "✘": "wrong",
    "unsure": "unsure", "u": "unsure", "?": "unsure", "maybe": "unsure",
}


def normalise_verdict(value: object) -> str | None:
    """``"correct"``, ``"wrong"``, ``"unsure"``, ``""`` (blank), or None if unrecognised.

    Case and surrounding spaces are ignored; a few obvious synonyms
    (ok/yes/y, no/n/x, ?) are accepted.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "correct" if value else "wrong"
    s = str(value).strip().lower()
    if not s:
        return ""
    return _SYNONYMS.get(s)


@dataclass(eq=False)
class Review:
    """The verdicts of one review workbook.

    ``rows``: the Hits sheet with ``verdict`` normalised (``""`` for blank) and
    ``row`` (the sheet's row number). ``per_label`` / ``per_pattern``: counts
    ``reviewed, correct, wrong, unsure, blank`` and ``precision`` (NaN where
    nothing was judged correct or wrong). ``overall``: the same for all rows.
    ``truth``: the rows marked correct and the missed tags added on the
    Missed sheet, columns :data:`TRUTH_COLUMNS`. ``missed``: those added tags
    alone. ``scope``: every row with :data:`REVIEW_COLUMN` (what
    :func:`write_truth` writes). ``warnings``: verdicts that were not
    understood and Missed rows that could not be read (those rows are left out).
    """

    path: Path
    rows: pd.DataFrame
    per_label: pd.DataFrame
    per_pattern: pd.DataFrame
    overall: dict
    truth: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    missed: pd.DataFrame | None = None
    scope: pd.DataFrame | None = None


def _stats(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    v = df["verdict"]
    counts = pd.DataFrame({k: df[k] for k in keys})
    for word in (*VERDICTS, ""):
        counts[word or "blank"] = (v == word).astype(int)
    out = counts.groupby(keys, sort=True, dropna=False).sum().reset_index()
    out["reviewed"] = out["correct"] + out["wrong"] + out["unsure"]
    judged = out["correct"] + out["wrong"]
    out["precision"] = (out["correct"] / judged.where(judged > 0)).astype(float)
    return out[keys + _STATS]


def read_review(path: str | os.PathLike) -> Review:
    """Read the verdicts of a review workbook written by ``locate ... -o review.xlsx``.

    Raises :class:`~locator.errors.InputFileError` (exit code 3) when the file
    is missing or unreadable, is not an ``.xlsx`` workbook, is not a locator
    review workbook (no Hits sheet), lacks a column needed to read it back
    (the message names them), or has a row whose page or box is not a number.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such file" if not p.exists() else f"{p}: not a file")
    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputFileError(f"{p}: a review workbook is an .xlsx file written by "
                             f"'locate DOC -p CATALOG -o review.xlsx'")
    try:
        sheets = pd.read_excel(p, sheet_name=None, dtype=object, engine="openpyxl")
    except Exception as e:  # zip, XML or openpyxl errors of every kind
        raise InputFileError(f"{p}: cannot read as an Excel workbook: {e}") from e
    if HITS_SHEET not in sheets:
        raise InputFileError(
            f"{p}: not a locator review workbook: it has no '{HITS_SHEET}' sheet "
            f"(sheets: {', '.join(map(str, sheets)) or 'none'}); write one with "
            f"'locate DOC -p CATALOG -o review.xlsx'")
    df = sheets[HITS_SHEET]
    df.columns = [str(c).strip() for c in df.columns]
    absent = [c for c in READ_BACK_COLUMNS if c not in df.columns]
    if absent:
        marked = SUMMARY_SHEET in sheets and len(sheets[SUMMARY_SHEET].columns) and \
            str(sheets[SUMMARY_SHEET].columns[0]).strip() == MARKER
        what = "this review workbook's" if marked else "not a locator review workbook: its"
        raise InputFileError(
            f"{p}: {what} '{HITS_SHEET}' sheet lacks the column(s) {', '.join(absent)} "
            f"needed to read the verdicts back (were columns deleted or renamed?)")
    df["row"] = range(2, len(df) + 2)  # the sheet's row numbers, for messages
    # Rows a person emptied or added below the table carry no hit.
    df = df[~df[["pattern_id", "matched", "page"]].isna().all(axis=1)].copy()
    warnings: list[str] = []
    verdicts = []
    for row, value in zip(df["row"], df["verdict"]):
        v = normalise_verdict(value)
        if v is None:
            warnings.append(f"row {row}: verdict {value!r} is not one of "
                            f"{', '.join(VERDICTS)}; the row is left out")
        verdicts.append(v)
    df["verdict"] = verdicts
    for c in ("page", "x0", "y0", "x1", "y1"):
        num = pd.to_numeric(df[c], errors="coerce")
        bad = df.loc[num.isna(), "row"].tolist()
        if bad:
            raise InputFileError(
                f"{p}: '{HITS_SHEET}' column {c} is not a number in row(s) "
                f"{', '.join(map(str, bad[:10]))}{' ...' if len(bad) > 10 else ''}")
        df[c] = num
    df["page"] = df["page"].astype(int)
    for c in ("pattern_id", "label", "matched"):
        df[c] = df[c].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v))
                          else str(v))
    # A row whose verdict was not understood is not counted, and stays unreviewed.
    every = df
    df = df[df["verdict"].notna()].copy()
    per_label = _stats(df, ["label"])
    per_pattern = _stats(df, ["pattern_id", "label"])
    overall = _stats(df.assign(_all="all"), ["_all"]).drop(columns="_all")
    overall = {k: (float(v) if k == "precision" else int(v))
               for k, v in overall.iloc[0].items()} if len(overall) else {
        "reviewed": 0, "correct": 0, "wrong": 0, "unsure": 0, "blank": 0,
        "precision": float("nan")}
    missed = _missed(sheets, df, warnings)
    truth = pd.concat([df.loc[df["verdict"] == "correct", TRUTH_COLUMNS], missed],
                      ignore_index=True)
    review = every["verdict"].map(lambda v: v if v in ("correct", "wrong") else "unreviewed")
    scope = pd.concat([every[TRUTH_COLUMNS].assign(**{REVIEW_COLUMN: review}),
                       missed.assign(**{REVIEW_COLUMN: "missed"})], ignore_index=True)
    return Review(p, df.reset_index(drop=True), per_label, per_pattern, overall, truth,
                  warnings, missed, scope)


def _cell(v: object) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _frames(sheets: dict) -> dict[int, PageFrame]:
    pages = sheets.get(PAGES_SHEET)
    if pages is None:
        return {}
    out = {}
    for rec in pages.to_dict("records"):
        try:
            out[int(rec["page"])] = PageFrame(float(rec["width"]), float(rec["height"]),
                                              int(rec["rotation"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _catalog_ids(sheets: dict, hits: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """Normalised code -> (pattern_id, label), from the Missing sheet and the hits."""
    from locator.evaluate import normalize_code

    ids: dict[str, tuple[str, str]] = {}
    for rec in hits.to_dict("records"):
        ids.setdefault(normalize_code(rec["matched"]), (rec["pattern_id"], rec["label"]))
    missing = sheets.get(MISSING_SHEET)
    if missing is not None and "pattern_id" in missing.columns:
        for rec in missing.to_dict("records"):
            pid, label = _cell(rec.get("pattern_id")), _cell(rec.get("label"))
            for key in (pid, _cell(rec.get("text"))):
                if key:
                    ids.setdefault(normalize_code(key), (pid, label))
    return ids


def _missed_box(rec: dict, frame: PageFrame | None) -> Box | str:
    """The box of a Missed row (unrotated page points), or why there is none."""
    coords = [_cell(rec.get(c)) for c in ("x0", "y0", "x1", "y1")]
    if any(coords):
        try:
            x0, y0, x1, y1 = (float(c) for c in coords)
        except ValueError:
            return "x0, y0, x1, y1 must all be numbers (PDF points)"
        if not all(map(math.isfinite, (x0, y0, x1, y1))):
            return "x0, y0, x1, y1 must all be numbers (PDF points)"
        return Box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
    pos = _cell(rec.get("position"))
    if not pos:
        return "give the box (x0, y0, x1, y1) or a position such as '34% across, 12% down'"
    m = _POSITION.match(pos)
    if not m:
        return f"position {pos!r} is not like '34% across, 12% down'"
    if frame is None:
        return "the page's size is not in the workbook (no Pages sheet); give the box"
    across, down = float(m.group(1)) / 100, float(m.group(2)) / 100
    if not (0 <= across <= 1 and 0 <= down <= 1):
        return f"position {pos!r} lies outside the page"
    vw, vh = frame.view_size
    u, v = across * vw, down * vh
    half = max(_MIN_HALF, _POSITION_HALF * max(vw, vh))
    view = Box(max(0.0, u - half), max(0.0, v - half), min(vw, u + half), min(vh, v + half))
    return frame.box_to_page(view)


def _missed(sheets: dict, hits: pd.DataFrame, warnings: list[str]) -> pd.DataFrame:
    """The tags added on the Missed sheet, as truth rows (:data:`TRUTH_COLUMNS`)."""
    import pandas as pd

    from locator.evaluate import derive_label, normalize_code

    sheet = sheets.get(MISSED_SHEET)
    rows: list[dict] = []
    if sheet is not None and len(sheet):
        sheet = sheet.rename(columns=lambda c: str(c).strip().lower())
        frames = _frames(sheets)
        ids = _catalog_ids(sheets, hits)
        for i, rec in enumerate(sheet.to_dict("records"), start=2):
            code = _cell(rec.get("code"))
            rest = [_cell(rec.get(c)) for c in ("page", "x0", "y0", "x1", "y1", "position")]
            if not code and not any(rest):
                continue  # an empty line
            where = f"'{MISSED_SHEET}' row {i}"
            if not code:
                warnings.append(f"{where}: no code; the row is left out")
                continue
            try:
                page = int(float(rest[0]))
            except ValueError:
                warnings.append(f"{where}: page {rest[0]!r} is not a page number; "
                                f"the row is left out")
                continue
            box = _missed_box(rec, frames.get(page))
            if isinstance(box, str):
                warnings.append(f"{where}: {box}; the row is left out")
                continue
            pid, label = ids.get(normalize_code(code), (code, derive_label(code)))
            rows.append({"pattern_id": pid, "label": label or derive_label(code),
                         "matched": code, "page": page, "x0": box.x0, "y0": box.y0,
                         "x1": box.x1, "y1": box.y1})
    return pd.DataFrame(rows, columns=TRUTH_COLUMNS)


def write_truth(review: Review, path: str | os.PathLike, *, fmt: str | None = None,
                name: str | None = None) -> Path | None:
    """Write the truth file (.csv/.json/.jsonl/.xlsx/.parquet): :data:`TRUTH_COLUMNS`
    and :data:`REVIEW_COLUMN` for every row of the workbook and every missed tag."""
    from locator.export.files import write_table

    scope = review.scope if review.scope is not None else review.truth.assign(
        **{REVIEW_COLUMN: "correct"})
    return write_table(scope, path, sheet="truth", fmt=fmt, name=name)
