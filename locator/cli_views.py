"""What the ``locate`` commands show people: progress bars, the run summary, and the tables of
eval, tune and review, on the two consoles (results on stdout, everything else on stderr).

Rendering only: nothing here reads or writes files or decides an exit code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:  # rich.table and rich.text are imported when first drawn: --help stays fast
    from rich.table import Table

__all__ = ["err", "out", "BarProgress", "summary", "hits_on_terminal", "wide", "fmt",
           "scores_table", "rows_list", "tune_table", "review_tables", "warn"]

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


def warn(message: str) -> None:
    """One warning line on stderr (shown with -q too)."""
    from rich.text import Text

    err.print(Text.assemble(("warning", "yellow"), ": ", message), soft_wrap=True)


class BarProgress:
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


def summary(report) -> None:
    """The run report as a small table on stderr."""
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


def found_as(forms: list[str]) -> None:
    """How the hits were found (their ``form`` column), when not all as single
    words: as a word, as an instrument bubble, as stacked lines, and how many
    without the catalog's prefix."""
    from collections import Counter

    if not forms or set(forms) <= {"word", "symbol"}:
        return
    counts = Counter(f.partition("+")[0] for f in forms).most_common()
    implied = sum(f.endswith("+no-prefix") for f in forms)
    err.print("found as: " + ", ".join(f"{n} {f}" for f, n in counts)
              + (f" ({implied} without the catalog's prefix)" if implied else ""))


def batch_summary(result, files: int, hits: int, quiet: bool) -> None:
    """What ``locate batch`` did; with ``quiet`` only what went wrong."""
    if not quiet:
        err.print(f"{files} files, {result.pages} pages, {hits} hits"
                  + (f", {len(result.failures)} failed" if result.failures else ""))
        for f, why in result.failures.items():
            err.print(f"[yellow]failed[/]: {f}: {why}", markup=True)
        for w in result.warnings:
            err.print(f"[yellow]warning[/]: {w}")
    else:  # -q hides progress and the summary, never what went wrong
        for f, why in result.failures.items():
            warn(f"failed: {f}: {why}")
        for w in result.warnings:
            warn(str(w))


def hits_on_terminal(df) -> None:
    """The hits as a readable table (a terminal; a pipe gets CSV instead)."""
    from rich.table import Table

    if df.empty:
        out.print("no hits")
        return
    cols = [c for c in ["file", "pattern_id", "label", "matched", "text", "score", "page",
                        "x0", "y0", "x1", "y1", "engine", "conf"] if c in df.columns]
    t = Table(*cols, box=None, header_style="bold")
    for c in t.columns:
        c.overflow = "fold"
    for row in df[cols].itertuples(index=False):
        t.add_row(*(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row))
    out.print(t)


def wide() -> Console:
    """stdout, not wrapping tables wider than 80 columns when it is a file or a pipe."""
    return out if out.is_terminal else Console(highlight=False, width=160)


