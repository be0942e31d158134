"""Building and updating the on-disk index (Whoosh).

A run compares the files under the sources with what the index holds (by
path, size and modification time), analyses new and changed posts in worker
processes that each write whole Whoosh segments, and then publishes the new
segment list in one atomic table-of-contents write: a reader sees the old
index or the new one, never half of it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .analysis import (DictEntry, analyze_normalized, analyze_text, fold, format_dictionary,
                       irregular_spans, normalize_folded, normalize_label, parse_dictionary, sketch,
                       use_dictionary)
from .config import ConfigError, Settings
from .documents import Article, Problem
from .errors import IndexCorruptError, IndexLockedError, IndexVersionError, IndexWriteError, SourceError
from .indexfiles import DICTIONARY_FILE, INDEX_NAME, META_FILE, index_exists, open_whoosh, read_index_dictionary
from .schema import LABEL_FIELDS, NO_DATE, SCHEMA_VERSION, SKETCH_KEYS, build_schema
from .sources import SourceFile, discover
from .snippets import position_table
from .merging import merge_segments, rewrite_documents
from .workers import analyse_in_process, analyse_in_workers, make_job

# files per task sent to a worker: a post and its copy under another name
# (segments.COPIES_EXT) share their body only within one worker's
# segment, and copies are mostly near each other in path order (of the dev
# corpus's, 3,462 of 4,168 within 64 paths, 3,896 within 1,024); a worker
# idles at most one task's time at the end
CHUNK = 512
SEGMENT_DOCS = 17000     # documents per segment before a worker starts another
# ... or postings: a worker holds its segment's postings (and each distinct
# word) until it writes them (15,900 posts, 33 M postings: a ~600 MB peak;
# 17,000 posts of 3x the dev corpus: ~700 MB), so long posts make smaller
# segments.  Every segment costs each query term a lookup: the dev corpus
# (31,565 posts, ~66 M postings) is one segment per worker.
SEGMENT_POSTINGS = 36_000_000
IN_PROCESS_LIMIT = 300   # smaller jobs are analysed without worker processes

Progress = Callable[[int, int], None]


@dataclass
class IndexReport:
    """What one `build_index` run did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Problem] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    elapsed: float = 0.0
    resegmented: int = 0             # posts re-segmented for a changed user dictionary
    resegment_seconds: float = 0.0

    def summary(self) -> str:
        extra = f", re-segmented {self.resegmented}" if self.resegmented else ""
        return (f"added {self.added}, updated {self.updated}, removed {self.removed}, "
                f"unchanged {self.unchanged}, skipped {len(self.skipped)}, "
                f"repaired {len(self.repaired)}{extra} in {self.elapsed:.1f}s")


# ---------------------------------------------------------------- documents

def document_fields(article: Article, source_root: str) -> tuple[Any, ...]:
    """The arguments of `SegmentBuilder.add` for one article."""
    epoch = int(article.date.timestamp()) if article.date else None
    meta = {
        "path": article.path,
        "source": source_root,
        "title": article.title,
        "date": article.date.isoformat() if article.date else None,
        "tags": list(article.tags),
        "categories": list(article.categories),
        "author": article.author,
        "url": article.url,
    }
    # (the body's length events let a snippet map an index position back
    # into the body without scanning it)
    stored = {"meta": meta, "body": article.body, "shifts": position_table(article.body)}
    columns = {"key": article.key, "sig": article.signature.encode(),
               "date": epoch if epoch is not None else NO_DATE}
    labels = {"tag": article.tags, "category": article.categories,
              "author": (article.author,) if article.author else ()}
    keywords = {name: sorted({normalize_label(v) for v in labels[name]} - {""})
                for name in LABEL_FIELDS}
    keywords["tagname"] = sorted({" ".join(t.split()) for t in article.tags} - {""})
    host = source_host(article.url)
    keywords["host"] = [host] if host else []
    native: dict[str, Any] = {"key": article.key}
    if epoch is not None:
        native["date"] = epoch
    folded = fold(article.body)
    body = normalize_folded(folded)
    stored["irregular"] = irregular_spans(article.body, folded)  # (see substring.body_holds)
    values = sketch(body)
    keywords["mh"] = [f"{h:08x}" for h in values[:SKETCH_KEYS]]
    columns["sketch"] = array("I", values).tobytes()
    postings = analyze_text(article.title, "t")
    postings.update(analyze_normalized(body, "b"))
    return stored, columns, keywords, native, postings


