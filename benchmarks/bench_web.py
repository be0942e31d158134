"""Load test of `searchkit serve` on loopback.

Usage:  python benchmarks/bench_web.py [--index /tmp/searchkit-bench/index] [--clients 20]
        [--seconds 30] [--corpus ../shared/corpus]

Starts the server on 127.0.0.1, runs N concurrent clients for the given time
(half of the requests to /api/search, half to the HTML page, queries from
dev-queries.json) and prints requests/s and p50/p95/max latency per
endpoint.  Runs twice: as served (result cache on; the 590 distinct queries
repeat during the run) and with `--cache 0` (every request searches).
Only loopback traffic; bounded in time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import lzma
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/search?q=%E9%A6%99%E6%B8%AF")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("the server did not come up")


def client(port: int, queries: list[str], stop: float, out: dict[str, list[float]], seed: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    order = list(range(len(queries)))
    random.Random(seed).shuffle(order)  # each client its own order: no lockstep between clients
    i = 0
    while time.monotonic() < stop:
        q = urllib.parse.quote(queries[order[i % len(order)]])
        path, kind = (f"/api/search?q={q}", "api") if (i + seed) % 2 else (f"/?q={q}", "html")
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        out[kind].append((time.perf_counter() - started) * 1000)
        if response.status not in (200, 400):
            out["errors"].append(float(response.status))
        i += 1


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("/tmp/searchkit-bench/index"))
    parser.add_argument("--corpus", type=Path, default=here.parent / "shared" / "corpus")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    queries = json.loads(lzma.open(args.corpus / "dev-queries.json.xz").read().decode("utf-8"))
    texts = [p["q"] for p in queries["phrases"]] + [f'"{p["q"]}"' for p in queries["phrases"]]
    for label, extra in (("as served (result cache on)", []), ("--cache 0 (every request searches)", ["--cache", "0"])):
        print(f"{label}:")
        run(args, texts, extra)


def run(args: argparse.Namespace, texts: list[str], extra: list[str]) -> None:
    port = free_port()
    exe = Path(sys.executable).with_name("searchkit")
    server = subprocess.Popen([str(exe), "serve", "--index", str(args.index), "--port", str(port), *extra],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, time.monotonic() + 60)
        time.sleep(3)  # let every worker process open the index
        out: dict[str, list[float]] = {"api": [], "html": [], "errors": []}
        stop = time.monotonic() + args.seconds
        threads = [threading.Thread(target=client, args=(port, texts, stop, out, n))
                   for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    total = len(out["api"]) + len(out["html"])
    print(f"  {args.clients} clients, {args.seconds:g} s: {total / args.seconds:.1f} requests/s, "
          f"{len(out['errors'])} errors")
    for kind in ("api", "html"):
        values = sorted(out[kind])
        p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
        print(f"    {'/api/search' if kind == 'api' else 'HTML page':<12} n={len(values):<6} "
              f"p50 {statistics.median(values):7.1f} ms  p95 {p95:7.1f} ms  max {values[-1]:7.1f} ms")


if __name__ == "__main__":
    main()
