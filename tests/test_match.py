"""The matcher on hand-built words (no OCR): boxes are page points."""

from __future__ import annotations

import random
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from locator.catalog import Catalog, parse_catalog
from locator.geometry import Box
from locator.match import CONFUSION_COST, MatchWarning, match, missing
from locator.model import Hit, Word
from locator.normalize import DEFAULT_CONFUSIONS, class_index


def W(text, x0, y0=10.0, *, width=None, h=10.0, page=1, angle=0, conf=90.0,
      engine="tesseract", source="ocr"):
    width = width if width is not None else 6.0 * max(1, len(text))
    return Word(text, conf, Box(x0, y0, x0 + width, y0 + h), page, engine, angle, source)


def row(*texts, x0=10.0, y0=10.0, gap=3.0, page=1):
    """Words on one baseline separated by a normal word space."""
    out, x = [], x0
    for t in texts:
        out.append(W(t, x, y0, page=page))
        x += 6.0 * len(t) + gap
    return out


def cat(yaml_text: str) -> Catalog:
    return parse_catalog(yaml_text, name="codes.yaml")


def only(hits: list[Hit]) -> Hit:
    assert len(hits) == 1, hits
    return hits[0]


# --- single words and scores -------------------------------------------------

def test_exact_word_hit_carries_every_field():
    c = cat("patterns: [{id: F, text: FIC-101, label: instrument}]")
    h = only(match([W("FIC-101", 10, 20, conf=80)], c))
    assert (h.pattern_id, h.label, h.matched, h.text, h.score) == (
        "F", "instrument", "FIC-101", "FIC-101", 100.0)
    assert h.box == Box(10, 20, 52, 30)
    assert (h.page, h.engine, h.conf, h.source, h.angle) == (1, "tesseract", 80.0, "ocr", 0)


def test_confusions_are_cheap_real_substitutions_are_not():
    c = Catalog.from_texts(["FIC-101"])
    h = only(match([W("F1C-1O1", 10)], c))
    assert h.score == pytest.approx(100 * (1 - 2 * CONFUSION_COST / 7), abs=0.01)
    assert h.score >= 95
    h = only(match([W("FIC-1X1", 10)], c))  # one real edit in seven characters
    assert h.score == pytest.approx(100 * 6 / 7, abs=0.01)
    assert match([W("FIC-1X1", 10)], Catalog.from_texts(["FIC-101"], min_score=90)) == []
    # (a digit read for another digit is another code, not a misread: issue 20)
    assert match([W("FIC-102", 10)], c) == []


def test_confusions_off_makes_a_confusion_a_full_edit():
    c = Catalog.from_texts(["FIC-101"], confusions=False, min_score=70)
    assert only(match([W("F1C-1O1", 10)], c)).score == pytest.approx(100 * 5 / 7, abs=0.01)


def test_capital_L_is_not_a_one():
    # 'l' looks like 1, 'L' does not: a dimension 1928 is not inductor L928
    c = Catalog.from_texts(["L928"])
    assert match([W("1928", 10)], c) == []
    assert only(match([W("l928", 10)], c)).score == 100.0  # case is free


def test_custom_confusion_classes():
    c = Catalog.from_texts(["TT-7"], confusions=["7T"], min_score=95)
    assert only(match([W("7T-7", 10)], c)).score >= 95
    assert match([W("7T-7", 10)], Catalog.from_texts(["TT-7"], min_score=95)) == []


def test_case_insensitive_by_default_and_case_sensitive_on_request():
    assert only(match([W("fic-101", 10)], Catalog.from_texts(["FIC-101"]))).score == 100
    c = cat("patterns: [{text: Ab-1, case_sensitive: true}]")
    assert match([W("AB-1", 10)], c) == []
    assert only(match([W("Ab-1", 10)], c)).score == 100


def test_end_punctuation_is_stripped_but_kept_when_it_helps():
    c = Catalog.from_texts(["FIC-101", "M(1)"])
    hits = match(row("(FIC-101),", "M(1)"), c)
    # each trimmed character costs like a confusion: 3 x 0.15 of 7 characters
    assert [(h.pattern_id, h.score) for h in hits] == [("FIC-101", 93.57), ("M(1)", 100.0)]


def test_unicode_fullwidth_dashes_and_lookalikes_match():
    c = Catalog.from_texts(["FIC-101"])
    for read in ("ＦＩＣ－１０１", "FIC\u2013101", "FIC\u2212101", "F\u0406\u0421-101"):
        assert only(match([W(read, 10)], c)).score == 100.0, read


def test_ignore_characters_are_removed_from_both_sides():
    c = Catalog.from_texts(["FIC-101"], ignore=" -_.")
    for read in ("FIC101", "FIC_101", "F.I.C-101"):
        assert only(match([W(read, 10)], c)).score == 100.0, read
    assert only(match(row("FIC", "101"), c)).text == "FIC 101"


# --- windows: splits, joins, phrases -----------------------------------------

def test_a_code_split_in_two_words_is_one_hit_with_the_union_box():
    c = Catalog.from_texts(["FIC-101"])
    ws = row("FIC-", "101")
    h = only(match(ws, c))
    assert h.text == "FIC- 101" and h.score == 100.0
    assert h.box == ws[0].box.union(ws[1].box)


