"""The pattern catalog: loading, validating and compiling what to look for.

A catalog is a YAML file::

    defaults: {min_score: 85}
    patterns:
      - id: FIC-101
        text: FIC-101            # a literal snippet; may hold spaces (a phrase)
        label: instrument
      - id: part-number
        regex: '[A-Z]{2}-\\d{5}-[A-Z]'
        label: part
      - file: tags.csv           # or .xlsx: every row a literal pattern
        column: Tag
        label_column: Type       # optional
      - symbol: symbols/valve.png   # issue 9; the text matcher ignores these
        scales: [0.5, 1, 2]
        rotations: [0, 90]

or a plain code list (CSV/XLSX) through :func:`load_codes`. Every problem is a
:class:`~locator.errors.CatalogError` whose message names the file, the line
(or CSV/XLSX row) and the field, and says what was expected, e.g.
``codes.yaml line 7: pattern 'X': needs 'text', 'regex', 'symbol' or 'file'``.

Options of a pattern (catalog-wide values go in ``defaults:``; a ``file:``
entry's options apply to each of its rows):

``min_score`` (0-100, default 85)
    Least score for a hit (see :mod:`locator.match` for the score).
``case_sensitive`` (default false)
``whole_word`` (default true)
    A code must cover whole words: ``FIC-101`` does not match inside
    ``FIC-101A``. With false, a literal also matches inside a longer word.
``confusions`` (default true)
    OCR confusion classes that cost little: true for
    :data:`~locator.normalize.DEFAULT_CONFUSIONS`, false for none, or a list
    of classes such as ``["O0DQ", "I1l|i", "7T"]``.
``ignore`` (default ``""``)
    Characters removed from both sides before comparing, e.g. ``" -_."``.
``near: {pattern: ID, within: 50}``
    Keep a hit only within ``within`` points of a hit of pattern ``ID``.
``exclude: [..]``
    Read strings that must not count as a hit of this pattern (compared
    after normalisation).
``timeout`` (seconds, default 1)
    A regex's time limit per line searched; past it the pattern is skipped
    for the rest of the call with a warning.
``label`` (default ``"code"``)

Hostile input is refused cleanly: YAML is read with the safe loader, nesting
deeper than :data:`MAX_DEPTH` and alias expansion beyond :data:`MAX_NODES`
nodes ("billion laughs") are errors, and every regex search has a time limit.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from locator.errors import CatalogError
from locator.normalize import DEFAULT_CONFUSIONS, confusion_table, normalize

#: Deepest YAML nesting accepted (a real catalog needs 4).
MAX_DEPTH = 32
#: Most YAML nodes visited while reading, aliases expanded (a 50,000-code
#: catalog needs about 200,000).
MAX_NODES = 2_000_000
#: Largest catalog or code-list file read, in bytes.
MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MIN_SCORE = 85.0
DEFAULT_LABEL = "code"
DEFAULT_TIMEOUT = 1.0

Kind = Literal["text", "regex", "symbol"]


@dataclass(frozen=True, slots=True)
class Near:
    """Keep a hit only within ``within`` points of a hit of pattern ``pattern``."""

    pattern: str
    within: float


@dataclass(frozen=True, slots=True)
class Pattern:
    """One validated, compiled catalog entry.

    ``kind`` says which of ``text`` (a literal), ``regex`` (its source, after
    NFKC) or ``symbol`` (an image path, resolved) is set. ``origin`` says
    where it was defined (``"codes.yaml line 7"``, ``"tags.csv row 12"``).
    ``compiled`` is the compiled regex (the ``regex`` module) or None.
    """

    id: str
    label: str
    kind: Kind
    text: str | None = None
    regex: str | None = None
    symbol: Path | None = None
    min_score: float = DEFAULT_MIN_SCORE
    case_sensitive: bool = False
    whole_word: bool = True
    confusions: tuple[str, ...] = DEFAULT_CONFUSIONS
    ignore: str = ""
    near: Near | None = None
    exclude: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    scales: tuple[float, ...] = (1.0,)
    rotations: tuple[float, ...] = (0.0,)
    origin: str = ""
    compiled: Any = field(default=None, compare=False, repr=False)
    compiled_word: Any = field(default=None, compare=False, repr=False)

    @property
    def query(self) -> str:
        """What the pattern looks for, as written: the text, regex or symbol path."""
        return self.text if self.kind == "text" else (
            self.regex if self.kind == "regex" else str(self.symbol))


@dataclass(frozen=True)
class Catalog:
    """Validated patterns, in catalog order; ids are unique.

    Build one with :func:`load_catalog`, :func:`load_codes`,
    :func:`parse_catalog` or :meth:`Catalog.from_texts`.
    """

    patterns: list[Pattern]
    source: str | None = None

    @property
    def ids(self) -> list[str]:
        return [p.id for p in self.patterns]

    def get(self, pattern_id: str) -> Pattern:
        """The pattern with this id (KeyError if there is none)."""
        for p in self.patterns:
            if p.id == pattern_id:
                return p
        raise KeyError(pattern_id)

    def __len__(self) -> int:
        return len(self.patterns)

    def __iter__(self) -> Iterator[Pattern]:
        return iter(self.patterns)

    @classmethod
    def from_texts(cls, texts: Iterable[str], *, label: str = DEFAULT_LABEL,
                   **options: Any) -> Catalog:
        """A catalog of literal snippets, each its own id.

        ``options`` are pattern options (``min_score``, ``ignore``, ...).

        >>> Catalog.from_texts(["FIC-101", "PT-7"], min_score=90).ids
        ['FIC-101', 'PT-7']
        """
        data = {"defaults": {**options, "label": label},
                "patterns": [{"text": t} for t in texts]}
        return _build(data, _Lines(), "<texts>", Path("."))

    @classmethod
    def combine(cls, *catalogs: Catalog) -> Catalog:
        """One catalog of several (``--patterns x.yaml --codes tags.csv``).

        Raises :class:`CatalogError` when an id appears in two of them.
        """
        pats = [p for c in catalogs for p in c.patterns]
        source = " + ".join(c.source or "<catalog>" for c in catalogs)
        return cls.from_patterns(pats, source)

    @classmethod
    def from_patterns(cls, patterns: Sequence[Pattern], source: str | None = None) -> Catalog:
        """A catalog of ready patterns, checking ids and ``near`` references."""
        pats = list(patterns)
        _check_ids(pats, source or "<patterns>")
        _check_near(pats, source or "<patterns>", _Lines(), {})
        return cls(pats, source)


# --------------------------------------------------------------------------
# Public loaders

def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a YAML catalog; relative ``file:`` and ``symbol:``
    paths are resolved against the catalog's folder.

    A ``.csv``/``.xlsx`` path is refused with a pointer to :func:`load_codes`.
    Raises :class:`~locator.errors.CatalogError`.
    """
    p = Path(path)
    name = str(path)
    if p.suffix.lower() in _TABLE_SUFFIXES:
        raise CatalogError(f"{name}: a code list, not a YAML catalog; load it with "
                           f"--codes {name} --column NAME (load_codes in Python)")
    text = _read_text_file(p, name, what="catalog")
    return parse_catalog(text, name=name, base_dir=p.parent)


