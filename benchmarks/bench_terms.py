"""Term table benchmark: size of the .trm files and term lookup speed.

Usage:  python benchmarks/bench_terms.py INDEX_DIR [--lookups 10000] [--seed 1]

Picks `--lookups` random existing terms and as many absent character
bigrams (made of characters the index holds, as a query's bigram probes
are) from the index's segments, then times `term_info` on each segment
reader without searchkit's term cache.  Prints the bytes of the current
segments' .trm files and of all their files (earlier generations that an
index run keeps are not counted) and microseconds per lookup (best of 5
rounds).  Works on indexes with either term file (old or sorted).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from whoosh import index
from whoosh.reading import TermNotFound

from searchkit.indexer import INDEX_NAME


def sample_terms(leaves: list, count: int, seed: int) -> tuple[list, list]:
    """(present, absent) lists of (leaf, fieldname, term bytes)."""
    rng = random.Random(seed)
    present, chars, known = [], set(), set()
    for leaf in leaves:
        terms = list(leaf._terms.terms())
        known.update(terms)
        present += [(leaf, f, t) for f, t in rng.sample(terms, min(count, len(terms)))]
        chars.update(t.decode("utf-8")[:1] for f, t in terms if f == "bc" and t)
    chars_list = sorted(chars)
    absent = []
    while len(absent) < count:
        leaf = rng.choice(leaves)
        term = (rng.choice(chars_list) + rng.choice(chars_list)).encode("utf-8")
        if ("bc", term) not in known:
            absent.append((leaf, "bc", term))
    return rng.sample(present, count), absent


def time_lookups(lookups: list) -> float:
    """Best of 5 rounds, microseconds per lookup."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for leaf, fieldname, term in lookups:
            try:
                leaf.term_info(fieldname, term)
            except TermNotFound:
                pass
        best = min(best, time.perf_counter() - start)
    return best / len(lookups) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("--lookups", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(args.index)
    ix = index.open_dir(str(folder), indexname=INDEX_NAME)
    files = [p for s in ix._segments() for p in folder.glob(f"{s.segment_id()}.*")]
    trm = sum(p.stat().st_size for p in files if p.suffix == ".trm")
    total = sum(p.stat().st_size for p in files)
    with ix.reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        present, absent = sample_terms(leaves, args.lookups, args.seed)
        print(f"segments {len(leaves)}  .trm bytes {trm:,}  segment files {total:,} bytes")
        print(f"term_info, existing terms: {time_lookups(present):.2f} µs")
        print(f"term_info, absent bigrams: {time_lookups(absent):.2f} µs")


if __name__ == "__main__":
    main()
