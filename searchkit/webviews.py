"""What the pages of `searchkit serve` show, computed from search results:
the search state carried in the URL, marked text, facet links, the month
histogram and paging (part of the web interface; no I/O here)."""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from . import querylang as ql
from .analysis import normalize, normalize_label
from .explain import Clause
from .indexer import source_host
from .ranking import query_words
from .search import SORTS, Hit, SearchResults
from .snippets import fold_with_map

PER_PAGE = 10
MAX_PAGE = 10_000
MAX_MARKS = 2000            # matches marked in one article
MAX_HISTOGRAM_MONTHS = 600  # gaps between months are filled up to this span
FACET_NAMES = ("tag", "category", "site", "month")
_PAGE = re.compile(r"[0-9]{1,9}")


def post_id(key: str) -> str:
    """The opaque id of a post in URLs: 16 hex digits of the SHA-1 of its
    key (the file path it was indexed from)."""
    return hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# ------------------------------------------------------------- URL state

@dataclass(frozen=True)
class SearchState:
    """Everything a search page shows, as read from (and written to) its URL."""

    q: str = ""
    page: int = 1
    sort: str = "relevance"
    date_from: str = ""
    date_to: str = ""
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    problem: str = ""  # a parameter that could not be read

    @classmethod
    def parse(cls, params: Any) -> SearchState:
        """The state in a request's query parameters (Starlette QueryParams)."""
        problem = ""
        page_text = params.get("page", "").strip() or "1"
        page = int(page_text) if _PAGE.fullmatch(page_text) else 0
        if not 1 <= page <= MAX_PAGE:
            problem = f"page must be a whole number from 1 to {MAX_PAGE}, not {page_text!r}"
            page = 1
        sort = params.get("sort", "").strip() or "relevance"
        if sort not in SORTS:
            problem = f"unknown sort {sort!r} (use one of {', '.join(SORTS)})"
            sort = "relevance"

        def labels(name: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(v.strip() for v in params.getlist(name) if v.strip()))

        return cls(q=params.get("q", ""), page=page, sort=sort,
                   date_from=params.get("from", "").strip(), date_to=params.get("to", "").strip(),
                   tags=labels("tag"), categories=labels("category"), problem=problem)

    @property
    def blank(self) -> bool:
        return not (self.q.strip() or self.date_from or self.date_to or self.tags or self.categories)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE

    def pairs(self) -> list[tuple[str, str]]:
        out = [("q", self.q)] if self.q else []
        out += [("tag", t) for t in self.tags] + [("category", c) for c in self.categories]
        out += [("from", self.date_from)] if self.date_from else []
        out += [("to", self.date_to)] if self.date_to else []
        out += [("sort", self.sort)] if self.sort != "relevance" else []
        out += [("page", str(self.page))] if self.page != 1 else []
        return out

    def url(self, **changes: Any) -> str:
        """The search page with `changes`; back on page 1 unless a page is given."""
        changes.setdefault("page", 1)
        state = replace(self, problem="", **changes)
        query = urlencode(state.pairs(), quote_via=quote)
        return f"/?{query}" if query else "/"

    def search_args(self, facets: tuple[str, ...] = FACET_NAMES) -> dict[str, Any]:
        return {"query": self.q, "limit": PER_PAGE, "offset": self.offset, "sort": self.sort,
                "date_from": self.date_from or None, "date_to": self.date_to or None,
                "tags": self.tags, "categories": self.categories, "facets": facets}


def toggle(values: tuple[str, ...], value: str) -> tuple[tuple[str, ...], bool]:
    """`values` with `value` removed if present (script- and case-blind), else
    added; and whether it was present."""
    key = normalize_label(value)
    kept = tuple(v for v in values if normalize_label(v) != key)
    active = len(kept) != len(values)
    return (kept if active else values + (value,)), active


