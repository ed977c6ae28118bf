"""What the ``locate`` commands share: option types, the checks made before any reading, logging.

Every command checks its files here before it reads anything: no output may
be an input or another output (after symlinks and relative paths, and hard
links), every output's folder must exist and be writable, and every output's
format must be known, so a typo costs a second rather than an hour of OCR.
Errors are raised (``UsageError``: exit 2; a folder the system refuses to
write in: ``ExportError``, exit 8); :func:`locator.cli.main` alone turns them
into exit codes.
"""

from __future__ import annotations

import difflib
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from locator.errors import ExportError, LocatorError, UsageError
from locator.kinds import Detector, Source  # one enum each for the CLI and Settings

if TYPE_CHECKING:
    from locator.geometry import Box

__all__ = ["check_paths", "check_format", "parse_rotations", "setup_logging", "reset_logging",
           "suggest_command", "load_catalog", "error_with_code", "Format", "Source",
           "Detector", "LOGGER"]  # and the option types below

#: The one logger; every module logs to a child of it (``locator.<module>``).
LOGGER = "locator"


class Format(str, Enum):
    """``--format``: the table format where the file name cannot say (``-o -``, a pipe)."""

    csv = "csv"
    json = "json"
    jsonl = "jsonl"


Quiet = Annotated[bool, typer.Option("--quiet", "-q",
                                     help="No progress or summary (warnings still show).")]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True,
                                      help="Log more: -v what is done, -vv details.")]
FormatOpt = Annotated[Format | None, typer.Option(
    "--format", help="Table format where the file name cannot say: -o - (stdout) or a "
                     "pipe; default csv.")]
CsvSafe = Annotated[bool, typer.Option(
    "--csv-safe", help="In CSV output, put ' before cells starting with = + - @ so a "
                       "spreadsheet shows them instead of running them as formulas (changes "
                       "such values: -12V becomes '-12V).")]
Password = Annotated[str | None, typer.Option(help="Password of an encrypted PDF.")]
Pages = Annotated[str | None, typer.Option(help="Pages to read, e.g. 1-3,7.")]
Catalog = Annotated[Path | None, typer.Option("--patterns", "-p",
                                                 help="Pattern catalog (YAML).")]
Truth = Annotated[Path | None, typer.Option(
    "--truth", "-t", help="Ground-truth table: matched, page, x0, y0, x1, y1 (PDF points, "
                          "unrotated page, top-left origin); 'locate review' writes one.")]
Dpi = Annotated[float, typer.Option(help="Render resolution for PDF pages.")]
Tile = Annotated[int, typer.Option(help="Tile size in pixels.")]
Overlap = Annotated[int, typer.Option(
    help="Tile overlap in pixels; larger than the tallest text.")]
Engine = Annotated[str, typer.Option(help="OCR engine(s), comma-separated.")]
Rotations = Annotated[str, typer.Option(
    help="Text directions to read, degrees counter-clockwise, e.g. 0 or 0,90,270.")]
Workers = Annotated[int, typer.Option(help="OCR processes (0: one per core).")]
TileTimeout = Annotated[float, typer.Option(
    help="Seconds one tile may take to read; a tile over it is tried once more, then "
         "recorded as failed (0: no limit).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the OCR cache.")]
Thorough = Annotated[bool, typer.Option(
    "--thorough-rotations", help="Read whole tiles turned for vertical text, not just the "
                                 "places that look like it (slower).")]
HitsOut = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write hits to .csv, .json, .jsonl, .xlsx (a review workbook) or "
                           ".parquet; - for CSV on stdout (default: a table on a terminal, "
                           "CSV in a pipe).")]
WarningsOut = Annotated[Path | None, typer.Option(
    "--warnings", help="Also write the run's warnings (tiles that failed, damaged pages, "
                       "failed files) as a table: file, page, tile, message.")]



