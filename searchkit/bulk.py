"""Work over long posting lists and large result sets, in numpy (part of
the search stage).

A phrase common to thousands of posts (a site's subscription footer, a
stock phrase) made `substring.segment_docs` align bigram positions one
document at a time in Python: ~100 ms for 18,000 posts.  Here each
covering bigram's postings become two arrays, the document and the position
of every occurrence, decoded from the lean posting blocks without a Python
step per posting; the phrase starts each bigram implies are keys
(document << 32) + (position - offset), and a document matches when a key
is shared by every bigram (sorted-array intersections).  The result is the
same set `segment_docs` computes one document at a time.

Large result sets are also scored (`scores`: the same sums in the same
order as `Evaluator.scores`, so the same floats), ranked (`top`) and
counted for facets (`count_labels`) here.  numpy is imported on first use
only, and only by a process that has searched before (see `ready`).
"""

from __future__ import annotations

import sys
from typing import Any

from whoosh.matching import ListMatcher

from .analysis import ESCAPE_CHAR, decode_positions

FROM_DOCS = 512  # candidate documents from which a segment is aligned here
# Importing numpy takes ~0.1 s: more than a one-off search (`searchkit
# query`) can win back.  The search path turns this on once a process has
# searched before (or numpy is loaded anyway).
warm = False


def ready(size: int, threshold: int) -> bool:
    """Use numpy for `size` documents?"""
    return size >= threshold and (warm or "numpy" in sys.modules)


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
    """The `values` found in `allowed` (ascending), and the same entries of
    each array `alongside` (in the order of `values`, which need not be
    ascending)."""
    if not allowed.size:
        return [values[:0], *(a[:0] for a in alongside)]
    at = np.searchsorted(allowed, values).clip(max=allowed.size - 1)
    keep = allowed[at] == values
    return [values[keep], *(a[keep] for a in alongside)]


def _occurrences(np: Any, matcher: Any, wanted: list[int] | None) -> tuple[Any, Any]:
    """(document, position) of every occurrence in `matcher`'s postings, as
    two int64 arrays in (document, position) order, reading only the blocks
    that can hold `wanted` docs.  Lean blocks are decoded together, a few
    array operations for the whole list."""
    from .substring import _wanted_blocks

    doc_parts: list[Any] = []
    position_parts: list[Any] = []
    lean: list[tuple[str, str, str]] = []  # lean blocks not decoded yet
    if isinstance(matcher, ListMatcher):  # inlined in the term table
        _decode_slowly(np, matcher._ids, matcher._values, doc_parts, position_parts)
    else:
        for block in _wanted_blocks(matcher, wanted):
            if block._data is None:
                block._read_data()
            ids, _, values = block._data
            if (isinstance(ids, list) and isinstance(values, list)
                    and ESCAPE_CHAR not in values[0] and "\0" not in values[1]):
                lean.append((ids[0], values[0], values[1]))
                continue
            # a plain W3 block, one with escaped deltas or an empty value
            _decode_lean(np, lean, doc_parts, position_parts)
            if block._ids is None:
                block._read_ids()
            if block._values is None:
                block._read_values()
            _decode_slowly(np, block._ids, block._values, doc_parts, position_parts)
        _decode_lean(np, lean, doc_parts, position_parts)
    if not doc_parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(doc_parts), np.concatenate(position_parts)


def _codes(np: Any, text: str) -> Any:
    """The code points of `text` as int64 (the lean blocks pack numbers so)."""
    raw = text.encode("utf-32-le", "surrogatepass")
    return np.frombuffer(raw, dtype=np.uint32).astype(np.int64)


def _runs(np: Any, deltas: Any, lengths: Any) -> Any:
    """Running sums of `deltas` restarted at each run of `lengths` (> 0):
    the numbers the lean encoding stores as a first value and deltas."""
    running = deltas.cumsum()
    firsts = lengths.cumsum() - lengths  # index of each run's first delta
    before = running[firsts] - deltas[firsts]  # running sum before each run
    return running - np.repeat(before, lengths)


