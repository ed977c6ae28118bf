"""Heavy engines are imported only when chosen: `locate --help` and a Tesseract-only
run never load torch, onnxruntime, EasyOCR or RapidOCR (OpenCV is a core
dependency since vertical-text regions use it).

Each check runs in a fresh interpreter (this test process may have imported
them already) and reports which heavy modules ended up in ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ["torch", "torchvision", "onnxruntime", "easyocr", "easyocr_en_models",
         "rapidocr", "locator.engines.easyocr", "locator.engines.rapidocr"]

REPORT = f"""
import json, sys
print("HEAVY=" + json.dumps([m for m in {HEAVY!r} if m in sys.modules]))
"""


def _heavy_after(code: str, cwd: Path = ROOT) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", code + REPORT], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("HEAVY="))
    return json.loads(line[len("HEAVY="):])


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_locate_help_imports_no_engine():
    code = """
from locator.cli import main
try:
    main(["--help"])
except SystemExit as e:
    assert e.code in (0, None), e.code
"""
    assert _heavy_after(code) == []


def test_tesseract_only_run_imports_no_other_engine(tmp_path):
    import pymupdf

    pdf = tmp_path / "p.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    page.insert_text((40, 60), "FIC-101", fontsize=10, fontname="helv")
    doc.save(pdf)
    code = f"""
from locator.pipeline import read_document
from locator.settings import Settings
words = read_document({str(pdf)!r}, Settings(dpi=200, rotations=(0,), workers=1, cache=False,
                                        source="ocr"))
assert any(w.text == "FIC-101" for w in words), [w.text for w in words]
"""
    assert _heavy_after(code) == []


def test_choosing_an_engine_imports_only_that_engine():
    pytest.importorskip("rapidocr")
    code = """
from locator.engines import get_engine
get_engine("rapidocr")
"""
    heavy = _heavy_after(code)
    assert "onnxruntime" in heavy and "locator.engines.rapidocr" in heavy
    assert not {"torch", "easyocr", "locator.engines.easyocr"} & set(heavy)


def _pdf_library_users() -> dict[str, list[str]]:
    """Package modules that import PyMuPDF (``pymupdf``, ``fitz``) or fetch it
    through ``import_pymupdf``, with what they do (line: statement)."""
    import ast

    users: dict[str, list[str]] = {}
    for path in sorted((ROOT / "locator").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, (ast.Name, ast.Attribute)):
                names = [node.id if isinstance(node, ast.Name) else node.attr]
            else:
                continue
            if any(n.split(".")[0] in ("pymupdf", "fitz", "import_pymupdf") for n in names):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        if found:
            users[path.relative_to(ROOT).as_posix()] = found
    return users


def test_only_the_pdf_boundary_uses_pymupdf():
    """One place imports the PDF library (the package locator/pdf/); tests and bench may too."""
    users = _pdf_library_users()
    assert "locator/pdf/library.py" in users  # the check sees imports at all
    outside = {k: v for k, v in users.items() if not k.startswith("locator/pdf/")}
    assert not outside, outside
