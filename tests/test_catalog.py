"""Loading and validating catalogs: every mistake names the file, line and field."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from locator.catalog import MAX_DEPTH, Catalog, load_catalog, load_codes, parse_catalog
from locator.errors import CatalogError, LocatorError
from locator.normalize import DEFAULT_CONFUSIONS


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path: Path, text: str, name: str = "codes.yaml") -> str:
    p = write(tmp_path, name, text)
    with pytest.raises(CatalogError) as ei:
        load_catalog(p)
    msg = str(ei.value)
    assert str(p) in msg, msg  # every message names the file
    return msg


GOOD = r"""
defaults: {min_score: 90, ignore: " "}
patterns:
  - id: FIC-101
    text: FIC-101
    label: instrument
  - id: part-number
    regex: '[A-Z]{2}-\d{5}-[A-Z]'
    label: part
    min_score: 100
  - PT-7
  - text: 0101
  - text: PUMP ROOM
    near: {pattern: FIC-101, within: 50}
    exclude: [PUMP ROOMS]
    whole_word: false
    case_sensitive: true
    confusions: [O0, "I1"]
"""


# --- a good catalog --------------------------------------------------------------

def test_a_good_catalog_loads_with_defaults_and_overrides(tmp_path):
    c = load_catalog(write(tmp_path, "codes.yaml", GOOD))
    assert c.ids == ["FIC-101", "part-number", "PT-7", "0101", "PUMP ROOM"]
    fic, part, pt, zero, room = c.patterns
    assert (fic.kind, fic.text, fic.label, fic.min_score, fic.ignore) == (
        "text", "FIC-101", "instrument", 90, " ")
    assert fic.confusions == DEFAULT_CONFUSIONS and fic.whole_word and not fic.case_sensitive
    assert (part.kind, part.regex, part.min_score) == ("regex", r"[A-Z]{2}-\d{5}-[A-Z]", 100)
    assert part.compiled.fullmatch("ab-12345-c")  # case-insensitive by default
    assert (pt.id, pt.label) == ("PT-7", "code")
    assert zero.text == "0101"  # not the YAML integer 65 or 101
    assert room.near.pattern == "FIC-101" and room.near.within == 50
    assert room.exclude == ("PUMP ROOMS",) and not room.whole_word and room.case_sensitive
    assert room.confusions == ("O0", "I1")
    assert fic.origin == f"{tmp_path / 'codes.yaml'} line 4"
    assert c.get("PT-7") is pt and len(c) == 5 and list(c) == c.patterns


def test_catalog_pickles(tmp_path):
    c = load_catalog(write(tmp_path, "codes.yaml", GOOD))
    c2 = pickle.loads(pickle.dumps(c))
    assert c2.ids == c.ids and c2.patterns[1].compiled.pattern == c.patterns[1].compiled.pattern


def test_symbol_entries_are_valid_and_resolved_against_the_catalog(tmp_path):
    (tmp_path / "symbols").mkdir()
    (tmp_path / "symbols" / "valve.png").write_bytes(b"\x89PNG")
    c = load_catalog(write(tmp_path, "codes.yaml", """
patterns:
  - symbol: symbols/valve.png
    scales: [0.5, 1, 2]
    rotations: [0, 90]
    label: valve
  - {id: v2, symbol: symbols/valve.png}
"""))
    s = c.patterns[0]
    assert (s.kind, s.id, s.label, s.scales, s.rotations) == (
        "symbol", "valve", "valve", (0.5, 1.0, 2.0), (0.0, 90.0))
    assert s.symbol == (tmp_path / "symbols" / "valve.png").resolve()
    assert c.patterns[1].scales == (0.8, 1.25)  # no scales: the default range


def test_file_entries_read_csv_relative_to_the_catalog(tmp_path):
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "tags.csv").write_text(
        "Tag;Type\nFIC-101;flow\nPT-7;\n;x\nPT-7;\n", encoding="utf-8")
    c = load_catalog(write(tmp_path, "codes.yaml", """
defaults: {min_score: 80}
patterns:
  - file: lists/tags.csv
    column: tag
    label_column: Type
    label: instrument
    min_score: 95
  - {id: extra, text: X-1}
