"""The OCR cache: a page is read once per file content, reading settings and reading code."""

from __future__ import annotations

from pathlib import Path

from locator import cache as cache_mod
from locator.catalog import load_catalog
from locator.pipeline import run
from locator.settings import Settings
from tests.conftest import write_catalog
from tests.faulty import page_pdf


def _setup(tmp_path):
    pdf = page_pdf(tmp_path / "pages.pdf", 2)
    cat = write_catalog(tmp_path / "codes.yaml", ["CODE-1", "CODE-2"])
    return pdf, cat


def _settings(tmp_path, **kw):
    kw.setdefault("dpi", 150)
    return Settings(rotations=(0,), source="ocr", workers=1, cache=True,
                    cache_dir=str(tmp_path / "cache"), **kw)


def test_an_edited_catalog_is_matched_without_reading_again(tmp_path):
    pdf, cat = _setup(tmp_path)
    first = run(pdf, cat, _settings(tmp_path))
    assert first.report.pages_cached == 0 and first.report.tiles_read > 0
    assert sorted(h.matched for h in first.hits) == ["CODE-1", "CODE-2"]
    edited = write_catalog(tmp_path / "edited.yaml", ["CODE-2"])
    second = run(pdf, load_catalog(edited), _settings(tmp_path))
    assert second.report.pages_cached == 2 and second.report.tiles_read == 0
    assert [h.matched for h in second.hits] == ["CODE-2"]


def test_other_reading_settings_read_again(tmp_path):
    pdf, cat = _setup(tmp_path)
    run(pdf, cat, _settings(tmp_path))
    again = run(pdf, cat, _settings(tmp_path, dpi=200))
    assert again.report.pages_cached == 0 and again.report.tiles_read > 0


def test_new_reading_code_reads_again(tmp_path, monkeypatch):
    # A new version of the region finder or an engine adapter must not be
    # handed the words an older one read.
    pdf, cat = _setup(tmp_path)
    run(pdf, cat, _settings(tmp_path))
    monkeypatch.setattr(cache_mod, "reader_fingerprint", lambda: "another-reader")
    again = run(pdf, cat, _settings(tmp_path))
    assert again.report.pages_cached == 0 and again.report.tiles_read > 0


def test_the_reader_fingerprint_covers_reading_not_matching():
    files = {p.as_posix() for p in cache_mod.reader_files()}
    for reading in ("regions.py", "pipeline/tile.py", "pipeline/plan.py", "pipeline/read.py",
                    "pipeline/executor.py", "merge.py", "tiling.py", "documents.py",
                    "pdf.py", "textlayer.py",
                    "engines/tesseract.py", "engines/_tessapi.py", "engines/rapidocr.py"):
        assert reading in files, reading
    for not_reading in ("match.py", "catalog.py", "export/workbook.py", "cli.py", "reports.py",
                        "catalog/__init__.py", "catalog/loading.py", "catalog/schema.py"):
        assert not_reading not in files, not_reading
    assert len(cache_mod.reader_fingerprint()) == 16


def test_a_damaged_entry_is_read_again_and_rewritten(tmp_path):
    pdf, cat = _setup(tmp_path)
    run(pdf, cat, _settings(tmp_path))
    entries = sorted(Path(tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 2
    entries[0].write_text("{not json")
    again = run(pdf, cat, _settings(tmp_path))
    assert again.report.pages_cached == 1
    assert sorted(h.matched for h in again.hits) == ["CODE-1", "CODE-2"]
    third = run(pdf, cat, _settings(tmp_path))
    assert third.report.pages_cached == 2
