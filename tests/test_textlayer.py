"""Judging a text layer from plain records, without a PDF.

:func:`locator.textlayer.judge_text` and :func:`plan_page` work on what the PDF
boundary (:mod:`locator.pdf`) reads: raw words with their direction and
visibility, image placements, MuPDF's decoding error. These tests build those
records directly, so each rule is checked on exactly the case it is about.
"""

from __future__ import annotations

from locator.geometry import Box, PageFrame
from locator.pdf import ImagePlacement, PageText, RawWord
from locator.textlayer import TEXT_CONF, TEXT_ENGINE, judge_text, plan_page

A4 = PageFrame(width=595.0, height=842.0, rotation=0)


def _words(n: int, y: float = 20.0) -> list[RawWord]:
    return [RawWord(f"TAG-{100 + i}", Box(20 + 60 * (i % 8), y + 15 * (i // 8),
                                          70 + 60 * (i % 8), y + 8 + 15 * (i // 8)))
            for i in range(n)]


def test_words_become_text_layer_words_with_their_direction():
    text = PageText(words=(RawWord("FIC-101", Box(10, 20, 40, 28)),
                           RawWord("TIC-7781", Box(100, 50, 108, 90), angle=90)))
    layer = judge_text(text, page_no=3)
    assert [(w.text, w.box, w.angle, w.page) for w in layer.words] == [
        ("FIC-101", Box(10, 20, 40, 28), 0, 3), ("TIC-7781", Box(100, 50, 108, 90), 90, 3)]
    assert {(w.source, w.engine, w.conf) for w in layer.words} == {("text", TEXT_ENGINE, TEXT_CONF)}
    assert layer.raw == 2 and layer.duplicates == 0 and layer.verdict() is None


def test_exact_duplicates_are_counted_and_dropped():
    w = RawWord("R26", Box(40, 52.004, 55, 61))
    same = RawWord("R26", Box(40, 52.0041, 55, 61))  # the same box to 0.01 pt
    elsewhere = RawWord("R26", Box(40, 112, 55, 121))
    layer = judge_text(PageText(words=(w, same, elsewhere)), 1)
    assert layer.raw == 3 and layer.duplicates == 1
    assert [x.box.y0 for x in layer.words] == [52.004, 112]


def test_kicad_overbar_markup_is_removed():
    text = PageText(words=(RawWord("FLASH_~{WP}|IO2", Box(0, 0, 50, 8)),
                           RawWord("~{RST}", Box(60, 0, 80, 8))))
    assert [w.text for w in judge_text(text, 1).words] == ["FLASH_WP|IO2", "RST"]


def test_unmapped_and_replacement_characters_are_broken_words():
    words = (RawWord("AB-12", Box(0, 0, 20, 8), unmapped=True),
             RawWord("C\ufffdD", Box(30, 0, 50, 8)),
             *_words(3, y=100))
    layer = judge_text(PageText(words=words), 1)
    assert layer.broken == [Box(0, 0, 20, 8), Box(30, 0, 50, 8)]
    assert len(layer.words) == 3 and layer.judged == 5 and layer.plausible == 3
    assert "broken" in layer.verdict()  # 2 of 5 words: over the 10 % a layer may have


def test_an_image_under_invisible_text_is_covered():
    scan, logo = Box(100, 100, 300, 200), Box(400, 100, 450, 150)
    words = (RawWord("XV-5521", Box(120, 120, 160, 130), visible=False), *_words(6, y=300))
    text = PageText(words=words, images=(ImagePlacement(scan, 800, 400),
                                         ImagePlacement(logo, 200, 200)))
    layer = judge_text(text, 1)
    assert layer.invisible == 1
    assert [(im.box, im.covered) for im in layer.images] == [(scan, True), (logo, False)]


def test_uncovered_images_are_ocrd_as_image_regions_alone():
    text = PageText(words=tuple(_words(10)),
                    images=(ImagePlacement(Box(100, 400, 300, 500), 800, 400),
                            ImagePlacement(Box(500, 700, 502, 702), 4, 4)))  # too small
    plan = plan_page(1, judge_text(text, 1), A4, "auto")
    assert plan.ocr == "regions" and plan.images_only and len(plan.text) == 10
    assert plan.regions == (Box(98, 398, 302, 502),)  # grown by the margin
    assert plan.reason == "OCR of 1 image region"


def test_broken_words_are_ocrd_from_the_page_render():
    words = (RawWord("AB-12", Box(300, 250, 330, 259), unmapped=True), *_words(12))
    plan = plan_page(1, judge_text(PageText(words=words), 1), A4, "auto")
    assert plan.ocr == "regions" and not plan.images_only and "1 broken word" in plan.reason


def test_a_page_without_words_is_ocrd_whole_and_paths_are_counted_only_when_few_words():
    asked: list[int] = []

    def paths() -> int:
        asked.append(1)
        return 5000

    assert plan_page(1, judge_text(PageText(), 1), A4, "auto", paths=paths).ocr == "page"
    few = plan_page(1, judge_text(PageText(words=tuple(_words(3))), 1), A4, "auto", paths=paths)
    assert few.ocr == "page" and "curves" in few.reason and len(asked) == 1
    many = plan_page(1, judge_text(PageText(words=tuple(_words(60))), 1), A4, "auto", paths=paths)
    assert many.ocr == "none" and len(asked) == 1


def test_the_decode_error_comes_with_the_layer():
    layer = judge_text(PageText(words=tuple(_words(2)), decode_error="zlib error: bad header"), 1)
    assert layer.decode_problem.startswith("its content cannot be decoded (zlib error: bad header)")
    assert judge_text(PageText(words=tuple(_words(2))), 1).decode_problem is None
