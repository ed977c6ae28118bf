"""Scoring hits against ground truth: precision, recall and F1, per label and per pattern.

This module owns the rule that decides whether a hit is correct, the tables
that come out of it, and reading/writing those tables. Boxes everywhere are in
PDF points, origin top left of the page's *unrotated* space; pages are 1-based.

The rule (issue 3)
------------------
A hit is correct when

* its ``matched`` equals a truth row's ``matched`` after normalisation
  (:func:`normalize_code`: NFKC, every unicode dash to ``-``, whitespace
  collapsed, case-folded), and
* it is on the same page, and
* the boxes agree: ``IoU >= iou`` (default 0.3), **or** the hit's centre lies
  inside the truth box grown by ``grow`` points on every side (default 2 pt;
  edges inclusive).

Assignment is one-to-one: every candidate (hit, truth) pair that passes the
rule is sorted by IoU (best first; ties by centre distance, then by row
order), and taken greedily when neither side is taken yet. A second hit on an
already-found truth row is therefore a false hit (reason ``"duplicate"``).

Edge cases
----------
Denominators that are zero are defined so that "nothing expected, nothing
reported" is perfect and anything else with no true positive is zero:

* precision = tp / (tp + fp); with no hits it is 1.0 if there is also no
  truth, else 0.0.
* recall = tp / (tp + fn); with no truth it is 1.0 if there are also no hits,
  else 0.0.
* F1 = 2PR / (P + R), and 0.0 when P + R = 0.

So: no hits and no truth -> P = R = F1 = 1; no hits but truth -> all 0; hits but
no truth -> all 0. The same definitions apply to every row of the per-label and
per-pattern tables.

Attribution: true positives and misses count under the *truth* row's label and
pattern_id; false hits under the *hit* row's label and pattern_id.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import ExportError, InputFileError
from locator.geometry import Box

if TYPE_CHECKING:  # pandas is imported inside the functions that need it
    import pandas as pd

__all__ = ["Evaluation", "evaluate", "load_table", "write_report", "format_report",
           "normalize_code", "derive_label", "REQUIRED_COLUMNS"]

#: Columns a hits or truth table must have (``pattern_id`` and ``label`` are
#: derived from ``matched`` when absent).
REQUIRED_COLUMNS = ("matched", "page", "x0", "y0", "x1", "y1")
_BOX = ("x0", "y0", "x1", "y1")
_TEXT_COLUMNS = ("pattern_id", "label", "matched", "text", "engine", "source")
_SCORE_COLUMNS = ["tp", "fp", "fn", "precision", "recall", "f1"]
_IOU_EPS = 1e-9  # IoU exactly at the threshold counts, despite float rounding
OVERALL = "(overall)"  #: the pattern_id of the overall row in the CSV report

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


@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """The result of :func:`evaluate`.

    ``per_label`` / ``per_pattern``: one row per label / pattern_id with
    ``tp, fp, fn, precision, recall, f1`` (sorted by key).
    ``misses``: the truth rows not found, with ``truth_row`` (0-based position
    in the truth table) and ``reason``: ``"missing"`` (no hit with this code
    on this page) or ``"box"`` (a hit with this code on this page, but none
    left whose box agrees).
    ``false_hits``: the hit rows not matched, with ``hit_row`` and ``reason``:
    ``"duplicate"`` (agrees with a truth row already taken by a better hit),
    ``"box"`` (the code is on this page in the truth, elsewhere), ``"page"``
    (the code is in the truth on other pages only), ``"code"`` (the code is not
    in the truth at all).
    ``matches``: one row per true positive: ``hit_row, truth_row, page,
    pattern_id, label, matched`` (from the truth), ``text`` (what the hit
    read), ``iou``, ``centre_in`` (hit centre inside the grown truth box),
    ``offset`` (distance between the box centres, pt) and both boxes
    (``hit_x0..hit_y1``, ``truth_x0..truth_y1``).
    ``unreviewed``: hits left out of every count because they agree with a truth
    file's ``unreviewed`` row (see :func:`evaluate`).
    """

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    per_label: pd.DataFrame
    per_pattern: pd.DataFrame
    misses: pd.DataFrame
    false_hits: pd.DataFrame
    matches: pd.DataFrame
    iou: float = 0.3
    grow: float = 2.0
    unreviewed: int = 0

    @property
    def n_hits(self) -> int:
        return self.tp + self.fp

    @property
    def n_truth(self) -> int:
        return self.tp + self.fn

    def summary(self) -> dict:
        """The overall numbers as a flat dict (for JSON or a Summary sheet)."""
        return {"hits": self.n_hits, "truth": self.n_truth, "tp": self.tp, "fp": self.fp,
                "fn": self.fn, "precision": self.precision, "recall": self.recall,
                "f1": self.f1, "iou_threshold": self.iou, "grow_pt": self.grow,
                "unreviewed_hits_left_out": self.unreviewed}


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 with the module's zero-denominator definitions."""
    p = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    r = tp / (tp + fn) if tp + fn else (1.0 if fp == 0 else 0.0)
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


