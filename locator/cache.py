"""The OCR cache: each page's merged words on disk, so OCR never reads the same pixels twice.

A page's words depend on the file's bytes, the page, and every setting that
changes what OCR sees (DPI, tile grid, text directions, engines and their
versions, blank skipping), and on the code that reads (a fingerprint of its
modules' source) — those make the key. The matcher and catalog are not
in the key: re-running with an edited catalog costs only the matching. Entries
are small JSON files written atomically; a damaged entry is ignored and
rewritten; a cache folder that cannot be written only costs speed (a warning).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from locator.geometry import Box
from locator.model import Word

# Bump when the entries' layout changes.
CACHE_FORMAT = 1

#: Modules that do not change what a page's OCR words are (matching, the
#: catalog, scoring, output). Every other module of the package is part of
#: the reader's fingerprint: a change to the region finder, the merge or an
#: engine adapter reads pages again instead of returning the old words.
_NOT_READING = {"match.py", "matcher.py", "literals.py", "regexes.py", "scoring.py", "readings.py",
                "evaluate.py", "tables.py", "tune.py", "tune_grid.py", "memory.py", "cli.py",
                "cli_options.py", "cli_views.py", "outputs.py", "reports.py", "__main__.py"}
_NOT_READING_DIRS = {"export", "catalog"}


def reader_files() -> list[Path]:
    """The package's modules that decide what OCR reads (paths relative to it)."""
    root = Path(__file__).resolve().parent
    out = []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if not ((len(rel.parts) == 1 and rel.name in _NOT_READING)
                or rel.parts[0] in _NOT_READING_DIRS):
            out.append(rel)
    return out


@functools.lru_cache(maxsize=1)
def reader_fingerprint() -> str:
    """A hash of the source of every module that decides what OCR reads."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for rel in reader_files():
        h.update(rel.as_posix().encode() + b"\0" + (root / rel).read_bytes())
    return h.hexdigest()[:16]


def default_folder() -> Path:
    """``$LOCATOR_CACHE_DIR``, else ``$XDG_CACHE_HOME/locator``, else ``~/.cache/locator``."""
    if os.environ.get("LOCATOR_CACHE_DIR"):
        return Path(os.environ["LOCATOR_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "locator"


def file_hash(path: str | os.PathLike) -> str:
    """SHA-256 of the file's content (the cache follows content, not names or dates)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class OcrCache:
    """Per-page word lists under ``folder``; ``folder=None`` disables the cache."""

    def __init__(self, folder: str | os.PathLike | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.warning: str | None = None

    @staticmethod
    def key(content_hash: str, page: int, ocr_settings: dict) -> str:
        """The entry name for one page read with ``ocr_settings`` (JSON-able)."""
        blob = json.dumps({"format": CACHE_FORMAT, "reader": reader_fingerprint(),
                           "file": content_hash, "page": page, **ocr_settings}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Word] | None:
        if self.folder is None:
            return None
        try:
            rows = json.loads(self._path(key).read_text())
            return [Word(text=r[0], conf=r[1], box=Box(*r[2:6]), page=r[6], engine=r[7],
                         angle=r[8], source=r[9]) for r in rows]
        except (OSError, ValueError, TypeError, IndexError):
            return None  # absent or damaged: read the page again

    def put(self, key: str, words: list[Word]) -> None:
        if self.folder is None:
            return
        rows = [[w.text, w.conf, w.box.x0, w.box.y0, w.box.x1, w.box.y1, w.page, w.engine,
                 w.angle, w.source] for w in words]
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "w") as f:
                json.dump(rows, f)
            os.replace(tmp, path)
        except OSError as e:
            if self.warning is None:
                self.warning = f"OCR cache not written ({self.folder}: {e.strerror or e})"