def source_host(url: str) -> str | None:
    """The site a post came from; for web-archive links, the archived site."""
    if not url:
        return None
    archived = re.search(r"/web/\d+[a-z_]*/(https?://[^\s]+)", url)
    try:
        host = urlsplit(archived.group(1) if archived else url).hostname
    except ValueError:
        return None
    return host.lower() if host else None


# ------------------------------------------------------------- index files

def _create(index_dir: Path) -> Any:
    from whoosh import index

    index_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(index_dir), build_schema(), indexname=INDEX_NAME)
    _write_meta(index_dir)
    return ix


def _write_meta(index_dir: Path) -> None:
    tmp = index_dir / (META_FILE + ".tmp")
    tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION}), encoding="utf-8")
    os.replace(tmp, index_dir / META_FILE)


def _lock(ix: Any, wait: float, notify: Callable[[str], None] | None = None) -> Any:
    lock = ix.lock("WRITELOCK")
    deadline = time.monotonic() + wait
    told = False
    while not lock.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise IndexLockedError("another `searchkit index` is writing this index"
                                   + (f" (waited {wait:g} s)" if wait else ""))
        if notify and not told:
            notify(f"another `searchkit index` is writing this index; waiting up to {wait:g} s")
            told = True
        time.sleep(0.2)
    return lock


# ---------------------------------------------------------------- manifest

def read_manifest(ix: Any) -> dict[str, tuple[bytes, int]]:
    """key → (signature, global docnum) of every live document."""
    manifest: dict[str, tuple[bytes, int]] = {}
    with ix.reader() as reader:
        if reader.doc_count_all() == 0:
            return manifest
        keys = reader.column_reader("key")
        sigs = reader.column_reader("sig")
        for docnum in range(reader.doc_count_all()):
            if not reader.is_deleted(docnum):
                key = keys[docnum]
                manifest[key.decode("utf-8") if isinstance(key, bytes) else key] = (sigs[docnum], docnum)
    return manifest


# ------------------------------------------------------------------- build

@dataclass
class _Plan:
    to_index: list[SourceFile]
    replaced: dict[str, int]          # key → docnum of the version it replaces
    removed: list[int]                # docnums of posts gone from disk
    unchanged: int
    problems: list[Problem]


def _plan(roots: Sequence[Path], manifest: dict[str, tuple[bytes, int]]) -> _Plan:
    plan = _Plan([], {}, [], 0, [])
    seen: set[str] = set()
    for item in discover(roots):
        if isinstance(item, Problem):
            plan.problems.append(item)
            continue
        if item.key in seen:
            continue
        seen.add(item.key)
        known = manifest.get(item.key)
        if known is None:
            plan.to_index.append(item)
        elif known[0] != item.signature.encode():
            plan.to_index.append(item)
            plan.replaced[item.key] = known[1]
        else:
            plan.unchanged += 1
    prefixes = tuple(str(root.absolute()).rstrip(os.sep) + os.sep for root in roots)
    plan.removed = [docnum for key, (_, docnum) in manifest.items()
                    if key not in seen and key.startswith(prefixes)]
    return plan


def _check_sources(roots: Sequence[Path]) -> None:
    for root in roots:
        if not root.exists():
            raise SourceError(f"source folder {root} does not exist")
        if not os.access(root, os.R_OK):
            raise SourceError(f"source folder {root} is not readable")