def test_a_code_written_with_a_space_matches_both_ways():
    for code in ("HV 96160-01", "HV96160-01"):
        h = only(match(row("HV", "96160-01"), Catalog.from_texts([code])))
        assert h.text == "HV 96160-01" and h.score == 100.0


def test_extra_neighbour_word_is_not_swallowed():
    ws = row("FIC-101", "A")
    h = only(match(ws, Catalog.from_texts(["FIC-101"])))
    assert h.box == ws[0].box and h.text == "FIC-101"


def test_split_codes_do_not_join_across_open_space_or_lines():
    c = Catalog.from_texts(["FIC-101"])
    assert match([W("FIC-", 10), W("101", 300)], c) == []
    assert match([W("FIC-", 10, 10), W("101", 40, 40)], c) == []


def test_whole_word_true_refuses_a_code_glued_to_a_neighbour():
    c = Catalog.from_texts(["FIC-101"])
    for read in ("FIC-101PUMP", "XFIC-101", "FIC-101A", "FIC-1O1A", "FIC-1011", "FIC-101-2"):
        assert match([W(read, 10)], c) == [], read
    # a longer code is not a hit of the shorter one, even split in two words
    assert match(row("FIC-", "101A"), c) == []
    # a misread character inside the code is still a hit
    h = only(match([W("FIC-1Q01", 10)], Catalog.from_texts(["FIC-1001"])))
    assert h.score == pytest.approx(100 - 100 * CONFUSION_COST / 8, abs=0.01)


def test_whole_word_false_finds_a_code_inside_a_longer_word():
    c = Catalog.from_texts(["FIC-101"], whole_word=False)
    ws = [W("FIC-101PUMP", 10), W("X", 200)]
    h = only(match(ws, c))
    assert h.score == 100.0 and h.box == ws[0].box and h.matched == "FIC-101"
    h = only(match([W("ZZF1C-1O1", 10)], c))
    assert h.score >= 95


def test_whole_word_false_keeps_only_the_words_the_code_covers():
    c = Catalog.from_texts(["FIC-101"], whole_word=False)
    ws = row("NOTE", "FIC-", "101PUMP")
    h = only(match(ws, c))
    assert h.text == "FIC- 101PUMP" and h.box == ws[1].box.union(ws[2].box)


def test_phrase_matches_consecutive_words_of_one_line():
    c = Catalog.from_texts(["PUMP ROOM"])
    ws = row("SEE", "PUMP", "ROOM", "3")
    h = only(match(ws, c))
    assert h.text == "PUMP ROOM" and h.box == ws[1].box.union(ws[2].box)
    assert only(match(row("PUMP", "R0OM"), c)).score >= 95
    # not across lines
    assert match([W("PUMP", 10, 10), W("ROOM", 10, 40)], c) == []


def test_vertical_split_code():
    ws = [W("101", 100, 50, width=10, h=18, angle=90), W("FIC-", 100, 72, width=10, h=23, angle=90)]
    h = only(match(ws, Catalog.from_texts(["FIC-101"])))
    assert h.text == "FIC- 101" and h.angle == 90


# --- regexes ------------------------------------------------------------------

PART = r"[A-Z]{2}-\d{5}-[A-Z]"


def test_regex_span_maps_to_the_word_it_covers():
    c = cat(f"patterns: [{{id: part, regex: '{PART}', label: part}}]")
    ws = row("PART", "AB-12345-C", "QTY", "2")
    h = only(match(ws, c))
    # the score carries the engine's confidence in the read (90 here): issue 20
    assert (h.pattern_id, h.matched, h.text, h.score) == ("part", "AB-12345-C", "AB-12345-C", 90)
    assert h.box == ws[1].box


def test_regex_across_two_words_has_the_union_box():
    c = cat(r"patterns: [{id: part, regex: '[A-Z]{2}-\d{5}\s?-[A-Z]'}]")
    ws = row("AB-12345", "-C")
    h = only(match(ws, c))
    assert h.matched == "AB-12345 -C" and h.box == ws[0].box.union(ws[1].box)


def test_regex_whole_word():
    c = cat(r"patterns: [{id: n, regex: '\d{3}'}]")
    assert match(row("1234"), c) == []
    assert only(match(row("L", "123,"), c)).matched == "123"
    c = cat(r"patterns: [{id: n, regex: '\d{3}', whole_word: false}]")
    assert only(match(row("1234"), c)).matched == "123"


def test_regex_alternatives_respect_word_edges():
    c = cat("patterns: [{id: f, regex: 'FIC-1|FIC-10'}]")
    assert only(match(row("FIC-10"), c)).matched == "FIC-10"


def test_regex_is_case_insensitive_unless_asked():
    c = cat(f"patterns: [{{id: part, regex: '{PART}'}}]")
    assert only(match(row("ab-12345-c"), c)).matched == "ab-12345-c"
    c = cat(f"patterns: [{{id: part, regex: '{PART}', case_sensitive: true}}]")
    assert match(row("ab-12345-c"), c) == []


def test_fuzzy_regex_scores_confusions_cheaply():
    c = cat(r"patterns: [{id: f, regex: '(?:FIC-\d{3}){e<=1}'}]")
    sure = 100.0  # a read the engine is sure of: the score is the match's alone
    h = only(match([W("FIC-1O1", 10, conf=sure)], c))
    assert h.score == pytest.approx(100 * (1 - CONFUSION_COST / 7), abs=0.01)
    h = only(match([W("FIC-1X1", 10, conf=sure)], c))
    assert h.score == pytest.approx(100 * 6 / 7, abs=0.01)
    h = only(match([W("FIC101", 10, conf=sure)], c))  # one deletion
    assert h.score == pytest.approx(100 * 6 / 7, abs=0.01)


