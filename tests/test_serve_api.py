"""`locate serve` through the ASGI test client: every endpoint, the errors, the
token rules, upload limits, hostile names and a `<script>` catalog id.

Jobs run for real (worker processes, the real pipeline) on generated PDFs with
a text layer, which read in well under a second; one test OCRs a small scan
with Tesseract to have a worker to kill.
"""

from __future__ import annotations

import io
import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fastapi.testclient import TestClient

from locator.cli import main
from locator.errors import (HTTP_STATUS_BY_EXIT_CODE, CatalogError, EngineError,
                            InputFileError, LocatorError, MissingEngineError,
                            UnsupportedFormatError, UsageError, http_status)
from locator.serve.app import create_app
from locator.serve.commands import first_token
from locator.serve.intake import Limits
from locator.serve.store import Store
from tests.conftest import draw_codes

CODES = [("FIC-101", 60, 80, 8, 0), ("PT-2034", 300, 90, 6, 0), ("LT-3307", 520, 120, 10, 0)]
SCRIPT_ID = "<script>alert(1)</script>"


def catalog_yaml(extra: list[dict] | None = None) -> bytes:
    pats = [{"id": c[0], "text": c[0], "label": "instrument"} for c in CODES]
    pats += [{"id": "ZZ-999", "text": "ZZ-999", "label": "instrument"}]
    pats += extra or []
    return yaml.safe_dump({"patterns": pats}, sort_keys=False).encode()


def wait(client, job_id: str, headers, timeout: float = 180) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if s["state"] not in ("queued", "running"):
            return s
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {s['state']} after {timeout} s")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running app (2 job slots) with an admin token, a user token and another user."""
    root = tmp_path_factory.mktemp("serve")
    data = root / "data"
    data.mkdir()
    admin = first_token(data).read_text().strip()
    store = Store(data)
    alice, bob = store.create_token("alice"), store.create_token("bob")
    pdf = root / "drawing.pdf"
    draw_codes(pdf, CODES)
    app = create_app(data, workers=2, limits=Limits(max_file_bytes=2 * 1024 * 1024, max_files=3))
    with TestClient(app) as client:
        yield {"client": client, "data": data, "pdf": pdf.read_bytes(), "admin": bearer(admin),
               "alice": bearer(alice), "bob": bearer(bob), "store": store, "root": root,
               "app": app}


def submit(s, who="alice", *, docs=None, catalog=None, data=None, extra_files=()):
    docs = docs if docs is not None else [("drawing.pdf", s["pdf"])]
    files = [("documents", d) for d in docs]
    files.append(("catalog", catalog or ("codes.yaml", catalog_yaml())))
    files += [("catalog_files", f) for f in extra_files]
    return s["client"].post("/api/jobs", headers=s[who], files=files, data=data or {})


@pytest.fixture(scope="module")
def done_job(server):
    r = submit(server, catalog=("codes.yaml", catalog_yaml(
        [{"id": SCRIPT_ID, "text": "LT-3307", "label": "<b>bold</b>"}])),
        docs=[("../../etc/<img src=x onerror=alert(1)>.pdf", server["pdf"])])
    assert r.status_code == 202, r.text
    body = r.json()
    status = wait(server["client"], body["id"], server["alice"])
    assert status["state"] == "done", status
    return body["id"]


def test_healthz_needs_no_token(server):
    r = server["client"].get("/healthz")
    assert r.status_code == 200 and r.json()["ok"] is True


@pytest.mark.parametrize("path", ["/api/jobs", "/api/me", "/metrics", "/api/drift"])
def test_every_endpoint_needs_a_token(server, path):
    c = server["client"]
    r = c.get(path)
    assert r.status_code == 401
    assert "token" in r.json()["error"]["message"]
    assert c.get(path, headers=bearer("loc_not-a-token")).status_code == 401


