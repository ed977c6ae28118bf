"""P&ID reading benchmark (issue 20): detectors, engines and colour against two baselines.

Per born-digital document (the realdocs P&IDs 09, 10, 11, 15, the KiCad
schematics 02, 03, and the generated A0 ``samples/drawing-a0.pdf``), per
rasterisation (``grey200``, ``colour200``, ``grey150``: an image-only copy of
the page, so the tool has to read it), every run is made in one fixed order,
each in a fresh process with the cache off:

1. ``naive psm11``: whole-page Tesseract ``image_to_data`` with ``--psm 11``
   (sparse text: the fair baseline for drawings), its words matched by the
   locator's matcher; one process (Tesseract's own threads as installed);
2. ``today``: the pipeline as on main before this work (CC regions, grey
   render, no faint-ink darkening): with ``--today-repo`` that checkout's own
   code and defaults, else this code with colour and darkening off;
3. the detectors ``cc``, ``db``, ``cc+db`` with Tesseract, colour rendering
   (the darkest channel) and faint-ink darkening;
4. the engines with the default detector: ``rapidocr`` (the PP-OCR
   recogniser) and ``tesseract+rapidocr`` (``--engine tesseract,rapidocr``, the ensemble: regions found once,
   the one mosaic read by each engine).

The pipeline runs use ``--workers`` processes (2 by default: the speed target
is stated for 2). The run equal to :class:`locator.settings.Settings`'
defaults is marked ``(default)`` in the table.

Catalog: the document's codes (a letter and a digit, >= 4 pt tall; see
:mod:`bench.realdoc_inputs`; the A0's from its truth CSV) that occur once on
the sheet, counting copies of any size. A code is *found* when a hit with
that ``matched`` has its centre within 2 pt of the code's box; a hit is
*correct* when its centre lies within 2 pt of any occurrence of its code, of
any size. Reported: recall, precision, seconds (wall, the child
process from start to its last hit) and peak memory (the summed RSS of the
child and its workers, sampled every 50 ms).

A missed code is given a cause from what the run read at its place (the
words whose box overlaps the code's): ``nothing read`` (no word there: the
text was never looked at, or the engine saw nothing), ``misread`` (words
there, none close to the code), ``read, not matched`` (a word there that
normalises to the code, or is one edit from it, but no hit). ``--crops DIR``
writes a PNG of each missed code's place (the render the run read, 200 dpi
grey or colour) for the run named by ``--crops-run``.

Run (from the repository root; the machine is shared, so nice it)::

    nice -n 10 .venv/bin/python -m bench.bench_pid --realdocs ../shared/realdocs \\
        --docs 09,10,11,15 --renders grey200,colour200 --out bench-out/pid

It prints a Markdown table and writes ``pid.json`` and ``pid.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RENDERS = {"grey200": (200.0, False), "colour200": (200.0, True), "grey150": (150.0, False)}
#: The runs, in the order they are made for every input: Settings keywords
#: (``darken`` False turns the faint-ink darkening off: today's reading).
RUNS: dict[str, dict | None] = {
    "naive psm11": None,
    "today": {"detector": "cc", "colour": False, "darken": False},
    "cc": {"detector": "cc"},
    "db": {"detector": "db"},
    "cc+db": {"detector": "cc+db"},
    "rapidocr": {"engine": "rapidocr"},
    "tesseract+rapidocr": {"engine": "tesseract,rapidocr"},
}
NEAR_PT = 2.0
#: The generated A0 (born-digital) and its truth, in the repository.
A0 = ("samples/drawing-a0.pdf", "samples/drawing-a0.truth.csv")


def default_run() -> str | None:
    """The name of the run that is the default setup (Settings() as it is)."""
    from locator.settings import Settings

    d = Settings()
    for name, opts in RUNS.items():
        if opts is None or "darken" in opts:
            continue
        s = Settings.build(**opts)
        if (s.detector, s.engine, s.colour) == (d.detector, d.engine, d.colour):
            return name
    return None


def inputs(realdocs: Path, key: str, out: Path):
    """(source PDF, every code occurrence of any size, catalog path, catalog codes)."""
    import pandas as pd

    from bench.realdoc_inputs import assign_patterns, pdf_truth, write_catalog

    from locator.evaluate import normalize_code

    if key == "A0":
        src = REPO / A0[0]
        truth = every = pd.read_csv(REPO / A0[1])
    else:
        src = next(realdocs.glob(f"{key}_*.pdf"))
        gt = json.loads((realdocs / "gt" / f"{src.stem}.words.json").read_text(encoding="utf-8"))
        truth, _ = pdf_truth(src, gt)
        # Every occurrence, any size: a code is "once" only if it is nowhere
        # else on the sheet (a 2 pt pin name is still that text), and a hit on
        # a small copy is a correct read, not a false hit.
        every, _ = pdf_truth(src, gt, min_height=0.0)
    truth, _codes, _ = assign_patterns(truth)
    counts = every["matched"].map(normalize_code).value_counts()
    once = [c for c in dict.fromkeys(truth["pattern_id"]) if counts.get(normalize_code(c)) == 1]
    cat = out / f"{key}.catalog.yaml"
    write_catalog(once, cat)
    every = every.assign(pattern_id=every["matched"])
    return src, every, cat, once


def _centre_on(h: dict, boxes) -> bool:
    cx, cy = (h["x0"] + h["x1"]) / 2, (h["y0"] + h["y1"]) / 2
    return any(p == h["page"] and x0 - NEAR_PT <= cx <= x1 + NEAR_PT
               and y0 - NEAR_PT <= cy <= y1 + NEAR_PT for p, x0, y0, x1, y1 in boxes)


def score(hits: list[dict], truth, catalog_codes: list[str]) -> dict:
    """Recall over the catalog codes and precision over the hits (see the module doc)."""
    from locator.evaluate import normalize_code

    occ: dict[str, list] = {}
    for r in truth.itertuples():
        occ.setdefault(normalize_code(r.pattern_id), []).append(
            (r.page, r.x0, r.y0, r.x1, r.y1))
    found, correct, wrong = set(), 0, []
    for h in hits:
        code = normalize_code(h["matched"])
        if _centre_on(h, occ.get(code, [])):
            correct += 1
            found.add(code)
        else:
            wrong.append(f"{h['matched']}<-{h['text']}")
    cat = {normalize_code(c) for c in catalog_codes}
    tp = len(found & cat)
    return {"codes": len(cat), "found": tp, "hits": len(hits), "correct": correct,
            "recall": tp / len(cat) if cat else 1.0,
            "precision": correct / len(hits) if hits else 1.0,
            "missed": sorted(cat - found), "wrong": wrong}


def miss_causes(missed: list[str], truth, words: list[dict]) -> list[dict]:
    """Each missed code with what was read at its place and the cause it points to."""
    from rapidfuzz.distance import Levenshtein

    from locator.evaluate import normalize_code

    by_code = {normalize_code(r.pattern_id): r for r in truth.itertuples()}
    out = []
    for code in missed:
        r = by_code[code]
        there = [w for w in words if w["page"] == r.page and w["x0"] < r.x1 + 1
                 and w["x1"] > r.x0 - 1 and w["y0"] < r.y1 + 1 and w["y1"] > r.y0 - 1]
        texts = [w["text"] for w in there]
        joined = normalize_code("".join(texts))
        close = any(Levenshtein.distance(normalize_code(t), code) <= 1 for t in texts) \
            or code in joined
        cause = "nothing read" if not there else ("read, not matched" if close else "misread")
        out.append({"code": r.pattern_id, "page": int(r.page), "box": [r.x0, r.y0, r.x1, r.y1],
                    "angle": int(r.angle), "size_pt": float(r.size_pt), "read": texts,
                    "cause": cause})
    return out


# ------------------------------------------------------------------ child process

def _child(spec: dict) -> dict:
    """One run in this (fresh) process: hits and words as dicts in page points."""
    t0 = time.perf_counter()
    if spec["run"] is None:
        hits, words = _naive(spec)
    else:
        opts = dict(spec["run"])
        if spec.get("repo"):  # today's code from another checkout: its own defaults
            sys.path.insert(0, spec["repo"])
            opts = {}
        elif not opts.pop("darken", True):  # today's reading: no faint-ink darkening
            import locator.detect as detect

            detect.FAINT_DARKEST = 256   # every mark then holds "dark" ink: left alone
        from locator.pipeline import run
        from locator.settings import Settings

        s = Settings.build(dpi=spec["dpi"], workers=spec["workers"], cache=False,
                           source="ocr", **opts)
        res = run(spec["pdf"], spec["catalog"], s)
        hits = [_hit(h) for h in res.hits]
        words = [{"text": w.text, "page": w.page, "x0": w.box.x0, "y0": w.box.y0,
                  "x1": w.box.x1, "y1": w.box.y1} for w in res.words]
        if spec.get("save_words"):
            save_words(res.words, Path(spec["save_words"]))
    return {"hits": hits, "words": words, "seconds": time.perf_counter() - t0}


def save_words(words, path: Path) -> None:
    """Every word of a run, every field, as JSON: ``--rematch`` matches them again."""
    from dataclasses import asdict

    rows = []
    for w in words:
        d = asdict(w)
        d["box"] = [w.box.x0, w.box.y0, w.box.x1, w.box.y1]
        d["parts"] = list(w.parts)
        rows.append(d)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows), encoding="utf-8")


def load_words(path: Path) -> list:
    from locator.geometry import Box
    from locator.model import Word

    return [Word(**{**d, "box": Box(*d["box"]), "parts": tuple(d["parts"])})
            for d in json.loads(path.read_text(encoding="utf-8"))]


def rematch(a) -> int:
    """The saved words of earlier runs (``--save-words``) matched by this code and
    scored again: the matcher's share of a change, without reading the pages."""
    from locator.catalog import load_catalog
    from locator.pipeline import RunReport, match_words

    rows = []
    for key in a.docs.split(","):
        _src, truth, cat, codes = inputs(a.realdocs, key, a.out)
        catalog = load_catalog(cat)
        for f in sorted(a.rematch.glob(f"{key}-*.words.json")):
            _k, rname, run = f.name[:-len(".words.json")].split("-", 2)
            words = load_words(f)
            hits = [_hit(h) for h in match_words(words, catalog, RunReport(file=str(f)))]
            row: dict = {"doc": key, "render": rname, "run": run.replace("_", " ")}
            row.update(score(hits, truth, codes), seconds=0.0, peak_mb=0.0)
            w = [{"text": x.text, "page": x.page, "x0": x.box.x0, "y0": x.box.y0,
                  "x1": x.box.x1, "y1": x.box.y1} for x in words]
            row["causes"] = miss_causes(row["missed"], truth, w)
            rows.append(row)
            print(f"{key} {rname} {row['run']}: R {row['recall']:.3f} P {row['precision']:.3f}"
                  f" ({row['correct']}/{row['hits']} hits)", file=sys.stderr, flush=True)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "rematch.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(markdown(rows, default_run()))
    return 0


