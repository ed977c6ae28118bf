"""Writing output files: the one atomic-write helper and the one table writer every command uses.

Every file locator writes goes through :func:`atomic_write`: a temporary name
in the target's own folder, the data written and fsync'd, then renamed over the
target, so an interrupted or failed write (Ctrl-C, a full disk) leaves neither
half a file nor a temporary one, and never the old file damaged. The new file
gets the mode the umask gives (``0666 & ~umask``, as ``open()`` would), or the
mode of the file it replaces. A symlink is written through (its target is
replaced, the link stays); a device or FIFO (``/dev/null``, ``/dev/stdout``)
is written in place, since it cannot be renamed over.

:func:`write_tables` writes one or more DataFrames by format: CSV, JSON
(records), JSON Lines, Excel or Parquet, chosen by the suffix or, where the
suffix cannot say (``-`` for stdout), by ``fmt``. Excel files are built in
memory and then written like any other bytes: a full disk is then one clean
:class:`~locator.errors.ExportError`, not a half-closed zip file complaining at
exit. No cell of an Excel file is ever a formula or a link, whatever the data
holds (text read from a document is attacker-controlled). For CSV,
``csv_safe`` neutralises cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from locator.errors import ExportError

if TYPE_CHECKING:
    import pandas as pd

    from locator.export.rows import Rows

__all__ = ["atomic_write", "atomic_write_bytes", "write_tables", "write_table", "FORMATS",
           "STREAM_FORMATS", "table_format", "neutralise_csv", "XLSX_OPTIONS", "STDOUT",
           "new_file_mode"]

log = logging.getLogger("locator.export")

#: File suffixes a table can be written as.
FORMATS = (".csv", ".json", ".jsonl", ".xlsx", ".parquet")
#: Formats that can go to stdout (``-o -``) and that ``--format`` names.
STREAM_FORMATS = ("csv", "json", "jsonl")
#: The path that means "standard output".
STDOUT = "-"
#: xlsxwriter options for every workbook: text stays text (never a formula,
#: a link or a number), whatever it looks like.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False, "in_memory": True, "nan_inf_to_errors": True}
# OWASP's list for CSV injection: a cell starting with one of these is run as a
# formula by Excel, LibreOffice and Google Sheets.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would, for a moment, process-wide)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: Path) -> int:
    """The mode a new file at ``path`` gets: the replaced file's, else ``0666 & ~umask``."""
    try:
        st = path.stat()
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def _is_special(path: Path) -> bool:
    # A device or FIFO is written in place: renaming over it would replace it.
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISBLK(mode)


def _why(e: BaseException) -> str:
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return f"{type(e).__name__}: {e}" if not isinstance(e, ExportError) else str(e)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None], *,
                 name: str | None = None) -> Path:
    """Call ``write(tmp)`` then rename ``tmp`` over ``path``; remove ``tmp`` on any failure.

    ``name`` is how messages call the file (``"--missing m.csv"``; default the
    path). Raises :class:`ExportError` naming it when the folder is missing or
    the write fails (a full disk: "No space left on device").
    """
    path = Path(path)
    label = name or str(path)
    target = Path(os.path.realpath(path))  # through symlinks: the link stays a link
    if target.is_dir():
        raise ExportError(f"{label}: is a folder, not a file")
    if _is_special(target):
        try:
            write(target)
        except ExportError:
            raise
        except Exception as e:
            raise ExportError(f"{label}: cannot write: {_why(e)}") from e
        return path
    folder = target.parent
    if not folder.is_dir():
        raise ExportError(f"{label}: the folder {path.parent} does not exist")
    mode = new_file_mode(target)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.",
                                        suffix=".part" + target.suffix, dir=folder)
    except OSError as e:  # a read-only folder, a full disk
        raise ExportError(f"{label}: cannot write in {path.parent}: {_why(e)}") from e
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # the data is on disk before the name points at it
        finally:
            os.close(fd)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:  # KeyboardInterrupt too: never leave a partial file
        tmp.unlink(missing_ok=True)
        if isinstance(e, ExportError):
            raise
        if isinstance(e, Exception):
            raise ExportError(f"{label}: cannot write: {_why(e)}") from e
        raise
    log.info("wrote %s", path)
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, name: str | None = None) -> Path:
    """Write ``data`` to ``path`` through :func:`atomic_write`."""
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)

    return atomic_write(path, write, name=name)