def parse_catalog(text: str, *, name: str = "<catalog>", base_dir: str | Path = ".") -> Catalog:
    """Validate a catalog given as YAML text (``name`` is used in messages)."""
    data, lines = _parse_yaml(text, name)
    return _build(data, lines, name, Path(base_dir))


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
    lines = _Lines()
    return _build({"patterns": [entry]}, lines, name, Path("."))


# --------------------------------------------------------------------------
# YAML with line numbers

class _Lines:
    """Where each value (and each mapping key) of the YAML sits: path -> line."""

    def __init__(self) -> None:
        self.value: dict[tuple, int] = {}
        self.key: dict[tuple, int] = {}

    def of(self, path: tuple) -> int | None:
        """The line of the key naming ``path``, else of its value, else of the
        nearest enclosing value."""
        while True:
            if path in self.key:
                return self.key[path]
            if path in self.value:
                return self.value[path]
            if not path:
                return None
            path = path[:-1]


# Fields whose scalar values are taken as written: `text: 0101` is the code
# "0101", not the integer 65.
_STRING_FIELDS = {"id", "text", "regex", "symbol", "file", "column", "label",
                  "label_column", "sheet", "encoding", "ignore", "pattern"}


def _parse_yaml(text: str, name: str) -> tuple[Any, _Lines]:
    import yaml

    # 1. Depth check on the event stream: PyYAML's parser is iterative, its
    #    composer recursive, so this refuses deep nesting before any recursion.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster
    depth = 0
    try:
        for ev in yaml.parse(text, Loader=loader):
            if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise CatalogError(f"{name} line {ev.start_mark.line + 1}: nested more "
                                       f"than {MAX_DEPTH} levels deep; a catalog needs 4")
            elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as e:
        raise CatalogError(_yaml_message(e, name)) from e
    if node is None:
        raise CatalogError(f"{name}: the catalog is empty; expected a mapping with "
                           f"'patterns:' (a list of patterns)")
    _check_expansion(node, name)
    lines = _Lines()
    walker = _Walker(name, lines)
    data = walker.walk(node, (), 0)
    return data, lines