def test_a_revoked_token_is_refused(server):
    token = server["store"].create_token("short-lived")
    c = server["client"]
    assert c.get("/api/me", headers=bearer(token)).json() == {"name": "short-lived",
                                                              "admin": False}
    assert server["store"].revoke_token("short-lived")
    r = c.get("/api/me", headers=bearer(token))
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]


def test_tokens_are_stored_hashed(server):
    raw = (server["data"] / "locator.db").read_bytes()
    token = server["alice"]["Authorization"].split()[1]
    assert token.encode() not in raw


def test_a_job_runs_and_reports_progress_and_timings(server, done_job):
    s = server["client"].get(f"/api/jobs/{done_job}", headers=server["alice"]).json()
    assert s["pages_done"] == s["pages_total"] == 1
    assert s["hits"] == 4 and s["missing"] == 1
    assert s["timings"]["started"] >= s["timings"]["created"]
    assert s["timings"]["finished"] >= s["timings"]["started"]
    assert s["files"] == [{"index": 0, "name": "<img src=x onerror=alert(1)>.pdf", "pages": 1}]


def test_hostile_file_name_never_becomes_a_path(server, done_job):
    folder = server["data"] / "jobs" / done_job
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == ["catalog.yaml",
                                                                       "doc-1.pdf"]
    assert not (server["root"] / "etc").exists()


def test_script_catalog_id_comes_back_as_data(server, done_job):
    c = server["client"]
    hits = c.get(f"/api/jobs/{done_job}/hits", headers=server["alice"]).json()
    script = [h for h in hits if h["pattern_id"] == SCRIPT_ID]
    assert len(script) == 1 and script[0]["label"] == "<b>bold</b>"
    assert hits[0]["view"] and {"index", "file_index"} <= set(hits[0])
    page = c.get("/")
    assert page.status_code == 200 and SCRIPT_ID not in page.text
    assert "script-src" in page.headers["content-security-policy"] or \
        "default-src 'self'" in page.headers["content-security-policy"]


def test_downloads_in_every_format(server, done_job):
    c, h = server["client"], server["alice"]
    base = f"/api/jobs/{done_job}/download"
    csv = c.get(f"{base}/hits.csv", headers=h)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    df = pd.read_csv(io.BytesIO(csv.content))
    assert set(df["pattern_id"]) == {"FIC-101", "PT-2034", "LT-3307", SCRIPT_ID}
    assert json.loads(c.get(f"{base}/hits.json", headers=h).content)[0]["file"].endswith(".pdf")
    xlsx = c.get(f"{base}/hits.xlsx", headers=h)
    sheets = pd.read_excel(io.BytesIO(xlsx.content), sheet_name=None)
    assert {"Hits", "Missing", "Summary"} <= set(sheets)
    assert len(pd.read_parquet(io.BytesIO(c.get(f"{base}/hits.parquet", headers=h).content))) == 4
    pdf = c.get(f"{base}/hits.pdf", headers=h)
    assert pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    miss = pd.read_csv(io.BytesIO(c.get(f"{base}/missing.csv", headers=h).content))
    assert list(miss["pattern_id"]) == ["ZZ-999"]
    assert c.get(f"{base}/warnings.json", headers=h).json() == []
    assert c.get(f"{base}/missing.pdf", headers=h).status_code == 400
    assert c.get(f"{base}/hits.pdf?file=3", headers=h).status_code == 400
    assert c.get(f"{base}/hits.doc", headers=h).status_code == 422


def test_another_tokens_job_is_not_found_but_admin_sees_it(server, done_job):
    c = server["client"]
    for path in (f"/api/jobs/{done_job}", f"/api/jobs/{done_job}/hits",
                 f"/api/jobs/{done_job}/download/hits.csv", f"/api/jobs/{done_job}/verdicts",
                 f"/api/jobs/{done_job}/files/0/pages"):
        r = c.get(path, headers=server["bob"])
        assert r.status_code == 404, path
    assert c.delete(f"/api/jobs/{done_job}", headers=server["bob"]).status_code == 404
    assert done_job not in [j["id"] for j in c.get("/api/jobs", headers=server["bob"]).json()]
    assert c.get(f"/api/jobs/{done_job}", headers=server["admin"]).status_code == 200
    assert done_job in [j["id"] for j in c.get("/api/jobs", headers=server["admin"]).json()]


