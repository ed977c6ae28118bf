"""The OCR cache: each page's merged words on disk, so OCR never reads the same pixels twice.

A page's words depend on the file's bytes, the page, and every setting that
changes what OCR sees (DPI, tile grid, text directions, engines and their
versions, blank skipping), and on the code that reads (a fingerprint of its
modules' source) — those make the key. The matcher and catalog are not
in the key: re-running with an edited catalog costs only the matching.

Entries are small JSON files written by the one atomic writer
(:func:`locator.export.files.atomic_write`: a ``*.part*`` file fsync'd and
renamed into place). Nothing read back is trusted: an entry holds its key, its
page and a SHA-256 of its words, and every word is checked (types, finite
numbers, ordered boxes, the right page) before it is used. An entry that fails
any check -- damaged, truncated, edited, of another format -- is a miss: the
page is read again, the entry rewritten, and the run's warnings say so. A
cache folder that cannot be written only costs speed (a warning); a ``*.part``
left by a failed write is removed then, and stale ones (from a process killed
mid-write) when their folder is next written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path

from locator.errors import ExportError
from locator.export.files import atomic_write_bytes
from locator.geometry import Box
from locator.model import Word

log = logging.getLogger(__name__)

# Bump when the entries' layout changes (2: key, page and checksum in the entry).
CACHE_FORMAT = 2

#: Modules that do not change what a page's OCR words are (matching, the
#: catalog, scoring, output). Every other module of the package is part of
#: the reader's fingerprint: a change to the region finder, the merge or an
#: engine adapter reads pages again instead of returning the old words.
_NOT_READING = {"match.py", "matcher.py", "literals.py", "regexes.py", "scoring.py", "readings.py",
                "evaluate.py", "tables.py", "tune.py", "tune_grid.py", "memory.py", "cli.py",
                "cli_options.py", "cli_views.py", "outputs.py", "reports.py", "__main__.py",
                "bubbles.py", "tags.py", "paths.py"}
_NOT_READING_DIRS = {"export", "catalog", "serve"}


def reader_files() -> list[Path]:
    """The package's modules that decide what OCR reads (paths relative to it)."""
    root = Path(__file__).resolve().parent
    out = []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root)
        if not (rel.as_posix() in _NOT_READING or rel.parts[0] in _NOT_READING_DIRS):
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
    """SHA-256 of the file's content (the cache follows content, not names or dates).

    Hashed once per version of the file in a process: the OCR pass and the
    bubble pass of every page both key their entries by it, and a 200 MB scan
    takes about a second to hash. A file written again gets a new inode, size
    or modification time, and so a new hash."""
    st = os.stat(path)
    return _content_hash(os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _content_hash(path: str, _ino: int, _size: int, _mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class CacheKey(str):
    """An entry's name (the hex digest) that also knows the page it is for,
    so an entry read back can be checked against the page asked for."""

    page: int

    def __new__(cls, digest: str, page: int) -> CacheKey:
        self = super().__new__(cls, digest)
        self.page = page
        return self


#: Fields of an entry (format 2), each checked when it is read.
_ENTRY_FIELDS = {"format", "key", "page", "words", "sha256"}
#: Word sources an entry may hold (model.Word.source).
_SOURCES = ("ocr", "text")
#: Boxes further out than this (points; 200 inches is PDF's largest page,
#: user units aside) are not words of a page but a damaged number.
_MAX_COORD = 1e7
#: The longest shape or form (``circle-bar``, ``bubble``) a composed word may hold.
_MAX_LABEL = 40
#: The most lines a composed word may hold.
_MAX_PARTS = 8
#: A ``*.part`` older than this (seconds) is no write in progress: entries are
#: written in milliseconds, so it was left by a process killed mid-write.
STALE_PART_SECONDS = 600


def entry_checksum(key: str, page: int, rows: list) -> str:
    """The SHA-256 an entry stores over its key, page and words (catches damage, not intent)."""
    body = json.dumps([key, page, rows], separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(body.encode()).hexdigest()


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number an entry may hold")


def _number(v) -> bool:
    if isinstance(v, float):
        return math.isfinite(v)
    # JSON integers are unbounded: 10**400 is an int that no float holds
    return isinstance(v, int) and not isinstance(v, bool) and abs(v) <= _MAX_COORD


def _row_problem(r, page: int) -> str | None:
    """Why one stored word is unusable, or None."""
    if not isinstance(r, list) or len(r) not in (10, 13):
        return "a word is not a list of 10 or 13 fields"
    if len(r) == 13 and not (all(isinstance(v, str) and len(v) <= _MAX_LABEL for v in r[10:12])
                             and isinstance(r[12], list) and len(r[12]) <= _MAX_PARTS
                             and all(isinstance(v, str) for v in r[12])):
        return "a composed word's shape, form or lines are not short strings"
    text, conf, x0, y0, x1, y1, pg, engine, angle, source = r[:10]
    if not isinstance(text, str) or not text:
        return "a word's text is not a string"
    if not _number(conf) or not 0 <= conf <= 100:
        return f"a confidence is {conf!r}"
    if not all(_number(v) and abs(v) <= _MAX_COORD for v in (x0, y0, x1, y1)):
        return "a box holds a value that is not a finite number"
    if x0 > x1 or y0 > y1:
        return "a box is inverted"
    if isinstance(pg, bool) or pg != page:
        return f"a word is on page {pg!r}, the entry is for page {page}"
    if not isinstance(engine, str) or not engine:
        return "a word's engine is not a string"
    if not isinstance(angle, int) or isinstance(angle, bool) or not -360 <= angle <= 360:
        return f"a word's angle is {angle!r}"
    if source not in _SOURCES:
        return f"a word's source is {source!r}"
    return None


def entry_words(data, key: str, page: int | None = None) -> list[Word]:
    """The words of one parsed entry, after checking all of it; raises
    ``ValueError`` saying what is wrong. ``page``: the page the entry must be
    for (None: whatever page it says, as long as every word agrees)."""
    if not isinstance(data, dict) or set(data) != _ENTRY_FIELDS:
        raise ValueError("not an entry of this cache format")
    if data["format"] != CACHE_FORMAT or isinstance(data["format"], bool):
        raise ValueError(f"format {data['format']!r}, not {CACHE_FORMAT}")
    if data["key"] != str(key):
        raise ValueError("the entry is for another key")
    pg, rows = data["page"], data["words"]
    if not isinstance(pg, int) or isinstance(pg, bool) or pg < 1 or (page is not None
                                                                      and pg != page):
        raise ValueError(f"the entry is for page {pg!r}" + (f", not {page}" if page else ""))
    if not isinstance(rows, list):
        raise ValueError("its words are not a list")
    for r in rows:
        if (why := _row_problem(r, pg)) is not None:
            raise ValueError(why)
    if data["sha256"] != entry_checksum(str(key), pg, rows):
        raise ValueError("the checksum does not match its words")
    return [Word(text=r[0], conf=float(r[1]), box=Box(*(float(v) for v in r[2:6])), page=r[6],
                 engine=r[7], angle=r[8], source=r[9], **_composed(r)) for r in rows]


def _composed(r: list) -> dict:
    return {"shape": r[10], "form": r[11], "parts": tuple(r[12])} if len(r) == 13 else {}


def entry_data(key: str, page: int, words: list[Word]) -> dict:
    """What :meth:`OcrCache.put` writes for ``words`` of ``page`` (JSON-able): ten
    fields a word, thirteen for a composed word (an instrument bubble's: its
    ``shape``, ``form`` and ``parts`` too)."""
    rows = [[w.text, w.conf, w.box.x0, w.box.y0, w.box.x1, w.box.y1, w.page, w.engine,
             w.angle, w.source]
            + ([w.shape, w.form, list(w.parts)] if w.shape or w.form or w.parts else [])
            for w in words]
    return {"format": CACHE_FORMAT, "key": str(key), "page": page, "words": rows,
            "sha256": entry_checksum(str(key), page, rows)}


def parse_entry(text: str | bytes, key: str, page: int | None = None) -> list[Word]:
    """An entry file's content -> its words; ``ValueError`` for anything unusable
    (not JSON, NaN or Infinity, wrong structure, types, page or checksum)."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as e:  # absurd nesting is damage too
        raise ValueError("nested too deeply") from e
    return entry_words(data, key, page)


class OcrCache:
    """Per-page word lists under ``folder``; ``folder=None`` disables the cache."""

    def __init__(self, folder: str | os.PathLike | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self.write_warning: str | None = None
        #: ``(entry file, why)`` of each entry found unusable (and read again).
        self.damaged: list[tuple[Path, str]] = []
        self._swept: set[Path] = set()

    @property
    def warning(self) -> str | None:
        """One line for the run's warnings: entries that could not be written or used."""
        parts = [self.write_warning] if self.write_warning else []
        if self.damaged:
            n = len(self.damaged)
            path, why = self.damaged[0]
            parts.append(f"OCR cache: {n} damaged entr{'ies' if n > 1 else 'y'} ignored "
                         f"(read again and rewritten; the first, {path}: {why})")
        return "; ".join(parts) or None

    @staticmethod
    def key(content_hash: str, page: int, ocr_settings: dict) -> CacheKey:
        """The entry name for one page read with ``ocr_settings`` (JSON-able)."""
        blob = json.dumps({"format": CACHE_FORMAT, "reader": reader_fingerprint(),
                           "file": content_hash, "page": page, **ocr_settings}, sort_keys=True)
        return CacheKey(hashlib.sha256(blob.encode()).hexdigest(), page)

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Word] | None:
        """The words stored under ``key``, or None when absent or unusable."""
        if self.folder is None:
            return None
        path = self._path(key)
        try:
            text = path.read_bytes()
        except OSError:
            return None  # absent (or unreadable): read the page
        try:
            return parse_entry(text, key, getattr(key, "page", None))
        except ValueError as e:
            why = str(e) or type(e).__name__
            log.debug("OCR cache entry %s ignored: %s", path, why)
            self.damaged.append((path, why))
            return None

    def put(self, key: str, words: list[Word]) -> None:
        if self.folder is None:
            return
        page = getattr(key, "page", None) or (words[0].page if words else 1)
        try:
            data = json.dumps(entry_data(key, page, words), allow_nan=False).encode()
        except ValueError as e:  # a NaN from a reader: such an entry could not be read back
            log.debug("OCR cache entry for page %s not written: %s", page, e)
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._sweep(path.parent)
            # the one atomic writer: a full disk or a kill leaves no half entry
            atomic_write_bytes(path, data)
        except (OSError, ExportError) as e:
            if self.write_warning is None:
                why = e.strerror if isinstance(e, OSError) and e.strerror else e
                self.write_warning = f"OCR cache not written ({self.folder}: {why})"

    def _sweep(self, folder: Path) -> None:
        """Remove ``*.part`` files in ``folder`` older than :data:`STALE_PART_SECONDS`
        (once per folder and run): what a process killed mid-write left."""
        if folder in self._swept:
            return
        self._swept.add(folder)
        now = time.time()
        for part in folder.glob("*.part*"):  # atomic_write's ".NAME.XXXX.part.json"
            with contextlib.suppress(OSError):
                if now - part.stat().st_mtime > STALE_PART_SECONDS:
                    part.unlink()
