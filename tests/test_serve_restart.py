"""Restart safety of `locate serve`, for real: a server process is SIGKILLed (with
its workers) in the middle of a multi-page OCR job, started again on the same
data folder, and the job completes; its table equals a CLI run's on the same
document, with nothing lost or duplicated, and the pages read before the kill
come from the OCR cache.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pymupdf

from locator.serve.store import Store
from tests.conftest import alive, write_catalog
from tests.docmaker import codes_pixmap
from tests.servehelp import Server

PAGES = [[("FIC-101", 40, 60, 10, 0), ("PT-2034", 260, 200, 9, 0)],
         [("LT-3307", 60, 120, 10, 0), ("TV-4410", 300, 260, 9, 0)],
         [("PSV-5521", 80, 90, 10, 0), ("HS-6620", 200, 150, 10, 0)]]
SETTINGS = {"dpi": 300, "tile": 800, "overlap": 120}


def scanned_book(path) -> None:
    doc = pymupdf.open()
    for codes in PAGES:
        pix, _ = codes_pixmap(codes, 420, 320, 300)
        page = doc.new_page(width=420, height=320)
        page.insert_image(page.rect, pixmap=pix)
    doc.save(path)


def test_a_job_survives_a_killed_server(tmp_path):
    pdf = tmp_path / "book.pdf"
    scanned_book(pdf)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for p in PAGES for c in p] + ["NO-1"])
    data = tmp_path / "data"
    cache = {"LOCATOR_CACHE_DIR": str(tmp_path / "unused")}
    first = Server(data, env=cache).start()
    try:
        job = first.submit([pdf], cat, SETTINGS)
        s = first.wait(job, until=lambda s: s["state"] == "running" and s["pages_done"] >= 1)
        assert s["pages_done"] < len(PAGES), "the job finished before the kill"
    finally:
        first.kill()
    assert Store(data).job(job)["state"] == "running"  # the database says what was going on

    second = Server(data, env=cache, port=first.port).start()
    try:
        s = second.wait(job)
        assert s["state"] == "done", s
        assert s["attempts"] == 2 and s["pages_done"] == len(PAGES)
        served = pd.read_csv(io.BytesIO(second.get(f"/api/jobs/{job}/download/hits.csv")))
    finally:
        second.stop()
    result = Store(data).result(job)
    assert result["report"]["pages_cached"] >= 1  # pages read before the kill cost nothing
    assert Store(data).usage()[0]["jobs"] == 1  # counted once
    assert '"event": "resumed"' in second.log.read_text()

    cli_csv = tmp_path / "cli.csv"
    subprocess.run([sys.executable, "-m", "locator", str(pdf), "--patterns", str(cat),
                    "--no-cache", "-q", "-o", str(cli_csv),
                    *[a for k, v in SETTINGS.items() for a in (f"--{k}", str(v))]],
                   check=True, timeout=600)
    cli = pd.read_csv(cli_csv)
    cols = [c for c in cli.columns if c != "file"]
    assert len(served) == len(cli) >= 4
    assert not served.duplicated(cols).any()
    pd.testing.assert_frame_equal(served[cols].reset_index(drop=True),
                                  cli[cols].reset_index(drop=True))
    assert set(served["file"]) == {"book.pdf"}
    assert "NO-1" in {m["pattern_id"] for m in result["missing"]}


def test_a_killed_server_takes_its_job_worker_with_it(tmp_path):
    """SIGKILL to the server process alone (not its session): the job's worker,
    a child of the fork server, must not read on for a server that is gone."""
    pdf = tmp_path / "book.pdf"
    scanned_book(pdf)
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for p in PAGES for c in p])
    srv = Server(tmp_path / "data", env={"LOCATOR_CACHE_DIR": str(tmp_path / "unused")}).start()
    try:
        job = srv.submit([pdf], cat, SETTINGS)
        srv.wait(job, until=lambda s: s["state"] == "running")
        store = Store(tmp_path / "data")
        deadline = time.monotonic() + 60
        while not (pid := store.job(job)["pid"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pid and alive(pid)
        assert srv.proc is not None
        os.kill(srv.proc.pid, signal.SIGKILL)
        srv.proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
        assert store.job(job)["state"] == "running"  # left for the next start to resume
    finally:
        srv.kill()
