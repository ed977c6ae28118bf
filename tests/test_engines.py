"""Engines behind one interface: the registry, missing extras, line->word splitting,
merging several engines' reads, and every engine read for real on generated pages.

The real-engine tests are few and small (EasyOCR loads in seconds and reads
slowly on a shared 2-core CPU): one short strip of codes per engine, rendered
with PyMuPDF at a known resolution, checked word by word against the ink.
"""

from __future__ import annotations

import sys

import numpy as np
import pymupdf
import pytest

from locator.engines import available, get_engine, parse_engine_list
from locator.engines._split import otsu_threshold, split_line
from locator.errors import MissingEngineError
from locator.geometry import Box
from locator.merge import Candidate, merge_page
from locator.model import Word

# -- generated images ----------------------------------------------------------

# (text, x, baseline y, size pt): a strip of codes 4.5-9 pt, one line of two words.
STRIP = [("FIC-101", 12, 22, 8), ("PT-2034", 110, 22, 6), ("LV-3307", 200, 24, 9),
         ("HS-6620", 12, 52, 5), ("XY-55210-K", 80, 54, 7), ("TAG 4410 B", 190, 54, 7)]


def render_strip(codes=STRIP, *, dpi: float = 200, width: float = 300, height: float = 70,
                 noise: bool = False):
    """A grey image of ``codes`` drawn at ``dpi`` and each word's ink box (image pixels).

    The truth is the ink inside each word's text-layer box, so it is what a tight
    box must be, not the font's line height.
    """
    doc = pymupdf.open()
    page = doc.new_page(width=width, height=height)
    for text, x, y, size in codes:
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
    pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
    img = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.stride)[:, :pix.width].copy()
    s = dpi / 72.0
    truth = {}
    for x0, y0, x1, y1, text, *_ in page.get_text("words"):
        a, b = int(x0 * s), int(y0 * s)
        c, d = int(np.ceil(x1 * s)), int(np.ceil(y1 * s))
        ys, xs = np.nonzero(img[b:d, a:c] < 128)
        truth[text] = Box(a + xs.min(), b + ys.min(), a + xs.max() + 1, b + ys.max() + 1)
    if noise:  # a scan's grain and a little blur of contrast
        rng = np.random.default_rng(7)
        img = np.clip(img.astype(np.int16) + rng.normal(0, 18, img.shape), 0, 255).astype(np.uint8)
    return img, truth


def assert_words(words, truth, *, tol_px: float, must: set[str] | None = None):
    """Every word of ``must`` (default: all) read exactly, its box within ``tol_px`` of the ink."""
    must = set(truth) if must is None else must
    got = {}
    for w in words:
        got.setdefault(w.text, []).append(w)
    missing = sorted(must - set(got))
    assert not missing, f"not read: {missing}; read: {sorted(got)}"
    for text in must:
        t = truth[text]
        best = min(got[text], key=lambda w: abs(w.box.x0 - t.x0) + abs(w.box.y0 - t.y0))
        err = max(abs(best.box.x0 - t.x0), abs(best.box.y0 - t.y0),
                  abs(best.box.x1 - t.x1), abs(best.box.y1 - t.y1))
        assert err <= tol_px, f"{text}: box {best.box} is {err:.1f} px from the ink {t}"
        assert 0 <= best.conf <= 100


# -- registry and missing extras ---------------------------------------------------

def test_registry_names_every_engine():
    assert {"tesseract", "easyocr", "rapidocr"} <= set(available())
    assert parse_engine_list("tesseract, EasyOCR") == ("tesseract", "easyocr")


@pytest.mark.parametrize("engine, module, extra", [
    ("easyocr", "easyocr", "easyocr"),
    ("easyocr", "easyocr_en_models", "easyocr"),
    ("easyocr", "torch", "easyocr"),
    ("rapidocr", "rapidocr", "rapidocr"),
    ("rapidocr", "onnxruntime", "rapidocr"),
])
def test_missing_extra_is_a_clear_missing_engine_error(monkeypatch, engine, module, extra):
    # A None entry makes `import module` raise ImportError, as if not installed.
    # The engine's heavy packages must not be imported yet for this to bite.
    for name in list(sys.modules):
        if name == module or name.startswith(module + ".") or \
                name.split(".")[0] in ("easyocr", "rapidocr"):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingEngineError) as e:
        get_engine(engine)
    assert f"pip install 'locator[{extra}]'" in str(e.value)
    assert e.value.exit_code == 6


