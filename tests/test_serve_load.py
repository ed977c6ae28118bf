"""`locate serve` under load, for real: 20 jobs submitted at once by 20 concurrent
clients on localhost (a real server process, 2 job slots). All complete, none is
lost or run twice, each job's hits are its own document's, and the queue
drains. (Throughput and latency are measured by bench/bench_serve.py, not
asserted here: no timed assertions.)
"""

from __future__ import annotations

import io
import threading

import pandas as pd

from locator.serve.store import Store
from tests.conftest import draw_codes, write_catalog
from tests.servehelp import Server

JOBS = 20


def test_twenty_concurrent_jobs_all_complete_and_the_queue_drains(tmp_path):
    docs, expected = [], {}
    for i in range(JOBS):
        codes = [f"FIC-{100 + 2 * i}", f"PT-{500 + 2 * i}"]  # no two documents alike
        pdf = tmp_path / f"sheet-{i:02d}.pdf"
        draw_codes(pdf, [(codes[0], 60, 80, 8, 0), (codes[1], 300, 200, 9, 0)])
        docs.append(pdf)
        expected[pdf.name] = set(codes)
    cat = write_catalog(tmp_path / "codes.yaml", sorted(c for cs in expected.values() for c in cs))
    srv = Server(tmp_path / "data", workers=2,
                 env={"LOCATOR_CACHE_DIR": str(tmp_path / "unused")}).start()
    finals: dict[str, dict] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(JOBS)

    def client(doc) -> None:
        try:
            start.wait()  # every client submits at the same moment
            job = srv.submit([doc], cat)
            finals[job] = srv.wait(job, timeout=500)
        except BaseException as e:  # reported below, with the others
            errors.append(e)

    try:
        threads = [threading.Thread(target=client, args=(d,)) for d in docs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(finals) == JOBS  # 20 distinct job ids
        assert all(s["state"] == "done" and s["attempts"] == 1 for s in finals.values())
        for job, s in finals.items():
            (name,) = [f["name"] for f in s["files"]]
            hits = pd.read_csv(io.BytesIO(srv.get(f"/api/jobs/{job}/download/hits.csv")))
            assert set(hits["pattern_id"]) == expected[name], name  # its own, and all of them
            assert len(hits) == 2
        assert srv.get("/api/jobs") and len(srv.get("/api/jobs")) == JOBS
        metrics = srv.get("/metrics").decode()
        assert f'locator_jobs{{state="done"}} {JOBS}.0' in metrics
        assert "locator_queue_depth 0.0" in metrics
    finally:
        srv.stop()
    usage = Store(tmp_path / "data").usage()
    assert sum(r["jobs"] for r in usage) == JOBS and sum(r["pages"] for r in usage) == JOBS