def test_regex_with_ignore_space_joins_words():
    c = cat(r"patterns: [{id: f, regex: 'FIC-?\d{3}', ignore: ' '}]")
    ws = row("FIC", "101")
    h = only(match(ws, c))
    assert h.matched == "FIC101" and h.box == ws[0].box.union(ws[1].box)
    assert match(row("FIC", "1012"), c) == []  # still whole words


def test_regex_timeout_warns_and_skips():
    c = cat(r"patterns: [{id: slow, regex: '(?:(?:a|aa)+b){e<=1}', timeout: 0.000001}]")
    text = "a" * 3000
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        hits = match([W(text, 10, width=3000)], c)
    assert hits == []
    assert any(issubclass(r.category, MatchWarning) and "slow" in str(r.message) for r in rec)


# --- ambiguity ----------------------------------------------------------------

def test_each_word_goes_to_its_best_pattern():
    c = Catalog.from_texts(["FIC-101", "FIC-102"])
    h = only(match(row("FIC-101"), c))
    assert h.pattern_id == "FIC-101"


def test_longer_pattern_wins_a_score_tie_on_shared_words():
    c = Catalog.from_texts(["HV", "HV 96160-01"])
    h = only(match(row("HV", "96160-01"), c))
    assert h.pattern_id == "HV 96160-01"


def test_true_ties_are_reported_for_both_patterns():
    c = cat("patterns: [{id: a, text: FIC-101}, {id: b, text: fic-101, label: other}]")
    hits = match(row("FIC-101"), c)
    assert sorted(h.pattern_id for h in hits) == ["a", "b"]
    assert hits[0].box == hits[1].box


def test_literal_wins_over_regex_on_the_same_word():
    # A catalog naming a code and holding a generic regex for its kind: one hit, the literal's.
    c = cat(f"patterns: [{{id: lit, text: AB-12345-C}}, {{id: rx, regex: '{PART}'}}]")
    assert sorted(h.pattern_id for h in match(row("AB-12345-C"), c)) == ["lit"]


def test_two_occurrences_are_two_hits_and_sorted_by_position():
    c = Catalog.from_texts(["FIC-101"])
    ws = [W("FIC-101", 10, 300, page=2), W("FIC-101", 10, 200), W("FIC-101", 300, 10)]
    hits = match(ws, c)
    assert [(h.page, h.box.y0) for h in hits] == [(1, 10), (1, 200), (2, 300)]


# --- near and exclude ------------------------------------------------------------

NEAR = """
patterns:
  - {id: P-1, text: P-1}
  - id: motor
    text: MOTOR
    near: {pattern: P-1, within: 50}
"""


def test_near_keeps_only_hits_close_to_the_reference():
    c = cat(NEAR)
    ws = [W("P-1", 10, 10), W("MOTOR", 10, 40), W("MOTOR", 500, 500)]
    hits = match(ws, c)
    assert sorted((h.pattern_id, h.box.x0) for h in hits) == [("P-1", 10), ("motor", 10)]
    assert [h.pattern_id for h in match([W("MOTOR", 10, 40)], c)] == []


def test_near_is_per_page():
    ws = [W("P-1", 10, 10, page=1), W("MOTOR", 10, 40, page=2)]
    assert [h.pattern_id for h in match(ws, cat(NEAR))] == ["P-1"]


def test_exclude_drops_listed_strings_after_normalisation():
    c = cat(f"""
patterns:
  - id: part
    regex: '{PART}'
    exclude: [AB-00000-X]
  - id: pump
    text: PUMP
    exclude: PUMPS
    min_score: 75
""")
    ws = row("ab\u201300000-x", "AB-12345-C") + [W("PUMPS", 10, 50), W("PUMP", 10, 80)]
    hits = match(ws, c)
    assert sorted((h.pattern_id, h.text) for h in hits) == [("part", "AB-12345-C"),
                                                            ("pump", "PUMP")]


# --- misc -------------------------------------------------------------------------

def test_symbol_patterns_are_ignored_by_the_text_matcher(tmp_path):
    (tmp_path / "v.png").write_bytes(b"\x89PNG")
    c = parse_catalog("patterns: [{symbol: v.png}, {text: V-1}]", name="c.yaml",
                      base_dir=tmp_path)
    assert [h.pattern_id for h in match(row("V-1", "v"), c)] == ["V-1"]


def test_engines_and_sources_join_uniquely_and_conf_is_the_mean():
    ws = [W("FIC-", 10, conf=80, engine="tesseract"),
          W("101", 40, conf=60, engine="easyocr+tesseract", source="text")]
    h = only(match(ws, Catalog.from_texts(["FIC-101"])))
    assert h.engine == "tesseract+easyocr" and h.source == "ocr+text" and h.conf == 70


def test_missing_lists_unmatched_entries_from_hits_or_a_frame():
    import pandas as pd

    c = Catalog.from_texts(["A-1", "B-2", "C-3"])
    hits = match(row("A-1", "C-3"), c)
    assert [p.id for p in missing(c, hits)] == ["B-2"]
    df = pd.DataFrame({"pattern_id": [h.pattern_id for h in hits]})
    assert [p.id for p in missing(c, df)] == ["B-2"]
    assert [p.id for p in missing(c, [])] == ["A-1", "B-2", "C-3"]