# ---------------------------------------------------------------- input tables

def _text_value(v: object) -> str:
    """A cell as text: NaN/None -> "", 805.0 -> "805" (spreadsheets store numbers)."""
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer():
            return str(int(v))
    return str(v)


def _standardise(df: pd.DataFrame, role: str) -> pd.DataFrame:
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
                   (*REQUIRED_COLUMNS, *_TEXT_COLUMNS) else c for c in out.columns]
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
    for c in _TEXT_COLUMNS:
        if c in out.columns:
            out[c] = [_text_value(v) for v in out[c]]
    for c in ("page", *_BOX):
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
    return _standardise(df, f"{role} ({p.name})")


# ---------------------------------------------------------------- the rule

def _boxes(df: pd.DataFrame) -> list[Box]:
    return [Box(*r) for r in df[list(_BOX)].itertuples(index=False, name=None)]


def _score_table(key: str, tp_keys: list[str], fp_keys: list[str], fn_keys: list[str]) -> pd.DataFrame:
    import pandas as pd

    counts: dict[str, list[int]] = {}
    for col, keys in enumerate((tp_keys, fp_keys, fn_keys)):
        for k in keys:
            counts.setdefault(k, [0, 0, 0])[col] += 1
    rows = []
    for k in sorted(counts):
        tp, fp, fn = counts[k]
        rows.append((k, tp, fp, fn, *_prf(tp, fp, fn)))
    df = pd.DataFrame(rows, columns=[key, *_SCORE_COLUMNS])
    return df.astype({"tp": int, "fp": int, "fn": int,
                      "precision": float, "recall": float, "f1": float})


