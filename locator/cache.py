"""The OCR cache: each page's merged words on disk, so OCR never reads the same pixels twice.

A page's words depend on the file's bytes, the page, and every setting that
changes what OCR sees (DPI, tile grid, text directions, engines and their
versions, blank skipping) — those make the key. The matcher and catalog are not
in the key: re-running with an edited catalog costs only the matching. Entries
are small JSON files written atomically; a damaged entry is ignored and
rewritten; a cache folder that cannot be written only costs speed (a warning).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from locator.geometry import Box
from locator.model import Word

# Bump when lifting, merging or an engine adapter changes what a page's words are.
CACHE_FORMAT = 1


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
        blob = json.dumps({"format": CACHE_FORMAT, "file": content_hash, "page": page,
                           **ocr_settings}, sort_keys=True)
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
