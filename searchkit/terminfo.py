"""Compact term infos for the segments searchkit writes (part of the indexer stage).

Most terms of a segment are rare character bigrams whose few postings
live inside the term info.  Whoosh's W3TermInfo spends a 23-byte
header on them plus a pickle of the postings (about 52 bytes a term on the
development corpus).  `LeanTermInfo` keeps the W3 layout for terms with
posting blocks and packs inlined ones like the lean blocks: a head (flags,
shortest and longest field length unless both are 0, count) and one UTF-8
string of id deltas, weights, value lengths (none when every value is one
character: a bigram found once in each post) and values.  Document
frequency, weights and id range follow from the postings.  It reads the
W3 layout too, so indexes written before stay readable.  The classes are
found through the pickled codec: keep them at this import path.

`SortedTermsReader` reads the same term infos from the sorted term table
of `termtable` (segments written by a codec with `sorted_terms`);
`LeanTermsReader` reads Whoosh's hash table of older segments.
"""

from __future__ import annotations

from itertools import accumulate
from operator import sub
from typing import Any

from whoosh.codec.base import FieldCursor
from whoosh.codec.whoosh3 import W3FieldCursor, W3TermInfo, W3TermsReader
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length, length_to_byte

from .termtable import SortedTable

LEAN = 2           # first byte of a lean inlined term info (W3 writes 0 or 1)
HAS_WEIGHTS = 4    # flag: weights follow the ids
HAS_VALUES = 8     # flag: value lengths and values follow
NO_LENGTHS = 16    # flag: no field length bytes (both 0: an unscored field)
SINGLE_VALUES = 32  # flag: every value is one character, no value lengths
HAS_COPIES = 64    # flag: the postings' documents have copies (their count leads the string)


def lean_bytes(flags: int, low: int, high: int, count: int, numbers: list[Any], values: str,
               copies: int = 0) -> bytes | None:
    """A lean inlined term info: the head (flags, the shortest and longest
    field length bytes unless both are 0, the number of postings), then the
    copies (when any), `numbers` and `values` as one UTF-8 string.  None when
    a number is no code point (too large, or not an integer)."""
    if copies:
        flags |= HAS_COPIES
        numbers = [copies, *numbers]
    try:
        text = "".join(map(chr, numbers)) + values
    except (TypeError, ValueError):
        return None
    head = bytes((flags | NO_LENGTHS, count)) if low == high == 0 else bytes((flags, low, high, count))
    return head + text.encode("utf-8", "surrogatepass")


class LeanTermInfo(W3TermInfo):
    """W3TermInfo with inlined postings packed instead of pickled.

    `copies`: documents that share the body of one of the postings'
    documents and have no postings of their own (segments.COPIES_EXT).
    They count in the document frequency: the writer adds them to `_df`,
    which the W3 layout stores and the lean one leaves out."""

    copies = 0

    def to_bytes(self) -> bytes:
        if not self.is_inlined():
            return super().to_bytes()
        ids, weights, values = self._inlined
        if not 0 < len(ids) < 256:
            return super().to_bytes()
        single = bool(values) and all(len(v) == 1 for v in values)
        numbers = [ids[0], *map(sub, ids[1:], ids[:-1]), *weights]
        if not single:
            numbers += map(len, values)
        flags = LEAN | (HAS_WEIGHTS if weights else 0) | (HAS_VALUES if values else 0)
        flags |= SINGLE_VALUES if single else 0
        minlength = 0 if self._minlength is None else length_to_byte(self._minlength)
        packed = lean_bytes(flags, minlength, length_to_byte(self._maxlength), len(ids), numbers,
                            "".join(values), self.copies)
        return super().to_bytes() if packed is None else packed

    @classmethod
    def from_bytes(cls, s: bytes) -> Any:
        flags = s[0]
        if not flags & LEAN:
            return super().from_bytes(s)
        if flags & NO_LENGTHS:
            low = high = 0
            count = s[1]
            text = s[2:].decode("utf-8", "surrogatepass")
        else:
            low, high, count = s[1], s[2], s[3]
            text = s[4:].decode("utf-8", "surrogatepass")
        copies = 0
        if flags & HAS_COPIES:
            copies = ord(text[0])
            text = text[1:]
        ids = tuple(accumulate(map(ord, text[:count])))
        pos = count
        weights: tuple[int, ...] = ()
        if flags & HAS_WEIGHTS:
            weights = tuple(map(ord, text[pos:pos + count]))
            pos += count
        values: tuple[str, ...] = ()
        if flags & SINGLE_VALUES:
            values = tuple(text[pos:])
        elif flags & HAS_VALUES:
            ends = list(accumulate(map(ord, text[pos:pos + count]), initial=pos + count))
            values = tuple(text[a:b] for a, b in zip(ends, ends[1:]))
        info = cls()
        info._inlined = (ids, weights, values)
        info._df = count + copies
        info._weight = float(sum(weights)) if weights else float(count)
        info._maxweight = float(max(weights)) if weights else 1.0
        info._minid, info._maxid = ids[0], ids[-1]
        info._minlength = byte_to_length(low)
        info._maxlength = byte_to_length(high)
        return info


