"""Scoring hits against ground truth: precision, recall and F1, per label and per pattern.

This module owns the rule that decides whether a hit is correct, the tables
that come out of it, and writing those tables; reading hits and truth tables
is :mod:`locator.tables` (its names are re-exported here). Boxes everywhere are in
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

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import ExportError, InputFileError
from locator.geometry import Box
from locator.tables import (BOX_COLUMNS, REQUIRED_COLUMNS, derive_label, load_table,
                            normalize_code, standardise, text_value)

if TYPE_CHECKING:  # pandas is imported inside the functions that need it
    import pandas as pd

__all__ = ["Evaluation", "evaluate", "load_table", "write_report", "format_report",
           "normalize_code", "derive_label", "REQUIRED_COLUMNS"]

_BOX = BOX_COLUMNS
_SCORE_COLUMNS = ["tp", "fp", "fn", "precision", "recall", "f1"]
_IOU_EPS = 1e-9  # IoU exactly at the threshold counts, despite float rounding
OVERALL = "(overall)"  #: the pattern_id of the overall row in the CSV report


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
    h = standardise(hits, "hits")
    t, unreviewed = _review_scope(standardise(truth, "truth"))
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
    review = [text_value(v).strip().lower() for v in t[_REVIEW]]
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
