"""The `Article` record: one post as read from disk, before analysis."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One post: metadata from front matter plus the visible text.

    `path` is relative to the source folder it was found in; `key` is the
    unique identity inside an index (source folder + path).
    """

    key: str
    path: str
    title: str
    body: str
    date: datetime | None = None
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    author: str = ""
    url: str = ""
    signature: str = ""
    repairs: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Problem:
    """A file that was repaired or skipped, with the reason."""

    path: str
    reason: str
    skipped: bool
