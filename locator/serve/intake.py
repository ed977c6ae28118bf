"""Turning an upload into a job: files saved under names the server chooses,
recognised by content, the catalog and settings validated as the CLI does.

Nothing a client sends becomes a path: documents are saved as
``jobs/ID/doc-N.EXT`` (the extension from the file's first bytes), the
catalog as ``catalog.yaml`` or ``codes.csv``/``codes.xlsx``, and the files a
YAML catalog's ``file:``/``symbol:`` entries name must be uploaded with it
(``catalog_files``); each such entry is rewritten to the saved name, so a
catalog naming ``/etc/passwd`` or ``../x.csv`` is refused, not read.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from locator.errors import (CatalogError, LocatorError, TooLargeError, UnsupportedFormatError,
                            UsageError)

#: Settings a client may choose (the server decides workers and the cache).
CLIENT_SETTINGS = frozenset({"dpi", "tile", "overlap", "pages", "engine", "rotations",
                             "source", "tile_timeout", "password", "skip_blank",
                             "rotated_regions", "text_regions", "clean", "max_text_pt",
                             "glyph_px"})

_IMAGE_KINDS = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"),
                (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"), (b"BM", ".bmp"),
                (b"GIF87a", ".gif"), (b"GIF89a", ".gif"))


class Upload(Protocol):
    """What the web framework hands over for one uploaded file."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """How much one job may upload: bytes per file, and documents per job."""

    max_file_bytes: int = 200 * 1024 * 1024
    max_files: int = 20


def display_name(name: str | None, fallback: str) -> str:
    """The client's file name for showing only: the last part, no control characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or fallback


async def save_upload(up: Upload, dest: Path, limits: Limits) -> int:
    """Stream ``up`` to ``dest``; :class:`~locator.errors.TooLargeError` (and nothing left) past the limit."""
    size = 0
    with dest.open("wb") as f:
        while chunk := await up.read(1 << 20):
            size += len(chunk)
            if size > limits.max_file_bytes:
                f.close()
                dest.unlink(missing_ok=True)
                raise TooLargeError(f"{display_name(up.filename, 'upload')}: larger than the "
                               f"limit of {limits.max_file_bytes // (1024 * 1024)} MiB")
            f.write(chunk)
    return size


def document_suffix(head: bytes, name: str) -> str:
    """``.pdf`` or an image suffix from the first bytes; refuse anything else."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise UnsupportedFormatError(f"{name}: a zip archive (or .docx, .xlsx), not a PDF "
                                     f"or an image")
    if b"%PDF-" in head[:1024]:
        return ".pdf"
    for magic, suffix in _IMAGE_KINDS:
        if head.startswith(magic):
            return suffix
    raise UnsupportedFormatError(f"{name}: not a PDF or an image (PNG, JPEG, TIFF, BMP, GIF)"
                                 f" -- the file starts with {head[:8]!r}")


def table_suffix(head: bytes) -> str:
    """A code list is an XLSX workbook (a zip) or else text read as CSV."""
    return ".xlsx" if head.startswith(b"PK\x03\x04") else ".csv"


def parse_settings(raw: str | None) -> dict:
    """The client's settings (a JSON object) checked by :class:`Settings` itself."""
    from locator.settings import Settings

    if not raw:
        return {}
    try:
        given = json.loads(raw)
    except json.JSONDecodeError as e:
        raise UsageError(f"settings: not JSON: {e}") from None
    if not isinstance(given, dict):
        raise UsageError("settings: give a JSON object such as {\"dpi\": 200}")
    refused = sorted(set(given) - CLIENT_SETTINGS)
    if refused:
        raise UsageError(f"settings: {', '.join(refused)} cannot be chosen by a client; "
                         f"allowed: {', '.join(sorted(CLIENT_SETTINGS))}")
    Settings.build(**given)  # the same errors as the CLI's options
    return given


_REF_KEYS = ("file", "symbol")