def with_label(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    key = normalize_label(value)
    return values if any(normalize_label(v) == key for v in values) else values + (value,)


def post_url(pid: str, q: str = "") -> str:
    return f"/post/{pid}" + (f"?q={quote(q)}" if q.strip() else "")


# ------------------------------------------------------------- marking

def cut_marked(text: str, spans: Any) -> list[tuple[str, bool]]:
    """`text` cut into (piece, marked) at the given [start, end) spans."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted(((int(s), int(e)) for s, e in spans), key=lambda se: (se[0], -se[1])):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def query_needles(query: str) -> list[str]:
    """The normalized strings (and their jieba words) that the positive text
    clauses of `query` look for: what snippets mark.  Raises QuerySyntaxError."""
    found: list[str] = []

    def walk(node: Any, positive: bool) -> None:
        if isinstance(node, ql.Text):
            text = normalize(node.text)
            if positive and text:
                found.append(text)
                found.extend(w for w in query_words(text) if w != text)
        elif isinstance(node, ql.Not):
            walk(node.child, not positive)
        elif isinstance(node, (ql.And, ql.Or)):
            for child in node.children:
                walk(child, positive)

    if query.strip():
        tree = ql.parse_query(query)
        if tree is not None:
            walk(tree, True)
    return list(dict.fromkeys(found))


def mark_text(text: str, needles: list[str]) -> list[tuple[str, bool]]:
    """The whole `text` cut into (piece, marked), every occurrence of a needle
    marked; matching is script-, width- and case-blind like the index."""
    if not text or not needles:
        return [(text, False)] if text else []
    folded, owners = fold_with_map(text)
    flat: list[str] = []
    where: list[int] = []      # flat index → folded index
    for i, ch in enumerate(folded):
        if ch.isspace():
            if flat and flat[-1] == " ":
                continue
            ch = " "
        flat.append(ch)
        where.append(i)
    haystack = "".join(flat)

    def original(i: int) -> int:
        j = where[i]
        return owners[j] if owners is not None and j < len(owners) else j

    spans: list[tuple[int, int]] = []
    for needle in sorted(set(needles), key=len, reverse=True):
        start = haystack.find(needle)
        while start >= 0 and len(spans) < MAX_MARKS:
            spans.append((original(start), original(start + len(needle) - 1) + 1))
            start = haystack.find(needle, start + len(needle))
    return cut_marked(text, spans)


# ---------------------------------------------------------- view models

def day(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return value.strftime("%Y-%m-%d") if value else ""


def iso(value: str | None) -> str | None:
    return datetime.fromisoformat(value).isoformat().replace("+00:00", "Z") if value else None


def web_link(url: str) -> str:
    """`url` if it is an http(s) address, safe to link to; else ""."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def hit_view(hit: Hit, state: SearchState) -> dict[str, Any]:
    pid = post_id(hit.key)
    return {
        "id": pid, "href": post_url(pid, state.q), "title": hit.title, "path": hit.path,
        "date": day(hit.date), "site": source_host(hit.url) or "", "copies": hit.copies,
        "tags": [{"label": t, "href": state.url(tags=with_label(state.tags, t)),
                  "active": any(normalize_label(t) == normalize_label(a) for a in state.tags)}
                 for t in hit.tags],
        "snippet": cut_marked(hit.snippet, hit.highlights),
    }


def facet_views(res: SearchResults, state: SearchState) -> dict[str, list[dict[str, Any]]]:
    views: dict[str, list[dict[str, Any]]] = {}
    for name, attr in (("tag", "tags"), ("category", "categories")):
        items = []
        for value, count in res.facets.get(name, []):
            values, active = toggle(getattr(state, attr), value)
            items.append({"label": value, "count": count, "active": active,
                          "href": state.url(**{attr: values})})
        views[name] = items
    # the query language has no site filter: sites are shown, not linked
    views["site"] = [{"label": v, "count": n} for v, n in res.facets.get("site", [])]
    return views


def active_filters(state: SearchState) -> list[dict[str, str]]:
    out = [{"kind": "tag", "label": t, "href": state.url(tags=toggle(state.tags, t)[0])}
           for t in state.tags]
    out += [{"kind": "category", "label": c, "href": state.url(categories=toggle(state.categories, c)[0])}
            for c in state.categories]
    if state.date_from or state.date_to:
        out.append({"kind": "date", "label": f"{state.date_from or '…'} – {state.date_to or '…'}",
                    "href": state.url(date_from="", date_to="")})
    return out


def _month_bounds(month: str) -> tuple[str, str]:
    year, mon = map(int, month.split("-"))
    return f"{year:04d}-{mon:02d}-01", f"{year:04d}-{mon:02d}-{calendar.monthrange(year, mon)[1]:02d}"


def _months_between(first: str, last: str) -> list[str]:
    y, m = map(int, first.split("-"))
    end = tuple(map(int, last.split("-")))
    out = []
    while (y, m) <= end and len(out) <= MAX_HISTOGRAM_MONTHS:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def histogram(months: list[tuple[str, int]], state: SearchState) -> dict[str, Any] | None:
    """Geometry of the month bar chart (inline SVG): one bar per month from
    the first to the last matching month, each linking to that month."""
    if not months:
        return None
    counts = dict(months)
    span = _months_between(months[0][0], months[-1][0])
    if len(span) > MAX_HISTOGRAM_MONTHS:
        span = [m for m, _ in months]
    peak = max(counts.values())
    bar = max(4, min(28, 720 // len(span)))
    plot, label = 80, 14
    bars, years = [], []
    for i, month in enumerate(span):
        x = i * bar
        if i == 0 or month.endswith("-01"):
            years.append({"x": x, "text": month[:4] if (i or len(span) > 1) else month})
        count = counts.get(month, 0)
        if not count:
            continue
        start, end = _month_bounds(month)
        height = max(2, round(plot * count / peak))
        bars.append({"month": month, "count": count, "x": x + 1, "y": plot - height,
                     "width": max(bar - 2, 2), "height": height,
                     "href": state.url(date_from=start, date_to=end),
                     "active": state.date_from == start and state.date_to == end})
    return {"bars": bars, "years": years, "width": max(len(span) * bar, 64),
            "height": plot + label, "plot": plot, "first": span[0], "last": span[-1]}


def pages(state: SearchState, total: int) -> dict[str, Any]:
    last = max(1, -(-total // PER_PAGE))
    numbers = sorted({1, last} | set(range(max(1, state.page - 2), min(last, state.page + 2) + 1)))
    items: list[dict[str, Any]] = []
    for n in numbers:
        if items and n - items[-1]["n"] > 1:
            items.append({"n": n - 1, "gap": True})
        items.append({"n": n, "gap": False, "href": state.url(page=n), "current": n == state.page})
    return {"last": last, "links": items if last > 1 else [],
            "prev": state.url(page=min(state.page - 1, last)) if state.page > 1 else "",
            "next": state.url(page=state.page + 1) if state.page < last else ""}


def date_input(value: str, end: bool) -> str:
    """A from/to value as an <input type=date> shows it (YYYY-MM-DD)."""
    from .dates import parse_day_bound

    try:
        return parse_day_bound(value, end=end).strftime("%Y-%m-%d") if value else ""
    except ValueError:
        return value


def clause_view(clause: Clause) -> dict[str, Any]:
    return {"kind": clause.kind, "text": clause.text, "matched": clause.matched,
            "detail": clause.detail, "children": [clause_view(c) for c in clause.children]}