def test_no_words_no_hits():
    assert match([], Catalog.from_texts(["A"])) == []


def test_catalog_can_be_reused_and_pickled():
    import pickle

    c = cat(f"patterns: [{{id: part, regex: '{PART}'}}, {{text: FIC-101}}]")
    ws = row("AB-12345-C", "FIC-101")
    first = match(ws, c)
    c2 = pickle.loads(pickle.dumps(c))
    assert match(ws, c2) == first == match(ws, c)


# --- properties -------------------------------------------------------------------

_IDX = class_index(DEFAULT_CONFUSIONS)
CODE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=3, max_size=16)


@settings(max_examples=200, deadline=None)
@given(CODE, st.data())
def test_one_confusion_matches_with_confusions_and_not_without(code, data):
    spots = [i for i, ch in enumerate(code) if ch in _IDX]
    assume(spots)
    i = data.draw(st.sampled_from(spots))
    cls = DEFAULT_CONFUSIONS[_IDX[code[i]]]
    others = [ch for ch in cls if ch.lower() != code[i].lower()]
    new = data.draw(st.sampled_from(others))
    read = code[:i] + new + code[i + 1:]
    # the documented exceptions (locator.scoring.word_cased): a lower-case letter
    # for a digit in a read with a word's case, a "|" for a digit with no digit read
    from locator.scoring import word_cased
    numberless = not any(ch.isdigit() for ch in read)
    assume(not (code[i].isdigit() and ((new.islower() and word_cased(read))
                                       or (new == "|" and numberless))))
    on = Catalog.from_texts([code], min_score=95)
    off = Catalog.from_texts([code], min_score=95, confusions=False)
    assert only(match([W(read, 10)], on)).score >= 95
    assert match([W(read, 10)], off) == []


@settings(max_examples=200, deadline=None)
@given(CODE.filter(lambda c: c.strip(" -_.")), st.sampled_from(" -_."), st.data())
def test_an_ignored_character_inserted_anywhere_changes_nothing(code, ch, data):
    i = data.draw(st.integers(0, len(code)))
    c = Catalog.from_texts([code], ignore=" -_.")
    plain = match([W(code, 10)], c)
    spiked = match([W(code[:i] + ch + code[i:], 10)], c)
    assert [(h.pattern_id, h.score) for h in spiked] == [(h.pattern_id, h.score) for h in plain]
    assert len(plain) == 1 and plain[0].score == 100


@settings(max_examples=30, deadline=None)
@given(st.randoms())
def test_hits_do_not_depend_on_word_order(rnd: random.Random):
    c = Catalog.from_texts(["FIC-101", "PUMP ROOM", "HV 96160-01", "FIC-102"])
    ws = (row("FIC-", "101", "PUMP", "ROOM") + row("HV", "96160-01", y0=40)
          + row("FIC-1O2", y0=70) + row("FIC-101", y0=100, page=2))
    want = match(ws, c)
    shuffled = ws[:]
    rnd.shuffle(shuffled)
    assert match(shuffled, c) == want


def test_near_a_symbol_uses_reference_hits(tmp_path):
    (tmp_path / "v.png").write_bytes(b"\x89PNG")
    c = parse_catalog("patterns:\n  - {id: valve, symbol: v.png}\n  - id: tag\n    text: V-1\n"
                      "    near: {pattern: valve, within: 20}\n", name="c.yaml", base_dir=tmp_path)
    ws = [W("V-1", 10, 10), W("V-1", 400, 400)]
    assert match(ws, c) == []
    sym = Hit("valve", "code", "v.png", "", 90.0, Box(10, 25, 30, 45), 1, "symbol", 90.0)
    hits = match(ws, c, references=[sym])
    assert [(h.pattern_id, h.box.x0) for h in hits] == [("tag", 10)]


def test_a_long_phrase_still_matches():
    phrase = "DO NOT OPERATE THIS VALVE WITHOUT PERMIT FROM THE CONTROL ROOM"
    c = Catalog.from_texts([phrase, "X-1"])
    ws = row(*phrase.split())
    assert only(match(ws, c)).text == phrase


def test_the_example_catalog_end_to_end():
    from pathlib import Path

    from locator.catalog import load_catalog

    c = load_catalog(Path(__file__).resolve().parents[1] / "patterns" / "example.yaml")
    ws = (row("SEE", "F1C-1O1") + row("HV96160", "-01", y0=40) + row("PUMP", "ROOM", y0=70)
          + row("PART", "AB-12345-C", "XX-00000-X", y0=100)
          + row("6\u201d-HC-1001-A1B", y0=130) + row("P-101", y0=160) + row("MOTOR", y0=175)
          + row("MOTOR", y0=400) + row("LIC-300PUMP", "PT-1002", y0=200))
    got = {(h.pattern_id, h.text) for h in match(ws, c)}
    assert got == {("FIC-101", "F1C-1O1"), ("HV-96160-01", "HV96160 -01"),
                   ("pump-room", "PUMP ROOM"), ("part-number", "AB-12345-C"),
                   ("line-number", "6\u201d-HC-1001-A1B"), ("P-101", "P-101"),
                   ("P-101-motor", "MOTOR"), ("loose-tag", "LIC-300PUMP"),
                   ("PT-1002", "PT-1002")}
    assert {p.id for p in missing(c, match(ws, c))} == {
        "PSV-2001", "TT-4711", "PT-1001", "LT-2001", "FV-3001"}


