"""Runs as a user and a script see them from outside: how a run ends (signals,
total failure, -q), when worker processes are worth starting, the Python API's
arguments, and hostile PDFs whose interpretation never ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faulty import page_pdf
from tests.conftest import alive, write_catalog

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(120)

_LOCATE = ("import sys; from locator.engines import base; "
           "base.register('envfake', 'tests.faulty:EnvEngine'); "
           "from locator.cli import main; main(sys.argv[1:])")


def _locate(args, env, **kw):
    return subprocess.Popen([sys.executable, "-c", _LOCATE, *map(str, args)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kw)


def _children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (Linux /proc)."""
    out = set()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.add(int(d.name))
    return out


# -- issue 18 item 7: every way the parent ends takes its workers with it --------------------

@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_workers_end_with_the_parent(tmp_path, how):
    pdf = page_pdf(tmp_path / "pages.pdf", 8)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    env = {**os.environ, "LOCATOR_FAKE_ENGINE": '{"delay": 1.0, "word": "CODE-X"}'}
    p = _locate([pdf, "--patterns", cat, "-o", tmp_path / "h.csv", "--engine", "envfake",
                 "--dpi", "72", "--rotations", "0", "--source", "ocr", "--workers", "2",
                 "--no-cache", "-q"], env)
    workers: set[int] = set()
    deadline = time.time() + 60
    while len(workers) < 2 and time.time() < deadline and p.poll() is None:
        workers |= _children(p.pid)
        time.sleep(0.05)
    assert len(workers) >= 2, p.communicate()
    p.send_signal(how)
    p.wait(timeout=30)
    deadline = time.time() + 10
    while any(map(alive, workers)) and time.time() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if alive(w)]


# -- issue 18 item 8: -q never hides what went wrong; total failure is exit 7 -------------------

def _cli(capsys, *args):
    from locator.cli import main

    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    cap = capsys.readouterr()
    return e.value.code, cap.out, " ".join(cap.err.split())  # rich wraps long lines


_FAKE = ["--engine", "envfake", "--dpi", "72", "--rotations", "0", "--source", "ocr",
         "--no-cache", "--workers", "1"]


def test_quiet_still_prints_the_warnings(capsys, tmp_path, monkeypatch):
    from tests.faulty import steer

    pdf = page_pdf(tmp_path / "pages.pdf", 3)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    steer(monkeypatch, fault="raise", calls=[1, 2], word="CODE-X")  # page 2, and its retry
    code, _, err = _cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "h.csv", "-q", *_FAKE)
    assert code == 0, err
    assert "warning: page 2 tile at" in err and "simulated crash" in err
    assert "Summary" not in err and "wrote" not in err  # -q: no summary


def test_a_run_in_which_every_tile_failed_is_exit_7(capsys, tmp_path, monkeypatch):
    from tests.faulty import steer

    pdf = page_pdf(tmp_path / "pages.pdf", 3)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    steer(monkeypatch, fault="raise", word="CODE-X")  # every call
    out = tmp_path / "h.csv"
    code, _, err = _cli(capsys, pdf, "--patterns", cat, "-o", out, "-q", *_FAKE)
    assert code == 7, err
    assert "nothing was read: all 3 tile(s) failed" in err and "simulated crash" in err
    assert err.count("warning: page") == 3  # which tiles, even with -q
    assert not out.exists()


def test_real_tesseract_over_its_time_limit_on_every_tile_is_exit_7(capsys, tmp_path):
    # the case: --tile-timeout 0.001 -q exited 0 with an empty table, silently
    from tests.conftest import draw_codes

    pdf = tmp_path / "d.pdf"
    draw_codes(pdf, [("FIC-101", 60, 80, 12, 0), ("PT-2034", 200, 300, 12, 0)])
    cat = write_catalog(tmp_path / "x.yaml", ["FIC-101", "PT-2034"])
    code, _, err = _cli(capsys, pdf, "--patterns", cat, "--source", "ocr", "--no-cache",
                        "--workers", "1", "--tile-timeout", "0.001", "-q")
    assert code == 7, err
    assert "nothing was read" in err and "timed out" in err


def test_a_batch_in_which_every_tile_of_every_file_failed_is_exit_7(capsys, tmp_path,
                                                                     monkeypatch):
    from tests.faulty import steer

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.pdf", "b.pdf"):
        page_pdf(folder / name, 2)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    steer(monkeypatch, fault="raise", word="CODE-X")  # every call, every file
    out = tmp_path / "h.csv"
    code, _, err = _cli(capsys, "batch", folder, "--patterns", cat, "-o", out, "-q",
                        "--engine", "envfake", "--dpi", "72", "--source", "ocr", "--no-cache",
                        "--workers", "1")
    assert code == 7, err
    assert "nothing was read: all 4 tile(s) failed" in err and "simulated crash" in err
    assert not out.exists()  # as `locate`: no empty table that looks like "nothing there"


