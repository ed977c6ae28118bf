"""Text layer against OCR on born-digital documents (issue 6): codes found, time, boxes.

    python -m bench.bench_sources --realdocs ../shared/realdocs --out bench-out/sources

For every born-digital PDF of the realdocs folder that has ground truth
(``gt/NAME.words.json``: the text layer's words), the truth CSV and catalog are
made as :mod:`bench.realdoc_inputs` makes them (codes: words with a letter and a
digit, at least 4 pt tall), then the document is run twice through
:func:`locator.pipeline.run`:

* ``--source auto`` (no OCR cache: any OCR it decides on is timed), run
  ``--repeat`` + 1 times in this process; the best of the warm runs is the one
  reported (imports excluded; the first run's time is reported too), and, apart,
  the time of reading and judging the text layer alone (the source plan), and
  the best time of ``--source text`` (the text layer alone, no OCR: what
  auto's OCR decisions add);
* ``--source ocr`` at ``--ocr-dpi`` (through an OCR cache in ``OUT/cache``, so a
  rerun reuses the pages; its time is reported only when it was really read).

All documents are timed before any is read with OCR (a long OCR run in the
same process slows the timings after it). Both are scored against the truth
(:func:`locator.evaluate.evaluate`); the
report says which truth rows each finds and the other misses, seconds per page,
and how far the text layer's hit boxes are from the truth's (the truth *is*
the text layer, so this should be 0). Last, a generated page whose text layer
covers only part of it (vector codes plus an embedded scan of other codes) is
run with ``--source auto``: every code of both parts must be found.

Writes ``OUT/results.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

PARTIAL_VECTOR = [("FIC-101", 60, 80, 8), ("PT-2034", 300, 90, 6), ("LT-3307", 520, 120, 10),
                  ("TV-4410", 100, 300, 7), ("PSV-5521", 400, 330, 6), ("AB-12345-C", 150, 500, 9)]
PARTIAL_SCANNED = [("XV-7001", 20, 30, 9), ("HS-7102", 140, 60, 8), ("FT-7203", 30, 110, 10),
                   ("TIC-7304", 160, 150, 8), ("ZZ-7405-Q", 40, 190, 9)]


def truth_and_catalog(realdocs: Path, gt_path: Path, out: Path):
    """Truth rows (DataFrame) and catalog path for one born-digital document, or None."""
    from bench.realdoc_inputs import assign_patterns, pdf_truth, write_catalog

    gt = json.loads(gt_path.read_text(encoding="utf-8"))
    if gt.get("units") == "image_pixels":
        return None
    src = realdocs / gt["source_file"]
    truth, _ = pdf_truth(src, gt)
    truth, codes, _ = assign_patterns(truth)
    cat = out / f"{src.stem}.catalog.yaml"
    write_catalog(codes, cat)
    truth.to_csv(out / f"{src.stem}.truth.csv", index=False)
    return src, truth, cat


def _score(result, truth):
    from locator.evaluate import evaluate
    from locator.export.table import hits_frame

    hits = hits_frame(result.hits)
    ev = evaluate(hits, truth)
    found = set(ev.matches["truth_row"]) if len(ev.matches) else set()
    dev = []
    for m in ev.matches.itertuples():
        if hits.iloc[m.hit_row]["source"] == "text":
            dev.append(max(abs(m.hit_x0 - m.truth_x0), abs(m.hit_y0 - m.truth_y0),
                           abs(m.hit_x1 - m.truth_x1), abs(m.hit_y1 - m.truth_y1)))
    sources = hits["source"].value_counts().to_dict()
    return ev, found, dev, sources


def bench_document(src: Path, truth, cat: Path, *, workers: int, repeat: int = 3) -> dict:
    """The ``--source auto`` and ``--source text`` figures of one document."""
    from locator.catalog import load_catalog
    from locator.documents import Document
    from locator.pipeline import run
    from locator.settings import Settings

    from locator.pipeline import RunReport, plan_sources

    catalog = load_catalog(cat)
    auto = Settings(source="auto", cache=False, workers=workers)
    plan_secs = []
    for _ in range(repeat):
        with Document(src) as doc:
            pages = doc.page_count
            t = time.perf_counter()
            plan_sources(doc, list(range(1, pages + 1)), auto, RunReport(file=str(src)))
            plan_secs.append(time.perf_counter() - t)
    t = time.perf_counter()
    run(src, catalog, auto)
    cold = time.perf_counter() - t
    warm = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        res_auto = run(src, catalog, auto)
        warm = min(warm, time.perf_counter() - t)
    # The same document with --source text: the text layer alone, no OCR.
    # Beside auto's time it shows what auto's OCR decisions cost.
    text_only = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        res_text = run(src, catalog, Settings(source="text", cache=False, workers=workers))
        text_only = min(text_only, time.perf_counter() - t)
    ev_a, found_a, dev, src_a = _score(res_auto, truth)
    row = {"document": src.name, "pages": pages, "truth_rows": len(truth),
           "auto": {"found": ev_a.tp, "false_hits": ev_a.fp, "recall": round(ev_a.recall, 4),
                    "precision": round(ev_a.precision, 4), "seconds": round(warm, 3),
                    "seconds_per_page": round(warm / pages, 3),
                    "first_run_seconds": round(cold, 3), "hit_sources": src_a,
                    "text_layer_seconds_per_page": round(min(plan_secs) / pages, 3),
                    "source_text_seconds_per_page": round(text_only / pages, 3),
                    "source_text_found": _score(res_text, truth)[0].tp,
                    "tiles_ocrd": res_auto.report.tiles_read,
                    "page_sources": res_auto.report.sources,
                    "text_box_max_dev_pt": round(max(dev), 4) if dev else None,
                    "text_boxes_over_0.5pt": sum(d > 0.5 for d in dev)},
           "_found": found_a}
    return row


def add_ocr(row: dict, src: Path, truth, cat: Path, out: Path, *, ocr_dpi: float,
            workers: int) -> None:
    """The ``--source ocr`` figures of one document, beside its ``auto`` ones."""
    from locator.catalog import load_catalog
    from locator.pipeline import run
    from locator.settings import Settings

    ocr = Settings(source="ocr", dpi=ocr_dpi, workers=workers, cache=True,
                   cache_dir=str(out / "cache"))
    t = time.perf_counter()
    res_ocr = run(src, load_catalog(cat), ocr)
    secs = time.perf_counter() - t
    ev_o, found_o, _, _ = _score(res_ocr, truth)
    pages = row["pages"]
    row["ocr"] = {"dpi": ocr_dpi, "found": ev_o.tp, "false_hits": ev_o.fp,
                  "recall": round(ev_o.recall, 4), "precision": round(ev_o.precision, 4),
                  "seconds": round(secs, 1) if res_ocr.report.pages_cached < pages else None,
                  "pages_from_cache": res_ocr.report.pages_cached}
    found_a = row["_found"]
    row["found_by_ocr_not_auto"] = [truth.iloc[i]["matched"] for i in sorted(found_o - found_a)]
    row["found_by_auto_not_ocr"] = len(found_a - found_o)


def make_partial_page(path: Path) -> dict:
    """An A3-landscape page: vector codes, and a 200-dpi scan of other codes embedded
    at (700, 420)-(960, 660) pt. Returns {code: (part, box)} with boxes in points."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=1191, height=842)
    page.draw_rect(pymupdf.Rect(20, 20, 1171, 822), color=(0, 0, 0), width=1)
    for text, x, y, size in PARTIAL_VECTOR:
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
    truth = {}
    for text, *_ in PARTIAL_VECTOR:
        (r,) = page.search_for(text)
        truth[text] = ("vector", tuple(r))
    src = pymupdf.open()
    w, h = 260, 240
    sp = src.new_page(width=w, height=h)
    for text, x, y, size in PARTIAL_SCANNED:
        sp.insert_text((x, y), text, fontsize=size, fontname="helv")
    rect = pymupdf.Rect(700, 420, 700 + w, 420 + h)
    for text, *_ in PARTIAL_SCANNED:
        (r,) = sp.search_for(text)
        truth[text] = ("scan", (r.x0 + rect.x0, r.y0 + rect.y0, r.x1 + rect.x0, r.y1 + rect.y0))
    pix = sp.get_pixmap(dpi=200, colorspace=pymupdf.csGRAY, alpha=False)
    page.insert_image(rect, pixmap=pix)
    doc.save(path)
    return truth


