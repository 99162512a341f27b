"""The OData subset SensorThings speaks, parsed into a small AST: ``$filter`` and
``$orderby`` expressions, ``$select``, ``$expand`` with nested options, and resource paths.

The parser is a plain recursive descent over tokens, with OData's precedence (from
loosest): ``or``, ``and``, ``eq``/``ne``, ``gt``/``ge``/``lt``/``le``, ``add``/``sub``,
``mul``/``div``/``mod``, then unary ``not`` and ``-``. It knows nothing of entities or SQL:
``query.py`` gives the names their meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from cityos.kernel.errors import DomainError


class BadQuery(DomainError):
    """A query option or resource path that cannot be read."""

    status = 400
    code = "sta_bad_query"


# --- the AST --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    """A constant: a string, number, boolean, None, a datetime, a date, a time of day, or
    a geometry (``kind="geo"``, ``value`` the WKT text)."""

    value: Any
    kind: str


@dataclass(frozen=True)
class Path:
    """A property reached through zero or more navigation properties: ``Datastream/Thing/name``."""

    parts: tuple[str, ...]


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary:
    op: str  # "not" or "-"
    operand: Node


Node = Literal | Path | Call | Binary | Unary


@dataclass(frozen=True)
class OrderBy:
    expression: Node
    descending: bool


@dataclass
class Options:
    """The query options of a request or of one ``$expand`` item."""

    filter: Node | None = None
    orderby: list[OrderBy] = field(default_factory=list)
    select: list[str] | None = None
    expand: list[Expand] = field(default_factory=list)
    top: int | None = None
    skip: int = 0
    count: bool = False


@dataclass
class Expand:
    navigation: str
    options: Options


# --- tokens ---------------------------------------------------------------------------------

_DATETIME = (
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})"
    r"(?:/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?"
)
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<datetime>{_DATETIME})
  | (?P<date>\d{{4}}-\d{{2}}-\d{{2}})
  | (?P<time>\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<geo>(?:geography|geometry)'[^']*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>@?[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[(),/-])
    """,
    re.VERBOSE,
)
BINARY_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"eq", "ne"}),
    frozenset({"gt", "ge", "lt", "le"}),
    frozenset({"add", "sub"}),
    frozenset({"mul", "div", "mod"}),
)
_KEYWORDS = frozenset().union(*BINARY_LEVELS) | {"not"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int


def _tokens(source: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while at < len(source):
        match = _TOKEN.match(source, at)
        if match is None:
            raise BadQuery(f"cannot read {source[at : at + 20]!r} at position {at}")
        kind = match.lastgroup or ""
        if kind != "space":
            found.append(_Token(kind, match.group(), at))
        at = match.end()
    return found


def _parse_datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise BadQuery(f"{self.source!r} ends too soon")
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise BadQuery(f"expected {text!r} at position {token.at}, found {token.text!r}")

    def keyword(self, names: frozenset[str]) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "name" and token.text.lower() in names:
            self.at += 1
            return token.text.lower()
        return None

    def expression(self, level: int = 0) -> Node:
        if level == len(BINARY_LEVELS):
            return self.unary()
        left = self.expression(level + 1)
        while (op := self.keyword(BINARY_LEVELS[level])) is not None:
            left = Binary(op, left, self.expression(level + 1))
        return left

    def unary(self) -> Node:
        if self.keyword(frozenset({"not"})):
            return Unary("not", self.unary())
        token = self.peek()
        if token is not None and token.text == "-":
            self.at += 1
            return Unary("-", self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind == "number":
            number = float(token.text) if re.search(r"[.eE]", token.text) else int(token.text)
            return Literal(number, "number")
        if token.kind == "string":
            return Literal(token.text[1:-1].replace("''", "'"), "string")
        if token.kind == "datetime":
            if "/" in token.text:
                start, end = token.text.split("/")
                return Literal((_parse_datetime(start), _parse_datetime(end)), "interval")
            return Literal(_parse_datetime(token.text), "datetime")
        if token.kind == "date":
            return Literal(date.fromisoformat(token.text), "date")
        if token.kind == "time":
            return Literal(time.fromisoformat(token.text), "time")
        if token.kind == "geo":
            return Literal(token.text.split("'", 1)[1][:-1], "geo")
        if token.kind == "name":
            lowered = token.text.lower()
            if lowered in {"true", "false"}:
                return Literal(lowered == "true", "boolean")
            if lowered == "null":
                return Literal(None, "null")
            if lowered in _KEYWORDS:
                raise BadQuery(f"unexpected {token.text!r} at position {token.at}")
            following = self.peek()
            if following is not None and following.text == "(":
                return self.call(lowered)
            return self.path(token.text)
        raise BadQuery(f"unexpected {token.text!r} at position {token.at}")

    def call(self, name: str) -> Call:
        self.expect("(")
        args: list[Node] = []
        following = self.peek()
        if following is not None and following.text == ")":
            self.take()
            return Call(name, ())
        while True:
            args.append(self.expression())
            token = self.take()
            if token.text == ")":
                return Call(name, tuple(args))
            if token.text != ",":
                raise BadQuery(f"expected ',' or ')' at position {token.at}")

    def path(self, first: str) -> Path:
        parts = [first]
        while (token := self.peek()) is not None and token.text == "/":
            self.take()
            name = self.take()
            if name.kind != "name":
                raise BadQuery(f"expected a property name at position {name.at}")
            parts.append(name.text)
        return Path(tuple(parts))

    def done(self) -> None:
        token = self.peek()
        if token is not None:
            raise BadQuery(f"unexpected {token.text!r} at position {token.at}")


def parse_filter(source: str) -> Node:
    """The AST of a ``$filter`` expression."""
    parser = _Parser(source)
    node = parser.expression()
    parser.done()
    return node


def parse_orderby(source: str) -> list[OrderBy]:
    """The terms of an ``$orderby``: expressions, each ``asc`` (default) or ``desc``."""
    terms: list[OrderBy] = []
    for part in split_top_level(source, ","):
        parser = _Parser(part)
        expression = parser.expression()
        direction = parser.keyword(frozenset({"asc", "desc"}))
        parser.done()
        terms.append(OrderBy(expression, direction == "desc"))
    return terms


def split_top_level(source: str, separator: str) -> list[str]:
    """``source`` split at ``separator`` outside parentheses and quoted strings."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for index, char in enumerate(source):
        if char == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append(source[start:index])
            start = index + 1
    if depth != 0 or quoted:
        raise BadQuery(f"unbalanced parentheses or quotes in {source!r}")
    parts.append(source[start:])
    return [p.strip() for p in parts if p.strip()]


def _integer(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise BadQuery(f"{name} takes a whole number ≥ 0, not {text!r}")
    return int(text)


def parse_options(raw: dict[str, str]) -> Options:
    """``Options`` from option names (``$filter`` …) and their unparsed values."""
    options = Options()
    for name, value in raw.items():
        if name == "$filter":
            options.filter = parse_filter(value)
        elif name == "$orderby":
            options.orderby = parse_orderby(value)
        elif name == "$select":
            options.select = split_top_level(value, ",")
        elif name == "$expand":
            options.expand = parse_expand(value)
        elif name == "$top":
            options.top = _integer(name, value)
        elif name == "$skip":
            options.skip = _integer(name, value)
        elif name == "$count":
            if value not in {"true", "false"}:
                raise BadQuery("$count takes true or false")
            options.count = value == "true"
        elif name.startswith("$"):
            raise BadQuery(f"unknown query option {name}")
    return options


def parse_expand(source: str) -> list[Expand]:
    """``$expand`` items; ``A/B`` is ``A`` expanded with ``B`` inside it."""
    items: list[Expand] = []
    for part in split_top_level(source, ","):
        head, _, rest = part.partition("(")
        raw: dict[str, str] = {}
        if rest:
            if not rest.endswith(")"):
                raise BadQuery(f"cannot read the $expand item {part!r}")
            for option in split_top_level(rest[:-1], ";"):
                key, sep, value = option.partition("=")
                if not sep:
                    raise BadQuery(f"cannot read the $expand option {option!r}")
                raw[key.strip()] = value.strip()
        names = [n.strip() for n in head.split("/") if n.strip()]
        if not names:
            raise BadQuery(f"cannot read the $expand item {part!r}")
        innermost = Expand(names[-1], parse_options(raw))
        for name in reversed(names[:-1]):
            innermost = Expand(name, Options(expand=[innermost]))
        items.append(innermost)
    return items


# --- resource paths -------------------------------------------------------------------------

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z$][A-Za-z0-9_]*)(?:\((?P<key>[^)]*)\))?$")


@dataclass(frozen=True)
class Segment:
    """One step of a resource path: a name, and the id in parentheses if any."""

    name: str
    key: int | None


def parse_path(path: str) -> list[Segment]:
    """The segments of a resource path such as ``Things(1)/Datastreams``."""
    segments: list[Segment] = []
    for raw in path.strip("/").split("/"):
        match = _SEGMENT.match(raw)
        if match is None:
            raise BadQuery(f"cannot read the path segment {raw!r}")
        key_text = match.group("key")
        key: int | None = None
        if key_text is not None:
            key_text = key_text.strip("'")
            if not key_text.isdigit():
                raise BadQuery(f"ids are whole numbers, not {key_text!r}")
            key = int(key_text)
        segments.append(Segment(match.group("name"), key))
    return segments