def fmt(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def scores_table(df, key: str, title: str) -> Table:
    from rich.table import Table

    t = Table(key, "truth", "hits", "tp", "fp", "fn", "precision", "recall", "F1",
              title=title, title_justify="left", box=None, header_style="bold")
    for r in df.itertuples(index=False):
        t.add_row(str(getattr(r, key)), str(r.tp + r.fn), str(r.tp + r.fp), str(r.tp),
                  str(r.fp), str(r.fn), fmt(r.precision), fmt(r.recall), fmt(r.f1))
    return t


def rows_list(df, title: str, max_rows: int, *, read: bool) -> None:
    """Misses or false hits, one line each (the first ``max_rows``; 0: all)."""
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


def evaluation(ev, max_rows: int) -> None:
    """``locate eval``'s report on stdout."""
    out.print(f"precision {ev.precision:.3f}  recall {ev.recall:.3f}  F1 {ev.f1:.3f}  "
              f"(hits {ev.n_hits}, truth {ev.n_truth}: tp {ev.tp}, fp {ev.fp}, fn {ev.fn})",
              soft_wrap=True)
    if ev.unreviewed:
        out.print(f"{ev.unreviewed} hit(s) on rows the review left unjudged are not scored",
                  soft_wrap=True)
    out.print(f"a hit counts when its code and page agree and IoU >= {ev.iou:g} or its centre "
              f"is within the truth box grown by {ev.grow:g} pt; one hit per truth row",
              style="dim", soft_wrap=True)
    out.print()
    wide().print(scores_table(ev.per_label, "label", "per label"))
    out.print()
    wide().print(scores_table(ev.per_pattern, "pattern_id", "per pattern"))
    out.print()
    rows_list(ev.misses, "misses", max_rows, read=False)
    rows_list(ev.false_hits, "false hits", max_rows, read=True)


def tune_table(doc_name: str, outcomes, best) -> None:
    """``locate tune``'s table of every configuration, and the failures under it."""
    from rich.table import Table

    table = Table("#", "run", "dpi", "tile", "overlap", "engine", "rotations", "tp", "fp", "fn",
                  "precision", "recall", "F1", "seconds", "peak MiB",
                  title=f"tune: {doc_name} (OCR cache off; * recommended)",
                  title_justify="left", box=None, header_style="bold")
    for i, o in enumerate(outcomes, 1):
        c = o.config
        cells = [f"{i}{' *' if o is best else ''}",
                 c.kind + "".join(f" {k}={v}" for k, v in c.extra), f"{c.dpi:g}", str(c.tile),
                 str(c.overlap), "+".join(c.engine),
                 ",".join(map(str, c.rotations))
                 + ("" if c.kind != "tiled" or c.rotated_regions else " thorough")]
        if o.ok:
            cells += [str(o.tp), str(o.fp), str(o.fn), fmt(o.precision), fmt(o.recall),
                      fmt(o.f1), f"{o.seconds:.1f}", f"{o.peak_mb:.0f}"]
        else:
            cells += ["-"] * 5 + ["failed", "-", "-"]
        table.add_row(*cells)
    wide().print(table)
    for i, o in enumerate(outcomes, 1):
        if not o.ok:
            out.print(f"#{i} failed: {o.error}", markup=False, soft_wrap=True)
        elif o.warnings:  # failed tiles: the scores miss what those tiles hold
            out.print(f"#{i}: {len(o.warnings)} warning(s), words are missing; the first: "
                      f"{o.warnings[0]}", markup=False, soft_wrap=True)


def tune_progress(quiet: bool):
    """The (started, done) callbacks of :func:`locator.tune.tune`: one line each on stderr."""
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

    return started, done


def _pct(v) -> str:
    return "-" if v != v else f"{v:.1%}"


def review_tables(rv) -> None:
    """``locate review``'s precision tables and overall line on stdout."""
    from rich.table import Table
    from rich.text import Text

    by_pattern = rv.per_pattern[rv.per_pattern["reviewed"] > 0]
    for title, table, keys in (("precision per label", rv.per_label, ["label"]),
                               ("precision per pattern (patterns with verdicts)", by_pattern,
                                ["pattern_id", "label"])):
        t = Table(*keys, "correct", "wrong", "unsure", "blank", "precision",
                  title=title, title_justify="left", box=None, header_style="bold")
        for rec in table.to_dict("records"):
            t.add_row(*(Text(str(rec[k])) for k in keys), str(rec["correct"]),
                      str(rec["wrong"]), str(rec["unsure"]), str(rec["blank"]),
                      _pct(rec["precision"]))
        out.print(t)
    o = rv.overall
    out.print(f"overall: precision {_pct(o['precision'])} "
              f"({o['correct']} correct, {o['wrong']} wrong; {o['unsure']} unsure and "
              f"{o['blank']} blank not counted)")
