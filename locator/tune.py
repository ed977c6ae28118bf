"""Tuning: run a grid of settings on one document with ground truth, score each, recommend one.

This module owns the grid (tile size x overlap x DPI x engine, plus the
whole-page baselines), running one configuration in a fresh Python process,
measuring it, scoring its hits with :mod:`locator.evaluate`, and choosing the
best. ``locate tune`` and ``bench/bench_accuracy.py`` are thin callers.

Why a fresh process per configuration: peak memory is then that
configuration's alone (a process's peak RSS never goes down), and no state
(imported models, the renderer's caches) leaks from one run into the next's
time. Every run has the OCR cache off (``Settings(cache=False)``), so seconds
are what reading the document really costs.

What is measured
----------------
* ``seconds``: the pipeline's own wall time inside the child (catalog loading,
  rendering, OCR in the worker processes, merging, matching) -- not Python's
  start-up or the scoring.
* ``peak_mb``: peak resident memory of the configuration's whole process tree
  (the child, its OCR worker processes, the ``tesseract`` processes they
  start), in MiB: the larger of the summed RSS sampled from ``/proc`` every
  50 ms and the largest single process's exact peak from ``getrusage``. The
  sample can miss a short spike; the getrusage figure cannot, but it is one
  process only -- so the figure is a lower bound of what the machine needed.
* precision / recall / F1: :func:`locator.evaluate.evaluate` of the hits
  against the truth rows of the pages read.

The whole-page baseline
-----------------------
What a naive whole-page OCR does: one tile the size of the page (``tile`` >=
the page's longer side in pixels at the DPI, overlap 0), upright text only
(``rotations=(0,)``), the page image given to the engine as it is: no line
art painted out (``clean=False``), no text regions cut out and enlarged
(``text_regions=False``). Optionally also the same naive whole-page read turned
in every direction of the grid (the whole page turned: ``rotated_regions=False``),
labelled separately.

Other settings (``glyph_px``, ``clean``, ``source``, ...) can be fixed for
every row with ``extra`` (``locate tune --set glyph_px=40``); the baselines
keep their naive reading whatever ``extra`` says about it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from locator.errors import LocatorError
from locator.memory import TreeSampler, tree_rss_kib
from locator.tune_grid import (DEFAULT_DPIS, DEFAULT_ENGINES, DEFAULT_OVERLAPS, DEFAULT_ROTATIONS,
                               DEFAULT_TILES, NAIVE, TILED, WHOLE, WHOLE_ROT, Config,
                               baseline_configs, make_grid, parse_engines, parse_numbers,
                               parse_sets, whole_page_tile)

if TYPE_CHECKING:
    import pandas as pd

# The grid's names (locator.tune_grid) and the memory sampler are re-exported here.
__all__ = ["Config", "Outcome", "parse_numbers", "parse_engines", "make_grid",
           "whole_page_tile", "baseline_configs", "run_config", "tune", "recommend",
           "outcomes_frame", "parse_sets", "checked_configs", "Checked", "outcome_dict",
           "tree_rss_kib", "TreeSampler", "TILED", "WHOLE", "WHOLE_ROT", "NAIVE",
           "DEFAULT_TILES", "DEFAULT_OVERLAPS", "DEFAULT_DPIS", "DEFAULT_ENGINES",
           "DEFAULT_ROTATIONS"]

@dataclass
class Outcome:
    """What one configuration gave. ``error`` is set (and the scores are None)
    when the run failed; ``exit_code`` is then the error's exit code."""

    config: Config
    tp: int | None = None
    fp: int | None = None
    fn: int | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    seconds: float | None = None
    peak_mb: float | None = None
    tiles: int | None = None
    words: int | None = None
    hits: int | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    exit_code: int = 0
    hits_file: str | None = None
    evaluation: object | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


# ------------------------------------------------------------------ one run

def _import_root() -> str:
    """The folder holding the ``locator`` package this process imported, so the
    child imports the same code (not another checkout's editable install)."""
    import locator

    return str(Path(locator.__file__).resolve().parents[1])


