"""Searching an index: the `Index` object, query translation, ranking.

Matching and ranking are in `ranking`; this module holds the public
`Index` object, its results and the statistics.
"""

from __future__ import annotations

import os
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from . import bulk
from . import querylang as ql
from .analysis import normalize_label
from .errors import IndexCorruptError, QuerySyntaxError
from .explain import Explanation, explain, find_post
from .facets import FacetTables, count_facets, parse_facets
from .analysis import use_dictionary
from .indexfiles import INDEX_NAME, open_whoosh, read_index_dictionary
from .ranking import Evaluator, IndexColumns, Scoring, top
from .related import collapse, related
from .schema import NO_DATE, TITLE_WORD_BOOST
from .snippets import make_snippet

SORTS = ("relevance", "date", "-date")
RELIST_SECONDS = 5.0  # see Index._up_to_date
T = TypeVar("T")


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
    copies: int = 0                   # near-duplicates folded into this hit
    similarity: float | None = None   # for related posts: share of the body sketch
    key: str = ""                     # the post's key in the index (its file path as indexed)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "path": self.path, "title": self.title,
            "date": self.date.isoformat().replace("+00:00", "Z") if self.date else None,
            "tags": list(self.tags), "categories": list(self.categories),
            "author": self.author, "url": self.url, "score": round(self.score, 4),
            "snippet": self.snippet, "highlights": [list(h) for h in self.highlights],
        }
        if self.copies:
            out["copies"] = self.copies
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 3)
        return out


@dataclass(frozen=True)
class SearchResults:
    """A page of hits and the total number of matching posts."""

    total: int
    hits: list[Hit]
    query: str
    elapsed_ms: float
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"total": self.total, "hits": [h.to_dict() for h in self.hits]}
        if self.facets:
            out["facets"] = {name: [{"value": v, "count": n} for v, n in values]
                             for name, values in self.facets.items()}
        return out


@dataclass(frozen=True)
class IndexStats:
    posts: int
    first_date: datetime | None
    last_date: datetime | None
    top_tags: list[tuple[str, int]] = field(default_factory=list)
    segments: int = 0
    user_words: int = 0
    userdict: str = ""


@dataclass(frozen=True)
class _Options:
    limit: int
    offset: int
    sort: str
    snippets: bool
    facets: tuple[str, ...]
    collapse: bool


# --------------------------------------------------------------- the index

