"""Accuracy benchmark: per document, the whole-page baseline vs tiled reading.

One run, one table. For every document with ground truth it runs the
whole-page, no-tiling baseline (one tile the size of the page, upright text
only: what a naive whole-page OCR does) and the tiled pipeline (the default
tile, overlap and directions, at the document's DPI), each in a fresh process
with the OCR cache off (see :mod:`locator.tune`), and scores both with
:func:`locator.evaluate.evaluate`: precision, recall, F1, seconds, peak MiB.

Documents:

* generated A0 drawing (120 codes of 4.5-8 pt, ~12 % rotated 90 degrees) as
  a scan at 200 dpi and at 300 dpi, made on demand with
  ``samples/make_samples.py --size A0 --scan-dpi 200 300`` into
  ``samples/generated/`` (skipped when already there);
* the committed A2 scan ``samples/drawing-a2-scan200.pdf``;
* the real documents, built on demand by :mod:`bench.realdoc_inputs` from the
  folder given with ``--realdocs`` (never copied into the repository):
  image-only PDFs at 200 dpi, truth of the codes >= 4 pt, catalogs.

Per run it keeps the hits (CSV) and the evaluation report (xlsx: misses and
false hits with their reasons) under ``--out``, and writes the table as
Markdown (``accuracy.md``) and JSON (``accuracy.json``) there.

Run (from the repository root)::

    python -m bench.bench_accuracy --realdocs ../shared/realdocs

Targets (issue 3): the generated A0 scan at 200 dpi, recall and precision
>= 0.97; the real schematics at 200 dpi, recall >= 0.90 and precision >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@dataclass
class Doc:
    """One benchmark document: the file, its truth and catalog, the DPI to read it at,
    and the issue's target for it (None: reported, no target)."""

    key: str
    title: str
    pdf: Path
    truth: Path
    catalog: Path
    dpi: float
    target: tuple[float, float] | None = None  # (precision, recall)


def generated_docs(out: Path, *, generate: bool = True) -> list[Doc]:
    """The A0 scans at 200 and 300 dpi (made when missing) and the committed A2 scan."""
    docs = []
    gen = REPO / "samples" / "generated"
    a0 = {dpi: gen / f"drawing-a0-scan{dpi}.pdf" for dpi in (200, 300)}
    script = REPO / "samples" / "make_samples.py"
    missing = [d for d, p in a0.items() if not p.is_file()]
    if missing and generate:
        if not script.is_file():
            print(f"skip the A0 samples: {script} not found", file=sys.stderr)
        else:
            cmd = [sys.executable, str(script), "--size", "A0", "--seed", "0", "--scan-dpi",
                   *map(str, missing), "--out", str(gen)]
            print("$ " + " ".join(cmd), file=sys.stderr)
            subprocess.run(cmd, check=True)
    for dpi, pdf in a0.items():
        if pdf.is_file():
            docs.append(Doc(f"a0-scan{dpi}", f"generated A0 scan {dpi} dpi", pdf,
                            gen / "drawing-a0.truth.csv", gen / "sample-a0.yaml", float(dpi),
                            target=(0.97, 0.97) if dpi == 200 else None))
    a2 = REPO / "samples" / "drawing-a2-scan200.pdf"
    if a2.is_file():
        docs.append(Doc("a2-scan200", "committed A2 scan 200 dpi", a2,
                        REPO / "samples" / "drawing-a2.truth.csv",
                        REPO / "patterns" / "sample-a2.yaml", 200.0))
    else:
        print(f"skip the A2 sample: {a2} not found", file=sys.stderr)
    return docs


def real_docs(realdocs: Path, built: Path, *, dpi: float = 200.0) -> list[Doc]:
    """The real documents as image-only PDFs + truth + catalogs in ``built`` (made
    there by :func:`bench.realdoc_inputs.build` when missing or made at another DPI)."""
    from bench import realdoc_inputs as rd

    summary = built / "summary.json"
    fresh = summary.is_file() and json.loads(summary.read_text()).get("dpi") == dpi
    if not fresh:
        print(f"building the real-document inputs into {built} ...", file=sys.stderr)
        rd.build(realdocs, built, dpi=dpi)
    docs = []
    for r in json.loads(summary.read_text())["documents"]:
        schematic = "schematic" in r["name"]
        docs.append(Doc(r["name"][:2] if r["name"][:2].isdigit() else r["name"],
                        r["name"], Path(r["files"]["pdf"]), Path(r["files"]["truth"]),
                        Path(r["files"]["catalog"]), dpi,
                        target=(0.95, 0.90) if schematic else None))
    return docs