def _check_expansion(root, name: str) -> None:
    """Refuse recursive aliases and alias bombs before expanding anything.

    Counts the values the document would have with every alias expanded, in
    time proportional to the distinct nodes (sizes are memoised per node).
    """
    import yaml

    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node, depth: int) -> int:
        k = id(node)
        if k in sizes:
            return sizes[k]
        if k in visiting or depth > MAX_DEPTH:
            raise CatalogError(f"{name} line {node.start_mark.line + 1}: a recursive alias "
                               f"(an anchor used inside itself)")
        if isinstance(node, yaml.ScalarNode):
            return 1
        visiting.add(k)
        children = node.value if isinstance(node, yaml.SequenceNode) else \
            [c for pair in node.value for c in pair]
        total = 1
        for child in children:
            total += size(child, depth + 1)
            if total > MAX_NODES:
                raise CatalogError(
                    f"{name} line {node.start_mark.line + 1}: more than {MAX_NODES:,} values "
                    f"once aliases are expanded; refusing an alias bomb")
        visiting.discard(k)
        sizes[k] = total
        return total

    size(root, 0)


def _yaml_message(e: Exception, name: str) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    where = f"{name} line {mark.line + 1}" if mark is not None else name
    what = f"{context}: {problem}" if context else problem
    return f"{where}: invalid YAML: {what}"


