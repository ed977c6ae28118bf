"""Hits and warnings as pandas DataFrames.

Writing them is :mod:`locator.export.files` (one writer for every command);
its :func:`~locator.export.files.write_table` and
:func:`~locator.export.files.atomic_write` are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from locator.export.files import FORMATS, atomic_write, write_table
from locator.export.rows import hits_rows
from locator.model import WARNING_COLUMNS, Hit, warning_row

__all__ = ["hits_frame", "hits_rows", "warnings_frame", "write_table", "atomic_write", "FORMATS"]


def hits_frame(hits: Iterable[Hit]) -> pd.DataFrame:
    """One row per hit, columns :data:`~locator.model.HIT_COLUMNS` (boxes in page points)."""
    return hits_rows(hits).frame()


def warnings_frame(warnings: Iterable[str], *, file: str | None = None) -> pd.DataFrame:
    """A run report's warnings as a table: :data:`~locator.model.WARNING_COLUMNS`
    (file, page, tile, message); ``file`` for warnings that name none."""
    df = pd.DataFrame([warning_row(w, file) for w in warnings], columns=WARNING_COLUMNS)
    df["page"] = df["page"].astype("Int64")
    return df
