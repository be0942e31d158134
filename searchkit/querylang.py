"""The query language, parsed into a small syntax tree (no Whoosh here).

    "exact phrase"   bare terms (all required)   a OR b   NOT x   -x   ( … )
    title:x  body:"x y"  tag:x  tag:"multi word"  category:x  author:x
    date:2021  date:2021-07  date:2021-07-01..2021-07-31  date:>=2021-07-01
    date:..2021-07-31  date:2021-07-01..

Unbalanced quotes and parentheses are read leniently (closed at the end,
stray ")" ignored); unknown fields and bad dates raise `QuerySyntaxError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from .dates import parse_day_bound
from .errors import QuerySyntaxError

MAX_QUERY_CHARS = 4096
MAX_CLAUSES = 1024
MAX_DEPTH = 64
TEXT_FIELDS = ("title", "body")
LABEL_FIELDS = ("tag", "category", "author")
KNOWN_FIELDS = TEXT_FIELDS + LABEL_FIELDS + ("date",)
_FIELD = re.compile(r"^([A-Za-z]+):(.*)$", re.S)


@dataclass(frozen=True)
class Text:
    """Text to find: quoted (exact) or a bare term; `field` None = title or body."""

    text: str
    quoted: bool
    field: str | None = None


@dataclass(frozen=True)
class Label:
    """A tag, category or author filter."""

    kind: str
    value: str


@dataclass(frozen=True)
class DateRange:
    """Posts dated from `start` to `end` inclusive (UTC); None = open."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Text | Label | DateRange | And | Or | Not


# ---------------------------------------------------------------- tokenizer

@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "phrase", "field", "(", ")", "or", "not"
    value: str = ""
    field: str = ""


def _read_phrase(query: str, i: int) -> tuple[str, int]:
    """Read a quoted string starting after the opening quote at i-1."""
    end = query.find('"', i)
    if end < 0:  # unbalanced: the phrase runs to the end of the query
        return query[i:], len(query)
    return query[i:end], end + 1


def _tokenize(query: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            toks.append(_Tok(ch))
            i += 1
        elif ch == '"':
            text, i = _read_phrase(query, i + 1)
            toks.append(_Tok("phrase", text))
        elif ch == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] != "-":
            toks.append(_Tok("not"))
            i += 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            i = j
            toks.append(_word_token(word, query, i, toks))
            if toks[-1].kind == "field" and toks[-1].value == "" and i < n and query[i] == '"':
                text, i = _read_phrase(query, i + 1)
                toks[-1] = _Tok("field", text, toks[-1].field)
                toks.append(_Tok("quoted-marker"))
    return toks


def _word_token(word: str, query: str, end: int, toks: list[_Tok]) -> _Tok:
    if word == "OR":
        return _Tok("or")
    if word in ("NOT",):
        return _Tok("not")
    match = _FIELD.match(word)
    if match and not match.group(2).startswith("//"):
        name = match.group(1).lower()
        if name not in KNOWN_FIELDS:
            raise QuerySyntaxError(
                f"unknown field {match.group(1)!r} (known: {', '.join(KNOWN_FIELDS)}); "
                f'quote it to search for the text: "{word}"')
        return _Tok("field", match.group(2), name)
    return _Tok("word", word)


# ------------------------------------------------------------------- parser

class _Parser:
    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0
        self.clauses = 0
        self.depth = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node | None:
        node = self.parse_or()
        while self.peek() is not None:  # stray ")": skip it and go on
            self.i += 1
            more = self.parse_or()
            node = _join(And, [n for n in (node, more) if n is not None])
        return node

    def parse_or(self) -> Node | None:
        items = [self.parse_and()]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            items.append(self.parse_and())
        return _join(Or, [n for n in items if n is not None])

    def parse_and(self) -> Node | None:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("or", ")"):
            node = self.parse_unary()
            if node is not None:
                items.append(node)
        return _join(And, items)

    def parse_unary(self) -> Node | None:
        negations = 0
        while (tok := self.peek()) is not None and tok.kind == "not":
            negations += 1
            self.i += 1
        if negations and (self.peek() is None or self.peek().kind in ("or", ")")):  # type: ignore[union-attr]
            return None
        child = self.parse_primary()
        if child is None or negations % 2 == 0:
            return child
        return Not(child)

    def parse_primary(self) -> Node | None:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QuerySyntaxError(f"parentheses nested more than {MAX_DEPTH} deep")
            node = self.parse_or()
            self.depth -= 1
            if self.peek() is not None and self.peek().kind == ")":  # type: ignore[union-attr]
                self.i += 1
            return node
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise QuerySyntaxError(f"query has more than {MAX_CLAUSES} terms")
        if tok.kind == "phrase":
            return Text(tok.value, True) if tok.value.strip() else None
        if tok.kind == "word":
            return Text(tok.value, False)
        if tok.kind == "field":
            quoted = self.peek() is not None and self.peek().kind == "quoted-marker"  # type: ignore[union-attr]
            if quoted:
                self.i += 1
            return _field_node(tok.field, tok.value, quoted)
        return None  # a lone quoted-marker or other leftovers


def _join(kind: type, items: list[Node]) -> Node | None:
    if not items:
        return None
    if len(items) == 1:
        return items[0]
    return kind(tuple(items))


def _field_node(name: str, value: str, quoted: bool) -> Node | None:
    if name == "date":
        return parse_date_filter(value)
    if not value.strip():
        raise QuerySyntaxError(f"{name}: needs a value, e.g. {name}:香港 or {name}:\"two words\"")
    if name in TEXT_FIELDS:
        return Text(value, quoted, name)
    return Label(name, value.strip())


def parse_date_filter(value: str) -> DateRange:
    """`2021`, `2021-07`, `2021-07-01..2021-07-31`, `>=2021-07-01`, `..2021-07-31` …"""
    text = value.strip()
    try:
        for op in (">=", "<=", ">", "<"):
            if text.startswith(op):
                bound = text[len(op):]
                if op == ">=":
                    return DateRange(parse_day_bound(bound, end=False), None)
                if op == ">":
                    return DateRange(_after(parse_day_bound(bound, end=True)), None)
                if op == "<=":
                    return DateRange(None, parse_day_bound(bound, end=True))
                return DateRange(None, _before(parse_day_bound(bound, end=False)))
        if ".." in text:
            lo, hi = text.split("..", 1)
            if not lo.strip() and not hi.strip():
                raise ValueError(f"{text!r} gives neither start nor end")
            start = parse_day_bound(lo, end=False) if lo.strip() else None
            end = parse_day_bound(hi, end=True) if hi.strip() else None
            if start and end and start > end:
                raise ValueError(f"{text!r} ends before it starts")
            return DateRange(start, end)
        return DateRange(parse_day_bound(text, end=False), parse_day_bound(text, end=True))
    except (ValueError, OverflowError) as exc:
        raise QuerySyntaxError(f"bad date in date:{value}: {exc}") from None


def _after(moment: datetime) -> datetime:
    from datetime import timedelta

    return moment + timedelta(microseconds=1)


def _before(moment: datetime) -> datetime:
    from datetime import timedelta

    return moment - timedelta(microseconds=1)


def parse_query(query: str) -> Node | None:
    """Parse a query string; None means "no condition" (empty query).

    Raises `QuerySyntaxError` for what cannot be read.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}")
    if "\x00" in query:
        query = query.replace("\x00", " ")
    return _Parser(_tokenize(query)).parse()