def _kinds(baseline: str) -> list[str]:
    from locator.tune import TILED, WHOLE, WHOLE_ROT

    return {"upright": [WHOLE], "rotations": [WHOLE_ROT], "both": [WHOLE, WHOLE_ROT],
            "none": []}[baseline] + [TILED]


def bench(docs: list[Doc], out: Path, *, tile: int, overlap: int, rotations: tuple[int, ...],
          engine: tuple[str, ...], baseline: str, workers: int, dpi: float | None = None,
          timeout: float | None = None, rotated_regions: bool = True,
          crops: bool = False, keep_ties: bool = False,
          extra: dict | None = None) -> list[dict]:
    """Run the baseline(s) and the tiled configuration on every document; one row each."""
    from locator.evaluate import evaluate, load_table, write_report
    import pandas as pd

    from locator.tune import TILED, WHOLE, Config, run_config, whole_page_tile

    rows = []
    extra_t = tuple(sorted((extra or {}).items()))
    for doc in docs:
        truth = load_table(doc.truth, role="truth")
        d = dpi or doc.dpi
        for kind in _kinds(baseline):
            if kind == TILED:
                cfg = Config(dpi=d, tile=tile, overlap=overlap, engine=engine,
                             rotations=rotations, rotated_regions=rotated_regions,
                             extra=extra_t)
            else:
                cfg = Config(dpi=d, tile=whole_page_tile(doc.pdf, d), overlap=0, engine=engine,
                             rotations=(0,) if kind == WHOLE else rotations, kind=kind,
                             extra=extra_t)
            slug = (f"{doc.key}-{kind.replace(' + ', '-').replace(' ', '')}-{d:g}"
                    f"{'' if rotated_regions or kind != TILED else '-thorough'}"
                    + "".join(f"-{k}{v}" for k, v in extra_t))
            print(f"{doc.title}: {cfg.name} ...", file=sys.stderr, flush=True)
            o = run_config(doc.pdf, doc.catalog, truth, cfg, workers=workers, timeout=timeout,
                           hits_path=out / "hits" / f"{slug}.csv",
                           words_path=out / "words" / f"{slug}.csv")
            ties = 0
            if o.ok and not keep_ties:  # score again with exact cross-pattern ties collapsed
                hits, ties = collapse_ties(load_table(o.hits_file, role="hits"))
                raw = (o.precision, o.fp)
                ev = evaluate(hits, truth)
                o.tp, o.fp, o.fn = ev.tp, ev.fp, ev.fn
                o.precision, o.recall, o.f1, o.evaluation = ev.precision, ev.recall, ev.f1, ev
            row = {"document": doc.title, "key": doc.key, "codes": len(truth), "run": kind,
                   "dpi": d, "tile": cfg.tile, "overlap": cfg.overlap,
                   "rotations": ",".join(map(str, cfg.rotations))
                   + ("" if rotated_regions or kind != TILED else " thorough"),
                   "settings": ", ".join(f"{k}={v}" for k, v in extra_t),
                   "engine": "+".join(engine), "error": o.error}
            if o.ok:
                row.update(tp=o.tp, fp=o.fp, fn=o.fn, precision=o.precision, recall=o.recall,
                           f1=o.f1, seconds=o.seconds, peak_mb=o.peak_mb, tiles=o.tiles,
                           ties=ties, warnings=len(o.warnings),
                           first_warning=o.warnings[0] if o.warnings else "")
                if ties:
                    row.update(precision_raw=raw[0], fp_raw=raw[1])
                write_report(o.evaluation, out / "reports" / f"{slug}.xlsx")
                words = pd.read_csv(out / "words" / f"{slug}.csv", dtype={"text": str},
                                    keep_default_na=False)
                errors = explain(o.evaluation, words, truth)
                errors.to_csv(out / "reports" / f"{slug}.errors.csv", index=False)
                for kind, key in (("miss", "miss_causes"), ("false hit", "false_hit_causes")):
                    row[key] = errors[errors["kind"] == kind]["cause"].value_counts().to_dict()
                if crops:
                    save_crops(doc.pdf, o.evaluation, out / "crops" / slug, dpi=d)
                if doc.target and kind == TILED:
                    tp_, tr = doc.target
                    row["target"] = f"P>={tp_:.2f} R>={tr:.2f}"
                    row["met"] = bool(o.precision >= tp_ and o.recall >= tr)
                print(f"    P {o.precision:.3f} R {o.recall:.3f} F1 {o.f1:.3f} "
                      f"{o.seconds:.1f} s {o.peak_mb:.0f} MiB"
                      + (f", {len(o.warnings)} warning(s): {o.warnings[0]}" if o.warnings else ""),
                      file=sys.stderr, flush=True)
            else:
                print(f"    failed: {o.error}", file=sys.stderr, flush=True)
            rows.append(row)
    return rows


