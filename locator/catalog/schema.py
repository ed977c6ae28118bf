"""The catalog's schema: pydantic models of its YAML, and their errors in our words.

``Top`` is the file (``patterns:``, ``defaults:``, ``description:``), ``Defaults``
the options every pattern may set, ``Entry`` one pattern (a ``text``, ``regex``,
``symbol`` or ``file:`` entry, with its options). Validation is strict: a
string is not a number, unknown keys are errors (with the closest known key).
:func:`validation_messages` turns pydantic's errors into one line each, naming
the file, the line and the field. Imported when a catalog is built, not with
:mod:`locator` (pydantic takes a while to import).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from locator.catalog.yamlfile import LineMap


class _Options(BaseModel):
    """Options a pattern takes, and ``defaults:`` gives every pattern."""

    model_config = ConfigDict(extra="forbid", strict=True)
    min_score: float | None = Field(None, ge=0, le=100)
    case_sensitive: bool | None = None
    whole_word: bool | None = None
    confusions: Any = None
    ignore: str | None = None
    timeout: float | None = Field(None, gt=0, le=600)
    label: str | None = Field(None, min_length=1)
    tag_format: str | None = Field(None, min_length=1)
    stacked: bool | None = None
    prefix: str | None = Field(None, min_length=1)

    @field_validator("tag_format")
    @classmethod
    def _tag_format(cls, v):
        if v is None:
            return v
        import string

        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(v) if f is not None}
        except ValueError as e:
            raise ValueError(f"is not a format ({e}); write it like '{{letters}}-{{number}}'") from e
        if fields != {"letters", "number"}:
            raise ValueError("must name {letters} and {number} and nothing else, "
                             "like '{letters}-{number}'")
        return v

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
    """The ``defaults:`` mapping."""


class NearSpec(BaseModel):
    """``near: {pattern: ID, within: 50}``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    pattern: str = Field(min_length=1)
    within: float = Field(gt=0)


class Entry(_Options):
    """One item of ``patterns:``: exactly one of text, regex, symbol or file."""

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
    """The catalog file."""

    model_config = ConfigDict(extra="forbid", strict=True)
    defaults: dict | None = None
    patterns: list
    description: str | None = None


_EXPECTED = {
    "bool_type": "true or false",
    "float_type": "a number", "int_type": "a whole number",
    "string_type": "a string", "list_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping",
    "float_parsing": "a number", "finite_number": "a finite number",
}


def type_name(v: Any) -> str:
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


def validation_messages(err, model, where_path: tuple, lines: LineMap, name: str,
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
            msg = f"'{field_name}' must be {_EXPECTED[typ]}, not {type_name(v)}"
            if field_name == "regex" and isinstance(v, (list, dict)):
                msg += " (quote the regex: regex: '[A-Z]{2}-\\d+')"
        elif typ in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
            msg = f"'{field_name}' {e['msg'].lower().replace('input should', 'must')}, " \
                  f"not {type_name(v)}"
            if field_name == "min_score":
                msg = f"'min_score' must be between 0 and 100, not {type_name(v)}"
        elif typ == "string_too_short":
            msg = f"'{field_name}' must not be empty"
        elif typ == "value_error":
            text = str(e.get("ctx", {}).get("error", e["msg"]))
            msg = f"'{field_name}' {text}" if field_name else text
        else:
            msg = f"'{field_name}': {e['msg']}" if field_name else e["msg"]
        out.append(f"{head}: {what}{msg}")
    return out
