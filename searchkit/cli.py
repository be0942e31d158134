"""The `searchkit` command: parses arguments, calls one library function,
renders the result.  Results go to stdout; progress, warnings and summaries
to stderr.

Exit codes: 0 hits found / success, 1 no hits, 2 usage or input error,
130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

from . import __version__
from .errors import SearchkitError, StrictModeError

app = typer.Typer(
    name="searchkit",
    help="Full-text search for Chinese news archives: exact phrases, script-blind.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # click's plain help: rendering it with rich costs --help 75 ms of imports
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_state = {"traceback": False}


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(exc: SearchkitError) -> NoReturn:
    if _state["traceback"]:
        raise exc
    err = _stderr()
    err.print(f"searchkit: error: {exc}", markup=False)
    if exc.hint:
        err.print(f"hint: {exc.hint}", markup=False)
    raise typer.Exit(exc.exit_code)


def _run(func: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return func(*args, **kwargs)
    except SearchkitError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        _stderr().print("searchkit: interrupted; the index keeps its last committed state", markup=False)
        raise typer.Exit(130) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"searchkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
    traceback: bool = typer.Option(False, "--traceback", help="Show the full trace on errors."),
) -> None:
    """Index a folder of posts, then search it."""
    _state["traceback"] = traceback
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


@app.command()
def index(
    sources: Optional[list[Path]] = typer.Argument(None, help="Folders of posts (default: sample_posts/)."),
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Start the index over."),
    strict: bool = typer.Option(False, "--strict", help="Exit 2 when any file was skipped."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to wait for another indexing run."),
    userdict: Optional[Path] = typer.Option(None, "--userdict",
                                            help="jieba-format word list to segment with."),
) -> None:
    """Build or update the index (adds new posts, re-indexes changed ones,
    removes deleted ones)."""
    from .config import resolve_settings
    from .indexer import build_index

    settings = _run(resolve_settings, index_dir, [str(s) for s in sources] if sources else None,
                    userdict=userdict)
    err = _stderr()
    report = _run(_index_with_progress, build_index, settings, rebuild, wait, err)
    for problem in report.skipped:
        err.print(f"searchkit: skipped {problem.path}: {problem.reason}", markup=False)
    for problem in report.repaired:
        err.print(f"searchkit: repaired {problem.path}: {problem.reason}", markup=False)
    err.print(f"searchkit: {settings.index_dir}: {report.summary()}", markup=False)
    if strict and report.skipped:
        _fail(StrictModeError(f"{len(report.skipped)} file(s) skipped (--strict)"))


def _index_with_progress(build: Any, settings: Any, rebuild: bool, wait: float, err: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("index", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def notify(message: str) -> None:
            err.print(f"searchkit: {message}", markup=False)

        return build(settings.sources, settings.index_dir, rebuild=rebuild, settings=settings,
                     progress=progress, wait=wait, notify=notify)


@app.command()
def query(
    text: str = typer.Argument(..., metavar="QUERY", help='Query, e.g. \'"数据交易" tag:联合早报 date:2021\'.'),
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    limit: int = typer.Option(10, "--limit", "-n", min=0, help="Hits to show."),
    offset: int = typer.Option(0, "--offset", min=0, help="Hits to skip."),
    sort: str = typer.Option("relevance", "--sort", help="relevance, date or -date."),
    date_from: Optional[str] = typer.Option(None, "--from", help="Earliest date (YYYY[-MM[-DD]])."),
    date_to: Optional[str] = typer.Option(None, "--to", help="Latest date (YYYY[-MM[-DD]])."),
    tag: list[str] = typer.Option([], "--tag", help="Only posts with this tag (repeatable)."),
    category: list[str] = typer.Option([], "--category", help="Only posts in this category."),
    author: list[str] = typer.Option([], "--author", help="Only posts by this author."),
    facets: list[str] = typer.Option([], "--facets",
                                     help="Counts over all matches: tag,category,author,site,month."),
    collapse: bool = typer.Option(False, "--collapse-duplicates",
                                  help="Show each wire story once, with its number of copies."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Search the index.  Exit 0 with hits, 1 without."""
    from .config import resolve_settings
    from .search import open_index

    settings = _run(resolve_settings, index_dir)
    # Under a non-UTF-8 locale, arguments arrive with undecodable bytes as
    # surrogate escapes; they are UTF-8 far more often than not.
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    ix = _run(open_index, settings.index_dir, settings.title_boost)
    res = _run(ix.search, text, limit=limit, offset=offset, sort=sort, date_from=date_from,
               date_to=date_to, tags=tag, categories=category, authors=author, facets=facets,
               collapse_duplicates=collapse)
    if as_json:
        sys.stdout.write(json.dumps(res.to_dict(), ensure_ascii=False) + "\n")
    else:
        from .render import render_facets, render_results

        render_results(res, offset)
        render_facets(res.facets)
    raise typer.Exit(0 if res.total else 1)