def run_config(doc: str | os.PathLike, patterns: str | os.PathLike, truth: pd.DataFrame,
               config: Config, *, pages: str | None = None, password: str | None = None,
               workers: int = 0, timeout: float | None = None,
               hits_path: str | os.PathLike | None = None,
               words_path: str | os.PathLike | None = None,
               iou: float = 0.3, grow: float = 2.0) -> Outcome:
    """Run ``config`` on ``doc`` in a fresh Python process and score it against ``truth``.

    ``truth`` is a table as :func:`locator.evaluate.load_table` returns
    (boxes in PDF points, unrotated page space); only its rows on the pages
    read are counted. The hits are kept at ``hits_path`` (CSV) when given, and
    every merged OCR word (``text, conf, page, x0, y0, x1, y1, engine, angle``;
    page points) at ``words_path``, for finding out why a code was missed.
    A failed run comes back as an :class:`Outcome` with ``error`` set; this
    function raises only for a bad ``pages`` range.
    """
    from locator.evaluate import evaluate, load_table

    truth = _truth_for_pages(doc, truth, pages, password)
    with tempfile.TemporaryDirectory(prefix="locator-tune-") as tmp_name:
        tmp = Path(tmp_name)
        hits_file = Path(hits_path) if hits_path is not None else tmp / "hits.csv"
        _write_spec(tmp, doc, patterns, config, hits_file, words_path,
                    {"pages": pages, "password": password, "workers": workers, "cache": False})
        env = dict(os.environ)
        root = _import_root()
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        outcome = Outcome(config=config)
        try:
            # its own process group: a timeout or Ctrl-C ends the child, its OCR
            # worker processes and their tesseract processes together
            proc = subprocess.Popen([sys.executable, "-m", "locator.tune", "--worker",
                                     str(tmp / "spec.json")], env=env, cwd=root,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=os.name == "posix")
        except OSError as e:
            outcome.error, outcome.exit_code = f"cannot start a Python process: {e}", 1
            return outcome
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            proc.communicate()
            sampler.stop()
            outcome.error, outcome.exit_code = f"timed out after {timeout:g} s", 1
            return outcome
        except BaseException:  # Ctrl-C: do not leave the child reading on
            _kill_tree(proc)
            proc.wait()
            sampler.stop()
            raise
        tree_peak = sampler.stop()
        result_path = tmp / "result.json"
        result = (json.loads(result_path.read_text(encoding="utf-8"))
                  if result_path.is_file() else {})
        if result.get("error") or proc.returncode != 0 or not hits_file.is_file():
            last = (stderr or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
            outcome.error = result.get("error") or last[0]
            outcome.exit_code = int(result.get("exit_code") or proc.returncode or 1)
            return outcome
        rusage_peak = max(result.get("maxrss_self_kib", 0), result.get("maxrss_children_kib", 0))
        outcome.peak_mb = max(tree_peak, rusage_peak) / 1024.0
        outcome.seconds = result["seconds"]
        outcome.tiles, outcome.words = result["tiles"], result["words"]
        outcome.hits, outcome.warnings = result["hits"], result["warnings"]
        hits = load_table(hits_file, role="hits")
        if hits_path is not None:
            outcome.hits_file = str(hits_file)
    ev = evaluate(hits, truth, iou=iou, grow=grow)
    outcome.tp, outcome.fp, outcome.fn = ev.tp, ev.fp, ev.fn
    outcome.precision, outcome.recall, outcome.f1 = ev.precision, ev.recall, ev.f1
    outcome.evaluation = ev
    return outcome


def _write_spec(tmp: Path, doc, patterns, config: Config, hits_file: Path, words_path,
                run_settings: dict) -> None:
    """The child's instructions, ``tmp/spec.json``: what to read with which
    settings, and where to put the hits, the words and its result."""
    hits_file.parent.mkdir(parents=True, exist_ok=True)
    if words_path is not None:
        Path(words_path).parent.mkdir(parents=True, exist_ok=True)
    spec = {"doc": str(Path(doc).resolve()), "patterns": str(Path(patterns).resolve()),
            "settings": {**config.settings_kwargs(), **run_settings},
            "hits": str(hits_file.resolve()), "result": str(tmp / "result.json"),
            "words": str(Path(words_path).resolve()) if words_path is not None else None}
    (tmp / "spec.json").write_text(json.dumps(spec), encoding="utf-8")


def _kill_tree(proc: subprocess.Popen) -> None:
    """End the child and everything it started (its own process group)."""
    import signal

    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _truth_for_pages(doc, truth: pd.DataFrame, pages: str | None, password: str | None):
    if pages is None:
        return truth
    from locator.documents import Document, parse_pages

    with Document(doc, password=password) as d:
        chosen = parse_pages(pages, d.page_count)
    return truth[truth["page"].isin(chosen)].reset_index(drop=True)


def _worker(spec_path: str) -> int:
    """The child's side of :func:`run_config`: run the pipeline once, write the
    hits (CSV) and a result JSON; exit with the error's exit code on failure."""
    import resource
    import traceback

    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result_path = Path(spec["result"])
    try:
        from locator.export.table import hits_frame, write_table
        from locator.pipeline import run
        from locator.settings import Settings

        s = spec["settings"]
        settings = Settings.build(**{**s, "engine": tuple(s["engine"]),
                                     "rotations": tuple(s["rotations"])})
        result = run(spec["doc"], spec["patterns"], settings)
        write_table(hits_frame(result.hits), spec["hits"])
        if spec.get("words"):
            import pandas as pd

            cols = ["text", "conf", "page", "x0", "y0", "x1", "y1", "engine", "angle", "source"]
            write_table(pd.DataFrame([(w.text, w.conf, w.page, w.box.x0, w.box.y0, w.box.x1,
                                       w.box.y1, w.engine, w.angle, w.source)
                                      for w in result.words], columns=cols), spec["words"])
        rep = result.report
        me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss      # KiB on Linux
        kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if sys.platform == "darwin":  # bytes there
            me, kids = me // 1024, kids // 1024
        out = {"seconds": rep.seconds, "tiles": rep.tiles, "tiles_read": rep.tiles_read,
               "words": rep.words, "hits": rep.hits, "warnings": rep.warnings,
               "engines": rep.engines, "maxrss_self_kib": me, "maxrss_children_kib": kids}
        code = 0
    except LocatorError as e:
        out, code = {"error": str(e), "exit_code": e.exit_code}, e.exit_code
    except Exception as e:  # a bug: keep the traceback for whoever reads the result
        out = {"error": f"{type(e).__name__}: {e}", "exit_code": 1,
               "traceback": traceback.format_exc()}
        code = 1
    result_path.write_text(json.dumps(out), encoding="utf-8")
    return code


# ------------------------------------------------------------------ the whole grid

def tune(doc: str | os.PathLike, patterns: str | os.PathLike, truth: pd.DataFrame,
         configs: Sequence[Config], *, pages: str | None = None, password: str | None = None,
         workers: int = 0, timeout: float | None = None,
         hits_dir: str | os.PathLike | None = None,
         on_start: Callable[[int, int, Config], None] | None = None,
         on_done: Callable[[int, int, Outcome], None] | None = None) -> list[Outcome]:
    """Run every configuration (one after the other, each in its own process) and
    return their outcomes in order. ``hits_dir``: keep each run's hits there as
    ``NN-<kind>.csv``."""
    outcomes = []
    n = len(configs)
    if hits_dir is not None:
        Path(hits_dir).mkdir(parents=True, exist_ok=True)
    for i, cfg in enumerate(configs):
        if on_start:
            on_start(i, n, cfg)
        hp = None
        if hits_dir is not None:
            slug = cfg.kind.replace(" ", "").replace("+", "-")
            hp = Path(hits_dir) / (f"{i + 1:02d}-{slug}-t{cfg.tile}-o{cfg.overlap}-"
                                   f"d{cfg.dpi:g}-{'+'.join(cfg.engine)}.csv")
        o = run_config(doc, patterns, truth, cfg, pages=pages, password=password,
                       workers=workers, timeout=timeout, hits_path=hp)
        outcomes.append(o)
        if on_done:
            on_done(i, n, o)
    return outcomes


class Checked(NamedTuple):
    """What :func:`checked_configs` found good: the truth table and every configuration."""

    truth: pd.DataFrame
    configs: list[Config]


def checked_configs(doc: str | os.PathLike, patterns: str | os.PathLike,
                    truth: str | os.PathLike, grid: Sequence[Config], baseline: str,
                    pages: str | None, password: str | None) -> Checked:
    """Check everything that can be wrong with the inputs before minutes of OCR: the
    document and ``pages``, the catalog, the truth table, every engine. Returns the
    truth and the baselines followed by ``grid``."""
    from locator.catalog import load_catalog
    from locator.documents import Document, parse_pages
    from locator.engines import get_engine
    from locator.evaluate import load_table

    with Document(doc, password=password) as d:
        parse_pages(pages, d.page_count)
    load_catalog(patterns)
    t = load_table(truth, role="truth")
    for combo in {c.engine for c in grid}:
        for name in combo:
            get_engine(name)
    configs = baseline_configs(doc, grid, mode=baseline, pages=pages, password=password)
    return Checked(t, [*configs, *grid])


def recommend(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The best run: highest F1 (to three decimals, so noise does not decide),
    then the fewest seconds. None when every run failed."""
    ok = [o for o in outcomes if o.ok]
    if not ok:
        return None
    return min(ok, key=lambda o: (-round(o.f1 or 0.0, 3), o.seconds))  # (a finished run has an F1)


def outcomes_frame(outcomes: Sequence[Outcome], best: Outcome | None = None) -> pd.DataFrame:
    """One row per configuration: the settings, the scores, seconds, peak MiB."""
    import pandas as pd

    rows = []
    for o in outcomes:
        c = o.config
        rows.append({"configuration": c.name, "kind": c.kind, "dpi": c.dpi, "tile": c.tile,
                     "overlap": c.overlap, "engine": "+".join(c.engine),
                     "rotations": ",".join(map(str, c.rotations)),
                     "rotated_regions": c.settings_kwargs()["rotated_regions"],
                     "settings": ", ".join(f"{k}={v}" for k, v in c.extra),
                     "tp": o.tp, "fp": o.fp, "fn": o.fn,
                     "precision": o.precision, "recall": o.recall, "f1": o.f1,
                     "seconds": o.seconds, "peak_mb": o.peak_mb, "tiles": o.tiles,
                     "recommended": o is best, "error": o.error or "",
                     "warnings": "; ".join(o.warnings)})
    return pd.DataFrame(rows)


def outcome_dict(o: Outcome) -> dict:
    """An outcome as plain JSON-able data (without the evaluation)."""
    d = {f: getattr(o, f) for f in o.__dataclass_fields__ if f not in ("config", "evaluation")}
    d["config"] = {**asdict(o.config), "name": o.config.name}
    return d


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.exit(_worker(sys.argv[2]))
    print("locator.tune is run by `locate tune`; see `locate tune --help`", file=sys.stderr)
    sys.exit(2)
