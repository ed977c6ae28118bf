"""Loading a catalog: YAML text or a code list -> validated, compiled :class:`Catalog`.

:func:`load_catalog` and :func:`parse_catalog` read YAML (through
:mod:`.yamlfile`, which guards against hostile input), :func:`load_codes` a
code list (:mod:`.tables`); :func:`build_catalog` validates against the schema
(:mod:`.schema`), applies ``defaults:``, compiles regexes (:func:`compile_regex`)
and checks ids and ``near:`` references, reporting every error at once.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

from locator.catalog.patterns import (DEFAULT_LABEL, DEFAULT_MIN_SCORE, DEFAULT_SYMBOL_SCALES,
                                      DEFAULT_TAG_FORMAT, DEFAULT_TIMEOUT, Catalog, Near,
                                      Pattern)
from locator.catalog.tables import TABLE_SUFFIXES, read_code_table, read_text_file
from locator.catalog.yamlfile import LineMap, parse_yaml
from locator.errors import CatalogError
from locator.normalize import DEFAULT_CONFUSIONS, confusion_table, normalize


def load_catalog(path: str | os.PathLike[str]) -> Catalog:
    """Read and validate a YAML catalog; relative ``file:`` and ``symbol:``
    paths are resolved against the catalog's folder.

    A ``.csv``/``.xlsx`` path is refused with a pointer to :func:`load_codes`.
    Raises :class:`~locator.errors.CatalogError`.
    """
    p = Path(path)
    name = str(path)
    if p.suffix.lower() in TABLE_SUFFIXES:
        raise CatalogError(f"{name}: a code list, not a YAML catalog; load it with "
                           f"--codes {name} --column NAME (load_codes in Python)")
    text = read_text_file(p, name, what="catalog")
    return parse_catalog(text, name=name, base_dir=p.parent)


def parse_catalog(text: str, *, name: str = "<catalog>", base_dir: str | Path = ".") -> Catalog:
    """Validate a catalog given as YAML text (``name`` is used in messages)."""
    data, lines = parse_yaml(text, name)
    return build_catalog(data, lines, name, Path(base_dir))


def load_codes(path: str | Path, *, column: str, label_column: str | None = None,
               label: str = DEFAULT_LABEL, sheet: str | None = None,
               encoding: str | None = None, **options: Any) -> Catalog:
    """A catalog from a code list: every non-empty cell of ``column`` is a literal.

    Parameters
    ----------
    path
        A ``.csv`` (``,``/``;``/tab/``|`` separated, sniffed), ``.tsv``,
        ``.txt`` or ``.xlsx`` file; the first non-empty row is the header.
    column
        Header of the code column (matched exactly, then ignoring case and
        surrounding spaces).
    label_column
        Header of a column giving each row's label; ``label`` otherwise.
    sheet
        XLSX sheet name (default: the first sheet).
    encoding
        CSV encoding; default UTF-8 (with or without BOM, or UTF-16 with BOM).
        A file that is not UTF-8 is refused with a message naming the
        encoding it looks like (``cp1252`` for Excel on Windows).
    options
        Pattern options for every row (``min_score``, ``ignore``, ...).

    Repeated codes with the same label are read once; the same code with two
    labels is an error. Raises :class:`~locator.errors.CatalogError`.
    """
    entry: dict[str, Any] = {"file": str(path), "column": column, "label": label}
    if label_column is not None:
        entry["label_column"] = label_column
    if sheet is not None:
        entry["sheet"] = sheet
    if encoding is not None:
        entry["encoding"] = encoding
    entry.update(options)
    name = str(path)
    p = Path(path)
    if not p.exists():
        raise CatalogError(f"{name}: code list not found")
    lines = LineMap()
    return build_catalog({"patterns": [entry]}, lines, name, Path("."))


# --------------------------------------------------------------------------
# Building the catalog

_MAX_REPORTED = 10


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)

    def raise_if_any(self) -> None:
        if self.items:
            shown = self.items[:_MAX_REPORTED]
            more = len(self.items) - len(shown)
            if more:
                shown.append(f"... and {more} more error(s)")
            raise CatalogError("\n".join(shown))


def _pattern_name(raw: Any, index: int) -> str:
    if isinstance(raw, str) and raw.strip():
        return f"pattern '{raw.strip()}'"
    if isinstance(raw, dict):
        for k in ("id", "text", "file", "symbol"):
            v = raw.get(k)
            if isinstance(v, str) and v.strip():
                return f"pattern '{v.strip()}'" if k != "file" else f"file entry '{v}'"
    return f"pattern #{index + 1}"


def build_catalog(data: Any, lines: LineMap, name: str, base_dir: Path) -> Catalog:
    """Validate parsed catalog ``data`` (lines from ``lines``) and compile its patterns;
    every error found is reported at once (up to ten). ``file:``/``symbol:`` paths
    are relative to ``base_dir``."""
    from pydantic import ValidationError

    from locator.catalog.schema import Defaults, Entry, Top, type_name, validation_messages

    errs = _Errors()
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else type_name(data)
        hint = " (put the list under 'patterns:')" if isinstance(data, list) else ""
        raise CatalogError(f"{name} line {lines.of(()) or 1}: expected a mapping with "
                           f"'patterns:' (and optionally 'defaults:'), got {got}{hint}")
    try:
        Top.model_validate(data)
    except ValidationError as e:
        for m in validation_messages(e, Top, (), lines, name, ""):
            errs.add(m)
        errs.raise_if_any()
    raw_patterns = data["patterns"]
    if not raw_patterns:
        raise CatalogError(f"{name} line {lines.of(('patterns',)) or 1}: 'patterns' is "
                           f"empty; list at least one pattern")
    defaults = {}
    if data.get("defaults") is not None:
        try:
            defaults = Defaults.model_validate(data["defaults"]).model_dump(exclude_none=True)
        except ValidationError as e:
            for m in validation_messages(e, Defaults, ("defaults",), lines, name, "defaults: "):
                errs.add(m)
            errs.raise_if_any()
    patterns: list[Pattern] = []
    near_lines: dict[str, int | None] = {}
    for i, raw in enumerate(raw_patterns):
        path = ("patterns", i)
        line = lines.of(path)
        head = f"{name} line {line}" if line else name
        what = _pattern_name(raw, i)
        if isinstance(raw, str):
            raw = {"text": raw}
        if not isinstance(raw, dict):
            errs.add(f"{head}: {what}: expected a mapping (id:, text: ...) or a string, "
                     f"got {type_name(raw)}")
            continue
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as e:
            for m in validation_messages(e, Entry, path, lines, name, f"{what}: "):
                errs.add(m)
            continue
        opts = {**defaults, **entry.model_dump(exclude_none=True)}
        try:
            if entry.file is not None:
                patterns.extend(_file_patterns(entry, opts, base_dir, head, what))
            else:
                p = _make_pattern(entry, opts, base_dir, f"{name} line {line}" if line
                                  else name, lines, path, name)
                patterns.append(p)
                if p.near is not None:
                    near_lines[p.id] = lines.of(path + ("near",))
        except CatalogError as e:
            errs.add(str(e))
    errs.raise_if_any()
    if not patterns:
        raise CatalogError(f"{name}: no patterns (the code list(s) had no codes)")
    check_ids(patterns, name)
    check_near(patterns, name, lines, near_lines)
    return Catalog(patterns, name)


def _resolve_confusions(v: Any, head: str, case_sensitive: bool) -> tuple[str, ...]:
    if v is None or v is True:
        classes = DEFAULT_CONFUSIONS
    elif v is False:
        classes = ()
    else:
        classes = tuple(v)
    try:
        confusion_table(classes, case_sensitive)
    except ValueError as e:
        raise CatalogError(f"{head}: 'confusions': {e}") from None
    return classes


def _common(opts: dict, head: str) -> dict:
    cs = bool(opts.get("case_sensitive", False))
    return dict(
        label=opts.get("label") or DEFAULT_LABEL,
        min_score=float(opts.get("min_score", DEFAULT_MIN_SCORE)),
        case_sensitive=cs,
        whole_word=bool(opts.get("whole_word", True)),
        confusions=_resolve_confusions(opts.get("confusions"), head, cs),
        ignore=opts.get("ignore", ""),
        timeout=float(opts.get("timeout", DEFAULT_TIMEOUT)),
        tag_format=opts.get("tag_format", DEFAULT_TAG_FORMAT),
        stacked=bool(opts.get("stacked", False)),
        prefix=opts.get("prefix", ""),
    )


def _make_pattern(entry, opts: dict, base_dir: Path, origin: str, lines: LineMap,
                  path: tuple, name: str) -> Pattern:
    what = f"pattern '{entry.id or entry.text or entry.symbol or entry.regex}'"

    def head(field_name: str | None = None) -> str:
        line = lines.of(path + (field_name,)) if field_name else lines.of(path)
        return f"{name} line {line}: {what}" if line else f"{name}: {what}"

    common = _common(opts, head("confusions"))
    near = Near(entry.near.pattern.strip(), entry.near.within) if entry.near else None
    exclude = tuple(entry.exclude or ())
    if entry.text is not None:
        text = entry.text.strip()
        if not normalize(text, case_sensitive=common["case_sensitive"], ignore=common["ignore"]):
            raise CatalogError(f"{head('text')}: 'text' is empty once the ignored "
                               f"characters {common['ignore']!r} are removed")
        return Pattern(id=(entry.id or text).strip(), kind="text", text=text, near=near,
                       exclude=exclude, origin=origin, **common)
    if entry.regex is not None:
        source, rx, rx_word = compile_regex(entry.regex, case_sensitive=common["case_sensitive"],
                                            where=head("regex"))
        return Pattern(id=entry.id.strip(), kind="regex", regex=source, near=near,
                       exclude=exclude, origin=origin, compiled=rx, compiled_word=rx_word,
                       **common)
    # symbol
    sym = Path(entry.symbol.strip())
    full = sym if sym.is_absolute() else (base_dir / sym)
    if not full.is_file():
        raise CatalogError(f"{head('symbol')}: symbol image '{entry.symbol}' not found "
                           f"(looked for {full})")
    return Pattern(id=(entry.id or sym.stem).strip(), kind="symbol", symbol=full.resolve(),
                   near=near, exclude=exclude, origin=origin,
                   scales=tuple(float(s) for s in (entry.scales or DEFAULT_SYMBOL_SCALES)),
                   rotations=tuple(float(r) for r in (entry.rotations or [0.0])),
                   **common)


def compile_regex(source: str, *, case_sensitive: bool, where: str = "regex"):
    """Validate and compile a catalog regex (``regex`` module, fuzzy syntax allowed).

    Returns ``(normalised source, compiled, compiled whole-word or None)``.
    The whole-word form only matches between spaces or the ends of the text.
    Raises :class:`CatalogError` naming ``where``.
    """
    import unicodedata

    import regex

    from locator.normalize import FOLD_TABLE

    source = unicodedata.normalize("NFKC", source.strip()).translate(FOLD_TABLE)
    flags = regex.ENHANCEMATCH | (0 if case_sensitive else regex.IGNORECASE)
    try:
        rx = regex.compile(source, flags)
    except (regex.error, ValueError, OverflowError, RecursionError) as e:
        raise CatalogError(f"{where}: bad regex {source!r}: {e}") from None
    try:
        empty = rx.search("", timeout=1.0) is not None
    except TimeoutError:
        empty = False
    if empty:
        raise CatalogError(f"{where}: regex {source!r} matches the empty string; "
                           f"it must match at least one character")
    try:
        rx_word = regex.compile(rf"(?<!\S)(?:{source})(?!\S)", flags)
    except (regex.error, ValueError, OverflowError, RecursionError):
        rx_word = None  # e.g. global inline flags: the matcher checks word edges itself
    return source, rx, rx_word


def check_ids(patterns: list[Pattern], name: str) -> None:
    """Refuse an id defined twice, naming both places."""
    seen: dict[str, Pattern] = {}
    errs = _Errors()
    for p in patterns:
        first = seen.get(p.id)
        if first is not None:
            errs.add(f"{p.origin or name}: duplicate id '{p.id}' "
                     f"(first defined at {first.origin or name})")
        else:
            seen[p.id] = p
    errs.raise_if_any()


def check_near(patterns: list[Pattern], name: str, lines: LineMap,
               near_lines: dict[str, int | None]) -> None:
    """Refuse a ``near.pattern`` that names no pattern, or the pattern itself."""
    ids = {p.id for p in patterns}
    errs = _Errors()
    for p in patterns:
        if p.near is None:
            continue
        line = near_lines.get(p.id)
        where = f"{name} line {line}" if line else (p.origin or name)
        if p.near.pattern == p.id:
            errs.add(f"{where}: pattern '{p.id}': 'near.pattern' names the pattern itself")
        elif p.near.pattern not in ids:
            close = difflib.get_close_matches(p.near.pattern, list(ids), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            errs.add(f"{where}: pattern '{p.id}': 'near.pattern' names '{p.near.pattern}', "
                     f"which is not a pattern id in this catalog{hint}")
    errs.raise_if_any()


def _file_patterns(entry, opts: dict, base_dir: Path, head: str,
                   what: str) -> list[Pattern]:
    """A ``file:`` entry's rows as literal patterns, the entry's options on each."""
    rel = Path(entry.file.strip())
    full = rel if rel.is_absolute() else base_dir / rel
    display = entry.file.strip()
    if not full.is_file():
        raise CatalogError(f"{head}: {what}: file '{display}' not found (looked for {full})")
    rows = read_code_table(full, display=display, column=entry.column,
                           label_column=entry.label_column, sheet=entry.sheet,
                           encoding=entry.encoding)
    common = _common(opts, head)
    default_label = common.pop("label")
    near = Near(entry.near.pattern.strip(), entry.near.within) if entry.near else None
    exclude = tuple(entry.exclude or ())
    out: list[Pattern] = []
    seen: dict[str, tuple[str, int]] = {}
    for row_no, code, label in rows:
        label = label or default_label
        prior = seen.get(code)
        if prior is not None:
            if prior[0] == label:
                continue  # the same code listed twice: read once
            raise CatalogError(f"{display} row {row_no}: code '{code}' is listed again "
                               f"with label '{label}' (row {prior[1]} says '{prior[0]}')")
        seen[code] = (label, row_no)
        if not normalize(code, case_sensitive=common["case_sensitive"],
                         ignore=common["ignore"]):
            continue  # only ignored characters: nothing to look for
        out.append(Pattern(id=code, label=label, kind="text", text=code, near=near,
                           exclude=exclude, origin=f"{display} row {row_no}", **common))
    return out