# -- splitting a line box into word boxes --------------------------------------------

def _line_quad(truth, texts, pad=4):
    b = Box.union_all([truth[t] for t in texts])
    return [[b.x0 - pad, b.y0 - pad], [b.x1 + pad, b.y0 - pad],
            [b.x1 + pad, b.y1 + pad], [b.x0 - pad, b.y1 + pad]]


@pytest.mark.parametrize("noise", [False, True])
def test_split_line_gives_tight_word_boxes(noise):
    img, truth = render_strip(noise=noise)
    words = split_line(img, _line_quad(truth, ["TAG", "4410", "B"]), "TAG 4410 B", 88.0)
    assert [w.text for w in words] == ["TAG", "4410", "B"]
    assert all(w.conf == 88.0 for w in words)
    assert_words(words, truth, tol_px=1.5, must={"TAG", "4410", "B"})


def test_split_line_of_two_codes_cuts_at_the_space_not_the_hyphen():
    img, truth = render_strip()
    # A padded line box holding two codes, as a detector merges a row of labels.
    quad = _line_quad(truth, ["HS-6620", "XY-55210-K"], pad=6)
    words = split_line(img, quad, "HS-6620 XY-55210-K", 70.0)
    assert [w.text for w in words] == ["HS-6620", "XY-55210-K"]
    assert_words(words, truth, tol_px=1.5, must={"HS-6620", "XY-55210-K"})


def test_split_line_drops_a_neighbours_ink_in_the_padding():
    img, truth = render_strip([("FIC-101", 12, 22, 8), ("PT-2034", 45, 22, 8)])
    t = truth["PT-2034"]
    # A detector's padded box reaching 2 px into the end of FIC-101's last glyph.
    left = truth["FIC-101"].x1 - 2
    quad = [[left, t.y0 - 3], [t.x1 + 2, t.y0 - 3], [t.x1 + 2, t.y1 + 3], [left, t.y1 + 3]]
    words = split_line(img, quad, "PT-2034", 90.0)
    assert_words(words, truth, tol_px=1.5, must={"PT-2034"})


def test_a_line_cut_by_the_image_border_keeps_its_edge_ink_and_reaches_the_border():
    img, truth = render_strip()
    t = truth["XY-55210-K"]
    # The tile edge falls inside the code: only a sliver of the last glyph shows.
    edge = int(t.x0 + 0.55 * t.width)
    cut = np.ascontiguousarray(img[:, :edge])
    quad = [[t.x0 - 3, t.y0 - 3], [edge, t.y0 - 3], [edge, t.y1 + 3], [t.x0 - 3, t.y1 + 3]]
    [w] = split_line(cut, quad, "XY-552", 90.0)
    assert w.box.x1 == edge  # touches the border: the pipeline knows it is cut
    assert abs(w.box.x0 - t.x0) <= 1.5
    # ... even when the cut falls in a blank gap between two letters
    gap_edge = edge + next(i for i in range(40) if (img[int(t.y0):int(t.y1), edge + i] > 128).all())
    cut = np.ascontiguousarray(img[:, :gap_edge + 1])
    [w] = split_line(cut, [[t.x0 - 3, t.y0 - 3], [gap_edge + 1, t.y0 - 3],
                           [gap_edge + 1, t.y1 + 3], [t.x0 - 3, t.y1 + 3]], "XY-552", 90.0)
    assert w.box.x1 == gap_edge + 1


def test_split_line_without_ink_shares_by_characters():
    img = np.full((20, 100), 255, np.uint8)
    words = split_line(img, [[0, 0], [100, 0], [100, 20], [0, 20]], "AB CD", 50.0)
    assert [w.text for w in words] == ["AB", "CD"]
    assert words[0].box == Box(0, 0, 40, 20) and words[1].box == Box(60, 0, 100, 20)