def collapse_ties(hits):
    """Drop a hit when a hit of *another* pattern reports the same code (normalised
    ``matched``) at the same place (IoU >= 0.9) on the same page: the matcher
    reports a true tie for both patterns (a literal and a regex that both match a
    word exactly), which the truth lists once. Returns (hits, number dropped)."""
    from locator.evaluate import normalize_code
    from locator.geometry import Box

    keep, seen = [], {}
    for i, r in enumerate(hits.itertuples(index=False)):
        key = (r.page, normalize_code(r.matched))
        box = Box(r.x0, r.y0, r.x1, r.y1)
        if any(pid != r.pattern_id and box.iou(b) >= 0.9 for pid, b in seen.get(key, [])):
            continue
        seen.setdefault(key, []).append((r.pattern_id, box))
        keep.append(i)
    return hits.iloc[keep].reset_index(drop=True), len(hits) - len(keep)


_JUNK = "_-\u2014\u2013|~=.,;:'\"()[]{}<>\u2018\u2019\u201c\u201d\u00a9\u00ae*"


def _miss_cause(code: str, angle, near: list) -> str:
    """Why a truth row was missed, from the OCR words overlapping its box."""
    from locator.evaluate import normalize_code

    if not near:
        return "nothing read there"
    want = 0 if angle in (None, "") else int(float(angle)) % 360
    same_dir = [w for w in near if int(w.angle) % 360 == want]
    if not same_dir:
        return "read only in another direction"
    c = normalize_code(code)
    texts = [normalize_code(w.text) for w in same_dir]
    if any(c in t and t != c for t in texts):
        if any(t.strip(_JUNK) == c for t in texts):
            return "read with line/punctuation characters glued on"
        return "read glued to other text"
    joined = "".join(texts)
    if c in joined or c.replace(" ", "") in joined.replace(" ", ""):
        return "read split into pieces"
    parts = c.split()
    if len(parts) > 1 and any(p in texts for p in parts):
        others = [normalize_code(w.text) for w in near if int(w.angle) % 360 != want]
        if any(p in others for p in parts) or len(others) > 0:
            return "multi-word code: a part read only in another direction"
        return "multi-word code: a part misread or not read"
    return "misread"


def _false_cause(r, near: list, truth_here: list) -> str:
    """Why a hit is false: the evaluate reason refined by what was read there."""
    from locator.evaluate import normalize_code

    m = normalize_code(r.matched)
    if any(normalize_code(t).strip(".,;:") == m.strip(".,;:") and normalize_code(t) != m
           for t in truth_here):
        return "punctuation variant of the code there (another pattern)"
    if r.reason == "duplicate":
        return "duplicate"
    if int(getattr(r, "angle", 0) or 0) in (90, 270) and not truth_here:
        return "read turned where no code stands"
    if len(m) <= 3 and normalize_code(r.text) != m:
        return "short code matched with a confusion/case change"
    if truth_here and m not in {normalize_code(t) for t in truth_here}:
        return "another code there misread as this one"
    if not truth_here:
        return "a code read where the truth has none"
    return f"other ({r.reason})"


