"""The ``locate`` command line: the commands, and the one place errors become exit codes.

``locate DOC --patterns CATALOG`` runs the default ``run`` command; other
commands (``eval``, ...) are subcommands. The library raises
:class:`~locator.errors.LocatorError` subclasses; :func:`main` alone turns them
into one line on stderr and the error's exit code (see the README's table).
Shared options and the checks made before any reading are in
:mod:`locator.cli_options`; what is shown on the consoles in
:mod:`locator.cli_views`; every table is written by
:func:`locator.export.files.write_table`. Heavy modules (pandas, the pipeline,
engines) are imported inside commands so ``locate --help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from typer.core import TyperGroup

from locator import cli_options as opt
from locator.cli_options import check_format, check_paths, parse_rotations, setup_logging
from locator.cli_views import batch_summary, err, out, warn
from locator.errors import (INTERNAL_ERROR_EXIT_CODE, INTERRUPTED_EXIT_CODE, InputFileError,
                            LocatorError, UsageError)
from locator.outputs import emit_hits, raise_total_failure, write_run_outputs, write_warnings
from locator.serve.commands import register as register_serve

log = logging.getLogger("locator.cli")

_GROUP_FLAGS = {"--help", "-h", "--version", "--install-completion", "--show-completion"}
Source = opt.Source  # the name tests and callers know


class _DefaultRun(TyperGroup):
    """Makes ``locate DOC ...`` mean ``locate run DOC ...``; a typo of a command is named."""

    # the base takes typer's vendored click.Context (not exported); typer passes a subclass
    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in _GROUP_FLAGS:
            close = opt.suggest_command(args[0], self.commands)
            if close is not None:
                raise UsageError(f"{args[0]!r} is neither a command nor a file; did you mean "
                                 f"'locate {close}'?")
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultRun, add_completion=False, no_args_is_help=True,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
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


def _fmt_value(fmt: opt.Format | None) -> str | None:
    return fmt.value if fmt is not None else None


def _run_inputs(docs, files=()) -> list[tuple[str, Path]]:
    return [("document", Path(d)) for d in docs if Path(d).exists()] + \
        [("document", f) for f in files]


@app.command("run", help="Find the catalog's snippets in DOC... (files, folders, globs; "
                          "the default command).")
def run_cmd(
    docs: Annotated[list[Path], typer.Argument(
        help="PDFs or images to search (PDF, PNG, JPEG, TIFF, ...), folders of them, "
             "or quoted globs such as 'scans/*.tif'.", show_default=False)],
    patterns: opt.Catalog = None,
    codes: Annotated[Path | None, typer.Option(
        help="A code list (.csv/.xlsx): every cell of --column is a literal pattern.")] = None,
    column: Annotated[str | None, typer.Option(help="The code list's column of codes.")
                      ] = None,
    label_column: Annotated[str | None, typer.Option(
        help="The code list's column of labels (optional).")] = None,
    sheet: Annotated[str | None, typer.Option(help="The workbook sheet of --codes.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="Text encoding of --codes when it is not UTF-8 (e.g. cp1252).")] = None,
    output: opt.HitsOut = None,
    fmt: opt.FormatOpt = None,
    csv_safe: opt.CsvSafe = False,
    dpi: opt.Dpi = 300, tile: opt.Tile = 1600, overlap: opt.Overlap = 200,
    pages: opt.Pages = None, engine: opt.Engine = "tesseract",
    rotations: opt.Rotations = "0,90,270", password: opt.Password = None,
    source: opt.SourceOpt = opt.Source.auto,
    missing: Annotated[Path | None, typer.Option(
        help="Also write the catalog entries that were never found (.csv/.json/.xlsx).")
    ] = None,
    warnings_out: opt.WarningsOut = None, words: opt.WordsOut = None,
    workers: opt.Workers = 0, tile_timeout: opt.TileTimeout = 120,
    cache: Annotated[Path | None, typer.Option(
        "--cache", help="OCR cache folder (default: the user's cache folder).")] = None,
    no_cache: opt.NoCache = False, thorough_rotations: opt.Thorough = False,
    whole_tiles: Annotated[bool, typer.Option(
        "--whole-tiles", help="Read whole tiles (line art left in) instead of the tiles' "
                              "text regions; better on dense schematics whose labels "
                              "touch wires.")] = False,
    detector: opt.DetectorOpt = opt.Detector.cc, quiet: opt.Quiet = False,
    verbose: opt.Verbose = 0,
    annotate: Annotated[Path | None, typer.Option(
        help="Also write a copy of DOC (as PDF) with every hit outlined and labelled.")
    ] = None,
) -> None:
    from locator.inputs import find_inputs
    from locator.settings import Settings

    setup_logging(verbose, quiet)
    # Without -o the hits go to stdout: another output cannot go there too.
    outputs = [("-o", output if output is not None else Path("-")), ("--missing", missing),
               ("--warnings", warnings_out), ("--annotate", annotate), ("--words", words)]
    check_format("-o", output, _fmt_value(fmt))
    check_format("--missing", missing)
    check_format("--warnings", warnings_out), opt.check_words(words)
    if annotate is not None and annotate.suffix.lower() != ".pdf":
        raise UsageError(f"--annotate {annotate}: the marked-up copy is a PDF; give a name "
                         f"ending in .pdf")
    inputs = [("--patterns", patterns), ("--codes", codes), *_run_inputs(docs)]
    check_paths(inputs, outputs)
    catalog = opt.load_catalog(patterns, codes, column, label_column, sheet, encoding)
    settings = Settings.build(dpi=dpi, tile=tile, overlap=overlap, pages=pages,
                              engine=engine, rotations=parse_rotations(rotations),
                              password=password, workers=workers, cache=not no_cache,
                              cache_dir=str(cache) if cache else None,
                              rotated_regions=not thorough_rotations,
                              text_regions=not whole_tiles, clean=not whole_tiles,
                              source=source.value, tile_timeout=tile_timeout,
                              detector=detector.value)
    log.info("settings: %s", settings)
    found = find_inputs(docs)  # what it skips (loops, FIFOs, dangling links) goes in the summary
    files = list(found.files)
    log.debug("documents: %s", ", ".join(map(str, files)))
    check_paths([*inputs, *_run_inputs((), files)], outputs)
    for name, one in (("--annotate", annotate), ("--words", words)):
        if one is not None and len(files) > 1:
            raise UsageError(f"{name} {one}: written for one document; {len(files)} were given")
    result = _read_with_bars(files, catalog, settings, quiet)
    result.report.warnings[:0] = found.skipped
    raise_total_failure(result.report, quiet)  # every tile failed: exit 7, nothing written
    write_run_outputs(result, files, catalog, settings, output=output, fmt=_fmt_value(fmt),
                       csv_safe=csv_safe, missing=missing, warnings_out=warnings_out,
                       annotate=annotate, quiet=quiet, words=words)


def _read_with_bars(files, catalog, settings, quiet: bool):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeElapsedColumn)

    from locator.cli_views import BarProgress
    from locator.pipeline import run, run_many

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=True,
                  disable=quiet) as bars:
        if len(files) == 1:
            return run(files[0], catalog, settings, progress=BarProgress(bars))
        return run_many(files, catalog, settings, progress=BarProgress(bars))


# ---------------------------------------------------------------- eval and tune

@app.command("eval", help="Score a hits table against ground truth: precision, recall and F1 "
                          "overall, per label and per pattern; lists misses and false hits.")
def eval_cmd(
    hits: Annotated[Path, typer.Argument(help="Hits table (.csv, .json, .xlsx, .parquet) "
                                              "as `locate -o` writes it.", show_default=False)],
    truth: opt.Truth = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Also write the report: .xlsx (summary, per label, per "
                               "pattern, misses, false hits) or .csv (per pattern + overall).")
    ] = None,
    iou: Annotated[float, typer.Option(help="Minimum box IoU for a hit to count.")] = 0.3,
    grow: Annotated[float, typer.Option(
        help="A hit also counts when its centre lies in the truth box grown by this many pt.")
    ] = 2.0,
    max_rows: Annotated[int, typer.Option(
        help="Misses and false hits listed (0: all).")] = 50,
    quiet: opt.Quiet = False, verbose: opt.Verbose = 0,
) -> None:
    from locator.cli_views import evaluation
    from locator.evaluate import evaluate, load_table, write_report

    setup_logging(verbose, quiet)
    if truth is None:
        raise UsageError("give the ground truth: --truth TRUTH.csv")
    if output is not None and output.suffix.lower() not in (".xlsx", ".csv"):
        raise UsageError(f"-o {output}: an evaluation report is .xlsx or .csv")
    if not 0 <= iou <= 1:
        raise UsageError(f"--iou {iou:g}: give a value between 0 and 1")
    if grow < 0:
        raise UsageError(f"--grow {grow:g}: give 0 or more points")
    check_paths([("hits", hits), ("--truth", truth)], [("-o", output)], make_folders=True)
    ev = evaluate(load_table(hits, role="hits"), load_table(truth, role="truth"),
                  iou=iou, grow=grow)
    evaluation(ev, max_rows)
    if output is not None:
        write_report(ev, output)
        err.print(f"wrote the report to {output}")


class Baseline(str, Enum):
    upright = "upright"
    rotations = "rotations"
    both = "both"
    none = "none"


@app.command("tune", help="Run a grid of settings (tile, overlap, DPI, engine) and the "
                          "whole-page baseline on DOC, score each against ground truth, "
                          "and recommend the best (highest F1, then fastest).")
def tune_cmd(
    doc: Annotated[Path, typer.Argument(help="PDF or image to read.", show_default=False)],
    patterns: opt.Catalog = None,
    truth: opt.Truth = None,
    tiles: Annotated[str, typer.Option(help="Tile sizes in px, comma-separated.")
                     ] = "1200,1600,2400",
    overlaps: Annotated[str, typer.Option(help="Tile overlaps in px, comma-separated.")] = "200",
    dpis: Annotated[str, typer.Option(help="Render resolutions, comma-separated.")] = "300",
    engines: Annotated[str, typer.Option(
        help="Engines, comma-separated (each a grid point); a+b reads with both at once.")
    ] = "tesseract",
    rotations: opt.Rotations = "0,90,270",
    thorough_rotations: opt.Thorough = False,
    sets: Annotated[list[str] | None, typer.Option(
        "--set", help="Fix another setting for every row, NAME=VALUE (repeatable), e.g. "
                      "--set glyph_px=40 --set clean=false --set source=ocr.")] = None,
    baseline: Annotated[Baseline, typer.Option(
        help="Whole-page, no-tiling baselines, the page image read as it is (no cleaning, "
             "no text regions): upright (rotation 0, a naive whole-page OCR), rotations "
             "(the whole page turned to every --rotations direction), both, none.")
    ] = Baseline.upright,
    pages: opt.Pages = None, password: opt.Password = None,
    workers: Annotated[int, typer.Option(help="OCR processes per run (0: one per core).")] = 0,
    timeout: Annotated[float | None, typer.Option(
        help="Give up on one configuration after this many seconds.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Also write the table (.csv, .json, .jsonl, .xlsx, "
                               ".parquet).")] = None,
    fmt: opt.FormatOpt = None,
    keep_hits: Annotated[Path | None, typer.Option(
        help="Keep each configuration's hits as CSV files in this folder.")] = None,
    quiet: opt.Quiet = False, verbose: opt.Verbose = 0,
) -> None:
    from locator import tune as tn
    from locator.cli_views import tune_progress, tune_table
    from locator.export.files import write_table

    setup_logging(verbose, quiet)
    if patterns is None:
        raise UsageError("give a catalog: --patterns CATALOG.yaml")
    if truth is None:
        raise UsageError("give the ground truth: --truth TRUTH.csv")
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout {timeout:g}: give a positive number of seconds")
    if workers < 0:
        raise UsageError(f"--workers {workers}: give 0 (one per core) or more")
    grid = tn.make_grid(tiles=tn.parse_numbers(tiles, "--tiles"),
                        overlaps=tn.parse_numbers(overlaps, "--overlaps"),
                        dpis=tn.parse_numbers(dpis, "--dpis", float),
                        engines=tn.parse_engines(engines), rotations=parse_rotations(rotations),
                        rotated_regions=not thorough_rotations,
                        extra=tn.parse_sets(sets or []))
    check_format("-o", output, _fmt_value(fmt), stdout_taken="the tune table and advice")
    inputs = [("document", doc), ("--patterns", patterns), ("--truth", truth)]
    check_paths(inputs, [("-o", output)])
    if keep_hits is not None and keep_hits.exists() and not keep_hits.is_dir():
        raise UsageError(f"--keep-hits {keep_hits}: is a file; give a folder")
    configs = tn.checked_configs(doc, patterns, truth, grid, baseline.value, pages, password)
    started, done = tune_progress(quiet)
    outcomes = tn.tune(doc, patterns, configs.truth, configs.configs, pages=pages,
                       password=password, workers=workers, timeout=timeout,
                       hits_dir=keep_hits, on_start=started, on_done=done)
    best = tn.recommend(outcomes)
    tune_table(doc.name, outcomes, best)
    if output is not None:
        write_table(tn.outcomes_frame(outcomes, best), output, sheet="Tune", fmt=_fmt_value(fmt))
        err.print(f"wrote the table to {output}")
    if best is None:
        first = outcomes[0]
        raise opt.error_with_code(first.exit_code, f"every configuration failed; the first: "
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
    output: opt.HitsOut = None,
    fmt: opt.FormatOpt = None,
    csv_safe: opt.CsvSafe = False,
    dask: Annotated[str | None, typer.Option(
        "--dask", help="Dask scheduler address (tcp://host:8786); default: run here.")] = None,
    dpi: opt.Dpi = 300, tile: opt.Tile = 1600, overlap: opt.Overlap = 200,
    engine: opt.Engine = "tesseract", workers: opt.Workers = 0,
    no_cache: opt.NoCache = False,
    source: opt.SourceOpt = opt.Source.auto,
    warnings_out: opt.WarningsOut = None,
    tile_timeout: opt.TileTimeout = 120,
    quiet: opt.Quiet = False, verbose: opt.Verbose = 0,
) -> None:
    import pandas as pd
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from locator.batch import collect_inputs, run_batch
    from locator.catalog import load_catalog
    from locator.export.table import hits_frame
    from locator.model import RunWarning
    from locator.settings import Settings

    setup_logging(verbose, quiet)
    settings = Settings.build(dpi=dpi, tile=tile, overlap=overlap, engine=engine,
                              workers=workers, cache=not no_cache, source=source.value,
                              tile_timeout=tile_timeout)
    check_format("-o", output, _fmt_value(fmt))  # .xlsx: a plain table, no pictures
    check_format("--warnings", warnings_out)
    outputs = [("-o", output), ("--warnings", warnings_out)]
    check_paths([("--patterns", patterns)], outputs)
    catalog = load_catalog(patterns)
    found = collect_inputs(folder)  # what it skips (loops, FIFOs, dangling links) is named
    files = list(found.files)
    check_paths([("--patterns", patterns), *_run_inputs((), files)], outputs)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True, disable=quiet) as bars:
        task = bars.add_task(f"{len(files)} files, pages", total=None)
        result = run_batch(files, catalog, settings, scheduler=dask,
                           on_page=lambda f, p: bars.advance(task))
    result.warnings[:0] = found.skipped
    frames = [hits_frame(hits) for hits in result.hits.values()]  # hits carry their file
    df = pd.concat(frames, ignore_index=True) if frames else hits_frame([])
    failure = result.failure()  # every tile of every file failed: exit 7, nothing written
    if failure is None:
        emit_hits(df, output, _fmt_value(fmt), csv_safe)
    if warnings_out is not None and failure is None:
        failed = [RunWarning(f"{f}: failed: {why}", file=f, message=f"failed: {why}")
                  for f, why in result.failures.items()]
        write_warnings(failed + list(result.warnings), warnings_out, None, csv_safe)
    batch_summary(result, len(files), len(df), quiet)
    if failure is not None:
        raise failure
    if result.failures and not result.hits:
        raise InputFileError(f"every file in {folder} failed")


# ---- review: reading verdicts back (the workbook and marked-up PDF are run's outputs) ----

@app.command("review", help="Read the verdicts of a review workbook back: precision of the "
                            "reviewed rows per label and per pattern, and a truth file.")
def review_cmd(
    workbook: Annotated[Path, typer.Argument(
        help="The review workbook (-o review.xlsx), with verdicts filled in.",
        show_default=False)],
    truth_out: Annotated[Path | None, typer.Option(
        "--truth-out", help="Write the truth (.csv/.json/.jsonl/.xlsx/.parquet) for "
                            "'locate eval' and 'locate tune': the rows marked "
                            "correct, the tags added on the Missed sheet, and which rows "
                            "were not reviewed.")] = None,
    fmt: opt.FormatOpt = None,
    quiet: opt.Quiet = False, verbose: opt.Verbose = 0,
) -> None:
    from locator.cli_views import review_tables
    from locator.export.review import read_review, write_truth

    setup_logging(verbose, quiet)
    check_format("--truth-out", truth_out, _fmt_value(fmt),
                 stdout_taken="the precision tables")
    check_paths([("workbook", workbook)], [("--truth-out", truth_out)])
    rv = read_review(workbook)
    for w in rv.warnings:
        warn(w)
    review_tables(rv)
    o = rv.overall
    if o["correct"] + o["wrong"] == 0:
        err.print("no row has a verdict of correct or wrong yet: pick one in the "
                  "'verdict' column of the Hits sheet")
    if truth_out is not None:
        write_truth(rv, truth_out, fmt=_fmt_value(fmt), name=f"--truth-out {truth_out}")
        n_missed = len(rv.missed) if rv.missed is not None else 0
        n_open = int((rv.scope["review"] == "unreviewed").sum()) if rv.scope is not None else 0
        err.print(f"wrote {len(rv.truth)} truth rows (the hits marked correct"
                  + (f", and {n_missed} missed tags" if n_missed else "")
                  + f") to {truth_out}"
                  + (f"; {n_open} unreviewed rows are marked so 'locate eval' leaves them out"
                     if n_open else ""), soft_wrap=True)


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
    dpi: Annotated[float | None, typer.Option(
        help="Resolution of the crop (default: an image's own, else 300).")] = None,
    password: opt.Password = None,
    quiet: opt.Quiet = False, verbose: opt.Verbose = 0,
) -> None:
    from locator.examples import crop, save_example

    setup_logging(verbose, quiet)
    clip = opt.parse_box(box)
    if output.suffix.lower() != ".png":
        raise UsageError(f"-o {output}: write the example as a .png")
    if dpi is not None and not 20 <= dpi <= 2400:
        raise UsageError(f"--dpi {dpi:g}: choose a resolution between 20 and 2400")
    check_paths([("document", doc)], [("-o", output)], make_folders=True)
    img, used = crop(doc, page, clip, dpi=dpi, password=password)
    save_example(img, used, output)
    err.print(f"wrote {output} ({img.shape[1]} x {img.shape[0]} px at {used:g} dpi); "
              f"catalog entry:  - symbol: {output.as_posix()}", soft_wrap=True)


register_serve(app)  # `locate serve`, `token`, `usage` (issue 22): locator/serve/commands.py


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``locate`` script: run the app, map errors to exit codes."""
    try:
        _main(argv)
    finally:  # main() in a process that goes on (tests, a notebook) leaves logging as it was
        opt.reset_logging()


def _main(argv: list[str] | None) -> None:
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