def test_split_upright_line_reads_down_the_page():
    img, truth = render_strip()
    turned = np.ascontiguousarray(np.rot90(img, k=-1))  # text now runs top to bottom
    h = img.shape[0]
    t = Box.union_all([truth["TAG"], truth["4410"], truth["B"]])
    # (x, y) -> (h - y, x) under a clockwise turn
    quad = [[h - t.y1 - 3, t.x0 - 3], [h - t.y0 + 3, t.x0 - 3],
            [h - t.y0 + 3, t.x1 + 3], [h - t.y1 - 3, t.x1 + 3]]
    words = split_line(turned, quad, "TAG 4410 B", 80.0)
    assert [w.text for w in words] == ["TAG", "4410", "B"]
    for w in words:
        e = truth[w.text]
        want = Box(h - e.y1, e.x0, h - e.y0, e.x1)
        assert max(abs(a - b) for a, b in zip(
            (w.box.x0, w.box.y0, w.box.x1, w.box.y1),
            (want.x0, want.y0, want.x1, want.y1))) <= 1.5, (w, want)


def test_split_slanted_line_by_characters_within_its_quad():
    img = np.full((200, 200), 255, np.uint8)
    quad = [[10, 100], [110, 60], [118, 80], [18, 120]]  # a 22-degree line
    words = split_line(img, quad, "AB CD", 60.0)
    assert [w.text for w in words] == ["AB", "CD"]
    assert words[0].box.x0 < words[1].box.x0 and words[0].box.y1 > words[1].box.y1
    for w in words:
        assert 10 <= w.box.x0 < w.box.x1 <= 118 and 60 <= w.box.y0 < w.box.y1 <= 120


def test_otsu_splits_ink_from_paper():
    a = np.array([20] * 50 + [230] * 200, np.uint8)
    assert 20 < otsu_threshold(a) <= 230


# -- merging several engines' reads ------------------------------------------------

def _w(text, box, conf=80.0, engine="tesseract", angle=0):
    return Word(text=text, conf=conf, box=box, page=1, engine=engine, angle=angle)


B = Box(100, 100, 140, 108)
B2 = Box(100.6, 99.7, 140.4, 108.2)  # the same place as another engine boxes it


def _merge(*words, cut=False):
    return merge_page([Candidate(w, cut) for w in words])


def test_agreeing_engines_make_one_word_with_both_names_and_more_confidence():
    out = _merge(_w("FIC-101", B, 80, "tesseract"), _w("FIC-101", B2, 60, "easyocr"))
    assert len(out) == 1
    assert out[0].engine == "easyocr+tesseract"
    assert out[0].conf == pytest.approx(92.0)  # 1 - 0.2 * 0.4
    assert out[0].box == B  # the more confident read's box


def test_agreement_ignores_case_and_keeps_the_more_confident_text():
    out = _merge(_w("Fic-101", B, 50, "tesseract"), _w("FIC-101", B2, 90, "easyocr"))
    assert [(w.text, w.engine) for w in out] == [("FIC-101", "easyocr+tesseract")]


def test_an_engine_joining_twice_adds_no_confidence():
    out = _merge(_w("FIC-101", B, 80, "tesseract"), _w("FIC-101", B2, 60, "easyocr"),
                 _w("FIC-101", B, 50, "easyocr"))  # the overlapping tile's copy
    assert len(out) == 1 and out[0].conf == pytest.approx(92.0)


def test_a_code_only_one_engine_read_is_kept_with_that_engine():
    other = Box(300, 100, 330, 108)
    out = _merge(_w("FIC-101", B, 80, "tesseract"), _w("PT-2034", other, 40, "easyocr"))
    assert {(w.text, w.engine) for w in out} == {("FIC-101", "tesseract"),
                                                 ("PT-2034", "easyocr")}


@pytest.mark.parametrize("right_conf, wrong_conf", [(90, 60), (60, 90)])
def test_disagreeing_engines_keep_both_readings(right_conf, wrong_conf):
    """The right reading survives whichever engine is the more confident."""
    out = _merge(_w("FIC-101", B, right_conf, "tesseract"),
                 _w("FIC-1O7", B2, wrong_conf, "easyocr"))
    assert {(w.text, w.engine) for w in out} == {("FIC-101", "tesseract"),
                                                 ("FIC-1O7", "easyocr")}


def test_a_third_engine_agreeing_joins_the_right_reading():
    out = _merge(_w("FIC-101", B, 70, "tesseract"), _w("FIC-1O7", B2, 90, "easyocr"),
                 _w("FIC-101", B2, 80, "rapidocr"))
    assert {(w.text, w.engine) for w in out} == {("FIC-101", "rapidocr+tesseract"),
                                                 ("FIC-1O7", "easyocr")}


