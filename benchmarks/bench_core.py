"""Core benchmark: correctness and speed on the development corpus.

Usage:  python benchmarks/bench_core.py [--corpus ../shared/corpus] [--work /tmp/searchkit-bench]
        [--reuse]   (skip the build when the index exists)

Unpacks dev-posts.tar.xz into a scratch folder, builds the index with the
CLI, runs every query of dev-queries.json through the library and prints
phrase recall/precision by kind, filter exactness, unquoted recall and
exact-first@10, title and title-fragment MRR@10, build time, index size,
query latency and the cold `searchkit query` time.
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from pathlib import Path

import searchkit

ALL = 1_000_000


def unpack(corpus: Path, work: Path) -> tuple[Path, dict]:
    posts = work / "posts"
    if not (posts / "zaobao").is_dir():
        posts.mkdir(parents=True, exist_ok=True)
        with tarfile.open(corpus / "dev-posts.tar.xz") as tar:
            tar.extractall(posts, filter="data")
    queries = json.loads(lzma.open(corpus / "dev-queries.json.xz").read().decode("utf-8"))
    return posts, queries


def cli(*args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("searchkit")
    return subprocess.run([str(exe), *args], capture_output=True, text=True)


def build(posts: Path, index: Path, reuse: bool) -> float | None:
    if reuse and index.exists():
        return None
    # a cold build; (--rebuild alone keeps the previous generation's files
    # until the next run, for searches that still have them open)
    shutil.rmtree(index, ignore_errors=True)
    started = time.perf_counter()
    done = cli("index", str(posts), "--index", str(index), "--rebuild")
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"index failed:\n{done.stderr[-3000:]}")
    print(done.stderr.strip().splitlines()[-1])
    return elapsed


def names(res: searchkit.SearchResults) -> list[str]:
    return [Path(h.path).name for h in res.hits]


def timed(ix: searchkit.Index, latencies: list[float], *args, **kwargs) -> searchkit.SearchResults:
    started = time.perf_counter()
    res = ix.search(*args, **kwargs)
    latencies.append((time.perf_counter() - started) * 1000)
    return res


def quote(q: str) -> str:
    return '"' + q.replace('"', "") + '"'


def _length_class(q: str) -> str:
    return "phrase1-2" if len(q) <= 2 else "phrase3+"


def phrase_figures(ix, queries, lat) -> None:
    by_kind: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    exact_by_kind: dict[str, list[bool]] = defaultdict(list)
    for item in queries["phrases"]:
        truth = set(item["truth"])
        timed(ix, lat[_length_class(item["q"])], quote(item["q"]), limit=10)
        found = set(names(ix.search(quote(item["q"]), limit=ALL, snippets=False)))
        by_kind[item["kind"]].append((len(truth & found), len(truth), len(found)))
        exact_by_kind[item["kind"]].append(found == truth)
    tp = sum(t for v in by_kind.values() for t, _, _ in v)
    print(f"phrases: {len(queries['phrases'])}  recall {tp / max(1, sum(n for v in by_kind.values() for _, n, _ in v)):.4f}"
          f"  precision {tp / max(1, sum(f for v in by_kind.values() for _, _, f in v)):.4f}")
    for kind, rows in sorted(by_kind.items()):
        t = sum(r[0] for r in rows)
        print(f"  {kind:<10} n={len(rows):<4} recall {t / max(1, sum(r[1] for r in rows)):.4f}"
              f"  precision {t / max(1, sum(r[2] for r in rows)):.4f}"
              f"  exact {sum(exact_by_kind[kind])}/{len(rows)}")


def unquoted_figures(ix, queries, lat) -> None:
    found_total = truth_total = 0
    exact_first = []
    for item in queries["phrases"]:
        truth = set(item["truth"])
        timed(ix, lat["unquoted"], item["q"], limit=10)
        res = ix.search(item["q"], limit=ALL, snippets=False)
        got = names(res)
        found_total += len(truth & set(got))
        truth_total += len(truth)
        if truth:
            top = got[:10]
            want = min(10, len(truth))
            exact_first.append(all(n in truth for n in top[:want]))
    print(f"unquoted: recall {found_total / max(1, truth_total):.4f}  exact-first@10 "
          f"{sum(exact_first) / max(1, len(exact_first)):.4f} ({sum(exact_first)}/{len(exact_first)})")


def filter_figures(ix, queries, lat) -> None:
    ok = 0
    for item in queries["date_filtered"]:
        timed(ix, lat["filtered"], quote(item["q"]), limit=10, date_from=item["from"], date_to=item["to"])
        res = ix.search(quote(item["q"]), limit=ALL, snippets=False, date_from=item["from"], date_to=item["to"])
        inline = ix.search(f'{quote(item["q"])} date:{item["from"]}..{item["to"]}', limit=ALL, snippets=False)
        ok += set(names(res)) == set(item["truth"]) == set(names(inline))
    print(f"date-filtered exact: {ok}/{len(queries['date_filtered'])}")
    ok = only_ok = 0
    for item in queries["tag_filtered"]:
        timed(ix, lat["filtered"], quote(item["q"]), limit=10, tags=[item["tag"]])
        res = ix.search(quote(item["q"]), limit=ALL, snippets=False, tags=[item["tag"]])
        tag = item["tag"].replace('"', "")
        inline = ix.search(f'{quote(item["q"])} tag:"{tag}"', limit=ALL, snippets=False)
        ok += set(names(res)) == set(item["truth"]) == set(names(inline))
        only = ix.search(f'tag:"{tag}"', limit=ALL, snippets=False)
        only_ok += set(names(only)) == set(item["tag_only_truth"])
    print(f"tag-filtered exact: {ok}/{len(queries['tag_filtered'])}  tag-only exact: "
          f"{only_ok}/{len(queries['tag_filtered'])}")


def mrr(ix, items, lat) -> float:
    total = 0.0
    for item in items:
        got = names(timed(ix, lat["title"], item["q"], limit=10))
        if item["id"] in got:
            total += 1 / (got.index(item["id"]) + 1)
    return total / max(1, len(items))


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95 and max of some latencies."""
    values = sorted(values)
    return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.95))], values[-1]


