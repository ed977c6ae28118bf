"""Symbol benchmark (issue 9): per-label precision/recall, a confusion table, box error, speed.

    python -m bench.bench_symbols [--doc samples/symbols-a2-scan200.pdf]
        [--truth samples/symbols-a2.truth.csv] [--patterns patterns/symbols.yaml]
        [--dpi 200] [--range 0.7,2.2] [--old-default] [--set NAME=VALUE] [--workers 1]
        [--out bench-out/symbols]
        [--ocr-compare] [--check] [--plain-doc samples/drawing-a2-scan200.pdf]

Runs ``locator.pipeline.run`` on the symbols sheet twice: with the catalog as
given (``scales`` a list: the sheet's four sizes), and with every entry's
``scales`` replaced by one range (``--range``, sampled as finely as each
template needs) -- the form a user who does not know the sizes writes. Each
run is scored with :func:`locator.evaluate.evaluate` (same label, page, and
IoU >= 0.3 or centre in the truth box grown by 2 pt; one-to-one).

The confusion table matches hits to truth rows by place alone (the same
rule without the label), so a filled triangle reported as an empty one shows
up off the diagonal; ``(missed)`` is a truth row nothing was found at,
``(none)`` a hit where there is no symbol.

``--old-default`` adds a run with every ``scales`` set to ``[1.0]``: what a
catalog without ``scales:`` meant before issue 20. When the truth has a
``size_pt`` column, each run also prints recall by label and drawn size.

``--set NAME=VALUE`` overrides a constant of :mod:`locator.symbols` (or
:mod:`locator.symbol_variants`) for the
run (with one worker: the matcher runs in this process), to measure an
alternative against the committed value side by side.

``--ocr-compare`` also times a Tesseract pass over the same tiles (no
catalog needed), to put the symbol pass's time per tile next to OCR's.
``--check`` exits 1 unless every label reaches precision and recall >= 0.95.
``--plain-doc`` runs the symbol pass (catalog as given) on a document with
no symbols of the catalog's kinds -- the sample P&ID scan by default -- for
its time per tile on ordinary drawing content and its false alarms (every
hit there is one); with ``--ocr-compare`` OCR is timed there too.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = 0.95


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (worker processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def range_catalog(patterns: Path, lo: float, hi: float, folder: Path) -> Path:
    """The catalog with every symbol's scales replaced by the range [lo, hi]
    (symbol paths made absolute, so the copy can live anywhere)."""
    return scales_catalog(patterns, [lo, hi], folder, "range")


def scales_catalog(patterns: Path, scales: list[float], folder: Path, tag: str) -> Path:
    """The catalog with every symbol's ``scales`` replaced by ``scales`` (two
    values: a range), symbol paths made absolute."""
    import yaml

    data = yaml.safe_load(patterns.read_text())
    for p in data["patterns"]:
        if "symbol" in p:
            p["symbol"] = str((patterns.parent / p["symbol"]).resolve())
            p["scales"] = list(scales)
    out = folder / f"{patterns.stem}-{tag}.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


def by_size(ev, truth, hits):
    """Per label and drawn size (truth ``size_pt``): recall, and the lowest
    score of the hits that found them (label x size tables)."""
    import pandas as pd

    m = ev.matches
    score = dict(zip(m["truth_row"], hits["score"].iloc[list(m["hit_row"])])) if len(m) else {}
    truth = truth.assign(size_pt=truth["size_pt"].astype(float))
    t = truth.assign(found=[i in score for i in range(len(truth))],
                     score=[score.get(i, float("nan")) for i in range(len(truth))])
    return (pd.crosstab(t["label"], t["size_pt"], values=t["found"], aggfunc="mean"),
            pd.crosstab(t["label"], t["size_pt"], values=t["score"], aggfunc="min"))


def confusion(hits, truth, *, iou: float = 0.3, grow: float = 2.0):
    """Truth label x detected label, matching by place only (one-to-one, best IoU first)."""
    import pandas as pd

    from locator.geometry import Box

    hb = [Box(*r) for r in hits[["x0", "y0", "x1", "y1"]].itertuples(index=False, name=None)]
    tb = [Box(*r) for r in truth[["x0", "y0", "x1", "y1"]].itertuples(index=False, name=None)]
    pairs = []
    for i, (hp, h) in enumerate(zip(hits["page"], hb)):
        for j, (tp, t) in enumerate(zip(truth["page"], tb)):
            if hp != tp:
                continue
            v = h.iou(t)
            if v >= iou or t.grow(grow).contains_point(*h.center):
                pairs.append((v, i, j))
    pairs.sort(reverse=True)
    h_used, t_used, rows = set(), set(), []
    for _, i, j in pairs:
        if i in h_used or j in t_used:
            continue
        h_used.add(i)
        t_used.add(j)
        rows.append((truth["label"].iloc[j], hits["label"].iloc[i]))
    rows += [(truth["label"].iloc[j], "(missed)") for j in range(len(truth)) if j not in t_used]
    rows += [("(none)", hits["label"].iloc[i]) for i in range(len(hits)) if i not in h_used]
    df = pd.DataFrame(rows, columns=["truth", "detected"])
    return pd.crosstab(df["truth"], df["detected"])


def box_errors(ev) -> dict:
    """How far matched boxes are from the truth: worst edge and centre offsets (points)."""
    m = ev.matches
    if not len(m):
        return {"max_edge_pt": float("nan"), "median_edge_pt": float("nan"),
                "max_centre_pt": float("nan")}
    edge = m[[f"hit_{c}" for c in ("x0", "y0", "x1", "y1")]].to_numpy() - \
        m[[f"truth_{c}" for c in ("x0", "y0", "x1", "y1")]].to_numpy()
    worst = abs(edge).max(axis=1)
    return {"max_edge_pt": float(worst.max()), "median_edge_pt": float(sorted(worst)[len(worst) // 2]),
            "max_centre_pt": float(m["offset"].max())}


def run_once(doc: Path, patterns: Path, truth_path: Path, dpi: float, workers: int) -> dict:
    from locator.catalog import load_catalog
    from locator.evaluate import evaluate, load_table
    from locator.export.table import hits_frame
    from locator.pipeline import run
    from locator.settings import Settings

    cat = load_catalog(patterns)
    settings = Settings(dpi=dpi, workers=workers, cache=False)
    c0, w0 = cpu_seconds(), time.perf_counter()
    res = run(doc, cat, settings)
    wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
    hits = hits_frame(res.hits)
    truth = load_table(truth_path, role="truth")
    ev = evaluate(hits, truth)
    from locator.pipeline import symbol_set

    symset = symbol_set(cat)
    lv = symset.level(float(dpi))
    return {"catalog": patterns, "wall": wall, "cpu": cpu, "tiles": res.report.tiles,
            "tiles_read": res.report.tiles_read, "hits": hits, "ev": ev,
            "confusion": confusion(hits, truth), "boxes": box_errors(ev),
            "by_size": by_size(ev, truth, hits) if "size_pt" in truth else None,
            "variants": (len(lv.coarse), sum(len(v) for v in lv.fine.values())),
            "warnings": res.report.warnings}


def ocr_seconds(doc: Path, dpi: float, workers: int) -> tuple[float, float, int]:
    """Wall and CPU seconds of a plain Tesseract pass over the page's tiles (no cache)."""
    from locator.pipeline import RunReport, read_document
    from locator.settings import Settings

    report = RunReport(file=str(doc))
    c0, w0 = cpu_seconds(), time.perf_counter()
    read_document(doc, Settings(dpi=dpi, workers=workers, cache=False, source="ocr"),
                  report=report)
    return time.perf_counter() - w0, cpu_seconds() - c0, report.tiles_read


