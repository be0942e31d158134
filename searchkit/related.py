"""Related stories and near-duplicates (part of the search stage).

* Near-duplicates: posts sharing one of the smallest values of their body's
  MinHash sketch are candidates; comparing the whole sketches estimates the
  Jaccard similarity of their 4-character shingles.  Wire copies score
  near 1.
* Related: more-like-this over the post's most distinctive words (tf·idf of
  jieba words in its body), BM25-ranked, with near-duplicates first.
"""

from __future__ import annotations

import math
from collections import Counter
from array import array

from .analysis import normalize, segment, sketch_similarity
from .ranking import Evaluator, top
from .schema import SKETCH_KEYS, WORD_FIELDS

DUPLICATE = 0.7        # sketch share from which two posts count as copies
MLT_WORDS = 15


def sketch_of(evaluator: Evaluator, docnum: int) -> list[int]:
    """The body sketch of one post, from the index column."""
    data = evaluator.columns.sketch_column[docnum]
    return list(array("I", data)) if data else []


def similar_posts(evaluator: Evaluator, docnum: int,
                  within: set[int] | None = None) -> dict[int, float]:
    """Posts sharing one of the smallest sketch values with `docnum`
    (candidates), with their estimated similarity."""
    values = sketch_of(evaluator, docnum)
    candidates: set[int] = set()
    for value in values[:SKETCH_KEYS]:
        candidates |= evaluator.term_docs("mh", f"{value:08x}")
    candidates.discard(docnum)
    if within is not None:
        candidates &= within
    mine = set(values)
    size = max(1, len(values))
    out: dict[int, float] = {}
    for d in candidates:
        other = sketch_of(evaluator, d)
        shared = len(mine.intersection(other))
        # few shared values: clearly not a copy, the rough share will do
        out[d] = shared / size if shared * 2 < size else sketch_similarity(values, other)
    return out


def distinctive_words(evaluator: Evaluator, body: str, count: int = MLT_WORDS) -> list[str]:
    """The body's words with the highest tf·idf (two characters or more)."""
    reader = evaluator.reader
    total = max(1, reader.doc_count_all())
    tf = Counter(w for w in segment(normalize(body)) if len(w) >= 2)
    weighted = []
    for word, n in tf.items():
        df = reader.doc_frequency(WORD_FIELDS["b"], word)
        if df:
            weighted.append((n * math.log(total / df), word))
    return [w for _, w in sorted(weighted, reverse=True)[:count]]


def related(evaluator: Evaluator, docnum: int, limit: int) -> list[tuple[int, float, float]]:
    """[(docnum, score, similarity)] of the posts most like `docnum`."""
    stored = evaluator.searcher.stored_fields(docnum)
    words = distinctive_words(evaluator, stored.get("body", ""))
    candidates: set[int] = set()
    for word in words:
        candidates |= evaluator.term_docs(WORD_FIELDS["b"], word)
    similar = similar_posts(evaluator, docnum)
    candidates |= set(similar)
    candidates &= evaluator.columns.live
    candidates.discard(docnum)
    score = dict.fromkeys(candidates, 0.0)
    local = evaluator.per_segment(candidates)
    for word in words:
        evaluator.bm25(WORD_FIELDS["b"], word, score, 1.0, local)
    for d, share in similar.items():
        if d in score:
            score[d] += 1000.0 * share
    return [(d, s, similar.get(d, 0.0)) for d, s in top(score, limit)]


def collapse(evaluator: Evaluator, ranked: list[tuple[int, float]], docs: set[int],
             limit: int) -> list[tuple[int, float, int]]:
    """The first `limit` stories of a ranking, each once, with how many
    near-duplicate copies of it are among all matches."""
    seen: set[int] = set()
    out: list[tuple[int, float, int]] = []
    for docnum, score in ranked:
        if docnum in seen:
            continue
        copies = {d for d, share in similar_posts(evaluator, docnum, within=docs).items()
                  if share >= DUPLICATE}
        seen |= copies | {docnum}
        out.append((docnum, score, len(copies)))
        if len(out) >= limit:
            break
    return out