def _decode_lean(np: Any, blocks: list[tuple[str, str, str]], doc_parts: list[Any],
                 position_parts: list[Any]) -> None:
    """Decode lean position blocks (ids as deltas, the first absolute; each
    posting's positions as deltas from 0, joined, with their lengths, none
    empty) onto the parts, and empty `blocks`."""
    if not blocks:
        return
    ids, joined, lengths = ("".join(parts) for parts in zip(*blocks))
    per_block = np.array([len(b[0]) for b in blocks], dtype=np.int64)
    counts = _codes(np, lengths)  # positions per posting, none 0 (see _occurrences)
    position_parts.append(_runs(np, _codes(np, joined), counts))
    doc_parts.append(np.repeat(_runs(np, _codes(np, ids), per_block), counts))
    blocks.clear()


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


# ------------------------------------------------------------------ ranking

SCORE_FROM = 2000  # matching documents from which they are scored here


def scores(evaluator: Any, docs: set[int], scoring: Any) -> dict[int, float]:
    """`Evaluator.scores` for many documents: the same sums, added in the
    same order (so the same floats), one array operation per term and
    segment instead of one Python step per document."""
    import numpy as np

    from .ranking import EXACT_BONUS, TITLE_BONUS
    from .schema import BODY_FIELDS, WORD_FIELDS
    from .substring import _raw_matcher, copies_of, term_info

    ordered = np.array(sorted(docs), dtype=np.int64)
    total = np.zeros(ordered.size)

    def add(found: set[int], points: float) -> None:
        if found:
            total[np.searchsorted(ordered, np.array(sorted(found), dtype=np.int64))] += points

    for text, parts in scoring.exact:
        add(evaluator.substring(text, parts, docs), EXACT_BONUS)
        if "t" in parts:
            add(evaluator.substring(text, ("t",), docs), TITLE_BONUS)
    local = evaluator.per_segment(docs) if scoring.words else []
    for word, parts in dict.fromkeys(scoring.words):
        for part in parts:
            fieldname = WORD_FIELDS[part]
            weight = evaluator.bm25_weight(fieldname, word,
                                           evaluator.title_boost if part == "t" else 1.0)
            if weight is None:
                continue
            norms = _norm_array(np, evaluator, fieldname)
            for leaf, base, wanted in local:
                if term_info(leaf, fieldname, word) is None:
                    continue
                copies = copies_of(leaf) if fieldname in BODY_FIELDS else None
                matcher, _ = _raw_matcher(leaf, fieldname, word)
                # (a wanted copy needs its original's block: all blocks then)
                ids, counts = _counts(np, matcher, wanted if copies is None else None)
                if copies is not None:
                    ids, counts = _with_copies(np, ids, counts, *copies.pair_arrays(np))
                ids += base
                ids, counts = _among(np, ids, ordered, counts)
                total[np.searchsorted(ordered, ids)] += weight * counts / (counts + norms[ids])
    return dict(zip(ordered.tolist(), total.tolist()))


def _with_copies(np: Any, ids: Any, counts: Any, original: Any, copy: Any) -> tuple[Any, Any]:
    """Postings (`ids` ascending, `counts`) and, after them, each `copy`
    with the count of its `original` where the original has one (int64
    arrays; the copies are not in order)."""
    if not ids.size:
        return ids, counts
    at = np.searchsorted(ids, original).clip(max=ids.size - 1)
    hit = ids[at] == original
    return np.concatenate((ids, copy[hit])), np.concatenate((counts, counts[at[hit]]))


def top(score: dict[int, float], count: int) -> list[tuple[int, float]]:
    """`ranking.top` for many documents: best score first, ties by document."""
    import numpy as np

    docs = np.fromiter(score.keys(), dtype=np.int64, count=len(score))
    values = np.fromiter(score.values(), dtype=np.float64, count=len(score))
    best = np.lexsort((docs, -values))[:count]
    return list(zip(docs[best].tolist(), values[best].tolist()))


def _norm_array(np: Any, evaluator: Any, fieldname: str) -> Any:
    arrays = evaluator.columns.norm_arrays
    if fieldname not in arrays:
        arrays[fieldname] = np.array(evaluator.bm25_norms(fieldname), dtype=np.float64)
    return arrays[fieldname]