def test_verdicts_missed_tags_and_truth_table(server, done_job, tmp_path):
    from locator.tables import load_table

    c, h = server["client"], server["alice"]
    base = f"/api/jobs/{done_job}"
    hits = c.get(f"{base}/hits", headers=h).json()
    fic = next(x["index"] for x in hits if x["pattern_id"] == "FIC-101")
    pt = next(x["index"] for x in hits if x["pattern_id"] == "PT-2034")
    assert c.put(f"{base}/verdicts/{fic}", headers=h, json={"verdict": "correct"}).status_code == 200
    assert c.put(f"{base}/verdicts/{pt}", headers=h, json={"verdict": "wrong"}).status_code == 200
    assert c.put(f"{base}/verdicts/99", headers=h, json={"verdict": "wrong"}).status_code == 404
    assert c.put(f"{base}/verdicts/0", headers=h, json={"verdict": "maybe"}).status_code == 422
    r = c.post(f"{base}/missed", headers=h, json={"page": 1, "code": "ZZ-999", "x0": 400,
                                                  "y0": 300, "x1": 380, "y1": 310})
    assert r.status_code == 201 and r.json()["x0"] == 380 and r.json()["label"] == "instrument"
    gone = c.post(f"{base}/missed", headers=h, json={"page": 1, "code": "QQ-1", "x0": 1,
                                                     "y0": 1, "x1": 5, "y1": 5}).json()["id"]
    assert c.delete(f"{base}/missed/{gone}", headers=h).status_code == 204
    assert c.delete(f"{base}/missed/{gone}", headers=h).status_code == 404
    assert c.post(f"{base}/missed", headers=h, json={"page": 7, "code": "X", "x0": 1, "y0": 1,
                                                     "x1": 5, "y1": 5}).status_code == 400
    v = c.get(f"{base}/verdicts", headers=h).json()
    assert {(x["hit"], x["verdict"]) for x in v["verdicts"]} == {(fic, "correct"), (pt, "wrong")}
    assert [m["code"] for m in v["missed"]] == ["ZZ-999"]
    truth = tmp_path / "truth.csv"
    truth.write_bytes(c.get(f"{base}/download/truth.csv", headers=h).content)
    t = load_table(truth, role="truth")  # what `locate eval --truth` reads
    assert sorted(t["matched"]) == ["FIC-101", "ZZ-999"]
    drift = c.get("/api/drift", headers=h).json()
    row = next(r for r in drift if r["label"] == "instrument")
    assert row["wrong_share"] == 0.5 and row["missed_share"] == 0.5
    metrics = c.get("/metrics", headers=h).text
    assert 'locator_review_wrong_share{label="instrument"' in metrics
    assert c.put(f"{base}/verdicts/{pt}", headers=h, json={"verdict": None}).status_code == 200
    assert len(c.get(f"{base}/verdicts", headers=h).json()["verdicts"]) == 1


def test_event_stream_ends_with_the_final_state(server, done_job):
    with server["client"].stream("GET", f"/api/jobs/{done_job}/events",
                                 headers=server["alice"]) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    events = [b.split("\n") for b in text.strip().split("\n\n")]
    assert events[0][0] == "event: progress" and '"state": "done"' in events[0][1]
    assert events[-1] == ["event: end", 'data: {"state": "done"}']


