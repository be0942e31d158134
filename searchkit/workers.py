"""Analysis in worker processes, each writing its own Whoosh segments
(part of the indexer stage).

The parent sends chunks of `SourceFile`s; a worker reads, analyses and adds
them to its current segment, reports per-file outcomes after each chunk,
and hands back its finished segments when told to stop.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .dates import resolve_timezone
from .documents import Problem
from .errors import IndexWriteError
from .sources import SourceFile, read_article

# (key, problem or None, repairs) for each file handled
Outcome = tuple[str, Problem | None, tuple[str, ...]]


@dataclass
class _Job:
    index_dir: str
    timezone: str
    segment_docs: int
    segment_postings: int
    lock_fd: int | None = None   # the parent's index lock, inherited by fork


def _analyse_chunk(builder_box: list[Any], ix: Any, job: _Job, chunk: Sequence[SourceFile],
                   segments: list[Any]) -> list[Outcome]:
    from .indexer import document_fields
    from .segments import SegmentBuilder

    tz = resolve_timezone(job.timezone)
    outcomes: list[Outcome] = []
    for src in chunk:
        try:
            article = read_article(src, tz)
            if isinstance(article, Problem):
                outcomes.append((src.key, article, ()))
                continue
            fields = document_fields(article, str(src.root))
        except (RecursionError, MemoryError, UnicodeError, ValueError, OSError) as exc:
            outcomes.append((src.key, Problem(src.relpath, f"cannot be read: {type(exc).__name__}: {exc}", True), ()))
            continue
        builder_box[0].add(*fields)
        outcomes.append((src.key, None, article.repairs))
        builder = builder_box[0]
        if builder.docnum >= job.segment_docs or builder.postings() >= job.segment_postings:
            segment = builder.finish()
            if segment is not None:
                segments.append(segment)
            builder_box[0] = SegmentBuilder(ix)
    return outcomes


def _worker_main(job: _Job, tasks: Any, results: Any) -> None:
    import signal

    from whoosh import index

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    if job.lock_fd is not None:
        # The write lock belongs to the parent: a copy held here would keep
        # the index locked after the parent was killed.
        try:
            os.close(job.lock_fd)
        except OSError:
            pass
    from .segments import SegmentBuilder

    ix = index.open_dir(job.index_dir, indexname="MAIN")
    box = [SegmentBuilder(ix)]
    segments: list[Any] = []
    parent = os.getppid()
    while True:
        try:
            chunk = tasks.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the parent died: nothing to report to
                return
            continue
        if chunk is None:
            break
        results.put(("chunk", _analyse_chunk(box, ix, job, chunk, segments)))
    last = box[0].finish()
    if last is not None:
        segments.append(last)
    results.put(("done", segments))


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no orphans)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: workers notice a dead parent on their next poll


def analyse_in_process(ix: Any, files: Sequence[SourceFile], job: _Job,
                       progress: Callable[[int], None]) -> tuple[list[Any], list[Outcome]]:
    """Analyse a small job in this process; returns (segments, outcomes)."""
    from .segments import SegmentBuilder

    box = [SegmentBuilder(ix)]
    segments: list[Any] = []
    outcomes: list[Outcome] = []
    for start in range(0, len(files), 64):
        chunk = files[start:start + 64]
        outcomes.extend(_analyse_chunk(box, ix, job, chunk, segments))
        progress(len(chunk))
    last = box[0].finish()
    if last is not None:
        segments.append(last)
    return segments, outcomes


def analyse_in_workers(files: Sequence[SourceFile], job: _Job, workers: int, chunk_size: int,
                       progress: Callable[[int], None]) -> tuple[list[Any], list[Outcome]]:
    """Analyse with `workers` processes; returns (segments, outcomes)."""
    ctx = multiprocessing.get_context("fork")
    tasks = ctx.Queue()
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=(job, tasks, results), daemon=True)
             for _ in range(workers)]
    for proc in procs:
        proc.start()
    try:
        for start in range(0, len(files), chunk_size):
            tasks.put(list(files[start:start + chunk_size]))
        for _ in procs:
            tasks.put(None)
        return _collect(results, procs, progress)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(timeout=5)
        # Unsent chunks must not keep this process alive at exit (Ctrl-C).
        for q in (tasks, results):
            q.cancel_join_thread()
            q.close()


def _collect(results: Any, procs: list[Any],
             progress: Callable[[int], None]) -> tuple[list[Any], list[Outcome]]:
    segments: list[Any] = []
    outcomes: list[Outcome] = []
    finished = 0
    while finished < len(procs):
        try:
            kind, payload = results.get(timeout=1.0)
        except queue.Empty:
            dead = [p for p in procs if not p.is_alive() and p.exitcode not in (0, None)]
            if dead:
                raise IndexWriteError(f"an indexing worker died (exit code {dead[0].exitcode}); "
                                      "the previous index is unchanged") from None
            continue
        if kind == "chunk":
            outcomes.extend(payload)
            progress(len(payload))
        else:
            segments.extend(payload)
            finished += 1
    return segments, outcomes


def make_job(index_dir: Path, timezone: str, segment_docs: int, segment_postings: int,
             lock_fd: int | None = None) -> _Job:
    return _Job(str(index_dir), timezone, segment_docs, segment_postings, lock_fd)
