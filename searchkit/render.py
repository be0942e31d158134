"""Terminal rendering of results and statistics (rich; plain when piped)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def _stdout() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _highlighted(snippet: str, spans: tuple[tuple[int, int], ...]) -> Any:
    from rich.text import Text

    text = Text(snippet)
    for start, end in spans:
        text.stylize("bold reverse", start, end)
    return text


def render_results(res: Any, offset: int) -> None:
    if _plain():  # piped: the same text without loading rich (a cold query is faster)
        lines = []
        for rank, hit, date, meta in _result_lines(res, offset):
            lines.append(f"{rank:>3}. {date}  {hit.title or '(untitled)'}")
            lines.append("     " + "".join(text for text, _ in meta))
            if hit.snippet:
                lines.append("     " + hit.snippet)
        sys.stdout.write("".join(line.expandtabs(8) + "\n" for line in lines))
        sys.stdout.flush()
        sys.stderr.write(_summary(res, offset) + "\n")
        return
    from rich.text import Text

    out = _stdout()
    for rank, hit, date, meta in _result_lines(res, offset):
        head = Text(f"{rank:>3}. {date}  ")
        head.append(hit.title or "(untitled)", style="bold")
        out.print(head)
        line = Text("     ")
        for text, style in meta:
            line.append(text, style=style)
        out.print(line)
        if hit.snippet:
            line = Text("     ")
            line.append(_highlighted(hit.snippet, hit.highlights))
            out.print(line)
    _stderr().print(_summary(res, offset), markup=False)


def _result_lines(res: Any, offset: int) -> Any:
    """(rank, hit, date, [(metadata text, style)]) per hit."""
    for rank, hit in enumerate(res.hits, start=offset + 1):
        date = hit.date.strftime("%Y-%m-%d") if hit.date else "----------"
        meta = []
        if hit.copies:
            meta.append((f"+{hit.copies} cop{'y' if hit.copies == 1 else 'ies'}  ", "magenta"))
        if hit.tags:
            meta.append(("tags: " + ", ".join(hit.tags) + "  ", "cyan"))
        meta.append((hit.path, "dim"))
        yield rank, hit, date, meta


def _summary(res: Any, offset: int) -> str:
    shown = len(res.hits)
    first = offset + 1 if shown else offset
    return (f"{first}-{offset + shown} of {res.total} posts ({res.elapsed_ms:.1f} ms)" if shown
            else f"0 of {res.total} posts ({res.elapsed_ms:.1f} ms)")


def _plain() -> bool:
    """Is the output going somewhere rich would print plain text anyway?"""
    forced = any(os.environ.get(name) for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"))
    return not forced and not sys.stdout.isatty() and not sys.stderr.isatty()


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def render_stats(info: Any, index_dir: Path) -> None:
    out = _stdout()
    span = "-"
    if info.first_date and info.last_date:
        span = f"{info.first_date:%Y-%m-%d} .. {info.last_date:%Y-%m-%d}"
    out.print(f"index:  {index_dir}", markup=False)
    out.print(f"posts:  {info.posts}", markup=False)
    out.print(f"dates:  {span}", markup=False)
    words = f"{info.user_words} user words from {info.userdict}" if info.user_words else "jieba's own"
    out.print(f"dictionary: {words}", markup=False)
    if info.top_tags:
        out.print("top tags:", markup=False)
        for tag, count in info.top_tags:
            out.print(f"  {count:>6}  {tag}", markup=False)


def render_facets(facets: dict[str, list[tuple[str, int]]]) -> None:
    """A table per facet; months as a small text histogram."""
    if not facets:
        return
    from rich.table import Table

    out = _stdout()
    for name, values in facets.items():
        table = Table(title=name, title_justify="left", show_header=False, box=None, pad_edge=False)
        table.add_column("value")
        table.add_column("posts", justify="right")
        if name == "month":
            table.add_column("histogram")
            peak = max((n for _, n in values), default=1)
            for value, count in values:
                table.add_row(value, str(count), "█" * max(1, round(30 * count / peak)))
        else:
            for value, count in values:
                table.add_row(value, str(count))
        out.print(table)


def render_explanation(info: Any) -> None:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    out = Console(highlight=False)  # wrap long clause lines instead of cropping them
    verdict = "matches" if info.matched else "does not match"
    out.print(Text(f"{info.path}  {info.title}", style="bold"))
    out.print(f"query {info.query!r} {verdict}", markup=False)

    def label(clause: Any) -> Text:
        mark = Text("✓ " if clause.matched else "✗ ", style="green" if clause.matched else "red",
                    overflow="fold")
        mark.append(f"{clause.kind} {clause.text}".rstrip())
        if clause.detail:
            mark.append(f"  — {clause.detail}", style="dim")
        return mark

    def grow(branch: Any, clause: Any) -> None:
        node = branch.add(label(clause))
        for child in clause.children:
            grow(node, child)

    tree = Tree("clauses")
    grow(tree, info.clauses)
    out.print(tree)
    if info.score:
        out.print("score:", markup=False)
        for part, points in info.score.items():
            out.print(f"  {points:10.4f}  {part}", markup=False)
        out.print(f"  {sum(info.score.values()):10.4f}  total", markup=False)


def render_related(hits: list[Any]) -> None:
    from rich.text import Text

    out = _stdout()
    for rank, hit in enumerate(hits, start=1):
        date = hit.date.strftime("%Y-%m-%d") if hit.date else "----------"
        line = Text(f"{rank:>3}. {date}  ")
        line.append(hit.title or "(untitled)", style="bold")
        out.print(line)
        share = f"near-duplicate ({hit.similarity:.0%} of the text)  " if hit.similarity and hit.similarity >= 0.7 else ""
        out.print(Text(f"     {share}{hit.path}", style="dim"))