def test_an_engine_that_also_read_the_other_text_drops_its_alternative():
    out = _merge(_w("FIC-101", B, 90, "tesseract"), _w("FIC-1O7", B2, 70, "easyocr"),
                 _w("FIC-101", B, 60, "easyocr"))  # easyocr's read in the next tile
    assert [(w.text, w.engine) for w in out] == [("FIC-101", "easyocr+tesseract")]


def test_one_engines_worse_reads_are_no_alternatives():
    out = _merge(_w("FIC-101", B, 90, "tesseract"),
                 _w("FIC-1O1", B2, 50, "tesseract"),  # overlap tile, worse read
                 _w("l1", Box(110, 96, 118, 112), 70, "tesseract", angle=90))  # rotation pass
    assert [(w.text, w.engine) for w in out] == [("FIC-101", "tesseract")]


def test_another_engine_in_another_direction_is_kept():
    out = _merge(_w("FIC-101", B, 90, "tesseract"),
                 _w("l1", Box(110, 96, 118, 112), 70, "easyocr", angle=90))
    assert sorted((w.text, w.engine) for w in out) == [("FIC-101", "tesseract"),
                                                       ("l1", "easyocr")]


def test_opposite_directions_keep_both_readings_even_from_one_engine():
    """The vertical mosaic reads each candidate both ways up; the upside-down
    misreading may be the more confident one."""
    v = Box(100, 100, 108, 140)
    out = _merge(_w("8861-33", v, 67, "easyocr", angle=270),
                 _w("FE-1938", Box(100.3, 100.2, 108, 139.5), 40, "easyocr", angle=90),
                 _w("FE-1938", v, 30, "easyocr", angle=90))  # the overlapping tile's copy
    assert sorted((w.text, w.angle) for w in out) == [("8861-33", 270), ("FE-1938", 90)]


def test_another_engines_fragment_inside_a_word_is_no_alternative():
    """Junk over part of a word would sit between the words of a two-word code."""
    xv, code = Box(100, 100, 108.5, 105), Box(110.5, 100, 137.6, 105.2)
    out = _merge(_w("XV", xv, 97, "easyocr"), _w("83702-24", code, 97, "easyocr"),
                 _w("XV", xv, 95, "tesseract"),
                 _w("pd", Box(110.5, 100.2, 117.3, 105.2), 18, "tesseract"),
                 _w("nae", Box(121.8, 100.2, 139.6, 110.8), 36, "tesseract"))
    assert [(w.text, w.engine) for w in out] == [("XV", "easyocr+tesseract"),
                                                 ("83702-24", "easyocr")]


def test_another_engines_fragments_do_not_outvote_a_whole_word():
    """Tesseract reads a vertical code upright as confident junk letters."""
    x0, x1 = 2677.2, 2681.8
    junk = [("N", 485.6, 488.8, 89), ("wo", 489.0, 492.1, 26), ("~", 492.2, 495.4, 57),
            ("bi", 495.6, 502.2, 46), ("ld", 502.7, 505.6, 7)]
    out = _merge(*[_w(t, Box(x0, a, x1, b), c, "tesseract") for t, a, b, c in junk],
                 _w("LI-4352", Box(x0, 485.6, 2681.9, 505.6), 58, "easyocr", angle=90))
    assert ("LI-4352", "easyocr", 90) in [(w.text, w.engine, w.angle) for w in out]


def test_a_cut_copy_from_another_engine_is_not_an_alternative():
    out = merge_page([Candidate(_w("FIC-101", B, 90, "tesseract"), False),
                      Candidate(_w("FIC-1", Box(100, 100, 118, 108), 95, "easyocr"), True)])
    assert [(w.text, w.engine) for w in out] == [("FIC-101", "tesseract")]


# -- every engine for real ---------------------------------------------------------

def test_tesseract_reads_the_strip():
    img, truth = render_strip(dpi=300, width=300, height=70)
    words = get_engine("tesseract").read(img, dpi=300)
    # Tesseract's word boxes are its own; small fonts are EasyOCR's and RapidOCR's case.
    assert_words(words, truth, tol_px=3, must={"FIC-101", "LV-3307", "XY-55210-K"})