def _open_for_writing(index_dir: Path, rebuild: bool) -> tuple[Any, bool]:
    """Open (or create) the index; returns (ix, fresh)."""
    if not index_exists(index_dir):
        try:
            return _create(index_dir), True
        except OSError as exc:
            raise IndexWriteError(f"cannot create an index in {index_dir}: {exc.strerror or exc}") from exc
    try:
        return open_whoosh(index_dir), False
    except (IndexVersionError, IndexCorruptError):
        if not rebuild:
            raise
    # An unreadable index or one of another schema version: build beside it
    # and swap at the end.
    return None, True


def build_index(sources: Iterable[str | os.PathLike[str]], index_dir: str | os.PathLike[str],
                *, rebuild: bool = False, settings: Settings | None = None,
                progress: Progress | None = None, wait: float = 0.0,
                notify: Callable[[str], None] | None = None) -> IndexReport:
    """Create or update the index at `index_dir` from the post folders `sources`.

    Incremental: new posts are added, changed ones re-indexed, deleted ones
    removed; `rebuild` starts over.  When another run holds the index, wait
    up to `wait` seconds (telling `notify`), then raise IndexLockedError.
    Returns what was done.
    """
    started = time.monotonic()
    settings = settings or Settings()
    roots = [Path(s) for s in sources]
    _check_sources(roots)
    target = Path(index_dir)
    ix, _ = _open_for_writing(target, rebuild)
    if ix is None:  # incompatible old index and --rebuild: write a new one beside it
        staging = target.with_name(target.name + ".rebuild")
        shutil.rmtree(staging, ignore_errors=True)
        report = build_index(roots, staging, settings=settings, progress=progress)
        _swap_in(staging, target)
        report.elapsed = time.monotonic() - started
        return report
    try:
        lock = _lock(ix, wait, notify)
    except OSError as exc:
        raise IndexWriteError(f"cannot lock the index in {target}: {exc.strerror or exc}") from exc
    try:
        report = _update(ix, target, roots, rebuild, settings, progress, lock)
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"{target} is missing files ({exc.filename})") from exc
    except OSError as exc:
        raise IndexWriteError(f"cannot write the index in {target}: {exc.strerror or exc}; "
                              "the previous index is unchanged") from exc
    finally:
        lock.release()
    report.elapsed = time.monotonic() - started
    return report


def _swap_in(staging: Path, target: Path) -> None:
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def _update(ix: Any, index_dir: Path, roots: Sequence[Path], rebuild: bool,
            settings: Settings, progress: Progress | None, lock: Any = None) -> IndexReport:
    from whoosh.index import TOC

    toc = ix._read_toc()
    old_words = read_index_dictionary(index_dir)
    new_words = tuple(load_userdict(settings.userdict)) if settings.userdict else ()
    use_dictionary(new_words)  # before analysis, and before worker processes fork
    manifest = {} if rebuild else read_manifest(ix)
    plan = _plan(roots, manifest)
    report = IndexReport(unchanged=plan.unchanged, skipped=list(plan.problems))
    total = len(plan.to_index)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    if progress:
        progress(0, total)
    job = make_job(index_dir, settings.timezone, SEGMENT_DOCS, SEGMENT_POSTINGS, getattr(lock, "fd", None))
    if total <= IN_PROCESS_LIMIT or settings.workers <= 1:
        new_segments, outcomes = analyse_in_process(ix, plan.to_index, job, advance)
    else:
        new_segments, outcomes = analyse_in_workers(plan.to_index, job, settings.workers, CHUNK, advance)
    segments = [] if rebuild else toc.segments
    deletions = list(plan.removed)
    for key, problem, repairs in outcomes:
        if problem is not None:
            report.skipped.append(problem)
            continue
        if repairs:
            report.repaired.append(Problem(_relpath_of(key, roots), "; ".join(repairs), False))
        if key in plan.replaced:
            deletions.append(plan.replaced[key])
            report.updated += 1
        else:
            report.added += 1
    report.removed = len(plan.removed)
    if not rebuild:
        started = time.monotonic()
        changed = {w for w, _, _ in set(old_words) ^ set(new_words)}
        stale = _containing_any(ix, changed) - set(deletions) - set(plan.removed)
        rewritten = rewrite_documents(ix, stale)
        if rewritten is not None:
            new_segments.append(rewritten)
            deletions.extend(stale)
        report.resegmented = len(stale)
        report.resegment_seconds = time.monotonic() - started
        _delete_docs(segments, deletions)
    segments = [s for s in segments if s.deleted_count() < s.doc_count_all()]
    segments = merge_segments(ix, segments + new_segments)
    # New segments have sorted term files: a searchkit that cannot read them
    # must refuse the index cleanly (version 2 → 3), before the TOC names them.
    _write_meta(index_dir)
    new_toc = TOC(ix.schema, segments, toc.generation + 1)
    new_toc.write(ix.storage, INDEX_NAME)
    _clean(ix.storage, new_toc.generation, new_toc.segments + toc.segments)
    # After the TOC: if we die in between, the next run sees the old word
    # list, finds the same changed words and re-segments again.
    write_index_dictionary(index_dir, new_words, settings.userdict)
    return report