def test_one_label_read_twice_is_one_hit():
    # two engines read the same label (the merge stage left both words)
    a = W("FIC-101", 10, 10, width=42, engine="tesseract", conf=90)
    b = W("FIC-1O1", 11, 11, width=43, engine="easyocr", conf=70)
    h = only(match([a, b], Catalog.from_texts(["FIC-101"])))
    assert (h.text, h.score, h.engine, h.conf) == ("FIC-101", 100.0, "tesseract+easyocr", 80)
    assert h.box == Box(10, 10, 54, 21)
    # and in two directions (a 0 and a 90 degree pass over a short code)
    c = W("FIC-101", 11, 10, width=41, angle=90, engine="tesseract")
    h = only(match([a, c], Catalog.from_texts(["FIC-101"])))
    assert h.angle == 0 and h.box == Box(10, 10, 52, 20)


def test_two_labels_side_by_side_stay_two_hits():
    ws = [W("FIC-101", 10, 10, width=42), W("FIC-101", 53, 10, width=42)]
    assert len(match(ws, Catalog.from_texts(["FIC-101"]))) == 2


def test_literal_beats_regex_at_equal_score():
    from locator.catalog import parse_catalog
    from locator.geometry import Box
    from locator.match import match
    from locator.model import Word

    cat = parse_catalog("patterns:\n  - id: AB-12345-C\n    text: AB-12345-C\n    label: part\n"
                        "  - id: part-number\n    regex: '[A-Z]{2}-\\d{5}-[A-Z]'\n"
                        "    label: part\n")
    words = [Word("AB-12345-C", 90, Box(10, 10, 60, 18), 1, "t"),
             Word("XY-55555-Z", 90, Box(10, 40, 60, 48), 1, "t")]
    hits = sorted((h.pattern_id, h.text) for h in match(words, cat))
    assert hits == [("AB-12345-C", "AB-12345-C"), ("part-number", "XY-55555-Z")]


def test_fuzzy_literal_claims_before_an_exact_regex():
    # OCR read YJ-42403-T as Yu-42403-T: the regex matches it exactly, the named code fuzzily
    c = cat(f"patterns: [{{id: YJ-42403-T, text: YJ-42403-T}}, {{id: rx, regex: '{PART}'}}]")
    assert [h.pattern_id for h in match(row("Yu-42403-T"), c)] == ["YJ-42403-T"]


def test_text_layer_words_get_no_confusion_credit_and_are_not_glued():
    from dataclasses import replace as _r

    c = Catalog.from_texts(["C5", "J32", "FIC-101"])
    ocr = row("CS")
    assert [h.pattern_id for h in match(ocr, c)] == ["C5"]  # OCR read S for 5: a confusion
    text = [_r(w, source="text") for w in row("CS")]
    assert match(text, c) == []  # a text layer says CS: that is not C5
    glued = [_r(w, source="text") for w in row("J3", "2")]
    assert match(glued, c) == []  # two words in the document, not one code
    assert [h.pattern_id for h in match([_r(w, source="text") for w in row("FIC-101")], c)] \
        == ["FIC-101"]


def test_two_engines_readings_of_one_place_do_not_break_a_two_word_code():
    # Merged words from two engines (locator.merge keeps both readings of one
    # place): EasyOCR read only "31772" where Tesseract read "31772-60".
    def word(text, x0, x1, conf, engine):
        return Word(text, conf, Box(x0, 271.4, x1, 275.4), 1, engine)

    words = [word("PV", 743.6, 749.9, 99, "easyocr+tesseract"),
             word("31772", 751.6, 765.1, 86, "easyocr"),
             word("31772-60", 751.6, 772.4, 92, "tesseract")]
    for order in (words, words[::-1]):
        hits = match(order, Catalog.from_texts(["PV 31772-60", "TI-101"]))
        assert [(h.pattern_id, h.text, h.score) for h in hits] == [
            ("PV 31772-60", "PV 31772-60", 100.0)]
        assert hits[0].box == Box(743.6, 271.4, 772.4, 275.4)
        assert hits[0].engine == "easyocr+tesseract"


def test_each_engines_reading_is_matched_once_and_claims_its_words():
    def word(text, x0, x1, conf, engine):
        return Word(text, conf, Box(x0, 0, x1, 8), 1, engine)

    # Each engine read a different code at the same place: one place holds
    # one code, so the more confident read wins a tie of scores.
    c = Catalog.from_texts(["FIC-101", "FIC-107"])
    for ca, cb, want in ((90, 80, ("FIC-101", "tesseract")), (70, 80, ("FIC-107", "easyocr"))):
        words = [word("FIC-101", 0, 30, ca, "tesseract"), word("FIC-107", 0, 30, cb, "easyocr")]
        for order in (words, words[::-1]):
            assert [(h.pattern_id, h.engine) for h in match(order, c)] == [want]
    # ... and a better score beats confidence: "FIC-1O7" scores below FIC-107.
    words = [word("FIC-101", 0, 30, 60, "tesseract"), word("FIC-1O7", 0, 30, 95, "easyocr")]
    assert [h.pattern_id for h in match(words, c)] == ["FIC-101"]
    # A read that names no code blocks nothing: Tesseract glued "R1R2" over
    # EasyOCR's "R1" and "R2", and both codes stay.
    words = [word("R1", 0, 10, 80, "easyocr"), word("R2", 14, 24, 80, "easyocr"),
             word("R1R2", 0, 24, 90, "tesseract")]
    for order in (words, words[::-1]):
        assert sorted(h.pattern_id for h in match(order, Catalog.from_texts(["R1", "R2"]))) \
            == ["R1", "R2"]
        # when the glued read is a code too, the longer exact code holds the place
        assert [h.pattern_id for h in match(order, Catalog.from_texts(["R1", "R2", "R1R2"]))] \
            == ["R1R2"]