def test_tesseract_in_process_reads_what_the_binary_reads():
    # The C API of the library the binary is built on, with the binary's
    # settings: the same words, boxes and confidences, sparse and block modes.
    from locator.engines.tesseract import TesseractEngine

    img, _ = render_strip(dpi=300, width=300, height=70)
    api, cli = TesseractEngine(backend="api"), TesseractEngine(backend="cli")
    assert (api.backend, cli.backend) == ("api", "cli")
    assert api.version() == cli.version()
    for read in ("read", "read_block"):
        a = getattr(api, read)(img, dpi=300)
        assert a and a == getattr(cli, read)(img, dpi=300)
    assert api.read(np.full((40, 60), 255, np.uint8), dpi=300) == []  # blank: no words, no error


def test_tesseract_backend_is_chosen_by_environment(monkeypatch):
    from locator.engines import _tessapi
    from locator.engines.tesseract import TesseractEngine
    from locator.errors import UsageError

    assert TesseractEngine().backend == "api"  # Debian's libtesseract is there
    monkeypatch.setenv("LOCATOR_TESSERACT", "cli")
    assert TesseractEngine().backend == "cli"
    monkeypatch.setenv("LOCATOR_TESSERACT", "gpu")
    with pytest.raises(UsageError, match="LOCATOR_TESSERACT"):
        TesseractEngine()
    # No library: auto falls back to the binary, which still reads; api refuses.
    monkeypatch.delenv("LOCATOR_TESSERACT")

    def gone():
        raise _tessapi.ApiUnavailable("libtesseract not found")
    monkeypatch.setattr(_tessapi, "_load", gone)
    eng = TesseractEngine()
    img, _ = render_strip(dpi=300, width=300, height=70)
    assert eng.backend == "cli" and "FIC-101" in {w.text for w in eng.read(img, dpi=300)}
    with pytest.raises(MissingEngineError, match="libtesseract"):
        TesseractEngine(backend="api")


def test_tesseract_model_outlives_its_engine_for_the_next_one():
    # A batch's next file, or the next run in a long-lived process, must not
    # load the model again; two engines alive at once never share one.
    from locator.engines.tesseract import TesseractEngine

    img, _ = render_strip(dpi=300, width=300, height=70)
    first = TesseractEngine(backend="api")
    first.read(img, dpi=300)
    model = first._api
    other = TesseractEngine(backend="api")
    other.read(img, dpi=300)
    assert other._api is not model
    del first
    again = TesseractEngine(backend="api")
    assert "FIC-101" in {w.text for w in again.read(img, dpi=300)}
    assert again._api is model


def test_tesseract_in_process_keeps_leptonica_off_stderr(capfd, caplog):
    # Leptonica's complaints went to the binary's stderr, which pytesseract
    # read and dropped; in process they would land under the progress bar.
    import ctypes
    import logging

    from locator.engines import _tessapi
    from locator.engines.tesseract import TesseractEngine

    TesseractEngine(backend="api")  # loads the library
    lept = ctypes.CDLL("liblept.so.5")
    lept.boxClipToRectangle.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lept.boxClipToRectangle.restype = ctypes.c_void_p
    with caplog.at_level(logging.DEBUG, logger="locator.tesseract"):
        assert lept.boxClipToRectangle(None, 10, 10) is None  # "Error in ...: box not defined"
    assert capfd.readouterr().err == ""
    assert any("boxClipToRectangle" in r.getMessage() for r in caplog.records)
    assert _tessapi._lept_handler is not None


def test_tesseract_in_process_stops_at_its_time_limit():
    from locator.engines.tesseract import TesseractEngine
    from locator.errors import EngineError

    img, _ = render_strip(dpi=300, width=300, height=70)
    big = np.vstack([img] * 40)  # 40 lines of codes: far more than 1 ms of work
    eng = TesseractEngine(backend="api", timeout=0.001)
    with pytest.raises(EngineError, match="timed out"):
        eng.read(big, dpi=300)
    eng.timeout = 0
    assert "FIC-101" in {w.text for w in eng.read(img, dpi=300)}  # and reads on afterwards


