"""Text normalization, segmentation and the per-document postings.

Everything that turns text into index terms lives here, so the indexer and
the query side cannot disagree:

* `normalize` — NFKC, case folding, OpenCC t2s, whitespace runs → one space.
  This is the text the phrase contract is defined on.
* character terms — every adjacent pair of characters, with positions
  (``*c`` fields), and every distinct character (``*u`` fields, no
  positions).  A phrase of n ≥ 2 characters is bigrams at consecutive
  positions, an exact substring test; a single character is a unigram.
* word terms — jieba search-mode words (through rjieba) with sequential
  positions, used for relevance ranking.
"""

from __future__ import annotations

import heapq
import operator
import re
import threading
import unicodedata
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import accumulate, repeat
from typing import Any
from dataclasses import dataclass
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_lock = threading.Lock()
_converter: Callable[[str], str] | None = None

# Position deltas are stored as code points; this one means "add it and
# read on" so that documents longer than the code space still encode.
ESCAPE = 0x10FFFF
ESCAPE_CHAR = chr(ESCAPE)
SKETCH_SIZE = 48
SHINGLE = 4
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _t2s() -> Callable[[str], str]:
    global _converter
    if _converter is None:
        with _lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s").convert
    return _converter


def fold(text: str) -> str:
    """NFKC + case folding + Traditional→Simplified (no whitespace change)."""
    return _t2s()(_compatible(text))


def _compatible(text: str) -> str:
    """`fold` before Traditional→Simplified: NFKC and case folding."""
    if _SURROGATES.search(text):  # lone surrogates (undecodable bytes) cannot convert
        text = _SURROGATES.sub("\ufffd", text)
    text = _nfkc(text)
    folded = text.casefold()
    return _nfkc(folded) if folded != text else text


# Characters whose NFKC and case folding is one character whatever their
# neighbours (tests/test_analysis.py checks each): ASCII, Latin-1 letters
# but ß, common punctuation, the midline ellipsis, arrows, box drawing,
# CJK punctuation and brackets, the katakana middle dot, the ideographs
# (with extensions A-B), full-width ASCII and emoji.
_KEEPS_LENGTH = ("\x00-\x7f\xa0\xb7\xc0-\xde\xe0-\xff\u2013\u2014\u2018\u2019\u201c\u201d"
                 "\u2022\u2027\u22ef\u2190-\u2199\u2500-\u257f\u3000-\u3002\u3008-\u3011\u30fb\u30fc"
                 "\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff5e\U00020000-\U0002a6df\U0001f300-\U0001faff")
_MAY_CHANGE_LENGTH = re.compile(f"[^{_KEEPS_LENGTH}]")


def length_changes(text: str) -> list[tuple[int, int | None]]:
    """Where `fold` makes a character of `text` more than one: (index,
    characters added) for each such character ("…" → "...": 2), in order,
    and (index, None) where the result depends on the neighbours (combining
    marks, Hangul jamo) or holds whitespace.  NFKC and case folding are
    checked (most texts hold only characters known to fold one to one);
    OpenCC's t2s conversion is taken to keep lengths (it kept every line
    of the dev corpus's posts).  Whitespace is left to the caller."""
    changes = []
    for found in _MAY_CHANGE_LENGTH.finditer(text):
        grown = _growth(found.group())
        if grown != 0:
            changes.append((found.start(), grown))
    return changes


# what folds differently next to other characters (jamo), or to whitespace
_DEPENDS_ON_NEIGHBOURS = re.compile(r"[\s\u1100-\u11ff\u3131-\u318e\ua960-\ua97f\ud7b0-\ud7ff]")


@lru_cache(maxsize=4096)
def _growth(ch: str) -> int | None:
    """Characters `fold` adds to `ch` (see `length_changes`)."""
    if ch.isspace():
        return 0
    folded = _compatible(ch)
    if not folded or any(unicodedata.category(c)[0] == "M" for c in ch + folded) \
            or _DEPENDS_ON_NEIGHBOURS.search(ch + folded):
        return None
    return len(folded) - 1