def _clean(storage: Any, generation: int, keep: list[Any]) -> None:
    """Delete index files no reader should need any more.

    The previous generation's table of contents and segments are kept until
    the next run, so that searches that opened them just before this run
    published keep working; interrupted runs' leftovers go.
    """
    from whoosh.index import TOC

    keep_ids = {s.segment_id() for s in keep}
    toc_pattern = TOC._pattern(INDEX_NAME)
    seg_pattern = TOC._segment_pattern(INDEX_NAME)
    temp_toc = re.compile(rf"^_{INDEX_NAME}_\d+\.toc\.[\d.]+$")
    for name in list(storage):
        toc = toc_pattern.match(name)
        seg = seg_pattern.match(name)
        stale = ((toc and int(toc.group(1)) < generation - 1) or temp_toc.match(name)
                 or (seg and seg.group(1) not in keep_ids))
        if stale:
            try:
                storage.delete_file(name)
            except OSError:
                pass


def _containing_any(ix: Any, words: set[str]) -> set[int]:
    """Live documents whose title or body contains any of the words."""
    if not words or ix.doc_count_all() == 0:
        return set()
    from .ranking import Evaluator, IndexColumns

    with ix.searcher() as searcher:
        evaluator = Evaluator(searcher, IndexColumns(searcher.reader()))
        found: set[int] = set()
        for word in words:
            found |= evaluator.substring(word, ("t", "b"))
        return found & evaluator.columns.live


def load_userdict(path: Path) -> list[DictEntry]:
    """Read a jieba-format user dictionary (errors name the file)."""
    try:
        return parse_dictionary(Path(path).read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"cannot read the user dictionary {path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"bad user dictionary {path}: {exc}") from exc


def write_index_dictionary(index_dir: Path, entries: tuple[DictEntry, ...], source: Path | None) -> None:
    path = Path(index_dir) / DICTIONARY_FILE
    tmp = path.with_suffix(".tmp")
    header = f"# user words this index is segmented with (from {source})\n" if entries else ""
    tmp.write_text(header + format_dictionary(entries), encoding="utf-8")
    os.replace(tmp, path)


def _relpath_of(key: str, roots: Sequence[Path]) -> str:
    for root in roots:
        prefix = str(root.absolute()).rstrip(os.sep) + os.sep
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def _delete_docs(segments: list[Any], docnums: list[int]) -> None:
    """Mark global document numbers deleted in their segments."""
    bounds = []
    base = 0
    for segment in segments:
        bounds.append((base, base + segment.doc_count_all(), segment))
        base += segment.doc_count_all()
    for docnum in sorted(docnums):
        for start, end, segment in bounds:
            if start <= docnum < end:
                segment.delete_document(docnum - start)
                break