def table_format(path: str | os.PathLike | None, fmt: str | None = None, *,
                 option: str = "-o") -> str:
    """The format (``csv``, ``json``, ``jsonl``, ``xlsx``, ``parquet``) of ``path``.

    The suffix decides; ``fmt`` (``--format``) decides where the suffix cannot
    (``-`` or None: stdout, CSV unless ``fmt`` says otherwise) and must agree
    with it otherwise. Raises :class:`ExportError` naming ``option``.
    """
    if fmt is not None and fmt not in STREAM_FORMATS + ("xlsx", "parquet"):
        raise ExportError(f"--format {fmt}: use one of {', '.join(STREAM_FORMATS)}")
    if path is None or str(path) == STDOUT:
        if fmt not in (None, *STREAM_FORMATS):
            raise ExportError(f"--format {fmt}: only {', '.join(STREAM_FORMATS)} can go to "
                              f"stdout; give a file name with -o")
        return fmt or "csv"
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        if fmt is not None and fmt != suffix[1:]:
            raise ExportError(f"{option} {path} --format {fmt}: the file name says "
                              f"{suffix[1:]}; drop --format or rename the file")
        return suffix[1:]
    if fmt is not None:
        return fmt
    raise ExportError(f"{option} {path}: unknown format {suffix or '(no suffix)'!r}; "
                      f"use one of {', '.join(FORMATS)} (or --format)")


def _inert(v: str) -> str:
    return "'" + v if v.startswith(_FORMULA_STARTS) else v


def neutralise_csv(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula made inert.

    OWASP's rule: a cell starting with ``= + - @``, tab or carriage return gets
    a leading ``'``. The cost: such values change (``-12V`` is written ``'-12V``),
    so use it for files people open in a spreadsheet, not for files programs read.
    Numbers are left alone.
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype == object or str(col.dtype).startswith("str"):
            out[c] = col.map(lambda v: _inert(v) if isinstance(v, str) else v)
    return out


def _xlsx_bytes(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter",
                        engine_kwargs={"options": dict(XLSX_OPTIONS)}) as xw:
        for sheet, df in sheets.items():
            df.to_excel(xw, sheet_name=sheet[:31], index=False)
            ws = xw.sheets[sheet[:31]]
            ws.freeze_panes(1, 0)
            if len(df.columns):
                ws.autofilter(0, 0, max(1, len(df)), len(df.columns) - 1)
            for i, col in enumerate(df.columns):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)])
                ws.set_column(i, i, min(60, max(8, width + 2)))
    return buf.getvalue()


def _frame(table: pd.DataFrame | Rows) -> pd.DataFrame:
    from locator.export.rows import Rows

    return table.frame() if isinstance(table, Rows) else table


def _text(table: pd.DataFrame | Rows, kind: str, csv_safe: bool) -> str:
    from locator.export.rows import Rows, csv_text

    if kind == "csv" and isinstance(table, Rows):  # no pandas import (module docstring of rows)
        return csv_text(table, _inert if csv_safe else None)
    df = _frame(table)
    if kind == "csv":
        return (neutralise_csv(df) if csv_safe else df).to_csv(index=False)
    if kind == "jsonl":
        return df.to_json(orient="records", lines=True, force_ascii=False) if len(df) else ""
    return df.to_json(orient="records", indent=1, force_ascii=False)


def _stdout_gone() -> None:
    # Point stdout at /dev/null so nothing later (a flush at exit) fails on the closed pipe.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (a test's captured stdout)
        pass


def write_tables(path: str | os.PathLike, sheets: Mapping[str, pd.DataFrame | Rows], *,
                 fmt: str | None = None, csv_safe: bool = False,
                 name: str | None = None) -> Path | None:
    """Write ``sheets`` (name -> table) to ``path`` (``-``: stdout) in its format.

    Excel gets one sheet per table; the other formats hold one table, so they
    take the first. A table is a DataFrame or :class:`~locator.export.rows.Rows`.
    Returns the path, or None for stdout. Raises
    :class:`ExportError` (exit code 8) naming ``name`` (default the path).
    """
    kind = table_format(path, fmt, option=name.split()[0] if name else "-o")
    first = next(iter(sheets.values()))
    if str(path) == STDOUT:
        try:
            sys.stdout.write(_text(first, kind, csv_safe))
            sys.stdout.flush()
        except BrokenPipeError:  # `... | head`: the reader left; what it did not read is not wanted
            _stdout_gone()
        return None
    label = name or str(path)
    if kind == "xlsx":
        try:
            data = _xlsx_bytes({k: _frame(t) for k, t in sheets.items()})
        except Exception as e:  # the writer library failing on the data
            raise ExportError(f"{label}: cannot write: {_why(e)}") from e
        return atomic_write_bytes(path, data, name=label)
    if kind == "parquet":
        def write(tmp: Path) -> None:
            try:
                _frame(first).to_parquet(tmp, index=False)
            except ImportError as e:
                raise ExportError(f"{label}: Parquet needs pyarrow: "
                                  f"pip install 'locator[parquet]'") from e

        return atomic_write(path, write, name=label)
    data = _text(first, kind, csv_safe).encode("utf-8")
    return atomic_write_bytes(path, data, name=label)


def write_table(df: pd.DataFrame | Rows, path: str | os.PathLike, *, sheet: str = "Hits",
                fmt: str | None = None, csv_safe: bool = False,
                name: str | None = None) -> Path | None:
    """Write one table by :func:`write_tables` (``sheet`` names it in Excel)."""
    return write_tables(path, {sheet: df}, fmt=fmt, csv_safe=csv_safe, name=name)