def test_tiles_and_pages(server, done_job):
    c, h = server["client"], server["alice"]
    base = f"/api/jobs/{done_job}/files/0/pages"
    pages = c.get(base, headers=h).json()
    assert pages[0]["width"] == 842 and pages[0]["max_zoom"] >= 2
    r = c.get(f"{base}/1/tiles/1/0/0.png", headers=h)
    assert r.status_code == 200 and r.content.startswith(b"\x89PNG")
    assert (server["data"] / "tiles" / done_job / "0" / "1" / "1" / "0_0.png").is_file()
    assert c.get(f"{base}/1/tiles/1/0/0.png", headers=h).content == r.content  # cached
    assert c.get(f"{base}/1/tiles/20/0/0.png", headers=h).status_code == 400
    assert c.get(f"{base}/2/tiles/0/0/0.png", headers=h).status_code == 400
    assert c.get(f"/api/jobs/{done_job}/files/5/pages", headers=h).status_code == 400


def test_metrics(server, done_job):
    text = server["client"].get("/metrics", headers=server["alice"]).text
    assert 'locator_jobs{state="done"}' in text
    assert "locator_queue_depth" in text and "locator_pages_read_total" in text
    assert "locator_tiles_read_total" in text and "locator_ocr_seconds_total" in text
    assert 'locator_request_seconds_count{method="GET",route="/api/jobs/{job_id}"' in text


@pytest.mark.parametrize("settings, status, word", [
    ('{"dpi": 5}', 400, "--dpi"), ('{"workers": 8}', 400, "cannot be chosen"),
    ('{"cache_dir": "/tmp"}', 400, "cannot be chosen"), ("not json", 400, "not JSON"),
    ('{"pages": "3-4"}', 400, "page"), ('{"dpi": 200, "bogus": 1}', 400, "bogus")])
def test_bad_settings(server, settings, status, word):
    r = submit(server, data={"settings": settings})
    assert r.status_code == status, r.text
    assert word in r.json()["error"]["message"]
    assert r.json()["error"]["exit_code"] == 2


def test_bad_catalog_and_documents(server):
    r = submit(server, catalog=("c.yaml", b"patterns:\n  - id: [unclosed\n"))
    assert r.status_code == 422 and r.json()["error"]["exit_code"] == 5
    r = submit(server, docs=[("d.pdf", b"hello, I am text and not a PDF")])
    assert r.status_code == 415 and r.json()["error"]["kind"] == "UnsupportedFormatError"
    r = submit(server, docs=[("d.pdf", b"%PDF-1.7\n garbage")])
    assert r.status_code == 422 and r.json()["error"]["exit_code"] == 3
    assert "/jobs/" not in r.json()["error"]["message"]  # no server path in a message
    r = server["client"].post("/api/jobs", headers=server["alice"],
                              files=[("catalog", ("c.yaml", catalog_yaml()))])
    assert r.status_code == 422
    assert not [p for p in (server["data"] / "jobs").iterdir()
                if not server["store"].job(p.name)]  # refused uploads leave nothing behind


def test_type_by_content_not_name(server):
    r = submit(server, docs=[("looks-like.png", server["pdf"])])
    assert r.status_code == 202
    s = wait(server["client"], r.json()["id"], server["alice"])
    assert s["state"] == "done" and s["hits"] == 3


def test_upload_limits(server):
    big = server["pdf"] + b"%" * (2 * 1024 * 1024)
    r = submit(server, docs=[("big.pdf", big)])
    assert r.status_code == 413 and "limit" in r.json()["error"]["message"]
    r = submit(server, docs=[(f"d{i}.pdf", server["pdf"]) for i in range(4)])
    assert r.status_code == 413 and "at most 3" in r.json()["error"]["message"]


