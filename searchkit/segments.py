"""Writing Whoosh segments fast (part of the indexer stage).

Whoosh's own writer sends every posting through a sorting pool of Python
tuples and a per-posting `add()` call.  Here each field's postings are
appended to flat arrays as they arrive (a few C-level passes a document),
sorted by term once at the end (stably: documents come in order, so each
term's list is in document order), and each posting list is handed to
Whoosh's W3 block writer a block at a time.  Lists of fewer than INLINE
postings are packed into the term table: a block in the postings file
carries ~65 bytes of framing (pickled block info, lengths, the term info's
pointer) besides its data, more than the data itself for most character
bigrams (700,000 of the dev corpus's 1.9 M have 4-63 postings).  Small
blocks are not compressed.  Terms go into a sorted term table (see
`termtable`) instead of Whoosh's hash table.  The segments are read and
searched by Whoosh through the codec as usual.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from array import array
from collections.abc import Iterator
from itertools import accumulate, repeat
from operator import sub
from typing import Any

from whoosh import columns
from whoosh.codec.whoosh3 import (W3Codec, W3FieldWriter, W3LeafMatcher, W3PerDocReader, W3PerDocWriter,
                                  W3PostingsWriter)
from whoosh.matching import ListMatcher
from whoosh.system import pack_ushort
from whoosh.util.numeric import length_to_byte

from .analysis import CodedTerms, FieldPostings, decode_terms, frequency
from .schema import BODY_FIELDS, CHAR_FIELDS
from .terminfo import (HAS_VALUES, HAS_WEIGHTS, LEAN, SINGLE_VALUES, LeanTermInfo, LeanTermsReader,
                       SortedTermsReader, lean_bytes)
from .termtable import SortedTableWriter, loaded, memory_map, stored

BLOCK = 512         # postings a block (128 before: per-block overhead dominated long lists)
INLINE = 128        # posting lists shorter than this live in the term table
# Body bigrams in fewer posts than this are inlined with their documents
# only, no positions: 88% of the dev corpus's bigram terms, 31 MB of its
# 179 MB index (fewer than 128: 27 MB).  A phrase whose characters such
# bigrams alone cover is confirmed against the post's text
# (substring.body_holds): a few dozen microseconds a post.
SPARSE_BIGRAMS = 192
COMPRESS_FROM = 16  # blocks with fewer postings are not zlib-compressed


def new_codec() -> Any:
    return LeanCodec(blocklimit=BLOCK, compression=3, inlinelimit=INLINE, sorted_terms=True,
                     zstd_records=True)


# A block's ids, integral weights and str values are pickled by Whoosh one
# Python object each (3-9 bytes of overhead apiece).  The lean codec packs
# each list into one string of code points instead: ids as deltas, weights
# as integers, values joined with their lengths.  A list marks the packed
# form so that blocks of the plain W3 form still read.  The classes are
# pickled into the index: keep them at this import path.

def _pack_ints(numbers: Any) -> str:
    return "".join(map(chr, numbers))


class LeanPostingsWriter(W3PostingsWriter):
    """W3 block writer with packed ids, weights and values."""

    def _mini_ids(self) -> Any:
        ids = self._ids
        if self._byteids or not len(ids):
            return super()._mini_ids()
        deltas = [ids[0], *map(sub, ids[1:], ids)]
        if max(deltas) >= 0x110000:
            return super()._mini_ids()
        return [_pack_ints(deltas)]

    def _mini_weights(self) -> Any:
        weights = self._weights
        if weights.count(1.0) == len(weights):
            return None
        try:
            counts = list(map(int, weights))
        except (OverflowError, ValueError):  # infinite or NaN
            return super()._mini_weights()
        if counts == list(weights) and min(counts) >= 0 and max(counts) < 0x10FFFF:
            return [_pack_ints(counts)]
        return super()._mini_weights()

    def _mini_values(self) -> Any:
        values = self._values
        if values:
            try:
                joined = "".join(values)
            except TypeError:  # bytes: Whoosh's own form
                return super()._mini_values()
            return [joined, _pack_ints(map(len, values))]
        return super()._mini_values()


class LeanLeafMatcher(W3LeafMatcher):
    """Reads the blocks `LeanPostingsWriter` writes (and plain W3 ones)."""

    def _read_ids(self) -> None:
        if self._data is None:
            self._read_data()
        ids = self._data[0]
        if isinstance(ids, list):
            self._ids = tuple(accumulate(map(ord, ids[0])))
        else:
            super()._read_ids()

    def _read_weights(self) -> None:
        if self._data is None:
            self._read_data()
        weights = self._data[1]
        if isinstance(weights, list):
            self._weights = array("f", map(ord, weights[0]))
        else:
            super()._read_weights()

    def _read_values(self) -> None:
        if self._data is None:
            self._read_data()
        values = self._data[2]
        if isinstance(values, list):
            joined, lens = values
            ends = list(accumulate(map(ord, lens)))
            self._values = tuple(joined[s:e] for s, e in zip([0] + ends[:-1], ends))
        else:
            super()._read_values()

    def weights_at(self, at: list[int]) -> list[float]:
        """The weights of the postings at indexes `at` of this block,
        decoding only those."""
        if self._weights is None:
            if self._data is None:
                self._read_data()
            weights = self._data[1]
            if isinstance(weights, list):
                packed = weights[0]
                return [float(ord(packed[i])) for i in at]
            self._read_weights()
        weights = self._weights
        return [weights[i] for i in at]

    def values_at(self, at: list[int]) -> list[Any]:
        """The values of the postings at indexes `at` (ascending) of this
        block, decoding only those."""
        if self._values is None:
            if self._data is None:
                self._read_data()
            values = self._data[2]
            if isinstance(values, list):
                joined, lens = values
                ends = list(accumulate(map(ord, lens), initial=0))
                return [joined[ends[i]:ends[i + 1]] for i in at]
            self._read_values()
        return [self._values[i] for i in at]


class LeanCodec(W3Codec):
    """Whoosh's W3 codec with the lean posting blocks above, lean term
    infos (see `terminfo`) and, with `sorted_terms`, the sorted term table
    (see `termtable`).

    The codec is pickled into each segment: segments written before the
    sorted table have codecs without the attribute, and the class default
    keeps reading their hash tables."""

    sorted_terms = False
    zstd_records = False  # stored records as `RecordWriter` writes them (schema 4)

    def __init__(self, *args: Any, sorted_terms: bool = False, zstd_records: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sorted_terms = sorted_terms
        self.zstd_records = zstd_records

    def per_document_writer(self, storage: Any, segment: Any) -> Any:
        if self.zstd_records:
            return RecordWriter(self, storage, segment)
        return super().per_document_writer(storage, segment)

    def per_document_reader(self, storage: Any, segment: Any) -> Any:
        if self.zstd_records:
            return RecordReader(storage, segment)
        return super().per_document_reader(storage, segment)

    def field_writer(self, storage: Any, segment: Any) -> Any:
        if self.sorted_terms:
            return SortedFieldWriter(self, storage, segment)
        return super().field_writer(storage, segment)

    def terms_reader(self, storage: Any, segment: Any) -> Any:
        name = segment.make_filename(self.TERMS_EXT)
        postfile = segment.open_file(storage, self.POSTS_EXT)
        reader = SortedTermsReader if self.sorted_terms else LeanTermsReader
        return reader(self, storage.open_file(name), storage.file_length(name), postfile)

    def postings_writer(self, dbfile: Any, byteids: bool = False) -> Any:
        return LeanPostingsWriter(dbfile, blocklimit=self._blocklimit, byteids=byteids,
                                  compression=self._compression, inlinelimit=self._inlinelimit)

    def postings_reader(self, dbfile: Any, terminfo: Any, format_: Any, term: Any = None,
                        scorer: Any = None) -> Any:
        if terminfo.is_inlined():
            ids, weights, values = terminfo.inlined_postings()
            return ListMatcher(ids, weights, values, format_, scorer=scorer, term=term,
                               terminfo=terminfo)
        offset, length = terminfo.extent()
        return LeanLeafMatcher(dbfile, offset, length, format_, term=term, scorer=scorer)


class SortedFieldWriter(W3FieldWriter):
    """W3FieldWriter writing terms into a sorted term table."""

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:
        # what W3FieldWriter.__init__ sets up, with the other table
        self._codec = codec
        self._storage = storage
        self._segment = segment
        self._fieldname = self._fieldid = self._btext = self._fieldobj = self._format = None
        self._tindex = SortedTableWriter(self._create_file(codec.TERMS_EXT))
        self._fieldmap = self._tindex.extras["fieldmap"] = {}
        self._postfile = self._create_file(codec.POSTS_EXT)
        self._postwriter = None
        self._infield = False
        self.is_closed = False


# Each post's stored fields (its "record": metadata and visible text) are
# pickled and compressed with zstd, using a dictionary trained on the
# segment's first records.  News posts share much of their vocabulary, and a
# record of a few KB gains little from compression on its own.  Measured on
# a dev-corpus segment of 15,657 records (57.8 MB pickled), dictionary
# included: Whoosh's per-record zlib ~33 MB; a 110 KB dictionary at level 3
# 25.2 MB, at level 9 23.1 MB (levels past 9: 2-6x slower to write for
# ~1%); a 1 MB dictionary at level 9 20.9 MB, but then a search decompresses
# a record with cold caches in ~23 us instead of ~12 (a search reads one
# per hit; Whoosh's zlib: ~25).
RECORDS = "_records"
RECORD_COLUMN = columns.VarBytesColumn()
DICTIONARY_EXT = ".zdc"     # the segment's dictionary (empty: none)
TRAIN_RECORDS = 3000        # records the dictionary is trained on
DICTIONARY_SIZE = 110_000   # at most; a tenth of the records it is trained on
SMALLEST_DICTIONARY = 50_000  # fewer records: none (it would outweigh its gain)
RECORD_LEVEL = 9
# the trainer's segment and d-mer sizes, fixed: left to the trainer to
# choose, it tries many pairs (a 440 KB one from 3,000 records: 17 s, not 0.2)
TRAIN_K, TRAIN_D = 1000, 8
COPY_OF = "_copy_of"  # record key: the document whose body this one shares
RECENT_RECORDS = 8    # decompressed records a reader keeps
SHARED_STORED = ("body", "shifts", "irregular")  # what a record leaves to the one it shares a body with


class RecordWriter(W3PerDocWriter):
    """W3's per-document writer with records written as described above
    (the first TRAIN_RECORDS wait for the dictionary) into the `_records`
    column; Whoosh's own `_stored` column stays empty."""

    def __init__(self, codec: Any, storage: Any, segment: Any) -> None:
        super().__init__(codec, storage, segment)
        self._waiting: list[tuple[int, bytes]] = []
        self._compress: Any = None

    def finish_doc(self) -> None:
        fields = self._storedfields
        if fields:
            record = pickle.dumps(fields, pickle.HIGHEST_PROTOCOL)
            if self._compress is None:
                self._waiting.append((self._docnum, record))
                if len(self._waiting) >= TRAIN_RECORDS:
                    self._start_compressing()
            else:
                self.add_column_value(RECORDS, RECORD_COLUMN, self._compress(record))
            fields.clear()
        self._indoc = False

    def share_body(self, original: int) -> None:
        """The document being written has the body of document `original`
        (its record leaves out the body and its length events)."""
        self._storedfields[COPY_OF] = original

    def _start_compressing(self) -> None:
        import zstandard

        records = [r for _, r in self._waiting]
        dictionary = None
        size = min(DICTIONARY_SIZE, sum(map(len, records)) // 10)
        if size >= min(DICTIONARY_SIZE, SMALLEST_DICTIONARY):
            try:
                dictionary = zstandard.train_dictionary(size, records, k=min(TRAIN_K, size), d=TRAIN_D)
            except zstandard.ZstdError:  # records too alike or too small to learn from
                pass
        dbfile = self._create_file(DICTIONARY_EXT)
        dbfile.write(dictionary.as_bytes() if dictionary is not None else b"")
        dbfile.close()
        self._compress = zstandard.ZstdCompressor(level=RECORD_LEVEL, dict_data=dictionary).compress
        if self._waiting and not self._has_column(RECORDS):
            self._create_column(RECORDS, RECORD_COLUMN)
        for docnum, record in self._waiting:
            self._get_column(RECORDS).add(docnum, self._compress(record))
        self._waiting = []

    def close(self) -> None:
        if self._indoc:
            self.finish_doc()
        if self._compress is None:
            self._start_compressing()
        super().close()


class MappedColumn:
    """The values of a segment's VarBytesColumn by document number, sliced
    from a memory map of the column's file: Whoosh's column reader seeks
    and reads the file for each value (~8 µs with cold caches, ~1 µs here;
    a search reads a record and a key per hit)."""

    __slots__ = ("data", "offsets", "lengths")

    def __init__(self, data: Any, offsets: Any, lengths: Any) -> None:
        self.data = data
        self.offsets = offsets
        self.lengths = lengths

    def __getitem__(self, docnum: int) -> bytes:
        length = self.lengths[docnum]
        if not length:
            return b""
        offset = self.offsets[docnum]
        return self.data[offset:offset + length]


class RecordReader(W3PerDocReader):
    """Reads the records `RecordWriter` writes."""

    def __init__(self, storage: Any, segment: Any) -> None:
        super().__init__(storage, segment)
        self._decompress: Any = None
        self._lock = threading.Lock()  # a zstd context serves one thread at a time
        # the last records read (a post and its copy are often hits side by side)
        self._recent: dict[int, bytes] = {}
        self._mapped: dict[str, Any] = {}

    def values(self, fieldname: str, column: Any) -> Any:
        """The values of a VarBytesColumn by document number: a
        `MappedColumn` where the column is a whole real file, else Whoosh's
        column reader; None when the segment has no such column."""
        found = self._mapped.get(fieldname)
        if found is None:
            reader = self._cached_reader(fieldname, column)
            found = reader
            if reader is not None:
                colfile, offset, length = self._colfiles[fieldname]
                offsets, lengths = getattr(reader, "_offsets", None), getattr(reader, "_lengths", None)
                data = memory_map(colfile, length) if offset == 0 and offsets is not None else None
                if data is not None and lengths is not None:
                    found = MappedColumn(data, offsets, lengths)
            self._mapped[fieldname] = found
        return found

    def close(self) -> None:
        for found in self._mapped.values():
            if isinstance(found, MappedColumn):
                found.data.close()
        self._mapped.clear()
        super().close()

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        with self._lock:
            record = self._recent.get(docnum)
            if record is None:
                column = self.values(RECORDS, RECORD_COLUMN)
                record = column[docnum] if column is not None else b""
                if record:
                    if self._decompress is None:
                        self._decompress = self._decompressor()
                    record = self._decompress(record)
                if len(self._recent) >= RECENT_RECORDS:
                    del self._recent[next(iter(self._recent))]
                self._recent[docnum] = record
        if not record:
            return {}
        fields = pickle.loads(record)
        original = fields.pop(COPY_OF, None)
        if original is not None:
            shared = self.stored_fields(original)
            fields.update((name, shared[name]) for name in SHARED_STORED if name in shared)
        return fields

    def _decompressor(self) -> Any:
        import zstandard

        dbfile = self._segment.open_file(self._storage, DICTIONARY_EXT)
        try:
            raw = dbfile.read()
        finally:
            dbfile.close()
        dictionary = zstandard.ZstdCompressionDict(raw) if raw else None
        return zstandard.ZstdDecompressor(dict_data=dictionary).decompress


# Archives hold the same post more than once (a crawl saving an article
# under two addresses: 14% of the dev corpus's posts, a fifth of its text).
# A post whose body is exactly that of an earlier post of its segment
# shares it: no body postings of its own (the searches of `substring`
# give it those of its original) and no stored body (its record points to
# the original's).  Its title, labels, dates and lengths are its own.  The
# segment's pairs (copy, original) are in the COPIES_EXT file.
COPIES_EXT = ".cpy"


def read_copies(storage: Any, segment: Any) -> array:
    """The (copy, original, copy, original, ...) document numbers of a
    segment; empty for segments without shared bodies."""
    name = segment.make_filename(COPIES_EXT)
    if not storage.file_exists(name):
        return array("I")
    dbfile = storage.open_file(name)
    try:
        data = dbfile.read()
    finally:
        dbfile.close()
    if len(data) % 8:
        from .errors import IndexCorruptError

        raise IndexCorruptError(f"{name} is damaged ({len(data)} bytes: not whole pairs)")
    return loaded("I", data)


class SegmentBuilder:
    """Collects documents into one new segment of an existing index."""

    def __init__(self, ix: Any) -> None:
        self.codec = new_codec()
        self.storage = ix.storage
        self.schema = ix.schema
        self.segment = self.codec.new_segment(self.storage, ix.indexname)
        self.perdoc = self.codec.per_document_writer(self.storage, self.segment)
        self.docnum = 0
        self.columns: dict[str, _Columns] = {}  # fieldname → its postings so far
        # fieldname → length of that field in each document (BM25)
        self.lengths: dict[str, array] = {}
        # bodies seen (a digest each) → the first document with that body;
        # only where records can point to another's body
        self._bodies: dict[bytes, int] | None = {} if isinstance(self.perdoc, RecordWriter) else None
        self.copies = array("I")  # (copy, original) pairs

    def add(self, stored: dict[str, Any], columns: dict[str, Any],
            keywords: dict[str, list[str]], native: dict[str, Any],
            postings: dict[str, FieldPostings]) -> None:
        """Add one document: stored values, column values, keyword terms,
        values for Whoosh's own field types (ID, NUMERIC) and precomputed
        postings per field."""
        docnum = self.docnum
        perdoc = self.perdoc
        schema = self.schema
        original = self._original(stored.get("body"))
        perdoc.start_doc(docnum)
        for name, value in stored.items():
            if original is not None and name in SHARED_STORED:
                continue
            if name in schema:  # (an index made before a stored field was added lacks it)
                perdoc.add_field(name, schema[name], value, 0)
        if original is not None:
            perdoc.share_body(original)
            self.copies.extend((docnum, original))
        for name, value in columns.items():
            field = schema[name]
            perdoc.add_column_value(name, field.column_type, field.to_column_value(value))
        for name, terms in keywords.items():
            self._columns(name).add(docnum, terms)
        for name, value in native.items():
            self._columns(name).add(docnum, [t for t, _, _, _ in schema[name].index(value)])
        for name, fp in postings.items():
            field = schema[name]
            if field.scorable:
                perdoc.add_field(name, field, None, fp.length)
                self._length_column(name)[docnum] = fp.length
            if original is None or name not in BODY_FIELDS:
                self._columns(name).add(docnum, fp.terms)
        perdoc.finish_doc()
        self.docnum += 1

    def _original(self, body: Any) -> int | None:
        """The earlier document of this segment with the same body, if any
        (this one's number is remembered for the next ones otherwise)."""
        if self._bodies is None or not isinstance(body, str) or not body:
            return None
        digest = hashlib.blake2b(body.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        first = self._bodies.setdefault(digest, self.docnum)
        return first if first != self.docnum else None

    def postings(self) -> int:
        """Postings added so far (what the segment's memory grows with)."""
        return sum(len(columns.terms) for columns in self.columns.values())

    def _length_column(self, name: str) -> array:
        col = self.lengths.get(name)
        if col is None:
            col = self.lengths[name] = array("I")
        if len(col) <= self.docnum:
            col.extend([0] * (self.docnum + 1 - len(col)))
        return col

    def _columns(self, name: str) -> _Columns:
        found = self.columns.get(name)
        if found is None:
            found = self.columns[name] = _Columns(_kind(self.schema[name]))
        return found

    def finish(self) -> Any:
        """Write the postings, close the files and return the Whoosh segment
        (None when no document was added)."""
        self.perdoc.close()
        if self.docnum == 0:
            return None
        fieldwriter = self.codec.field_writer(self.storage, self.segment)
        # Field ids follow field names (readers walk terms in (name, term)
        # order), and the term table takes its keys in that order.  The field
        # with most postings (the body's bigrams) is sorted last all the same:
        # that takes a worker's most memory, and by then the other fields'
        # postings are written and dropped.  The term entries of the fields
        # named after it wait in a buffer meanwhile.
        names = sorted(self.columns)
        fieldwriter._fieldmap.update((name, i) for i, name in enumerate(names))
        largest = max(names, key=lambda n: len(self.columns[n].terms), default="")
        table, waiting = fieldwriter._tindex, _Entries()
        shared = self._copies_per_doc()
        for name in names:
            if name != largest:
                fieldwriter._tindex = table if name < largest else waiting
                self._write_field(fieldwriter, name, self.columns.pop(name), shared)
        fieldwriter._tindex = table
        if largest:
            self._write_field(fieldwriter, largest, self.columns.pop(largest), shared)
        for key, value in waiting:
            table.add(key, value)
        fieldwriter.close()
        if self.copies:
            dbfile = self.segment.create_file(self.storage, COPIES_EXT)
            dbfile.write(stored(self.copies))
            dbfile.close()
        self.segment.set_doc_count(self.docnum)
        return self.segment

    def _copies_per_doc(self) -> Any:
        """How many copies each document has (a numpy array; None: none)."""
        if not self.copies:
            return None
        import numpy as np

        originals = np.frombuffer(self.copies, dtype=np.uint32)[1::2]
        return np.bincount(originals, minlength=self.docnum).astype(np.uint32)

    def _write_field(self, fw: Any, name: str, columns: _Columns, shared: Any) -> None:
        """Write one field's postings; `shared`: how many copies each
        document has (body fields count them in document frequencies)."""
        field = self.schema[name]
        lengths = self.lengths.get(name) if field.scorable else None
        fw.start_field(name, field)
        kind = columns.kind
        inline = not (field.scorable and kind == POSITIONS)
        sparse = name == CHAR_FIELDS["b"]
        limit = SPARSE_BIGRAMS if sparse else INLINE
        for term, docs, values, copies in columns.grouped(shared if name in BODY_FIELDS else None):
            if inline and len(docs) < limit:  # 97% of terms, most of them one to three postings
                info = _inline_info(docs, values, PRESENCE if sparse else kind, lengths, copies)
                if info is not None:
                    fw._btext = term.encode("utf-8") if isinstance(term, str) else term
                    fw._tindex.add(pack_ushort(fw._fieldid) + fw._btext, info)
                    continue
            weights = None
            if kind == COUNTS:
                weights = array("f", values)
                values = None
            elif kind == POSITIONS and field.scorable:
                weights = array("f", map(frequency, values))
            fw._btext = term.encode("utf-8") if isinstance(term, str) else term
            fw._postwriter.start_postings(field.format, LeanTermInfo())
            terminfo = _write_postings(fw._postwriter, docs, weights, values, lengths)
            terminfo.copies = copies
            terminfo._df += copies
            fw._tindex.add(pack_ushort(fw._fieldid) + fw._btext, terminfo.to_bytes())
        fw.finish_field()


class _Entries:
    """Term table entries kept in order, to be added later: in one buffer
    (hundreds of thousands of small bytes objects would cost ~100 bytes of
    overhead apiece)."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._ends = array("Q")  # end of each key, then of its value

    def add(self, key: bytes, value: bytes) -> None:
        self._data += key
        self._ends.append(len(self._data))
        self._data += value
        self._ends.append(len(self._data))

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        data, ends = self._data, self._ends
        start = 0
        for i in range(0, len(ends), 2):
            middle, end = ends[i], ends[i + 1]
            yield bytes(data[start:middle]), bytes(data[middle:end])
            start = end


PRESENCE, COUNTS, POSITIONS = 1, 2, 3  # what a field's postings hold


def _kind(field: Any) -> int:
    if field.format.supports("positions"):
        return POSITIONS
    return COUNTS if field.scorable else PRESENCE


class _TermNumbers(dict):  # type: ignore[type-arg]
    """term → its number, numbered in the order terms are first seen."""

    def __missing__(self, term: Any) -> int:
        number = self[term] = len(self)
        return number


class _Columns:
    """One field's postings in the order they arrive (document order): a
    term per posting, where each document's postings end, and the term's
    count (COUNTS) or the length of its encoded positions (POSITIONS), with
    the positions of each document joined in one string.

    A term is stored as the code `CodedTerms` gives it (character fields)
    or as a number given on first sight (other fields).  Appending a
    document is a few C-level passes (a Python step per posting into
    per-term lists cost more than analysing the post); `grouped` sorts the
    postings by term once, at the end.
    """

    def __init__(self, kind: int) -> None:
        self.kind = kind
        self.width = 0  # characters of a coded term; 0 while terms are numbered
        self.numbers = _TermNumbers()
        self.terms = array("Q")
        self.docs = array("I")    # the document numbers, one each
        self.ends = array("q")    # where each of those documents' postings end
        self.counts = array("I")
        self.pieces: list[str] = []

    def add(self, docnum: int, terms: Any) -> None:
        """Add a document's terms: `CodedTerms`, a list (PRESENCE) or a dict
        of counts or encoded positions (see `FieldPostings`)."""
        if isinstance(terms, CodedTerms):
            if self.numbers:
                raise TypeError("coded and plain terms mixed in one field")
            self.width = terms.width
            self.terms.frombytes(memoryview(terms.codes).cast("B"))
            if self.kind == POSITIONS:
                self.counts.frombytes(memoryview(terms.sizes).cast("B"))
                self.pieces.append(terms.encoded)
        else:
            if self.width:
                raise TypeError("coded and plain terms mixed in one field")
            self.terms.extend(map(self.numbers.__getitem__, terms))
            if self.kind == COUNTS:
                self.counts.extend(terms.values())
            elif self.kind == POSITIONS:
                self.counts.extend(map(len, terms.values()))
                self.pieces.append("".join(terms.values()))
        self.docs.append(docnum)
        self.ends.append(len(self.terms))

    def grouped(self, copies: Any = None) -> Iterator[tuple[Any, array, Any, int]]:
        """(term, its documents, its counts / encoded positions per document
        / None, how many copies its documents have) for each term, in sorted
        term order; `copies`: the copies of each document (numpy array).
        Consumes the columns: each is dropped once reordered (a segment's
        postings are most of a worker's memory)."""
        import numpy as np

        keys = np.frombuffer(self.terms, dtype=np.uint64)
        order = np.argsort(keys, kind="stable")  # each term's postings stay in document order
        if self.width:  # codes sort as their terms do
            keys.sort()  # in place: keys[order] without another array (equal keys: any order)
            first = np.empty(len(keys), dtype=bool)
            first[:1] = True
            np.not_equal(keys[1:], keys[:-1], out=first[1:])
            starts = np.flatnonzero(first)
            terms = decode_terms(keys[starts], self.width)
            ends = np.append(starts[1:], len(keys))
        else:
            terms = sorted(self.numbers)
            numbers = np.array([self.numbers[t] for t in terms], dtype=np.int64)
            sizes = np.bincount(keys, minlength=len(self.numbers))
            ends = np.cumsum(sizes)[numbers]
            starts = ends - sizes[numbers]
        starts = array("q", starts.astype(np.int64).tobytes())
        ends = array("q", ends.astype(np.int64).tobytes())
        del keys
        self.terms = array("Q")
        per_doc = np.diff(np.frombuffer(self.ends, dtype=np.int64), prepend=0)
        docs = _reordered(np.repeat(np.frombuffer(self.docs, dtype=np.uint32), per_doc), order)
        self.docs, self.ends = array("I"), array("q")
        extra = repeat(0)
        if copies is not None and len(starts):
            ends_np, starts_np = np.frombuffer(ends, dtype=np.int64), np.frombuffer(starts, dtype=np.int64)
            extra = iter((_prefix_sums(np, copies, docs, ends_np)
                          - _prefix_sums(np, copies, docs, starts_np)).tolist())
        counts = offsets = None
        text = ""
        if self.kind != PRESENCE:
            # (in this order, each array is dropped before the next is made:
            # the peak of a worker's memory is here, for the body's bigrams)
            found = np.frombuffer(self.counts, dtype=np.uint32)
            if self.kind == POSITIONS:  # where each posting's positions start in `text`
                wide = sum(map(len, self.pieces)) >= 2**32
                offsets = np.cumsum(found, dtype=np.uint64 if wide else np.uint32)
                offsets -= found
            counts = _reordered(found, order)
            del found
            self.counts = array("I")
            if offsets is not None:
                offsets = _reordered(offsets, order)
                text = "".join(self.pieces)
                self.pieces = []
        del order
        for term, start, end, shared in zip(terms, starts, ends, extra):
            if counts is None:
                values = None
            elif offsets is None:
                values = counts[start:end]
            else:
                values = [text[s:s + n] for s, n in zip(offsets[start:end], counts[start:end])]
            yield term, docs[start:end], values, shared


def _prefix_sums(np: Any, per_doc: Any, docs: array, points: Any, chunk: int = 1 << 20) -> Any:
    """sum(per_doc[docs[:x]]) for each x of `points` (int64), a chunk of
    postings at a time: the body's bigrams have tens of millions, and
    whole-length temporaries at the peak of a worker's memory cost
    hundreds of MB."""
    order = np.argsort(points, kind="stable")
    ordered = points[order]
    sums = np.zeros(len(points), dtype=np.int64)
    docs_np = np.frombuffer(docs, dtype=np.uint32)
    total = 0
    for start in range(0, len(docs_np), chunk):
        end = min(start + chunk, len(docs_np))
        running = np.cumsum(per_doc[docs_np[start:end]], dtype=np.int64)
        running += total
        lo, hi = np.searchsorted(ordered, (start, end), side="right")
        sums[order[lo:hi]] = running[ordered[lo:hi] - start - 1]
        total = int(running[-1])
    return sums


def _reordered(values: Any, order: Any) -> array:
    """The numpy array `values` (uint32 or uint64) in the order of `order`,
    as an `array` (cheaper to slice and iterate), made in place."""
    import numpy as np

    out = array("I" if values.dtype == np.uint32 else "Q", [0]) * len(order)
    # (mode "clip": with "raise", numpy buffers `out`, another array as large)
    np.take(values, order, out=np.frombuffer(out, dtype=values.dtype), mode="clip")
    return out


def _inline_info(docs: Any, values: Any, kind: int, lengths: array | None, copies: int = 0) -> bytes | None:
    """The packed term info of a term with fewer than INLINE postings, as
    `_write_postings` + `LeanTermInfo.to_bytes` make it, without the
    postings writer's per-term set-up.  `values`: the counts (COUNTS) or
    encoded positions (POSITIONS) of each posting.  None when it needs the
    general path."""
    numbers = [docs[0], *map(sub, docs[1:], docs[:-1])]
    flags = LEAN
    text = ""
    if kind == COUNTS:
        numbers += values
        flags |= HAS_WEIGHTS
    elif kind == POSITIONS:
        text = "".join(values)
        flags |= HAS_VALUES
        if len(text) == len(values) and all(values):  # a position each
            flags |= SINGLE_VALUES
        else:
            numbers += map(len, values)
    if lengths is not None:
        sizes = [lengths[d] for d in docs]
        low, high = length_to_byte(min(sizes)), length_to_byte(max(sizes))
    else:
        low, high = 0, length_to_byte(0)
    return lean_bytes(flags, low, high, len(docs), numbers, text, copies)


def _write_postings(pw: Any, docs: array, weights: array | None, values: list[str] | None,
                    lengths: array | None) -> Any:
    """Hand one term's postings to a W3PostingsWriter and return its terminfo.

    Lists shorter than INLINE go into the terminfo itself; otherwise blocks
    of BLOCK postings, compressed only when they are large enough to gain.
    """
    total = len(docs)
    for start in range(0, total, BLOCK):
        end = min(start + BLOCK, total)
        if start:
            pw._write_block()
        ids = docs[start:end]
        pw._ids = ids
        if weights is not None:
            pw._weights = weights[start:end]
            pw._maxweight = max(pw._weights)
        else:
            pw._weights = array("f", [1.0]) * (end - start)
            pw._maxweight = 1.0
        pw._values = values[start:end] if values is not None else []
        if lengths is not None:
            block_lengths = [lengths[d] for d in ids]
            pw._minlength = min(block_lengths)
            pw._maxlength = max(block_lengths)
        pw._compression = 3 if end - start >= COMPRESS_FROM else 0
    terminfo = pw._terminfo
    if total < INLINE:
        terminfo.add_block(pw)
        inline_weights = tuple(int(w) for w in pw._weights) if weights is not None else ()
        terminfo._inlined = (tuple(pw._ids), inline_weights, tuple(pw._values))
        pw._terminfo = None
        return terminfo
    return pw.finish_postings()