def test_batch_quiet_still_names_failed_files(capsys, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    page_pdf(folder / "good.pdf", 1)
    (folder / "cut.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<<")
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-1"])
    code, _, err = _cli(capsys, "batch", folder, "--patterns", cat, "-o", tmp_path / "h.csv",
                        "-q", "--workers", "1", "--no-cache", "--dpi", "72")
    assert code == 0, err
    assert "warning: failed:" in err and "cut.pdf" in err


# -- issue 18 item 9: no worker processes when there is no work worth sending them -------------

def test_a_pool_is_worth_starting_only_for_two_items_or_more():
    from locator.pipeline.executor import pool_size

    assert pool_size(4, 0) == pool_size(4, 1) == pool_size(1, 50) == 0
    assert pool_size(4, 2) == 2 and pool_size(4, 100) == 4


def _blank_pdf(path, pages: int):
    import pymupdf

    doc = pymupdf.open()
    for _ in range(pages):
        doc.new_page(width=300, height=200)
    doc.save(path)
    return path


@pytest.fixture
def pools(monkeypatch):
    """The worker pools started (their item counts), the pools still working."""
    from locator.pipeline import executor

    started: list[int] = []
    real = executor.ProcessExecutor.map

    def counting(self, work, items):
        started.append(len(items))
        return real(self, work, items)

    monkeypatch.setattr(executor.ProcessExecutor, "map", counting)
    return started


def test_blank_pages_start_no_worker_process(capsys, tmp_path, monkeypatch, pools):
    from tests.faulty import steer

    steer(monkeypatch, word="CODE-X")
    pdf = _blank_pdf(tmp_path / "blank.pdf", 40)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    fake = [a for a in _FAKE if a != "1"]
    code, _, err = _cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "h.csv",
                        *[a if a != "--workers" else "--workers=2" for a in fake])
    assert code == 0, err
    assert "0 read, 40 blank skipped" in err
    assert pools == []  # every tile was blank: answered in this process
    # pages with ink: the pool starts at the first of them, for it and the rest
    pdf = page_pdf(tmp_path / "pages.pdf", 4)
    code, _, err = _cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "h.csv",
                        *[a if a != "--workers" else "--workers=2" for a in fake])
    assert code == 0, err
    assert pools == [4] and "4 read" in err


# -- issue 18 item 5: a page whose interpretation never ends costs that page only -------------