def _hit(h) -> dict:
    return {"matched": h.matched, "text": h.text, "page": h.page, "x0": h.box.x0,
            "y0": h.box.y0, "x1": h.box.x1, "y1": h.box.y1}


def _naive(spec: dict) -> tuple[list[dict], list[dict]]:
    """Whole-page Tesseract, ``--psm 11``, words matched by the locator's matcher."""
    import numpy as np
    import pymupdf
    import pytesseract

    from locator.catalog import load_catalog
    from locator.geometry import Box
    from locator.model import Word
    from locator.pipeline import RunReport, match_words

    dpi, k = spec["dpi"], 72.0 / spec["dpi"]
    words = []
    with pymupdf.open(spec["pdf"]) as doc:
        for pno, page in enumerate(doc, 1):
            pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72),
                                  colorspace=pymupdf.csGRAY, alpha=False)
            img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)
            img = img[:, :pix.width]
            d = pytesseract.image_to_data(img, config=f"--psm 11 --dpi {int(dpi)}",
                                          output_type=pytesseract.Output.DICT)
            for text, conf, x, y, w, h in zip(d["text"], d["conf"], d["left"], d["top"],
                                              d["width"], d["height"]):
                if text.strip() and float(conf) >= 0:
                    words.append(Word(text=text.strip(), conf=float(conf),
                                      box=Box(x * k, y * k, (x + w) * k, (y + h) * k),
                                      page=pno, engine="tesseract"))
    hits = match_words(words, load_catalog(spec["catalog"]), RunReport(file=spec["pdf"]))
    return [_hit(h) for h in hits], [
        {"text": w.text, "page": w.page, "x0": w.box.x0, "y0": w.box.y0, "x1": w.box.x1,
         "y1": w.box.y1} for w in words]