class _Walker:
    """Nodes -> plain Python values, recording lines; refuses what is unsafe."""

    def __init__(self, name: str, lines: _Lines) -> None:
        import yaml

        self.name = name
        self.lines = lines
        self.visits = 0
        self.constructor = yaml.constructor.SafeConstructor()
        self.yaml = yaml

    def fail(self, node, msg: str) -> CatalogError:
        return CatalogError(f"{self.name} line {node.start_mark.line + 1}: {msg}")

    def walk(self, node, path: tuple, depth: int) -> Any:
        yaml = self.yaml
        self.visits += 1
        if self.visits > MAX_NODES:
            raise self.fail(node, f"more than {MAX_NODES:,} values once aliases are "
                                  f"expanded; refusing an alias bomb")
        if depth > MAX_DEPTH:  # only reachable through aliases (recursive ones)
            raise self.fail(node, "aliases nest too deeply (a recursive alias?)")
        self.lines.value.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            try:
                value = self.constructor.construct_object(node)
            except yaml.YAMLError as e:
                raise self.fail(node, f"cannot read value: {getattr(e, 'problem', e)}") from e
            except Exception as e:  # PyYAML's constructors raise plain ValueError & co
                if not _is_string_field(path):
                    raise self.fail(node, f"cannot read value {node.value!r} as "
                                          f"{node.tag.rsplit(':', 1)[-1]}: {e}") from e
                value = node.value  # a code that looks like a bad date: 2001-13-45
            if (value is not None and not isinstance(value, str)
                    and isinstance(value, (int, float, bool)) and _is_string_field(path)):
                value = node.value
            elif value is not None and not isinstance(value, (str, int, float, bool)):
                value = node.value  # dates and the like: keep what was written
            return value
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _PLAIN_TAGS:
            raise self.fail(node, f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(child, path + (i,), depth + 1)
                    for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise self.fail(knode, "a key must be a plain name")
                key = knode.value
                if key == "<<":
                    raise self.fail(knode, "merge keys ('<<') are not supported; "
                                           "put shared options under 'defaults:'")
                if key in out:
                    raise self.fail(knode, f"duplicate key '{key}'")
                self.lines.key[path + (key,)] = knode.start_mark.line + 1
                out[key] = self.walk(vnode, path + (key,), depth + 1)
            return out
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover


_PLAIN_TAGS = {"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"}


def _is_string_field(path: tuple) -> bool:
    if not path:
        return False
    last = path[-1]
    if isinstance(last, str):
        return last in _STRING_FIELDS
    parent = path[-2] if len(path) >= 2 else None
    # list items of `exclude:`, `confusions:`, and bare strings in `patterns:`
    return parent in ("exclude", "confusions", "patterns")


# --------------------------------------------------------------------------
# Schema (pydantic)

def _models():
    """The pydantic models, built on first use (keeps `import locator` light)."""
    cache = _models.__dict__.setdefault("cache", {})
    if cache:
        return cache["Defaults"], cache["Entry"], cache["Top"]
    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

    class _Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        min_score: float | None = Field(None, ge=0, le=100)
        case_sensitive: bool | None = None
        whole_word: bool | None = None
        confusions: Any = None
        ignore: str | None = None
        timeout: float | None = Field(None, gt=0, le=600)
        label: str | None = Field(None, min_length=1)

        @field_validator("confusions")
        @classmethod
        def _confusions(cls, v):
            if v is None or isinstance(v, bool):
                return v
            if isinstance(v, list) and all(isinstance(c, str) and len(c) >= 2 for c in v):
                return v
            raise ValueError("must be true, false, or a list of character classes "
                             "of two or more characters, like ['O0DQ', 'I1l']")

    class Defaults(_Options):
        pass

    class NearSpec(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        pattern: str = Field(min_length=1)
        within: float = Field(gt=0)

    class Entry(_Options):
        id: str | None = Field(None, min_length=1)
        text: str | None = None
        regex: str | None = None
        symbol: str | None = None
        file: str | None = None
        column: str | None = None
        label_column: str | None = None
        sheet: str | None = None
        encoding: str | None = None
        near: NearSpec | None = None
        exclude: list[str] | None = None
        scales: list[float] | None = None
        rotations: list[float] | None = None

        @field_validator("exclude", mode="before")
        @classmethod
        def _one_exclude(cls, v):
            return [v] if isinstance(v, str) else v

        @field_validator("scales")
        @classmethod
        def _scales(cls, v):
            if v is not None and (not v or any(not 0 < s <= 20 for s in v)):
                raise ValueError("must be a non-empty list of scale factors between 0 and 20")
            return v

        @field_validator("rotations")
        @classmethod
        def _rotations(cls, v):
            if v is not None and (not v or any(not -360 <= r <= 360 for r in v)):
                raise ValueError("must be a non-empty list of angles in degrees")
            return v

        @model_validator(mode="after")
        def _kind(self):
            given = [k for k in ("text", "regex", "symbol", "file") if k in self.model_fields_set]
            if not given:
                raise ValueError("needs 'text', 'regex', 'symbol' or 'file'")
            if len(given) > 1:
                raise ValueError(f"has both {given[0]!r} and {given[1]!r}; "
                                 f"give one of them per pattern")
            kind = given[0]
            value = getattr(self, kind)
            if value is None or not str(value).strip():
                raise ValueError(f"'{kind}' is empty")
            if kind == "regex" and not self.id:
                raise ValueError("a regex pattern needs an 'id'")
            file_only = [k for k in ("column", "label_column", "sheet", "encoding")
                         if getattr(self, k) is not None]
            if kind == "file":
                if self.column is None:
                    raise ValueError("a 'file:' entry needs 'column' (the header of "
                                     "the code column)")
                if self.id is not None:
                    raise ValueError("a 'file:' entry takes no 'id' (each row is its own id)")
            elif file_only:
                raise ValueError(f"'{file_only[0]}' belongs to a 'file:' entry")
            if kind != "symbol":
                for k in ("scales", "rotations"):
                    if getattr(self, k) is not None:
                        raise ValueError(f"'{k}' belongs to a 'symbol:' pattern")
            return self

    class Top(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        defaults: dict | None = None
        patterns: list
        description: str | None = None

    cache.update(Defaults=Defaults, Entry=Entry, Top=Top)
    return Defaults, Entry, Top


_EXPECTED = {
    "bool_type": "true or false",
    "float_type": "a number", "int_type": "a whole number",
    "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping",
    "float_parsing": "a number", "finite_number": "a finite number",
}


def _type_name(v: Any) -> str:
    if v is None:
        return "nothing (null)"
    if isinstance(v, bool):
        return f"{str(v).lower()}"
    if isinstance(v, (int, float)):
        return f"{v!r}"
    if isinstance(v, str):
        return f"'{v}'" if len(v) <= 40 else "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "a mapping"
    return type(v).__name__


def _pydantic_messages(err, model, where_path: tuple, lines: _Lines, name: str,
                       what: str) -> list[str]:
    """pydantic's ValidationError -> our one-line messages."""
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        line = lines.of(where_path + loc)
        head = f"{name} line {line}" if line else name
        field_name = ".".join(str(x) for x in loc if isinstance(x, str))
        for x in loc:
            if isinstance(x, int):
                field_name += f"[{x}]"
        typ, v = e["type"], e.get("input")
        if typ == "missing":
            msg = f"missing '{field_name}'"
        elif typ == "extra_forbidden":
            allowed = sorted(k for k in getattr(model, "model_fields", {}))
            if len(loc) > 1 and loc[0] == "near":
                allowed = ["pattern", "within"]
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            msg = f"unknown key '{loc[-1]}'{hint} (known: {', '.join(allowed)})"
        elif typ in _EXPECTED:
            msg = f"'{field_name}' must be {_EXPECTED[typ]}, not {_type_name(v)}"
            if field_name == "regex" and isinstance(v, (list, dict)):
                msg += " (quote the regex: regex: '[A-Z]{2}-\\d+')"
        elif typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            msg = f"'{field_name}' {e['msg'].lower().replace('input should', 'must')}, " \
                  f"not {_type_name(v)}"
            if field_name == "min_score":
                msg = f"'min_score' must be between 0 and 100, not {_type_name(v)}"
        elif typ == "string_too_short":
            msg = f"'{field_name}' must not be empty"
        elif typ == "value_error":
            text = str(e.get("ctx", {}).get("error", e["msg"]))
            msg = f"'{field_name}' {text}" if field_name else text
        else:
            msg = f"'{field_name}': {e['msg']}" if field_name else e["msg"]
        out.append(f"{head}: {what}{msg}")
    return out


# --------------------------------------------------------------------------
# Building the catalog

_TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls"}
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


def _build(data: Any, lines: _Lines, name: str, base_dir: Path) -> Catalog:
    from pydantic import ValidationError

    Defaults, Entry, Top = _models()
    errs = _Errors()
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else _type_name(data)
        hint = " (put the list under 'patterns:')" if isinstance(data, list) else ""
        raise CatalogError(f"{name} line {lines.of(()) or 1}: expected a mapping with "
                           f"'patterns:' (and optionally 'defaults:'), got {got}{hint}")
    try:
        Top.model_validate(data)
    except ValidationError as e:
        for m in _pydantic_messages(e, Top, (), lines, name, ""):
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
            for m in _pydantic_messages(e, Defaults, ("defaults",), lines, name, "defaults: "):
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
                     f"got {_type_name(raw)}")
            continue
        try:
            entry = Entry.model_validate(raw)
        except ValidationError as e:
            for m in _pydantic_messages(e, Entry, path, lines, name, f"{what}: "):
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
    _check_ids(patterns, name)
    _check_near(patterns, name, lines, near_lines)
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
    )


def _make_pattern(entry, opts: dict, base_dir: Path, origin: str, lines: _Lines,
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
                   scales=tuple(float(s) for s in (entry.scales or [1.0])),
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

    from locator.normalize import _TABLE

    source = unicodedata.normalize("NFKC", source.strip()).translate(_TABLE)
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


def _check_ids(patterns: list[Pattern], name: str) -> None:
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


def _check_near(patterns: list[Pattern], name: str, lines: _Lines,
                near_lines: dict[str, int | None]) -> None:
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


# --------------------------------------------------------------------------
# Code lists (CSV / XLSX)

def _file_patterns(entry, opts: dict, base_dir: Path, head: str,
                   what: str) -> list[Pattern]:
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


def _read_text_file(p: Path, name: str, *, what: str) -> str:
    if not p.exists():
        raise CatalogError(f"{name}: {what} file not found")
    if p.is_dir():
        raise CatalogError(f"{name}: is a folder, not a {what} file")
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise CatalogError(f"{name}: {size / 1e6:.0f} MB is too large for a {what} "
                               f"(limit {MAX_BYTES / 1e6:.0f} MB)")
        data = p.read_bytes()
    except OSError as e:
        raise CatalogError(f"{name}: cannot read the {what}: {e.strerror or e}") from e
    return _decode(data, name, None)


def _decode(data: bytes, name: str, encoding: str | None) -> str:
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise CatalogError(f"{name}: unknown encoding '{encoding}'") from None
        except UnicodeDecodeError as e:
            row = data[:e.start].count(b"\n") + 1
            bad = data[e.start:e.start + 1]
            raise CatalogError(f"{name} row {row}: not valid {encoding} "
                               f"({f'byte 0x{bad[0]:02x}' if bad else e.reason})") from None
        except UnicodeError as e:  # a codec that decodes nothing ('undefined')
            raise CatalogError(f"{name}: cannot decode as {encoding}: {e}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as e:  # an odd byte count, a lone surrogate
            row = data[2:e.start].decode("utf-16", "replace").count("\n") + 1
            raise CatalogError(f"{name} line {row}: starts like UTF-16 text (a byte-order "
                               f"mark) but is not valid UTF-16 ({e.reason}); re-save it "
                               f"as UTF-8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        bad = data[e.start]
        try:
            seen_as = data[e.start:e.start + 1].decode("cp1252")
            data.decode("cp1252")
            guess = (f"; it reads cleanly as Windows-1252 (cp1252, byte 0x{bad:02x} is "
                     f"{seen_as!r}): re-save the file as UTF-8, or say encoding: cp1252")
        except UnicodeDecodeError:
            guess = ("; re-save it as UTF-8, or name its encoding (encoding: latin-1, "
                     "cp1252, ...)")
        raise CatalogError(f"{name} line {line}: not UTF-8 text (byte 0x{bad:02x})"
                           f"{guess}") from None


def read_code_table(path: Path, *, display: str, column: str, label_column: str | None = None,
                    sheet: str | None = None, encoding: str | None = None
                    ) -> list[tuple[int, str, str | None]]:
    """Rows of a CSV/XLSX code list: ``(row number, code, label or None)``.

    Row numbers count the header as row 1, as a spreadsheet shows them; rows
    with an empty code cell are skipped.
    """
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise CatalogError(f"{display}: old-style .xls is not supported; save it as "
                           f".xlsx or .csv")
    if suffix in (".xlsx", ".xlsm"):
        header_row, rows = _xlsx_rows(path, display, sheet)
    elif suffix in (".csv", ".tsv", ".txt"):
        if sheet is not None:
            raise CatalogError(f"{display}: 'sheet' applies to .xlsx files only")
        text = _read_text_file(path, display, what="code list") if encoding is None else \
            _decode(path.read_bytes(), display, encoding)
        header_row, rows = _csv_rows(text, suffix, display)
    else:
        raise CatalogError(f"{display}: unknown code-list format "
                           f"'{suffix or '(no suffix)'}'; use .csv, .tsv, .txt or .xlsx")
    if header_row is None:
        raise CatalogError(f"{display}: the file is empty (expected a header row "
                           f"with a '{column}' column)")
    hdr_no, header = header_row
    idx = _find_column(header, column, display, hdr_no, "")
    lidx = _find_column(header, label_column, display, hdr_no, " (label_column)") \
        if label_column else None
    out = []
    for row_no, row in rows:
        code = row[idx].strip() if idx < len(row) and row[idx] is not None else ""
        if not code:
            continue
        lab = None
        if lidx is not None and lidx < len(row) and row[lidx]:
            lab = row[lidx].strip() or None
        out.append((row_no, code, lab))
    return out


def _find_column(header: list[str], column: str, display: str, row_no: int, what: str) -> int:
    names = [(h or "").strip() for h in header]
    if column in header:
        return header.index(column)
    low = [n.casefold() for n in names]
    if column.strip().casefold() in low:
        return low.index(column.strip().casefold())
    shown = ", ".join(f"'{n}'" for n in names if n) or "none"
    close = difflib.get_close_matches(column, [n for n in names if n], n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise CatalogError(f"{display} row {row_no}: no column '{column}'{what}{hint} "
                       f"(the header has {shown})")


def _csv_rows(text: str, suffix: str, display: str):
    sample = text[:8192]
    if suffix == ".tsv":
        delim = "\t"
    else:
        try:
            delim = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:
            delim = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    header_row = None
    rows = []
    try:
        for n, row in enumerate(reader, start=1):
            if header_row is None:
                if any(c.strip() for c in row):
                    header_row = (n, row)
                continue
            rows.append((n, row))
    except csv.Error as e:
        raise CatalogError(f"{display} row {reader.line_num}: cannot read the CSV: {e}") from None
    return header_row, rows


def _cell(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _xlsx_rows(path: Path, display: str, sheet: str | None):
    import zipfile

    try:
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise CatalogError(f"{display}: reading .xlsx needs openpyxl") from e
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as e:
        raise CatalogError(f"{display}: not a readable .xlsx workbook ({e})") from e
    except Exception as e:  # damaged XML inside the zip, and whatever openpyxl makes of it
        raise CatalogError(f"{display}: not a readable .xlsx workbook "
                           f"({type(e).__name__}: {e})") from e
    try:
        return _sheet_rows(wb, display, sheet)
    except CatalogError:
        raise
    except Exception as e:  # the sheet's XML is read (and found damaged) only here
        raise CatalogError(f"{display}: not a readable .xlsx workbook "
                           f"({type(e).__name__}: {e})") from e
    finally:
        wb.close()


def _sheet_rows(wb, display: str, sheet: str | None):
    """The header row and the other rows of a workbook's sheet (1-based numbers)."""
    if sheet is not None:
        if sheet not in wb.sheetnames:
            raise CatalogError(f"{display}: no sheet '{sheet}' (sheets: "
                               f"{', '.join(wb.sheetnames)})")
        ws = wb[sheet]
    else:
        ws = wb.worksheets[0]
    header_row = None
    rows = []
    for n, values in enumerate(ws.iter_rows(values_only=True), start=1):
        row = [_cell(v) for v in values]
        if header_row is None:
            if any(c and c.strip() for c in row):
                header_row = (n, [c or "" for c in row])
            continue
        rows.append((n, row))
    return header_row, rows


__all__ = ["Catalog", "Pattern", "Near", "load_catalog", "load_codes", "parse_catalog",
           "compile_regex", "read_code_table", "DEFAULT_MIN_SCORE", "MAX_DEPTH", "MAX_NODES"]