class LeanTermsReader(W3TermsReader):
    """W3TermsReader decoding term infos with LeanTermInfo (W3 reads
    frequencies at fixed offsets of its own layout)."""

    def _info(self, fieldname: str, tbytes: bytes) -> Any:
        return LeanTermInfo.from_bytes(self._tindex[self._keycoder(fieldname, tbytes)])

    def term_info(self, fieldname: str, tbytes: bytes) -> Any:
        try:
            return self._info(fieldname, tbytes)
        except KeyError:
            raise TermNotFound(f"No term {fieldname}:{tbytes!r}") from None

    def frequency(self, fieldname: str, tbytes: bytes) -> float:
        return self._info(fieldname, tbytes).weight()  # KeyError when absent, as W3

    def doc_frequency(self, fieldname: str, tbytes: bytes) -> int:
        return self._info(fieldname, tbytes).doc_frequency()

    def items(self) -> Any:
        decode = self._keydecoder
        return ((decode(k), LeanTermInfo.from_bytes(v)) for k, v in self._tindex.items())

    def items_from(self, fieldname: str, prefix: bytes) -> Any:
        decode = self._keydecoder
        return ((decode(k), LeanTermInfo.from_bytes(v))
                for k, v in self._tindex.items_from(self._keycoder(fieldname, prefix)))

    def cursor(self, fieldname: str, fieldobj: Any) -> Any:
        return _LeanCursor(self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj)


class _LeanCursor(W3FieldCursor):
    def term_info(self) -> Any:
        if self._pos is None:
            return None
        return LeanTermInfo.from_bytes(self._tindex.dbfile.get(self._datapos, self._datalen))


class SortedTermsReader(LeanTermsReader):
    """LeanTermsReader over a sorted term table instead of a hash table."""

    def __init__(self, codec: Any, dbfile: Any, length: int, postfile: Any) -> None:
        # what W3TermsReader.__init__ sets up, on the other table
        self._codec = codec
        self._dbfile = dbfile
        self._tindex = SortedTable(dbfile, length)
        self._fieldmap = self._tindex.extras["fieldmap"]
        self._postfile = postfile
        self._fieldunmap = [None] * len(self._fieldmap)
        for fieldname, num in self._fieldmap.items():
            self._fieldunmap[num] = fieldname

    def cursor(self, fieldname: str, fieldobj: Any) -> Any:
        return _SortedCursor(self._tindex, fieldname, self._keycoder, self._keydecoder, fieldobj)


class _SortedCursor(FieldCursor):
    """W3FieldCursor's behaviour over a sorted term table: walks the terms
    of one field in order from the start or from a term."""

    def __init__(self, table: SortedTable, fieldname: str, keycoder: Any, keydecoder: Any,
                 fieldobj: Any) -> None:
        self._table = table
        self._fieldname = fieldname
        self._keycoder = keycoder
        self._keydecoder = keydecoder
        self._fieldobj = fieldobj
        self._entries: Any = iter(())
        self._text: Any = None
        self._value: bytes | None = None
        self.first()

    def first(self) -> Any:
        return self._start(b"")

    def find(self, term: Any) -> Any:
        if not isinstance(term, bytes):
            term = self._fieldobj.to_bytes(term)
        return self._start(term)

    def _start(self, tbytes: bytes) -> Any:
        self._entries = self._table.items_from(self._keycoder(self._fieldname, tbytes))
        return self.next()

    def next(self) -> Any:
        for keybytes, value in self._entries:
            fieldname, tbytes = self._keydecoder(keybytes)
            if fieldname == self._fieldname:
                self._text = self._fieldobj.from_bytes(tbytes)
                self._value = value
                return self._text
            break
        self._entries = iter(())
        self._text = self._value = None
        return None

    def text(self) -> Any:
        return self._text

    def term_info(self) -> Any:
        return None if self._value is None else LeanTermInfo.from_bytes(self._value)

    def is_valid(self) -> bool:
        return self._value is not None
