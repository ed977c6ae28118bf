"""Engine faults and interruptions: a tile whose OCR crashes, hangs or returns
garbage is retried once, then recorded (summary, workbook, --warnings table)
and the rest of the document still comes back; Ctrl-C and killed workers
leave no half-written output, and a rerun resumes from the OCR cache."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pymupdf
import pytest

from locator.cli import main
from locator.engines.base import OcrWord, checked_words, read_checked
from locator.errors import EngineError
from locator.geometry import Box, PageFrame
from locator.pipeline import RunReport, read_document, run
from locator.settings import Settings
from tests.conftest import write_catalog
from tests.fakes import ScriptedEngine
from tests.faulty import GARBAGE, REPAIRABLE, Faulty, page_pdf, steer

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[1]

# -- engine output checked in one place ------------------------------------------------


def test_garbage_words_are_dropped_and_repairable_ones_cleaned():
    words, note = checked_words(GARBAGE + REPAIRABLE, 100, 80, "eng")
    assert [(w.text, w.conf, w.box) for w in words] == [
        ("EDGE-1", 90.0, Box(0, 0, 20, 12)),
        ("FLIP-1", 100.0, Box(10, 12, 30, 20)),
        ("CTRL-1", 0.0, Box(40, 40, 60, 50)),
        ("TUP-1", 77.0, Box(40, 60, 70, 70)),
    ]
    assert note == (f"eng returned garbage: {len(GARBAGE)} unusable word(s) dropped, "
                    f"3 repaired (box clipped to the image or put in order, confidence out "
                    f"of 0-100, control characters)")
    assert checked_words([OcrWord("OK", 50, Box(1, 2, 3, 4))], 10, 10, "e") == (
        [OcrWord("OK", 50.0, Box(1, 2, 3, 4))], None)


@pytest.mark.parametrize("answer", [None, "FIC-101", 42, OcrWord("A", 1, Box(0, 0, 1, 1))])
def test_an_answer_that_is_not_a_list_of_words_is_an_engine_error(answer):
    with pytest.raises(EngineError, match="not a list of words"):
        checked_words(answer, 10, 10, "eng")


def test_a_crash_inside_the_engine_or_its_answer_is_an_engine_error():
    import numpy as np

    class Crashes:
        name = "crashy"

        def read(self, image, *, dpi):
            return [][1]

    class BadIterator(Crashes):
        def read(self, image, *, dpi):
            yield OcrWord("A", 90, Box(0, 0, 1, 1))
            raise OSError("pipe closed")

    img = np.zeros((10, 10), np.uint8)
    with pytest.raises(EngineError, match="crashy: crashed: IndexError"):
        read_checked(Crashes(), img, dpi=72)
    with pytest.raises(EngineError, match="crashy: crashed while returning .*pipe closed"):
        read_checked(BadIterator(), img, dpi=72)


# -- a faulty engine in this process (the serial path) -------------------------------

DPI, TILE, OVERLAP = 72, 400, 100
W, H = 1000, 700  # 3 x 2 tiles
# one word in the middle of each tile, away from every overlap
TILE_WORDS = {1: [("A-100", Box(100, 100, 150, 108)), ("B-200", Box(480, 100, 530, 108)),
                  ("C-300", Box(800, 100, 850, 108)), ("D-400", Box(100, 600, 150, 608)),
                  ("E-500", Box(480, 600, 530, 608)), ("F-600", Box(800, 600, 850, 608))]}
ALL_WORDS = [t for t, _ in TILE_WORDS[1]]


@pytest.fixture
def blank(tmp_path):
    doc = pymupdf.open()
    doc.new_page(width=W, height=H)
    doc.save(tmp_path / "blank.pdf")
    return tmp_path / "blank.pdf"


def _read(pdf, faults, **kw):
    inner = ScriptedEngine(TILE_WORDS, {1: PageFrame(W, H)}, dpi=DPI, tile=TILE,
                           overlap=OVERLAP)
    eng = Faulty(inner, faults)
    s = Settings(dpi=DPI, tile=TILE, overlap=OVERLAP, rotations=(0,), skip_blank=False,
                 text_regions=False, clean=False, **kw)
    report = RunReport(file=str(pdf))
    t0 = time.perf_counter()
    words = read_document(pdf, s, engines=[eng], report=report)
    return [w.text for w in words], report, eng, time.perf_counter() - t0


@pytest.mark.parametrize("kind", ["raise", "none", "hang"])
def test_a_tile_that_fails_once_is_read_on_the_retry(blank, kind):
    words, report, eng, _ = _read(blank, {2: (kind, 1)}, tile_timeout=0.2)
    assert sorted(words) == ALL_WORDS
    assert report.tiles_read == report.tiles == 6
    assert (2, kind) in eng.log and eng.log.count((2, "ok")) == 1
    assert len(report.warnings) == 1 and "read on the second attempt" in report.warnings[0]


@pytest.mark.parametrize("kind,why", [("raise", "ZeroDivisionError: simulated crash"),
                                      ("none", "returned NoneType, not a list of words"),
                                      ("hang", "timed out after 0.4 s")])
def test_a_tile_that_fails_twice_is_recorded_and_the_rest_comes_back(blank, kind, why):
    words, report, eng, secs = _read(blank, {3: (kind, 2)}, tile_timeout=0.2)
    assert sorted(words) == [w for w in ALL_WORDS if w != "D-400"]  # tile 3 holds D-400
    assert report.tiles_read == 5 and report.tiles == 6
    assert eng.log.count((3, kind)) == 2  # tried, retried, given up
    [w] = report.warnings
    assert why in w and "(after one retry)" in w and "words there are missing" in w
    assert (w.page, w.tile, w.file) == (1, "0,300,400,700", str(blank))
    assert secs < 5


def test_garbage_is_dropped_the_tile_kept_and_the_garbage_reported(blank):
    words, report, _, _ = _read(blank, {4: ("garbage", 1)})
    # the real word of tile 4 and the repaired garbage words; nothing unusable
    assert {"E-500", "EDGE-1", "FLIP-1", "CTRL-1", "TUP-1"} <= set(words)
    assert not {"NAN-1", "NAN-2", "INF-1", "OUT-1", "OUT-2", "FLAT-1", "BOX-1"} & set(words)
    assert report.tiles_read == 6
    [w] = report.warnings
    assert f"{len(GARBAGE)} unusable word(s) dropped" in w and w.page == 1


def test_every_tile_failing_still_returns_a_report(blank):
    words, report, _, _ = _read(blank, {t: ("raise", 2) for t in range(6)})
    assert words == [] and report.tiles_read == 0 and len(report.warnings) == 6


def test_the_alarm_puts_back_the_timer_it_found(blank):
    """pytest-timeout's own alarm (60 s) is running: the tile's shorter one
    nests inside it and the outer one is restored, less the time spent."""
    handler = signal.getsignal(signal.SIGALRM)
    before = signal.getitimer(signal.ITIMER_REAL)[0]
    _, _, _, secs = _read(blank, {1: ("hang", 1)}, tile_timeout=0.2)
    after = signal.getitimer(signal.ITIMER_REAL)[0]
    assert signal.getsignal(signal.SIGALRM) is handler
    if before:
        assert before - secs - 0.5 < after <= before - secs + 0.01
    else:
        assert after == 0


def test_tile_timeout_setting_is_validated_and_given_to_tesseract():
    from locator.errors import UsageError
    from locator.pipeline import load_engines

    for bad in (-1, math.nan):
        with pytest.raises(UsageError, match="--tile-timeout"):
            Settings(tile_timeout=bad)
    assert Settings().tile_timeout == 120
    [eng] = load_engines(Settings(tile_timeout=7))
    assert eng.timeout == 7  # pytesseract's own timeout= kills a stuck tesseract


# -- faults in worker processes -----------------------------------------------------------


def _pages(tmp_path, n=4):
    pdf = page_pdf(tmp_path / "pages.pdf", n)
    cat = write_catalog(tmp_path / "codes.yaml", [f"CODE-{k}" for k in range(1, n + 1)])
    return pdf, cat


def _proc_settings(tmp_path, **kw):
    return Settings(dpi=72, engine=("envfake",), workers=2, rotations=(0,), skip_blank=False,
                    text_regions=False, clean=False, source="ocr",
                    cache_dir=str(tmp_path / "cache"), **kw)


def test_worker_crash_is_retried_then_recorded(tmp_path, monkeypatch):
    pdf, cat = _pages(tmp_path)
    steer(monkeypatch, fault="raise", pages=[2])
    r = run(pdf, cat, _proc_settings(tmp_path))
    assert sorted(h.pattern_id for h in r.hits) == ["CODE-1", "CODE-3", "CODE-4"]
    [w] = r.report.warnings
    assert w.page == 2 and "simulated crash on page 2" in w and "after one retry" in w


def test_a_worker_stuck_beyond_the_alarm_is_stopped_and_the_rest_comes_back(tmp_path,
                                                                             monkeypatch):
    pdf, cat = _pages(tmp_path)
    steer(monkeypatch, fault="hang-hard", pages=[3])
    t0 = time.perf_counter()
    r = run(pdf, cat, _proc_settings(tmp_path, tile_timeout=0.2))
    assert time.perf_counter() - t0 < 20
    assert sorted(h.pattern_id for h in r.hits) == ["CODE-1", "CODE-2", "CODE-4"]
    [w] = r.report.warnings
    assert w.page == 3 and "OCR hung" in w and "after one retry" in w
    # the page with the hung tile is not cached; the others are
    steer(monkeypatch)
    r = run(pdf, cat, _proc_settings(tmp_path))
    assert r.report.pages_cached == 3 and len(r.hits) == 4


def test_a_killed_worker_is_a_clear_error_and_the_cache_keeps_finished_pages(tmp_path,
                                                                            monkeypatch):
    pdf, cat = _pages(tmp_path)
    steer(monkeypatch, fault="kill", pages=[4], before=1.0)
    with pytest.raises(EngineError, match="worker process died") as ei:
        run(pdf, cat, _proc_settings(tmp_path))
    assert ei.value.exit_code == 7
    steer(monkeypatch)
    r = run(pdf, cat, _proc_settings(tmp_path))
    assert r.report.pages_cached >= 2 and len(r.hits) == 4


# -- through the command line -------------------------------------------------------------


def cli(capsys, *args):
    from locator.cli import err

    old, err.width = err.width, 400  # long warnings on one line
    try:
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in args])
    finally:
        err.width = old
    cap = capsys.readouterr()
    return e.value.code, cap.out, cap.err


CLI_FAST = ["--engine", "envfake", "--dpi", "72", "--rotations", "0", "--source", "ocr",
            "--no-cache"]


def test_cli_failed_tile_in_summary_warnings_table_and_workbook(capsys, tmp_path, monkeypatch):
    pdf, _ = _pages(tmp_path, 3)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    # one engine call per page (the page's text regions, in one mosaic), in page
    # order: calls 1 and 2 are page 2 and its retry
    steer(monkeypatch, fault="raise", calls=[1, 2], word="CODE-X")
    out, warn = tmp_path / "hits.csv", tmp_path / "warnings.csv"
    code, _, err = cli(capsys, pdf, "--patterns", cat, "-o", out, "--warnings", warn,
                       "--workers", "1", *CLI_FAST)
    assert code == 0, err
    assert sorted(pd.read_csv(out)["page"]) == [1, 3]
    assert "simulated crash" in err and "warning" in err  # the summary
    df = pd.read_csv(warn)
    assert list(df.columns) == ["file", "page", "tile", "message"]
    [row] = df.itertuples()
    assert (row.file, row.page) == (str(pdf), 2) and row.tile.count(",") == 3
    assert "simulated crash" in row.message and "after one retry" in row.message
    # the review workbook's Summary sheet lists it too
    xlsx = tmp_path / "review.xlsx"
    code, _, err = cli(capsys, pdf, "--patterns", cat, "-o", xlsx, "--workers", "1",
                       *CLI_FAST)
    assert code == 0, err
    import openpyxl

    ws = openpyxl.load_workbook(xlsx)["Summary"]
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert any("simulated crash" in c for c in cells)


def test_cli_clean_run_writes_an_empty_warnings_table(capsys, tmp_path, monkeypatch):
    pdf, _ = _pages(tmp_path, 2)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    steer(monkeypatch, word="CODE-X")
    warn = tmp_path / "w.json"
    code, _, err = cli(capsys, pdf, "--patterns", cat, "--warnings", warn, "-q", *CLI_FAST)
    assert code == 0, err
    assert json.loads(warn.read_text()) == []


def test_cli_warnings_option_and_tile_timeout_are_checked_before_any_work(capsys, tmp_path,
                                                                          monkeypatch):
    pdf, cat = _pages(tmp_path, 2)
    steer(monkeypatch, fault="kill")  # would end the run if anything were read
    code, _, err = cli(capsys, pdf, "--patterns", cat, "--warnings", tmp_path / "w.txt",
                       *CLI_FAST)
    assert code == 2 and "--warnings" not in err or "unknown format" in err
    code, _, err = cli(capsys, pdf, "--patterns", cat, "--tile-timeout", "-3", *CLI_FAST)
    assert code == 2 and "--tile-timeout" in err


def test_cli_killed_worker_exits_7_with_one_line(capsys, tmp_path, monkeypatch):
    pdf, cat = _pages(tmp_path, 3)
    steer(monkeypatch, fault="kill")
    out = tmp_path / "hits.csv"
    code, _, err = cli(capsys, pdf, "--patterns", cat, "-o", out, "--workers", "2", *CLI_FAST)
    assert code == 7
    assert err.strip().splitlines() == [
        "locate: error: an OCR worker process died (out of memory, or killed); pages "
        "finished before it are in the OCR cache"]
    assert not out.exists() and not list(tmp_path.glob(".hits*"))


def test_batch_goes_on_past_documents_that_fail_entirely(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    page_pdf(folder / "good.pdf", 2)
    raw = (folder / "good.pdf").read_bytes()
    (folder / "cut.pdf").write_bytes(raw[: len(raw) // 4])  # damaged beyond repair
    doc = pymupdf.open()
    doc.new_page()
    doc.save(folder / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="pw",
             owner_pw="pw2")
    cat = write_catalog(tmp_path / "codes.yaml", ["CODE-X"])
    steer(monkeypatch, word="CODE-X")
    out, warn = tmp_path / "hits.csv", tmp_path / "warnings.csv"
    code, _, err = cli(capsys, "batch", folder, "--patterns", cat, "-o", out, "--warnings", warn,
                       "--engine", "envfake", "--dpi", "72", "--workers", "1", "--no-cache",
                       "--source", "ocr")
    assert code == 0, err
    df = pd.read_csv(out)
    assert sorted(df["page"]) == [1, 2]
    assert set(df["file"]) == {str(folder / "good.pdf")}
    assert "2 failed" in err and "cut.pdf" in err and "locked.pdf" in err
    w = pd.read_csv(warn)
    failed = w[w["message"].str.startswith("failed")]
    assert sorted(Path(f).name for f in failed["file"]) == ["cut.pdf", "locked.pdf"]
    assert "encrypted" in " ".join(failed["message"])


# -- interruption ----------------------------------------------------------------------------

_LOCATE = ("import sys; from locator.engines import base; "
           "base.register('envfake', 'tests.faulty:EnvEngine'); "
           "from locator.cli import main; main(sys.argv[1:])")


def _default_sigint():
    # as an interactive shell starts a command; a background job (CI, `cmd &`)
    # inherits SIGINT ignored, and Python then never raises KeyboardInterrupt
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _locate(args, env):
    return subprocess.Popen([sys.executable, "-c", _LOCATE, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_leaves_no_output_exits_130_and_the_rerun_resumes(tmp_path, workers):
    pages = 12  # enough that a loaded machine cannot finish them all before the signal lands
    pdf, _ = _pages(tmp_path, pages)
    cat = write_catalog(tmp_path / "x.yaml", ["CODE-X"])
    cache = tmp_path / "cache"

    def entries():  # written entries; an entry being written is a hidden ".NAME.XXXX.part.json"
        return [e for e in cache.rglob("*.json") if ".part" not in e.name]

    env = {**os.environ, "LOCATOR_FAKE_ENGINE": '{"delay": 0.25, "word": "CODE-X"}',
           "LOCATOR_CACHE_DIR": str(cache)}
    out = tmp_path / "out" / "hits.csv"
    out.parent.mkdir()
    args = [pdf, "--patterns", cat, "-o", out, "--engine", "envfake", "--dpi", "72",
            "--rotations", "0", "--source", "ocr", "--workers", workers,
            "--warnings", tmp_path / "out" / "warnings.csv"]
    p = _locate(args, env)
    deadline = time.time() + 30
    while len(entries()) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert p.poll() is None, p.communicate()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 130, err
    assert err.strip().endswith("locate: interrupted") and "Traceback" not in err
    assert list((tmp_path / "out").iterdir()) == []  # no output, no partial file
    assert not list(cache.rglob("*.part*"))
    done = len(entries())
    assert 2 <= done < pages
    if workers == 1:
        return  # (the rerun is the same for both)
    # the rerun reads only the pages not finished before the interrupt
    p = _locate(args, env)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert f"{done} page(s) from the OCR cache" in " ".join(err.split())
    assert sorted(pd.read_csv(out)["page"]) == list(range(1, pages + 1))


# -- exit codes: the README's table, errors.py and what main() does agree ------------------


def _readme_codes() -> dict[int, str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| ")]
    return {int(r[1]): r[2].strip() for r in rows if r[1].strip().isdigit()}


def _error_classes(*, refinements: bool = False):
    """The kinds of error: each class with an exit code of its own; with
    ``refinements`` instead the classes that keep their base's code
    (TooLargeError: a usage error that a web client is told as 413)."""
    from locator import errors

    return [c for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, errors.LocatorError)
            and c is not errors.LocatorError
            and (c.exit_code == c.__mro__[1].exit_code) == refinements]


def test_a_refined_error_is_told_apart_by_its_http_status_only():
    from locator.errors import http_status

    refined = _error_classes(refinements=True)
    assert refined  # TooLargeError at least
    for c in refined:
        assert c.exit_code == c.__mro__[1].exit_code
        assert http_status(c("x")) != http_status(c.__mro__[1]("x")), c


def test_the_readme_lists_one_exit_code_per_kind_of_error():
    from locator.errors import INTERNAL_ERROR_EXIT_CODE, INTERRUPTED_EXIT_CODE

    codes = _readme_codes()
    kinds = {c.exit_code: c for c in _error_classes()}
    assert len(kinds) == len(_error_classes())  # no two kinds share a code
    assert set(codes) == {0, INTERNAL_ERROR_EXIT_CODE, INTERRUPTED_EXIT_CODE} | set(kinds)
    assert "internal" in codes[INTERNAL_ERROR_EXIT_CODE]
    assert "interrupted" in codes[INTERRUPTED_EXIT_CODE]


@pytest.mark.parametrize("raised,code", [(c("boom"), c.exit_code) for c in _error_classes()]
                         + [(KeyboardInterrupt(), 130), (ValueError("bug"), 1)])
def test_main_turns_each_kind_of_error_into_its_code_and_one_line(capsys, tmp_path,
                                                                  monkeypatch, raised, code):
    import locator.pipeline

    pdf, cat = _pages(tmp_path, 1)

    def fail(*a, **k):
        raise raised

    monkeypatch.setattr(locator.pipeline, "run", fail)
    got, _, err = cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "h.csv")
    assert got == code
    [line] = err.strip().splitlines()
    assert line.startswith("locate: ") and "Traceback" not in err
    assert not (tmp_path / "h.csv").exists()


def test_an_output_folder_that_cannot_be_written_is_exit_8(capsys, tmp_path, monkeypatch):
    import tempfile

    pdf, cat = _pages(tmp_path, 1)
    steer(monkeypatch, word="CODE-1")

    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", full_disk)
    code, _, err = cli(capsys, pdf, "--patterns", cat, "-o", tmp_path / "h.csv", *CLI_FAST)
    assert code == 8 and "No space left on device" in err


def test_batch_killed_worker_is_exit_7(capsys, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    page_pdf(folder / "a.pdf", 2)
    page_pdf(folder / "b.pdf", 2)
    cat = write_catalog(tmp_path / "codes.yaml", ["CODE-X"])
    steer(monkeypatch, fault="kill")
    code, _, err = cli(capsys, "batch", folder, "--patterns", cat, "-o", tmp_path / "h.csv",
                       "--engine", "envfake", "--dpi", "72", "--workers", "2", "--no-cache",
                       "--source", "ocr", "-q")
    assert code == 7 and "worker process died" in err
    assert not (tmp_path / "h.csv").exists()


@pytest.mark.parametrize("backend, limit", [("cli", 0.02), ("api", 0.001)])
def test_real_tesseract_gets_the_tile_timeout(tmp_path, monkeypatch, backend, limit):
    # The binary cannot start in 20 ms; in process, 1 ms is Tesseract's own
    # deadline (its monitor), which stops recognition.
    monkeypatch.setenv("LOCATOR_TESSERACT", backend)
    pdf, cat = _pages(tmp_path, 1)
    s = Settings(dpi=100, rotations=(0,), source="ocr", workers=1, cache=False,
                 tile_timeout=limit)
    r = run(pdf, cat, s)
    [w] = r.report.warnings
    assert "timed out after" in w and "(after one retry)" in w and w.page == 1


def test_real_tesseract_in_workers_after_reading_in_this_process(tmp_path):
    # A batch may read one file here (the model then waits, loaded, in this
    # process) and the next in worker processes forked from it: the workers
    # must read with it (or their own) and give the same codes, not hang.
    pdf, cat = _pages(tmp_path, 3)
    serial = run(pdf, cat, Settings(dpi=150, rotations=(0,), source="ocr", workers=1, cache=False))
    forked = run(pdf, cat, Settings(dpi=150, rotations=(0,), source="ocr", workers=2, cache=False))
    codes = sorted(h.matched for h in serial.hits)
    assert codes == ["CODE-1", "CODE-2", "CODE-3"]
    assert sorted(h.matched for h in forked.hits) == codes


def test_run_warnings_survive_pickling_and_name_their_file():
    import pickle

    from locator.model import RunWarning, in_file, warning_row

    w = RunWarning("page 3 tile at (0, 0) px: boom", file="a.pdf", page=3, tile="0,0,9,9",
                   message="boom")
    back = pickle.loads(pickle.dumps(w))
    assert back == w and (back.file, back.page, back.tile, back.message) == (
        "a.pdf", 3, "0,0,9,9", "boom")
    moved = in_file(w, "b.pdf")
    assert moved == "b.pdf: page 3 tile at (0, 0) px: boom" and moved.file == "b.pdf"
    assert warning_row("page 7: its MediaBox is empty", "c.pdf") == {
        "file": "c.pdf", "page": 7, "tile": None, "message": "its MediaBox is empty"}
    assert in_file("OCR cache not written", "d.pdf").page is None
