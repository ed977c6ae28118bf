"""Hits as a pandas DataFrame, and the DataFrame written by file suffix.

Every file is written to a temporary name in the target folder and renamed
into place, so an interrupted or failed write never leaves half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from locator.errors import ExportError
from locator.model import HIT_COLUMNS, WARNING_COLUMNS, Hit, hit_row, warning_row

FORMATS = (".csv", ".json", ".xlsx", ".parquet")


def hits_frame(hits: Iterable[Hit]) -> pd.DataFrame:
    """One row per hit, columns :data:`~locator.model.HIT_COLUMNS` (boxes in page points)."""
    return pd.DataFrame([hit_row(h) for h in hits], columns=HIT_COLUMNS)


def warnings_frame(warnings: Iterable[str], *, file: str | None = None) -> pd.DataFrame:
    """A run report's warnings as a table: :data:`~locator.model.WARNING_COLUMNS`
    (file, page, tile, message); ``file`` for warnings that name none."""
    df = pd.DataFrame([warning_row(w, file) for w in warnings], columns=WARNING_COLUMNS)
    df["page"] = df["page"].astype("Int64")
    return df


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` then rename ``tmp`` to ``path``; remove ``tmp`` on any failure.

    Raises :class:`ExportError` naming the path when the folder is missing or
    the write fails.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: the folder {folder} does not exist")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                                        dir=folder)
    except OSError as e:  # a read-only folder, a full disk
        raise ExportError(f"{path}: cannot write in {folder}: {e.strerror or e}") from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.replace(tmp, path)
    except ExportError:
        tmp.unlink(missing_ok=True)
        raise
    except BaseException as e:  # KeyboardInterrupt too: never leave a partial file
        tmp.unlink(missing_ok=True)
        if isinstance(e, Exception):
            raise ExportError(f"{path}: cannot write: {e}") from e
        raise
    return path


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, sheet: str = "Hits") -> Path:
    """Write ``df`` as CSV, JSON (records), Excel or Parquet, chosen by the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path}: unknown output format {suffix or '(no suffix)'!r}; "
                          f"use one of {', '.join(FORMATS)}")

    def write(tmp: Path) -> None:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix == ".json":
            df.to_json(tmp, orient="records", indent=1, force_ascii=False)
        elif suffix == ".xlsx":
            with pd.ExcelWriter(tmp, engine="xlsxwriter") as xw:
                df.to_excel(xw, sheet_name=sheet, index=False)
                ws = xw.sheets[sheet]
                ws.freeze_panes(1, 0)
                if len(df.columns):
                    ws.autofilter(0, 0, max(1, len(df)), len(df.columns) - 1)
                for i, col in enumerate(df.columns):
                    width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
                    ws.set_column(i, i, min(40, width + 2))
        else:
            try:
                df.to_parquet(tmp, index=False)
            except ImportError as e:
                raise ExportError(f"{path}: Parquet needs pyarrow: "
                                  f"pip install 'locator[parquet]'") from e

    return atomic_write(path, write)