def evaluate(hits: pd.DataFrame, truth: pd.DataFrame, *, iou: float = 0.3,
             grow: float = 2.0) -> Evaluation:
    """Score ``hits`` against ``truth`` by the rule in the module docstring.

    Parameters
    ----------
    hits, truth
        Tables with at least ``matched, page, x0, y0, x1, y1`` (PDF points,
        unrotated page space, origin top left; pages 1-based). ``pattern_id``
        and ``label`` are derived from ``matched`` when absent. Row positions
        (0-based) identify rows in ``matches``, ``misses`` and ``false_hits``.
    iou
        Minimum intersection-over-union for the boxes to agree (inclusive).
    grow
        Points by which the truth box is grown on each side for the
        centre-inside test.

    A truth table with a ``review`` column (``locate review --truth-out``
    writes one) scores the reviewed part only: rows ``correct`` and ``missed``
    (or blank) are the truth, ``wrong`` rows are not, and a hit that agrees
    by the rule with an ``unreviewed`` row is left out of every count
    (:attr:`Evaluation.unreviewed` says how many), not counted as a false hit.

    Raises :class:`~locator.errors.InputFileError` when a table lacks columns
    or has non-numeric pages/boxes.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"matched": ["R26"], "page": [1], "x0": [10], "y0": [10], "x1": [30], "y1": [16]})
    >>> h = t.assign(x0=11, x1=31)
    >>> evaluate(h, t).f1
    1.0
    """
    if not 0.0 <= iou <= 1.0:
        raise ValueError(f"iou must be within 0..1, not {iou}")
    if grow < 0:
        raise ValueError(f"grow must be >= 0 points, not {grow}")
    h = _standardise(hits, "hits")
    t, unreviewed = _review_scope(_standardise(truth, "truth"))
    h_code = [normalize_code(m) for m in h["matched"]]
    t_code = [normalize_code(m) for m in t["matched"]]
    h_page, t_page = h["page"].tolist(), t["page"].tolist()
    hb, tb = _boxes(h), _boxes(t)
    by_key: dict[tuple[int, str], list[int]] = {}
    for j, key in enumerate(zip(t_page, t_code)):
        by_key.setdefault(key, []).append(j)
    hit_to_truth, truth_to_hit, match_rows, agrees = _assign(h, t, h_page, h_code, t_page,
                                                             hb, tb, by_key, iou, grow)
    matches = _matches_frame(match_rows)

    # Why each unmatched row is unmatched.
    codes_in_truth = set(t_code)
    keys_in_hits = set(zip(h_page, h_code))
    fp_idx = [i for i in range(len(h)) if i not in hit_to_truth]
    fp_reason = []
    for i in fp_idx:
        if agrees.get(i):
            fp_reason.append("duplicate")
        elif (h_page[i], h_code[i]) in by_key:
            fp_reason.append("box")
        elif h_code[i] in codes_in_truth:
            fp_reason.append("page")
        else:
            fp_reason.append("code")
    n_out = 0
    if len(unreviewed):
        fp_idx, fp_reason, n_out = _leave_out(fp_idx, fp_reason, unreviewed, h_page, h_code,
                                              hb, iou, grow)
    fn_idx = [j for j in range(len(t)) if j not in truth_to_hit]
    fn_reason = ["box" if (t_page[j], t_code[j]) in keys_in_hits else "missing" for j in fn_idx]
    return _evaluation(h, t, match_rows, matches, fp_idx, fp_reason, fn_idx, fn_reason,
                       iou, grow, n_out)


def _assign(h, t, h_page, h_code, t_page, hb, tb, by_key, iou, grow):
    """Every (hit, truth) pair that passes the rule, taken best first, one-to-one."""
    cands = []
    agrees: dict[int, list[int]] = {}  # hit -> truth rows it agrees with
    for i, key in enumerate(zip(h_page, h_code)):
        cx, cy = hb[i].center
        for j in by_key.get(key, ()):
            ov = hb[i].iou(tb[j])
            inside = tb[j].grow(grow).contains_point(cx, cy)
            if ov >= iou - _IOU_EPS or inside:
                tx, ty = tb[j].center
                dist = ((cx - tx) ** 2 + (cy - ty) ** 2) ** 0.5
                cands.append((-ov, dist, i, j, inside))
                agrees.setdefault(i, []).append(j)
    cands.sort(key=lambda c: c[:4])
    hit_to_truth: dict[int, int] = {}
    truth_to_hit: dict[int, int] = {}
    match_rows = []
    for neg_ov, dist, i, j, inside in cands:
        if i in hit_to_truth or j in truth_to_hit:
            continue
        hit_to_truth[i], truth_to_hit[j] = j, i
        match_rows.append({
            "hit_row": i, "truth_row": j, "page": t_page[j],
            "pattern_id": t.at[j, "pattern_id"], "label": t.at[j, "label"],
            "matched": t.at[j, "matched"],
            "text": h.at[i, "text"] if "text" in h.columns else h.at[i, "matched"],
            "iou": -neg_ov, "centre_in": inside, "offset": dist,
            **{f"hit_{c}": getattr(hb[i], c) for c in _BOX},
            **{f"truth_{c}": getattr(tb[j], c) for c in _BOX},
        })
    return hit_to_truth, truth_to_hit, match_rows, agrees


