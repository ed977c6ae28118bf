"""A table as plain rows: what the command line writes as CSV without importing pandas.

pandas costs about a quarter of a second to import (with pyarrow beside it),
which is most of what a re-run served from the OCR cache spends outside the
interpreter's own start. :class:`Rows` holds the same table -- columns and one
dict per row, the cells already plain text and numbers -- and becomes a
DataFrame (:meth:`Rows.frame`) only for an output that needs one (Excel,
Parquet, JSON, the marked-up PDF). Its CSV is byte for byte what pandas'
``to_csv(index=False)`` writes for the same cells: pandas writes through the
same :mod:`csv` writer, one ``\\n`` per line, every cell by ``str`` (a float as
its shortest ``repr``), None as an empty cell (a test compares the two).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from locator.model import Hit

__all__ = ["Rows", "csv_text", "hits_rows"]


@dataclass(frozen=True)
class Rows:
    """``columns`` and ``rows`` (each a dict holding those keys)."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Rows:
        return cls(tuple(columns), tuple(rows))

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(self.columns))


def hits_rows(hits: Iterable[Hit]) -> Rows:
    """One row per hit, columns :data:`~locator.model.HIT_COLUMNS` (boxes in page points)."""
    from locator.model import HIT_COLUMNS, hit_row

    return Rows.of(HIT_COLUMNS, (hit_row(h) for h in hits))


def csv_text(table: Rows, neutralise=None) -> str:
    """``table`` as CSV text; ``neutralise`` (a cell -> cell function) is applied
    to every text cell first (``--csv-safe``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(table.columns)
    for r in table.rows:
        cells = (r.get(c) for c in table.columns)
        w.writerow(["" if v is None else (neutralise(v) if neutralise and isinstance(v, str) else v)
                    for v in cells])
    return buf.getvalue()