def explain(ev, words, truth):
    """Per miss and false hit: what OCR read there (the merged words whose box
    overlaps the row's box, ``text@angle(conf)``) and a cause (see
    :func:`_miss_cause`, :func:`_false_cause`), as a DataFrame."""
    import pandas as pd

    from locator.geometry import Box

    rows = []
    by_page = {pg: w for pg, w in words.groupby("page")} if len(words) else {}
    truth_by_page = {pg: t for pg, t in truth.groupby("page")}
    for kind, df in (("miss", ev.misses), ("false hit", ev.false_hits)):
        for r in df.itertuples(index=False):
            box = Box(r.x0, r.y0, r.x1, r.y1)
            near = []
            for w in by_page.get(r.page, words.iloc[:0]).itertuples(index=False):
                wb = Box(w.x0, w.y0, w.x1, w.y1)
                if wb.intersection_area(box) > 0.2 * min(wb.area, box.area) > 0:
                    near.append(w)
            extra = {}
            if kind == "miss":
                t = truth.iloc[r.truth_row]
                extra = {"size_pt": t.get("size_pt"), "angle": t.get("angle"),
                         "on_seam": t.get("on_seam")}
                cause = _miss_cause(r.matched, t.get("angle"), near)
            else:
                here = [t.matched for t in truth_by_page.get(r.page, truth.iloc[:0]).itertuples()
                        if Box(t.x0, t.y0, t.x1, t.y1).intersection_area(box) > 0]
                cause = _false_cause(r, near, here)
            rows.append({"kind": kind, "reason": r.reason, "cause": cause, "page": r.page,
                         "matched": r.matched, "text": getattr(r, "text", ""), **extra,
                         "x0": r.x0, "y0": r.y0, "x1": r.x1, "y1": r.y1,
                         "ocr_words_there": " | ".join(f"{w.text}@{w.angle}({w.conf:.0f})"
                                                       for w in near) or "(nothing read)"})
    return pd.DataFrame(rows, columns=["kind", "reason", "cause", "page", "matched", "text",
                                       "size_pt", "angle", "on_seam", "x0", "y0", "x1", "y1",
                                       "ocr_words_there"])


def save_crops(pdf: Path, ev, folder: Path, *, dpi: float, margin: float = 12.0,
               limit: int = 60) -> int:
    """PNG crops (at ``dpi``, ``margin`` pt around the box) of the first ``limit``
    misses and false hits of evaluation ``ev``, named ``miss-REASON-CODE-p1-X-Y.png``
    and ``false-REASON-CODE-read-TEXT-...png``, for looking at what went wrong."""
    import re

    import pymupdf

    def safe(s: str) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", str(s))[:40]

    folder.mkdir(parents=True, exist_ok=True)
    n = 0
    with pymupdf.open(pdf) as doc:
        for kind, df in (("miss", ev.misses), ("false", ev.false_hits)):
            for r in df.head(limit).itertuples(index=False):
                page = doc[int(r.page) - 1]
                # boxes are unrotated points; the clip of get_pixmap is too
                clip = pymupdf.Rect(r.x0 - margin, r.y0 - margin, r.x1 + margin, r.y1 + margin)
                m = pymupdf.Matrix(dpi / 72, dpi / 72)
                rot = page.rotation
                page.set_rotation(0)
                pix = page.get_pixmap(matrix=m, clip=clip, colorspace=pymupdf.csGRAY)
                page.set_rotation(rot)
                read = f"-read-{safe(r.text)}" if kind == "false" and hasattr(r, "text") else ""
                name = (f"{kind}-{r.reason}-{safe(r.matched)}{read}-p{int(r.page)}-"
                        f"{int(r.x0)}-{int(r.y0)}.png")
                pix.save(str(folder / name))
                n += 1
    return n


