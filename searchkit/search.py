"""Searching an index: the `Index` object, query translation, ranking.

Matching is exact on the character index (`substring.Substring`); ranking
is BM25F over jieba words (title weighted above body) plus fixed bonuses:
every bare term found verbatim adds EXACT_BONUS, and found in the title adds
TITLE_BONUS, so posts with the exact string come first and title matches
outrank body matches.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import querylang as ql
from .analysis import normalize, normalize_label, segment
from .errors import QuerySyntaxError
from .indexer import open_whoosh
from .schema import NO_DATE, TITLE_WORD_BOOST, WORD_FIELDS
from .snippets import make_snippet
from .substring import Substring

EXACT_BONUS = 1000.0
TITLE_BONUS = 100.0
SORTS = ("relevance", "date", "-date")
_PARTS = {None: ("t", "b"), "title": ("t",), "body": ("b",)}


@dataclass(frozen=True)
class Hit:
    """One matching post."""

    path: str
    title: str
    date: datetime | None
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    author: str
    url: str
    score: float
    snippet: str
    highlights: tuple[tuple[int, int], ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "title": self.title,
            "date": self.date.isoformat().replace("+00:00", "Z") if self.date else None,
            "tags": list(self.tags), "categories": list(self.categories),
            "author": self.author, "url": self.url, "score": round(self.score, 4),
            "snippet": self.snippet, "highlights": [list(h) for h in self.highlights],
        }


@dataclass(frozen=True)
class SearchResults:
    """A page of hits and the total number of matching posts."""

    total: int
    hits: list[Hit]
    query: str
    elapsed_ms: float

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "hits": [h.to_dict() for h in self.hits]}


@dataclass(frozen=True)
class IndexStats:
    posts: int
    first_date: datetime | None
    last_date: datetime | None
    top_tags: list[tuple[str, int]] = field(default_factory=list)
    segments: int = 0


# -------------------------------------------------------- query translation

@dataclass
class _Needles:
    """What the ranking and the snippets look for."""

    scoring: list[Any] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    cache: dict[Any, list[int]] = field(default_factory=dict)


def _text_query(node: ql.Text, needles: _Needles, positive: bool) -> Any:
    from whoosh import query as wq

    text = normalize(node.text)
    if not text:
        raise QuerySyntaxError(f"{node.text!r} has nothing to search for")
    parts = _PARTS[node.field]
    cache = needles.cache
    exact = Substring(text, parts, cache=cache)
    words = [w for w in dict.fromkeys(segment(text)) if w]
    if positive:
        needles.strings.append(text)
        needles.strings.extend(w for w in words if w != text)
        fields = [WORD_FIELDS[p] for p in parts]
        for word in words:
            for fname in fields:
                boost = TITLE_WORD_BOOST if fname == WORD_FIELDS["t"] else 1.0
                needles.scoring.append(wq.Term(fname, word, boost=boost))
        needles.scoring.append(Substring(text, parts, score=EXACT_BONUS, cache=cache))
        if "t" in parts:
            needles.scoring.append(Substring(text, ("t",), score=TITLE_BONUS, cache=cache))
    if node.quoted:
        return exact
    # Broaden to "all of its words" only when every word is at least two
    # characters: single characters would match nearly every post.
    pieces = [w for w in dict.fromkeys(_precise_words(text)) if w != text]
    if len(pieces) < 2 or min(map(len, pieces)) < 2:
        return exact
    return wq.Or([exact, wq.And([Substring(p, parts, cache=cache) for p in pieces])])


def _precise_words(text: str) -> list[str]:
    import rjieba

    return [w.strip() for w in rjieba.cut(text) if w.strip()]


def _date_query(start: datetime | None, end: datetime | None) -> Any:
    from whoosh import query as wq

    lo = int(start.timestamp()) if start else None
    hi = int(end.timestamp()) if end else None
    return wq.NumericRange("date", lo, hi)


def _translate(node: ql.Node, needles: _Needles, positive: bool = True) -> Any:
    from whoosh import query as wq

    if isinstance(node, ql.Text):
        return _text_query(node, needles, positive)
    if isinstance(node, ql.Label):
        return wq.Term(node.kind, normalize_label(node.value))
    if isinstance(node, ql.DateRange):
        return _date_query(node.start, node.end)
    if isinstance(node, ql.Not):
        return wq.Not(_translate(node.child, needles, not positive))
    children = [_translate(c, needles, positive) for c in node.children]
    if isinstance(node, ql.And):
        if all(isinstance(c, wq.Not) for c in children):
            children.insert(0, wq.Every())
        return wq.And(children)
    return wq.Or([wq.And([wq.Every(), c]) if isinstance(c, wq.Not) else c for c in children])


def _filters(date_from: str | datetime | None, date_to: str | datetime | None,
             tags: Iterable[str], categories: Iterable[str], authors: Iterable[str]) -> list[Any]:
    from whoosh import query as wq

    out: list[Any] = []
    if date_from or date_to:
        start = _bound(date_from, end=False)
        end = _bound(date_to, end=True)
        out.append(_date_query(start, end))
    for kind, values in (("tag", tags), ("category", categories), ("author", authors)):
        for value in values:
            out.append(wq.Term(kind, normalize_label(value)))
    return out


def _bound(value: str | datetime | None, *, end: bool) -> datetime | None:
    from .dates import parse_day_bound

    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        return parse_day_bound(str(value), end=end)
    except ValueError as exc:
        raise QuerySyntaxError(f"bad date {'to' if end else 'from'}: {exc}") from None


# --------------------------------------------------------------- the index

class Index:
    """An open searchkit index.  Use `open_index()` or `build_index()`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._ix = open_whoosh(self.path)
        self._searcher: Any = None
        self.report: Any = None

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._searcher is not None:
            self._searcher.close()
            self._searcher = None

    def _current_searcher(self) -> Any:
        if self._searcher is None:
            self._searcher = self._ix.searcher()
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
        return self._searcher

    def build_query(self, query: str, *, date_from: str | datetime | None = None,
                    date_to: str | datetime | None = None, tags: Iterable[str] = (),
                    categories: Iterable[str] = (), authors: Iterable[str] = ()) -> tuple[Any, list[str]]:
        """The Whoosh query for a query string plus keyword filters, and the
        strings that snippets highlight."""
        from whoosh import query as wq

        tree = ql.parse_query(query)
        needles = _Needles()
        clauses = [_translate(tree, needles)] if tree is not None else []
        clauses += _filters(date_from, date_to, tags, categories, authors)
        if not clauses:
            raise QuerySyntaxError("empty query: give words to search for, or a filter")
        if len(clauses) == 1 and isinstance(clauses[0], wq.Not):
            clauses.insert(0, wq.Every())
        matching = clauses[0] if len(clauses) == 1 else wq.And(clauses)
        if needles.scoring:
            matching = wq.AndMaybe(matching, wq.Or(needles.scoring))
        return matching, needles.strings

    def search(self, query: str, limit: int = 10, offset: int = 0, sort: str = "relevance",
               date_from: str | datetime | None = None, date_to: str | datetime | None = None,
               tags: Iterable[str] = (), categories: Iterable[str] = (),
               authors: Iterable[str] = (), snippets: bool = True) -> SearchResults:
        """Search; the keyword filters behave exactly like the same filters
        written in the query string.  `snippets=False` skips snippet
        making (faster when asking for many hits)."""
        started = time.perf_counter()
        if sort not in SORTS:
            raise QuerySyntaxError(f"unknown sort {sort!r} (use one of {', '.join(SORTS)})")
        if limit < 0 or offset < 0:
            raise QuerySyntaxError("limit and offset must not be negative")
        matching, strings = self.build_query(query, date_from=date_from, date_to=date_to, tags=tags,
                                             categories=categories, authors=authors)
        searcher = self._current_searcher()
        if sort == "relevance":
            results = _run_search(searcher, matching, max(1, offset + limit), sort)
        else:
            results = _by_date(searcher, matching, sort)
        total = len(results)
        page = list(results[offset:offset + limit]) if limit else []
        hits = [self._hit(searcher, r.docnum, r.score or 0.0, strings if snippets else None)
                for r in page]
        elapsed = (time.perf_counter() - started) * 1000
        return SearchResults(total=total, hits=hits, query=query, elapsed_ms=elapsed)

    def _hit(self, searcher: Any, docnum: int, score: float, strings: list[str] | None) -> Hit:
        stored = searcher.stored_fields(docnum)
        meta = stored["meta"]
        snippet, spans = "", ()
        if strings is not None:
            body = stored["body"]
            snippet, spans = make_snippet(body, strings)
        date = datetime.fromisoformat(meta["date"]) if meta.get("date") else None
        return Hit(path=meta["path"], title=meta["title"], date=date, tags=tuple(meta["tags"]),
                   categories=tuple(meta["categories"]), author=meta["author"], url=meta["url"],
                   score=float(score), snippet=snippet, highlights=spans, source=meta["source"])

    def stats(self, top: int = 10) -> IndexStats:
        """Number of posts, date span and the most used tags."""
        searcher = self._current_searcher()
        reader = searcher.reader()
        dates = [d for d in _live_column(reader, "date") if d != NO_DATE]
        tags = Counter({term.decode("utf-8") if isinstance(term, bytes) else term:
                        reader.doc_frequency("tag", term) for term in reader.lexicon("tag")})

        def as_date(epoch: int | None) -> datetime | None:
            return datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else None

        return IndexStats(posts=reader.doc_count(), first_date=as_date(min(dates, default=None)),
                          last_date=as_date(max(dates, default=None)), top_tags=tags.most_common(top),
                          segments=len(list(reader.leaf_readers())))


