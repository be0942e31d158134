"""Keeping the number of segments small (part of the indexer stage).

Every indexing run adds segments; many small segments slow searches down.
Once there are several small segments (incremental runs), they are merged
into one by re-analysing their stored texts (analysis is deterministic, so
the merged segment is what a fresh build would give).  Segments that are
mostly deleted documents are rewritten the same way.  Full-size segments
are never merged, so the cost of a run stays proportional to what changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .documents import Article

SMALL = 2000        # live posts below which a segment counts as small
MAX_SMALL = 4       # small segments tolerated before they are merged
MERGED_MAX = 8000   # at most this many posts are re-analysed in one merge


def stored_article(stored: dict[str, Any], key: str, signature: str) -> tuple[Article, str]:
    """Rebuild the `Article` of an indexed post and its source folder."""
    meta = stored["meta"]
    article = Article(
        key=key, path=meta["path"], title=meta["title"], body=stored.get("body", ""),
        date=datetime.fromisoformat(meta["date"]) if meta.get("date") else None,
        tags=tuple(meta["tags"]), categories=tuple(meta["categories"]),
        author=meta["author"], url=meta["url"], signature=signature,
    )
    return article, meta["source"]


def choose_merges(segments: list[Any]) -> list[Any]:
    """The segments to rewrite into one: every segment with more deleted
    than live posts, and the small segments once there are more than
    MAX_SMALL of them (smallest first, at most MERGED_MAX posts)."""
    heavy = [s for s in segments if s.deleted_count() * 2 > s.doc_count_all()]
    small = sorted((s for s in segments if s not in heavy and s.doc_count() < SMALL),
                   key=lambda s: s.doc_count())
    chosen = list(heavy)
    if len(small) > MAX_SMALL:
        chosen += small
    picked: list[Any] = []
    total = 0
    for segment in sorted(chosen, key=lambda s: s.doc_count()):
        if picked and total + segment.doc_count() > MERGED_MAX:
            break
        picked.append(segment)
        total += segment.doc_count()
    return picked if len(picked) > 1 or any(s.deleted_count() for s in picked) else []


def _add_stored(builder: Any, reader: Any, docnums: Any) -> None:
    """Re-analyse documents of `reader` from their stored texts into `builder`."""
    from .indexer import document_fields

    keys = reader.column_reader("key")
    sigs = reader.column_reader("sig")
    for docnum in docnums:
        key = keys[docnum]
        key = key.decode("utf-8") if isinstance(key, bytes) else key
        article, source = stored_article(reader.stored_fields(docnum), key,
                                         sigs[docnum].decode("utf-8"))
        builder.add(*document_fields(article, source))


def merge_segments(ix: Any, segments: list[Any]) -> list[Any]:
    """Return the segment list with the chosen segments merged into one."""
    from whoosh.reading import SegmentReader

    from .segments import SegmentBuilder

    chosen = choose_merges(segments)
    if not chosen:
        return segments
    builder = SegmentBuilder(ix)
    for segment in chosen:
        reader = SegmentReader(ix.storage, ix.schema, segment)
        try:
            live = (d for d in range(reader.doc_count_all()) if not reader.is_deleted(d))
            _add_stored(builder, reader, live)
        finally:
            reader.close()
    merged = builder.finish()
    kept = [s for s in segments if s not in chosen]
    return kept + ([merged] if merged is not None else [])


def rewrite_documents(ix: Any, docnums: set[int]) -> Any:
    """A new segment holding fresh analyses of the given (global) documents,
    rebuilt from their stored texts; None when there are none."""
    from .segments import SegmentBuilder

    if not docnums:
        return None
    builder = SegmentBuilder(ix)
    with ix.reader() as reader:
        _add_stored(builder, reader, sorted(docnums))
    return builder.finish()