def rewrite_refs(text: str, saved: dict[str, str]) -> str:
    """The YAML catalog with every ``file:``/``symbol:`` entry pointed at its saved
    upload; :class:`CatalogError` for an entry naming anything not uploaded."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return text  # parse_catalog reports the syntax error with its line
    if not isinstance(data, dict) or not isinstance(data.get("patterns"), list):
        return text
    changed = False
    for entry in data["patterns"]:
        if not isinstance(entry, dict):
            continue
        for key in _REF_KEYS:
            if key not in entry:
                continue
            ref = str(entry[key]).strip()
            if ref not in saved:
                raise CatalogError(
                    f"catalog: {key} entry {ref!r}: a catalog sent to the server may only name "
                    f"files uploaded with it (as catalog_files)"
                    + (f"; uploaded: {', '.join(sorted(saved))}" if saved else ""))
            entry[key] = saved[ref]
            changed = True
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True) if changed else text


async def save_catalog(folder: Path, catalog: Upload, extras: Sequence[Upload], *,
                       column: str | None, label_column: str | None, sheet: str | None,
                       limits: Limits) -> dict:
    """Save and validate the catalog; return how to load it again (relative to ``folder``)."""
    from locator.catalog import load_codes, parse_catalog

    name = display_name(catalog.filename, "catalog")
    refs = folder / "refs"
    refs.mkdir()
    saved: dict[str, str] = {}
    for i, up in enumerate(extras, 1):
        tmp = refs / f"ref-{i}"
        await save_upload(up, tmp, limits)
        head = tmp.open("rb").read(16)
        suffix = ".png" if head.startswith(b"\x89PNG") else table_suffix(head)
        tmp.rename(tmp.with_suffix(suffix))
        saved[display_name(up.filename, f"file-{i}")] = f"refs/ref-{i}{suffix}"
    raw = folder / "catalog.upload"
    await save_upload(catalog, raw, limits)
    head = raw.open("rb").read(16)
    if column:
        path = raw.rename(folder / f"codes{table_suffix(head)}")
        await run_in_threadpool(load_codes, path, column=column, label_column=label_column,
                                sheet=sheet)
        return {"kind": "codes", "path": path.name, "column": column,
                "label_column": label_column, "sheet": sheet, "name": name}
    if head.startswith(b"PK\x03\x04"):
        raise CatalogError(f"{name}: a workbook: give the column of codes (column=...)")
    try:
        text = raw.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CatalogError(f"{name}: a YAML catalog must be UTF-8 text") from None
    raw.unlink()
    text = rewrite_refs(text, saved)
    # parsing and checking take CPU: off the event loop, so other requests go on
    await run_in_threadpool(parse_catalog, text, name=name, base_dir=folder)
    (folder / "catalog.yaml").write_text(text, encoding="utf-8")
    return {"kind": "yaml", "path": "catalog.yaml", "name": name}


def load_job_catalog(folder: Path, spec: dict):
    """The catalog of a job saved by :func:`save_catalog`."""
    from locator.catalog import load_codes, parse_catalog

    if spec["kind"] == "codes":
        return load_codes(folder / spec["path"], column=spec["column"],
                          label_column=spec.get("label_column"), sheet=spec.get("sheet"))
    text = (folder / spec["path"]).read_text(encoding="utf-8")
    return parse_catalog(text, name=spec.get("name", "catalog"), base_dir=folder)


async def save_documents(folder: Path, docs: Sequence[Upload], settings: dict,
                         limits: Limits) -> list[dict]:
    """Save each document as ``doc-N.EXT``; check it opens and has the pages asked for."""
    from locator.batch import page_count
    from locator.documents import parse_pages

    if not docs:
        raise UsageError("give at least one document (documents=...)")
    if len(docs) > limits.max_files:
        raise TooLargeError(f"{len(docs)} documents: at most {limits.max_files} per job")
    files, seen = [], set()
    for i, up in enumerate(docs, 1):
        name = display_name(up.filename, f"document-{i}")
        while name in seen:  # two uploads of one name: tell them apart in the table
            name = re.sub(r"( \((\d+)\))?$", lambda m: f" ({int(m.group(2) or 1) + 1})",
                          name, count=1)
        seen.add(name)
        tmp = folder / f"doc-{i}.upload"
        await save_upload(up, tmp, limits)
        suffix = document_suffix(tmp.open("rb").read(1024), name)
        path = tmp.rename(folder / f"doc-{i}{suffix}")
        try:
            pages = await run_in_threadpool(page_count, path, settings.get("password"))
            if settings.get("pages"):
                parse_pages(settings["pages"], pages)
        except LocatorError as e:  # the client's name in the message, not the server's path
            raise type(e)(str(e).replace(str(path), name)) from e
        files.append({"stored": path.name, "name": name, "pages": pages})
    return files


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