def _run_search(searcher: Any, matching: Any, wanted: int, sort: str) -> Any:
    """Top `wanted` hits; every match is visited so that the total is exact
    (no block-quality skipping, no matcher replacement)."""
    from whoosh import collectors

    collector = collectors.TopCollector(limit=wanted, usequality=False, replace=0)
    searcher.search_with_collector(matching, collector)
    return collector.results()


@dataclass(frozen=True)
class _Ranked:
    docnum: int
    score: float


def _by_date(searcher: Any, matching: Any, sort: str) -> list[_Ranked]:
    """All matches ordered by date (newest first for "-date"); undated last."""
    reader = searcher.reader()
    dates = reader.column_reader("date")
    dated, undated = [], []
    for docnum in sorted(searcher.docs_for_query(matching)):
        value = dates[docnum]
        (undated if value == NO_DATE else dated).append((value, docnum))
    dated.sort(key=lambda pair: pair[0], reverse=sort == "-date")
    return [_Ranked(d, 0.0) for _, d in dated] + [_Ranked(d, 0.0) for _, d in undated]


def _live_column(reader: Any, name: str) -> list[Any]:
    if reader.doc_count_all() == 0:
        return []
    column = reader.column_reader(name)
    return [column[d] for d in range(reader.doc_count_all()) if not reader.is_deleted(d)]


def open_index(path: str | Path = "index") -> Index:
    """Open an existing index for searching."""
    return Index(path)
