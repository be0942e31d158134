"""Speed benchmark: build, re-index and query figures on the development corpus.

Usage:  python benchmarks/bench_speed.py [--corpus ../shared/corpus] [--work /tmp/searchkit-speed]
        [--scales 0.25,0.5,1,3]

Prints, for the dev corpus: cold build wall seconds and peak RSS, index MB,
no-change and 1%-changed re-index seconds, library query p50/p95/max by
query class, cold `searchkit query` and `searchkit --help` wall seconds,
and the correctness figures of bench_core.py on the 1× index (speed never
buys wrong answers); then build and query figures at each scale (3 = the
corpus indexed three times under different paths).
"""

from __future__ import annotations

import argparse
import compileall
import json
import lzma
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import searchkit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_core  # noqa: E402  (the correctness figures and percentiles)


def run_index(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the largest process) of `searchkit index`."""
    exe = Path(sys.executable).with_name("searchkit")
    timer = ["/usr/bin/time", "-f", "%M"] if os.path.exists("/usr/bin/time") else []
    started = time.perf_counter()
    done = subprocess.run([*timer, str(exe), "index", *args], capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])
    rss_kb = int(done.stderr.strip().splitlines()[-1]) if timer else float("nan")
    return elapsed, rss_kb / 1024


def size_mb(index: Path) -> float:
    return sum(f.stat().st_size for f in index.iterdir() if f.is_file()) / 1e6


def make_scale(posts: Path, target: Path, scale: float) -> list[Path]:
    """Folders holding `scale` × the corpus (copies under other paths above 1)."""
    files = sorted(p for p in posts.rglob("*") if p.is_file())
    copies = max(1, int(scale)) if scale >= 1 else 1
    share = len(files) if scale >= 1 else int(len(files) * scale)
    roots = []
    for copy in range(copies):
        root = target / f"copy{copy}"
        roots.append(root)
        if root.exists():
            continue
        for path in files[:share]:
            dest = root / path.relative_to(posts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest) if copy == 0 else shutil.copy2(path, dest)
    return roots


def query_classes(queries: dict) -> dict[str, list[tuple[str, dict]]]:
    phrases = queries["phrases"]
    return {
        "phrase 1-2": [(f'"{p["q"]}"', {}) for p in phrases if len(p["q"]) <= 2],
        "phrase 3+": [(f'"{p["q"]}"', {}) for p in phrases if len(p["q"]) > 2],
        "unquoted": [(p["q"], {}) for p in phrases],
        "filtered": [(f'"{d["q"]}"', {"date_from": d["from"], "date_to": d["to"]})
                     for d in queries["date_filtered"]]
                    + [(f'"{t["q"]}"', {"tags": [t["tag"]]}) for t in queries["tag_filtered"]],
    }


def measure_queries(index: Path, queries: dict) -> None:
    ix = searchkit.open_index(index)
    ix.search("香港")
    for name, items in query_classes(queries).items():
        times = []
        for q, kwargs in items:
            started = time.perf_counter()
            ix.search(q, limit=10, **kwargs)
            times.append((time.perf_counter() - started) * 1000)
        p50, p95, top = bench_core.percentiles(times)
        print(f"    {name:<11} n={len(times):<4} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  max {top:6.2f} ms")


def help_seconds() -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        bench_core.cli("--help")
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def touch_one_percent(posts: Path) -> int:
    files = sorted(p for p in posts.rglob("*.md"))[::100]
    for path in files:
        path.write_bytes(path.read_bytes() + b"\n")
    return len(files)


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=here.parent / "shared" / "corpus")
    parser.add_argument("--work", type=Path, default=Path("/tmp/searchkit-speed"))
    parser.add_argument("--scales", default="0.25,0.5,1,3")
    args = parser.parse_args()
    posts = args.work / "posts"
    if not (posts / "zaobao").is_dir():
        posts.mkdir(parents=True, exist_ok=True)
        with tarfile.open(args.corpus / "dev-posts.tar.xz") as tar:
            tar.extractall(posts, filter="data")
    queries = json.loads(lzma.open(args.corpus / "dev-queries.json.xz").read().decode("utf-8"))
    index = args.work / "index"
    shutil.rmtree(index, ignore_errors=True)
    wall, rss = run_index([str(posts), "--index", str(index)])
    print(f"dev corpus: cold build {wall:.1f} s wall, peak RSS {rss:.0f} MB, index {size_mb(index):.1f} MB")
    wall, _ = run_index([str(posts), "--index", str(index)])
    print(f"  no-change re-index {wall:.2f} s")
    work_copy = args.work / "touched"
    if not work_copy.exists():
        shutil.copytree(posts, work_copy)
    touched_index = args.work / "index-touched"
    shutil.rmtree(touched_index, ignore_errors=True)
    shutil.copytree(index, touched_index)
    # the copy has other paths: index it once unchanged, then touch 1%
    run_index([str(work_copy), "--index", str(touched_index), "--rebuild"])
    count = touch_one_percent(work_copy)
    wall, _ = run_index([str(work_copy), "--index", str(touched_index)])
    print(f"  re-index after touching {count} posts (1%): {wall:.2f} s")
    print("  library queries (limit 10, snippets):")
    measure_queries(index, queries)
    # A new process imports searchkit's modules; as after `pip install`, from
    # compiled bytecode (with PYTHONDONTWRITEBYTECODE set and an editable
    # install, each run would compile the changed modules again: ~40 ms).
    compileall.compile_dir(Path(searchkit.__file__).parent, quiet=1)
    print(f"  cold `searchkit query 香港`: {bench_core.cold_query(index):.2f} s (median of 5)")
    print(f"  `searchkit --help`: {help_seconds():.2f} s (median of 5)")
    print("  correctness (bench_core.py's figures on this index):")
    bench_core.correctness(searchkit.open_index(index), queries)
    for scale in (float(s) for s in args.scales.split(",")):
        roots = make_scale(posts, args.work / f"scale-{scale:g}", scale)
        scaled = args.work / f"index-{scale:g}"
        shutil.rmtree(scaled, ignore_errors=True)
        wall, rss = run_index([*map(str, roots), "--index", str(scaled)])
        n = searchkit.open_index(scaled).stats().posts
        print(f"scale {scale:g}: {n} posts, build {wall:.1f} s, peak RSS {rss:.0f} MB, "
              f"index {size_mb(scaled):.1f} MB")
        measure_queries(scaled, queries)
    print(f"(peak RSS of this script: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
