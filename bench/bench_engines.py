"""Engines compared (issue 4): precision, recall, F1, seconds per page, peak memory.

    python bench/bench_engines.py samples/generated/drawing-a0-scan200.pdf \\
        samples/drawing-a0.truth.csv patterns/sample-a0.yaml --dpi 200
    python bench/bench_engines.py DOC TRUTH CATALOG --configs easyocr,rapidocr \\
        --tile easyocr=2048 --opt easyocr.mag_ratio=1.5

Every configuration runs the whole pipeline (tiles, rotated-text mosaics,
merge, match) on the document in a fresh subprocess, one OCR process (the
engines' own threads aside), no OCR cache; the hits are scored with
:func:`locator.evaluate.evaluate` against the truth table. The parent reads
each child's peak RSS from ``os.wait4`` (the per-child ``getrusage``
RUSAGE_CHILDREN record), so no configuration's memory hides another's.

Configurations (``--configs``, comma-separated; default: all but the extras):

* ``tesseract``, ``easyocr``, ``rapidocr``: one engine, tiled (tile size per
  engine from :data:`TILES`, ``--tile`` overrides).
* ``tesseract+easyocr`` (default) and ``tesseract+rapidocr``, ``rapidocr+easyocr``
  (on request): every engine reads every tile, merged.
* ``tesseract/page``, ``easyocr/page``, ``rapidocr/page``: the whole-page
  baseline -- what the engine does given the page: one tile the size of the
  page, read upright only, without locator's line-art cleaning and text-region
  mosaics, each engine at its *own* default input size (EasyOCR's 2560 px
  canvas, RapidOCR's 2000 px ``max_side_len``; Tesseract reads the full page).

The tiled configurations run the default pipeline: line art cleaned, text
regions (upright and vertical candidates) cut out, enlarged to ``ocr_dpi``
(400) and read as one mosaic per tile.

``seconds/page`` is the pipeline's wall time (rendering, OCR, merge, match)
divided by pages, after the engine is loaded; ``load s`` is the engine load
(EasyOCR's Reader, RapidOCR's sessions); ``cpu s`` the child's user+system
CPU time, load included -- on a shared machine wall time depends on the
neighbours, CPU time much less. Results are printed as one table and written
as CSV with ``--csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Tile size (px at the run's dpi) per engine, as measured best (bench/README-engines.md).
TILES = {"tesseract": 1600, "easyocr": 1600, "rapidocr": 1600, "old-rapidocr": 1600}
OVERLAP = 200
DEFAULT_CONFIGS = ["tesseract", "easyocr", "rapidocr", "tesseract+easyocr",
                   "tesseract/page", "easyocr/page", "rapidocr/page"]
#: Options that make an engine read a whole page the way it does by default.
PAGE_DEFAULTS = {"easyocr": {"canvas_size": 2560}, "rapidocr": {"max_side": 2000},
                 "old-rapidocr": {"max_side": 2000}}
#: Benchmark-only engines: importing the module registers the name (bench/old_rapidocr.py).
ADAPTERS = {"old-rapidocr": "bench.old_rapidocr"}


def _parse_kv(items: list[str], what: str) -> dict:
    out: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{what}: expected key=value, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def run_one(config: str, doc: str, truth: str, catalog: str, dpi: float, tiles: dict,
            opts: dict, pages: str | None) -> dict:
    """One configuration in this process: returns the scores and timings."""
    sys.path.insert(0, str(ROOT))
    from locator.catalog import load_catalog
    from locator.documents import Document, parse_pages
    from locator.engines import get_engine
    from locator.evaluate import evaluate, load_table
    from locator.export.table import hits_frame
    from locator.pipeline import run
    from locator.settings import Settings
    from locator.tiling import view_size_px

    names, _, mode = config.partition("/")
    names = names.split("+")
    whole = mode == "page"
    engine_opts = {}
    for n in names:
        o = dict(PAGE_DEFAULTS.get(n, {})) if whole else {}
        o.update({k.split(".", 1)[1]: v for k, v in opts.items() if k.split(".", 1)[0] == n})
        engine_opts[n] = o
    import importlib

    for n in names:
        if n in ADAPTERS:
            importlib.import_module(ADAPTERS[n])
    t0 = time.perf_counter()
    engines = [get_engine(n, **engine_opts[n]) for n in names]
    import numpy as np

    for e in engines:  # load models now (EasyOCR and RapidOCR load lazily)
        e.read(np.full((64, 64), 255, np.uint8), dpi=dpi)
    load = time.perf_counter() - t0
    with Document(doc) as d:
        chosen = parse_pages(pages, d.page_count)
        sizes = [view_size_px(d.frame(p), dpi) for p in chosen]
    if whole:
        tile, overlap = max(max(s) for s in sizes), 0
    else:
        tile, overlap = max(tiles.get(n, 1600) for n in names), OVERLAP
    naive = {}
    if whole:  # the engine on the page as it is: no regions, no cleaning, upright only
        naive = dict(text_regions=False, rotated_regions=False, clean=False, rotations=(0,))
    settings = Settings(dpi=dpi, tile=tile, overlap=overlap, engine=tuple(names),
                        pages=pages, workers=1, cache=False, source="ocr", **naive)
    cat = load_catalog(catalog)
    t0 = time.perf_counter()
    result = run(doc, cat, settings, engines=engines)
    secs = time.perf_counter() - t0
    hits = hits_frame(result.hits)
    truth_df = load_table(truth, role="truth")
    truth_df = truth_df[truth_df["page"].isin(chosen)].reset_index(drop=True)
    ev = evaluate(hits, truth_df)
    by_engine = hits.loc[hits.index.isin(ev.matches["hit_row"]), "engine"].value_counts()
    return {"config": config, "tile": tile, "precision": ev.precision, "recall": ev.recall,
            "f1": ev.f1, "tp": ev.tp, "fp": ev.fp, "fn": ev.fn, "pages": len(chosen),
            "s_per_page": secs / len(chosen), "load_s": load,
            "tiles": result.report.tiles, "tiles_read": result.report.tiles_read,
            "words": result.report.words, "warnings": result.report.warnings[:5],
            "tp_by_engine": {k: int(v) for k, v in by_engine.items()},
            "missed": _rows(ev.misses), "false": _rows(ev.false_hits)}


def _rows(df) -> list[str]:
    """``matched (reason)`` for each row of a misses/false-hits table."""
    if not len(df):
        return []
    text = df["text"].astype(str) if "text" in df else ""
    return sorted(f"{m} [{t}] ({r})" for m, t, r in zip(
        df["matched"].astype(str), text if len(text) else [""] * len(df), df["reason"]))


def run_child(config: str, args: argparse.Namespace) -> dict:
    """Run one configuration in a fresh interpreter; add its peak RSS (MB)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    cmd = [sys.executable, str(Path(__file__).resolve()), args.doc, args.truth, args.catalog,
           "--dpi", str(args.dpi), "--child", config, "--child-out", out]
    for t in args.tile:
        cmd += ["--tile", t]
    for o in args.opt:
        cmd += ["--opt", o]
    if args.pages:
        cmd += ["--pages", args.pages]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage record
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    try:
        if proc.returncode != 0:
            return {"config": config, "error": f"exit code {proc.returncode}"}
        res = json.loads(Path(out).read_text())
    finally:
        Path(out).unlink(missing_ok=True)
    res["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    res["wall_s"] = wall
    res["cpu_s"] = usage.ru_utime + usage.ru_stime  # the whole child, load included
    return res


def table(rows: list[dict]) -> str:
    head = (f"{'config':22} {'tile':>5} {'P':>6} {'R':>6} {'F1':>6} {'tp':>4} {'fp':>4} "
            f"{'fn':>4} {'s/page':>8} {'load s':>7} {'cpu s':>7} {'peak MB':>8}")
    lines = [head, "-" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"{r['config']:22} {r['error']}")
            continue
        lines.append(f"{r['config']:22} {r['tile']:>5} {r['precision']:6.3f} {r['recall']:6.3f} "
                     f"{r['f1']:6.3f} {r['tp']:>4} {r['fp']:>4} {r['fn']:>4} "
                     f"{r['s_per_page']:8.1f} {r['load_s']:7.1f} {r['cpu_s']:7.0f} "
                     f"{r['peak_rss_mb']:8.0f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("doc")
    ap.add_argument("truth")
    ap.add_argument("catalog")
    ap.add_argument("--dpi", type=float, default=200.0)
    ap.add_argument("--pages", default=None, help="page range, e.g. 1 (default: all)")
    ap.add_argument("--configs", default=",".join(DEFAULT_CONFIGS))
    ap.add_argument("--tile", action="append", default=[], metavar="ENGINE=PX",
                    help="tile size for an engine (repeatable)")
    ap.add_argument("--opt", action="append", default=[], metavar="ENGINE.OPTION=VALUE",
                    help="engine constructor option, e.g. easyocr.mag_ratio=1.5 (repeatable)")
    ap.add_argument("--csv", default=None, help="also write the rows here")
    ap.add_argument("--json", default=None, help="also write full results (misses, false hits)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    tiles = {**TILES, **{k: int(v) for k, v in _parse_kv(args.tile, "--tile").items()}}
    opts = _parse_kv(args.opt, "--opt")
    if args.child:
        res = run_one(args.child, args.doc, args.truth, args.catalog, args.dpi, tiles, opts,
                      args.pages)
        Path(args.child_out).write_text(json.dumps(res))
        return
    rows = []
    for config in [c.strip() for c in args.configs.split(",") if c.strip()]:
        print(f"... {config}", file=sys.stderr, flush=True)
        rows.append(run_child(config, args))
        r = rows[-1]
        if "error" not in r:
            print(f"    P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} "
                  f"{r['s_per_page']:.1f} s/page, peak {r['peak_rss_mb']:.0f} MB; "
                  f"tp by engine {r['tp_by_engine']}", file=sys.stderr, flush=True)
    print(f"{args.doc} at {args.dpi:g} dpi, pages {args.pages or 'all'}; "
          f"rotations 0/90/270 (vertical-text mosaics), overlap {OVERLAP} px, 1 OCR process")
    print(table(rows))
    if args.csv:
        import csv

        keys = ["config", "tile", "precision", "recall", "f1", "tp", "fp", "fn", "s_per_page",
                "load_s", "cpu_s", "peak_rss_mb", "pages", "tiles", "tiles_read", "words"]
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
            w.writeheader()
            w.writerows(r for r in rows if "error" not in r)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