def test_tesseract_in_process_with_a_missing_language_is_a_missing_engine():
    from locator.engines.tesseract import TesseractEngine

    eng = TesseractEngine(backend="api", lang="zzz")
    img, _ = render_strip(dpi=300, width=300, height=70)
    with pytest.raises(MissingEngineError, match="tesseract-ocr-zzz"):
        eng.read(img, dpi=300)


def test_rapidocr_reads_small_codes_with_tight_word_boxes():
    pytest.importorskip("rapidocr")
    img, truth = render_strip(dpi=200, noise=True)
    eng = get_engine("rapidocr")
    words = eng.read(img, dpi=200)
    assert_words(words, truth, tol_px=2, must={"FIC-101", "PT-2034", "LV-3307", "XY-55210-K",
                                               "TAG", "4410"})
    assert eng.version().startswith("rapidocr ")


# Lines of the subprocess scripts below: record every ONNX model file opened.
SPY_MODELS = """
import onnxruntime

opened = []
init = onnxruntime.InferenceSession.__init__

def spy(self, path, *a, **k):
    opened.append(str(path))
    init(self, path, *a, **k)

onnxruntime.InferenceSession.__init__ = spy
"""

OFFLINE_READ = """
import json, socket, sys
import numpy as np

def refuse(*a, **k):
    raise OSError("network blocked by the test")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = socket.getaddrinfo = refuse
""" + SPY_MODELS + """import rapidocr
from locator.engines import get_engine

img = np.load(sys.argv[1])
words = get_engine("rapidocr").read(img, dpi=200)
print("RESULT=" + json.dumps({"words": [w.text for w in words], "opened": opened,
                              "package": list(rapidocr.__path__)}))
"""