def test_catalog_file_entries_only_name_uploaded_files(server, tmp_path):
    for ref in ("/etc/passwd", "../../secret.csv", "codes.csv"):
        cat = yaml.safe_dump({"patterns": [{"file": ref, "column": "tag"}]}).encode()
        r = submit(server, catalog=("c.yaml", cat))
        assert r.status_code == 422, ref
        assert "only name files uploaded" in r.json()["error"]["message"]
    cat = yaml.safe_dump({"patterns": [{"file": "codes.csv", "column": "tag"}]}).encode()
    r = submit(server, catalog=("c.yaml", cat),
               extra_files=[("codes.csv", b"tag\nFIC-101\nPT-2034\n")])
    assert r.status_code == 202, r.text
    s = wait(server["client"], r.json()["id"], server["alice"])
    assert s["state"] == "done" and s["hits"] == 2


def test_code_list_catalog_with_column(server):
    r = submit(server, catalog=("tags.csv", b"tag;area\nFIC-101;A\nLT-3307;B\nNO-1;C\n"),
               data={"column": "tag"})
    assert r.status_code == 202, r.text
    s = wait(server["client"], r.json()["id"], server["alice"])
    assert s["state"] == "done" and s["hits"] == 2 and s["missing"] == 1
    r = submit(server, catalog=("tags.csv", b"tag\nFIC-101\n"), data={"column": "nope"})
    assert r.status_code == 422 and r.json()["error"]["exit_code"] == 5


def test_queue_cancel_rerun_delete(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    store = Store(data)
    h = bearer(store.create_token("u"))
    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, CODES)
    app = create_app(data, run_jobs=False)  # nothing runs: the job stays queued
    with TestClient(app) as c:
        r = c.post("/api/jobs", headers=h, files=[("documents", ("d.pdf", pdf.read_bytes())),
                                                  ("catalog", ("c.yaml", catalog_yaml()))])
        jid = r.json()["id"]
        assert c.get(f"/api/jobs/{jid}/hits", headers=h).status_code == 409
        assert c.get("/healthz").json()["queue"] == 1
        assert c.post(f"/api/jobs/{jid}/rerun", headers=h).status_code == 409
        r = c.post(f"/api/jobs/{jid}/cancel", headers=h)
        assert r.status_code == 200 and r.json()["state"] == "cancelled"
        assert c.post(f"/api/jobs/{jid}/cancel", headers=h).status_code == 409
        assert c.post(f"/api/jobs/{jid}/rerun", headers=h).json()["state"] == "queued"
        assert c.delete(f"/api/jobs/{jid}", headers=h).status_code == 204
        assert c.get(f"/api/jobs/{jid}", headers=h).status_code == 404
        assert not (data / "jobs" / jid).exists()


def test_a_killed_worker_fails_its_job_not_the_server(server, tmp_path):
    from tests.docmaker import scan_pdf

    scan = tmp_path / "scan.pdf"
    scan_pdf(scan, [("FIC-101", 40, 60, 9, 0)])
    r = submit(server, docs=[("scan.pdf", scan.read_bytes())],
               data={"settings": json.dumps({"source": "ocr", "dpi": 300, "tile": 400,
                                             "overlap": 60})})
    assert r.status_code == 202, r.text
    jid = r.json()["id"]
    end = time.monotonic() + 120
    while not (pid := server["store"].job(jid)["pid"]) and time.monotonic() < end:
        time.sleep(0.05)  # the worker writes its pid when it starts
    assert pid, "the worker never started"
    os.kill(pid, signal.SIGKILL)
    s = wait(server["client"], jid, server["alice"])
    assert s["state"] == "failed" and "worker process died" in s["error"]
    assert s["exit_code"] == EngineError.exit_code
    r = submit(server)  # the server and its slots go on
    assert wait(server["client"], r.json()["id"], server["alice"])["state"] == "done"


def test_one_table_maps_exit_codes_to_http_statuses():
    assert http_status(UsageError("x")) == 400
    assert http_status(InputFileError("x")) == 422
    assert http_status(UnsupportedFormatError("x")) == 415
    assert http_status(CatalogError("x")) == 422
    assert http_status(MissingEngineError("x")) == 503
    assert http_status(EngineError("x")) == 502
    assert http_status(LocatorError("x")) == 500
    assert set(HTTP_STATUS_BY_EXIT_CODE) == {1, 2, 3, 4, 5, 6, 7, 8}


