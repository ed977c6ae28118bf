"""Code lists: the rows of a CSV/TSV/TXT or XLSX table of codes, and decoding text files.

Every problem is a :class:`~locator.errors.CatalogError` naming the file and the
row as a spreadsheet numbers it: a missing column (with the closest header), a
file that is not UTF-8 (with the encoding it reads as), an old ``.xls``, a
damaged workbook. Files over :data:`MAX_BYTES` are refused before reading.
"""

from __future__ import annotations

import csv
import difflib
import io
from pathlib import Path
from typing import Any

from locator.errors import CatalogError

#: Largest catalog or code-list file read, in bytes.
MAX_BYTES = 200 * 1024 * 1024
#: Suffixes of code lists (a catalog named so is a code list, not YAML).
TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls"}


def read_text_file(p: Path, name: str, *, what: str) -> str:
    """A catalog or code list's text (at most :data:`MAX_BYTES`), decoded by :func:`decode_text`."""
    if not p.exists():
        raise CatalogError(f"{name}: {what} file not found")
    if p.is_dir():
        raise CatalogError(f"{name}: is a folder, not a {what} file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise CatalogError(f"{name}: {size / 1e6:.0f} MB is too large for a {what} "
                               f"(limit {MAX_BYTES / 1e6:.0f} MB)")
        data = p.read_bytes()
    except OSError as e:
        raise CatalogError(f"{name}: cannot read the {what}: {e.strerror or e}") from e
    return decode_text(data, name, None)


def decode_text(data: bytes, name: str, encoding: str | None) -> str:
    """``data`` as text: in ``encoding``, else UTF-16 by its byte-order mark, else
    UTF-8; a file that is not names the line and the encoding it looks like."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise CatalogError(f"{name}: unknown encoding '{encoding}'") from None
        except UnicodeDecodeError as e:
            row = data[:e.start].count(b"\n") + 1
            cut = data[e.start:e.start + 1]
            raise CatalogError(f"{name} row {row}: not valid {encoding} "
                               f"({f'byte 0x{cut[0]:02x}' if cut else e.reason})") from None
        except UnicodeError as e:  # a codec that decodes nothing ('undefined')
            raise CatalogError(f"{name}: cannot decode as {encoding}: {e}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:  # an odd byte count, a lone surrogate
            row = data[2:e.start].decode("utf-16", "replace").count("\n") + 1
            raise CatalogError(f"{name} line {row}: starts like UTF-16 text (a byte-order "
                               f"mark) but is not valid UTF-16 ({e.reason}); re-save it "
                               f"as UTF-8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        bad = data[e.start]
        try:
            seen_as = data[e.start:e.start + 1].decode("cp1252")
            data.decode("cp1252")
            guess = (f"; it reads cleanly as Windows-1252 (cp1252, byte 0x{bad:02x} is "
                     f"{seen_as!r}): re-save the file as UTF-8, or say encoding: cp1252")
        except UnicodeDecodeError:
            guess = ("; re-save it as UTF-8, or name its encoding (encoding: latin-1, "
                     "cp1252, ...)")
        raise CatalogError(f"{name} line {line}: not UTF-8 text (byte 0x{bad:02x})"
                           f"{guess}") from None


def read_code_table(path: Path, *, display: str, column: str, label_column: str | None = None,
                    sheet: str | None = None, encoding: str | None = None
                    ) -> list[tuple[int, str, str | None]]:
    """Rows of a CSV/XLSX code list: ``(row number, code, label or None)``.

    Row numbers count the header as row 1, as a spreadsheet shows them; rows
    with an empty code cell are skipped.
    """
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise CatalogError(f"{display}: old-style .xls is not supported; save it as "
                           f".xlsx or .csv")
    if suffix in (".xlsx", ".xlsm"):
        header_row, rows = _xlsx_rows(path, display, sheet)
    elif suffix in (".csv", ".tsv", ".txt"):
        if sheet is not None:
            raise CatalogError(f"{display}: 'sheet' applies to .xlsx files only")
        text = read_text_file(path, display, what="code list") if encoding is None else \
            decode_text(path.read_bytes(), display, encoding)
        header_row, rows = _csv_rows(text, suffix, display)
    else:
        raise CatalogError(f"{display}: unknown code-list format "
                           f"'{suffix or '(no suffix)'}'; use .csv, .tsv, .txt or .xlsx")
    if header_row is None:
        raise CatalogError(f"{display}: the file is empty (expected a header row "
                           f"with a '{column}' column)")
    hdr_no, header = header_row
    idx = _find_column(header, column, display, hdr_no, "")
    lidx = _find_column(header, label_column, display, hdr_no, " (label_column)") \
        if label_column else None
    out = []
    for row_no, row in rows:
        code = row[idx].strip() if idx < len(row) and row[idx] is not None else ""
        if not code:
            continue
        lab = None
        if lidx is not None and lidx < len(row) and row[lidx]:
            lab = row[lidx].strip() or None
        out.append((row_no, code, lab))
    return out


def _find_column(header: list[str], column: str, display: str, row_no: int, what: str) -> int:
    names = [(h or "").strip() for h in header]
    if column in header:
        return header.index(column)
    low = [n.casefold() for n in names]
    if column.strip().casefold() in low:
        return low.index(column.strip().casefold())
    shown = ", ".join(f"'{n}'" for n in names if n) or "none"
    close = difflib.get_close_matches(column, [n for n in names if n], n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise CatalogError(f"{display} row {row_no}: no column '{column}'{what}{hint} "
                       f"(the header has {shown})")


def _csv_rows(text: str, suffix: str, display: str):
    sample = text[:8192]
    if suffix == ".tsv":
        delim = "\t"
    else:
        try:
            delim = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delim = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header_row = None
    rows = []
    try:
        for n, row in enumerate(reader, start=1):
            if header_row is None:
                if any(c.strip() for c in row):
                    header_row = (n, row)
                continue
            rows.append((n, row))
    except csv.Error as e:
        raise CatalogError(f"{display} row {reader.line_num}: cannot read the CSV: {e}") from None
    return header_row, rows


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _xlsx_rows(path: Path, display: str, sheet: str | None):
    import zipfile

    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise CatalogError(f"{display}: reading .xlsx needs openpyxl") from e
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        raise CatalogError(f"{display}: not a readable .xlsx workbook ({e})") from e
    except Exception as e:  # damaged XML inside the zip, and whatever openpyxl makes of it
        raise CatalogError(f"{display}: not a readable .xlsx workbook "
                           f"({type(e).__name__}: {e})") from e
    try:
        return _sheet_rows(wb, display, sheet)
    except CatalogError:
        raise
    except Exception as e:  # the sheet's XML is read (and found damaged) only here
        raise CatalogError(f"{display}: not a readable .xlsx workbook "
                           f"({type(e).__name__}: {e})") from e
    finally:
        wb.close()


def _sheet_rows(wb, display: str, sheet: str | None):
    """The header row and the other rows of a workbook's sheet (1-based numbers)."""
    if sheet is not None:
        if sheet not in wb.sheetnames:
            raise CatalogError(f"{display}: no sheet '{sheet}' (sheets: "
                               f"{', '.join(wb.sheetnames)})")
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    header_row = None
    rows = []
    for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
        row = [_cell(v) for v in values]
        if header_row is None:
            if any(c and c.strip() for c in row):
                header_row = (n, [c or "" for c in row])
            continue
        rows.append((n, row))
    return header_row, rows
