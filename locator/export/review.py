"""Reading a review workbook back: the verdicts, the precision of the reviewed rows, and a truth file.

After a person has set ``verdict`` (correct / wrong / unsure) on rows of the
Hits sheet written by :mod:`locator.export.workbook`, :func:`read_review`
returns the rows, the precision of the reviewed ones per label and per pattern
(``correct / (correct + wrong)``; unsure and blank rows are counted but left out),
and the truth table: the rows marked correct, as ``pattern_id, label, matched,
page, x0, y0, x1, y1`` (PDF points, unrotated page space), which ``locate
eval`` and ``locate tune`` read.

Note what that truth is: the hits a person confirmed. It holds nothing the run
missed, so recall measured against it is recall of the confirmed hits only.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import InputFileError
from locator.export.workbook import HITS_SHEET, MARKER, READ_BACK_COLUMNS, SUMMARY_SHEET, VERDICTS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["read_review", "Review", "TRUTH_COLUMNS", "write_truth", "normalise_verdict"]

TRUTH_COLUMNS = ["pattern_id", "label", "matched", "page", "x0", "y0", "x1", "y1"]
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
    ``truth``: the rows marked correct, columns :data:`TRUTH_COLUMNS`.
    ``warnings``: verdicts that were not understood (those rows are left out).
    """

    path: Path
    rows: pd.DataFrame
    per_label: pd.DataFrame
    per_pattern: pd.DataFrame
    overall: dict
    truth: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


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
    df = df[df["verdict"].notna()].copy()
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
    per_label = _stats(df, ["label"])
    per_pattern = _stats(df, ["pattern_id", "label"])
    overall = _stats(df.assign(_all="all"), ["_all"]).drop(columns="_all")
    overall = {k: (float(v) if k == "precision" else int(v))
               for k, v in overall.iloc[0].items()} if len(overall) else {
        "reviewed": 0, "correct": 0, "wrong": 0, "unsure": 0, "blank": 0,
        "precision": float("nan")}
    truth = df.loc[df["verdict"] == "correct", TRUTH_COLUMNS].reset_index(drop=True)
    return Review(p, df.reset_index(drop=True), per_label, per_pattern, overall, truth,
                  warnings)


def write_truth(review: Review, path: str | os.PathLike) -> Path:
    """Write the rows marked correct (:data:`TRUTH_COLUMNS`) as .csv/.json/.xlsx/.parquet."""
    from locator.export.table import write_table

    return write_table(review.truth, path, sheet="truth")
