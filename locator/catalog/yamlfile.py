"""Reading a catalog's YAML safely, with the line of every value.

The safe loader only; nesting deeper than :data:`MAX_DEPTH` is refused on the
event stream, before PyYAML's recursive composer sees it; aliases expanding
past :data:`MAX_NODES` values ("billion laughs") and recursive aliases are
refused before anything is expanded; tags other than plain ones, merge keys
and duplicate keys are errors. Fields that hold codes keep their scalars as
written (``text: 0101`` is "0101"). A syntax error names its line, and on a
``regex:`` line says how to quote the regex.
"""

from __future__ import annotations

import re
from typing import Any

from locator.errors import CatalogError

#: Deepest YAML nesting accepted (a real catalog needs 4).
MAX_DEPTH = 32
#: Most YAML nodes visited while reading, aliases expanded (a 50,000-code
#: catalog needs about 200,000).
MAX_NODES = 2_000_000


class LineMap:
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


def parse_yaml(text: str, name: str) -> tuple[Any, LineMap]:
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
        raise CatalogError(_yaml_message(e, name, text)) from e
    if node is None:
        raise CatalogError(f"{name}: the catalog is empty; expected a mapping with "
                           f"'patterns:' (a list of patterns)")
    _check_expansion(node, name)
    lines = LineMap()
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


def _yaml_message(e: Exception, name: str, text: str) -> str:
    mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    context = getattr(e, "context", None)
    where = f"{name} line {mark.line + 1}" if mark is not None else name
    what = f"{context}: {problem}" if context else problem
    return f"{where}: invalid YAML: {what}{_quoting_hint(e, text)}"


# a `regex:` key and its value, in block style (`- regex: ...`) or in a flow mapping
_REGEX_LINE = re.compile(r"(?:^\s*(?:-\s+)?|[{,]\s*)regex\s*:\s*(?P<value>.*?)\s*$")


def _quoting_hint(e: Exception, text: str) -> str:
    """How to quote a regex, when the YAML error is on a ``regex:`` line.

    Regexes are full of YAML's own signs (``[ ] { } : * & ! % @ `` and a
    backtick); unquoted they are read as YAML, and in double quotes their
    backslashes are read as YAML escapes. Single quotes take them as written.
    """
    lines = text.splitlines()
    for m in (getattr(e, "problem_mark", None), getattr(e, "context_mark", None)):
        if m is None or not 0 <= m.line < len(lines):
            continue
        found = _REGEX_LINE.search(lines[m.line])
        if found is None:
            continue
        value = found.group("value")
        if value.startswith("'"):
            return "; inside single quotes, write a quote as two: regex: 'it''s'"
        if value.startswith('"'):
            value = value[1:-1] if len(value) > 1 and value.endswith('"') else value[1:]
            return (f"; in double quotes YAML reads backslashes as escapes: put the regex "
                    f"in single quotes: regex: '{value.replace(chr(39), chr(39) * 2)}'")
        if "{" in lines[m.line].split("regex", 1)[0]:  # a flow mapping: no value to show
            return "; put the regex in single quotes: regex: '[A-Z]{2}-\\d+'"
        return (f"; put the regex in single quotes: "
                f"regex: '{value.replace(chr(39), chr(39) * 2)}'")
    return ""


class _Walker:
    """Nodes -> plain Python values, recording lines; refuses what is unsafe."""

    def __init__(self, name: str, lines: LineMap) -> None:
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