def test_a_word_with_end_punctuation_is_the_code_written_with_it_not_also_the_bare_one():
    # "W-9." matches W-9. as written and W-9 once stripped, both at 100: the
    # read as written wins, and the stripped read is no tie (it was one hit
    # per pattern). A bare "W-9" is still W-9.
    c = Catalog.from_texts(["W-9", "W-9."])
    w = Word("W-9.", 90.0, Box(0, 0, 20, 8), 1, "tesseract")
    assert [h.pattern_id for h in match([w], c)] == ["W-9."]
    assert [h.pattern_id for h in match([Word("W-9", 90.0, Box(0, 0, 20, 8), 1, "t")], c)] \
        == ["W-9"]
    # the same stripped read for two patterns is still a true tie: both are reported
    c2 = cat("patterns: [{id: a, text: FIC-101}, {id: b, text: fic-101, label: other}]")
    hits = match([Word("FIC-101,", 90.0, Box(0, 0, 40, 8), 1, "t")], c2)
    assert sorted(h.pattern_id for h in hits) == ["a", "b"]


def test_an_ocr_word_is_also_read_without_a_wire_glued_to_its_ends():
    # OCR glues the wire a net label sits on to the label ("P2_3x_", "~P1B4",
    # "R32;—"); the bits are stripped as the alternative read.
    c = Catalog.from_texts(["P2_3x", "P1B4", "R32", "FIC-101"])
    for read, code, score in (("P2_3x_", "P2_3x", 97.0), ("~P1B4", "P1B4", 96.25),
                              ("R32;—", "R32", 90.0), ("=FIC-101=", "FIC-101", 95.71)):
        h = only(match([Word(read, 80.0, Box(0, 0, 30, 8), 1, "tesseract")], c))
        assert (h.pattern_id, h.score) == (code, score)
    # a code split by OCR still joins as written: "FIC-" + "101"
    h = only(match(row("FIC-", "101"), c))
    assert (h.pattern_id, h.text) == ("FIC-101", "FIC- 101")
    # a one- or two-character remnant is noise, not a short code: "-CG__" is no C6
    assert match([Word("—CG__", 80.0, Box(0, 0, 30, 8), 1, "tesseract")],
                 Catalog.from_texts(["C6"])) == []
    # a text layer's word is exact: "P2_3x_" there is another net, not P2_3x
    assert match([Word("P2_3x_", 100.0, Box(0, 0, 30, 8), 1, "text", source="text")], c) == []


def test_a_read_as_written_beats_another_engines_read_that_had_to_be_trimmed():
    # W-9 form: Tesseract read "1099-MISC.." where RapidOCR read "1099-MlSC.";
    # the catalog holds both 1099-MISC and 1099-MISC. . Trimmed of two dots,
    # Tesseract's read is 1099-MISC at 96.7; RapidOCR's is 1099-MISC. at 98.5.
    c = Catalog.from_texts(["1099-MISC", "1099-MISC."])
    words = [Word("1099-MISC..", 39.0, Box(435.1, 428.8, 479.4, 439.0), 3, "tesseract"),
             Word("1099-MlSC.", 98.5, Box(435.1, 430.8, 477.0, 436.9), 3, "rapidocr")]
    for order in (words, words[::-1]):
        assert [(h.pattern_id, h.engine, h.score) for h in match(order, c)] == [
            ("1099-MISC.", "rapidocr", 98.5)]


def test_one_sources_own_overlapping_words_are_not_rivals():
    # KiCad's text layer holds "2J10" (pin number glued to the reference) over
    # its own "J10": both are words of the document, both codes are reported.
    def word(text, x0, x1):
        return Word(text, 100.0, Box(x0, 378.7, x1, 386.0), 1, "text", source="text")

    words = [word("2J10", 453.4, 463.8), word("J10", 455.7, 463.8)]
    for order in (words, words[::-1]):
        assert sorted(h.pattern_id for h in match(order, Catalog.from_texts(["2J10", "J10"]))) \
            == ["2J10", "J10"]


# --- glued neighbours ------------------------------------------------------------