def nested_forms_pdf(path, *, depth: int = 12, fan: int = 10, good: str | None = None):
    """A PDF whose page 1 draws a Form XObject nested ``depth`` deep, each level
    drawing the one below ``fan`` times (5.7 KB that MuPDF interprets for
    hours); with ``good``, a page 2 with that text on it."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=300, height=300)
    page.insert_text((20, 40), "BOMB-1", fontsize=12)  # gives the page a content stream
    prev = None
    for _ in range(depth):
        x = doc.get_new_xref()
        body = (b"0 0 m 1 1 l S" if prev is None else
                b" ".join(b"q /X Do Q" for _ in range(fan)))
        res = f"/Resources << /XObject << /X {prev} 0 R >> >>" if prev else ""
        doc.update_object(x, f"<< /Type /XObject /Subtype /Form /BBox [0 0 100 100] {res} >>")
        doc.update_stream(x, body)
        prev = x
    kind, res = doc.xref_get_key(page.xref, "Resources")
    if kind == "xref":
        doc.xref_set_key(int(res.split()[0]), "XObject", f"<< /T {prev} 0 R >>")
    else:
        doc.xref_set_key(page.xref, "Resources/XObject", f"<< /T {prev} 0 R >>")
    contents = page.get_contents()[0]
    doc.update_stream(contents, doc.xref_stream(contents) + b"\nq /T Do Q")
    if good:
        doc.new_page(width=300, height=300).insert_text((20, 40), good, fontsize=12)
    doc.save(path)
    return path


def _run(args, timeout=90, **kw):
    p = subprocess.Popen([sys.executable, "-m", "locator", *map(str, args)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"locate hung: {err}") from None
    return p.returncode, out, " ".join(err.split())


def test_the_work_estimate_tells_nested_forms_from_real_drawings(tmp_path, small_drawing):
    from locator.documents import Document
    from locator.pipeline.plan import RISKY_WORK

    with Document(nested_forms_pdf(tmp_path / "bomb.pdf")) as doc:
        assert doc.content_work(1, RISKY_WORK) > RISKY_WORK
    with Document(nested_forms_pdf(tmp_path / "small.pdf", depth=3)) as doc:
        assert doc.content_work(1, RISKY_WORK) < 50_000  # 100 draws: read here, at once
    with Document(small_drawing[0]) as doc:
        assert doc.content_work(1, RISKY_WORK) < 1000


def test_a_page_of_nested_forms_is_skipped_with_a_warning_and_the_rest_is_read(tmp_path):
    pdf = nested_forms_pdf(tmp_path / "two.pdf", good="GOOD-2")
    cat = write_catalog(tmp_path / "x.yaml", ["GOOD-2"])
    out = tmp_path / "h.csv"
    code, _, err = _run([pdf, "-p", cat, "-o", out, "--tile-timeout", "2", "--no-cache",
                         "--workers", "1", "-q"])
    assert code == 0, err
    assert "warning: page 1: interpreting its content took longer than 2 s" in err
    import pandas as pd

    assert list(pd.read_csv(out)["matched"]) == ["GOOD-2"]


def test_ctrl_c_stops_a_page_of_nested_forms(tmp_path):
    pdf = nested_forms_pdf(tmp_path / "bomb.pdf")
    cat = write_catalog(tmp_path / "x.yaml", ["GOOD-2"])
    p = subprocess.Popen([sys.executable, "-m", "locator", str(pdf), "-p", str(cat),
                          "--no-cache", "--workers", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    children: set[int] = set()
    deadline = time.time() + 60
    while not children and time.time() < deadline and p.poll() is None:
        children = _children(p.pid)  # the process interpreting the page
        time.sleep(0.05)
    assert children, p.communicate()
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [c for c in children if alive(c)]


def test_batch_goes_on_with_the_good_files_past_nested_forms(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    nested_forms_pdf(folder / "bomb.pdf")
    nested_forms_pdf(folder / "mixed.pdf", good="GOOD-2")
    page_pdf(folder / "good.pdf", 1)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-1", "GOOD-2"])
    out = tmp_path / "h.csv"
    code, _, err = _run(["batch", folder, "-p", cat, "-o", out, "--tile-timeout", "2",
                         "--no-cache", "--workers", "2", "--dpi", "72", "-q"], timeout=120)
    assert code == 0, err
    import pandas as pd

    df = pd.read_csv(out)
    assert sorted(df["matched"]) == ["CODE-1", "GOOD-2"]
    assert "bomb.pdf" in err and "could not be interpreted in 2 s" in err


# -- issue 18, conventions: the Python API ------------------------------------------------------

_API_FAST = dict(engine="envfake", dpi=72, rotations=(0,), source="ocr", cache=False,
                 workers=1)


def test_locate_takes_a_list_of_paths(tmp_path, monkeypatch):
    import locator
    from tests.faulty import steer

    steer(monkeypatch, word="CODE-X")
    a = page_pdf(tmp_path / "a.pdf", 1)
    b = page_pdf(tmp_path / "b.pdf", 2)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    df = locator.locate([a, str(b)], cat, **_API_FAST)
    assert sorted(df["file"]) == [str(a), str(b), str(b)]
    one = locator.locate([a], cat, **_API_FAST)  # a list of one is still a list
    assert list(one["file"]) == [str(a)]


@pytest.mark.parametrize("bad, says", [
    (dict(dpi="high"), "dpi='high': must be a number, not str"),
    (dict(tile=1600.5), "tile=1600.5: must be a whole number"),
    (dict(workers=True), "workers=True: must be a whole number, not bool"),
    (dict(skip_blank="no"), "skip_blank='no': must be true or false"),
    (dict(rotations=("90",)), "rotations=('90',): must be degrees"),
    (dict(password=1234), "password=1234: must be text"),
])
def test_a_setting_of_the_wrong_type_is_a_clear_usage_error(tmp_path, bad, says):
    import locator
    from locator.errors import UsageError

    pdf = page_pdf(tmp_path / "a.pdf", 1)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    with pytest.raises(UsageError) as e:
        locator.locate(pdf, cat, **bad)
    assert says in str(e.value)


@pytest.mark.parametrize("bad", [3, None, [b"a.pdf"], []])
def test_a_path_that_names_no_document_is_a_usage_error(tmp_path, bad):
    import locator
    from locator.errors import UsageError

    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    with pytest.raises(UsageError, match="path"):
        locator.locate(bad, cat)
