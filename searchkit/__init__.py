"""searchkit: full-text search for Chinese news archives.

    import searchkit
    searchkit.build_index(["sample_posts"], "index")
    ix = searchkit.open_index("index")
    res = ix.search('"数据交易" tag:联合早报', limit=20)

Heavy modules (Whoosh, jieba, OpenCC) load on first use, so importing the
package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (IndexCorruptError, IndexLockedError, IndexNotFoundError, IndexVersionError, IndexWriteError,
                     QuerySyntaxError, SearchkitError, SourceError, StrictModeError)

__version__ = "0.1.0"

__all__ = [
    "Article", "Hit", "Index", "IndexCorruptError", "IndexLockedError", "IndexNotFoundError", "IndexReport",
    "IndexStats", "IndexVersionError", "IndexWriteError", "QuerySyntaxError", "SearchResults",
    "SearchkitError", "Settings", "SourceError", "StrictModeError", "build_index", "normalize",
    "open_index", "__version__",
]

if TYPE_CHECKING:
    from .analysis import normalize
    from .config import Settings
    from .documents import Article
    from .indexer import IndexReport
    from .search import Hit, Index, IndexStats, SearchResults, open_index

_LAZY = {
    "normalize": "analysis", "Settings": "config", "Article": "documents",
    "IndexReport": "indexer", "Hit": "search", "Index": "search", "IndexStats": "search",
    "SearchResults": "search", "open_index": "search",
}


def build_index(sources: Any, index_dir: Any = "index", **kwargs: Any) -> Index:
    """Create or update an index from folders of posts and open it.

    Takes the same options as `searchkit index` (`rebuild`, `settings`,
    `progress`, `wait`, `notify`); the run's `IndexReport` is in the
    result's `report`.
    """
    from .indexer import build_index as _build
    from .search import Index as _Index

    report = _build(sources, index_dir, **kwargs)
    ix = _Index(index_dir)
    ix.report = report
    return ix


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'searchkit' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
