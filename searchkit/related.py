"""Related stories and near-duplicates (part of the search stage).

* Near-duplicates: posts whose bodies share most of their MinHash sketch
  values (see `analysis.sketch`); the share estimates the Jaccard
  similarity of their 4-character shingles.  Wire copies score near 1.
* Related: more-like-this over the post's most distinctive words (tf·idf of
  jieba words in its body), BM25-ranked, with near-duplicates first.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from .analysis import SKETCH_SIZE, normalize, segment
from .ranking import Evaluator, top
from .schema import WORD_FIELDS

DUPLICATE = 0.7        # sketch share from which two posts count as copies
MLT_WORDS = 15


def sketch_values(evaluator: Evaluator, docnum: int) -> list[str]:
    """The sketch terms of one post, read back from its stored body."""
    from .analysis import sketch

    stored = evaluator.searcher.stored_fields(docnum)
    return sketch(normalize(stored.get("body", "")))


def similar_posts(evaluator: Evaluator, docnum: int, values: list[str] | None = None,
                  within: set[int] | None = None) -> dict[int, float]:
    """Other posts sharing sketch values with `docnum` → estimated similarity."""
    values = values if values is not None else sketch_values(evaluator, docnum)
    if not values:
        return {}
    shared: Counter[int] = Counter()
    for value in values:
        shared.update(evaluator.term_docs("mh", value))
    shared.pop(docnum, None)
    size = min(SKETCH_SIZE, len(values))
    return {d: n / size for d, n in shared.items() if within is None or d in within}


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
    for word in words:
        evaluator._bm25(WORD_FIELDS["b"], word, score, 1.0)
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
