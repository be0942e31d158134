"""The files of an index folder that searching needs (part of the search
and indexer stages): the version check, opening the Whoosh index, and the
user dictionary the index was segmented with.  Kept apart from `indexer`,
whose imports (sources, worker processes, merging) a search does not need:
they cost a cold `searchkit query` ~15 ms."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .analysis import DictEntry, parse_dictionary
from .errors import IndexCorruptError, IndexNotFoundError, IndexVersionError
from .schema import READABLE_VERSIONS, SCHEMA_VERSION

INDEX_NAME = "MAIN"
META_FILE = "searchkit.json"
DICTIONARY_FILE = "userdict.txt"


def index_exists(index_dir: Path) -> bool:
    return any(index_dir.glob(f"_{INDEX_NAME}_*.toc")) if index_dir.is_dir() else False


def check_version(index_dir: Path) -> None:
    """Raise IndexNotFoundError / IndexVersionError before Whoosh unpickles."""
    if not index_exists(index_dir):
        raise IndexNotFoundError(f"no index in {index_dir}")
    try:
        meta = json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))
        version = int(meta["schema_version"])
    except (OSError, ValueError, KeyError, TypeError):
        raise IndexVersionError(f"{index_dir} was not written by this version of searchkit") from None
    if version not in READABLE_VERSIONS:
        raise IndexVersionError(
            f"{index_dir} has index schema {version}; this searchkit uses {SCHEMA_VERSION}")


def open_whoosh(index_dir: Path) -> Any:
    """Open the Whoosh index after the version check."""
    import pickle
    import struct

    from whoosh import index

    check_version(index_dir)
    for attempt in range(3):
        try:
            ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
            ix.doc_count_all()  # reads the table of contents now
            return ix
        except FileNotFoundError as exc:
            if attempt == 2:  # not a publish racing us: files are missing
                raise IndexCorruptError(f"{index_dir} is missing files ({exc.filename})") from exc
            time.sleep(0.05)
        except (AttributeError, ImportError, EOFError, pickle.UnpicklingError, struct.error,
                TypeError, ValueError, IndexError, KeyError, index.IndexError) as exc:
            raise IndexCorruptError(f"{index_dir} cannot be read ({type(exc).__name__}: {exc})") from exc
    raise AssertionError("unreachable")


def read_index_dictionary(index_dir: Path) -> tuple[DictEntry, ...]:
    """The user words the index was segmented with."""
    path = Path(index_dir) / DICTIONARY_FILE
    if not path.is_file():
        return ()
    return tuple(parse_dictionary(path.read_text(encoding="utf-8")))