def _matches_frame(match_rows: list[dict]) -> pd.DataFrame:
    import pandas as pd

    match_cols = ["hit_row", "truth_row", "page", "pattern_id", "label", "matched", "text",
                  "iou", "centre_in", "offset", *(f"hit_{c}" for c in _BOX),
                  *(f"truth_{c}" for c in _BOX)]
    matches = pd.DataFrame(match_rows, columns=match_cols)
    if len(matches):
        matches = matches.sort_values(["page", "truth_row"], kind="stable").reset_index(drop=True)
    return matches


def _evaluation(h, t, match_rows, matches, fp_idx, fp_reason, fn_idx, fn_reason, iou, grow,
                n_out) -> Evaluation:
    """The counts and tables of one scoring."""
    false_hits = h.iloc[fp_idx].copy()
    false_hits.insert(0, "hit_row", fp_idx)
    false_hits["reason"] = fp_reason
    misses = t.iloc[fn_idx].copy()
    misses.insert(0, "truth_row", fn_idx)
    misses["reason"] = fn_reason
    false_hits = false_hits.reset_index(drop=True)
    misses = misses.reset_index(drop=True)

    tp, fp, fn = len(match_rows), len(fp_idx), len(fn_idx)
    p, r, f = _prf(tp, fp, fn)
    tp_rows = [m["truth_row"] for m in match_rows]
    per_label = _score_table("label", [t.at[j, "label"] for j in tp_rows],
                             [h.at[i, "label"] for i in fp_idx], [t.at[j, "label"] for j in fn_idx])
    per_pattern = _score_table("pattern_id", [t.at[j, "pattern_id"] for j in tp_rows],
                               [h.at[i, "pattern_id"] for i in fp_idx],
                               [t.at[j, "pattern_id"] for j in fn_idx])
    return Evaluation(tp=tp, fp=fp, fn=fn, precision=p, recall=r, f1=f,
                      per_label=per_label, per_pattern=per_pattern, misses=misses,
                      false_hits=false_hits, matches=matches, iou=iou, grow=grow,
                      unreviewed=n_out)


_REVIEW = "review"
_REVIEW_TRUTH = ("", "correct", "missed")