def latency_report(lat: dict[str, list[float]]) -> None:
    everything = [x for v in lat.values() for x in v]
    for name, values in [*lat.items(), ("all", everything)]:
        if values:
            p50, p95, top = percentiles(values)
            print(f"  {name:<9} n={len(values):<5} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  max {top:7.2f} ms")


def correctness(ix: searchkit.Index, queries: dict) -> dict[str, list[float]]:
    """Print every correctness figure; return the latencies by query class."""
    ix.search("香港")  # warm up the segmenter and converter
    lat: dict[str, list[float]] = defaultdict(list)
    phrase_figures(ix, queries, lat)
    unquoted_figures(ix, queries, lat)
    filter_figures(ix, queries, lat)
    print(f"title MRR@10 {mrr(ix, queries['titles'], lat):.4f}  "
          f"title-fragment MRR@10 {mrr(ix, queries['title_fragments'], lat):.4f}")
    return lat


def cold_query(index: Path) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        cli("query", "香港", "--index", str(index), "--limit", "10")
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=here.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=Path("/tmp/searchkit-bench"))
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    posts, queries = unpack(args.corpus, args.work)
    index = args.work / "index"
    seconds = build(posts, index, args.reuse)
    size = sum(f.stat().st_size for f in index.iterdir() if f.is_file()) / 1e6
    print(f"build: {seconds:.1f} s wall" if seconds else "build: reused", f" index {size:.1f} MB")
    lat = correctness(searchkit.open_index(index), queries)
    print("library query latency (limit=10 with snippets, one run per query):")
    latency_report(lat)
    print(f"cold `searchkit query 香港`: {cold_query(index):.2f} s (median of 5)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
