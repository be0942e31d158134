"""Exceptions raised by searchkit.  The CLI maps each to an exit code."""

from __future__ import annotations


class SearchkitError(Exception):
    """Base class of every error searchkit raises on purpose."""

    exit_code = 2
    hint: str | None = None


class QuerySyntaxError(SearchkitError):
    """The query string cannot be understood (bad field, date, quote …)."""

    hint = "see `searchkit query --help` for the query syntax"


class IndexNotFoundError(SearchkitError):
    """There is no index at the given location."""

    hint = "build one first with `searchkit index`"


class IndexVersionError(SearchkitError):
    """The index was written by another schema version of searchkit."""

    hint = "run `searchkit index --rebuild`"


class IndexCorruptError(SearchkitError):
    """The index files are damaged or missing."""

    hint = "run `searchkit index --rebuild`"


class IndexLockedError(SearchkitError):
    """Another process is writing the index."""

    hint = "wait for the other `searchkit index` to finish, or pass --wait SECONDS"


class IndexWriteError(SearchkitError):
    """The index directory cannot be written (read-only, disk full …)."""


class SourceError(SearchkitError):
    """A source folder is missing or unreadable."""


class StrictModeError(SearchkitError):
    """Files were skipped while --strict was given."""