# Full-width ASCII, the no-break and ideographic spaces and the ellipsis,
# mapped to what NFKC makes of them: Chinese text is full of full-width
# punctuation, and with it replaced first most text passes NFKC's quick
# check unchanged, which is far cheaper than normalizing.  The result is
# the same: each replacement is the character's own compatibility
# decomposition (tests/test_analysis.py compares with plain NFKC).
_FULL_WIDTH = {"\xa0": " ", "\u2026": "...", "\u3000": " ",
               **{chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}}
_FULL_WIDTH_RE = re.compile("[\xa0\u2026\u3000\uff01-\uff5e]")


def _nfkc(text: str) -> str:
    # one replace per distinct character: a callback per match costs more
    for ch in set(_FULL_WIDTH_RE.findall(text)):
        text = text.replace(ch, _FULL_WIDTH[ch])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


# Folding starts afresh after a line end or a sentence mark: no OpenCC
# phrase holds one, and NFKC composes nothing across one.  A stretch between
# two of them folds as it does in the whole text.
FOLD_CUTS = "\n。，、！？；："
_CUT = re.compile(f"[{FOLD_CUTS}]")


def fold_stretches(text: str, spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The stretches of `text` between line ends or sentence marks
    (`FOLD_CUTS`) that hold every match of `size` characters or less
    touching one of `spans` (sorted), overlapping ones merged.  Such a
    stretch folds as in the whole text."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        start = max(map(text.rfind, FOLD_CUTS, repeat(0), repeat(max(0, a - size + 1)))) + 1
        cut = _CUT.search(text, min(len(text), b + size - 1))
        end = cut.start() if cut is not None else len(text)
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


# Where characters that fold to a given one are looked for (see
# `raw_starts`): Latin, general punctuation, enclosed alphanumerics, CJK
# punctuation, the ideographs (and extension A), compatibility ideographs,
# CJK compatibility forms and the full-width forms.
_VARIANT_RANGES = ((0x20, 0x7F), (0xA0, 0x250), (0x2000, 0x2070), (0x2460, 0x2500), (0x3000, 0x3040),
                   (0x3400, 0x4DC0), (0x4E00, 0xA000), (0xF900, 0xFB00), (0xFE30, 0xFE70), (0xFF01, 0xFF5F))
_variants: dict[str, str] | None = None


def _fold_variants() -> dict[str, str]:
    """folded character → the other characters of `_VARIANT_RANGES` that
    `fold` makes it, on their own (built once: one OpenCC call, ~30 ms)."""
    global _variants
    if _variants is None:
        chars = [chr(code) for low, high in _VARIANT_RANGES for code in range(low, high)]
        found: dict[str, list[str]] = {}
        for ch, folded in zip(chars, fold("\n".join(chars)).split("\n")):
            if len(folded) == 1 and folded != ch:
                found.setdefault(folded, []).append(ch)
        _variants = {folded: "".join(chars) for folded, chars in found.items()}
    return _variants


@lru_cache(maxsize=1024)
def _raw_plan(needle: str, anchor: int | None) -> tuple[int, list[str], list[tuple[int, str]], list[int]] | None:
    """How `raw_starts` looks for `needle`: the offset of the character
    searched for (`anchor` when given), its variants (what to search for),
    (offset, variants) of the other characters, the offsets of the spaces;
    None for a blank needle."""
    if not needle.strip():
        return None
    variants = _fold_variants()
    classes = [ch + variants.get(ch, "") if ch != " " else "" for ch in needle]
    # an ideograph (rarer than letters) with few variants: finding one
    # character is several times faster than finding two
    if anchor is None or not classes[anchor]:
        anchor = min((i for i, cls in enumerate(classes) if cls),
                     key=lambda i: (needle[i] < "\u3400", len(classes[i])))
    others = [(i, cls) for i, cls in enumerate(classes) if cls and i != anchor]
    return anchor, list(classes[anchor]), others, [i for i, cls in enumerate(classes) if not cls]


def raw_starts(text: str, needle: str, start: int = 0, anchor: int | None = None) -> Iterator[int]:
    """The indexes of `text` (not normalized) from `start` on where
    `needle` (normalized) may begin, in order: each character is one that
    folds to the needle's on its own, a space any whitespace.  A candidate
    only (a fold can depend on the neighbouring characters): fold around it
    to make sure.  Conversely, this misses foldings that change lengths or
    depend on neighbours (NFKC's "…" → "...", OpenCC's 瞭解 → 了解, a
    whitespace run), so finding none proves nothing within the text's
    `irregular_spans`.

    The text is searched (`str.find`) for the variants of one character of
    the needle (the one at offset `anchor`, say the rarest, when given),
    and the others are checked around each find."""
    plan = _raw_plan(needle, anchor)
    if plan is None:
        return
    anchor, keys, classes, spaces = plan
    finds = [[text.find(key, start + anchor), key] for key in keys]
    finds = [find for find in finds if find[0] >= 0]
    last = len(text) - len(needle)
    while finds:
        find = min(finds) if len(finds) > 1 else finds[0]
        at = find[0] - anchor
        if at > last:
            return
        if at >= start and all(text[at + i] in cls for i, cls in classes) \
                and all(text[at + i].isspace() for i in spaces):
            yield at
        find[0] = text.find(find[1], find[0] + 1)
        if find[0] < 0:
            finds.remove(find)


def normalize(text: str) -> str:
    """The canonical form that phrases are matched on (see module doc)."""
    return normalize_folded(fold(text))


def normalize_folded(folded: str) -> str:
    """`normalize` given the text's `fold`."""
    return _SPACES.sub(" ", _CONTROLS.sub("", folded)).strip()


_alone: Any = None


def irregular_spans(text: str, folded: str) -> str | None:
    """Where `raw_starts` may miss a needle in `text` (whose `fold` is
    `folded`), packed: the spans of characters that `fold` does not make
    one character each, either itself or what it folds to on its own (one
    of `raw_starts`'s variants), and of control characters; a line whose
    folding changes its length is one span ("…" → "...").  Elsewhere
    `raw_starts` misses no occurrence of a needle without whitespace.  Each
    span is two code points: its distance from the end of the one before,
    and its length; "" when there is none (83% of the dev corpus's posts:
    OpenCC's 回覆 → 回复 and "……" are the usual spans).  None when a number
    is too large for a code point."""
    pieces = [(0, text, folded)]
    if len(folded) != len(text):  # (folding keeps line ends: compare line by line)
        lines, made = text.split("\n"), folded.split("\n")
        if len(lines) != len(made):
            return _pack_spans([(0, len(text))])
        starts = accumulate((len(line) + 1 for line in lines), initial=0)
        pieces = list(zip(starts, lines, made))
    spans: list[tuple[int, int]] = []
    for offset, raw, made in pieces:
        if len(raw) != len(made):
            spans.append((offset, offset + len(raw)))
        elif raw != made or _CONTROLS.search(raw):
            spans.extend((offset + a, offset + b) for a, b in _irregular_runs(raw, made))
    return _pack_spans(spans)


def _irregular_runs(raw: str, made: str) -> list[tuple[int, int]]:
    """The runs of characters of `raw` (folded to `made`, as long) that
    are irregular in the sense of `irregular_spans`."""
    global _alone
    import numpy as np

    if _alone is None:
        alone = np.arange(0x110000, dtype=np.uint32)
        for target, chars in _fold_variants().items():
            alone[[ord(ch) for ch in chars]] = ord(target)
        _alone = alone
    codes = np.frombuffer(raw.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    folds = np.frombuffer(made.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    wrong = (codes != folds) & (_alone[codes] != folds)
    wrong |= (codes <= 8) | (codes == 11) | (codes == 12) | ((codes >= 14) & (codes <= 31)) | (codes == 127)
    edges = np.flatnonzero(np.diff(wrong, prepend=False, append=False))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _pack_spans(spans: list[tuple[int, int]]) -> str | None:
    numbers = []
    end = 0
    for a, b in spans:
        numbers += (a - end, b - a)
        end = b
    if max(numbers, default=0) >= 0x110000:
        return None
    return "".join(map(chr, numbers))


def unpack_spans(packed: str) -> list[tuple[int, int]]:
    """The spans `irregular_spans` packed, as (start, end) pairs."""
    spans = []
    end = 0
    numbers = map(ord, packed)
    for gap, size in zip(numbers, numbers):
        spans.append((end + gap, end + gap + size))
        end += gap + size
    return spans


def normalize_label(label: str) -> str:
    """Canonical form of a tag, category or author for exact matching."""
    return normalize(label)


def segment(text: str) -> list[str]:
    """jieba search-mode words of already normalized text, via rjieba.

    Whitespace and punctuation-only pieces are dropped; Latin words and
    numbers stay tokens of their own.
    """
    # most pieces are all letters or digits: str.isalnum says so at C speed
    return [w for w in _jieba().cut_for_search(text) if w.isalnum() or _is_word(w)]


def cut_words(text: str) -> list[str]:
    """jieba precise-mode words of normalized text (no overlaps)."""
    return [w for w in _jieba().cut(text) if w.strip()]


# ------------------------------------------------------- user dictionary

DictEntry = tuple[str, "int | None", "str | None"]
_segmenter: Any = None
_dictionary: tuple[DictEntry, ...] = ()


def _jieba() -> Any:
    if _segmenter is not None:
        return _segmenter
    import rjieba

    return rjieba


def use_dictionary(entries: Iterable[DictEntry]) -> None:
    """Segment with jieba's dictionary plus these user words from now on."""
    global _segmenter, _dictionary
    entries = tuple(entries)
    if entries == _dictionary:
        return
    if not entries:
        _segmenter = None
    else:
        import rjieba

        jieba = rjieba.Jieba()
        for word, freq, tag in entries:
            jieba.add_word(word, freq, tag)
        _segmenter = jieba
    _dictionary = entries


def parse_dictionary(text: str) -> list[DictEntry]:
    """jieba's user-dictionary format: `word [frequency] [tag]` per line;
    words are normalized like the texts they segment.  Raises ValueError
    naming the line for a bad frequency."""
    entries: dict[str, DictEntry] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        word = normalize(fields[0])
        freq = None
        tag = None
        rest = fields[1:]
        if rest and rest[0].isdigit():
            freq = int(rest.pop(0))
        elif rest and rest[0][:1].isdigit():
            raise ValueError(f"line {number}: {rest[0]!r} is not a frequency")
        if rest:
            tag = rest[0]
        if word:
            entries[word] = (word, freq, tag)
    return sorted(entries.values(), key=lambda e: e[0])


def format_dictionary(entries: Iterable[DictEntry]) -> str:
    lines = []
    for word, freq, tag in entries:
        lines.append(" ".join(str(x) for x in (word, freq, tag) if x is not None))
    return "\n".join(lines) + ("\n" if lines else "")


def _is_word(token: str) -> bool:
    for ch in token:
        if ch.isalnum():
            return True
    return False


def encode_positions(positions: list[int]) -> str:
    """Ascending positions → compact text: one code point per delta.

    Pickled as UTF-8 by Whoosh, this costs one byte for a delta below 128
    and two below 2048.  Deltas too large for one code point are split with
    `ESCAPE` ("add ESCAPE and read on").
    """
    out = []
    last = 0
    for pos in positions:
        delta = pos - last
        last = pos
        while delta >= ESCAPE:
            out.append(ESCAPE)
            delta -= ESCAPE
        out.append(delta)
    return "".join(map(chr, out))


def decode_positions(data: str | bytes) -> list[int]:
    """Inverse of `encode_positions`."""
    if isinstance(data, bytes):
        data = data.decode("utf-8", "surrogatepass")
    positions = list(accumulate(map(ord, data)))
    if ESCAPE_CHAR in data:
        positions = _decode_escaped(data)
    return positions


def _decode_escaped(data: str) -> list[int]:
    positions = []
    pos = 0
    carry = 0
    for code in map(ord, data):
        if code == ESCAPE:
            carry += ESCAPE
            continue
        pos += code + carry
        carry = 0
        positions.append(pos)
    return positions


def frequency(value: str) -> int:
    """How many positions an encoded value holds."""
    return len(value) - value.count(ESCAPE_CHAR) if ESCAPE_CHAR in value else len(value)


def group_positions(keys: Iterable[str]) -> dict[str, list[int]]:
    """Each distinct key with the positions (0, 1, 2, …) where it occurs."""
    out: dict[str, list[int]] = {}
    get = out.get
    for i, key in enumerate(keys):
        found = get(key)
        if found is None:
            out[key] = [i]
        else:
            found.append(i)
    return out


def bigram_positions(text: str) -> dict[str, list[int]]:
    """Each adjacent character pair of `text` with its start positions."""
    return group_positions(map(operator.add, text[:-1], text[1:]))


def word_counts(words: list[str]) -> dict[str, int]:
    """Each word with how often it occurs (ranking needs no word positions:
    phrases are matched on the character bigrams)."""
    return dict(Counter(words))


@dataclass(frozen=True)
class FieldPostings:
    """One field of one document, ready for the index writer.

    `terms` maps each term to its encoded positions (character pairs), to
    its count (word fields) or to "" (presence only); character fields give
    it as `CodedTerms`.  `length` is the field length used by BM25
    (characters or words).
    """

    terms: CodedTerms | dict[str, int]
    length: int


def encoded_bigrams(text: str) -> dict[str, str]:
    """Each adjacent character pair of `text` with its start positions
    encoded, in order of first occurrence (the plain form of
    `coded_bigrams`, which the indexer uses)."""
    return {t: encode_positions(p) for t, p in bigram_positions(text).items()}


class CodedTerms(Mapping[str, str]):
    """A character field's terms of one document in bulk (what the segment
    writer takes without a Python step per term): each distinct term as an
    integer code that sorts as the term does (the code points of its
    `width` characters, 21 bits each), ascending; and, for positional
    fields, the length of each term's encoded positions and those encodings
    joined in the same order.  As a mapping it is term → encoded positions
    ("" without positions), made when first read (tests, Whoosh's own
    writer)."""

    def __init__(self, codes: Any, width: int, sizes: Any = None, encoded: str = "") -> None:
        self.codes = codes        # numpy uint64, ascending
        self.width = width
        self.sizes = sizes        # numpy uint32 (positional fields) or None
        self.encoded = encoded
        self._mapping: dict[str, str] | None = None

    def _terms(self) -> dict[str, str]:
        if self._mapping is None:
            terms = decode_terms(self.codes, self.width)
            if self.sizes is None:
                self._mapping = dict.fromkeys(terms, "")
            else:
                ends = list(accumulate(self.sizes.tolist()))
                values = map(self.encoded.__getitem__, map(slice, [0] + ends[:-1], ends))
                self._mapping = dict(zip(terms, values))
        return self._mapping

    def __getitem__(self, term: str) -> str:
        return self._terms()[term]

    def __iter__(self) -> Iterator[str]:
        return iter(self._terms())

    def __len__(self) -> int:
        return len(self.codes)


_CODE_BITS = 21  # bits of a code point


def _code_points(text: str) -> Any:
    import numpy as np

    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def decode_terms(codes: Any, width: int) -> list[str]:
    """The terms of `width` characters that integer `codes` stand for (see
    `CodedTerms`)."""
    import numpy as np

    points = np.empty((len(codes), width), dtype=np.uint32)
    for i in range(width):
        points[:, i] = (codes >> np.uint64(_CODE_BITS * (width - 1 - i))) & np.uint64(0x1FFFFF)
    joined = points.tobytes().decode("utf-32-le", "surrogatepass")
    return list(map(joined.__getitem__, map(slice, range(0, len(joined), width),
                                            range(width, len(joined) + 1, width))))


def coded_bigrams(text: str) -> CodedTerms:
    """`encoded_bigrams` in bulk form: the pairs' codes ascending, the
    length of each pair's encoded positions and the encodings (the same
    strings as `encoded_bigrams` gives), made with numpy in a few passes."""
    import numpy as np

    count = len(text) - 1
    if count < 1 or count >= ESCAPE:  # positions that need ESCAPE: the general way
        return _coded_from(encoded_bigrams(text) if count >= 1 else {}, 2)
    points = _code_points(text)
    pairs = (points[:-1].astype(np.uint64) << np.uint64(_CODE_BITS)) | points[1:]
    order = np.argsort(pairs, kind="stable")  # each pair's positions ascending
    grouped = pairs[order]
    first = np.empty(count, dtype=bool)  # where each pair's positions begin
    first[0] = True
    np.not_equal(grouped[1:], grouped[:-1], out=first[1:])
    previous = np.empty_like(order)
    previous[0] = 0
    previous[1:] = order[:-1]
    previous[first] = 0  # a pair's first delta is its first position
    deltas = (order - previous).astype(np.uint32)
    starts = np.flatnonzero(first)
    sizes = np.diff(starts, append=count).astype(np.uint32)
    return CodedTerms(grouped[starts], 2, sizes, deltas.tobytes().decode("utf-32-le", "surrogatepass"))


def coded_chars(text: str) -> CodedTerms:
    """The distinct characters of `text` but the space, as `CodedTerms`."""
    import numpy as np

    points = np.unique(_code_points(text))
    return CodedTerms(points[points != ord(" ")].astype(np.uint64), 1)


def _coded_from(terms: dict[str, str], width: int) -> CodedTerms:
    """`CodedTerms` of a plain term → encoded positions mapping."""
    import numpy as np

    ordered = sorted(terms)
    codes = [0] * len(ordered)
    for i in range(width):
        codes = [(c << _CODE_BITS) | ord(t[i]) for c, t in zip(codes, ordered)]
    values = [terms[t] for t in ordered]
    return CodedTerms(np.array(codes, dtype=np.uint64), width,
                      np.array(list(map(len, values)), dtype=np.uint32), "".join(values))


def analyze_text(text: str, prefix: str) -> dict[str, FieldPostings]:
    """All index fields for one text (title: prefix "t", body: "b")."""
    return analyze_normalized(normalize(text), prefix)


def sketch(norm: str, size: int = SKETCH_SIZE) -> list[int]:
    """A bottom-k MinHash sketch of the text's 4-character shingles: the
    `size` smallest CRC-32 values, ascending (see `sketch_similarity`)."""
    text = norm.replace(" ", "")
    if len(text) < SHINGLE:
        shingles = {text} if text else set()
    else:
        shingles = {text[i:i + SHINGLE] for i in range(len(text) - SHINGLE + 1)}
    return heapq.nsmallest(size, map(zlib.crc32, map(str.encode, shingles)))


def sketch_similarity(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two texts' shingle sets from their
    bottom-k sketches: the share of the k smallest values of the union that
    both texts have."""
    size = min(len(a), len(b))
    if not size:
        return 0.0
    union = heapq.nsmallest(size, set(a) | set(b))
    both = set(a) & set(b)
    return sum(1 for h in union if h in both) / size


def analyze_normalized(norm: str, prefix: str) -> dict[str, FieldPostings]:
    """`analyze_text` for text that is already normalized."""
    words = segment(norm)
    chars = coded_chars(norm)
    return {
        prefix + "c": FieldPostings(coded_bigrams(norm), len(norm)),
        prefix + "u": FieldPostings(chars, len(chars)),
        prefix + "w": FieldPostings(word_counts(words), len(words)),
    }
