"""Snippets: a window of a post's visible text around the first match,
with the matched spans marked (offsets into the snippet text)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterator
from functools import lru_cache
from itertools import accumulate, chain, islice, repeat

from .analysis import FOLD_CUTS, fold, fold_stretches, length_changes, raw_starts, unpack_spans

WIDTH = 120
_OTHER_SPACE = re.compile(r"[^\S ]")
_VISIBLE_RUN = re.compile(r"\S+")
QUICK = 200   # characters folded first when looking for the first match
PREFIX = 400  # characters (to a line end) folded next
# How far a character's folding can depend on the characters after it:
# OpenCC converts by longest dictionary match (its longest t2s phrase is
# 10 characters) and NFKC composes only a character's combining marks.
FOLD_REACH = 16
LINE_REACH = 1000  # characters of a line folded before a located window, at most
# what normalization drops or shrinks: control characters and whitespace runs
_DROPPED = re.compile(r"[\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold_with_map(text: str) -> tuple[str, list[int] | None]:
    """Folded text and, when folding changed the length, a map from each
    folded character to its index in `text` (None means 1:1).

    Lines are folded on their own (folding never crosses a line end); only
    the lines whose length changes are mapped character by character.
    """
    folded = fold(text)
    if len(folded) == len(text):
        return folded, None
    lines = text.split("\n")
    pieces = folded.split("\n")
    if len(pieces) != len(lines):  # folding made or removed a line end
        pieces = [fold(line) for line in lines]
    owners: list[int] = []
    start = 0
    for i, line in enumerate(lines):
        if len(pieces[i]) == len(line):
            owners.extend(range(start, start + len(line)))
        else:
            pieces[i], line_owners = _fold_chars(line)
            owners.extend(map(start.__add__, line_owners))
        owners.append(start + len(line))  # the line end
        start += len(line) + 1
    owners.pop()
    return "\n".join(pieces), owners


def _fold_chars(text: str) -> tuple[str, list[int]]:
    """`fold` character by character, with the map back to `text`."""
    pieces = list(map(_fold_char, text))
    owners = list(chain.from_iterable(map(repeat, range(len(pieces)), map(len, pieces))))
    joined = "".join(pieces)
    converted = fold(joined)
    if len(converted) != len(joined):
        converted = joined
    return converted, owners


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One character's NFKC + case folding (before Traditional→Simplified)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", ch).casefold())


def _spaces_to_blank(text: str) -> str:
    """Every whitespace character as a plain space (lengths unchanged)."""
    return _OTHER_SPACE.sub(" ", text)


def make_snippet(text: str, needles: list[str], width: int = WIDTH,
                 locate: Callable[[], int | None] | None = None,
                 table: str | None = None, irregular: str | None = None) -> tuple[str, tuple[tuple[int, int], ...]]:
    """A window of `text` around the first needle and the needles' spans in it.

    Needles are normalized query strings; matching is done on the folded
    text so that Traditional/Simplified, width and case do not matter.
    `locate`, when given, tells where the first needle starts in the
    normalized text (-1: nowhere; None: unknown), as the index's positions
    do: a late first match is then found without folding all before it.
    `table`: `position_table(text)`, from the post's record.
    `irregular`: the text's `analysis.irregular_spans`, from the record too:
    with them the first match is found in the text as it is
    (`_found_raw`), and only the window around it is folded.
    """
    if not text:
        return "", ()
    longest = max(map(len, needles), default=0)
    if irregular is not None and 0 < longest < width // 2 and len(text) > QUICK + width \
            and not any(" " in needle for needle in needles):
        found = _found_raw(text, needles, width, longest, unpack_spans(irregular))
        if found is not None:
            return found
    if len(text) > QUICK + width:
        # Most first matches are within a few dozen characters: fold just the
        # first QUICK.  Cut mid-line, the start folds as in the whole text up
        # to FOLD_REACH characters before the cut; the first match and the
        # window must end before that.
        folded, owners = fold_with_map(text[:QUICK])
        folded = _spaces_to_blank(folded)
        starts = [i for i in map(folded.find, needles) if i >= 0]
        if starts and _owner(owners, min(starts), QUICK) + width + longest + FOLD_REACH < QUICK:
            return _window(text, folded, owners, needles, width)
        if locate is not None and longest < width // 2:
            found = _located(text, needles, width, locate(), table)
            if found is not None:
                return found
    # Otherwise fold a longer start, cut at a line end (folding never crosses
    # one), and fold more, a piece at a time, while it does not hold the window.
    folded, owners = "", None
    done = 0
    cut = text.find("\n", PREFIX)
    while 0 <= cut < len(text) - width:
        folded, owners = _fold_more(text, folded, owners, done, cut)
        done = cut
        starts = [i for i in map(folded.find, needles) if i >= 0]
        if starts and _owner(owners, min(starts), cut) + width + 4 * longest < cut:
            return _window(text, folded, owners, needles, width)
        cut = text.find("\n", cut * 4)
    folded, owners = _fold_more(text, folded, owners, done, len(text))
    return _window(text, folded, owners, needles, width)


def _fold_more(text: str, folded: str, owners: list[int] | None, done: int,
               end: int) -> tuple[str, list[int] | None]:
    """`folded` (text[:done] folded, blanks for whitespace) with
    text[done:end] folded on, and the map back to `text`."""
    more, more_owners = fold_with_map(text[done:end])
    if owners is None and more_owners is not None:
        owners = list(range(len(folded)))
    if owners is not None:
        owners.extend(map(done.__add__, more_owners or range(len(more))))
    return folded + _spaces_to_blank(more), owners


def _owner(owners: list[int] | None, i: int, end: int) -> int:
    """The index in the original text of folded character `i`."""
    if owners is None:
        return i
    return owners[i] if i < len(owners) else end


def _located(text: str, needles: list[str], width: int, first: int | None,
             table: str | None = None) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """The snippet around the first match, given where it starts in the
    normalized text (-1: no match): only the window, from the sentence it
    starts in, is folded.  None when that position cannot be mapped back or
    does not lead to a match (a fold whose length depends on neighbours, or
    OpenCC changing lengths): the caller folds from the start instead."""
    if first is None:
        return None
    if first < 0:
        end = min(len(text), width + FOLD_REACH)
        folded, owners = fold_with_map(text[:end])
        return _window(text, _spaces_to_blank(folded), owners, needles, width, first=0)
    at = _original_offset(text, first, table)
    # (if OpenCC changed lengths, the window would almost surely not hold
    # the needle and is not used)
    if at is None:
        return None
    return _located_at(text, needles, width, at)


RAW_TRIES = 4     # candidates of `analysis.raw_starts` checked before folding from the start
NEARBY_SPANS = 8  # irregular spans before a match folded, at most, before folding from the start


def _found_raw(text: str, needles: list[str], width: int, longest: int,
               spans: list[tuple[int, int]]) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """The snippet around the first match (of `needles`, `longest` the
    longest of them), found in the text as it is:
    the first place where `analysis.raw_starts` finds a needle that folding
    confirms, unless a match touching one of the `spans` (where raw_starts
    can miss one, see `analysis.irregular_spans`) comes first: the
    stretches around those before it are folded to tell.  None when the
    first few candidates are not confirmed, one cannot be checked, or
    there are too many spans: the caller folds from the start instead."""
    needles = [needle for needle in set(needles) if needle]
    searches = [raw_starts(text, needle) for needle in needles]
    firsts = sorted((at, k) for k, search in enumerate(searches) for at in islice(search, 1))
    found = None
    for _ in range(RAW_TRIES + 1):
        if not firsts:
            break
        at, k = firsts.pop(0)
        around = _fold_around(text, width, at)
        if around is None:
            return None
        found = _window_at(text, needles, width, at, *around)
        if found is not None:
            break
        for later in islice(searches[k], 1):
            insort(firsts, (later, k))
    else:
        return None
    limit = at if found is not None else len(text)
    nearby = [(a, b) for a, b in spans if a - longest < limit]
    if len(nearby) > NEARBY_SPANS:
        return None
    earlier = limit
    for start, end in fold_stretches(text, nearby, longest):
        folded = fold(text[start:end])
        if not any(needle in folded for needle in needles):
            continue  # (most hold none: no need to map the folding back)
        folded, owners = fold_with_map(text[start:end])
        starts = [i for i in map(folded.find, needles) if i >= 0]
        earlier = min(earlier, start + _owner(owners, min(starts), end - start))
    if earlier < limit:
        return _located_at(text, needles, width, earlier)
    return found if found is not None else _located(text, needles, width, -1)


def _located_at(text: str, needles: list[str], width: int,
                at: int) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """`_located` given the index in `text` where the first match starts."""
    around = _fold_around(text, width, at)
    if around is None:
        return None
    return _window_at(text, needles, width, at, *around)


def _fold_around(text: str, width: int, at: int) -> tuple[int, str, list[int] | None] | None:
    """(start, folding of text[start:…], its map back) for the window of a
    match at `at`, folded from the last line end or sentence mark before
    the window (folding never crosses one: no OpenCC phrase holds one);
    None when there is none within LINE_REACH."""
    lo = max(0, at - width // 3)
    hi = min(len(text), lo + width)
    lo = max(0, min(lo, hi - width))
    start = max(map(text.rfind, FOLD_CUTS, repeat(max(0, lo - LINE_REACH)), repeat(lo))) + 1
    if start == 0 and lo > LINE_REACH:
        return None
    folded, owners = fold_with_map(text[start:min(len(text), hi + FOLD_REACH)])
    return start, _spaces_to_blank(folded), owners


def _window_at(text: str, needles: list[str], width: int, at: int, start: int, folded: str,
               owners: list[int] | None) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """The snippet around a match at `at`, given `_fold_around`; None when
    no needle starts there."""
    i = at - start if owners is None else bisect_left(owners, at - start)
    if owners is not None and (i >= len(owners) or owners[i] != at - start):
        return None
    if not any(folded.startswith(needle, i) for needle in needles if needle):
        return None
    return _window(text, folded, owners, needles, width, base=start, first=at)


def _original_offset(text: str, position: int, table: str | None = None) -> int | None:
    """The index in `text` of normalized character `position`: `normalize`
    drops control characters, makes each whitespace run one space, strips
    the ends, and folding makes a few characters longer ("…" → "...", see
    `analysis.length_changes`).  None where no needle can start (a space,
    inside a character's longer folding) or when folding before it depends
    on neighbouring characters.  `table`: `position_table(text)`, when the
    post's record has it (reading it is far cheaper than scanning `text`)."""
    events = _length_events(text) if table is None else _table_events(table)
    shift = 0  # original index − normalized index so far
    for start, kind, size in events:
        if kind >= GROWS:  # the folding of one character, from `start` on
            if start >= position:
                break
            if kind == UNKNOWN or position <= start + size:
                return None  # inside its folding, or unknown after it
            shift -= size
        else:  # a run of `size` characters that normalizing drops or makes a space
            if start > position:
                break
            if kind == SPACE:
                if start == position:
                    return None  # a space: no needle starts there
                shift += size - 1
            else:
                shift += size
    at = position + shift
    return at if at < len(text) else None


# kinds of length event: a dropped run, a run kept as one space, a character
# that folds longer, one whose folding depends on its neighbours
DROPPED, SPACE, GROWS, UNKNOWN = 0, 1, 2, 3


def _length_events(text: str) -> Iterator[tuple[int, int, int]]:
    """(normalized position, kind, size) of each place where `normalize`
    changes the length of `text`, in order (see `_original_offset`)."""
    changes = length_changes(text)
    shift = 0
    runs = _DROPPED.finditer(text)
    run = next(runs, None)
    k = 0
    while run is not None or k < len(changes):
        if k < len(changes) and (run is None or changes[k][0] < run.start()):
            index, grown = changes[k]
            k += 1
            if grown is None:
                yield index - shift, UNKNOWN, 0
                return
            yield index - shift, GROWS, grown
            shift -= grown
        else:
            start, end = run.span()  # type: ignore[union-attr]
            kept = 1 if start and _CONTROLS.sub("", run.group()) else 0  # type: ignore[union-attr]
            yield start - shift, SPACE if kept else DROPPED, end - start
            shift += end - start - kept
            run = next(runs, None)


def position_table(text: str) -> str | None:
    """`text`'s length events packed for its stored record: for each, the
    distance from the previous one's position, then 4 × size + kind, as
    code points (most posts have a few; smaller than a tuple of ints)."""
    numbers: list[int] = []
    last = 0
    for start, kind, size in _length_events(text):
        numbers += (start - last, 4 * size + kind)
        last = start
    if max(numbers, default=0) >= 0x110000:
        return None  # (a run of over 278,000 spaces: snippets scan the text instead)
    return "".join(map(chr, numbers))


def _table_events(table: str) -> Iterator[tuple[int, int, int]]:
    numbers = map(ord, table)
    start = 0
    for delta, code in zip(numbers, numbers):
        start += delta
        yield start, code & 3, code >> 2


def _window(text: str, folded: str, owners: list[int] | None, needles: list[str],
            width: int, base: int = 0,
            first: int | None = None) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The snippet of `text` given `folded`, the folding of text[base:…]
    (of its start when base is 0), and the map back.  `first`: the
    original index of the first match, when known."""
    def original(i: int) -> int:
        return base + _owner(owners, i, len(text) - base)

    if first is None:
        starts = [i for i in map(folded.find, needles) if i >= 0]
        first = original(min(starts)) if starts else 0
    lo = max(0, first - width // 3)
    hi = min(len(text), lo + width)
    lo = max(0, min(lo, hi - width))
    # matches starting in the window and ending before the first folded
    # character that comes from text[hi:] (none start before the first)
    begin = lo - base if owners is None else bisect_left(owners, lo - base)
    stop = hi - base if owners is None else bisect_left(owners, hi - base)
    found: list[tuple[int, int]] = []
    for needle in sorted(set(needles), key=len, reverse=True):
        if not needle:
            continue
        start = folded.find(needle, begin, stop)
        while start >= 0:
            found.append((original(start) - lo, original(start + len(needle) - 1) + 1 - lo))
            start = folded.find(needle, start + len(needle), stop)
    window = text[lo:hi]
    shown = " ".join(window.split())
    if window != shown:  # re-map spans after collapsing whitespace
        return _collapse_with_spans(window, found, lo > 0, hi < len(text))
    spans = _merge(found)
    prefix = "…" if lo > 0 else ""
    suffix = "…" if hi < len(text) else ""
    return prefix + shown + suffix, tuple((s + len(prefix), e + len(prefix)) for s, e in spans)


def _collapse_with_spans(window: str, spans: list[tuple[int, int]], cut_left: bool,
                         cut_right: bool) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The window with each whitespace run shown as one space (none at the
    ends) and the spans moved along (spans start and end next to visible
    characters: needles are stripped)."""
    pieces = [m.span() for m in _VISIBLE_RUN.finditer(window)]
    starts = [start for start, _ in pieces]
    shown_at = list(accumulate((end - start + 1 for start, end in pieces), initial=0))

    def moved(i: int) -> int:
        k = bisect_right(starts, i) - 1
        if k < 0:
            return 0  # in the leading run
        start, end = pieces[k]
        return shown_at[k] + min(i, end) - start

    prefix = "…" if cut_left else ""
    result = prefix + " ".join(window.split()) + ("…" if cut_right else "")
    shift = len(prefix)
    mapped = [(moved(s) + shift, moved(e) + shift) for s, e in _merge(spans)]
    return result, tuple((max(s, 0), min(e, len(result))) for s, e in mapped if e > s)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged
