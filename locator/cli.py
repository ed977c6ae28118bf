"""The ``locate`` command line: parsing, progress bars, and the one place errors become exit codes.

``locate DOC --patterns CATALOG`` runs the default ``run`` command; other
commands (``eval``, ...) are subcommands. The library raises
:class:`~locator.errors.LocatorError` subclasses; :func:`main` alone turns them
into one line on stderr and the error's exit code (see the README's table).
Heavy modules (pandas, the pipeline, engines) are imported inside commands so
``locate --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from typer.core import TyperGroup

from locator.errors import (INTERNAL_ERROR_EXIT_CODE, INTERRUPTED_EXIT_CODE, InputFileError,
                            LocatorError, UsageError)

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

_GROUP_FLAGS = {"--help", "-h", "--version", "--install-completion", "--show-completion"}


class _DefaultRun(TyperGroup):
    """Makes ``locate DOC ...`` mean ``locate run DOC ...``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in _GROUP_FLAGS:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultRun, add_completion=False, no_args_is_help=True,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    help="Find small text snippets (tags, part numbers, designators) in large documents "
         "and say exactly where each one is.\n\n"
         "Usage: locate DOC --patterns CATALOG.yaml [-o hits.csv|.json|.xlsx]",
)


def _version(value: bool) -> None:
    if value:
        from locator import __version__

        out.print(f"locate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version,
                                                is_eager=True, help="Show the version.")] = False
          ) -> None:
    pass


class _BarProgress:
    """Rich progress bars (pages, tiles of the current page) on stderr."""

    def __init__(self, progress) -> None:
        self.p = progress
        self.pages = None
        self.tiles = None

    def pages_started(self, total: int) -> None:
        if self.pages is None:
            self.pages = self.p.add_task("pages", total=total)
        else:  # the next file of a multi-file run
            task = next(t for t in self.p.tasks if t.id == self.pages)
            self.p.update(self.pages, total=(task.total or 0) + total)

    def page_started(self, page: int, tiles: int) -> None:
        if self.tiles is not None:
            self.p.remove_task(self.tiles)
        self.tiles = self.p.add_task(f"page {page} tiles", total=tiles)

    def tile_done(self, page: int, skipped: bool) -> None:
        self.p.advance(self.tiles)

    def page_done(self, page: int) -> None:
        self.p.advance(self.pages)


def _summary(report) -> None:
    from rich.table import Table

    t = Table(title="Summary", show_header=False, box=None, title_justify="left")
    t.add_row("file", report.file)
    t.add_row("pages", str(report.pages))
    t.add_row("tiles", f"{report.tiles_read} read, {report.tiles_skipped} blank skipped"
              + (f", {report.pages_cached} page(s) from the OCR cache"
                 if report.pages_cached else ""))
    t.add_row("words", str(report.words))
    t.add_row("hits", str(report.hits))
    miss = report.missing
    shown = ", ".join(miss[:20]) + (f", ... ({len(miss)} in all)" if len(miss) > 20 else "")
    t.add_row("never found", shown if miss else "none")
    if report.sources:
        from collections import Counter

        kinds = Counter(report.sources.values())
        t.add_row("sources", "; ".join(f"{n} page{'s' * (n > 1)} {what}"
                                       for what, n in kinds.most_common()))
    t.add_row("engines", ", ".join(report.engines.values()) or "none (no OCR needed)")
    t.add_row("seconds", f"{report.seconds:.1f}")
    for w in report.warnings:
        t.add_row("[yellow]warning[/]", w)
    err.print(t)


def _print_hits(df) -> None:
    """The hits as a readable table on stdout: rich on a terminal, plain text in a pipe."""
    from rich.table import Table

    if df.empty:
        out.print("no hits")
        return
    cols = [c for c in ["file", "pattern_id", "label", "matched", "text", "score", "page",
                        "x0", "y0", "x1", "y1", "engine", "conf"] if c in df.columns]
    if not out.is_terminal:  # piped or redirected: full values, no ellipses, no colour
        print(df[cols].to_string(index=False))
        return
    t = Table(*cols, box=None, header_style="bold")
    for c in t.columns:
        c.overflow = "fold"
    for row in df[cols].itertuples(index=False):
        t.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row))
    out.print(t)


def _load_catalog(patterns, codes, column, label_column, sheet, encoding):
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


def _check_output(path: Path | None) -> None:
    # Checked before any OCR so a typo costs nothing.
    from locator.export.table import FORMATS

    if path is None:
        return
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"-o {path}: unknown format {path.suffix or '(no suffix)'!r}; "
                         f"use one of {', '.join(FORMATS)}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"-o {path}: the folder {parent} does not exist")


class Source(str, Enum):
    """Where words come from (``--source``)."""

    auto = "auto"
    text = "text"
    ocr = "ocr"


@app.command("run", help="Find the catalog's snippets in DOC... (files, folders, globs; "
                          "the default command).")
def run_cmd(
    docs: Annotated[list[Path], typer.Argument(
        help="PDFs or images to search (PDF, PNG, JPEG, TIFF, ...), folders of them, "
             "or quoted globs such as 'scans/*.tif'.", show_default=False)],
    patterns: Annotated[Optional[Path], typer.Option(
        "--patterns", "-p", help="Pattern catalog (YAML).")] = None,
    codes: Annotated[Optional[Path], typer.Option(
        help="A code list (.csv/.xlsx): every cell of --column is a literal pattern.")] = None,
    column: Annotated[Optional[str], typer.Option(help="The code list's column of codes.")
                      ] = None,
    label_column: Annotated[Optional[str], typer.Option(
        help="The code list's column of labels (optional).")] = None,
    sheet: Annotated[Optional[str], typer.Option(help="The workbook sheet of --codes.")] = None,
    encoding: Annotated[Optional[str], typer.Option(
        help="Text encoding of --codes when it is not UTF-8 (e.g. cp1252).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write hits to .csv, .json, .xlsx or .parquet "
                               "(default: a table on stdout).")] = None,
    dpi: Annotated[float, typer.Option(help="Render resolution for PDF pages.")] = 300,
    tile: Annotated[int, typer.Option(help="Tile size in pixels.")] = 1600,
    overlap: Annotated[int, typer.Option(
        help="Tile overlap in pixels; larger than the tallest text.")] = 200,
    pages: Annotated[Optional[str], typer.Option(help="Pages to read, e.g. 1-3,7.")] = None,
    engine: Annotated[str, typer.Option(help="OCR engine(s), comma-separated.")] = "tesseract",
    rotations: Annotated[str, typer.Option(
        help="Text directions to read, degrees counter-clockwise, e.g. 0 or 0,90,270.")
    ] = "0,90,270",
    password: Annotated[Optional[str], typer.Option(help="Password of an encrypted PDF.")
                        ] = None,
    source: Annotated[Source, typer.Option(
        help="Where words come from: auto = a PDF's text layer where it is usable, OCR for "
             "what it lacks (scans, images, text drawn as curves, broken text); "
             "text = the text layer only; ocr = OCR only.")] = Source.auto,
    missing: Annotated[Optional[Path], typer.Option(
        help="Also write the catalog entries that were never found (.csv/.json/.xlsx).")
    ] = None,
    warnings_out: Annotated[Optional[Path], typer.Option(
        "--warnings", help="Also write the run's warnings (tiles that failed, damaged pages, "
                           "...) as a table: file, page, tile, message (.csv/.json/.xlsx).")
    ] = None,
    workers: Annotated[int, typer.Option(
        help="OCR processes (0: one per core).")] = 0,
    tile_timeout: Annotated[float, typer.Option(
        help="Seconds one tile may take to read; a tile over it is tried once more, then "
             "recorded as failed (0: no limit).")] = 120,
    cache: Annotated[Optional[Path], typer.Option(
        "--cache", help="OCR cache folder (default: the user's cache folder).")] = None,
    no_cache: Annotated[bool, typer.Option(
        "--no-cache", help="Do not read or write the OCR cache.")] = False,
    thorough_rotations: Annotated[bool, typer.Option(
        "--thorough-rotations", help="Read whole tiles turned for vertical text, not just "
                                     "the places that look like it (slower).")] = False,
    whole_tiles: Annotated[bool, typer.Option(
        "--whole-tiles", help="Read whole tiles (line art left in) instead of the tiles' "
                              "text regions; better on dense schematics whose labels "
                              "touch wires.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or summary.")
                     ] = False,
    annotate: Annotated[Optional[Path], typer.Option(
        help="Also write a copy of DOC (as PDF) with every hit outlined and labelled.")
    ] = None,
) -> None:
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)

    from locator.export.table import hits_frame, write_table
    from locator.inputs import find_inputs
    from locator.pipeline import run, run_many
    from locator.settings import Settings

    catalog = _load_catalog(patterns, codes, column, label_column, sheet, encoding)
    try:
        rots = tuple(int(r) for r in rotations.split(",") if r.strip())
    except ValueError:
        raise UsageError(f"--rotations {rotations!r}: give degrees like 0,90,270") from None
    settings = Settings.build(dpi=dpi, tile=tile, overlap=overlap, pages=pages,
                              engine=engine, rotations=rots, password=password,
                              workers=workers, cache=not no_cache,
                              cache_dir=str(cache) if cache else None,
                              rotated_regions=not thorough_rotations,
                              text_regions=not whole_tiles, clean=not whole_tiles,
                              source=source.value, tile_timeout=tile_timeout)
    _check_output(output)
    _check_output(missing)
    _check_output(warnings_out)
    _check_annotate(annotate)
    found = find_inputs(docs)  # what it skips (loops, FIFOs, dangling links) goes in the summary
    files = list(found.files)
    if annotate is not None and len(files) > 1:
        raise UsageError(f"--annotate {annotate}: one marked-up copy is made of one document; "
                         f"{len(files)} were given")

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=quiet) as bars:
        if len(files) == 1:
            result = run(files[0], catalog, settings, progress=_BarProgress(bars))
        else:
            result = run_many(files, catalog, settings, progress=_BarProgress(bars))
    result.report.warnings[:0] = found.skipped
    df = hits_frame(result.hits)
    if output is not None and output.suffix.lower() == ".xlsx":
        if len(files) > 1:
            result.report.warnings.append("review workbook: no pictures of the hits when "
                                          "several documents are read in one run")
        _write_review_workbook(output, df, files[0] if len(files) == 1 else None, catalog,
                               result.report, settings, quiet)
    elif output is not None:
        write_table(df, output)
    else:
        _print_hits(df)
    if missing is not None:
        import pandas as pd

        ids = set(result.report.missing)
        rows = [{"pattern_id": p.id, "label": p.label, "text": str(p.query)}
                for p in catalog.patterns if p.id in ids]
        write_table(pd.DataFrame(rows, columns=["pattern_id", "label", "text"]), missing,
                    sheet="Missing")
    if annotate is not None:
        _write_annotated(files[0], df, annotate, password, quiet)
    if warnings_out is not None:
        from locator.export.table import warnings_frame

        write_table(warnings_frame(result.report.warnings,
                                   file=str(files[0]) if len(files) == 1 else None),
                    warnings_out, sheet="Warnings")
    if not quiet:
        _summary(result.report)
        if output is not None:
            err.print(f"wrote {len(df)} hits to {output}")

# ---------------------------------------------------------------- eval and tune

def _wide() -> Console:
    # Tables too wide for 80 columns must not wrap when stdout is a file or a pipe.
    return out if out.is_terminal else Console(highlight=False, width=160)


def _fmt(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _scores_table(df, key: str, title: str):
    from rich.table import Table

    t = Table(key, "truth", "hits", "tp", "fp", "fn", "precision", "recall", "F1",
              title=title, title_justify="left", box=None, header_style="bold")
    for r in df.itertuples(index=False):
        t.add_row(str(getattr(r, key)), str(r.tp + r.fn), str(r.tp + r.fp), str(r.tp),
                  str(r.fp), str(r.fn), _fmt(r.precision), _fmt(r.recall), _fmt(r.f1))
    return t


def _rows_list(df, title: str, max_rows: int, *, read: bool) -> None:
    if not len(df):
        out.print(f"{title}: none")
        return
    shown = df if max_rows <= 0 else df.head(max_rows)
    more = f", first {len(shown)} (--max-rows 0 lists all)" if len(shown) < len(df) else ""
    out.print(f"{title} ({len(df)}{more}):")
    for r in shown.itertuples(index=False):
        got = ""
        if read and "text" in df.columns and r.text and r.text != r.matched:
            got = f" read {r.text!r}"
        out.print(f"  p{r.page}  {r.matched!r}{got}  ({r.x0:.1f}, {r.y0:.1f}, {r.x1:.1f}, "
                  f"{r.y1:.1f})  [{r.reason}]", markup=False, soft_wrap=True)


@app.command("eval", help="Score a hits table against ground truth: precision, recall and F1 "
                          "overall, per label and per pattern; lists misses and false hits.")
def eval_cmd(
    hits: Annotated[Path, typer.Argument(help="Hits table (.csv, .json, .xlsx, .parquet) "
                                              "as `locate -o` writes it.", show_default=False)],
    truth: Annotated[Optional[Path], typer.Option(
        "--truth", "-t", help="Ground-truth table: matched, page, x0, y0, x1, y1 "
                              "(PDF points, unrotated page, top-left origin).")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Also write the report: .xlsx (summary, per label, per "
                               "pattern, misses, false hits) or .csv (per pattern + overall).")
    ] = None,
    iou: Annotated[float, typer.Option(help="Minimum box IoU for a hit to count.")] = 0.3,
    grow: Annotated[float, typer.Option(
        help="A hit also counts when its centre lies in the truth box grown by this many pt.")
    ] = 2.0,
    max_rows: Annotated[int, typer.Option(
        help="Misses and false hits listed (0: all).")] = 50,
) -> None:
    from locator.evaluate import evaluate, load_table, write_report

    if truth is None:
        raise UsageError("give the ground truth: --truth TRUTH.csv")
    if output is not None and output.suffix.lower() not in (".xlsx", ".csv"):
        raise UsageError(f"-o {output}: an evaluation report is .xlsx or .csv")
    if not 0 <= iou <= 1:
        raise UsageError(f"--iou {iou:g}: give a value between 0 and 1")
    if grow < 0:
        raise UsageError(f"--grow {grow:g}: give 0 or more points")
    h = load_table(hits, role="hits")
    t = load_table(truth, role="truth")
    ev = evaluate(h, t, iou=iou, grow=grow)
    out.print(f"precision {ev.precision:.3f}  recall {ev.recall:.3f}  F1 {ev.f1:.3f}  "
              f"(hits {ev.n_hits}, truth {ev.n_truth}: tp {ev.tp}, fp {ev.fp}, fn {ev.fn})",
              soft_wrap=True)
    out.print(f"a hit counts when its code and page agree and IoU >= {ev.iou:g} or its centre "
              f"is within the truth box grown by {ev.grow:g} pt; one hit per truth row",
              style="dim", soft_wrap=True)
    out.print()
    _wide().print(_scores_table(ev.per_label, "label", "per label"))
    out.print()
    _wide().print(_scores_table(ev.per_pattern, "pattern_id", "per pattern"))
    out.print()
    _rows_list(ev.misses, "misses", max_rows, read=False)
    _rows_list(ev.false_hits, "false hits", max_rows, read=True)
    if output is not None:
        write_report(ev, output)
        err.print(f"wrote the report to {output}")


class Baseline(str, Enum):
    upright = "upright"
    rotations = "rotations"
    both = "both"
    none = "none"


def _error_with_code(code: int, message: str) -> LocatorError:
    from locator import errors

    for cls in (errors.UsageError, errors.InputFileError, errors.UnsupportedFormatError,
                errors.CatalogError, errors.MissingEngineError, errors.EngineError,
                errors.ExportError):
        if cls.exit_code == code:
            return cls(message)
    return LocatorError(message)


@app.command("tune", help="Run a grid of settings (tile, overlap, DPI, engine) and the "
                          "whole-page baseline on DOC, score each against ground truth, "
                          "and recommend the best (highest F1, then fastest).")
def tune_cmd(
    doc: Annotated[Path, typer.Argument(help="PDF or image to read.", show_default=False)],
    patterns: Annotated[Optional[Path], typer.Option(
        "--patterns", "-p", help="Pattern catalog (YAML).")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        "--truth", "-t", help="Ground-truth table for DOC (see `locate eval`).")] = None,
    tiles: Annotated[str, typer.Option(help="Tile sizes in px, comma-separated.")
                     ] = "1200,1600,2400",
    overlaps: Annotated[str, typer.Option(help="Tile overlaps in px, comma-separated.")] = "200",
    dpis: Annotated[str, typer.Option(help="Render resolutions, comma-separated.")] = "300",
    engines: Annotated[str, typer.Option(
        help="Engines, comma-separated (each a grid point); a+b reads with both at once.")
    ] = "tesseract",
    rotations: Annotated[str, typer.Option(
        help="Text directions read by the tiled configurations.")] = "0,90,270",
    thorough_rotations: Annotated[bool, typer.Option(
        "--thorough-rotations", help="Read whole tiles turned for vertical text, not just "
                                     "the places that look like it.")] = False,
    sets: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Fix another setting for every row, NAME=VALUE (repeatable), e.g. "
                      "--set glyph_px=40 --set clean=false --set source=ocr.")] = None,
    baseline: Annotated[Baseline, typer.Option(
        help="Whole-page, no-tiling baselines, the page image read as it is (no cleaning, "
             "no text regions): upright (rotation 0, a naive whole-page OCR), rotations "
             "(the whole page turned to every --rotations direction), both, none.")
    ] = Baseline.upright,
    pages: Annotated[Optional[str], typer.Option(help="Pages to read, e.g. 1-3,7.")] = None,
    password: Annotated[Optional[str], typer.Option(help="Password of an encrypted PDF.")
                        ] = None,
    workers: Annotated[int, typer.Option(help="OCR processes per run (0: one per core).")] = 0,
    timeout: Annotated[Optional[float], typer.Option(
        help="Give up on one configuration after this many seconds.")] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Also write the table (.csv, .json, .xlsx, .parquet).")] = None,
    keep_hits: Annotated[Optional[Path], typer.Option(
        help="Keep each configuration's hits as CSV files in this folder.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    from rich.table import Table

    from locator import tune as tn
    from locator.catalog import load_catalog
    from locator.documents import Document
    from locator.engines import get_engine
    from locator.evaluate import load_table
    from locator.export.table import write_table

    if patterns is None:
        raise UsageError("give a catalog: --patterns CATALOG.yaml")
    if truth is None:
        raise UsageError("give the ground truth: --truth TRUTH.csv")
    try:
        rots = tuple(int(r) for r in rotations.split(",") if r.strip())
    except ValueError:
        raise UsageError(f"--rotations {rotations!r}: give degrees like 0,90,270") from None
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout {timeout:g}: give a positive number of seconds")
    if workers < 0:
        raise UsageError(f"--workers {workers}: give 0 (one per core) or more")
    grid = tn.make_grid(tiles=tn.parse_numbers(tiles, "--tiles"),
                        overlaps=tn.parse_numbers(overlaps, "--overlaps"),
                        dpis=tn.parse_numbers(dpis, "--dpis", float),
                        engines=tn.parse_engines(engines), rotations=rots,
                        rotated_regions=not thorough_rotations,
                        extra=tn.parse_sets(sets or []))
    _check_output(output)
    # Everything that can be wrong with the inputs fails here, before minutes of OCR.
    with Document(doc, password=password) as d:
        from locator.documents import parse_pages

        parse_pages(pages, d.page_count)
    load_catalog(patterns)
    t = load_table(truth, role="truth")
    for combo in {c.engine for c in grid}:
        for name in combo:
            get_engine(name)
    configs = tn.baseline_configs(doc, grid, mode=baseline.value, pages=pages,
                                  password=password) + grid

    def started(i: int, n: int, cfg) -> None:
        if not quiet:
            err.print(f"[{i + 1}/{n}] {cfg.name} ...", markup=False)

    def done(i: int, n: int, o) -> None:
        if quiet:
            return
        if o.ok:
            err.print(f"      F1 {o.f1:.3f} (P {o.precision:.3f}, R {o.recall:.3f}) in "
                      f"{o.seconds:.1f} s, peak {o.peak_mb:.0f} MiB", markup=False)
        else:
            err.print(f"      failed: {o.error}", markup=False)

    outcomes = tn.tune(doc, patterns, t, configs, pages=pages, password=password,
                       workers=workers, timeout=timeout, hits_dir=keep_hits,
                       on_start=started, on_done=done)
    best = tn.recommend(outcomes)
    table = Table("#", "run", "dpi", "tile", "overlap", "engine", "rotations", "tp", "fp", "fn",
                  "precision", "recall", "F1", "seconds", "peak MiB",
                  title=f"tune: {doc.name} (OCR cache off; * recommended)",
                  title_justify="left", box=None, header_style="bold")
    for i, o in enumerate(outcomes, 1):
        c = o.config
        cells = [f"{i}{' *' if o is best else ''}",
                 c.kind + "".join(f" {k}={v}" for k, v in c.extra), f"{c.dpi:g}", str(c.tile),
                 str(c.overlap), "+".join(c.engine),
                 ",".join(map(str, c.rotations))
                 + ("" if c.kind != "tiled" or c.rotated_regions else " thorough")]
        if o.ok:
            cells += [str(o.tp), str(o.fp), str(o.fn), _fmt(o.precision), _fmt(o.recall),
                      _fmt(o.f1), f"{o.seconds:.1f}", f"{o.peak_mb:.0f}"]
        else:
            cells += ["-"] * 5 + ["failed", "-", "-"]
        table.add_row(*cells)
    _wide().print(table)
    for i, o in enumerate(outcomes, 1):
        if not o.ok:
            out.print(f"#{i} failed: {o.error}", markup=False, soft_wrap=True)
        elif o.warnings:  # failed tiles: the scores miss what those tiles hold
            out.print(f"#{i}: {len(o.warnings)} warning(s), words are missing; the first: "
                      f"{o.warnings[0]}", markup=False, soft_wrap=True)
    if output is not None:
        write_table(tn.outcomes_frame(outcomes, best), output, sheet="Tune")
        err.print(f"wrote the table to {output}")
    if best is None:
        first = next(o for o in outcomes)
        raise _error_with_code(first.exit_code, f"every configuration failed; the first: "
                                                f"{first.error}")
    out.print(f"recommended (highest F1, then fastest): #{outcomes.index(best) + 1} "
              f"{best.config.name}: F1 {best.f1:.3f} in {best.seconds:.1f} s", markup=False,
              soft_wrap=True)
    out.print(f"  locate {doc} --patterns {patterns} {best.config.options()}", markup=False,
              soft_wrap=True)


@app.command("batch", help="Find the catalog's snippets in every PDF and image in FOLDER; "
                            "pages run as tasks, locally or on a Dask cluster.")
def batch_cmd(
    folder: Annotated[Path, typer.Argument(help="Folder of documents (searched recursively).",
                                           show_default=False)],
    patterns: Annotated[Path, typer.Option("--patterns", "-p", help="Pattern catalog (YAML).")],
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write hits to .csv, .json, .xlsx or .parquet.")] = None,
    dask: Annotated[Optional[str], typer.Option(
        "--dask", help="Dask scheduler address (tcp://host:8786); default: run here.")] = None,
    dpi: Annotated[float, typer.Option(help="Render resolution for PDF pages.")] = 300,
    tile: Annotated[int, typer.Option(help="Tile size in pixels.")] = 1600,
    overlap: Annotated[int, typer.Option(help="Tile overlap in pixels.")] = 200,
    engine: Annotated[str, typer.Option(help="OCR engine(s), comma-separated.")] = "tesseract",
    workers: Annotated[int, typer.Option(help="Local processes (0: one per core).")] = 0,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="No OCR cache.")] = False,
    source: Annotated[Source, typer.Option(
        help="Where words come from: auto, text (the PDF text layer only) or ocr.")
    ] = Source.auto,
    warnings_out: Annotated[Optional[Path], typer.Option(
        "--warnings", help="Also write the warnings and failed files as a table: file, page, "
                           "tile, message (.csv/.json/.xlsx).")] = None,
    tile_timeout: Annotated[float, typer.Option(
        help="Seconds one tile may take to read (0: no limit).")] = 120,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from locator.batch import collect_inputs, run_batch
    from locator.catalog import load_catalog
    from locator.export.table import hits_frame, write_table
    from locator.settings import Settings

    settings = Settings.build(dpi=dpi, tile=tile, overlap=overlap, engine=engine,
                              workers=workers, cache=not no_cache, source=source.value,
                              tile_timeout=tile_timeout)
    _check_output(output)
    _check_output(warnings_out)
    catalog = load_catalog(patterns)
    found = collect_inputs(folder)  # what it skips (loops, FIFOs, dangling links) is named
    files = list(found.files)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=quiet) as bars:
        task = bars.add_task(f"{len(files)} files, pages", total=None)
        result = run_batch(files, catalog, settings, scheduler=dask,
                           on_page=lambda f, p: bars.advance(task))
    result.warnings[:0] = found.skipped
    frames = []
    for f, hits in result.hits.items():
        frames.append(hits_frame(hits))  # hits carry their file: the first column
    df = pd.concat(frames, ignore_index=True) if frames else hits_frame([])
    if output is not None:
        write_table(df, output)
    else:
        _print_hits(df)
    if warnings_out is not None:
        from locator.export.table import warnings_frame
        from locator.model import RunWarning

        failed = [RunWarning(f"{f}: failed: {why}", file=f, message=f"failed: {why}")
                  for f, why in result.failures.items()]
        write_table(warnings_frame(failed + list(result.warnings)), warnings_out,
                    sheet="Warnings")
    if not quiet:
        err.print(f"{len(files)} files, {result.pages} pages, {len(df)} hits"
                  + (f", {len(result.failures)} failed" if result.failures else ""))
        for f, why in result.failures.items():
            err.print(f"[yellow]failed[/]: {f}: {why}", markup=True)
        for w in result.warnings:
            err.print(f"[yellow]warning[/]: {w}")
    if result.failures and not result.hits:
        raise InputFileError(f"every file in {folder} failed")


# ---- review: the workbook, the marked-up PDF, and reading verdicts back (issue 7) ----

def _check_annotate(path: Path | None) -> None:
    if path is None:
        return
    if path.suffix.lower() != ".pdf":
        raise UsageError(f"--annotate {path}: the marked-up copy is a PDF; give a name "
                         f"ending in .pdf")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--annotate {path}: the folder {parent} does not exist")


def _write_review_workbook(path: Path, df, doc: Path | None, catalog, report, settings,
                           quiet: bool) -> None:
    from locator.export.workbook import missing_frame, write_workbook

    res = write_workbook(path, df, document=doc, report=report,
                         missing=missing_frame(catalog, report.missing),
                         dpi=settings.dpi, password=settings.password)
    for w in res.warnings:
        report.warnings.append(f"review workbook: {w}")
    if not quiet:
        err.print(f"review workbook: {res.thumbnails} pictures in {res.seconds:.1f} s")


def _write_annotated(doc: Path, df, path: Path, password: str | None, quiet: bool) -> None:
    from locator.export.annotate import annotate_pdf

    res = annotate_pdf(doc, df, path, password=password)
    from rich.text import Text

    for s in res.skipped:
        err.print(Text.assemble(("warning ", "yellow"), f"--annotate: {s}"))
    if not quiet:
        err.print(f"marked {res.annotated} hits in {path}")


@app.command("review", help="Read the verdicts of a review workbook back: precision of the "
                            "reviewed rows per label and per pattern, and a truth file.")
def review_cmd(
    workbook: Annotated[Path, typer.Argument(
        help="The review workbook (-o review.xlsx), with verdicts filled in.",
        show_default=False)],
    truth_out: Annotated[Optional[Path], typer.Option(
        "--truth-out", help="Write the rows marked correct as truth "
                            "(.csv/.json/.xlsx/.parquet) for 'locate eval' and 'locate tune'.")
    ] = None,
) -> None:
    from rich.table import Table
    from rich.text import Text

    from locator.export.review import read_review, write_truth

    if truth_out is not None:
        from locator.export.table import FORMATS

        if truth_out.suffix.lower() not in FORMATS:
            raise UsageError(f"--truth-out {truth_out}: unknown format "
                             f"{truth_out.suffix or '(no suffix)'!r}; use one of "
                             f"{', '.join(FORMATS)}")
        if truth_out.resolve() == workbook.resolve():
            raise UsageError(f"--truth-out {truth_out}: that is the workbook itself")
    rv = read_review(workbook)
    for w in rv.warnings:
        err.print(Text.assemble(("warning ", "yellow"), w))

    def pct(v) -> str:
        return "-" if v != v else f"{v:.1%}"

    by_pattern = rv.per_pattern[rv.per_pattern["reviewed"] > 0]
    for title, table, keys in (("precision per label", rv.per_label, ["label"]),
                               ("precision per pattern (patterns with verdicts)", by_pattern,
                                ["pattern_id", "label"])):
        t = Table(*keys, "correct", "wrong", "unsure", "blank", "precision",
                  title=title, title_justify="left", box=None, header_style="bold")
        for rec in table.to_dict("records"):
            t.add_row(*(Text(str(rec[k])) for k in keys), str(rec["correct"]),
                      str(rec["wrong"]), str(rec["unsure"]), str(rec["blank"]),
                      pct(rec["precision"]))
        out.print(t)
    o = rv.overall
    out.print(f"overall: precision {pct(o['precision'])} "
              f"({o['correct']} correct, {o['wrong']} wrong; {o['unsure']} unsure and "
              f"{o['blank']} blank not counted)")
    if o["correct"] + o["wrong"] == 0:
        err.print("no row has a verdict of correct or wrong yet: pick one in the "
                  "'verdict' column of the Hits sheet")
    if truth_out is not None:
        write_truth(rv, truth_out)
        err.print(f"wrote {len(rv.truth)} truth rows (the hits marked correct) to {truth_out}")