"""))
    assert c.ids == ["FIC-101", "PT-7", "extra"]
    fic, pt, extra = c.patterns
    assert (fic.label, pt.label, fic.min_score, extra.min_score) == ("flow", "instrument", 95, 80)
    assert fic.origin == "lists/tags.csv row 2"


def test_catalog_from_texts():
    c = Catalog.from_texts(["A-1", "B-2"], label="tag", min_score=70)
    assert c.ids == ["A-1", "B-2"] and c.patterns[0].label == "tag"
    assert c.patterns[0].min_score == 70


# --- load_codes ------------------------------------------------------------------

def test_load_codes_csv_with_bom_and_labels(tmp_path):
    p = tmp_path / "tags.csv"
    p.write_bytes("\ufeffTag,Type\nFIC-101,flow\nFIC-101,flow\nPT-7,pressure\n".encode())
    c = load_codes(p, column="Tag", label_column="Type")
    assert c.ids == ["FIC-101", "PT-7"]
    assert [x.label for x in c.patterns] == ["flow", "pressure"]
    c = load_codes(p, column="Tag", label="instrument", min_score=99)
    assert {x.label for x in c.patterns} == {"instrument"} and c.patterns[0].min_score == 99


def test_load_codes_xlsx(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tags"
    ws.append([None, None])
    ws.append(["Tag", "Type"])
    ws.append(["FIC-101", "flow"])
    ws.append([101, None])
    ws.append([None, "x"])
    wb.create_sheet("Other").append(["nothing"])
    p = tmp_path / "tags.xlsx"
    wb.save(p)
    c = load_codes(p, column="Tag", label_column="Type")
    assert c.ids == ["FIC-101", "101"]
    assert [x.label for x in c.patterns] == ["flow", "code"]
    assert c.patterns[1].origin == f"{p} row 4"
    with pytest.raises(CatalogError, match=r"tags.xlsx: no sheet 'Nope' \(sheets: Tags, Other\)"):
        load_codes(p, column="Tag", sheet="Nope")
    with pytest.raises(CatalogError, match=r"tags.xlsx row 2: no column 'Code'"):
        load_codes(p, column="Code")


def test_load_codes_same_code_two_labels_is_an_error(tmp_path):
    p = write(tmp_path, "tags.csv", "Tag,Type\nFIC-101,flow\nFIC-101,level\n")
    with pytest.raises(CatalogError, match=r"tags.csv row 3: code 'FIC-101' is listed again "
                                           r"with label 'level' \(row 2 says 'flow'\)"):
        load_codes(p, column="Tag", label_column="Type")


def test_load_codes_missing_column_lists_the_header(tmp_path):
    p = write(tmp_path, "tags.csv", "Tag No,Type\nA,b\n")
    with pytest.raises(CatalogError) as ei:
        load_codes(p, column="Tag")
    msg = str(ei.value)
    assert "tags.csv row 1: no column 'Tag'" in msg and "'Tag No', 'Type'" in msg


def test_load_codes_non_utf8_names_cp1252(tmp_path):
    p = tmp_path / "tags.csv"
    p.write_bytes("Tag\nFIC-101\nFIC\u2013102\n".encode("cp1252"))
    with pytest.raises(CatalogError) as ei:
        load_codes(p, column="Tag")
    msg = str(ei.value)
    assert "tags.csv line 3: not UTF-8" in msg and "0x96" in msg
    assert "cp1252" in msg and "encoding" in msg
    c = load_codes(p, column="Tag", encoding="cp1252")
    assert c.ids == ["FIC-101", "FIC\u2013102"]


def test_load_codes_missing_file_and_bad_formats(tmp_path):
    with pytest.raises(CatalogError, match="nope.csv: code list not found"):
        load_codes(tmp_path / "nope.csv", column="Tag")
    for name, msg in (("t.xls", "old-style .xls"), ("t.json", "unknown code-list format"),
                      ("t.xlsx", "not a readable .xlsx")):
        p = tmp_path / name
        p.write_bytes(b"junk")
        with pytest.raises(CatalogError, match=msg):
            load_codes(p, column="Tag")
    empty = write(tmp_path, "empty.csv", "")
    with pytest.raises(CatalogError, match="empty.csv: the file is empty"):
        load_codes(empty, column="Tag")
    header_only = write(tmp_path, "h.csv", "Tag\n")
    with pytest.raises(CatalogError, match="h.csv: no patterns"):
        load_codes(header_only, column="Tag")


# --- every malformed catalog -------------------------------------------------------

def test_invalid_yaml_names_its_line(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: a\n    text: [unclosed\n  - id: b\n")
    assert "invalid YAML" in msg and "line " in msg


def test_not_a_mapping(tmp_path):
    msg = error_of(tmp_path, "- FIC-101\n- FIC-102\n")
    assert "line 1: expected a mapping with 'patterns:'" in msg and "got a list" in msg
    assert "expected a mapping" in error_of(tmp_path, "just a string\n")


def test_empty_file(tmp_path):
    assert "the catalog is empty" in error_of(tmp_path, "# nothing\n")


def test_missing_patterns_key(tmp_path):
    assert "line 1: missing 'patterns'" in error_of(tmp_path, "defaults: {min_score: 9}\n")


def test_empty_pattern_list(tmp_path):
    assert "line 2: 'patterns' is empty" in error_of(tmp_path, "defaults: {}\npatterns: []\n")


def test_unknown_top_level_key(tmp_path):
    msg = error_of(tmp_path, "patterns: [a]\npatern: x\n")
    assert "line 2: unknown key 'patern'; did you mean 'patterns'?" in msg


def test_unknown_pattern_key_names_line_and_pattern(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: X\n    text: X\n    min_scor: 3\n")
    assert "line 4: pattern 'X': unknown key 'min_scor'; did you mean 'min_score'?" in msg


def test_missing_field_of_a_file_entry(tmp_path):
    write(tmp_path, "tags.csv", "Tag\nA\n")
    msg = error_of(tmp_path, "patterns:\n  - file: tags.csv\n    label: x\n")
    assert "line 2: file entry 'tags.csv': a 'file:' entry needs 'column'" in msg


def test_missing_field_of_near(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - {id: A, text: A}\n  - id: B\n    text: B\n"
                             "    near: {pattern: A}\n")
    assert "line 5: pattern 'B': missing 'near.within'" in msg


def test_wrong_types(tmp_path):
    text = """patterns:
  - id: X
    text: X
    min_score: high
  - id: Y
    text: Y
    case_sensitive: 3
  - regex: [A-Z]
    id: Z
  - id: Q
    text: Q
    exclude: {a: 1}