WordsOut = Annotated[Path | None, typer.Option(
    "--words", help="Also write every word and composed tag read, with its box, to see what "
                    "the engine saw: a table (.csv/.json/.xlsx/...), hOCR (.hocr/.html) or "
                    "ALTO XML (.xml), by suffix. One document only.")]


def check_words(path: Path | None) -> str | None:
    """``--words``: its format, a table's, or hOCR / ALTO by suffix (None: no file)."""
    from locator.export.wordfiles import words_format

    if path is None:
        return None
    return words_format(path) or check_format("--words", path)


SourceOpt = Annotated[Source, typer.Option(
    help="Where words come from: auto = a PDF's text layer where it is usable, OCR for "
         "what it lacks (scans, images, text drawn as curves, broken text); "
         "text = the text layer only; ocr = OCR only.")]
DetectorOpt = Annotated[Detector, typer.Option(
    help="Where a tile's text regions come from: cc = connected-component rules; db = the "
         "DBNet detector in the rapidocr extra (text in line art, of any size; slower); "
         "cc+db = both.")]


class _Stderr(logging.StreamHandler):
    """A handler that writes to ``sys.stderr`` as it is when a record comes (tests swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    """Set the ``locator`` logger's level (-q, default: warnings; -v info; -vv debug)
    and give it one handler on stderr; :func:`reset_logging` undoes it."""
    reset_logging()
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.WARNING if quiet or verbose <= 0 else (
        logging.INFO if verbose == 1 else logging.DEBUG))
    handler = _Stderr()
    handler.setFormatter(logging.Formatter("locate: %(levelname)s: %(message)s"))
    logger.addHandler(handler)


def reset_logging() -> None:
    """The ``locator`` logger as a library leaves it: no handler of ours, no level."""
    logger = logging.getLogger(LOGGER)
    for h in list(logger.handlers):
        if isinstance(h, _Stderr):
            logger.removeHandler(h)
    logger.setLevel(logging.NOTSET)


def parse_rotations(text: str, option: str = "--rotations") -> tuple[int, ...]:
    """``"0,90,270"`` -> ``(0, 90, 270)``: text directions in degrees counter-clockwise."""
    try:
        rots = tuple(int(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise UsageError(f"{option} {text!r}: give degrees like 0,90,270") from None
    if not rots:
        raise UsageError(f"{option} {text!r}: give at least one direction, e.g. 0")
    return rots


def parse_box(text: str, option: str = "--box") -> Box:
    """``"x0,y0,x1,y1"`` (PDF points, unrotated page, origin top left) -> a :class:`Box`."""
    from locator.geometry import Box

    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{option} {text!r}: give four numbers x0,y0,x1,y1 (points)") from None
    if x1 <= x0 or y1 <= y0:
        raise UsageError(f"{option} {text!r}: x1 must exceed x0 and y1 exceed y0")
    return Box(x0, y0, x1, y1)


def suggest_command(word: str, commands: Iterable[str]) -> str | None:
    """The subcommand ``word`` is probably a typo of, when ``word`` names no file."""
    if not word or word.startswith("-") or any(c in word for c in "*?[/\\.") \
            or os.path.lexists(word):
        return None
    close = difflib.get_close_matches(word, list(commands), n=1, cutoff=0.7)
    return close[0] if close else None


def _identity(path: Path) -> tuple:
    """What makes two names one file: the real path, and device+inode when it exists."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
        return (real, (st.st_dev, st.st_ino))
    except OSError:
        return (real, None)


