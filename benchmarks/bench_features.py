"""Checks of facets and related stories on the development corpus.

Usage:  python benchmarks/bench_features.py [--work /tmp/searchkit-bench]

Needs the index and unpacked posts that bench_core.py leaves in --work.
Prints: facet counts for 香港 compared with a brute-force count over the
posts' files, and, for ten posts that have exact copies in the corpus
(same normalized body), whether `related` puts the copies in its top 3.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path

import searchkit
from searchkit.analysis import normalize, normalize_label
from searchkit.documents import Problem
from searchkit.indexer import source_host
from searchkit.sources import discover, read_article

ALL = 1_000_000


def read_posts(posts: Path) -> dict[str, object]:
    articles = {}
    for item in discover([posts]):
        if isinstance(item, Problem):
            continue
        article = read_article(item)
        if not isinstance(article, Problem):
            articles[article.path] = article
    return articles


def brute_force_facets(articles: dict, phrase: str) -> dict[str, Counter]:
    q = normalize(phrase)
    counts: dict[str, Counter] = defaultdict(Counter)
    for a in articles.values():
        if q in normalize(a.title) or q in normalize(a.body):
            for t in set(map(normalize_label, a.tags)):
                counts["tag"][t] += 1
            for c in set(map(normalize_label, a.categories)):
                counts["category"][c] += 1
            if a.author:
                counts["author"][normalize_label(a.author)] += 1
            host = source_host(a.url)
            if host:
                counts["site"][host] += 1
            if a.date:
                counts["month"][a.date.strftime("%Y-%m")] += 1
    return counts


def check_facets(ix: searchkit.Index, articles: dict) -> None:
    names = ["tag", "category", "author", "site", "month"]
    started = time.perf_counter()
    res = ix.search("香港", limit=1, facets=names)
    first = (time.perf_counter() - started) * 1000
    later = []
    for _ in range(6):  # the second search loads numpy (large result sets)
        started = time.perf_counter()
        res = ix.search("香港", limit=1, facets=names)
        later.append((time.perf_counter() - started) * 1000)
    truth = brute_force_facets(articles, "香港")
    for name in names:
        got = {normalize_label(v) if name != "month" else v: n for v, n in res.facets[name]}
        full = truth[name]
        top_counts = sorted(full.values(), reverse=True)[:len(got) if name != "month" else None]
        # every value shown has its brute-force count, and the shown counts
        # are the largest ones (ties at the cut may pick other values)
        same = all(full[k] == n for k, n in got.items()) and sorted(got.values(), reverse=True) == top_counts
        print(f"  facet {name:<8} values {len(got):>3}  equal to brute force: {same}")
    print(f"  (search with five facets: {first:.0f} ms first, {later[0]:.0f} ms second, "
          f"then {statistics.median(later[1:]):.0f} ms (median of 5); total {res.total})")


def check_related(ix: searchkit.Index, articles: dict) -> None:
    groups = defaultdict(list)
    for path, a in articles.items():
        body = normalize(a.body)
        if len(body) > 200:
            groups[hashlib.sha1(body.encode()).hexdigest()].append(path)
    dupes = sorted((sorted(v) for v in groups.values() if 2 <= len(v) <= 4), key=lambda g: g[0])
    picked = dupes[:: max(1, len(dupes) // 10)][:10]
    ok = 0
    for group in picked:
        started = time.perf_counter()
        hits = ix.related(group[0], limit=3)
        elapsed = (time.perf_counter() - started) * 1000
        found = {h.path for h in hits}
        hit = set(group[1:]) <= found
        ok += hit
        print(f"  {group[0]}: copies {group[1:]} in top 3: {hit} ({elapsed:.0f} ms)")
    print(f"related: {ok}/{len(picked)} posts have all their copies in the top 3 "
          f"({len(dupes)} groups of exact copies in the corpus)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/searchkit-bench"))
    args = parser.parse_args()
    ix = searchkit.open_index(args.work / "index")
    articles = read_posts(args.work / "posts")
    print("facets over 香港:")
    check_facets(ix, articles)
    check_related(ix, articles)


if __name__ == "__main__":
    main()