class Index:
    """An open searchkit index.  Use `open_index()` or `build_index()`."""

    def __init__(self, path: str | Path, title_boost: float = TITLE_WORD_BOOST,
                 cache: int = 0) -> None:
        self.path = Path(path)
        self._ix = open_whoosh(self.path)
        self.title_boost = title_boost
        # segment queries with the user words the index was built with
        use_dictionary(read_index_dictionary(self.path))
        self._searcher: Any = None
        self._listed = 0.0  # when Whoosh last listed the index folder
        self._columns: Any = None
        self._facet_tables: FacetTables | None = None
        self._columns_for: Any = None
        self.report: Any = None
        # results of recent searches of the current index generation
        self._results: OrderedDict[Any, SearchResults] = OrderedDict()
        self._results_for: Any = None
        self._cache_size = cache

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
            self._listed = time.monotonic()
        elif not self._up_to_date():
            self._searcher.close()
            self._searcher = self._ix.searcher()
        return self._searcher

    def _up_to_date(self) -> bool:
        """Is the open searcher's generation still the latest?

        Whoosh lists the index folder to know (30-40 us a search on the dev
        index).  Our indexer writes generation g + 1 and only then deletes
        the ones before g, so two file checks tell: the index changed when
        g + 1 exists or g is gone.  The full listing still runs every few
        seconds, in case another writer touched the folder."""
        if time.monotonic() - self._listed > RELIST_SECONDS:
            self._listed = time.monotonic()
            return bool(self._searcher.up_to_date())
        gen = self._searcher.reader().generation()
        return (os.path.exists(self._toc_path(gen)) and not os.path.exists(self._toc_path(gen + 1)))

    def _toc_path(self, generation: int) -> str:
        return os.path.join(self.path, f"_{INDEX_NAME}_{generation}.toc")

    def warm_up(self, facets: Iterable[str] = ()) -> None:
        """Load now what the first searches would load (column values,
        facet tables, numpy for large result sets): for servers, whose first
        request should not wait ~0.5 s for them."""
        bulk.warm = True
        self.search("的", limit=1, snippets=False, facets=facets)

    def read(self, action: Callable[[Any], T]) -> T:
        """Run `action(searcher)` on the current index generation's Whoosh
        searcher (reopened when the index changed, once more when its files
        vanished under it).  Document numbers are valid within one call."""
        return self._retrying(lambda: action(self._current_searcher()))

    def columns(self, searcher: Any) -> IndexColumns:
        """Per-document values (dates, keys, deletions, …) of the generation
        `searcher` reads, kept while it is the current one (see `read`)."""
        if self._columns_for is not searcher:
            self._columns = IndexColumns(searcher.reader())
            self._columns_for = searcher
        return self._columns

    def _evaluator(self, searcher: Any) -> Evaluator:
        return Evaluator(searcher, self.columns(searcher), self.title_boost)

    def search(self, query: str, limit: int = 10, offset: int = 0, sort: str = "relevance",
               date_from: str | datetime | None = None, date_to: str | datetime | None = None,
               tags: Iterable[str] = (), categories: Iterable[str] = (),
               authors: Iterable[str] = (), snippets: bool = True,
               facets: Iterable[str] = (), collapse_duplicates: bool = False) -> SearchResults:
        """Search; the keyword filters behave exactly like the same filters
        written in the query string.  `snippets=False` skips snippet
        making (faster when asking for many hits); `facets` names counts to
        compute over all matches (tag, category, author, site, month);
        `collapse_duplicates` shows each wire story once, with its number
        of near-duplicate copies among the matches."""
        started = time.perf_counter()
        if sort not in SORTS:
            raise QuerySyntaxError(f"unknown sort {sort!r} (use one of {', '.join(SORTS)})")
        if limit < 0 or offset < 0:
            raise QuerySyntaxError("limit and offset must not be negative")
        tree = with_filters(ql.parse_query(query), date_from, date_to, tags, categories, authors)
        options = _Options(limit, offset, sort, snippets, parse_facets(facets), collapse_duplicates)
        return self._retrying(lambda: self._cached_search(tree, query, options, started))

    def _cached_search(self, tree: ql.Node, query: str, opt: _Options, started: float) -> SearchResults:
        """`_search`, answered from the last `cache` results while the index
        generation is the same (same query tree and options)."""
        if not self._cache_size:
            return self._search(tree, query, opt, started)
        searcher = self._current_searcher()
        if self._results_for is not searcher:
            self._results.clear()
            self._results_for = searcher
        key = (tree, opt)
        found = self._results.get(key)
        if found is None:
            found = self._results[key] = self._search(tree, query, opt, started)
            if len(self._results) > self._cache_size:
                self._results.popitem(last=False)
            return found
        self._results.move_to_end(key)
        return replace(found, query=query, elapsed_ms=(time.perf_counter() - started) * 1000)

    def _retrying(self, action: Any) -> Any:
        """Run `action`; if index files vanished under this searcher (an
        indexing run replaced them), reopen once; if they are still missing,
        the index is damaged."""
        try:
            return action()
        except FileNotFoundError:
            self.close()
            try:
                return action()
            except FileNotFoundError as exc:
                raise IndexCorruptError(f"{self.path} is missing files ({exc.filename})") from exc

    def _search(self, tree: ql.Node, query: str, opt: _Options, started: float) -> SearchResults:
        searcher = self._current_searcher()
        evaluator = self._evaluator(searcher)
        scoring = Scoring()
        docs = evaluator.evaluate(tree, scoring)
        wanted = opt.offset + opt.limit
        if opt.sort == "relevance":
            scores = evaluator.scores(docs, scoring)
            ranked = top(scores, len(docs) if opt.collapse else wanted)
        else:
            ranked = _by_date(self._columns.dates, docs, opt.sort)
        if opt.collapse:
            page = collapse(evaluator, ranked, docs, wanted)[opt.offset:]
        else:
            page = [(d, s, 0) for d, s in ranked[opt.offset:wanted]]
        strings = scoring.strings if opt.snippets else None
        locating = (evaluator, evaluator.locatable(strings)) if strings else None
        hits = [self._hit(searcher, d, s, strings, locating, copies=n) for d, s, n in page]
        counts = {}
        if opt.facets:
            if self._facet_tables is None or self._facet_tables.reader is not searcher.reader():
                self._facet_tables = FacetTables(searcher.reader())
            counts = count_facets(opt.facets, docs, self._facet_tables, self._columns.dates,
                                  searcher.stored_fields)
        elapsed = (time.perf_counter() - started) * 1000
        bulk.warm = True  # a process that searches again can afford numpy's import
        return SearchResults(total=len(docs), hits=hits, query=query, elapsed_ms=elapsed,
                             facets=counts)

    def _hit(self, searcher: Any, docnum: int, score: float, strings: list[str] | None,
             locating: tuple[Evaluator, set[str] | None] | None = None, **extra: Any) -> Hit:
        """A result; with `strings`, its snippet (`locating`: the evaluator
        and the needles whose positions locate a late first match)."""
        stored = searcher.stored_fields(docnum)
        meta = stored["meta"]
        snippet, spans = "", ()
        if strings is not None:
            locate = None
            if locating is not None and locating[1] is not None:
                evaluator, needles = locating

                def locate() -> int | None:
                    return evaluator.first_in_body(docnum, needles)
            snippet, spans = make_snippet(stored["body"], strings, locate=locate,
                                          table=stored.get("shifts"),
                                          irregular=stored.get("irregular"))
        date = datetime.fromisoformat(meta["date"]) if meta.get("date") else None
        return Hit(path=meta["path"], title=meta["title"], date=date, tags=tuple(meta["tags"]),
                   categories=tuple(meta["categories"]), author=meta["author"], url=meta["url"],
                   score=float(score), snippet=snippet, highlights=spans, source=meta["source"],
                   key=self._columns.key(docnum), **extra)

    def related(self, path: str, limit: int = 10) -> list[Hit]:
        """Posts most like the one at `path`: near-duplicates (wire copies)
        first, then by shared distinctive words."""
        def action() -> list[Hit]:
            searcher = self._current_searcher()
            evaluator = self._evaluator(searcher)
            docnum = find_post(evaluator, path)
            return [self._hit(searcher, d, s, None, similarity=sim)
                    for d, s, sim in related(evaluator, docnum, limit)]

        return self._retrying(action)

    def explain(self, query: str, path: str) -> Explanation:
        """Why the post at `path` matches `query` (or which clause fails)."""
        def action() -> Explanation:
            searcher = self._current_searcher()
            return explain(self._evaluator(searcher), searcher.stored_fields, query, path)

        return self._retrying(action)

    def stats(self, top: int = 10) -> IndexStats:
        """Number of posts, date span and the most used tags."""
        return self._retrying(lambda: self._stats(top))

    def _stats(self, top: int) -> IndexStats:
        searcher = self._current_searcher()
        reader = searcher.reader()
        evaluator = self._evaluator(searcher)
        columns = evaluator.columns
        dates = [columns.dates[d] for d in columns.live if columns.dates[d] != NO_DATE]
        tags = _top_labels(reader, evaluator, "tag", "tagname", top)

        def as_date(epoch: int | None) -> datetime | None:
            return datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else None

        return IndexStats(posts=reader.doc_count(), first_date=as_date(min(dates, default=None)),
                          last_date=as_date(max(dates, default=None)), top_tags=tags,
                          segments=len(list(reader.leaf_readers())),
                          user_words=len(read_index_dictionary(self.path)),
                          userdict=_dictionary_source(self.path))