@app.command("crop", help="Cut an example symbol out of a document, for a catalog's "
                           "'symbol:' entry: a grey PNG that records its DPI.")
def crop_cmd(
    doc: Annotated[Path, typer.Argument(help="PDF or image to cut from.", show_default=False)],
    box: Annotated[str, typer.Option(
        help="x0,y0,x1,y1 in PDF points, origin top left of the unrotated page "
             "(the hits table's coordinates).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PNG to write.",
                                         show_default=False)],
    page: Annotated[int, typer.Option(help="Page number (1-based).")] = 1,
    dpi: Annotated[Optional[float], typer.Option(
        help="Resolution of the crop (default: an image's own, else 300).")] = None,
    password: Annotated[Optional[str], typer.Option(help="Password of an encrypted PDF.")
                        ] = None,
) -> None:
    from locator.geometry import Box
    from locator.symbols import crop, save_example

    try:
        x0, y0, x1, y1 = (float(v) for v in box.split(","))
    except ValueError:
        raise UsageError(f"--box {box!r}: give four numbers x0,y0,x1,y1 (points)") from None
    if x1 <= x0 or y1 <= y0:
        raise UsageError(f"--box {box!r}: x1 must exceed x0 and y1 exceed y0")
    if output.suffix.lower() != ".png":
        raise UsageError(f"-o {output}: write the example as a .png")
    if dpi is not None and not 20 <= dpi <= 2400:
        raise UsageError(f"--dpi {dpi:g}: choose a resolution between 20 and 2400")
    img, used = crop(doc, page, Box(x0, y0, x1, y1), dpi=dpi, password=password)
    save_example(img, used, output)
    err.print(f"wrote {output} ({img.shape[1]} x {img.shape[0]} px at {used:g} dpi); "
              f"catalog entry:  - symbol: {output.as_posix()}", soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``locate`` script: run the app, map errors to exit codes."""
    try:
        rv = app(args=argv, prog_name="locate", standalone_mode=False)
        # Typer turns Ctrl-C into Exit(130), and an Exit outside standalone mode
        # into its return value: the commands themselves return None.
        if rv == INTERRUPTED_EXIT_CODE:
            raise KeyboardInterrupt
        if isinstance(rv, int) and not isinstance(rv, bool) and rv:
            sys.exit(rv)
    except LocatorError as e:
        err.print(f"locate: error: {e}", markup=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.TyperException as e:  # bad options (click's usage errors): exit 2
        show = getattr(e, "show", None)  # usage and hint, as click prints them
        if show is not None:
            show(file=sys.stderr)
        else:
            err.print(f"locate: error: {e.format_message()}", markup=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, typer.Abort):
        err.print("locate: interrupted")
        sys.exit(INTERRUPTED_EXIT_CODE)
    except Exception as e:  # a bug: say so plainly; the traceback only on request
        if os.environ.get("LOCATOR_DEBUG"):
            raise
        err.print(f"locate: internal error: {type(e).__name__}: {e} "
                  f"(set LOCATOR_DEBUG=1 for the traceback, and please report it)",
                  markup=False, soft_wrap=True)
        sys.exit(INTERNAL_ERROR_EXIT_CODE)
    sys.exit(0)
