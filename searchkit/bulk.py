"""Phrase alignment over long posting lists, in numpy (part of the search stage).

A phrase common to thousands of posts (a site's subscription footer, a
stock phrase) made `substring.segment_docs` align bigram positions one
document at a time in Python: ~100 ms for 18,000 posts.  Here each
covering bigram's postings become two arrays, the document and the position
of every occurrence, decoded from the lean posting blocks without a Python
step per posting; the phrase starts each bigram implies are keys
(document << 32) + (position - offset), and a document matches when a key
is shared by every bigram (sorted-array intersections).  The result is the
same set `segment_docs` computes one document at a time; numpy is imported
on the first long list only.
"""

from __future__ import annotations

from typing import Any

from whoosh.matching import ListMatcher

from .analysis import ESCAPE_CHAR, decode_positions

FROM_DOCS = 512  # candidate documents from which a segment is aligned here


def aligned_docs(reader: Any, fieldname: str, order: list[str], cover: dict[str, list[int]],
                 within: list[int] | None) -> set[int]:
    """Documents of one segment (local numbers, live ones only) whose field
    `fieldname` has every bigram of `order` at a common start + its offsets
    in `cover`; only among `within` (sorted) when given."""
    import numpy as np

    from .substring import _raw_matcher

    keys = None
    wanted = within
    deleted: set[int] = set()
    for gram in order:
        matcher, deleted = _raw_matcher(reader, fieldname, gram)
        docs, positions = _occurrences(np, matcher, wanted)
        if wanted is not None:
            docs, positions = _among(np, docs, np.asarray(wanted, dtype=np.int64), positions)
        # ascending: postings come in document order, positions ascending
        at = (docs << 32) + positions
        for offset in cover[gram]:
            keys = at - offset if keys is None else _among(np, keys, at - offset)[0]
        if keys is None or not keys.size:
            return set()
        docs = keys >> 32
        wanted = docs[np.concatenate(([True], docs[1:] != docs[:-1]))].tolist()
    return set(wanted or ()) - deleted


def _among(np: Any, values: Any, allowed: Any, *alongside: Any) -> list[Any]:
    """The `values` (ascending) found in `allowed` (ascending), and the same
    entries of each array `alongside`."""
    if not allowed.size:
        return [values[:0], *(a[:0] for a in alongside)]
    at = np.searchsorted(allowed, values).clip(max=allowed.size - 1)
    keep = allowed[at] == values
    return [values[keep], *(a[keep] for a in alongside)]


def _occurrences(np: Any, matcher: Any, wanted: list[int] | None) -> tuple[Any, Any]:
    """(document, position) of every occurrence in `matcher`'s postings, as
    two int64 arrays, reading only the blocks that can hold `wanted` docs."""
    from .substring import _wanted_blocks

    doc_parts: list[Any] = []
    position_parts: list[Any] = []
    if isinstance(matcher, ListMatcher):  # inlined in the term table
        _decode_slowly(np, matcher._ids, matcher._values, doc_parts, position_parts)
    else:
        for block in _wanted_blocks(matcher, wanted):
            if block._data is None:
                block._read_data()
            ids, _, values = block._data
            if (isinstance(ids, list) and isinstance(values, list)
                    and _decode_lean(np, ids[0], values[0], values[1], doc_parts, position_parts)):
                continue
            # a plain W3 block, or one with escaped deltas
            if block._ids is None:
                block._read_ids()
            if block._values is None:
                block._read_values()
            _decode_slowly(np, block._ids, block._values, doc_parts, position_parts)
    if not doc_parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(doc_parts), np.concatenate(position_parts)


def _codes(np: Any, text: str) -> Any:
    """The code points of `text` as int64 (the lean blocks pack numbers so)."""
    raw = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype=np.uint32).astype(np.int64)


def _decode_lean(np: Any, packed_ids: str, joined: str, packed_lengths: str,
                 doc_parts: list[Any], position_parts: list[Any]) -> bool:
    """Decode one lean block (ids as deltas; each posting's positions as
    deltas, the first from 0, values joined, with their lengths).  False
    when the block needs the per-posting decoding (escaped large deltas,
    an empty value)."""
    if ESCAPE_CHAR in joined:
        return False
    lengths = _codes(np, packed_lengths)
    if not lengths.size or not lengths.all():
        return False
    ids = _codes(np, packed_ids).cumsum()
    deltas = _codes(np, joined)
    running = deltas.cumsum()
    firsts = lengths.cumsum() - lengths  # index of each posting's first delta
    before = running[firsts] - deltas[firsts]  # running sum before each posting
    position_parts.append(running - np.repeat(before, lengths))
    doc_parts.append(np.repeat(ids, lengths))
    return True


def _decode_slowly(np: Any, ids: Any, values: Any, doc_parts: list[Any],
                   position_parts: list[Any]) -> None:
    docs: list[int] = []
    positions: list[int] = []
    for doc, value in zip(ids, values):
        found = decode_positions(value)
        docs.extend([doc] * len(found))
        positions.extend(found)
    doc_parts.append(np.asarray(docs, dtype=np.int64))
    position_parts.append(np.asarray(positions, dtype=np.int64))