"""
    msg = error_of(tmp_path, text)
    assert "line 4: pattern 'X': 'min_score' must be a number, not 'high'" in msg
    assert "line 7: pattern 'Y': 'case_sensitive' must be true or false, not 3" in msg
    assert "line 8: pattern 'Z': 'regex' must be a string, not a list (quote the regex" in msg
    assert "line 12: pattern 'Q': 'exclude' must be a list, not a mapping" in msg


def test_out_of_range_values(tmp_path):
    msg = error_of(tmp_path, "defaults:\n  min_score: 120\npatterns: [a]\n")
    assert "line 2: defaults: 'min_score' must be between 0 and 100, not 120" in msg
    msg = error_of(tmp_path, "patterns:\n  - text: a\n    near: {pattern: b, within: -1}\n"
                             "  - b\n")
    assert "line 3: pattern 'a': 'near.within' must be greater than 0" in msg


def test_entry_must_be_a_mapping_or_string(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - [a, b]\n")
    assert "line 2: pattern #1: expected a mapping (id:, text: ...) or a string" in msg


def test_neither_text_nor_regex(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: A\n    text: A\n  - id: X\n    label: foo\n")
    assert "line 4: pattern 'X': needs 'text', 'regex', 'symbol' or 'file'" in msg


def test_both_text_and_regex(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: X\n    text: X\n    regex: X\n")
    assert "line 2: pattern 'X': has both 'text' and 'regex'" in msg


def test_empty_text(tmp_path):
    assert "line 2: pattern #1: 'text' is empty" in error_of(tmp_path, "patterns:\n  - text:\n")
    msg = error_of(tmp_path, "patterns:\n  - text: '--'\n    ignore: '-'\n")
    assert "'text' is empty once the ignored characters" in msg


def test_regex_needs_an_id(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - regex: 'A+'\n")
    assert "line 2: pattern #1: a regex pattern needs an 'id'" in msg


def test_bad_regex(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: r\n    regex: '[A-Z'\n")
    assert "line 3: pattern 'r': bad regex '[A-Z'" in msg
    msg = error_of(tmp_path, "patterns:\n  - id: r\n    regex: 'A*'\n")
    assert "line 3: pattern 'r': regex 'A*' matches the empty string" in msg


def test_duplicate_ids(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - {id: A, text: A}\n  - B\n  - {id: A, text: C}\n")
    assert "codes.yaml line 4: duplicate id 'A' (first defined at " in msg
    assert "line 2)" in msg


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, "tags.csv", "Tag\nFIC-101\nPT-7\n")
    msg = error_of(tmp_path, "patterns:\n  - FIC-101\n  - file: tags.csv\n    column: Tag\n")
    assert "tags.csv row 2: duplicate id 'FIC-101' (first defined at" in msg
    assert "codes.yaml line 2)" in msg


def test_duplicate_yaml_key(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - id: A\n    text: A\n    text: B\n")
    assert "line 4: duplicate key 'text'" in msg


def test_csv_without_the_column(tmp_path):
    write(tmp_path, "tags.csv", "Code,Type\nA,b\n")
    p = write(tmp_path, "codes.yaml", "patterns:\n  - file: tags.csv\n    column: Tag\n")
    with pytest.raises(CatalogError, match=r"tags.csv row 1: no column 'Tag' \(the header "
                                           r"has 'Code', 'Type'\)"):
        load_catalog(p)


def test_non_utf8_csv_in_a_catalog_and_the_encoding_option(tmp_path):
    (tmp_path / "tags.csv").write_bytes("Tag\nPUMP\u00c9\n".encode("cp1252"))
    p = write(tmp_path, "codes.yaml", "patterns:\n  - file: tags.csv\n    column: Tag\n")
    with pytest.raises(CatalogError, match=r"tags.csv line 2: not UTF-8 text \(byte 0xc9\); "
                                           r"it reads cleanly as Windows-1252"):
        load_catalog(p)
    p = write(tmp_path, "codes.yaml", "patterns:\n  - file: tags.csv\n    column: Tag\n"
                                      "    encoding: cp1252\n")
    assert load_catalog(p).ids == ["PUMP\u00c9"]


def test_non_utf8_catalog(tmp_path):
    p = tmp_path / "codes.yaml"
    p.write_bytes("patterns:\n  - PUMP\u00c9\n".encode("cp1252"))
    with pytest.raises(CatalogError, match=r"codes.yaml line 2: not UTF-8 text"):
        load_catalog(p)


def test_missing_files(tmp_path):
    with pytest.raises(CatalogError, match="nope.yaml: catalog file not found"):
        load_catalog(tmp_path / "nope.yaml")
    msg = error_of(tmp_path, "patterns:\n  - A\n  - file: gone.csv\n    column: Tag\n")
    assert "line 3: file entry 'gone.csv': file 'gone.csv' not found" in msg
    msg = error_of(tmp_path, "patterns:\n  - symbol: gone.png\n")
    assert "line 2: pattern 'gone.png': symbol image 'gone.png' not found" in msg
    with pytest.raises(CatalogError, match="is a folder"):
        load_catalog(tmp_path)


def test_a_code_list_given_as_catalog_points_to_codes(tmp_path):
    p = write(tmp_path, "tags.csv", "Tag\nA\n")
    with pytest.raises(CatalogError, match="--codes .*tags.csv --column NAME"):
        load_catalog(p)


def test_near_must_name_an_existing_other_pattern(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - {id: PUMP-1, text: P}\n  - id: M\n    text: M\n"
                             "    near: {pattern: PUMP-2, within: 9}\n")
    assert ("line 5: pattern 'M': 'near.pattern' names 'PUMP-2', which is not a pattern id "
            "in this catalog; did you mean 'PUMP-1'?") in msg
    msg = error_of(tmp_path, "patterns:\n  - id: M\n    text: M\n"
                             "    near: {pattern: M, within: 9}\n")
    assert "line 4: pattern 'M': 'near.pattern' names the pattern itself" in msg


def test_confusion_options_validated(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - text: A\n    confusions: yes please\n")
    assert "line 3: pattern 'A': 'confusions' must be true, false, or a list" in msg
    msg = error_of(tmp_path, "patterns:\n  - text: A\n    confusions: [O0, 0Q]\n")
    assert "'confusions': confusion classes overlap on '0'" in msg


def test_options_in_the_wrong_place(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - text: A\n    scales: [1]\n")
    assert "line 2: pattern 'A': 'scales' belongs to a 'symbol:' pattern" in msg
    msg = error_of(tmp_path, "patterns:\n  - text: A\n    column: Tag\n")
    assert "'column' belongs to a 'file:' entry" in msg


def test_unsafe_yaml_tags_are_refused(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - !!python/object/apply:os.system ['echo hi']\n")
    assert "line 2: unsupported YAML tag" in msg
    msg = error_of(tmp_path, "patterns:\n  - !!python/name:os.system x\n")
    assert "line 2: cannot read value" in msg


def test_billion_laughs_is_refused(tmp_path):
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for k in range(1, 10):
        lines.append(f"a{k}: &a{k} [" + ",".join([f"*a{k - 1}"] * 9) + "]")
    lines.append("patterns: *a9")
    msg = error_of(tmp_path, "\n".join(lines) + "\n")
    assert "alias" in msg and "line" in msg


def test_recursive_alias_is_refused(tmp_path):
    msg = error_of(tmp_path, "a: &a [*a]\npatterns: [x]\n")
    assert "line 1" in msg and "alias" in msg


def test_deep_nesting_is_refused(tmp_path):
    depth = MAX_DEPTH + 5
    msg = error_of(tmp_path, "patterns: " + "[" * depth + "]" * depth + "\n")
    assert f"nested more than {MAX_DEPTH} levels deep" in msg and "line 1" in msg
    msg = error_of(tmp_path, "patterns: " + "[" * 100_000 + "\n")  # no recursion error
    assert "line 1" in msg


def test_merge_keys_are_refused(tmp_path):
    msg = error_of(tmp_path, "base: &b {min_score: 9}\npatterns:\n  - <<: *b\n    text: A\n")
    assert "line 3: merge keys ('<<') are not supported" in msg


def test_many_errors_are_reported_together(tmp_path):
    text = "patterns:\n" + "".join(f"  - id: X{k}\n    label: l\n" for k in range(12))
    msg = error_of(tmp_path, text)
    assert msg.count("needs 'text', 'regex', 'symbol' or 'file'") == 10
    assert "... and 2 more error(s)" in msg


def test_catalog_error_is_a_locator_error_with_exit_code_5(tmp_path):
    with pytest.raises(LocatorError) as ei:
        parse_catalog("patterns: []", name="x.yaml")
    assert ei.value.exit_code == 5


def test_the_example_catalogs_load():
    root = Path(__file__).resolve().parents[1] / "patterns"
    found = [p for p in sorted(root.glob("*.yaml")) if not p.name.startswith("sample-")]
    assert found
    for p in found:
        assert len(load_catalog(p)) > 0, p


def test_combine_catalogs_checks_ids_across_them(tmp_path):
    yaml_cat = load_catalog(write(tmp_path, "codes.yaml", "patterns:\n  - FIC-101\n"))
    codes = load_codes(write(tmp_path, "tags.csv", "Tag\nPT-7\n"), column="Tag")
    both = Catalog.combine(yaml_cat, codes)
    assert both.ids == ["FIC-101", "PT-7"]
    clash = load_codes(write(tmp_path, "more.csv", "Tag\nFIC-101\n"), column="Tag")
    with pytest.raises(CatalogError, match=r"more.csv row 2: duplicate id 'FIC-101' \(first "
                                           r"defined at .*codes.yaml line 2\)"):
        Catalog.combine(yaml_cat, clash)


# --- issue 18: a YAML error on a regex says how to quote it ----------------------------

@pytest.mark.parametrize("line,quoted", [
    (r"regex: [A-Z]{2}-\d+", r"regex: '[A-Z]{2}-\d+'"),    # a flow sequence to YAML
    (r"regex: \d{3}: \w+", r"regex: '\d{3}: \w+'"),         # ': ' starts a mapping
    (r"regex: @\w+", r"regex: '@\w+'"),                     # reserved indicator
    (r"regex: %\d+", r"regex: '%\d+'"),                     # a directive's sign
    (r'regex: "\d+-[A-Z]"', r"regex: '\d+-[A-Z]'"),         # YAML escapes in double quotes
])
def test_a_yaml_error_on_an_unquoted_regex_suggests_quoting_it(capsys, tmp_path, line, quoted):
    from locator.cli import main

    pdf = tmp_path / "d.pdf"
    import pymupdf

    doc = pymupdf.open()
    doc.new_page(width=200, height=100).insert_text((20, 50), "AB-12", fontsize=10)
    doc.save(pdf)
    cat = write(tmp_path, "codes.yaml", f"patterns:\n  - id: code\n    {line}\n")
    with pytest.raises(SystemExit) as e:
        main([str(pdf), "--patterns", str(cat), "-o", str(tmp_path / "out.csv"), "-q"])
    err = capsys.readouterr().err
    assert e.value.code == 5, err
    assert "codes.yaml line 3: invalid YAML" in err and "single quotes" in err, err
    assert quoted in err, err
    fixed = write(tmp_path, "fixed.yaml", f"patterns:\n  - id: code\n    {quoted}\n")
    assert load_catalog(fixed).get("code").regex == quoted.split("'")[1]  # the advice works


def test_quoting_advice_in_flow_style_and_inside_single_quotes(tmp_path):
    msg = error_of(tmp_path, "patterns:\n  - {id: code, regex: [A-Z]{2}}\n")
    assert "line 2: invalid YAML" in msg and "put the regex in single quotes" in msg
    msg = error_of(tmp_path, "patterns:\n  - id: code\n    regex: 'it's'\n")
    assert "write a quote as two" in msg
    msg = error_of(tmp_path, "patterns:\n  - id: a\n    text: [unclosed\n  - id: b\n")
    assert "quote" not in msg  # not a regex line: no advice
