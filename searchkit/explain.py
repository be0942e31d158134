"""Why a post matched a query, or why not (part of the search stage).

`explain(index, query, path)` evaluates every clause of the query on one
post and returns a tree of `Clause` records: the normalized text, its jieba
words, whether and where it occurs (offsets in the normalized title/body),
and the score breakdown the ranking gives the post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import querylang as ql
from .analysis import normalize, normalize_label, segment
from .errors import SearchkitError
from .ranking import EXACT_BONUS, PARTS, TITLE_BONUS, Evaluator, Scoring, broadening_pieces
from .schema import NO_DATE, WORD_FIELDS


class PostNotFoundError(SearchkitError):
    """No indexed post has the given path."""

    hint = "give the path as `searchkit query` shows it"


@dataclass
class Clause:
    """One node of the query, evaluated on one post."""

    kind: str                 # phrase, term, tag, category, author, date, and, or, not
    text: str
    matched: bool
    detail: str = ""
    children: list[Clause] = field(default_factory=list)


@dataclass
class Explanation:
    path: str
    title: str
    query: str
    matched: bool
    clauses: Clause
    score: dict[str, float]   # component → points


def find_post(evaluator: Evaluator, path: str) -> int:
    """The document number of the post with this path (relative or absolute)."""
    exact = evaluator.term_docs("key", path) & evaluator.columns.live
    if exact:  # the key itself (the web interface asks by key): no scan
        return min(exact)
    keys = evaluator.columns.keys
    wanted = path.replace("\\\\", "/").lstrip("./")
    for docnum in sorted(evaluator.columns.live):
        key = keys[docnum]
        if key == path or key.endswith("/" + wanted):
            return docnum
    raise PostNotFoundError(f"no indexed post has the path {path!r}")


def _occurrences(haystack: str, needle: str, limit: int = 10) -> list[int]:
    found, start = [], haystack.find(needle)
    while start >= 0 and len(found) < limit:
        found.append(start)
        start = haystack.find(needle, start + 1)
    return found


class _Explainer:
    def __init__(self, evaluator: Evaluator, docnum: int, stored: dict[str, Any]) -> None:
        self.ev = evaluator
        self.doc = docnum
        self.title = normalize(stored["meta"]["title"])
        self.body = normalize(stored.get("body", ""))
        self.meta = stored["meta"]

    def clause(self, node: ql.Node) -> Clause:
        if isinstance(node, ql.Text):
            return self._text(node)
        if isinstance(node, ql.Label):
            values = self.meta["tags" if node.kind == "tag" else
                               "categories" if node.kind == "category" else "author"]
            values = [values] if isinstance(values, str) else values
            hit = normalize_label(node.value) in {normalize_label(v) for v in values}
            return Clause(node.kind, node.value, hit, f"post has {node.kind}s: {', '.join(values) or '-'}")
        if isinstance(node, ql.DateRange):
            date = self.ev.columns.dates[self.doc]
            lo = node.start.timestamp() if node.start else float("-inf")
            hi = node.end.timestamp() if node.end else float("inf")
            shown = "no date" if date == NO_DATE else datetime.fromtimestamp(date, timezone.utc).isoformat()
            text = f"{node.start.date() if node.start else '…'}..{node.end.date() if node.end else '…'}"
            return Clause("date", text, date != NO_DATE and lo <= date <= hi, f"post date: {shown}")
        if isinstance(node, ql.Not):
            inner = self.clause(node.child)
            return Clause("not", "", not inner.matched, "", [inner])
        children = [self.clause(c) for c in node.children]
        if isinstance(node, ql.Or):
            return Clause("or", "", any(c.matched for c in children), "", children)
        return Clause("and", "", all(c.matched for c in children), "", children)

    def _text(self, node: ql.Text) -> Clause:
        text = normalize(node.text)
        parts = PARTS[node.field]
        where = []
        if "t" in parts and text in self.title:
            where.append(f"title at {_occurrences(self.title, text)}")
        if "b" in parts and text in self.body:
            where.append(f"body at {_occurrences(self.body, text)}")
        words = " / ".join(dict.fromkeys(segment(text)))
        kind = "phrase" if node.quoted else "term"
        scope = f" in {node.field}" if node.field else ""
        if where:
            return Clause(kind, text, True, f"found{scope}: {'; '.join(where)}; words: {words}")
        pieces = [] if node.quoted else broadening_pieces(text)
        if pieces and all(any(p in t for t in self._texts(parts)) for p in pieces):
            return Clause(kind, text, True, f"not verbatim, but all its words occur: {' + '.join(pieces)}")
        missing = [p for p in pieces if not any(p in t for t in self._texts(parts))]
        reason = f"{text!r} does not occur{scope}"
        if missing:
            reason += f"; missing words: {', '.join(missing)}"
        return Clause(kind, text, False, reason + f"; words: {words}")

    def _texts(self, parts: tuple[str, ...]) -> list[str]:
        return [self.title] * ("t" in parts) + [self.body] * ("b" in parts)


def explain(evaluator: Evaluator, stored_fields: Any, query: str, path: str) -> Explanation:
    tree = ql.parse_query(query)
    if tree is None:
        raise ql.QuerySyntaxError("empty query: nothing to explain")
    docnum = find_post(evaluator, path)
    stored = stored_fields(docnum)
    root = _Explainer(evaluator, docnum, stored).clause(tree)
    scoring = Scoring()
    matched = docnum in evaluator.evaluate(tree, scoring)
    return Explanation(path=stored["meta"]["path"], title=stored["meta"]["title"], query=query,
                       matched=matched, clauses=root, score=_score_parts(evaluator, docnum, scoring))


def _score_parts(ev: Evaluator, docnum: int, scoring: Scoring) -> dict[str, float]:
    parts: dict[str, float] = {}
    for text, where in scoring.exact:
        if docnum in ev.substring(text, where):
            parts[f"exact {text!r}"] = EXACT_BONUS
        if "t" in where and docnum in ev.substring(text, ("t",)):
            parts[f"in title {text!r}"] = TITLE_BONUS
    for word, where in dict.fromkeys(scoring.words):
        for part in where:
            one = {docnum: 0.0}
            boost = ev.title_boost if part == "t" else 1.0
            ev.bm25(WORD_FIELDS[part], word, one, boost)
            if one[docnum]:
                parts[f"bm25 {'title' if part == 't' else 'body'} {word!r}"] = round(one[docnum], 4)
    return parts