def _counts(np: Any, matcher: Any, wanted: list[int] | None) -> tuple[Any, Any]:
    """(document, count) of `matcher`'s postings as int64 / float64 arrays,
    reading only the blocks that can hold `wanted` docs."""
    from .substring import _wanted_blocks

    id_parts: list[Any] = []
    count_parts: list[Any] = []
    if isinstance(matcher, ListMatcher):  # inlined in the term table
        id_parts.append(np.asarray(matcher._ids, dtype=np.int64))
        count_parts.append(np.asarray(matcher._weights or [1.0] * len(matcher._ids), dtype=np.float64))
    else:
        lean: list[tuple[str, str | None]] = []  # lean blocks not decoded yet
        for block in _wanted_blocks(matcher, wanted):
            if block._data is None:
                block._read_data()
            ids, weights, _ = block._data
            if isinstance(ids, list) and (weights is None or isinstance(weights, list)):
                lean.append((ids[0], None if weights is None else weights[0]))
                continue
            _decode_lean_counts(np, lean, id_parts, count_parts)
            if block._ids is None:  # a plain W3 block
                block._read_ids()
            if block._weights is None:
                block._read_weights()
            id_parts.append(np.asarray(block._ids, dtype=np.int64))
            count_parts.append(np.asarray(block._weights, dtype=np.float64))
        _decode_lean_counts(np, lean, id_parts, count_parts)
    if not id_parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(id_parts), np.concatenate(count_parts)


def _decode_lean_counts(np: Any, blocks: list[tuple[str, str | None]], id_parts: list[Any],
                        count_parts: list[Any]) -> None:
    """Decode lean count blocks (ids as deltas, the first absolute; counts,
    or none when all are 1) onto the parts, and empty `blocks`."""
    if not blocks:
        return
    per_block = np.array([len(ids) for ids, _ in blocks], dtype=np.int64)
    id_parts.append(_runs(np, _codes(np, "".join(ids for ids, _ in blocks)), per_block))
    if all(weights is not None for _, weights in blocks):
        count_parts.append(_codes(np, "".join(w for _, w in blocks)).astype(np.float64))
    else:
        count_parts.append(np.concatenate([np.ones(len(ids)) if weights is None
                                           else _codes(np, weights).astype(np.float64)
                                           for ids, weights in blocks]))
    blocks.clear()


# ------------------------------------------------------------------- facets

class LabelLists:
    """Each document's labels (tags, a month, …) as arrays: the distinct
    labels sorted, and the end of each document's run of label numbers."""

    def __init__(self, per_doc: list[tuple[str, ...]]) -> None:
        import numpy as np

        self.size = len(per_doc)
        self.labels = sorted({label for labels in per_doc for label in labels})
        number = {label: i for i, label in enumerate(self.labels)}
        self.flat = np.array([number[label] for labels in per_doc for label in labels], dtype=np.int64)
        self.ends = np.cumsum([len(labels) for labels in per_doc], dtype=np.int64)


def count_labels(lists: LabelLists, docs: set[int]) -> list[tuple[str, int]]:
    """(label, documents among `docs` that carry it) for every label carried,
    in label order: the counts `Counter` gives, without a Python step per
    document."""
    import numpy as np

    chosen = np.fromiter(docs, dtype=np.int64, count=len(docs))
    ends = lists.ends[chosen]
    counts = np.diff(lists.ends, prepend=0)[chosen]
    total = int(counts.sum())
    if not total:
        return []
    # the index in `flat` of every label of the chosen documents: ones, with
    # a jump at the first label of each document's run, summed up
    steps = np.ones(total, dtype=np.int64)
    nonempty = counts > 0
    firsts = (np.cumsum(counts) - counts)[nonempty]
    starts = (ends - counts)[nonempty]
    steps[firsts] = starts - np.concatenate(([0], (ends - 1)[nonempty][:-1]))
    tally = np.bincount(lists.flat[np.cumsum(steps)], minlength=len(lists.labels))
    return [(lists.labels[i], int(tally[i])) for i in np.flatnonzero(tally).tolist()]