@app.command()
def related(
    path: str = typer.Argument(..., help="Path of the post, as shown by `searchkit query`."),
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="Posts to show."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Posts like this one: near-duplicate wire copies first, then by shared
    distinctive words.  Exit 0 with results, 1 without."""
    from .config import resolve_settings
    from .search import open_index

    settings = _run(resolve_settings, index_dir)
    hits = _run(lambda: open_index(settings.index_dir).related(path, limit))
    if as_json:
        sys.stdout.write(json.dumps({"hits": [h.to_dict() for h in hits]}, ensure_ascii=False) + "\n")
    else:
        from .render import render_related

        render_related(hits)
    raise typer.Exit(0 if hits else 1)


@app.command()
def explain(
    text: str = typer.Argument(..., metavar="QUERY", help="The query to explain."),
    path: str = typer.Argument(..., help="Path of the post, as shown by `searchkit query`."),
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Why a post matches a query, or which clause fails.  Exit 0 if it
    matches, 1 if not."""
    from .config import resolve_settings
    from .search import open_index

    settings = _run(resolve_settings, index_dir)
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    info = _run(lambda: open_index(settings.index_dir).explain(text, path))
    if as_json:
        from dataclasses import asdict

        sys.stdout.write(json.dumps(asdict(info), ensure_ascii=False) + "\n")
    else:
        from .render import render_explanation

        render_explanation(info)
    raise typer.Exit(0 if info.matched else 1)


@app.command()
def stats(
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Number of posts, date span and top tags."""
    from .config import resolve_settings
    from .search import open_index

    settings = _run(resolve_settings, index_dir)
    info = _run(lambda: open_index(settings.index_dir).stats())
    if as_json:
        sys.stdout.write(json.dumps({
            "posts": info.posts,
            "first_date": info.first_date.isoformat() if info.first_date else None,
            "last_date": info.last_date.isoformat() if info.last_date else None,
            "top_tags": [[t, n] for t, n in info.top_tags],
            "user_words": info.user_words, "userdict": info.userdict or None,
        }, ensure_ascii=False) + "\n")
        return
    from .render import render_stats

    render_stats(info, settings.index_dir)


@app.command()
def serve(
    index_dir: Optional[Path] = typer.Option(None, "--index", help="Index folder (default: index/)."),
    host: str = typer.Option("127.0.0.1", "--host",
                             help="Address to listen on; anything but loopback exposes the archive."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64,
                                          help="Server processes (default: one per CPU core, at most 4)."),
    cache: Optional[int] = typer.Option(None, "--cache", min=0,
                                        help="Recent searches each process answers again without "
                                             "searching while the index is unchanged (default 2048; 0: none)."),
) -> None:
    """Search and read the index in a web browser (read-only; needs the
    `web` extra).  Stop with Ctrl-C."""
    import ipaddress
    import json
    import os

    from .config import resolve_settings

    settings = _run(resolve_settings, index_dir)
    try:
        import uvicorn

        from .web import CACHE, SERVE_SETTINGS, create_app
    except ImportError as exc:
        missing = SearchkitError(f"the web interface needs {exc.name or 'more packages'}, which is not installed")
        missing.hint = "install it with: pip install 'searchkit[web]'"
        _fail(missing)
    err = _stderr()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        err.print(f"searchkit: warning: listening on {host}: anyone who can reach this machine can read "
                  "the whole archive (there is no login); the default 127.0.0.1 keeps it local",
                  markup=False)
    allowed = ["127.0.0.1", "localhost"] if host in ("127.0.0.1", "localhost") else None
    _run(create_app, settings.index_dir, title_boost=settings.title_boost, allowed_hosts=allowed)
    _run(_check_port, host.strip("[]"), port)
    processes = workers or max(1, min(4, os.cpu_count() or 1))
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    err.print(f"searchkit: serving {settings.index_dir} at http://{shown}:{port}/ with {processes} "
              f"process{'es' if processes > 1 else ''} (Ctrl-C to stop)", markup=False)
    # each worker process opens the index itself (Whoosh searchers are not
    # shared between processes); the app above was only built to fail early
    os.environ[SERVE_SETTINGS] = json.dumps({
        "index": str(settings.index_dir), "title_boost": settings.title_boost,
        "allowed_hosts": allowed, "cache": CACHE if cache is None else cache})
    uvicorn.run("searchkit.web:app_from_environment", factory=True, workers=processes,
                host=host.strip("[]"), port=port, log_level="warning", server_header=False)


def _check_port(host: str, port: int) -> None:
    """Fail now, with exit code 2, when the address cannot be listened on."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        raise SearchkitError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def run() -> None:
    """Console-script entry point."""
    app()
