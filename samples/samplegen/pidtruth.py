"""Ground truth and catalog of a generated P&ID, read back from the PDF's own text layer.

The truth CSV has ``drawing.py``'s columns first (so every tool that reads
those reads these), then the P&ID ones (see ``PID_COLUMNS``). A bubble gives
two rows: ``feature`` ``bubble`` (``matched`` the composed tag ``FIC-F0001``,
the box the bubble's outline) and ``loop`` (``matched`` the loop number alone,
the box its text-layer word); both carry the two lines' words and boxes, the
bubble's box and its shape. Boxes in PDF points, origin top-left of the
unrotated page.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pymupdf
import yaml

from locator.geometry import Box, PageFrame

from .pid import PidSheet
from .pidshapes import Label
from .pidvocab import colour_hex
from .sheet import seam_flags
from .truth import CSV_COLUMNS

BOX_KEYS = ("x0", "y0", "x1", "y1")
PID_COLUMNS = CSV_COLUMNS + [
    "feature", "shape", "colour", "tag", "letters",
    *(f"letters_{k}" for k in BOX_KEYS), "number", *(f"number_{k}" for k in BOX_KEYS),
    *(f"bubble_{k}" for k in BOX_KEYS)]
#: Every ``feature`` value, in the order the README's tables list them.
FEATURES = ("bubble", "loop", "valve", "line", "line-on-pipe", "hatch", "hexagon", "nozzle",
            "equipment", "title", "title-small")


class TextLayer:
    """The page's words, looked up by the box a label was drawn at."""

    def __init__(self, page: pymupdf.Page):
        self.words = page.get_text("words")

    def box_of(self, lb: Label) -> Box:
        """The text-layer box of ``lb``; raises unless exactly its text lies there."""
        want = lb.box
        mine = [w for w in self.words
                if want.grow(0.5).contains_point((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)]
        if [w[4] for w in mine] != [lb.text]:
            raise AssertionError(f"text layer has {[w[4] for w in mine]} where "
                                 f"{lb.text!r} was drawn")
        got = Box(*mine[0][:4])
        if max(abs(a - b) for a, b in zip(_t(got), _t(want))) > 0.1:
            raise AssertionError(f"{lb.text}: text layer box {got} is not where drawn {want}")
        return got


def _t(b: Box) -> tuple[float, float, float, float]:
    return (b.x0, b.y0, b.x1, b.y1)


def _boxcols(prefix: str, b: Box | None) -> dict:
    values = _t(b) if b is not None else ("",) * 4
    return {f"{prefix}{k}": v for k, v in zip(BOX_KEYS, values)}


def read_pid_truth(page: pymupdf.Page, pid: PidSheet, rotation: int = 0) -> list[dict]:
    """One row per code (two per bubble), boxes from the text layer.

    ``page`` is still unrotated; ``rotation`` is the /Rotate it will get, which
    moves the tile grid that ``on_seam`` is measured against.
    """
    layer = TextLayer(page)
    frame = PageFrame(page.rect.width, page.rect.height, rotation)
    rows = []
    for lb in pid.labels:
        if lb.role == "code":
            rows.append(_row(lb.text, lb.label, lb.feature, layer.box_of(lb), lb, frame))
    for b in pid.bubbles:
        tag = f"{b.letters.text}-{b.number.text}"
        extra = {"shape": b.shape, "tag": tag, "letters": b.letters.text,
                 "number": b.number.text, **_boxcols("letters_", layer.box_of(b.letters)),
                 **_boxcols("number_", layer.box_of(b.number)), **_boxcols("bubble_", b.box)}
        rows.append({**_row(tag, "instrument", "bubble", b.box, b.number, frame), **extra})
        rows.append({**_row(b.number.text, "instrument", "loop", layer.box_of(b.number),
                            b.number, frame), **extra})
    rows.sort(key=lambda r: (r["page"], round(r["y0"], 1), r["x0"], r["feature"]))
    return rows


def _row(code: str, label: str, feature: str, box: Box, lb: Label, frame: PageFrame) -> dict:
    return {"pattern_id": code, "label": label, "matched": code, "page": 1,
            "x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1,
            "size_pt": round(lb.size, 2), "angle": lb.angle, "on_seam": seam_flags(box, frame),
            "feature": feature, "shape": "", "colour": colour_hex(lb.colour), "tag": "",
            "letters": "", "number": "", **_boxcols("letters_", None),
            **_boxcols("number_", None), **_boxcols("bubble_", None)}


def write_pid_truth(rows: list[dict], path: Path) -> None:
    """The truth as CSV (PID_COLUMNS), boxes to 1/1000 pt."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=PID_COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, float) and k != "size_pt" else v)
                        for k, v in r.items()})


def write_pid_catalog(rows: list[dict], path: Path, source: str) -> None:
    """Every distinct code as a literal: bubbles composed and as the loop number alone."""
    seen: dict[str, dict] = {}
    for r in sorted(rows, key=lambda r: (r["label"], r["matched"])):
        seen.setdefault(r["matched"], {"id": r["matched"], "text": r["matched"],
                                       "label": r["label"]})
    header = (f"# Pattern catalog for {source}, written by samples/make_samples.py --pid.\n"
              "# Every code on the sheet as a literal; an instrument bubble twice, as the\n"
              "# composed tag (letters-number, e.g. FIC-F0001) and as its loop number alone.\n")
    body = yaml.safe_dump({"defaults": {"min_score": 85}, "patterns": list(seen.values())},
                          sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + body)
