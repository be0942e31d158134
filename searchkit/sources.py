"""Finding posts on disk and reading them into `Article` records.

Reading never raises for a bad file: it returns a `Problem` instead (the
file is skipped) or an `Article` whose `repairs` say what was fixed.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timezone, tzinfo
from pathlib import Path
from typing import Any

from .dates import date_from_filename, parse_post_date
from .documents import Article, Problem
from .frontmatter_io import split_front_matter

POST_SUFFIXES = (".md", ".markdown", ".html", ".htm")
BLOCK_SEPARATORS = True
MARKDOWN_SUFFIXES = (".md", ".markdown")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_INVISIBLE_TAGS = "script, style, noscript, template, head, iframe, object"
# Elements after which a reader sees a line break: text on either side of
# them is never joined into one phrase.
_BLOCK_TAGS = ("p, div, br, li, dt, dd, h1, h2, h3, h4, h5, h6, tr, td, th, section, "
               "article, aside, header, footer, nav, blockquote, figure, figcaption, pre, "
               "table, ul, ol, dl, hr, address, main")
_NOSCRIPT = re.compile(r"<noscript\b.*?(?:</noscript\s*>|\Z)", re.S | re.I)
_URL_KEYS = ("from", "url", "original_url", "source")


@dataclass(frozen=True)
class SourceFile:
    """A post file found on disk, with what identifies its version."""

    root: Path
    path: Path
    relpath: str
    key: str
    signature: str


def _display(path: Path) -> str:
    """A path as valid UTF-8 text, even when the file name is not."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def discover(roots: Iterable[str | os.PathLike[str]]) -> Iterator[SourceFile | Problem]:
    """Walk the source folders for post files, following symlinks safely.

    Yields a `SourceFile` per post and a `Problem` for anything unreadable.
    A single file may also be given as a root.
    """
    for root in roots:
        root_path = Path(root).absolute()
        if root_path.is_file():
            yield from _describe(root_path.parent, root_path)
            continue
        seen: set[tuple[int, int]] = set()
        for folder, dirnames, filenames in os.walk(root_path, followlinks=True,
                                                   onerror=None):
            try:
                stat = os.stat(folder)
            except OSError:
                continue
            if (stat.st_dev, stat.st_ino) in seen:
                dirnames[:] = []
                yield Problem(_display(Path(folder)), "symlink loop: folder already visited", True)
                continue
            seen.add((stat.st_dev, stat.st_ino))
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.lower().endswith(POST_SUFFIXES) and not name.startswith("."):
                    yield from _describe(root_path, Path(folder) / name)


def _describe(root: Path, path: Path) -> Iterator[SourceFile | Problem]:
    relpath = _display(path.relative_to(root))
    try:
        stat = path.stat()
    except OSError as exc:
        yield Problem(relpath, f"cannot read: {exc.strerror or exc}", True)
        return
    yield SourceFile(
        root=root,
        path=path,
        relpath=relpath,
        key=_display(path),
        signature=f"{stat.st_size}:{stat.st_mtime_ns}",
    )


def decode_bytes(data: bytes) -> tuple[str, list[str]]:
    """Decode a post's bytes; UTF-8 first, then GB18030 / Big5 detection.

    Returns the text and a list of repairs made.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), ["decoded as UTF-16"]
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=["gb18030", "big5", "cp950", "utf_8"]).best()
    if best is not None and best.encoding not in ("utf_8",):
        return str(best), [f"decoded as {best.encoding} (not UTF-8)"]
    return data.decode("utf-8", "replace"), ["invalid UTF-8 bytes replaced with U+FFFD"]


def extract_visible_text(html: str) -> str:
    """The text a reader sees in an HTML fragment: no tags, attributes,
    comments, scripts or styles; link text, captions and headings kept."""
    from selectolax.lexbor import LexborHTMLParser

    # The parser moves a leading <noscript> into <head> and its text into
    # <body>; remove such blocks before parsing.
    tree = LexborHTMLParser(_NOSCRIPT.sub("", html) if "<noscript" in html.lower() else html)
    for node in tree.css(_INVISIBLE_TAGS):
        node.decompose()
    if BLOCK_SEPARATORS:
        for node in tree.css(_BLOCK_TAGS):
            node.insert_after("\n")
    body = tree.body
    return body.text(separator="") if body is not None else ""


def render_markdown(text: str) -> str:
    """Markdown to HTML (CommonMark, raw HTML allowed)."""
    return _markdown_renderer().render(text)


@functools.cache
def _markdown_renderer() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(_as_text(v) for v in value)
    if isinstance(value, dict):
        return ""
    return str(value).strip()


def _as_labels(value: object) -> tuple[str, ...]:
    """Tags/categories from a list, a flow list or a separated string."""
    if value is None or isinstance(value, dict):
        return ()
    if isinstance(value, (list, tuple, set)):
        items = [_as_text(v) for v in value if not isinstance(v, (dict, list))]
    else:
        text = str(value).strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        items = re.split(r"[,，、]" if re.search(r"[,，、]", text) else r"\s+", text)
    labels: list[str] = []
    for item in items:
        item = re.sub(r"\s+", " ", item).strip().strip("\"'")
        if item and item not in labels:
            labels.append(item)
    return tuple(labels)


def _read_date(meta: dict, name: str, tz: tzinfo, repairs: list[str]):  # type: ignore[no-untyped-def]
    try:
        moment = parse_post_date(meta.get("date"), tz)
    except ValueError as exc:
        repairs.append(f"{exc}; date ignored")
        moment = None
    if moment is None:
        moment = date_from_filename(name, tz)
    return moment


def read_article(source: SourceFile, tz: tzinfo = timezone.utc) -> Article | Problem:
    """Read one post file into an `Article`, or a `Problem` when it is skipped."""
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        return Problem(source.relpath, f"cannot read: {exc.strerror or exc}", True)
    return parse_article(data, source, tz)


def parse_article(data: bytes, source: SourceFile, tz: tzinfo = timezone.utc) -> Article | Problem:
    """Turn a post's raw bytes into an `Article` (see `read_article`)."""
    if not data.strip():
        return Problem(source.relpath, "empty file", True)
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return Problem(source.relpath, "binary file (NUL bytes), not a post", True)
    text, repairs = decode_bytes(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, removed = _CONTROL.subn("", text)
    if removed:
        repairs.append(f"removed {removed} control character(s)")
    meta, body, fm_repairs = split_front_matter(text)
    repairs.extend(fm_repairs)
    suffix = source.path.suffix.lower()
    html = render_markdown(body) if suffix in MARKDOWN_SUFFIXES else body
    visible = extract_visible_text(html)
    for name in ("title", "tags", "categories", "category", "author"):
        if isinstance(meta.get(name), dict):
            repairs.append(f"front matter {name!r} is a mapping; ignored")
    title = _as_text(meta.get("title"))
    if not title and not visible.strip():
        return Problem(source.relpath, "no title and no visible text", True)
    categories = _as_labels(meta.get("categories")) or _as_labels(meta.get("category"))
    url = next((_as_text(meta[k]) for k in _URL_KEYS if _as_text(meta.get(k))), "")
    return Article(
        key=source.key,
        path=source.relpath,
        title=title,
        body=visible,
        date=_read_date(meta, source.path.name, tz, repairs),
        tags=_as_labels(meta.get("tags")),
        categories=categories,
        author=_as_text(meta.get("author")),
        url=url,
        signature=source.signature,
        repairs=tuple(repairs),
    )
