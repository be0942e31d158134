"""The web interface of `searchkit serve`: server-rendered pages and a small
JSON API over one index, read-only.

    from searchkit.web import create_app
    app = create_app("index")            # a Starlette (ASGI) application
    # uvicorn.run(app, host="127.0.0.1", port=8765)

    /                          search: q, page, sort, from, to, tag…, category…
    /post/{id}                 one post, q's matches marked, related stories
    /post/{id}/explain?q=…     why the post matches q (`Index.explain`)
    /api/search                JSON: what `searchkit query --json` prints, with
                               facets and an "id" per hit
    /api/post/{id}             JSON: metadata, visible text, related stories

The pages need no JavaScript and the URL carries the whole state.  Posts are
addressed by an opaque id (the first 16 hex digits of the SHA-1 of the
source folder and the post's path), never by a path taken from the request;
ids are resolved through a map built once per index generation from the
stored metadata.  Everything shown is escaped (Jinja2 autoescape), and a
Content-Security-Policy without any script source backs that up.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from . import querylang as ql
from .analysis import normalize, normalize_label
from .errors import QuerySyntaxError, SearchkitError
from .explain import Clause, PostNotFoundError
from .indexer import source_host
from .ranking import query_words
from .related import DUPLICATE
from .schema import TITLE_WORD_BOOST
from .search import SORTS, Hit, Index, SearchResults, open_index
from .snippets import fold_with_map

PER_PAGE = 10
MAX_PAGE = 10_000
RELATED = 8
MAX_MARKS = 2000            # matches marked in one article
MAX_HISTOGRAM_MONTHS = 600  # gaps between months are filled up to this span
FACET_NAMES = ("tag", "category", "site", "month")
SORT_LABELS = (("relevance", "Relevance"), ("-date", "Newest first"), ("date", "Oldest first"))
TEMPLATES = Path(__file__).with_name("templates")
_ID = re.compile(r"[0-9a-f]{16}")
_PAGE = re.compile(r"[0-9]{1,9}")

SECURITY_HEADERS = (
    ("content-security-policy", ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                 "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)


def post_id(source: str, path: str) -> str:
    """The opaque id of a post in URLs: 16 hex digits of SHA-1(source, path)."""
    data = f"{source}\x00{path}".encode("utf-8", "surrogatepass")
    return hashlib.sha1(data).hexdigest()[:16]


def create_app(index_dir: str | Path, *, title_boost: float = TITLE_WORD_BOOST,
               allowed_hosts: list[str] | None = None) -> Starlette:
    """A Starlette application serving the index at `index_dir` (opened now,
    so a missing or damaged index raises `SearchkitError` here).

    `allowed_hosts` limits the Host header (against DNS rebinding when the
    server is bound to the loopback address); None accepts any.
    """
    site = _Site(_Archive(open_index(index_dir, title_boost)))
    routes = [
        Route("/", site.search_page, name="search"),
        Route("/post/{id}", site.post_page, name="post"),
        Route("/post/{id}/explain", site.explain_page, name="explain"),
        Route("/api/search", site.api_search, name="api_search"),
        Route("/api/post/{id}", site.api_post, name="api_post"),
        Route("/favicon.ico", site.favicon),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    return Starlette(routes=routes, middleware=middleware, exception_handlers={
        SearchkitError: site.searchkit_error,
        HTTPException: site.http_error,
        Exception: site.server_error,
    })


# ------------------------------------------------------------ the index

@dataclass(frozen=True)
class _Post:
    id: str
    key: str
    meta: dict[str, Any]
    body: str


class _Archive:
    """The open index, used by one request at a time (Whoosh searchers and
    searchkit's caches are not meant for concurrent use), and the map from
    post ids to document numbers of the current index generation."""

    def __init__(self, ix: Index) -> None:
        self.ix = ix
        self.lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._ids_reader: Any = None

    def search(self, **kwargs: Any) -> SearchResults:
        with self.lock:
            return self.ix.search(**kwargs)

    def related(self, key: str, limit: int) -> list[Hit]:
        with self.lock:
            return self.ix.related(key, limit)

    def explain(self, query: str, key: str) -> Any:
        with self.lock:
            return self.ix.explain(query, key)

    def post(self, pid: str) -> _Post | None:
        if not _ID.fullmatch(pid):
            return None
        with self.lock:
            return self.ix._retrying(lambda: self._post(pid))

    def _post(self, pid: str) -> _Post | None:
        searcher = self.ix._current_searcher()
        reader = searcher.reader()
        if self._ids_reader is not reader:  # a new index generation: scan once
            ids: dict[str, int] = {}
            for docnum in range(reader.doc_count_all()):
                if not reader.is_deleted(docnum):
                    meta = reader.stored_fields(docnum)["meta"]
                    ids[post_id(meta.get("source", ""), meta["path"])] = docnum
            self._ids, self._ids_reader = ids, reader
        docnum = self._ids.get(pid)
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        key = reader.column_reader("key")[docnum]
        key = key.decode("utf-8") if isinstance(key, bytes) else key
        return _Post(pid, key, stored["meta"], stored.get("body", ""))


# ------------------------------------------------------------- URL state

@dataclass(frozen=True)
class _State:
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
    def parse(cls, request: Request) -> _State:
        params = request.query_params
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


def _toggle(values: tuple[str, ...], value: str) -> tuple[tuple[str, ...], bool]:
    """`values` with `value` removed if present (script- and case-blind), else
    added; and whether it was present."""
    key = normalize_label(value)
    kept = tuple(v for v in values if normalize_label(v) != key)
    active = len(kept) != len(values)
    return (kept if active else values + (value,)), active


def _with(values: tuple[str, ...], value: str) -> tuple[str, ...]:
    key = normalize_label(value)
    return values if any(normalize_label(v) == key for v in values) else values + (value,)


def _post_url(pid: str, q: str = "") -> str:
    return f"/post/{pid}" + (f"?q={quote(q)}" if q.strip() else "")


# ------------------------------------------------------------- marking

def _segments(text: str, spans: Any) -> list[tuple[str, bool]]:
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
    return _segments(text, spans)


# ---------------------------------------------------------- view models

def _day(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return value.strftime("%Y-%m-%d") if value else ""


def _iso(value: str | None) -> str | None:
    return datetime.fromisoformat(value).isoformat().replace("+00:00", "Z") if value else None


def _web_link(url: str) -> str:
    """`url` if it is an http(s) address, safe to link to; else ""."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def _hit_view(hit: Hit, state: _State) -> dict[str, Any]:
    pid = post_id(hit.source, hit.path)
    return {
        "id": pid, "href": _post_url(pid, state.q), "title": hit.title, "path": hit.path,
        "date": _day(hit.date), "site": source_host(hit.url) or "", "copies": hit.copies,
        "tags": [{"label": t, "href": state.url(tags=_with(state.tags, t)),
                  "active": any(normalize_label(t) == normalize_label(a) for a in state.tags)}
                 for t in hit.tags],
        "snippet": _segments(hit.snippet, hit.highlights),
    }


def _facet_views(res: SearchResults, state: _State) -> dict[str, list[dict[str, Any]]]:
    views: dict[str, list[dict[str, Any]]] = {}
    for name, attr in (("tag", "tags"), ("category", "categories")):
        items = []
        for value, count in res.facets.get(name, []):
            values, active = _toggle(getattr(state, attr), value)
            items.append({"label": value, "count": count, "active": active,
                          "href": state.url(**{attr: values})})
        views[name] = items
    # the query language has no site filter: sites are shown, not linked
    views["site"] = [{"label": v, "count": n} for v, n in res.facets.get("site", [])]
    return views


def _active_filters(state: _State) -> list[dict[str, str]]:
    out = [{"kind": "tag", "label": t, "href": state.url(tags=_toggle(state.tags, t)[0])}
           for t in state.tags]
    out += [{"kind": "category", "label": c, "href": state.url(categories=_toggle(state.categories, c)[0])}
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


def _histogram(months: list[tuple[str, int]], state: _State) -> dict[str, Any] | None:
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


def _pages(state: _State, total: int) -> dict[str, Any]:
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


def _date_input(value: str, end: bool) -> str:
    """A from/to value as an <input type=date> shows it (YYYY-MM-DD)."""
    from .dates import parse_day_bound

    try:
        return parse_day_bound(value, end=end).strftime("%Y-%m-%d") if value else ""
    except ValueError:
        return value


def _clause_view(clause: Clause) -> dict[str, Any]:
    return {"kind": clause.kind, "text": clause.text, "matched": clause.matched,
            "detail": clause.detail, "children": [_clause_view(c) for c in clause.children]}


# ---------------------------------------------------------------- pages

class _Site:
    """The endpoints; each app has its own (no module-level state)."""

    def __init__(self, archive: _Archive) -> None:
        self.archive = archive
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("q", "")
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=code)

    def error(self, request: Request, status: int, message: str, hint: str = "") -> Response:
        if request.url.path.startswith("/api/"):
            body: dict[str, Any] = {"error": message}
            if hint:
                body["hint"] = hint
            return JSONResponse(body, status_code=status)
        return self.page("error.html", status, status=status, message=message, hint=hint)

    # ------------------------------------------------------ error handlers

    def searchkit_error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, QuerySyntaxError):
            return self.error(request, 400, str(exc))
        if isinstance(exc, PostNotFoundError):
            return self.error(request, 404, "no such post")
        hint = getattr(exc, "hint", None) or ""
        return self.error(request, 503, f"the index cannot be used: {exc}", hint)

    def http_error(self, request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 500)
        messages = {404: "no such page", 405: "this server is read-only: only GET requests"}
        return self.error(request, status, messages.get(status, str(getattr(exc, "detail", ""))))

    def server_error(self, request: Request, exc: Exception) -> Response:
        return self.error(request, 500, "something went wrong on the server; the index was not changed")

    # ------------------------------------------------------------- pages

    def search_page(self, request: Request) -> Response:
        state = _State.parse(request)
        context: dict[str, Any] = {
            "state": state, "q": state.q, "blank": state.blank, "sorts": SORT_LABELS,
            "from_value": _date_input(state.date_from, False),
            "to_value": _date_input(state.date_to, True),
            "filters": _active_filters(state), "results": None, "error": "",
        }
        if state.problem:
            context["error"] = state.problem
            return self.page("search.html", 400, **context)
        if state.blank:
            return self.page("search.html", **context)
        try:
            res = self.archive.search(**state.search_args())
        except QuerySyntaxError as exc:
            context["error"] = str(exc)
            return self.page("search.html", 400, **context)
        context["results"] = {
            "total": res.total, "elapsed": f"{res.elapsed_ms:.1f}",
            "first": state.offset + 1, "last": state.offset + len(res.hits),
            "hits": [_hit_view(h, state) for h in res.hits],
            "facets": _facet_views(res, state),
            "histogram": _histogram(res.facets.get("month", []), state),
            "pages": _pages(state, res.total),
            "back": state.url(page=1) if state.page > 1 and not res.hits else "",
        }
        return self.page("search.html", **context)

    def _post(self, request: Request) -> _Post:
        post = self.archive.post(request.path_params["id"])
        if post is None:
            raise PostNotFoundError("no such post")
        return post

    def post_page(self, request: Request) -> Response:
        post = self._post(request)
        q = request.query_params.get("q", "")
        q_error = ""
        try:
            needles = query_needles(q)
        except QuerySyntaxError as exc:
            needles, q_error = [], str(exc)
        body = mark_text(post.body, needles)
        meta = post.meta
        related = [self._related_view(h, q) for h in self.archive.related(post.key, RELATED)]
        return self.page(
            "post.html", q=q, q_error=q_error, post={
                "id": post.id, "title": meta.get("title", ""), "path": meta.get("path", ""),
                "date": _day(meta.get("date")), "author": meta.get("author", ""),
                "url": meta.get("url", ""), "link": _web_link(meta.get("url", "")),
                "site": source_host(meta.get("url", "")) or "",
                "tags": [{"label": t, "href": _State(tags=(t,)).url()} for t in meta.get("tags", [])],
                "categories": [{"label": c, "href": _State(categories=(c,)).url()}
                               for c in meta.get("categories", [])],
            },
            body=body, marks=sum(1 for _, marked in body if marked), related=related,
            back=_State(q=q).url() if q.strip() else "/",
            explain_href=f"/post/{post.id}/explain?q={quote(q)}" if q.strip() and not q_error else "")

    def _related_view(self, hit: Hit, q: str) -> dict[str, Any]:
        pid = post_id(hit.source, hit.path)
        similarity = hit.similarity or 0.0
        return {"id": pid, "href": _post_url(pid, q), "title": hit.title, "date": _day(hit.date),
                "site": source_host(hit.url) or "", "duplicate": similarity >= DUPLICATE,
                "similarity": f"{similarity:.0%}"}

    def explain_page(self, request: Request) -> Response:
        post = self._post(request)
        q = request.query_params.get("q", "")
        if not q.strip():
            return self.error(request, 400, "give the query to explain (?q=…)")
        info = self.archive.explain(q, post.key)
        score = sorted(info.score.items(), key=lambda item: -item[1])
        return self.page("explain.html", q=q, info=info, clauses=_clause_view(info.clauses),
                         score=[(name, f"{points:.4f}") for name, points in score],
                         total=f"{sum(info.score.values()):.4f}",
                         post_href=_post_url(post.id, q), search_href=_State(q=q).url())

    # --------------------------------------------------------------- API

    def api_search(self, request: Request) -> Response:
        state = _State.parse(request)
        if state.problem:
            return self.error(request, 400, state.problem)
        res = self.archive.search(**state.search_args())
        out = res.to_dict()
        for hit, shown in zip(res.hits, out["hits"]):
            shown["id"] = post_id(hit.source, hit.path)
        return JSONResponse(out)

    def api_post(self, request: Request) -> Response:
        post = self._post(request)
        meta = post.meta
        related = []
        for hit in self.archive.related(post.key, RELATED):
            shown = hit.to_dict()
            shown["id"] = post_id(hit.source, hit.path)
            shown["duplicate"] = (hit.similarity or 0.0) >= DUPLICATE
            related.append(shown)
        return JSONResponse({
            "id": post.id, "path": meta.get("path", ""), "title": meta.get("title", ""),
            "date": _iso(meta.get("date")), "tags": list(meta.get("tags", [])),
            "categories": list(meta.get("categories", [])), "author": meta.get("author", ""),
            "url": meta.get("url", ""), "site": source_host(meta.get("url", "")),
            "text": post.body, "related": related,
        })

    def favicon(self, request: Request) -> Response:
        return Response(status_code=204)


class _SecurityHeaders:
    """Adds SECURITY_HEADERS to every response (pure ASGI middleware)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS
                            if k.encode() not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
