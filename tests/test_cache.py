"""The OCR cache: a page is read once per file content, reading settings and reading code."""

from __future__ import annotations

import json
import os
import time
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
                    "pdf/reading.py", "pdf/library.py", "textlayer.py",
                    "engines/tesseract.py", "engines/_tessapi.py", "engines/rapidocr.py"):
        assert reading in files, reading
    for not_reading in ("match.py", "catalog.py", "export/workbook.py", "cli.py", "reports.py",
                        "catalog/__init__.py", "catalog/loading.py", "catalog/schema.py"):
        assert not_reading not in files, not_reading
    assert len(cache_mod.reader_fingerprint()) == 16


def test_a_damaged_entry_is_read_again_and_rewritten(tmp_path):
    pdf, cat = _setup(tmp_path)
    run(pdf, cat, _settings(tmp_path))
    entries = _word_entries(tmp_path)
    assert len(entries) == 2
    entries[0].write_text("{not json")
    again = run(pdf, cat, _settings(tmp_path))
    assert again.report.pages_cached == 1
    assert sorted(h.matched for h in again.hits) == ["CODE-1", "CODE-2"]
    third = run(pdf, cat, _settings(tmp_path))
    assert third.report.pages_cached == 2


# -- hostile entries (issue 18, item 3): nothing read back is trusted --------------------

def _cli(capsys, *args):
    import pytest

    from locator.cli import err, main

    width, err.width = err.width, 1000  # long paths in the summary are not cut
    try:
        with pytest.raises(SystemExit) as e:
            main([str(a) for a in args])
    finally:
        err.width = width
    cap = capsys.readouterr()
    return e.value.code, " ".join(cap.err.split())


def _cached_run(capsys, tmp_path, pdf, cat):
    out = tmp_path / "hits.csv"
    code, err = _cli(capsys, pdf, "--patterns", cat, "-o", out, "--cache", tmp_path / "cache",
                     "--source", "ocr", "--dpi", 150, "--rotations", 0, "--workers", 1)
    import pandas as pd

    return code, err, sorted(pd.read_csv(out)["matched"]) if code == 0 else None


def _word_entries(tmp_path) -> list[Path]:
    """The entries of the pages' OCR words (each OCR'd page also has one for the
    instrument bubbles of its image, empty on these pages)."""
    return sorted(f for f in Path(tmp_path / "cache").rglob("*.json")
                  if json.loads(f.read_text())["words"])


def _entry(tmp_path, page: int) -> Path:
    for f in _word_entries(tmp_path):
        if json.loads(f.read_text())["page"] == page:
            return f
    raise AssertionError(f"no entry for page {page}")


def _resealed(data: dict) -> str:
    """``data`` with a checksum that matches its (edited) words: a well-formed entry."""
    data = dict(data, sha256=cache_mod.entry_checksum(data["key"], data["page"], data["words"]))
    return json.dumps(data)


def _hostile_entries(good: dict) -> dict[str, str]:
    words = good["words"]
    w0 = words[0]
    return {
        "empty object": "{}",
        "empty list": "[]",
        "format 1 rows": json.dumps(words),
        "conf 'x'": _resealed(dict(good, words=[[w0[0], "x", *w0[2:]]])),
        "text 123": _resealed(dict(good, words=[[123, *w0[1:]]])),
        "null coordinates": _resealed(dict(good, words=[[*w0[:2], None, None, None, None,
                                                        *w0[6:]]])),
        "NaN box": json.dumps(dict(good, words=[[*w0[:2], float("nan"), *w0[3:]]])),
        "conf 10**400": _resealed(dict(good, words=[[w0[0], 10**400, *w0[2:]]])),
        "x0 -10**400": _resealed(dict(good, words=[[*w0[:2], -10**400, *w0[3:]]])),
        "inverted box": _resealed(dict(good, words=[[*w0[:2], w0[4], w0[3], w0[2], w0[5],
                                                    *w0[6:]]])),
        "words on page 99": _resealed(dict(good, words=[[*w0[:6], 99, *w0[7:]]])),
        "entry for page 99": _resealed(dict(good, page=99, words=[[*w0[:6], 99, *w0[7:]]])),
        "another key": _resealed(dict(good, key="0" * 64)),
        "text edited, checksum not": json.dumps(dict(good, words=[["CODE-9", *w0[1:]]])),
        "truncated": json.dumps(good)[:40],
        "deep nesting": "[" * 100_000,
        "not UTF-8": "\udcff",
    }


def test_hostile_entries_are_misses_read_again_and_rewritten(capsys, tmp_path):
    pdf, cat = _setup(tmp_path)
    code, err, first = _cached_run(capsys, tmp_path, pdf, cat)
    assert code == 0 and first == ["CODE-1", "CODE-2"], err
    entry = _entry(tmp_path, 1)
    good = json.loads(entry.read_text())
    assert good["words"] and good["page"] == 1
    for what, content in _hostile_entries(good).items():
        entry.write_bytes(content.encode("utf-8", "surrogateescape"))
        code, err, hits = _cached_run(capsys, tmp_path, pdf, cat)
        assert code == 0, (what, err)
        assert hits == first, what  # nothing vanished, nothing of the bad entry came out
        assert "1 page(s) from the OCR cache" in err, (what, err)  # page 2 is still good
        assert "1 damaged entry ignored" in err and str(entry) in err, (what, err)
        assert json.loads(entry.read_text()) == good, what  # rewritten as it was
    code, err, hits = _cached_run(capsys, tmp_path, pdf, cat)
    assert "2 page(s) from the OCR cache" in err and "damaged" not in err


def test_a_full_disk_leaves_no_part_files(capsys, tmp_path, monkeypatch):
    import errno

    pdf, cat = _setup(tmp_path)
    folder = tmp_path / "cache"
    real = os.fsync

    def disk_full(fd):  # the data of a cache entry does not fit: ENOSPC when it is flushed
        if str(folder) in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd)

    monkeypatch.setattr(os, "fsync", disk_full)
    code, err, hits = _cached_run(capsys, tmp_path, pdf, cat)
    assert code == 0 and hits == ["CODE-1", "CODE-2"], err
    assert "OCR cache not written" in err and "No space left on device" in err
    assert folder.is_dir() and not [p for p in folder.rglob("*") if p.is_file()]


def test_stale_part_files_are_removed_and_fresh_ones_kept(capsys, tmp_path):
    pdf, cat = _setup(tmp_path)
    _cached_run(capsys, tmp_path, pdf, cat)
    entry = _entry(tmp_path, 1)
    entry.unlink()  # page 1 is read and written again, in the same folder
    stale, fresh = entry.parent / "killed-mid-write.part", entry.parent / "being-written.part"
    stale.write_text("[[\"half")
    fresh.write_text("[[\"half")
    old = time.time() - 2 * cache_mod.STALE_PART_SECONDS
    os.utime(stale, (old, old))
    code, err, hits = _cached_run(capsys, tmp_path, pdf, cat)
    assert code == 0 and hits == ["CODE-1", "CODE-2"], err
    assert not stale.exists()
    assert fresh.exists()  # another run's write in progress is left alone
    assert entry.exists()


def test_the_file_hash_follows_a_rewritten_file(tmp_path):
    # hashed once per version of the file: a rewrite (same name, same size) is a new version
    f = tmp_path / "d.pdf"
    f.write_bytes(b"A" * 1000)
    first = cache_mod.file_hash(f)
    assert cache_mod.file_hash(f) == first
    tmp = tmp_path / "new.pdf"
    tmp.write_bytes(b"B" * 1000)
    os.replace(tmp, f)
    assert cache_mod.file_hash(f) != first
