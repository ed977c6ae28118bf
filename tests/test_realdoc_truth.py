"""The truth the realdocs benchmarks score against (bench/realdoc_inputs.py)."""

from __future__ import annotations

import pymupdf

from bench.realdoc_inputs import pdf_truth


def _doc_with(tmp_path, lines):
    path = tmp_path / "sheet.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=200)
    for k, text in enumerate(lines):
        page.insert_text((20, 40 + 20 * k), text, fontsize=8)
    doc.save(path)
    words = [{"text": w[4], "bbox": list(w[:4])} for w in page.get_text("words")]
    doc.close()
    return path, {"pages": [{"page": 1, "words": words}]}


def test_a_code_in_a_sentence_is_the_code_without_the_sentence_punctuation(tmp_path):
    # schematic 03's note "U8, C28 and R45 have": the text layer's word is "U8,",
    # the drawing shows U8 there (an occurrence of U8, as J18: on 02 is of J18)
    path, gt = _doc_with(tmp_path, ["U8, C28 and R45 have", "see J18: GPIO0; R1.5"])
    truth, counts = pdf_truth(path, gt)
    assert sorted(truth["matched"]) == ["C28", "GPIO0", "J18", "R1.5", "R45", "U8"]
    assert counts["punct_stripped"] == 3