def run_child(spec: dict, timeout: float) -> dict:
    """``spec`` run by a fresh ``python -m bench.bench_pid --child`` process; its
    peak memory is the summed RSS of it and its workers."""
    import tempfile

    from locator.memory import TreeSampler

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "bench.bench_pid", "--child",
                              json.dumps(spec)], cwd=REPO, stdout=out, stderr=err, text=True)
        sampler = TreeSampler(p.pid)
        sampler.start()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            sampler.stop()
            return {"error": f"over {timeout:g} s"}
        peak = sampler.stop() / 1024
        out.seek(0)
        err.seek(0)
        if rc:
            lines = err.read().strip().splitlines()
            return {"error": lines[-1] if lines else f"rc {rc}"}
        o = json.loads(out.read().strip().splitlines()[-1])
    o["peak_mb"] = peak
    return o


def markdown(rows: list[dict], default: str | None) -> str:
    lines = ["| document | render | run | codes | recall | precision | seconds | "
             "x naive | peak MiB |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    naive: dict[tuple, float] = {}
    for r in rows:
        name = r["run"] + (" (default)" if r["run"] == default else "")
        if "error" in r:
            lines.append(f"| {r['doc']} | {r['render']} | {name} | | failed: {r['error']} "
                         f"| | | | |")
            continue
        if r["run"] == "naive psm11":
            naive[(r["doc"], r["render"])] = r["seconds"]
        base = naive.get((r["doc"], r["render"]))
        ratio = f"{r['seconds'] / base:.2f}" if base else ""
        lines.append(f"| {r['doc']} | {r['render']} | {name} | {r['codes']} "
                     f"| {r['recall']:.3f} | {r['precision']:.3f} | {r['seconds']:.1f} "
                     f"| {ratio} | {r['peak_mb']:.0f} |")
    return "\n".join(lines)


def save_crops(rows: list[dict], run: str, out: Path, pdfs: dict) -> list[str]:
    """PNG crops of the missed codes' places of ``run`` (the image the run read)."""
    import pymupdf

    written = []
    out.mkdir(parents=True, exist_ok=True)
    for r in rows:
        if r.get("run") != run or "causes" not in r:
            continue
        pdf = pdfs[(r["doc"], r["render"])]
        with pymupdf.open(pdf) as doc:
            for m in r["causes"]:
                x0, y0, x1, y1 = m["box"]
                pad = 6.0
                clip = pymupdf.Rect(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
                page = doc[m["page"] - 1]
                pix = page.get_pixmap(matrix=pymupdf.Matrix(RENDERS[r["render"]][0] / 72,
                                                            RENDERS[r["render"]][0] / 72),
                                      clip=clip * page.rotation_matrix)
                safe = "".join(c if c.isalnum() or c in "-." else "_" for c in m["code"])
                name = f"{r['doc']}-{r['render']}-{safe}.png"
                pix.save(out / name)
                m["crop"] = name
                written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_pid",
                                 description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--realdocs", type=Path, default=REPO.parent / "shared" / "realdocs")
    ap.add_argument("--docs", default="09,10,11,15",
                    help="document numbers (and A0), comma-separated")
    ap.add_argument("--renders", default="grey200,colour200", help=", ".join(RENDERS))
    ap.add_argument("--runs", default=",".join(RUNS), help="runs, comma-separated: "
                    + ", ".join(RUNS) + "; 'default' is the default setup's run")
    ap.add_argument("--workers", type=int, default=2, help="OCR processes of pipeline runs")
    ap.add_argument("--out", type=Path, default=REPO / "bench-out" / "pid")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--today-repo", type=Path,
                    help="a checkout of the code before this work: the 'today' run uses "
                         "it with its defaults (else this code with colour, darkening off)")
    ap.add_argument("--crops", type=Path, help="write PNG crops of the misses here")
    ap.add_argument("--crops-run", default="default", help="whose misses are cropped")
    ap.add_argument("--table", type=Path, nargs="+", metavar="PID_JSON",
                    help="only print the table of these pid.json files, in order")
    ap.add_argument("--save-words", type=Path, metavar="DIR",
                    help="write every run's words (all fields) here, for --rematch")
    ap.add_argument("--rematch", type=Path, metavar="DIR",
                    help="no reading: match the words saved in DIR by --save-words again "
                         "with this code and score them (--docs picks the documents)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(json.loads(a.child))))
        return 0
    if a.rematch:
        return rematch(a)
    if a.table:
        rows = [r for f in a.table for r in json.loads(f.read_text(encoding="utf-8"))]
        print(markdown(rows, default_run()))
        return 0
    a.out.mkdir(parents=True, exist_ok=True)
    default = default_run()
    runs = [default if r == "default" else r for r in a.runs.split(",")]
    rows: list[dict] = []
    pdfs: dict = {}
    for key in a.docs.split(","):
        src, truth, cat, codes = inputs(a.realdocs, key, a.out)
        for rname in a.renders.split(","):
            from bench.realdoc_inputs import rasterise_pdf

            dpi, colour = RENDERS[rname]
            pdf = a.out / f"{key}-{rname}.pdf"
            rasterise_pdf(src, pdf, dpi=dpi, colour=colour)
            pdfs[(key, rname)] = pdf
            for run in runs:
                spec = {"pdf": str(pdf), "catalog": str(cat), "dpi": dpi, "run": RUNS[run],
                        "workers": a.workers}
                if a.save_words and RUNS[run] is not None:
                    spec["save_words"] = str(a.save_words / (
                        f"{key}-{rname}-{run.replace(' ', '_')}.words.json"))
                if run == "today" and a.today_repo:
                    spec["repo"] = str(a.today_repo.resolve())
                print(f"{key} {rname} {run} ...", file=sys.stderr, flush=True)
                o = run_child(spec, a.timeout)
                row: dict = {"doc": key, "render": rname, "run": run}
                if "error" in o:
                    row["error"] = o["error"]
                else:
                    row.update(score(o["hits"], truth, codes), seconds=o["seconds"],
                               peak_mb=o["peak_mb"])
                    row["causes"] = miss_causes(row["missed"], truth, o["words"])
                print("   ", {k: v for k, v in row.items()
                              if k not in ("missed", "causes", "wrong")},
                      file=sys.stderr, flush=True)
                rows.append(row)
                (a.out / "pid.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    if a.crops:
        save_crops(rows, default if a.crops_run == "default" else a.crops_run, a.crops, pdfs)
        (a.out / "pid.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    md = markdown(rows, default)
    (a.out / "pid.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
