"""Load on `locate serve`: N jobs submitted at once by concurrent clients on localhost.

Makes N one-page scanned drawings (distinct, so the OCR cache gives nothing
away), starts ``locate serve --workers W`` on a fresh data folder, and has N
client threads each submit one job and poll its status (every 2 s) until it
is done. It reports that all jobs completed and none was lost (the hits equal ``locate
batch``'s on the same files), the throughput in pages per minute against
``locate batch`` on the same documents (fresh cache too), and the API's median
and 99th-percentile latency while the jobs ran (every submit and status poll),
and per job the seconds in its worker (started to finished; of them, reading:
the pipeline's own run time) and in the queue.
``--repeat`` runs both sides that many times, alternating (the machine is
shared: one run says little), and prints every run and the medians.

    python -m bench.bench_serve --jobs 20 --workers 2 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pymupdf

from tests.conftest import write_catalog
from tests.docmaker import codes_pixmap
from tests.servehelp import Server


#: Seconds between a client's status polls (20 clients: 10 requests a second).
POLL = 2.0


def make_documents(folder: Path, n: int, seed: int = 7) -> list[str]:
    """``n`` one-page scans (420 x 300 pt at 300 dpi), each with 4 codes of its own."""
    rng = random.Random(seed)
    codes_all = []
    for i in range(n):
        codes = [(f"{rng.choice(['FIC', 'PT', 'LT', 'TV'])}-{1000 + 4 * i + k}",
                  30 + 90 * k, rng.randint(40, 260), 10, 0) for k in range(4)]
        pix, _ = codes_pixmap(codes, 420, 300, 300)
        doc = pymupdf.open()
        page = doc.new_page(width=420, height=300)
        page.insert_image(page.rect, pixmap=pix)
        doc.save(folder / f"sheet-{i:02d}.pdf")
        codes_all += [c[0] for c in codes]
    return codes_all


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def run_server(docs: list[Path], cat: Path, data: Path, workers: int) -> dict:
    srv = Server(data, workers=workers).start()
    latencies: list[float] = []
    lock = threading.Lock()
    results: dict[str, dict] = {}

    def timed(fn, *a):
        t0 = time.perf_counter()
        out = fn(*a)
        with lock:
            latencies.append(time.perf_counter() - t0)
        return out

    def client(doc: Path) -> None:
        job = timed(srv.submit, [doc], cat)
        while True:
            s = timed(srv.get, f"/api/jobs/{job}")
            if s["state"] not in ("queued", "running"):
                results[job] = s
                return
            time.sleep(POLL)

    try:
        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(d,)) for d in docs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        hits = sum(s["hits"] or 0 for s in results.values())
        with urllib.request.urlopen(srv.url + "/healthz", timeout=10) as r:
            queue = json.loads(r.read())["queue"]  # drained: 0
        done = sum(s["state"] == "done" for s in results.values())
    finally:
        srv.stop()
    t = [s["timings"] for s in results.values()]
    return {"wall": wall, "done": done, "jobs": len(results), "hits": hits,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": pct(latencies, 0.99) * 1000, "requests": len(latencies), "queue": queue,
            "job_s": statistics.median(x["finished"] - x["started"] for x in t),
            "wait_s": statistics.median(x["started"] - x["created"] for x in t),
            "read_s": statistics.median(x["seconds"] for x in t)}


def run_batch(folder: Path, cat: Path, cache: Path) -> dict:
    out = folder.parent / "batch.csv"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "locator", "batch", str(folder), "--patterns",
                    str(cat), "-q", "-o", str(out)], check=True,
                   env={**os.environ, "LOCATOR_CACHE_DIR": str(cache)}, timeout=1800)
    return {"wall": time.perf_counter() - t0, "hits": len(pd.read_csv(out))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="the server's job slots")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side")
    args = ap.parse_args()
    serves, batches = [], []
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        tmp = Path(tmp)
        folder = tmp / "docs"
        folder.mkdir()
        codes = make_documents(folder, args.jobs)
        cat = write_catalog(tmp / "codes.yaml", codes)
        docs = sorted(folder.glob("*.pdf"))
        pages = len(docs)
        for r in range(args.repeat):  # fresh data folder and caches every run
            s = run_server(docs, cat, tmp / f"data-{r}", args.workers)
            b = run_batch(folder, cat, tmp / f"batch-cache-{r}")
            serves.append(s)
            batches.append(b)
            print(f"run {r + 1}: locate serve --workers {args.workers}: {s['done']}/{args.jobs} "
                  f"jobs done ({s['jobs']} answered), {s['hits']} hits, {pages} pages in "
                  f"{s['wall']:.1f} s = {pages / s['wall'] * 60:.1f} pages/min; per job "
                  f"{s['job_s']:.2f} s in its worker ({s['read_s']:.2f} s of it reading), "
                  f"{s['wait_s']:.1f} s queued (medians); "
                  f"API latency over {s['requests']} requests: median {s['median_ms']:.0f} "
                  f"ms, p99 {s['p99_ms']:.0f} ms; queue after: {s['queue']}", flush=True)
            print(f"run {r + 1}: locate batch (default workers): {b['hits']} hits, {pages} "
                  f"pages in {b['wall']:.1f} s = {pages / b['wall'] * 60:.1f} pages/min",
                  flush=True)

    def med(rows, key):
        return statistics.median(x[key] for x in rows)

    print(f"median of {args.repeat}: serve {pages / med(serves, 'wall') * 60:.1f} pages/min "
          f"(API median {med(serves, 'median_ms'):.0f} ms, p99 {med(serves, 'p99_ms'):.0f} ms, "
          f"{med(serves, 'job_s'):.2f} s per job in its worker), batch "
          f"{pages / med(batches, 'wall') * 60:.1f} pages/min")
    if any(s["done"] != args.jobs or s["hits"] != b["hits"] or s["queue"] != 0
           for s, b in zip(serves, batches)):
        sys.exit("jobs lost or hits differ from locate batch")


if __name__ == "__main__":
    main()