def test_codes_ocr_glued_together_are_cut_apart_with_their_share_of_the_box():
    c = Catalog.from_texts(["100n", "C31", "+1V8", "+3V3", "P2_8x", "330E", "FIC-101", "R1", "R2"])

    def one(text, angle=0, box=None, source="ocr"):
        return [Word(text, 90.0, box or Box(0, 0, 10 * len(text), 8), 1, "rapidocr",
                     angle=angle, source=source)]

    hits = match(one("100nC31"), c)
    assert [(h.pattern_id, h.text, h.box) for h in hits] == [
        ("100n", "100n", Box(0, 0, 40, 8)), ("C31", "C31", Box(40, 0, 70, 8))]
    assert [h.pattern_id for h in match(one("+1V8+1V8+3V3"), c)] == ["+1V8", "+1V8", "+3V3"]
    assert [h.pattern_id for h in match(one("P2_8x330E"), c)] == ["P2_8x", "330E"]
    # a vertical word (reading bottom to top) is cut along y, first piece at the bottom
    hits = match(one("100nC31", angle=90, box=Box(0, 0, 8, 70)), c)
    assert {h.pattern_id: h.box for h in hits} == {"100n": Box(0, 30, 8, 70),
                                                    "C31": Box(0, 0, 8, 30)}
    # a word that is a code, or holds a piece that is no code, stays whole
    assert [h.pattern_id for h in match(one("FIC-101"), c)] == ["FIC-101"]
    assert match(one("FIC-101A"), c) == [] and match(one("100nC3"), c) == []
    # a text layer's word is as the document wrote it
    assert match(one("100nC31", source="text"), c) == []


def test_a_pipe_inside_an_ocr_word_is_a_wire_between_words():
    c = Catalog.from_texts(["C12", "C13"])
    w = Word("|C12|C13|", 80.0, Box(0, 0, 90, 8), 1, "rapidocr")
    assert [(h.pattern_id, h.box) for h in match([w], c)] == [
        ("C12", Box(10, 0, 40, 8)), ("C13", Box(50, 0, 80, 8))]
    # unless the catalog writes codes with a pipe
    c2 = Catalog.from_texts(["C12|C13"])
    assert [h.pattern_id for h in match([w], c2)] == ["C12|C13"]


# --- never the neighbouring tag (issue 20) ------------------------------------------

def test_a_code_read_right_is_not_a_hit_for_its_neighbours():
    # Plants number tags in sequence: LA01-BA007, read exactly, is not LA01-BA002,
    # LA01-BA009 (a digit for a digit) nor LA01-WA007 (a letter for a letter).
    c = Catalog.from_texts(["LA01-BA002", "LA01-BA009", "LA01-WA007"])
    assert match([W("LA01-BA007", 10)], c) == []
    line = "LA01-LR024.10000-25-10H1200"
    c = Catalog.from_texts([line.replace("LR024", n) for n in ("LR019", "LR043", "LR045")])
    assert match([W(line, 10)], c) == []
    # ... and with the code itself in the catalog, one read is one hit
    c = Catalog.from_texts(["LA01-BA002", "LA01-BA007", "LA01-BA009", "LA01-WA007"])
    assert [h.pattern_id for h in match([W("LA01-BA007", 10)], c)] == ["LA01-BA007"]


def test_ocr_confusions_still_earn_credit_where_they_are_real():
    c = Catalog.from_texts(["LA01-BA007", "SB-801"])
    for read in ("LA01-BAO07", "LAO1-BA007", "LA0l-BA007", "LA01-8A007", "LA01-BA0O7"):
        h = only(match([W(read, 10)], c))
        assert h.pattern_id == "LA01-BA007" and h.score >= 95, read
    assert only(match([W("5B-8O1", 10)], c)).pattern_id == "SB-801"
    # a real substitution that is no other code (a letter for a digit) is still a misread
    assert only(match([W("LA01-BA0X7", 10)], c)).pattern_id == "LA01-BA007"
    # OCR garbling a glyph (a lower-case letter inside capitals) is no other tag
    assert only(match([W("LA01-Bu007", 10)], c)).pattern_id == "LA01-BA007"


def test_a_text_layer_read_gets_no_confusion_in_the_neighbour_rule():
    from dataclasses import replace as _r

    # D and O are one confusion class for OCR; a text layer's D is a D
    c = Catalog.from_texts(["AD-1007"], min_score=80)
    assert only(match([W("AO-1007", 10)], c)).pattern_id == "AD-1007"
    assert match([_r(W("AO-1007", 10), source="text")], c) == []


def test_words_that_are_not_codes_stay_fuzzy():
    # the rule is for codes (a letter and a digit): a phrase misread keeps its score
    c = Catalog.from_texts(["PUMP ROOM"], min_score=80)
    assert only(match(row("PUMP", "ROON"), c)).pattern_id == "PUMP ROOM"


def test_one_read_as_close_to_two_codes_names_neither():
    # "FIC-10" is FIC-101 or FIC-107 with a character lost: it names neither
    c = Catalog.from_texts(["FIC-101", "FIC-107"], min_score=80)
    assert match([W("FIC-10", 10)], c) == []
    # one code listed twice (two ids) is still reported for both
    c2 = cat("patterns: [{id: a, text: FIC-101, min_score: 80}, "
             "{id: b, text: fic-101, label: other, min_score: 80}]")
    assert sorted(h.pattern_id for h in match([W("FIC-10", 10)], c2)) == ["a", "b"]


def test_a_regex_hit_scores_what_was_read():
    # 25-KA-9101 read (conf 48) for 23-KA-9101: the regex matches it exactly,
    # only the engine's confidence says it may be wrong -- it cannot score 100
    c = cat(r"patterns: [{id: tag, regex: '\d{2}-[A-Z]{2}-\d{4}'}]")
    h = only(match([W("25-KA-9101", 10, conf=48.0)], c))
    assert h.score == pytest.approx(48.0)
    assert only(match([W("25-KA-9101", 10, conf=100.0)], c)).score == 100.0
    from dataclasses import replace as _r
    assert only(match([_r(W("23-KA-9101", 10), conf=100.0, source="text")], c)).score == 100.0
    # min_score bounds the match (its edits), not the confidence: the hit is kept
    strict = cat(r"patterns: [{id: tag, regex: '\d{2}-[A-Z]{2}-\d{4}', min_score: 100}]")
    assert only(match([W("25-KA-9101", 10, conf=48.0)], strict)).score == pytest.approx(48.0)


