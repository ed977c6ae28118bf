"""locate batch: pages of many files as tasks, locally and on a Dask cluster, one table."""

from __future__ import annotations

import pandas as pd
import pytest

from locator.batch import collect, run_batch
from locator.catalog import load_catalog
from locator.cli import main
from locator.errors import InputFileError
from locator.settings import Settings
from tests.conftest import draw_codes, write_catalog

CODES_A = [("FIC-101", 40, 60, 9, 0), ("PT-2034", 200, 150, 8, 0)]
CODES_B = [("LT-3307", 60, 80, 10, 0), ("AB-12345-C", 150, 200, 9, 0)]


@pytest.fixture
def folder(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    draw_codes(docs / "a.pdf", CODES_A, width=400, height=300)
    draw_codes(docs / "sub" / "b.pdf", CODES_B, width=400, height=300)
    (docs / "notes.txt").write_text("not a document")
    cat = write_catalog(tmp_path / "codes.yaml", [c[0] for c in CODES_A + CODES_B] + ["ZZ-1"])
    return docs, cat


SETTINGS = dict(dpi=200, rotations=(0,), source="ocr", cache=False)


def _table(result) -> pd.DataFrame:
    rows = [(f, h.pattern_id, h.page, round(h.box.x0, 1), round(h.box.y0, 1))
            for f, hits in result.hits.items() for h in hits]
    return pd.DataFrame(rows, columns=["file", "pattern_id", "page", "x0", "y0"]).sort_values(
        ["file", "pattern_id"]).reset_index(drop=True)


def test_local_batch_finds_every_file_and_records_missing(folder):
    docs, cat = folder
    files = collect(docs)
    assert [f.name for f in files] == ["a.pdf", "b.pdf"]
    res = run_batch(files, load_catalog(cat), Settings(workers=2, **SETTINGS))
    t = _table(res)
    assert sorted(t["pattern_id"]) == sorted(c[0] for c in CODES_A + CODES_B)
    assert all("ZZ-1" in m for m in res.missing.values())
    assert not res.failures and res.pages == 2


def test_dask_cluster_gives_the_same_table_as_the_local_run(folder):
    from dask import distributed  # the [dask] extra, which `make test` installs
    docs, cat = folder
    catalog, files = load_catalog(cat), collect(docs)
    local = _table(run_batch(files, catalog, Settings(workers=1, **SETTINGS)))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = _table(run_batch(files, catalog, Settings(**SETTINGS),
                                   scheduler=cluster.scheduler_address))
    pd.testing.assert_frame_equal(local, on_dask)
    assert len(local) == 4


def test_a_broken_file_is_recorded_and_the_batch_goes_on(folder):
    docs, cat = folder
    (docs / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage that is not a PDF")
    res = run_batch(collect(docs), load_catalog(cat), Settings(workers=1, **SETTINGS))
    assert any(f.endswith("broken.pdf") for f in res.failures)
    assert len(res.hits) == 2


def test_batch_cli_writes_one_table_with_a_file_column(folder, tmp_path, capsys):
    docs, cat = folder
    out = tmp_path / "all.csv"
    with pytest.raises(SystemExit) as e:
        main(["batch", str(docs), "--patterns", str(cat), "-o", str(out), "--dpi", "200",
              "--source", "ocr", "--no-cache", "-q"])
    assert e.value.code == 0, capsys.readouterr().err
    df = pd.read_csv(out)
    assert {p.split("/")[-1] for p in df["file"]} == {"a.pdf", "b.pdf"}
    assert len(df) == 4


def test_empty_folder_is_an_input_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError):
        collect(tmp_path / "empty")


def test_batch_finds_symbols_too(tmp_path):
    """A catalog with symbol entries: batch reports symbol hits like locate does."""
    import shutil

    from locator.pipeline import run

    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy("samples/symbols-a2.pdf", docs / "symbols.pdf")
    cat = load_catalog("patterns/symbols.yaml")
    s = Settings(dpi=200, cache=False, workers=1)
    res = run_batch(collect(docs), cat, s)
    batch_ids = sorted(h.pattern_id for h in res.hits[str(docs / "symbols.pdf")])
    single_ids = sorted(h.pattern_id for h in run(docs / "symbols.pdf", cat, s).hits)
    assert batch_ids == single_ids and len(batch_ids) == 64
