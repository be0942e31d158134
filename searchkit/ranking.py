"""Matching and ranking over an open Whoosh searcher (part of the search stage).

The query tree is evaluated with set algebra on document numbers: a text
clause is the set of posts whose normalized title/body contain it (read in
bulk from the character index, see `substring`), filters are the posting
lists of their terms.  Ranking then scores only the matching posts:

    score = EXACT_BONUS × (terms found verbatim)
          + TITLE_BONUS × (terms found in the title)
          + BM25 over jieba words (title words weighted TITLE_WORD_BOOST)

so posts containing the exact string come first and title matches outrank
body matches.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from . import bulk
from . import querylang as ql
from .analysis import cut_words, normalize, normalize_label, segment
from .errors import QuerySyntaxError
from .schema import NO_DATE, TITLE_WORD_BOOST, WORD_FIELDS
from .substring import (UNKNOWN, covering_bigrams, doc_frequency, first_start, raw_postings, segment_docs,
                        term_info, weights_of)

EXACT_BONUS = 1000.0
TITLE_BONUS = 100.0
K1, B = 1.2, 0.75
LOCATE_LISTS = 3  # posting lists read at most to locate a snippet's first match
PARTS = {None: ("t", "b"), "title": ("t",), "body": ("b",)}


@dataclass
class Scoring:
    """What ranking and snippets need from the positive text clauses."""

    exact: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    words: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)


def _add(found: set[int], docs: Iterable[int], base: int) -> None:
    """Add a segment's document numbers (`docs`) to `found`, moved by the
    segment's `base` (the first segment's need no moving: a set takes
    them in at C speed)."""
    found.update(map(base.__add__, docs) if base else docs)


class Evaluator:
    """Evaluates query trees against one searcher; caches per query."""

    def __init__(self, searcher: Any, columns: IndexColumns,
                 title_boost: float = TITLE_WORD_BOOST) -> None:
        self.title_boost = title_boost
        self.searcher = searcher
        self.reader = searcher.reader()
        self.leaves = list(self.reader.leaf_readers())
        self.columns = columns
        self._cache: dict[Any, set[int]] = {}
        self._restricted: dict[Any, list[tuple[set[int], set[int]]]] = {}

    # ---------------------------------------------------------- primitives

    def substring(self, text: str, parts: tuple[str, ...],
                  within: set[int] | None = None) -> set[int]:
        """Posts whose title/body (`parts`) contain `text`; with `within`,
        only those among `within` (reading only the posting blocks that can
        hold them: a selective filter makes a common phrase cheap).  Each
        part is kept on its own: ranking asks for the title part again."""
        local: list[Any] = []  # `within` per segment, made when first needed
        if len(parts) == 1:
            return self._part(text, parts[0], within, local)
        found: set[int] = set()
        for part in parts:
            found |= self._part(text, part, within, local)
        return found

    def _part(self, text: str, part: str, within: set[int] | None,
              local: list[Any]) -> set[int]:
        key = (text, part)
        found = self._cache.get(key)
        if found is not None:
            return found if within is None else found & within
        if within is not None:
            earlier = self._restricted.setdefault(key, [])
            for among, found in earlier:  # asked before among a superset?
                if within <= among:
                    return found & within
            if not local:
                local.extend(self.per_segment(within))
            found = set()
            for leaf, base, wanted in local:
                _add(found, segment_docs(leaf, part, text, wanted), base)
            earlier.append((within, found))
            return found
        found = set()
        for leaf, base in self.leaves:
            _add(found, segment_docs(leaf, part, text), base)
        self._cache[key] = found
        return found

    def term_docs(self, fieldname: str, text: Any) -> set[int]:
        found: set[int] = set()
        for leaf, base in self.leaves:
            if term_info(leaf, fieldname, text) is not None:
                ids, _ = raw_postings(leaf, fieldname, text)
                _add(found, ids, base)
        return found

    def date_docs(self, start: Any, end: Any, within: set[int] | None = None) -> set[int]:
        lo = int(start.timestamp()) if start else NO_DATE + 1
        hi = int(end.timestamp()) if end else 2**62
        if within is not None:
            dates = self.columns.dates
            return {d for d in within if lo <= dates[d] <= hi}
        ordered, docs = self.columns.by_date
        found = set(docs[bisect_left(ordered, lo):bisect_right(ordered, hi)])
        return found - self.columns.deleted

    def all_docs(self) -> set[int]:
        return set(self.columns.live)

    @staticmethod
    def locatable(needles: Iterable[str]) -> set[str] | None:
        """The needles whose positions tell where the first of `needles`
        (normalized strings) starts (see `first_in_body`); None when the
        index cannot tell (a one-character needle has no positions) or it
        would cost more than folding the post."""
        needles = set(needles)
        if not needles or min(map(len, needles)) < 2:
            return None
        # where a needle starts, any needle it starts with starts too
        needles = {n for n in needles if not any(m != n and n.startswith(m) for m in needles)}
        if sum(len(covering_bigrams(n)) for n in needles) > LOCATE_LISTS:
            return None  # reading that many posting blocks costs more than folding
        return needles

    def first_in_body(self, doc: int, needles: set[str]) -> int | None:
        """Where the first of `needles` (from `locatable`) starts in the
        post's normalized body, from the index's bigram positions; -1 when
        none occurs; None when positions cannot tell (see `first_start`)."""
        for leaf, base in self.leaves:
            if base <= doc < base + leaf.doc_count_all():
                starts = [first_start(leaf, "b", n, doc - base) for n in needles]
                if UNKNOWN in starts:
                    return None
                return min((p for p in starts if p is not None), default=-1)
        return -1

    # ---------------------------------------------------------- the tree

    def evaluate(self, node: ql.Node, scoring: Scoring, positive: bool = True,
                 within: set[int] | None = None) -> set[int]:
        """The live posts matching `node` (only those among `within` when
        given: callers that intersect anyway pass what they already have)."""
        if isinstance(node, ql.Text):
            return self._text(node, scoring, positive, within)
        if isinstance(node, ql.Label):
            found = self.term_docs(node.kind, normalize_label(node.value))
            return found if within is None else found & within
        if isinstance(node, ql.DateRange):
            return self.date_docs(node.start, node.end, within)
        if isinstance(node, ql.Not):
            base = self.all_docs() if within is None else within
            return base - self.evaluate(node.child, scoring, not positive, base)
        if isinstance(node, ql.Or):
            out: set[int] = set()
            for child in node.children:
                out |= self.evaluate(child, scoring, positive, within)
            return out
        return self._and(node, scoring, positive, within)

    def _and(self, node: ql.And, scoring: Scoring, positive: bool,
             within: set[int] | None) -> set[int]:
        """Filters first, then each text clause only among the posts still
        in the running (all clauses are evaluated: they feed ranking)."""
        wanted = sorted((c for c in node.children if not isinstance(c, ql.Not)), key=_clause_cost)
        unwanted = [c.child for c in node.children if isinstance(c, ql.Not)]
        result = within
        for child in wanted:
            result = self.evaluate(child, scoring, positive, result)
        if result is None:
            result = self.all_docs()
        for child in unwanted:
            result = result - self.evaluate(child, scoring, not positive, result)
        return result

    def _text(self, node: ql.Text, scoring: Scoring, positive: bool,
              within: set[int] | None = None) -> set[int]:
        text = normalize(node.text)
        if not text:
            raise QuerySyntaxError(f"{node.text!r} has nothing to search for")
        parts = PARTS[node.field]
        if positive:
            scoring.exact.append((text, parts))
            words = query_words(text)
            scoring.words.extend((w, parts) for w in words)
            scoring.strings.append(text)
            scoring.strings.extend(w for w in words if w != text)
        exact = self.substring(text, parts, within)
        if node.quoted:
            return exact
        pieces = broadening_pieces(text)
        if not pieces:
            return exact
        broad = within
        for piece in sorted(pieces, key=len, reverse=True):
            broad = self.substring(piece, parts, broad)
        return exact | (broad or set())

    # ---------------------------------------------------------- ranking

    def scores(self, docs: set[int], scoring: Scoring) -> dict[int, float]:
        if bulk.ready(len(docs), bulk.SCORE_FROM):
            return bulk.scores(self, docs, scoring)
        score = dict.fromkeys(docs, 0.0)
        for i, (text, parts) in enumerate(scoring.exact):
            found = self.substring(text, parts, docs)
            if i == 0:  # all scores are still 0: set them in one C-level pass
                score.update(dict.fromkeys(found, EXACT_BONUS))
            else:
                for d in found:
                    score[d] += EXACT_BONUS
            if "t" in parts:
                for d in self.substring(text, ("t",), docs):
                    score[d] += TITLE_BONUS
        if not scoring.words:
            return score
        local = self.per_segment(docs)
        for word, parts in dict.fromkeys(scoring.words):
            for part in parts:
                self.bm25(WORD_FIELDS[part], word, score, self.title_boost if part == "t" else 1.0,
                          local)
        return score

    def per_segment(self, docs: Iterable[int]) -> list[tuple[Any, int, list[int]]]:
        """(segment, its first document number, its documents among `docs`
        as sorted local numbers) for each segment holding some of them."""
        ordered = sorted(docs)
        local = []
        for leaf, base in self.leaves:
            lo = bisect_left(ordered, base)
            hi = bisect_left(ordered, base + leaf.doc_count_all())
            if hi > lo:
                local.append((leaf, base, [d - base for d in ordered[lo:hi]]))
        return local

    def bm25(self, fieldname: str, word: str, score: dict[int, float], boost: float = 1.0,
             local: list[tuple[Any, int, list[int]]] | None = None) -> None:
        """Add `word`'s BM25 points in `fieldname` to the documents of
        `score` (reading only the posting blocks that hold them)."""
        if local is None:
            local = self.per_segment(score)
        weight = self.bm25_weight(fieldname, word, boost)
        if weight is None:
            return
        norms = self.bm25_norms(fieldname)
        for leaf, base, wanted in local:
            if term_info(leaf, fieldname, word) is None:
                continue
            for d, tf in weights_of(leaf, fieldname, word, wanted).items():
                g = base + d
                score[g] += weight * tf / (tf + norms[g])

    def bm25_weight(self, fieldname: str, word: str, boost: float) -> float | None:
        """`word`'s BM25 idf × (k1 + 1) × boost in `fieldname` (None: absent)."""
        total_docs = max(1, self.reader.doc_count_all())
        df = sum(doc_frequency(leaf, fieldname, word) for leaf, _ in self.leaves)
        if not df:
            return None
        return boost * math.log(1 + (total_docs - df + 0.5) / (df + 0.5)) * (K1 + 1)

    def bm25_norms(self, fieldname: str) -> list[float]:
        """BM25 length normalization of each document in `fieldname`."""
        norms = self.columns.norms.get(fieldname)
        if norms is None:
            total_docs = max(1, self.reader.doc_count_all())
            avgdl = max(1e-9, self.reader.field_length(fieldname) / total_docs)
            norms = self.columns.norms[fieldname] = [K1 * (1 - B + B * n / avgdl)
                                                     for n in self.columns.lengths[fieldname]]
        return norms