def test_a_text_layer_code_with_a_character_more_or_less_is_another_code():
    from dataclasses import replace as _r

    # the text layer says 10k/R0402 (a part value): no hit for 100k/R0402, and
    # 22uF/6.3V/20%/X5R/C0603 none for 2.2uF/6.3V/10%/X5R/C0603
    c = Catalog.from_texts(["100k/R0402", "2.2uF/6.3V/10%/X5R/C0603"])
    for text in ("10k/R0402", "22uF/6.3V/20%/X5R/C0603"):
        assert match([_r(W(text, 10), source="text")], c) == [], text
    # an OCR read that lost a character is a damaged read, left to the score
    assert only(match([W("10k/R0402", 10)], c)).pattern_id == "100k/R0402"
    # a text layer's word with end punctuation is still the code (a separator aside)
    assert only(match([_r(W("100k/R0402,", 10), source="text")], c)).pattern_id == "100k/R0402"


# --- schematics 02/03 at 200 dpi: false hits of the default setup (issue 20) ------------------

def test_a_read_written_as_one_code_is_not_cut_into_catalog_codes():
    # schematic 02: Tesseract read the net label P1A1 as one word; P1 (a connector)
    # and A1 are catalog codes, but one read is one code: no hit for either
    c = Catalog.from_texts(["P1", "A1", "B8", "100n", "C31"])
    for text in ("P1A1", "P1B8"):
        assert match([W(text, 10)], c) == [], text
    # where the case says a new label begins, glued labels are still cut
    assert [h.pattern_id for h in match([W("100nC31", 10)], c)] == ["100n", "C31"]


def test_a_lower_case_letter_in_a_word_is_no_misread_digit():
    # schematics 02/03 (Tesseract): "al" for A1, "rs" for R5, "cs" for C5, "Ti" for
    # T1, "cio" for C10, "Ul" for U1 -- words' case patterns, no digit read: no hit
    c = Catalog.from_texts(["A1", "R5", "C5", "T1", "C10", "U1", "R14", "C12", "ACBUS0",
                            "VCCIO_0", "DI/IO0"])
    for read in ("al", "rs", "cs", "Ti", "cio", "Ul"):
        assert match([W(read, 10)], c) == [], read
    # a read in a code's case (a capital inside, or a digit) keeps the credit
    # (true reads on 02: Ri4, ci2|, acBuso, VCCIO_o, DI/IOo)
    for read, code in (("Ri4", "R14"), ("ci2|", "C12"), ("acBuso", "ACBUS0"),
                       ("VCCIO_o", "VCCIO_0"), ("DI/IOo", "DI/IO0")):
        assert only(match([W(read, 10)], c)).pattern_id == code, read
    # capitals for digits are OCR's confusions whatever the case pattern
    assert only(match([W("AI", 10)], c)).pattern_id == "A1"
    assert only(match([W("CIO", 10)], c)).pattern_id == "C10"


def test_a_value_differing_in_a_digit_is_another_value_with_a_separator_lost():
    # schematic 03: 22uF/6.3V/20%/X5R/C0603 (read exactly, also with O for 0) is
    # drawn beside 2.2uF/6.3V/10%/X5R/C0603: a digit for a digit, a "." lost
    c = Catalog.from_texts(["2.2uF/6.3V/10%/X5R/C0603"])
    for read in ("22uF/6.3V/20%/X5R/C0603", "22uF/6.3V/20%/X5R/CO603"):
        assert match([W(read, 10)], c) == [], read
    # a separator lost alone, or with a confusion, is still a read of the code
    for read in ("22uF/6.3V/10%/X5R/C0603", "2.2uF/6.3V/1O%/X5R/C0603"):
        assert only(match([W(read, 10)], c)).pattern_id == "2.2uF/6.3V/10%/X5R/C0603", read


def test_words_that_sit_on_one_another_are_not_joined_into_a_code():
    # schematic 02: an "A" read inside the box of a pin number "1" (programming
    # note around it) passed for A1; side by side, the two words are still A1
    c = Catalog.from_texts(["A1"])
    stacked = [Word("A", 95.0, Box(562.7, 687.6, 564.2, 689.4), 1, "tesseract"),
               Word("1", 93.0, Box(562.7, 687.6, 565.2, 691.7), 1, "tesseract")]
    assert match(stacked, c) == []
    assert only(match(row("A", "1", gap=1.0), c)).pattern_id == "A1"


def test_a_pipe_beside_a_letter_is_no_digit():
    # schematics 02/03 after a wider read: "A|", "s|", "m|" -- a letter and the
    # wire beside it -- passed for A1, S1, M1; a "|" among digits is still a 1
    c = Catalog.from_texts(["A1", "S1", "M1", "C12"])
    for read in ("A|", "s|", "m|"):
        assert match([W(read, 10)], c) == [], read
    assert only(match([W("C|2", 10)], c)).pattern_id == "C12"
