"""Exact substring matching on the character index (part of the search stage).

`segment_docs` finds the documents of one segment whose normalized title
or body contains a string.  It reads the character postings in bulk, block
by block, and checks bigram positions itself:

* 1 character  → the unigram posting list;
* 2 characters → the bigram posting list;
* n ≥ 3        → a set of bigrams covering every character of the string
  (offsets 0, 2, 4, …, n-2), rarest first; a document matches when one
  start position s has each covering bigram at s + its offset.  Body
  bigrams in few posts keep no positions (segments.SPARSE_BIGRAMS): when
  the others do not cover every character, the documents holding every
  bigram of the string are checked against their text (`body_holds`).

A post that shares its body with an earlier post of its segment (see
`segments.COPIES_EXT`) has no body postings: every search of the body
fields here asks about its original instead and answers for both.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from itertools import accumulate, chain, repeat
from typing import Any
from weakref import WeakKeyDictionary

from whoosh.matching import ListMatcher, NullMatcher
from whoosh.reading import TermNotFound

from . import bulk
from .analysis import ESCAPE_CHAR, decode_positions, fold_stretches, normalize, raw_starts, unpack_spans
from .schema import BODY_FIELDS, CHAR_FIELDS, UNIGRAM_FIELDS
from .terminfo import LeanTermsReader


_TERMS: WeakKeyDictionary[Any, dict[tuple[str, Any], Any]] = WeakKeyDictionary()
TERM_CACHE = 200_000  # term infos kept per segment reader
FEW = 8  # a block's wanted postings are looked up one by one below 1/FEW of it


def term_info(reader: Any, fieldname: str, term: Any) -> Any:
    """The Whoosh term info of a term in one segment, or None; looked up
    once per segment reader (a query asks the same segment about the same
    term for presence, document frequency and postings)."""
    cache = _TERMS.get(reader)
    if cache is None:
        cache = _TERMS[reader] = {}
    key = (fieldname, term)
    try:
        return cache[key]
    except KeyError:
        pass
    if len(cache) >= TERM_CACHE:
        cache.clear()
    terms = getattr(reader, "_terms", None)
    schema = reader.schema
    if isinstance(terms, LeanTermsReader) and fieldname in schema and not reader.is_closed \
            and schema[fieldname].format is not None:
        # what reader.term_info does, without its checks and conversions
        # made once per call (~2 µs of a 10 µs lookup)
        try:
            found = terms._info(fieldname, schema[fieldname].to_bytes(term))
        except KeyError:  # the term, or the field in this segment
            found = None
    else:
        try:
            found = reader.term_info(fieldname, term)
        except TermNotFound:
            found = None
    cache[key] = found
    return found


def doc_frequency(reader: Any, fieldname: str, term: Any) -> int:
    """Documents of one segment holding a term (deleted ones included)."""
    info = term_info(reader, fieldname, term)
    return info.doc_frequency() if info is not None else 0


def _raw_matcher(reader: Any, fieldname: str, term: Any) -> tuple[Any, set[int]]:
    """The undecorated W3 postings matcher and the deleted documents (for
    a body field, less deleted originals whose copies live on)."""
    info = term_info(reader, fieldname, term)
    if info is None:
        return NullMatcher(), set()
    terms = reader._terms
    btext = term.encode("utf-8") if isinstance(term, str) else term
    matcher = terms._codec.postings_reader(terms._postfile, info, reader.schema[fieldname].format,
                                           term=(fieldname, btext))
    deleted = set(reader.deleted_docs_set) if reader.has_deletions() else set()
    if deleted and fieldname in BODY_FIELDS:
        copies = copies_of(reader)
        if copies is not None:
            deleted -= copies.hidden
    return matcher, deleted


class Copies:
    """The live posts of one segment reader that share an earlier post's
    body: `of` copy → original, `by_original` original → its copies, and
    `hidden`: deleted originals whose postings still serve their copies."""

    __slots__ = ("of", "by_original", "copies", "originals_set", "hidden", "_pairs", "_last")

    def __init__(self, pairs: Any, deleted: set[int]) -> None:
        self.of: dict[int, int] = {}
        self.by_original: dict[int, list[int]] = {}
        for copy, original in zip(pairs[::2], pairs[1::2]):
            if copy not in deleted:
                self.of[copy] = original
                self.by_original.setdefault(original, []).append(copy)
        # (as sets: a set intersected with a set walks the smaller one)
        self.copies = set(self.of)
        self.originals_set = set(self.by_original)
        self.hidden = deleted & self.originals_set
        self._pairs: Any = None
        # the last list mapped and its mapping: ranking asks about the same
        # documents once per query word (the list is kept: ids stay unique)
        self._last: tuple[Any, Any] = (None, None)

    def originals(self, docs: list[int]) -> tuple[list[int], set[int], set[int]]:
        """(`docs` (sorted) with the originals of its copies added, sorted;
        the copies among `docs`; the originals added)."""
        last_docs, found = self._last
        if last_docs is not docs:
            found = self._originals(docs)
            self._last = (docs, found)
        return found

    def _originals(self, docs: list[int]) -> tuple[list[int], set[int], set[int]]:
        moved = self.copies.intersection(docs)
        if not moved:
            return docs, moved, set()
        targets = set(map(self.of.__getitem__, moved))
        if len(docs) > 16 * len(targets):  # a few: look each up in `docs`
            added = {original for original in targets if not _holds(docs, original)}
        else:
            added = targets.difference(docs)
        return (sorted(chain(docs, added)) if added else docs), moved, added

    def pair_arrays(self, np: Any) -> tuple[Any, Any]:
        """(originals, their copies): int64 arrays of the live pairs, by
        original."""
        if self._pairs is None:
            copies = np.fromiter(self.of.keys(), dtype=np.int64, count=len(self.of))
            originals = np.fromiter(self.of.values(), dtype=np.int64, count=len(self.of))
            order = np.argsort(originals, kind="stable")
            self._pairs = (originals[order], copies[order])
        return self._pairs

    def expand(self, found: set[int]) -> set[int]:
        """Documents found in body postings (a set of this caller's) and
        their copies, less the hidden originals."""
        shared = found & self.originals_set
        if shared:
            found.update(chain.from_iterable(map(self.by_original.__getitem__, shared)))
            found -= self.hidden
        return found


def _holds(ordered: list[int], value: int) -> bool:
    at = bisect_left(ordered, value)
    return at < len(ordered) and ordered[at] == value


_COPIES: WeakKeyDictionary[Any, Copies | None] = WeakKeyDictionary()


def copies_of(reader: Any) -> Copies | None:
    """The `Copies` of a segment reader (None: it has none)."""
    try:
        return _COPIES[reader]
    except KeyError:
        pass
    from .segments import read_copies

    segment = getattr(reader, "_segment", None)
    pairs = read_copies(reader._storage, segment) if segment is not None else ()
    deleted = set(reader.deleted_docs_set) if pairs and reader.has_deletions() else set()
    copies = _COPIES[reader] = Copies(pairs, deleted) if pairs else None
    return copies


def _walk_blocks(matcher: Any, wanted: list[int] | None, what: str | None) -> dict[int, Any]:
    """doc → value (what="values"), weight (what="weights") or None for the
    postings of `matcher`, limited to `wanted` docs (sorted).

    Blocks whose id range holds no wanted document are skipped without
    being decompressed (see `_wanted_blocks`); in a block that holds a few
    wanted documents only their values are decoded.
    """
    out: dict[int, Any] = {}
    if isinstance(matcher, ListMatcher):  # postings inlined in the term table
        extra = (matcher._values if what == "values" else matcher._weights if what else None) or ()
        if what == "weights" and not extra:
            extra = [1.0] * len(matcher._ids)
        out = dict(zip(matcher._ids, extra)) if extra else dict.fromkeys(matcher._ids)
        if wanted is not None:
            out = {d: out[d] for d in wanted if d in out}
        return out
    lo = 0
    for block in _wanted_blocks(matcher, wanted):
        if block._ids is None:
            block._read_ids()
        ids = block._ids
        if wanted is None:
            here = None
        else:
            lo = bisect_left(wanted, ids[0], lo)
            hi = bisect_right(wanted, ids[-1], lo)
            here = wanted[lo:hi]
            lo = hi
        if here is not None and len(here) * FEW < len(ids):
            at = [i for i, d in zip(map(bisect_left, repeat(ids), here), here)
                  if i < len(ids) and ids[i] == d]
            if what == "values":
                out.update(zip([ids[i] for i in at], block.values_at(at)))
            elif what == "weights":
                out.update(zip([ids[i] for i in at], block.weights_at(at)))
            else:
                out.update(dict.fromkeys([ids[i] for i in at]))
            continue
        if what == "values":
            if block._values is None:
                block._read_values()
            found = zip(ids, block._values)
        elif what == "weights":
            if block._weights is None:
                block._read_weights()
            found = zip(ids, block._weights)
        else:
            found = zip(ids, repeat(None))
        if here is None:
            out.update(found)
        else:
            keep = set(here)
            out.update(item for item in found if item[0] in keep)
    return out


def _wanted_blocks(matcher: Any, wanted: list[int] | None) -> Iterator[Any]:
    """`matcher` at each of its posting blocks that can hold a `wanted`
    document (sorted; every block when None).  Blocks are found in the
    list's block table (see `_block_table`), so a skipped block is never
    read."""
    if wanted is None:
        while matcher.is_active():
            yield matcher
            if matcher._lastblock:
                return
            matcher._next_block()
        return
    if matcher._lastblock:  # one block
        if wanted and wanted[0] <= matcher.block_max_id():
            yield matcher
        return
    offsets, last_ids = _block_table(matcher)
    i = block = 0
    while i < len(wanted):
        block = bisect_left(last_ids, wanted[i], block)  # the block that can hold wanted[i]
        if block == len(last_ids):
            return
        _go_to_block(matcher, offsets[block])
        yield matcher
        i = bisect_right(wanted, last_ids[block], i)  # the first wanted past this block


_BLOCK_TABLES: WeakKeyDictionary[Any, dict[int, tuple[list[int], list[int]]]] = WeakKeyDictionary()


def _go_to_block(matcher: Any, offset: int) -> None:
    matcher._lastblock = matcher._atend = False  # Whoosh's _goto only ever sets them
    matcher._goto(offset)


def _block_table(matcher: Any) -> tuple[list[int], list[int]]:
    """(file offset, last id) of each block of the posting list `matcher`
    reads (standing at its first block), read once per list from the
    block headers and kept while the postings file is open."""
    tables = _BLOCK_TABLES.get(matcher._postfile)
    if tables is None:
        tables = _BLOCK_TABLES[matcher._postfile] = {}
    table = tables.get(matcher._startoffset)
    if table is None:
        offsets, last_ids = [matcher._baseoffset], [matcher.block_max_id()]
        while not matcher._lastblock:
            offsets.append(matcher._nextoffset)
            matcher._next_block()
            last_ids.append(matcher.block_max_id())
        table = tables[matcher._startoffset] = (offsets, last_ids)
    return table


def weights_of(reader: Any, fieldname: str, term: Any, wanted: list[int]) -> dict[int, float]:
    """doc → weight (term frequency) of a term for the live `wanted` docs
    (sorted) of one segment, reading only the blocks that hold them."""
    copies = copies_of(reader) if fieldname in BODY_FIELDS else None
    moved: set[int] = set()
    if copies is not None:
        wanted, moved, added = copies.originals(wanted)
    matcher, _ = _raw_matcher(reader, fieldname, term)
    found = _walk_blocks(matcher, wanted, "weights")
    if moved:
        for copy in moved:
            original = copies.of[copy]  # type: ignore[union-attr]
            if original in found:
                found[copy] = found[original]
        for original in added:
            found.pop(original, None)
    return found


def raw_postings(reader: Any, fieldname: str, term: Any,
                 with_weights: bool = False) -> tuple[list[int], list[float]]:
    """All live document numbers of a term in one segment (and weights)."""
    ids, weights = _raw_postings(reader, fieldname, term, with_weights)
    copies = copies_of(reader) if fieldname in BODY_FIELDS else None
    if copies is not None and not copies.originals_set.isdisjoint(ids):
        weight_of = dict(zip(ids, weights))  # (a copy weighs what its original does)
        ids = sorted(copies.expand(set(ids)))
        if with_weights:
            weights = [weight_of[copies.of.get(d, d)] for d in ids]
    return ids, weights


def _raw_postings(reader: Any, fieldname: str, term: Any,
                  with_weights: bool) -> tuple[list[int], list[float]]:
    """`raw_postings` without the copies of the documents found (and with
    the deleted originals that serve copies)."""
    matcher, deleted = _raw_matcher(reader, fieldname, term)
    ids: list[int] = []
    weights: list[float] = []
    if isinstance(matcher, ListMatcher):  # inlined in the term table
        ids = list(matcher._ids)
        weights = list(matcher._weights or [1.0] * len(ids)) if with_weights else []
    else:
        while matcher.is_active():
            if matcher._ids is None:
                matcher._read_ids()
            ids.extend(matcher._ids)
            if with_weights:
                if matcher._weights is None:
                    matcher._read_weights()
                weights.extend(matcher._weights)
            if matcher._lastblock:
                break
            matcher._next_block()
    if deleted:
        keep = [i for i, d in enumerate(ids) if d not in deleted]
        ids = [ids[i] for i in keep]
        weights = [weights[i] for i in keep] if with_weights else []
    return ids, weights


def covering_bigrams(text: str) -> dict[str, list[int]]:
    """Bigrams covering every character of `text`, with their offsets."""
    offsets = list(range(0, len(text) - 1, 2))
    if offsets[-1] != len(text) - 2:
        offsets.append(len(text) - 2)
    cover: dict[str, list[int]] = {}
    for off in offsets:
        cover.setdefault(text[off:off + 2], []).append(off)
    return cover


def segment_docs(reader: Any, part: str, text: str, within: list[int] | None = None) -> set[int]:
    """Documents of one segment whose `part` ("t"/"b") contains `text`
    (only those among `within`, sorted local numbers, when given)."""
    copies = copies_of(reader) if part == "b" else None
    if copies is None:
        return _segment_docs(reader, part, text, within)
    if within is None:
        return copies.expand(_segment_docs(reader, part, text, None))
    wanted, moved, added = copies.originals(within)
    found = _segment_docs(reader, part, text, wanted)
    found.update([d for d in moved if copies.of[d] in found])
    found -= added
    found -= copies.hidden
    return found


def _segment_docs(reader: Any, part: str, text: str, within: list[int] | None) -> set[int]:
    if not text or within == []:
        return set()
    if len(text) == 1:
        unigrams = UNIGRAM_FIELDS[part]
        if term_info(reader, unigrams, text) is None:
            return set()
        if within is not None:
            matcher, deleted = _raw_matcher(reader, unigrams, text)
            return set(_walk_blocks(matcher, within, None)) - deleted
        return set(_raw_postings(reader, unigrams, text, False)[0])
    fieldname = CHAR_FIELDS[part]
    cover = covering_bigrams(text)
    infos = [term_info(reader, fieldname, gram) for gram in cover]
    if any(info is None for info in infos):
        return set()
    if len(text) > 2 and not all(map(has_positions, infos)):
        return _sparse_docs(reader, fieldname, text, within)
    return _cover_docs(reader, fieldname, cover, len(text) > 2, within)


def _cover_docs(reader: Any, fieldname: str, cover: dict[str, list[int]], need_positions: bool,
                within: list[int] | None) -> set[int]:
    """Documents with every bigram of `cover` (at a common start + its
    offsets when `need_positions`)."""
    order = sorted(cover, key=lambda g: doc_frequency(reader, fieldname, g))
    candidates = doc_frequency(reader, fieldname, order[0])
    if need_positions and bulk.ready(min(candidates, len(within) if within is not None else candidates),
                                     bulk.FROM_DOCS):
        return bulk.aligned_docs(reader, fieldname, order, cover, within)
    deleted: set[int] = set()
    found: dict[str, dict[int, Any]] = {}
    wanted = within
    for gram in order:
        matcher, deleted = _raw_matcher(reader, fieldname, gram)
        postings = _walk_blocks(matcher, wanted, "values" if need_positions else None)
        found[gram] = postings
        wanted = sorted(postings)
        if not wanted:
            return set()
    docs = set(wanted or ()) - deleted
    if not need_positions:
        return docs
    return {d for d in docs if _aligned(d, order, cover, found)}


def has_positions(info: Any) -> bool:
    """Does a character-field term info carry positions?  Sparse body
    bigrams (segments.SPARSE_BIGRAMS) are inlined with their documents only."""
    return not (info.is_inlined() and not info._inlined[2])


def _bigrams(text: str) -> dict[str, list[int]]:
    """Every bigram of `text` with its offsets."""
    grams: dict[str, list[int]] = {}
    for i in range(len(text) - 1):
        grams.setdefault(text[i:i + 2], []).append(i)
    return grams


def _positioned_cover(size: int, positioned: dict[str, list[int]]) -> dict[str, list[int]] | None:
    """Bigrams among `positioned` (bigram → offsets in a text of `size`
    characters) covering every character, as `covering_bigrams` gives
    them; None when some character has none."""
    at = {off: gram for gram, offsets in positioned.items() for off in offsets}
    cover: dict[str, list[int]] = {}
    i = 0
    while i < size:
        if i in at:  # the bigram starting here covers i and i + 1
            cover.setdefault(at[i], []).append(i)
            i += 2
        elif i - 1 in at:  # the one before covers i too
            cover.setdefault(at[i - 1], []).append(i - 1)
            i += 1
        else:
            return None
    return cover


def _sparse_docs(reader: Any, fieldname: str, text: str, within: list[int] | None) -> set[int]:
    """`_segment_docs` for a phrase some of whose covering bigrams have no
    positions.  Documents must hold every bigram of the phrase; if the
    bigrams with positions cover every character, their positions decide,
    as usual; otherwise the post's text does (`_text_holds`)."""
    grams = _bigrams(text)
    infos = {gram: term_info(reader, fieldname, gram) for gram in grams}
    if any(info is None for info in infos.values()):
        return set()
    positioned = {gram: offsets for gram, offsets in grams.items() if has_positions(infos[gram])}
    cover = _positioned_cover(len(text), positioned)
    wanted = within
    deleted: set[int] = set()
    # the short lists first: those without positions, then (when they do
    # not decide) the others, rarest first
    for gram in sorted(grams, key=lambda g: (g in positioned, doc_frequency(reader, fieldname, g))):
        if cover is not None and gram in positioned:
            return _cover_docs(reader, fieldname, cover, True, wanted)
        matcher, deleted = _raw_matcher(reader, fieldname, gram)
        wanted = sorted(_walk_blocks(matcher, wanted, None))
        if not wanted:
            return set()
    # in many posts, look for the phrase's rarest character in their text
    # (its frequency costs a term lookup per character: not worth it for a few)
    rarest = None
    if wanted is not None and len(wanted) > MANY_POSTS:
        rarest = min((i for i, ch in enumerate(text) if ch != " "),
                     key=lambda i: doc_frequency(reader, UNIGRAM_FIELDS["b"], text[i]))
    return {d for d in set(wanted or ()) - deleted if _text_holds(reader, d, text, rarest)}


MANY_POSTS = 16


def _text_holds(reader: Any, doc: int, text: str, anchor: int | None = None) -> bool:
    """Does the normalized body of `doc` contain `text`?  (`body_holds`
    on its record.)"""
    stored = reader.stored_fields(doc)
    return body_holds(stored.get("body") or "", stored.get("irregular"), text, anchor)


def body_holds(body: str, irregular: str | None, text: str, anchor: int | None = None) -> bool:
    """Does `normalize(body)` contain `text` (normalized)?  Where
    `analysis.raw_starts` finds it may begin, the stretch between the line
    ends or sentence marks around is normalized to make sure (see
    `analysis.fold_stretches`).  When none holds it and `text` has no
    whitespace, only the stretches around the body's `irregular` spans
    (`analysis.irregular_spans`, kept in its record) can: those are
    normalized to tell.  Otherwise the whole body is.  `anchor`: the
    offset of the character of `text` to look for first (`raw_starts`)."""
    end = -1
    tries = 0
    for at in raw_starts(body, text, anchor=anchor):
        if at + len(text) <= end:  # in a stretch already normalized
            continue
        if tries == STRETCHES:
            break
        tries += 1
        ((start, end),) = fold_stretches(body, [(at, at + 1)], len(text))
        if text in normalize(body[start:end]):
            return True
    else:
        if irregular is not None and " " not in text:
            spans = unpack_spans(irregular)
            if len(spans) <= SPANS:
                stretches = fold_stretches(body, spans, len(text))
                if sum(end - start for start, end in stretches) * 2 < len(body):
                    return any(text in normalize(body[start:end]) for start, end in stretches)
    return text in normalize(body)


STRETCHES = 8  # stretches of finds normalized, at most, before the whole body is
SPANS = 256    # irregular spans looked at, at most (their stretches, unless they
               # hold half the body, are normalized instead of the whole body)


# what `first_start` answers when the index's positions cannot tell
UNKNOWN = -1


def first_start(reader: Any, part: str, text: str, doc: int) -> int | None:
    """Where `text` (two characters or more) first starts in the normalized
    `part` of one document of a segment (local number `doc`); None when it
    does not occur there; UNKNOWN when positions cannot tell (bigrams
    without positions alone cover a character)."""
    fieldname = CHAR_FIELDS[part]
    cover = covering_bigrams(text)
    infos = [term_info(reader, fieldname, gram) for gram in cover]
    if any(info is None for info in infos):
        return None
    if not all(map(has_positions, infos)):
        grams = _bigrams(text)
        infos = [term_info(reader, fieldname, gram) for gram in grams]
        if any(info is None for info in infos):
            return None
        positioned = _positioned_cover(len(text), {g: o for (g, o), info in zip(grams.items(), infos)
                                                   if has_positions(info)})
        if positioned is None:
            return UNKNOWN
        cover = positioned
    copies = copies_of(reader) if part == "b" else None
    if copies is not None:
        doc = copies.of.get(doc, doc)
    found: dict[str, dict[int, Any]] = {}
    for gram in cover:
        matcher, deleted = _raw_matcher(reader, fieldname, gram)
        postings = _walk_blocks(matcher, [doc], "values")
        if doc not in postings or doc in deleted:
            return None
        found[gram] = postings
    pairs = [(found[g][doc], off) for g in cover for off in cover[g]]
    starts = set(_starts(*pairs[0]))
    for data, off in pairs[1:]:
        starts.intersection_update(_starts(data, off))
    return min(starts, default=None)


def _aligned(doc: int, order: list[str], cover: dict[str, list[int]],
             found: dict[str, dict[int, Any]]) -> bool:
    """Is there a start s with every covering bigram at s + its offset?"""
    pairs = [(found[g][doc], off) for g in order for off in cover[g]]
    starts = set(_starts(*pairs[0]))
    for data, off in pairs[1:-1]:
        starts.intersection_update(_starts(data, off))
        if not starts:
            return False
    return not starts.isdisjoint(_starts(*pairs[-1]))


def _starts(data: str | bytes, offset: int) -> Iterable[int]:
    """The encoded positions of a bigram, each minus `offset` (the phrase
    start it implies), without building intermediate lists."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "surrogatepass")
    if ESCAPE_CHAR in data:
        return [p - offset for p in decode_positions(data)]
    shifted = accumulate(map(ord, data), initial=-offset)
    next(shifted)
    return shifted