def bench_partial(out: Path, workers: int) -> dict:
    import yaml

    from locator.pipeline import run
    from locator.settings import Settings

    pdf = out / "partial-text-layer.pdf"
    truth = make_partial_page(pdf)
    cat = out / "partial.catalog.yaml"
    cat.write_text(yaml.safe_dump({"patterns": [{"id": c, "text": c} for c in truth]}))
    t = time.perf_counter()
    res = run(pdf, cat, Settings(source="auto", cache=False, workers=workers))
    secs = time.perf_counter() - t
    by = {h.matched: h for h in res.hits}
    parts = {}
    for code, (part, box) in truth.items():
        p = parts.setdefault(part, {"codes": 0, "found": 0, "sources": set(), "max_centre_dev": 0.0})
        p["codes"] += 1
        if code in by:
            h = by[code]
            p["found"] += 1
            p["sources"].add(h.source)
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            p["max_centre_dev"] = round(max(p["max_centre_dev"],
                                            abs(h.box.center[0] - cx), abs(h.box.center[1] - cy)), 2)
    for p in parts.values():
        p["sources"] = sorted(p["sources"])
    return {"document": pdf.name, "seconds": round(secs, 2), "page_sources": res.report.sources,
            "tiles_read": res.report.tiles_read, "parts": parts,
            "missing": sorted(set(truth) - set(by))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_sources",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdocs", type=Path, required=True, help="the realdocs folder (holds gt/)")
    ap.add_argument("--out", type=Path, default=Path("bench-out/sources"))
    ap.add_argument("--ocr-dpi", type=float, default=300.0)
    ap.add_argument("--workers", type=int, default=1, help="OCR processes (default 1)")
    ap.add_argument("--skip-ocr", action="store_true", help="only --source auto")
    ap.add_argument("--only", default=None, help="substring of the documents to run")
    ap.add_argument("--repeat", type=int, default=3, help="warm --source auto runs (best kept)")
    args = ap.parse_args(argv)
    if not (args.realdocs / "gt").is_dir():
        print(f"error: {args.realdocs}/gt not found", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    from locator.pdf import import_pymupdf

    import_pymupdf()
    docs = []
    for gt_path in sorted((args.realdocs / "gt").glob("*.words.json")):
        if args.only and args.only not in gt_path.name:
            continue
        made = truth_and_catalog(args.realdocs, gt_path, args.out)
        if made is not None:
            docs.append(made)
    # Every document's auto and text timings first, then the OCR comparisons:
    # a long OCR run leaves the process's memory and MuPDF's caches full of that
    # document, which slowed the next document's timed runs by about 10 %.
    rows = [bench_document(src, truth, cat, workers=args.workers, repeat=args.repeat)
            for src, truth, cat in docs]
    for row, (src, truth, cat) in zip(rows, docs):
        if not args.skip_ocr:
            add_ocr(row, src, truth, cat, args.out, ocr_dpi=args.ocr_dpi, workers=args.workers)
        row.pop("_found")
        a = row["auto"]
        o = row.get("ocr", {})
        print(f"{row['document']:45} pages {row['pages']}  truth {row['truth_rows']:4d}  "
              f"auto {a['found']:4d} found, {a['false_hits']} false, "
              f"{a['seconds_per_page']:.3f} s/page (text layer {a['text_layer_seconds_per_page']:.3f}"
              f", {a['tiles_ocrd']} tiles OCR'd; first run {a['first_run_seconds']:.2f} s; "
              f"--source text {a['source_text_seconds_per_page']:.3f} s/page, "
              f"{a['source_text_found']} found), "
              f"text boxes max dev {a['text_box_max_dev_pt']} pt  |  "
              f"ocr {o.get('found', '-')} found, {o.get('false_hits', '-')} false, "
              f"{o.get('seconds', '-')} s; found by ocr not auto: "
              f"{row.get('found_by_ocr_not_auto', '-')}", flush=True)
    partial = bench_partial(args.out, args.workers)
    print(f"{partial['document']}: {partial['parts']} missing {partial['missing']} "
          f"({partial['seconds']} s, {partial['page_sources']})")
    (args.out / "results.json").write_text(
        json.dumps({"documents": rows, "partial": partial,
                    "command": "python -m bench.bench_sources " + " ".join(argv or sys.argv[1:])},
                   indent=2, default=str), encoding="utf-8")
    print(f"written to {args.out}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