def _by_date(dates: list[int], docs: set[int], sort: str) -> list[tuple[int, float]]:
    """Matches ordered by date (newest first for "-date"); undated last."""
    dated, undated = [], []
    for docnum in sorted(docs):
        value = dates[docnum]
        (undated if value == NO_DATE else dated).append((value, docnum))
    dated.sort(key=lambda pair: pair[0], reverse=sort == "-date")
    return [(d, 0.0) for _, d in dated] + [(d, 0.0) for _, d in undated]


def with_filters(tree: ql.Node | None, date_from: str | datetime | None,
                 date_to: str | datetime | None, tags: Iterable[str],
                 categories: Iterable[str], authors: Iterable[str]) -> ql.Node:
    """The query tree with the keyword filters added as And clauses, so that
    both ways of filtering are literally the same query."""
    clauses: list[ql.Node] = [tree] if tree is not None else []
    if date_from or date_to:
        clauses.append(ql.DateRange(_bound(date_from, end=False), _bound(date_to, end=True)))
    for kind, values in (("tag", tags), ("category", categories), ("author", authors)):
        clauses.extend(ql.Label(kind, v) for v in values)
    if not clauses:
        raise QuerySyntaxError("empty query: give words to search for, or a filter")
    return clauses[0] if len(clauses) == 1 else ql.And(tuple(clauses))


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


def _dictionary_source(index_dir: Path) -> str:
    try:
        first = (index_dir / "userdict.txt").read_text(encoding="utf-8").split("\n", 1)[0]
    except OSError:
        return ""
    return first.split("(from ", 1)[1].rstrip(")") if "(from " in first else ""


def _top_labels(reader: Any, evaluator: Evaluator, field: str, names_field: str,
                top: int) -> list[tuple[str, int]]:
    """The most used labels, counted over live posts, each shown in its most
    common original spelling (Traditional and Simplified forms merged)."""
    def text(term: Any) -> str:
        return term.decode("utf-8") if isinstance(term, bytes) else term

    rough = Counter({text(t): reader.doc_frequency(field, t) for t in reader.lexicon(field)})
    exact = Counter({t: len(evaluator.term_docs(field, t)) for t, _ in rough.most_common(top * 3)})
    spelling: dict[str, tuple[int, str]] = {}
    if names_field in reader.schema:
        for term in reader.lexicon(names_field):
            name = text(term)
            key = normalize_label(name)
            count = reader.doc_frequency(names_field, term)
            if key in exact and count > spelling.get(key, (0, ""))[0]:
                spelling[key] = (count, name)
    return [(spelling.get(t, (0, t))[1], n) for t, n in exact.most_common(top) if n]


def open_index(path: str | Path = "index", title_boost: float = TITLE_WORD_BOOST,
               cache: int = 0) -> Index:
    """Open an existing index for searching (`title_boost` weights title
    words against body words in BM25; `cache` keeps that many recent
    results, dropped when the index changes)."""
    return Index(path, title_boost, cache)
