"""campaigns.yaml as plain data, plus the line where every key was written.

PyYAML's own loader forgets lines and silently keeps the last of two equal keys, so the document
is composed into nodes and turned into plain data here. Along the way this records the line of
every mapping key and list item, and flags the YAML 1.1 surprises a campaign manager cannot be
expected to know: `10:00` unquoted is the number 600, `no` is false, `#:` starts a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from dialer.campaigns.problems import Issue, Loc

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_HASH_KEY = re.compile(r"^\s*(?:-\s+)?#:\s*(?:\{.*)?$")  # `#: {action: ...}` or `#:`


class SourceError(Exception):
    """The file cannot be read as a YAML mapping at all: one message, maybe with its line."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class Source:
    """The document as plain data, with what validation needs to point back into the file."""

    data: dict[str, Any]
    lines: dict[Loc, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    # key path → the text of a plain scalar that YAML 1.1 read as a boolean (`no`, `on`, ...)
    booleans: dict[Loc, str] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest written ancestor (a missing key's parent)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return None


def read_source(data: bytes) -> Source:
    """Decode and compose `data`; raise `SourceError` when there is no mapping to validate."""
    text = _decode(data)
    root = _compose(text)
    if root is None or root.tag == _NULL:
        raise SourceError(
            "the file is empty: nothing to check (start with company: and campaigns:)"
        )
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise SourceError(
            f"the top level must be a mapping of sections (company:, policy:, operators:, "
            f"campaigns:), not {kind}",
            _line(root),
        )
    source = Source(data={})
    source.lines[()] = _line(root)
    source.data = _Builder(source).mapping(root, ())
    source.issues.extend(_hash_keys(text))
    return source


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        hint = "; it looks like Shift_JIS" if _is_shift_jis(data) else ""
        raise SourceError(
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} cannot be read{hint}): "
            f"save it as UTF-8",
            line,
        ) from None


def _is_shift_jis(data: bytes) -> bool:
    try:
        data.decode("shift_jis")
    except UnicodeDecodeError:
        return False
    return True


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        raise SourceError(_syntax_message(error, text), _error_line(error, text)) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        raise SourceError(
            f"the file contains a character YAML does not allow (#x{error.character:04x})", line
        ) from None


def _error_line(error: yaml.MarkedYAMLError, text: str) -> int | None:
    """The 1-based line to blame; at the end of the file, where the unclosed thing began."""
    mark = error.problem_mark
    if mark is None:
        return None
    if mark.line >= len(text.splitlines()) and error.context_mark is not None:
        mark = error.context_mark
    return int(mark.line) + 1


def _syntax_message(error: yaml.MarkedYAMLError, text: str) -> str:
    message = f"YAML syntax error: {error.problem}"
    line = _error_line(error, text)
    if error.context:
        context_mark = error.context_mark
        began = ""
        if context_mark is not None and context_mark.line + 1 != line:
            began = f", which began at line {context_mark.line + 1}"
        message += f" ({error.context}{began})"
    lines = text.splitlines()
    bad_line = lines[line - 1] if line is not None and line <= len(lines) else ""
    if bad_line.lstrip(" -").startswith("*"):
        message += '; a * menu key must be quoted: "*":'
    if "\\t" in str(error.problem):
        message += "; indent with spaces, not tabs"
    return message


def _hash_keys(text: str) -> list[Issue]:
    return [
        Issue((), 'YAML reads a line starting with #: as a comment; quote the key: "#":', number)
        for number, line in enumerate(text.splitlines(), start=1)
        if _HASH_KEY.match(line)
    ]


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording lines into a `Source`."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        if id(node) in self.active:
            self.source.issues.append(Issue(loc, "an alias refers to itself", _line(node)))
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, loc)
            if isinstance(node, yaml.SequenceNode):
                return self.sequence(node, loc)
            if isinstance(node, yaml.ScalarNode):
                return self.scalar(node, loc)
            return None
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.merge(result, value_node, loc)
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node, loc)
            if key is None:
                continue
            line = _line(key_node)
            if key in first_lines:
                message = f"duplicate key '{key}' (first at line {first_lines[key]})"
                self.source.issues.append(Issue(loc, message, line))
            first_lines.setdefault(key, line)
            self.source.lines[(*loc, key)] = line
            result[key] = self.build(value_node, (*loc, key))
        return result

    def merge(self, result: dict[str, Any], node: yaml.Node, loc: Loc) -> None:
        parts = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for part in reversed(parts):
            if not isinstance(part, yaml.MappingNode):
                message = "<< (merge) needs a mapping or a list of mappings"
                self.source.issues.append(Issue(loc, message, _line(part)))
                continue
            result.update(self.build(part, loc))

    def key(self, node: yaml.Node, loc: Loc) -> str | None:
        if node.tag == _MERGE:
            return None
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        message = "a key must be a single word, not a list or a mapping"
        self.source.issues.append(Issue(loc, message, _line(node)))
        return None

    def sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            self.source.lines[(*loc, index)] = _line(item)
            items.append(self.build(item, (*loc, index)))
        return items

    def scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        plain = node.style is None
        if plain and node.tag in (_INT, _FLOAT) and ":" in node.value:
            message = (
                f"YAML reads the unquoted {node.value} as a number in base 60; "
                f'put it in quotes: "{node.value}"'
            )
            self.source.issues.append(Issue(loc, message))
            return node.value
        if plain and node.tag == _BOOL and node.value.lower() not in ("true", "false"):
            self.source.booleans[loc] = node.value
        try:
            return self.constructor.construct_object(node)
        except (yaml.YAMLError, ValueError) as error:
            reason = getattr(error, "problem", None) or str(error)
            self.source.issues.append(Issue(loc, f"cannot read {node.value!r}: {reason}"))
            return None
