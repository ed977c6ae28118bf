"""Reading hits and truth tables: the columns they need, their types, and the normalised codes.

A hits table is what ``locate -o`` writes; a truth table what ``locate review
--truth-out`` or the sample generator writes. Both are read from ``.csv``,
``.json``, ``.xlsx`` or ``.parquet`` into one shape (:func:`standardise`):
text columns as text (``0805`` stays ``"0805"``), pages as 1-based ints, boxes
as floats in PDF points (unrotated page space, origin top left). Scoring them
is :mod:`locator.evaluate`.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import InputFileError

if TYPE_CHECKING:  # pandas is imported inside the functions that need it
    import pandas as pd

__all__ = ["load_table", "standardise", "normalize_code", "derive_label", "text_value",
           "REQUIRED_COLUMNS", "BOX_COLUMNS", "TEXT_COLUMNS"]

#: Columns a hits or truth table must have (``pattern_id`` and ``label`` are
#: derived from ``matched`` when absent).
REQUIRED_COLUMNS = ("matched", "page", "x0", "y0", "x1", "y1")
BOX_COLUMNS = ("x0", "y0", "x1", "y1")
TEXT_COLUMNS = ("pattern_id", "label", "matched", "text", "engine", "source")
# Dashes left after NFKC (which already folds the full-width and small forms).
_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d]")
_LABEL_PREFIX = re.compile(r"[^\W\d_]+")


def normalize_code(text: object) -> str:
    """The form in which ``matched`` values are compared.

    NFKC, every unicode dash/minus to ``-``, runs of whitespace to one space,
    stripped, case-folded. ``None``/NaN become ``""``.

    >>> normalize_code("  ft\u2013101 ")
    'ft-101'
    >>> normalize_code("ＰＴ１０２") == normalize_code("pt102")
    True
    """
    if text is None or (isinstance(text, float) and text != text):
        return ""
    s = unicodedata.normalize("NFKC", str(text))
    s = _DASHES.sub("-", s)
    return " ".join(s.split()).casefold()


def derive_label(matched: object) -> str:
    """The label given to a row without one: the leading letters of ``matched``,
    upper-cased (``"R26"`` -> ``"R"``, ``"FT-101"`` -> ``"FT"``), or ``"code"``
    when it does not start with a letter (``"2k2"`` -> ``"code"``)."""
    s = unicodedata.normalize("NFKC", "" if matched is None else str(matched)).strip()
    m = _LABEL_PREFIX.match(s)
    return m.group(0).upper() if m else "code"


def text_value(v: object) -> str:
    """A cell as text: NaN/None -> "", 805.0 -> "805" (spreadsheets store numbers)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer():
            return str(int(v))
    return str(v)