def plain_doc(doc: Path, patterns: Path, dpi: float, workers: int) -> dict:
    """The symbol pass alone on a document without the catalog's symbols."""
    from locator.catalog import load_catalog
    from locator.pipeline import RunReport, read_symbols, symbol_set
    from locator.settings import Settings

    symset = symbol_set(load_catalog(patterns))
    report = RunReport(file=str(doc))
    c0, w0 = cpu_seconds(), time.perf_counter()
    hits = read_symbols(doc, symset, Settings(dpi=dpi, workers=workers, cache=False),
                        report=report, count_tiles=True)
    return {"wall": time.perf_counter() - w0, "cpu": cpu_seconds() - c0,
            "tiles": report.tiles_read, "hits": hits}


def report_text(name: str, r: dict) -> str:
    ev = r["ev"]
    pl = ev.per_label
    n = max(1, r["tiles_read"])
    lines = [
        f"== {name}: {r['catalog']}",
        f"{len(r['hits'])} hits, {ev.n_truth} truth: tp {ev.tp}, fp {ev.fp}, fn {ev.fn} | "
        f"precision {ev.precision:.3f}  recall {ev.recall:.3f}",
        f"time: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU for {r['tiles_read']} tiles "
        f"({r['cpu'] / n:.2f} s CPU per tile); variants: {r['variants'][0]} coarse, "
        f"{r['variants'][1]} fine",
        f"boxes: worst edge {r['boxes']['max_edge_pt']:.2f} pt, median worst edge "
        f"{r['boxes']['median_edge_pt']:.2f} pt, worst centre offset "
        f"{r['boxes']['max_centre_pt']:.2f} pt",
        "", "per label:",
        pl.to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        "", "confusion (rows: truth label, columns: detected label):",
        r["confusion"].to_string(),
    ]
    if r.get("by_size") is not None:
        recall, low = r["by_size"]
        lines += ["", "recall by drawn size (pt):",
                  recall.to_string(float_format=lambda v: f"{v:.2f}"),
                  "", "lowest score of a found symbol, by drawn size (pt):",
                  low.to_string(float_format=lambda v: f"{v:.1f}")]
    for w in r["warnings"]:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def meets_targets(r: dict) -> bool:
    pl = r["ev"].per_label
    return bool(len(pl)) and bool(((pl["precision"] >= TARGET) & (pl["recall"] >= TARGET)).all())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--doc", type=Path, default=ROOT / "samples" / "symbols-a2-scan200.pdf")
    p.add_argument("--truth", type=Path, default=ROOT / "samples" / "symbols-a2.truth.csv")
    p.add_argument("--patterns", type=Path, default=ROOT / "patterns" / "symbols.yaml")
    p.add_argument("--dpi", type=float, default=200)
    p.add_argument("--range", default="0.7,2.2",
                   help="scale range for the second run, LOW,HIGH ('' for none)")
    p.add_argument("--old-default", action="store_true",
                   help="also run with every symbol's scales set to [1.0] (the default "
                        "before issue 20: one scale, the example's own size)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override a constant of locator.symbols for this run (measuring "
                        "alternatives, e.g. COARSE_RATIO=1.15; workers=1 only)")
    p.add_argument("--workers", type=int, default=1,
                   help="processes (default 1: CPU per tile measured without contention)")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for hits CSVs and the confusion tables")
    p.add_argument("--ocr-compare", action="store_true",
                   help="also time a Tesseract pass over the same tiles")
    p.add_argument("--plain-doc", type=Path, default=None,
                   help="also time the symbol pass on this document without symbols "
                        "(every hit there is a false alarm)")
    p.add_argument("--check", action="store_true",
                   help=f"exit 1 unless every label has precision and recall >= {TARGET}")
    a = p.parse_args(argv)
    import locator.symbol_variants as variants
    import locator.symbols as symbols

    for kv in a.set:
        name, value = kv.split("=", 1)
        owner = next((m for m in (symbols, variants) if hasattr(m, name)), None)
        if owner is None:
            p.error(f"--set {kv}: neither locator.symbols nor locator.symbol_variants has {name}")
        setattr(owner, name, type(getattr(owner, name))(value))
        print(f"set {owner.__name__}.{name} = {getattr(owner, name)!r}")

    runs = {"catalog as given": run_once(a.doc, a.patterns, a.truth, a.dpi, a.workers)}
    with tempfile.TemporaryDirectory() as tmp:
        if a.old_default:
            cat = scales_catalog(a.patterns, [1.0], Path(tmp), "one-scale")
            runs["scales [1.0] (the old default)"] = run_once(a.doc, cat, a.truth, a.dpi,
                                                               a.workers)
        if a.range:
            lo, hi = (float(v) for v in a.range.split(","))
            cat = range_catalog(a.patterns, lo, hi, Path(tmp))
            runs[f"scales as a range [{lo:g}, {hi:g}]"] = run_once(a.doc, cat, a.truth, a.dpi,
                                                                    a.workers)
    print(f"document: {a.doc} at {a.dpi:g} dpi; truth: {a.truth}; workers: {a.workers}; "
          f"{os.cpu_count()} cores\n")
    for name, r in runs.items():
        print(report_text(name, r))
        print()
    if a.ocr_compare:
        wall, cpu, tiles = ocr_seconds(a.doc, a.dpi, a.workers)
        print(f"== OCR for comparison: Tesseract on the same page ({tiles} tiles read): "
              f"{wall:.1f} s wall, {cpu:.1f} s CPU")
    if a.plain_doc:
        r = plain_doc(a.plain_doc, a.patterns, a.dpi, a.workers)
        print(f"\n== symbol pass on {a.plain_doc} (no symbols drawn): {r['wall']:.1f} s wall, "
              f"{r['cpu']:.1f} s CPU for {r['tiles']} tiles ({r['cpu'] / max(1, r['tiles']):.2f} s "
              f"CPU per tile); {len(r['hits'])} hits (false alarms)")
        for h in r["hits"][:10]:
            print(f"  {h.pattern_id} {h.score:.1f} page {h.page} ({h.box.x0:.1f}, {h.box.y0:.1f}, "
                  f"{h.box.x1:.1f}, {h.box.y1:.1f})")
        if a.ocr_compare:
            wall, cpu, tiles = ocr_seconds(a.plain_doc, a.dpi, a.workers)
            print(f"== OCR for comparison: Tesseract on {a.plain_doc} ({tiles} tiles read): "
                  f"{wall:.1f} s wall, {cpu:.1f} s CPU")
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        for k, r in enumerate(runs.values()):
            r["hits"].to_csv(a.out / f"hits-{k}.csv", index=False)
            r["confusion"].to_csv(a.out / f"confusion-{k}.csv")
            r["ev"].per_label.to_csv(a.out / f"per-label-{k}.csv", index=False)
        print(f"wrote hits, per-label and confusion tables to {a.out}")
    ok = all(meets_targets(r) for r in runs.values())
    print(f"targets (every label precision and recall >= {TARGET}): "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