def _review_scope(t: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A truth table split by its ``review`` column: (the truth, the unreviewed rows)."""
    if _REVIEW not in t.columns:
        return t, t.iloc[0:0]
    review = [_text_value(v).strip().lower() for v in t[_REVIEW]]
    bad = [i + 1 for i, v in enumerate(review) if v not in (*_REVIEW_TRUTH, "wrong",
                                                             "unreviewed")]
    if bad:
        raise InputFileError(
            f"truth table: column 'review' must be correct, missed, wrong or unreviewed "
            f"(data row(s) {', '.join(map(str, bad[:5]))}{', ...' if len(bad) > 5 else ''})")
    is_truth = [v in _REVIEW_TRUTH for v in review]
    is_out = [v == "unreviewed" for v in review]
    return (t[is_truth].reset_index(drop=True), t[is_out].reset_index(drop=True))


def _leave_out(fp_idx: list[int], fp_reason: list[str], unreviewed: pd.DataFrame,
               h_page: list[int], h_code: list[str], hb: list[Box], iou: float,
               grow: float) -> tuple[list[int], list[str], int]:
    """The false hits less those that agree with an unreviewed row, and how many those were."""
    keyed: dict[tuple[int, str], list[Box]] = {}
    for (page, m), box in zip(zip(unreviewed["page"], unreviewed["matched"]),
                              _boxes(unreviewed)):
        keyed.setdefault((page, normalize_code(m)), []).append(box)
    kept, reasons = [], []
    for i, why in zip(fp_idx, fp_reason):
        cx, cy = hb[i].center
        if any(hb[i].iou(b) >= iou - _IOU_EPS or b.grow(grow).contains_point(cx, cy)
               for b in keyed.get((h_page[i], h_code[i]), ())):
            continue
        kept.append(i)
        reasons.append(why)
    return kept, reasons, len(fp_idx) - len(kept)


# ---------------------------------------------------------------- reports

def _summary_frame(ev: Evaluation) -> pd.DataFrame:
    import pandas as pd

    rows = list(ev.summary().items())
    rows.append(("rule", f"same code (normalised) and page; IoU >= {ev.iou:g} or hit centre "
                         f"inside the truth box grown by {ev.grow:g} pt; one-to-one, best IoU first"))
    return pd.DataFrame(rows, columns=["metric", "value"])


def _overall_row(ev: Evaluation) -> dict:
    return {"pattern_id": OVERALL, "tp": ev.tp, "fp": ev.fp, "fn": ev.fn,
            "precision": ev.precision, "recall": ev.recall, "f1": ev.f1}


def write_report(ev: Evaluation, path: str | os.PathLike) -> Path:
    """Write ``ev`` to ``path`` atomically and return the path.

    ``.xlsx``: sheets Summary, PerLabel, PerPattern, Misses, FalseHits.
    ``.csv``: the per-pattern table plus a last row with pattern_id
    ``"(overall)"``. The file is written to a temporary file in the same folder
    and moved into place with :func:`os.replace`, so a reader never sees a half
    file. Missing parent folders are created.

    Raises :class:`~locator.errors.ExportError` for another suffix or when the
    file cannot be written.
    """
    import pandas as pd

    from locator.export.files import write_table, write_tables

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ExportError(f"cannot write an evaluation report as {suffix or '(no suffix)'!r}: "
                          "use .xlsx or .csv")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot write evaluation report {p}: {e.strerror or e}") from e
    name = f"evaluation report {p}"
    if suffix == ".csv":
        table = pd.concat([ev.per_pattern, pd.DataFrame([_overall_row(ev)])],
                          ignore_index=True)
        write_table(table, p, name=name)
    else:
        write_tables(p, {"Summary": _summary_frame(ev), "PerLabel": ev.per_label,
                         "PerPattern": ev.per_pattern, "Misses": ev.misses,
                         "FalseHits": ev.false_hits}, name=name)
    return p


def _fmt_box(row) -> str:
    return f"({row.x0:.1f}, {row.y0:.1f}, {row.x1:.1f}, {row.y1:.1f})"


def format_report(ev: Evaluation, *, max_rows: int = 10) -> str:
    """A readable text summary: the overall line, the per-label table, and the
    first ``max_rows`` misses and false hits (boxes in PDF points)."""
    lines = [
        f"hits {ev.n_hits}, truth {ev.n_truth}: tp {ev.tp}, fp {ev.fp}, fn {ev.fn} | "
        f"precision {ev.precision:.3f}  recall {ev.recall:.3f}  F1 {ev.f1:.3f}",
        f"(a hit counts when code and page agree and IoU >= {ev.iou:g} or its centre is "
        f"within the truth box grown by {ev.grow:g} pt)",
    ]
    if len(ev.per_label):
        lines += ["", "per label:",
                  ev.per_label.to_string(index=False, float_format=lambda v: f"{v:.3f}")]
    for title, df in (("misses", ev.misses), ("false hits", ev.false_hits)):
        if not len(df):
            continue
        shown = df.head(max_rows)
        more = f", first {len(shown)}" if len(df) > len(shown) else ""
        lines += ["", f"{title} ({len(df)}{more}):"]
        for row in shown.itertuples(index=False):
            read = ""
            if title == "false hits" and "text" in df.columns and row.text and row.text != row.matched:
                read = f" read {row.text!r}"
            lines.append(f"  p{row.page}  {row.matched!r}{read}  {_fmt_box(row)}  [{row.reason}]")
    return "\n".join(lines)
