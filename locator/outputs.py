"""What a run writes: the hits (a file, stdout, or a table on a terminal), the review
workbook, the never-found list, the warnings table and the marked-up PDF.

Each output is written by :func:`locator.export.files.write_table` or its
exporter, after the command has checked every path (:mod:`locator.cli_options`);
messages go to stderr through :mod:`locator.cli_views`. Errors are raised,
never turned into exit codes here.
"""

from __future__ import annotations

from pathlib import Path

from locator.cli_options import check_format
from locator.cli_views import err, out, warn

__all__ = ["emit_hits", "write_warnings", "write_run_outputs"]


def emit_hits(df, output: Path | None, fmt: str | None, csv_safe: bool) -> None:
    """Hits (a DataFrame or :class:`~locator.export.rows.Rows`) to ``output``;
    without it a terminal gets a readable table, a pipe CSV."""
    from locator.export.files import STDOUT, write_table
    from locator.export.rows import Rows

    if output is None and fmt is None and out.is_terminal:
        from locator.cli_views import hits_on_terminal

        hits_on_terminal(df.frame() if isinstance(df, Rows) else df)
        return
    write_table(df, output if output is not None else STDOUT, fmt=fmt, csv_safe=csv_safe)


def write_warnings(warnings, path: Path, file: str | None, csv_safe: bool) -> None:
    from locator.export.files import write_table
    from locator.export.table import warnings_frame

    write_table(warnings_frame(warnings, file=file), path, sheet="Warnings",
                csv_safe=csv_safe, name=f"--warnings {path}")



def write_run_outputs(result, files, catalog, settings, *, output, fmt, csv_safe, missing,
                       warnings_out, annotate, quiet, words=None) -> None:
    from locator.export.files import write_table
    from locator.export.rows import hits_rows

    # pandas only where an output needs a DataFrame: a CSV table is written without it
    rows = hits_rows(result.hits)
    one = files[0] if len(files) == 1 else None
    if output is not None and check_format("-o", output, fmt) == "xlsx":
        if one is None:
            result.report.warnings.append("review workbook: no pictures of the hits when "
                                          "several documents are read in one run")
        _review_workbook(output, rows.frame(), one, catalog, result.report, settings, quiet)
    else:
        emit_hits(rows, output, fmt, csv_safe)
    if missing is not None:
        import pandas as pd

        ids = set(result.report.missing)
        table = pd.DataFrame([{"pattern_id": p.id, "label": p.label, "text": str(p.query)}
                              for p in catalog.patterns if p.id in ids],
                             columns=["pattern_id", "label", "text"])
        write_table(table, missing, sheet="Missing", csv_safe=csv_safe,
                    name=f"--missing {missing}")
    if annotate is not None:
        _annotated(files[0], rows.frame(), annotate, settings.password, quiet)
    if warnings_out is not None:
        write_warnings(result.report.warnings, warnings_out,
                        str(one) if one is not None else None, csv_safe)
    if words is not None:
        _words(result.words, files[0], words, settings, csv_safe)
    if not quiet:
        from locator.cli_views import found_as, summary

        summary(result.report)
        found_as([str(r.get("form") or "") for r in rows.rows])
        if output is not None and str(output) != "-":
            err.print(f"wrote {len(rows)} hits to {output}")
        if not rows:
            _no_hits(result.report, words)
    else:  # -q hides progress and the summary, never what went wrong
        from locator.cli_views import warn

        for w in result.report.warnings:
            warn(str(w))


def _words(words, doc: Path, path: Path, settings, csv_safe: bool) -> None:
    """``--words``: every word and composed tag read, with the sizes of the pages read."""
    from locator.documents import Document, parse_pages
    from locator.export.wordfiles import write_words

    with Document(doc, password=settings.password) as d:
        pages = parse_pages(settings.pages, d.page_count)
        sizes = {p: (d.frame(p).width, d.frame(p).height) for p in pages}
    write_words(words, path, sizes, csv_safe=csv_safe)
    err.print(f"wrote {len(words)} words to {path}")


def _no_hits(report, words: Path | None) -> None:
    """A run that found nothing says so, and where to look (issue 21: 0 hits and exit 0
    left a user dumping words to find out why)."""
    read = f"{report.words} words were read" if report.words else "no words were read"
    where = (f"see {words} for every word and composed tag read, with its box" if words
             else "add --words words.csv to see every word read, with its box")
    err.print(f"[yellow]no hits[/]: {read}; {where}. On a P&ID see README "
              f"'Searching a P&ID' (tag_format, prefix, stacked).")


def _review_workbook(path: Path, df, doc: Path | None, catalog, report, settings,
                           quiet: bool) -> None:
    from locator.export.workbook import missing_frame, write_workbook

    res = write_workbook(path, df, document=doc, report=report,
                         missing=missing_frame(catalog, report.missing),
                         dpi=settings.dpi, password=settings.password)
    for w in res.warnings:
        report.warnings.append(f"review workbook: {w}")
    if not quiet:
        err.print(f"review workbook: {res.thumbnails} pictures in {res.seconds:.1f} s")


def _annotated(doc: Path, df, path: Path, password: str | None, quiet: bool) -> None:
    from locator.export.annotate import annotate_pdf

    res = annotate_pdf(doc, df, path, password=password)
    for s in res.skipped:
        warn(f"--annotate: {s}")
    if not quiet:
        err.print(f"marked {res.annotated} hits in {path}")


def raise_total_failure(report, quiet: bool) -> None:
    """Raise the run's failure when every tile failed and nothing was read (exit 7),
    after showing the summary (or, with -q, the warnings); nothing is written."""
    failure = report.failure()
    if failure is None:
        return
    if quiet:
        from locator.cli_views import warn

        for w in report.warnings:
            warn(str(w))
    else:
        from locator.cli_views import summary

        summary(report)
    raise failure