def markdown(rows: list[dict]) -> str:
    """The table as Markdown: one line per (document, run), then notes on ties."""
    head = ("| document | codes | run | dpi | tile / overlap | rotations | tp | fp | fn | "
            "P | R | F1 | seconds | peak MiB | target |\n"
            "|---|---:|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
    lines, notes = [], []
    for r in rows:
        tile = "whole page" if r["run"] != "tiled" else f"{r['tile']} / {r['overlap']}"
        run = r["run"] + (f" ({r['settings']})" if r.get("settings") else "")
        if r.get("error"):
            lines.append(f"| {r['document']} | {r['codes']} | {run} | {r['dpi']:g} | {tile} "
                         f"| {r['rotations']} | failed: {r['error']} |||||||||")
            continue
        target = ""
        if "target" in r:
            target = f"{r['target']}: {'met' if r['met'] else '**missed**'}"
        lines.append(f"| {r['document']} | {r['codes']} | {run} | {r['dpi']:g} | {tile} | "
                     f"{r['rotations']} | {r['tp']} | {r['fp']} | {r['fn']} | "
                     f"{r['precision']:.3f} | {r['recall']:.3f} | "
                     f"{r['f1']:.3f} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {target} |")
        if r.get("warnings"):
            notes.append(f"- {r['document']}, {r['run']}: **{r['warnings']} warning(s)** -- words "
                         f"missing where a tile failed; the first: {r['first_warning']}")
        if r.get("ties"):
            notes.append(f"- {r['document']}, {r['run']}: {r['ties']} hit(s) dropped as exact "
                         f"ties of another pattern at the same place (P with them counted as "
                         f"false hits: {r['precision_raw']:.3f})")
    causes = []
    for r in rows:
        if r.get("error") or r["run"] != "tiled":
            continue
        parts = []
        for key, what in (("miss_causes", "misses"), ("false_hit_causes", "false hits")):
            if r.get(key):
                parts.append(f"{what}: " + ", ".join(f"{n} {c}" for c, n in r[key].items()))
        if parts:
            causes.append(f"- {r['document']} (tiled): " + "; ".join(parts))
    text = head + "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(notes) + "\n"
    if causes:
        text += "\nCauses of the tiled runs' errors (from the OCR words at each box):\n\n"
        text += "\n".join(causes) + "\n"
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_accuracy",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--realdocs", type=Path, default=None,
                    help="the realdocs folder (holds gt/); without it only the samples run")
    ap.add_argument("--realdocs-out", type=Path, default=REPO / "bench-out" / "realdocs",
                    help="where bench.realdoc_inputs writes (or has written) its inputs")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out" / "accuracy")
    ap.add_argument("--only", default=None,
                    help="comma-separated document keys (a0-scan200, a0-scan300, a2-scan200, "
                         "02, 03, 05, 07)")
    ap.add_argument("--no-generate", action="store_true", help="do not make missing A0 samples")
    ap.add_argument("--dpi", type=float, default=None,
                    help="read every document at this DPI (default: its scan's DPI)")
    ap.add_argument("--tile", type=int, default=None, help="tile px (default: Settings')")
    ap.add_argument("--overlap", type=int, default=None, help="overlap px (default: Settings')")
    ap.add_argument("--rotations", default=None, help="directions (default: Settings')")
    ap.add_argument("--engine", default="tesseract")
    ap.add_argument("--thorough-rotations", action="store_true",
                    help="read whole tiles turned for vertical text (not only candidate regions)")
    ap.add_argument("--baseline", default="upright", choices=["upright", "rotations", "both", "none"])
    ap.add_argument("--workers", type=int, default=0, help="OCR processes per run (0: per core)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per run")
    ap.add_argument("--set", dest="sets", action="append", default=[],
                    metavar="NAME=VALUE", help="fix another setting for every run (repeatable), "
                                               "e.g. --set glyph_px=40 (see locate tune --set)")
    ap.add_argument("--keep-ties", action="store_true",
                    help="score the hits as they are, a code reported by two patterns at one "
                         "place counting as a false hit (default: collapse such ties)")
    ap.add_argument("--crops", action="store_true",
                    help="save PNG crops of misses and false hits under OUT/crops/")
    args = ap.parse_args(argv)

    from locator.settings import Settings
    from locator.tune import parse_sets

    d = Settings()
    tile = args.tile or d.tile
    overlap = d.overlap if args.overlap is None else args.overlap
    rotations = (tuple(int(r) for r in args.rotations.split(",")) if args.rotations
                 else d.rotations)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    docs = generated_docs(out, generate=not args.no_generate)
    if args.realdocs is not None:
        docs += real_docs(args.realdocs, args.realdocs_out)
    if args.only:
        keys = set(args.only.split(","))
        docs = [doc for doc in docs if doc.key in keys]
    if not docs:
        print("no documents to run", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = bench(docs, out, tile=tile, overlap=overlap, rotations=rotations,
                 engine=tuple(args.engine.split(",")), baseline=args.baseline,
                 workers=args.workers, dpi=args.dpi, timeout=args.timeout,
                 rotated_regions=not args.thorough_rotations, crops=args.crops,
                 keep_ties=args.keep_ties, extra=parse_sets(args.sets))
    md = markdown(rows)
    (out / "accuracy.md").write_text(md, encoding="utf-8")
    (out / "accuracy.json").write_text(json.dumps(
        {"command": "python -m bench.bench_accuracy " + " ".join(argv or sys.argv[1:]),
         "rows": rows, "seconds": time.perf_counter() - t0}, indent=1, default=str),
        encoding="utf-8")
    print(md)
    print(f"hits, reports (xlsx: misses and false hits with reasons) and the table: {out}/",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