def test_rapidocr_reads_offline_with_the_models_its_wheel_ships(tmp_path):
    """Nothing is fetched at run time: with every socket refused, a fresh process loads
    RapidOCR's detector and recogniser from the rapidocr package's own folder and reads."""
    pytest.importorskip("rapidocr")
    import json
    import subprocess
    from pathlib import Path

    img, _ = render_strip(dpi=200)
    np.save(tmp_path / "strip.npy", img)
    proc = subprocess.run([sys.executable, "-c", OFFLINE_READ, str(tmp_path / "strip.npy")],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    res = json.loads(line[-1][len("RESULT="):])
    assert "FIC-101" in res["words"] and "LV-3307" in res["words"], res["words"]
    package = Path(res["package"][0]).resolve()
    assert len(res["opened"]) >= 2  # the detector and the recogniser, no direction classifier
    for model in res["opened"]:
        assert Path(model).resolve().is_relative_to(package / "models"), model
        assert "cls" not in Path(model).name, model


def test_easyocr_reads_small_codes_with_tight_word_boxes():
    pytest.importorskip("easyocr")
    pytest.importorskip("easyocr_en_models")
    img, truth = render_strip(dpi=200, noise=True)
    eng = get_engine("easyocr")
    words = eng.read(img, dpi=200)
    assert_words(words, truth, tol_px=2, must={"FIC-101", "LV-3307", "XY-55210-K", "TAG", "4410"})
    assert eng.version().startswith("easyocr ")


def test_easyocr_reader_is_loaded_once_per_process():
    pytest.importorskip("easyocr")
    from locator.engines import easyocr as mod

    a, b = get_engine("easyocr"), get_engine("easyocr")
    img = np.full((64, 64), 255, np.uint8)
    assert a.read(img, dpi=200) == [] and b.read(img, dpi=200) == []
    assert len(mod._READERS) == 1


def test_engines_combined_through_the_pipeline(tmp_path):
    """tesseract+rapidocr on a generated page: every code found, in place, engines named;
    RapidOCR reads what Tesseract was unsure of (a code Tesseract alone names, it read
    at SURE_CONF or more)."""
    pytest.importorskip("rapidocr")
    from locator.pipeline import read_document
    from locator.pipeline.tile import SURE_CONF
    from locator.settings import Settings

    doc = pymupdf.open()
    page = doc.new_page(width=400, height=200)
    codes = [("FIC-101", 30, 40, 9), ("PT-2034", 250, 60, 8), ("LV-3307", 60, 150, 10),
             ("XY-55210", 230, 170, 9)]
    for text, x, y, size in codes:
        page.insert_text((x, y), text, fontsize=size, fontname="helv")
    truth = {w[4]: Box(*w[:4]) for w in page.get_text("words")}
    doc.save(tmp_path / "p.pdf")
    s = Settings(dpi=200, tile=640, overlap=160, rotations=(0,), engine=("tesseract", "rapidocr"),
                 workers=1, cache=False, source="ocr")
    words = read_document(tmp_path / "p.pdf", s)
    for code, t in truth.items():
        found = [w for w in words if w.text == code]
        assert found, f"{code} not read; words: {[(w.text, w.engine) for w in words]}"
        w = found[0]
        assert "rapidocr" in w.engine.split("+") or w.conf >= SURE_CONF, w
        # page points: the ink box lies inside the font's box, within a point or so
        assert t.x0 - 1 <= w.box.x0 and w.box.x1 <= t.x1 + 1
        assert t.y0 - 1 <= w.box.y0 and w.box.y1 <= t.y1 + 1
    assert any("rapidocr" in w.engine for w in words), "RapidOCR read nothing"


# -- recognising the pipeline's crops (recognises_lines) ---------------------------

def test_line_bands_cut_a_column_of_labels_and_leave_out_edge_fragments():
    from locator.engines._split import line_bands

    img, truth = render_strip([("A7", 10, 20, 9), ("B7", 10, 40, 9), ("A6", 10, 60, 9)],
                              width=40, height=70)
    bands = line_bands(img)
    assert len(bands) == 3
    for (y0, y1, x0, x1), code in zip(bands, ("A7", "B7", "A6")):
        t = truth[code]
        assert y0 <= t.y0 and t.y1 <= y1 and y1 - y0 < 2 * t.height
        assert x0 <= t.x0 and t.x1 <= x1 and x1 - x0 < t.width + 2 * t.height
    # One line whose crop takes in the foot of the line above: that piece is no band.
    (t,) = [truth["B7"]]
    crop = img[int(truth["A7"].y1) - 4:int(t.y1) + 6]
    assert len(line_bands(crop)) == 1
    assert line_bands(np.full((30, 60), 255, np.uint8)) == []


def test_rapidocr_recognises_each_crop_as_lines_in_the_crops_pixels():
    pytest.importorskip("rapidocr")
    img, truth = render_strip(dpi=200, noise=True)
    eng = get_engine("rapidocr")
    assert eng.recognises_lines
    names = ["FIC-101", "LV-3307", "XY-55210-K"]
    boxes = [truth[n].grow(6) for n in names]
    crops = [img[int(b.y0):int(b.y1), int(b.x0):int(b.x1)] for b in boxes]
    # A column of two labels in one crop: both lines are read.
    column, ctruth = render_strip([("PT-2034", 6, 20, 8), ("HS-6620", 6, 44, 8)],
                                  width=60, height=52)
    per_crop = eng.recognise(crops + [column, np.full((40, 80), 255, np.uint8)], dpi=200)
    assert len(per_crop) == 5
    for name, b, words in zip(names, boxes, per_crop):
        assert [w.text for w in words] == [name]
        t = truth[name]
        w = words[0].box  # in the crop's pixels
        assert abs(w.x0 + b.x0 - t.x0) <= 3 and abs(w.y0 + b.y0 - t.y0) <= 3
        assert abs(w.x1 + b.x0 - t.x1) <= 3 and abs(w.y1 + b.y0 - t.y1) <= 3
    assert sorted(w.text for w in per_crop[3]) == ["HS-6620", "PT-2034"]
    for w in per_crop[3]:
        t = ctruth[w.text]
        assert abs(w.box.y0 - t.y0) <= 3 and abs(w.box.y1 - t.y1) <= 3
    assert per_crop[4] == []


PIPELINE_MODELS = """
import json, sys
""" + SPY_MODELS + """from locator.pipeline import read_document
from locator.settings import Settings

s = Settings(dpi=200, tile=640, overlap=160, rotations=(0,), engine=("rapidocr",),
             workers=1, cache=False, source="ocr")
words = read_document(sys.argv[1], s)
print("RESULT=" + json.dumps({"words": [w.text for w in words], "opened": opened}))
"""


def test_pipeline_reads_rapidocr_through_its_recogniser_alone(tmp_path):
    """The pipeline hands RapidOCR the regions it found: a fresh process reading a page
    of upright codes (one line each: no band for the detector fallback) opens RapidOCR's
    recogniser and never its detector."""
    pytest.importorskip("rapidocr")
    import json
    import subprocess
    from pathlib import Path

    from tests.conftest import draw_codes

    codes = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 250, 90, 8, 0),
             ("LV-3307", 120, 200, 9, 0), ("AB002", 330, 230, 8, 0)]
    draw_codes(tmp_path / "p.pdf", codes, width=420, height=280)
    proc = subprocess.run([sys.executable, "-c", PIPELINE_MODELS, str(tmp_path / "p.pdf")],
                          capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads([x for x in proc.stdout.splitlines() if x.startswith("RESULT=")][-1][7:])
    for code, *_ in codes:
        assert code in res["words"], (code, res["words"])
    names = [Path(m).name for m in res["opened"]]
    assert any("rec" in n for n in names), names
    assert not any("det" in n for n in names), names


def test_the_ensemble_finds_what_each_engine_finds(tmp_path):
    """tesseract+rapidocr (regions found once, Tesseract reading the mosaic, the PP-OCR
    recogniser its crops) finds every code that either engine alone finds, in place."""
    pytest.importorskip("rapidocr")
    from locator.pipeline import run
    from locator.settings import Settings
    from tests.conftest import draw_codes

    codes = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 250, 90, 6, 0), ("HS-6620", 60, 120, 5, 0),
             ("XY-55210-K", 220, 150, 7, 0), ("LV-3307", 120, 250, 9, 90),
             ("AB002", 330, 260, 6, 90), ("N7", 380, 60, 7, 0), ("TP13", 300, 200, 5, 270)]
    truth = draw_codes(tmp_path / "p.pdf", codes, width=420, height=280)
    (tmp_path / "c.yaml").write_text(
        "patterns:\n" + "".join(f"  - id: {c}\n    text: {c}\n" for c, *_ in codes),
        encoding="utf-8")

    def found(engines):
        s = Settings(dpi=200, engine=engines, workers=1, cache=False, source="ocr")
        hits = run(tmp_path / "p.pdf", tmp_path / "c.yaml", s).hits
        out = set()
        for h in hits:
            t = truth[h.matched]
            assert t.grow(2).contains_point((h.box.x0 + h.box.x1) / 2,
                                            (h.box.y0 + h.box.y1) / 2), h
            out.add(h.matched)
        return out

    tess, rapid = found(("tesseract",)), found(("rapidocr",))
    both = found(("tesseract", "rapidocr"))
    assert tess | rapid <= both, (tess, rapid, both)
    assert len(rapid) >= 6, rapid