def _clause_cost(node: ql.Node) -> int:
    """Evaluation order within an And: filters (cheap, often selective)
    first, then text clauses, longer (usually rarer) ones first."""
    if isinstance(node, (ql.Label, ql.DateRange)):
        return 0
    if isinstance(node, ql.Text):
        return 2_000_000 - len(node.text)
    return 3_000_000


def query_words(text: str) -> list[str]:
    """The jieba search-mode words a query text is ranked by.  One or two
    characters are taken as one word, which spares short queries the
    dictionary load (a quarter second) in a fresh process."""
    if len(text) <= 2:
        return [text] if _is_word(text) else []
    return [w for w in dict.fromkeys(segment(text)) if w]


def _is_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def broadening_pieces(text: str) -> list[str]:
    """The words an unquoted term may also match as a whole (all required);
    empty when broadening would not help or would match nearly everything."""
    if len(text) < 4:  # two pieces of two characters need four
        return []
    pieces = [w for w in dict.fromkeys(cut_words(text)) if w != text]
    if len(pieces) < 2 or min(map(len, pieces)) < 2:
        return []
    return pieces


def top(score: dict[int, float], count: int) -> list[tuple[int, float]]:
    """The `count` best (docnum, score), ties by document number."""
    if bulk.ready(len(score), bulk.SCORE_FROM):
        return bulk.top(score, count)
    if count <= 0 or not score:
        return []
    # the count-th best score found among bare floats (no key function: a
    # third of the time), then only the posts scoring that much are sorted
    least = heapq.nlargest(count, score.values())[-1]
    best = [(d, s) for d, s in score.items() if s >= least]
    best.sort(key=lambda item: (-item[1], item[0]))
    return best[:count]