def standardise(df: pd.DataFrame, role: str) -> pd.DataFrame:
    """Validate and type a hits/truth table; derive ``pattern_id``/``label``.

    Returns a new frame with a fresh RangeIndex: text columns as ``str``,
    ``page`` as int, box columns as float (x0 <= x1, y0 <= y1).
    Raises :class:`InputFileError` naming the missing or bad columns.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise InputFileError(f"{role} must be a pandas DataFrame, not {type(df).__name__}")
    out = df.copy()
    out.columns = [str(c).strip().lower() if str(c).strip().lower() in
                   (*REQUIRED_COLUMNS, *TEXT_COLUMNS) else c for c in out.columns]
    if out.columns.duplicated().any():
        dup = sorted({str(c) for c in out.columns[out.columns.duplicated()]})
        raise InputFileError(f"{role} table has duplicate column(s): {', '.join(dup)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in out.columns]
    if missing and len(out) == 0:
        for c in missing:
            out[c] = pd.Series(dtype=object)
        missing = []
    if missing:
        have = ", ".join(map(str, out.columns)) or "none"
        raise InputFileError(
            f"{role} table is missing required column(s): {', '.join(missing)} "
            f"(needs {', '.join(REQUIRED_COLUMNS)}; has {have})")
    out = out.reset_index(drop=True)
    for c in TEXT_COLUMNS:
        if c in out.columns:
            out[c] = [text_value(v) for v in out[c]]
    for c in ("page", *BOX_COLUMNS):
        vals = pd.to_numeric(out[c].map(lambda v: v.strip() if isinstance(v, str) else v),
                             errors="coerce")
        bad = vals.isna()
        if bad.any():
            rows = ", ".join(str(i + 1) for i in bad[bad].index[:5])
            raise InputFileError(
                f"{role} table: column {c!r} has {int(bad.sum())} empty or non-numeric "
                f"value(s) (data row(s) {rows}{', ...' if bad.sum() > 5 else ''})")
        out[c] = vals.astype(float)
    if len(out) and not (out["page"] == out["page"].round()).all():
        raise InputFileError(f"{role} table: column 'page' must hold whole page numbers (1-based)")
    out["page"] = out["page"].astype(int)
    if role.startswith("truth") and len(out):
        blank = [i + 1 for i, m in enumerate(out["matched"]) if not m.strip()]
        if blank:  # a truth row without its code can match nothing: an error, not a miss
            raise InputFileError(
                f"{role} table: data row(s) {', '.join(map(str, blank[:5]))}"
                f"{', ...' if len(blank) > 5 else ''} have a blank 'matched' (the code the "
                f"row expects); fill it in or delete the row")
    x0, x1 = out[["x0", "x1"]].min(axis=1), out[["x0", "x1"]].max(axis=1)
    y0, y1 = out[["y0", "y1"]].min(axis=1), out[["y0", "y1"]].max(axis=1)
    out["x0"], out["x1"], out["y0"], out["y1"] = x0, x1, y0, y1
    if "pattern_id" not in out.columns:
        out["pattern_id"] = out["matched"]
    else:
        out["pattern_id"] = [p if p.strip() else m for p, m in zip(out["pattern_id"], out["matched"])]
    if "label" not in out.columns:
        out["label"] = [derive_label(m) for m in out["matched"]]
    else:
        out["label"] = [lb if lb.strip() else derive_label(m) for lb, m in zip(out["label"], out["matched"])]
    return out


def load_table(path: str | os.PathLike, *, role: str = "table") -> pd.DataFrame:
    """Read a hits or truth table from ``.csv``, ``.json``, ``.xlsx`` or ``.parquet``.

    Accepts a hits table (the columns of :data:`locator.model.HIT_COLUMNS`) or
    the sample generator's truth (``pattern_id, label, matched, page, x0, y0,
    x1, y1, size_pt, angle, on_seam``); boxes in PDF points, unrotated page
    space, pages 1-based. Needs :data:`REQUIRED_COLUMNS`; a missing
    ``pattern_id`` becomes ``matched`` and a missing ``label`` is
    :func:`derive_label` of ``matched``. Text columns are read as text (``0805``
    stays ``"0805"``). JSON may be a list of records or an object holding one
    under ``hits``/``truth``/``rows``/``records``/``data``. For a workbook, the
    first sheet that has the required columns is used. ``role`` names the
    table in error messages.

    Raises :class:`~locator.errors.InputFileError` when the file is missing,
    unreadable, of another format, or lacks columns (the message names them).
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{role} file not found: {p}")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        elif suffix == ".json":
            raw = json.loads(p.read_text(encoding="utf-8-sig"))
            if isinstance(raw, dict):
                for key in ("hits", "truth", "rows", "records", "data"):
                    if isinstance(raw.get(key), list):
                        raw = raw[key]
                        break
            df = pd.DataFrame(raw)
        elif suffix in (".xlsx", ".xlsm"):
            sheets = pd.read_excel(p, sheet_name=None, dtype=object, engine="openpyxl")
            df = next((s for s in sheets.values()
                       if set(REQUIRED_COLUMNS) <= {str(c).strip().lower() for c in s.columns}),
                      next(iter(sheets.values()), pd.DataFrame()))
        elif suffix == ".parquet":
            try:
                df = pd.read_parquet(p)
            except ImportError as e:
                raise InputFileError(
                    f"reading {p.name} needs pyarrow: pip install 'locator[parquet]'") from e
        else:
            raise InputFileError(
                f"{role} file {p.name}: unsupported table format {suffix or '(none)'!r} "
                "(use .csv, .json, .xlsx or .parquet)")
    except InputFileError:
        raise
    except Exception as e:  # a corrupt or unreadable file, whatever the reader raised
        raise InputFileError(f"cannot read {role} file {p}: {e}") from e
    if len(df.columns) == 0 and len(df) == 0 and suffix != ".json":
        raise InputFileError(f"{role} file {p} is empty (no header row)")
    return standardise(df, f"{role} ({p.name})")