def test_rapidocr_detects_inside_a_tall_band_it_cannot_read_as_one_line():
    """Two columns of labels on staggered lines (a title block's cells): no blank row
    parts them, so they are one band, twice as tall as the other crops' lines. Read as
    one line it is garbage; the DB detector inside that band finds the four lines."""
    pytest.importorskip("rapidocr")
    from locator.engines._split import line_bands

    eng = get_engine("rapidocr")
    cells = [("KV-1207", 6, 14, 10), ("PSV-3381", 58, 18, 10), ("TIC-5520", 6, 22, 10),
             ("LIC-7781", 58, 26, 10)]
    block, truth = render_strip(cells, width=150, height=34, dpi=300)
    assert len(line_bands(block)) == 1
    singles = [render_strip([(c, 6, 14, 10)], width=70, height=20, dpi=300)[0]
               for c in ("FT-101", "TT-202", "LT-303")]
    per_crop = eng.recognise(singles + [block], dpi=300)
    assert [[w.text for w in ws] for ws in per_crop[:3]] == [["FT-101"], ["TT-202"], ["LT-303"]]
    got = {w.text: w.box for w in per_crop[3]}
    codes = {c for c, *_ in cells}
    assert codes <= set(got), got
    for code in codes:  # (the truth's ink boxes take in the staggered neighbours' ink)
        b, t = got[code], truth[code]
        assert t.contains_point((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2), (code, b, t)
        assert abs(b.x0 - t.x0) <= 8 and abs(b.x1 - t.x1) <= 8, (code, b, t)  # 2 pt
    eng.redetect_below = 0.0  # the fallback off: the band is read as one line
    assert not codes & {w.text for w in eng.recognise(singles + [block], dpi=300)[3]}