class IndexColumns:
    """Per-document values of one searcher's index, each read the first time
    it is needed: dates, field lengths, deleted/live documents, BM25 length
    norms, and the key and sketch column readers (opening one is not
    cheap)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        # field → BM25 length normalization per document, made by Evaluator.bm25
        self.norms: dict[str, list[float]] = {}
        self.norm_arrays: dict[str, Any] = {}  # the same as numpy arrays (bulk.scores)

    @cached_property
    def dates(self) -> list[int]:
        dates: list[int] = []
        for leaf, _ in self.reader.leaf_readers():
            if leaf.doc_count_all():
                column = leaf.column_reader("date", translate=True)
                dates.extend(numeric_column(leaf, column, leaf.doc_count_all(), NO_DATE))
        return dates

    @cached_property
    def by_date(self) -> tuple[list[int], list[int]]:
        """The dates in ascending order and the documents in that order (a
        date range is a slice of the second)."""
        docs = sorted(range(len(self.dates)), key=self.dates.__getitem__)
        return [self.dates[d] for d in docs], docs

    @cached_property
    def key_column(self) -> Any:
        return self.reader.column_reader("key")

    @cached_property
    def _key_values(self) -> tuple[list[int], list[Any]]:
        """Each segment's first document number and its key values
        (`segments.RecordReader.values` where it can)."""
        bases, values = [], []
        for leaf, base in self.reader.leaf_readers():
            perdoc = getattr(leaf, "_perdoc", None)
            found = None
            if hasattr(perdoc, "values"):
                found = perdoc.values("key", leaf.schema["key"].column_type)
            if found is None:
                found = leaf.column_reader("key", translate=False)
            bases.append(base)
            values.append(found)
        return bases, values

    @cached_property
    def sketch_column(self) -> Any:
        return self.reader.column_reader("sketch")

    def key(self, docnum: int) -> str:
        """The post's key (its file path as indexed)."""
        bases, values = self._key_values
        at = bisect_right(bases, docnum) - 1
        return _text(values[at][docnum - bases[at]])

    @cached_property
    def keys(self) -> list[str]:
        return [_text(k) for k in self.key_column]

    @cached_property
    def lengths(self) -> dict[str, list[int]]:
        return field_lengths(self.reader, WORD_FIELDS.values())

    @cached_property
    def deleted(self) -> set[int]:
        deleted: set[int] = set()
        for leaf, base in self.reader.leaf_readers():
            if leaf.has_deletions():
                deleted.update(base + d for d in leaf.deleted_docs_set)
        return deleted

    @cached_property
    def live(self) -> frozenset[int]:
        deleted = self.deleted
        return frozenset(d for d in range(self.reader.doc_count_all()) if d not in deleted)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def numeric_column(leaf: Any, column: Any, doccount: int, default: int) -> list[int]:
    """All values of a Whoosh NumericColumn reader at once (Whoosh reads
    them one file access per document)."""
    raw_reader = column.raw_column() if hasattr(column, "raw_column") else column
    try:
        count, size = raw_reader._count, raw_reader._fixedlen
        data = raw_reader._dbfile.get(raw_reader._basepos, count * size)
        values = array(raw_reader._typecode, data)
    except AttributeError:  # another column type: the slow, general way
        return list(column)
    if sys.byteorder == "little":
        values.byteswap()  # Whoosh packs numbers big-endian
    out = values.tolist() + [default] * (doccount - count)
    if column is not raw_reader:
        out = list(map(column._translate, out))
    return out


def field_lengths(reader: Any, fieldnames: Iterable[str]) -> dict[str, list[int]]:
    """Per-document field lengths of the whole index, for BM25 (read from
    Whoosh's length columns in one go)."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN
    from whoosh.util.numeric import byte_to_length

    table = [byte_to_length(b) for b in range(256)]
    out: dict[str, list[int]] = {}
    for name in fieldnames:
        values: list[int] = []
        for leaf, _ in reader.leaf_readers():
            perdoc = getattr(leaf, "_perdoc", None)  # None for an empty index
            column = perdoc._cached_reader(f"_{name}_len", LENGTHS_COLUMN) if perdoc else None
            if column is None:
                values.extend([0] * leaf.doc_count_all())
            else:
                values.extend(map(table.__getitem__, numeric_column(leaf, column, leaf.doc_count_all(), 0)))
        out[name] = values
    return out
