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
post's key, the file path it was indexed from), never by a path taken from
the request; ids are resolved through a map built once per index
generation from the key column.  Everything shown is escaped (Jinja2 autoescape), and a
Content-Security-Policy without any script source backs that up.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from .errors import QuerySyntaxError, SearchkitError
from .explain import PostNotFoundError
from .indexer import source_host
from .related import DUPLICATE
from .schema import TITLE_WORD_BOOST
from .search import Hit, Index, SearchResults, open_index
from .webviews import (FACET_NAMES, SearchState, active_filters, clause_view, date_input, day,
                       facet_views, hit_view, histogram, iso, mark_text, pages, post_id, post_url,
                       query_needles, web_link)

RELATED = 8
CACHE = 2048                # recent searches (and pages) kept per server process
SERVE_SETTINGS = "SEARCHKIT_SERVE_SETTINGS"
SORT_LABELS = (("relevance", "Relevance"), ("-date", "Newest first"), ("date", "Oldest first"))
TEMPLATES = Path(__file__).with_name("templates")
_ID = re.compile(r"[0-9a-f]{16}")

SECURITY_HEADERS = (
    ("content-security-policy", ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                 "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
)


def create_app(index_dir: str | Path, *, title_boost: float = TITLE_WORD_BOOST,
               allowed_hosts: list[str] | None = None, cache: int = CACHE) -> Starlette:
    """A Starlette application serving the index at `index_dir` (opened now,
    so a missing or damaged index raises `SearchkitError` here).

    `allowed_hosts` limits the Host header (against DNS rebinding when the
    server is bound to the loopback address); None accepts any.  `cache`
    recent searches are answered again without searching while the index
    is unchanged (paging, facet clicks and going back repeat them).
    """
    site = _Site(_Archive(open_index(index_dir, title_boost, cache), cache))
    routes = [
        Route("/", site.cached(site.search_page), name="search"),
        Route("/post/{id}", site.post_page, name="post"),
        Route("/post/{id}/explain", site.explain_page, name="explain"),
        Route("/api/search", site.cached(site.api_search), name="api_search"),
        Route("/api/post/{id}", site.api_post, name="api_post"),
        Route("/favicon.ico", site.favicon),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts:
        middleware.insert(0, Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={
        SearchkitError: site.searchkit_error,
        HTTPException: site.http_error,
        Exception: site.server_error,
    })
    app.state.archive = site.archive
    return app


def app_from_environment() -> Starlette:
    """`create_app` with the settings `searchkit serve` puts in the
    environment variable SERVE_SETTINGS (JSON): the factory each server
    worker process calls."""
    settings = json.loads(os.environ[SERVE_SETTINGS])
    app = create_app(settings["index"], title_boost=settings["title_boost"],
                     allowed_hosts=settings["allowed_hosts"], cache=settings["cache"])
    app.state.archive.ix.warm_up(FACET_NAMES)
    return app


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

    def __init__(self, ix: Index, cache: int = 0) -> None:
        self.ix = ix
        self.lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._ids_for: Any = None  # the Index columns `_ids` was made from
        # the last `cache` search responses of the current index generation
        self._pages: OrderedDict[Any, tuple[bytes, int, str]] = OrderedDict()
        self._pages_for: Any = None
        self._cache = cache

    def generation(self) -> Any:
        """A token of the index generation now searched (the searcher)."""
        with self.lock:
            return self.ix.read(lambda searcher: searcher)

    def page(self, generation: Any, key: Any) -> tuple[bytes, int, str] | None:
        with self.lock:
            if self._pages_for is not generation:
                self._pages.clear()
                self._pages_for = generation
            found = self._pages.get(key)
            if found is not None:
                self._pages.move_to_end(key)
            return found

    def keep_page(self, generation: Any, key: Any, page: tuple[bytes, int, str]) -> None:
        with self.lock:
            if self._cache and self._pages_for is generation:
                self._pages[key] = page
                if len(self._pages) > self._cache:
                    self._pages.popitem(last=False)

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
            return self.ix.read(lambda searcher: self._post(searcher, pid))

    def _post(self, searcher: Any, pid: str) -> _Post | None:
        columns = self.ix.columns(searcher)
        if self._ids_for is not columns:  # a new index generation: map the keys once
            keys = columns.keys
            self._ids = {post_id(keys[d]): d for d in columns.live}
            self._ids_for = columns
        docnum = self._ids.get(pid)
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        return _Post(pid, columns.keys[docnum], stored["meta"], stored.get("body", ""))


# ---------------------------------------------------------------- pages

class _Site:
    """The endpoints; each app has its own (no module-level state)."""

    def __init__(self, archive: _Archive) -> None:
        self.archive = archive
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                                      autoescape=True, trim_blocks=True, lstrip_blocks=True)

    def cached(self, endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """`endpoint`, its successful responses kept per URL while the index
        generation is the same (a repeated search is answered from memory;
        the page shows the time the search took when it was made)."""
        def serve(request: Request) -> Response:
            generation = self.archive.generation()
            key = (request.url.path, request.url.query)
            found = self.archive.page(generation, key)
            if found is not None:
                body, status, media_type = found
                return Response(body, status_code=status, media_type=media_type)
            response = endpoint(request)
            if response.status_code == 200:
                self.archive.keep_page(generation, key, (bytes(response.body), 200,
                                                         response.media_type or "text/html"))
            return response

        return serve

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
        state = SearchState.parse(request.query_params)
        context: dict[str, Any] = {
            "state": state, "q": state.q, "blank": state.blank, "sorts": SORT_LABELS,
            "from_value": date_input(state.date_from, False),
            "to_value": date_input(state.date_to, True),
            "filters": active_filters(state), "results": None, "error": "",
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
            "hits": [hit_view(h, state) for h in res.hits],
            "facets": facet_views(res, state),
            "histogram": histogram(res.facets.get("month", []), state),
            "pages": pages(state, res.total),
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
                "date": day(meta.get("date")), "author": meta.get("author", ""),
                "url": meta.get("url", ""), "link": web_link(meta.get("url", "")),
                "site": source_host(meta.get("url", "")) or "",
                "tags": [{"label": t, "href": SearchState(tags=(t,)).url()} for t in meta.get("tags", [])],
                "categories": [{"label": c, "href": SearchState(categories=(c,)).url()}
                               for c in meta.get("categories", [])],
            },
            body=body, marks=sum(1 for _, marked in body if marked), related=related,
            back=SearchState(q=q).url() if q.strip() else "/",
            explain_href=f"/post/{post.id}/explain?q={quote(q)}" if q.strip() and not q_error else "")

    def _related_view(self, hit: Hit, q: str) -> dict[str, Any]:
        pid = post_id(hit.key)
        similarity = hit.similarity or 0.0
        return {"id": pid, "href": post_url(pid, q), "title": hit.title, "date": day(hit.date),
                "site": source_host(hit.url) or "", "duplicate": similarity >= DUPLICATE,
                "similarity": f"{similarity:.0%}"}

    def explain_page(self, request: Request) -> Response:
        post = self._post(request)
        q = request.query_params.get("q", "")
        if not q.strip():
            return self.error(request, 400, "give the query to explain (?q=…)")
        info = self.archive.explain(q, post.key)
        score = sorted(info.score.items(), key=lambda item: -item[1])
        return self.page("explain.html", q=q, info=info, clauses=clause_view(info.clauses),
                         score=[(name, f"{points:.4f}") for name, points in score],
                         total=f"{sum(info.score.values()):.4f}",
                         post_href=post_url(post.id, q), search_href=SearchState(q=q).url())

    # --------------------------------------------------------------- API

    def api_search(self, request: Request) -> Response:
        state = SearchState.parse(request.query_params)
        if state.problem:
            return self.error(request, 400, state.problem)
        res = self.archive.search(**state.search_args())
        out = res.to_dict()
        for hit, shown in zip(res.hits, out["hits"]):
            shown["id"] = post_id(hit.key)
        return JSONResponse(out)

    def api_post(self, request: Request) -> Response:
        post = self._post(request)
        meta = post.meta
        related = []
        for hit in self.archive.related(post.key, RELATED):
            shown = hit.to_dict()
            shown["id"] = post_id(hit.key)
            shown["duplicate"] = (hit.similarity or 0.0) >= DUPLICATE
            related.append(shown)
        return JSONResponse({
            "id": post.id, "path": meta.get("path", ""), "title": meta.get("title", ""),
            "date": iso(meta.get("date")), "tags": list(meta.get("tags", [])),
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