def _same(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def _writable(option: str, path: Path, make_folders: bool) -> None:
    real = Path(os.path.realpath(path))
    if real.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    if real.exists() and not real.is_file():
        return  # a device or FIFO (/dev/null, /dev/stdout): written in place
    folder = real.parent
    if make_folders:  # the writer makes the missing folders: test the nearest one there is
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise ExportError(f"{option} {path}: cannot make its folder: {folder} is a file")
    elif not folder.exists():
        raise UsageError(f"{option} {path}: the folder {path.parent} does not exist")
    elif not folder.is_dir():
        raise UsageError(f"{option} {path}: {path.parent} is not a folder")
    try:  # the one honest test: make a file there (root passes os.access on read-only disks)
        fd, probe = tempfile.mkstemp(prefix=".locate-probe.", dir=folder)
    except OSError as e:
        raise ExportError(f"{option} {path}: cannot write in {folder}: "
                          f"{e.strerror or e}") from e
    os.close(fd)
    os.unlink(probe)


def check_paths(inputs: Sequence[tuple[str, Path | None]],
                outputs: Sequence[tuple[str, Path | None]], *,
                make_folders: bool = False) -> None:
    """Refuse, before anything is read, outputs that are inputs or each other, or unwritable.

    ``inputs`` and ``outputs`` are ``(option, path)`` pairs (``path`` None: not
    given; ``-`` is stdout and never clashes). Raises :class:`UsageError`
    naming both options, or the option whose folder is missing (unless the
    writer makes missing folders: ``make_folders``); :class:`ExportError`
    when the system refuses to make a file in the folder.
    """
    to_stdout = [opt for opt, p in outputs if p is not None and str(p) == "-"]
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(to_stdout)} both write to stdout (-; without -o "
                         f"the hits go there); give one of them a file name")
    seen: list[tuple[str, Path, tuple]] = [(opt, p, _identity(p)) for opt, p in inputs
                                           if p is not None]
    n_inputs = len(seen)
    for opt, p in outputs:
        if p is None or str(p) == "-":
            continue
        me = _identity(p)
        for k, (other_opt, other, them) in enumerate(seen):
            if _same(me, them):
                role = "the input" if k < n_inputs else "the output"
                raise UsageError(f"{opt} {p} is {role} {other_opt} {other}: it would be "
                                 f"overwritten; choose another name")
        seen.append((opt, p, me))
    for opt, p in outputs:
        if p is not None and str(p) != "-":
            _writable(opt, p, make_folders)


def check_format(option: str, path: Path | None, fmt: str | None = None,
                 allowed: Sequence[str] | None = None, *, stdout_taken: str = "") -> str | None:
    """The table format of ``path`` (see :func:`locator.export.files.table_format`),
    or a :class:`UsageError` naming ``option``; None when ``path`` is None.
    ``stdout_taken``: what the command prints on stdout, so ``-`` is refused."""
    from locator.export.files import table_format

    if path is None:
        return None
    if stdout_taken and str(path) == "-":
        raise UsageError(f"{option} -: {stdout_taken} go to stdout; give a file name")
    try:
        kind = table_format(path, fmt, option=option)
    except ExportError as e:
        raise UsageError(str(e)) from None
    if allowed is not None and kind not in allowed:
        raise UsageError(f"{option} {path}: write it as {' or '.join('.' + a for a in allowed)}")
    return kind


def load_catalog(patterns, codes, column, label_column, sheet, encoding):
    """The catalog from --patterns, --codes, or both combined (ids unique across them)."""
    from locator.catalog import Catalog, load_catalog, load_codes

    if patterns is None and codes is None:
        raise UsageError("give a catalog: --patterns CATALOG.yaml, or --codes LIST.csv "
                         "--column NAME")
    if codes is None and (column or label_column or sheet or encoding):
        raise UsageError("--column, --label-column, --sheet and --encoding go with --codes")
    parts = []
    if patterns is not None:
        parts.append(load_catalog(patterns))
    if codes is not None:
        if not column:
            raise UsageError("--codes needs --column: the header of the column of codes")
        parts.append(load_codes(codes, column=column, label_column=label_column, sheet=sheet,
                                encoding=encoding))
    return parts[0] if len(parts) == 1 else Catalog.combine(*parts)



def error_with_code(code: int, message: str) -> LocatorError:
    from locator import errors

    for cls in (errors.UsageError, errors.InputFileError, errors.UnsupportedFormatError,
                errors.CatalogError, errors.MissingEngineError, errors.EngineError,
                errors.ExportError):
        if cls.exit_code == code:
            return cls(message)
    return LocatorError(message)
