"""Facet counts over a whole result set (part of the search stage).

Counts posts per tag, category, author, source site (host of the source
URL) and month.  Labels are counted by their normalized form, so the
Simplified and Traditional spellings of a tag are one facet value; each
value is shown in the spelling one of the matching posts uses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import chain
from datetime import datetime, timezone
from typing import Any

from . import bulk
from .analysis import normalize_label
from .schema import NO_DATE

FACETS = ("tag", "category", "author", "site", "month")
_FIELDS = {"tag": "tag", "category": "category", "author": "author", "site": "host"}
_META = {"tag": "tags", "category": "categories", "author": "author"}


def parse_facets(names: Iterable[str]) -> tuple[str, ...]:
    """Validate facet names ("tag,month" may come as one string)."""
    from .errors import QuerySyntaxError

    out: list[str] = []
    for name in names:
        for part in str(name).split(","):
            part = part.strip().lower()
            if not part:
                continue
            if part not in FACETS:
                raise QuerySyntaxError(f"unknown facet {part!r} (use {', '.join(FACETS)})")
            if part not in out:
                out.append(part)
    return tuple(out)


class FacetTables:
    """Per-document label terms and months, read once per searcher from the
    postings, so that counting is a C-level pass over the matches."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self._tables: dict[str, list[tuple[str, ...]]] = {}
        self._holders: dict[str, dict[str, list[int]]] = {}
        self._months: list[str | None] | None = None
        self._arrays: dict[str, Any] = {}  # bulk.LabelLists per field, for large result sets
        # (facet, value) → {post: the value as that post writes it}
        self._spellings: dict[tuple[str, str], dict[int, str]] = {}

    def table(self, field: str) -> list[tuple[str, ...]]:
        found = self._tables.get(field)
        if found is None:
            from .substring import raw_postings

            per_doc: list[list[str]] = [[] for _ in range(self.reader.doc_count_all())]
            holders: dict[str, list[int]] = {}
            for leaf, base in self.reader.leaf_readers():
                for term in leaf.lexicon(field):
                    text = term.decode("utf-8") if isinstance(term, bytes) else term
                    docs = [base + d for d in raw_postings(leaf, field, term)[0]]
                    holders.setdefault(text, []).extend(docs)
                    for d in docs:
                        per_doc[d].append(text)
            found = self._tables[field] = [tuple(v) for v in per_doc]
            self._holders[field] = holders
        return found

    def label_lists(self, field: str) -> Any:
        """The per-document labels of `field` as arrays (see bulk.LabelLists)."""
        found = self._arrays.get(field)
        if found is None:
            found = self._arrays[field] = bulk.LabelLists(self.table(field))
        return found

    def month_lists(self, dates: list[int]) -> Any:
        """Each document's month (or none) as arrays (see bulk.LabelLists)."""
        months = self.months(dates)
        found = self._arrays.get("month")
        if found is None or found.size != len(months):
            found = self._arrays["month"] = bulk.LabelLists([(m,) if m else () for m in months])
        return found

    def holder(self, field: str, value: str, docs: set[int]) -> int:
        """A document among `docs` that carries `value`."""
        return next(d for d in self._holders[field][value] if d in docs)

    def months(self, dates: list[int]) -> list[str | None]:
        if self._months is None or len(self._months) != len(dates):
            self._months = [None if v == NO_DATE else _month(v) for v in dates]
        return self._months

    def spelling(self, name: str, value: str, docs: set[int], stored: Any) -> str:
        """`value` as written in one of the posts `docs` that carry it.

        Spellings already read are reused when one of their posts is among
        `docs`: reading another post's metadata costs ~40 us, and the first
        holder among the matches differs from query to query."""
        if name not in _META:
            return value
        known = self._spellings.setdefault((name, value), {})
        for docnum, written in known.items():
            if docnum in docs:
                return written
        docnum = self.holder(_FIELDS[name], value, docs)
        known[docnum] = written = _spelling(name, value, docnum, stored)
        return written


def count_facets(names: tuple[str, ...], docs: set[int], tables: FacetTables,
                 dates: list[int], stored: Any, top: int = 20) -> dict[str, list[tuple[str, int]]]:
    """name → [(value, posts)], by count (months chronologically)."""
    out: dict[str, list[tuple[str, int]]] = {}
    many = bulk.ready(len(docs), bulk.SCORE_FROM)
    for name in names:
        if name == "month":
            if many:
                out[name] = bulk.count_labels(tables.month_lists(dates), docs)
                continue
            months = Counter(map(tables.months(dates).__getitem__, docs))
            months.pop(None, None)
            out[name] = sorted(months.items())
            continue
        field = _FIELDS[name]
        table = tables.table(field)
        if many:
            counted = bulk.count_labels(tables.label_lists(field), docs)
            best = sorted(counted, key=lambda item: (-item[1], item[0]))[:top]
        else:
            counts = Counter(chain.from_iterable(map(table.__getitem__, docs)))
            best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        out[name] = [(tables.spelling(name, value, docs, stored), n) for value, n in best]
    return out


def _month(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m")


def _spelling(name: str, value: str, docnum: int, stored: Any) -> str:
    """The label as written in a post that carries it."""
    if name not in _META:
        return value
    written = stored(docnum)["meta"].get(_META[name])
    for label in ([written] if isinstance(written, str) else written or []):
        if normalize_label(label) == value:
            return " ".join(label.split())
    return value