def test_token_and_usage_commands(server, done_job, capsys):
    data = str(server["data"])
    with pytest.raises(SystemExit) as e:
        main(["token", "create", "carol", "--data", data])
    assert e.value.code == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("loc_") and server["store"].token_for(token).name == "carol"
    with pytest.raises(SystemExit) as e:
        main(["token", "create", "carol", "--data", data])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["token", "revoke", "carol", "--data", data])
    assert e.value.code == 0 and server["store"].token_for(token) is None
    with pytest.raises(SystemExit) as e:
        main(["token", "revoke", "carol", "--data", data])
    assert e.value.code == 2
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["usage", "--data", data])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["month", "token", "jobs", "pages"]
    alice = next(line.split("\t") for line in lines if "\talice\t" in line)
    assert int(alice[2]) >= 1 and int(alice[3]) >= 1


def test_first_start_creates_one_admin_token(tmp_path):
    path = first_token(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Store(tmp_path).token_for(path.read_text().strip()).admin
    assert first_token(tmp_path) is None  # only on the first start


def test_jobs_run_on_a_dask_cluster_as_locate_batch_does(tmp_path):
    from dask import distributed  # the [dask] extra, which `make test` installs

    data = tmp_path / "data"
    data.mkdir()
    h = bearer(Store(data).create_token("u"))
    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, CODES)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        app = create_app(data, dask=cluster.scheduler_address)
        with TestClient(app) as c:
            r = c.post("/api/jobs", headers=h, files=[("documents", ("d.pdf", pdf.read_bytes())),
                                                      ("catalog", ("c.yaml", catalog_yaml()))])
            assert r.status_code == 202, r.text
            s = wait(c, r.json()["id"], h)
            assert s["state"] == "done", s
            assert s["pages_done"] == 1 and s["hits"] == 3 and s["missing"] == 1
            hits = pd.read_csv(io.BytesIO(c.get(f"/api/jobs/{s['id']}/download/hits.csv",
                                                headers=h).content))
    assert sorted(hits["pattern_id"]) == sorted(code for code, *_ in CODES)
    assert set(hits["file"]) == {"d.pdf"}  # the client's name, not the server's path


def test_cancelling_a_running_job_stops_its_worker(server, tmp_path):
    from tests.docmaker import scan_pdf

    scan = tmp_path / "scan.pdf"
    scan_pdf(scan, [("TV-4410", 40, 60, 9, 0)])  # a page no other test has cached

    def cached() -> int:
        return len(list((server["data"] / "cache").rglob("*.json")))

    before = cached()
    r = submit(server, docs=[("scan.pdf", scan.read_bytes())],
               data={"settings": json.dumps({"source": "ocr", "dpi": 300, "tile": 400,
                                             "overlap": 60})})
    jid = r.json()["id"]
    end = time.monotonic() + 120
    while not (pid := server["store"].job(jid)["pid"]) and time.monotonic() < end:
        time.sleep(0.05)
    assert pid, "the worker never started"
    c, h = server["client"], server["alice"]
    assert c.post(f"/api/jobs/{jid}/cancel", headers=h).json()["state"] == "cancelled"
    end = time.monotonic() + 60
    while Path(f"/proc/{pid}").exists() and time.monotonic() < end:
        time.sleep(0.1)  # the worker sees it at its next progress write and ends
    assert not Path(f"/proc/{pid}").exists() or \
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    assert wait(c, jid, h)["state"] == "cancelled"  # its results never overwrite the cancel
    assert c.get(f"/api/jobs/{jid}/hits", headers=h).status_code == 409
    assert cached() == before  # it stopped inside the page: the page was never finished
