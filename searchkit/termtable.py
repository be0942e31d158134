"""A compact sorted key → value table for term files (part of the indexer stage).

Whoosh's term file is a hash table: besides the keys and values it stores
8 bytes of lengths per entry, two 12-byte hash slots and a 4-byte ordered
position (about 36 bytes a term, more than the keys and values together on
the development corpus).  Term keys arrive sorted, so a sorted table does
without all of that:

* entries in blocks of BLOCK_KEYS; in a block each key is front-coded
  against the one before it (bytes shared, then the rest), each entry led
  by three varints: shared length, suffix length, value length;
* after the blocks, an index of each block's first key and file position,
  stored as flat arrays and one blob of keys, so opening a table reads it
  in one go without making a Python object per block;
* a fixed-size trailer pointing at the index.

A lookup bisects the first 8 bytes of the blocks' first keys (an array of
integers, compared in C), settles ties on whole keys, then reads and scans
one block.  Files are written and read through Whoosh's file objects
(`write`, `tell`, `get`, `close`), and read through a memory map when they
are real files (a block read costs 0.2 µs instead of 2.4 µs through
`get`); nothing here imports Whoosh.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any

MAGIC = b"SKT1"
BLOCK_KEYS = 16   # entries per block: a lookup decodes half a block on average
HEAD = 8          # bytes of each block's first key kept as an integer for bisecting
# index start, blocks, entries, bytes of first keys, bytes of extras, magic
TRAILER = struct.Struct("<QIQII4s")
_SWAP = sys.byteorder == "big"  # arrays are stored little-endian


class TableFormatError(ValueError):
    """The file is not a sorted term table (or is truncated)."""


def _head(key: bytes) -> int:
    """The first HEAD bytes of a key as a big-endian integer, zero-padded:
    keys in byte order give heads in (non-strict) numeric order."""
    return int.from_bytes(key[:HEAD].ljust(HEAD, b"\0"), "big")


def _varint(number: int) -> bytes:
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        number |= (byte & 0x7F) << shift
        if byte < 0x80:
            return number, pos
        shift += 7


def _entry_lengths(data: bytes, pos: int) -> tuple[int, int, int, int]:
    """(shared, suffix length, value length, position after them)."""
    shared, slen, vlen = data[pos], data[pos + 1], data[pos + 2]
    if (shared | slen | vlen) < 0x80:
        return shared, slen, vlen, pos + 3
    shared, pos = _read_varint(data, pos)
    slen, pos = _read_varint(data, pos)
    vlen, pos = _read_varint(data, pos)
    return shared, slen, vlen, pos


def memory_map(dbfile: Any, length: int) -> mmap.mmap | None:
    """A read-only map of a real file of `length` bytes (not, say, a part
    of a compound file); None otherwise."""
    if not getattr(dbfile, "is_real", False):
        return None
    try:
        fileno = dbfile.fileno()
        if os.fstat(fileno).st_size != length:
            return None
        return mmap.mmap(fileno, length, access=mmap.ACCESS_READ)
    except (AttributeError, OSError, ValueError):
        return None


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def stored(numbers: array) -> bytes:
    """An array's numbers as little-endian bytes (how index files keep them)."""
    if _SWAP:
        numbers = array(numbers.typecode, numbers)
        numbers.byteswap()
    return numbers.tobytes()


def loaded(typecode: str, data: bytes) -> array:
    """The inverse of `stored`."""
    numbers = array(typecode)
    numbers.frombytes(data)
    if _SWAP:
        numbers.byteswap()
    return numbers


class SortedTableWriter:
    """Writes keys (added in increasing byte order) and their values.

    `extras` is a JSON-able dict stored with the table (Whoosh's field
    writer puts its field map there, as it does with the hash table)."""

    def __init__(self, dbfile: Any, block_keys: int = BLOCK_KEYS) -> None:
        self.dbfile = dbfile
        self.extras: dict[str, Any] = {}
        self._block_keys = block_keys
        self._block = bytearray()
        self._in_block = 0
        self._heads = array("Q")
        self._positions = array("Q")
        self._first_ends = array("I", [0])
        self._firsts = bytearray()
        self._last: bytes | None = None
        self._count = 0
        dbfile.write(MAGIC)

    def add(self, key: bytes, value: bytes) -> None:
        last = self._last
        if last is not None and key <= last:
            raise ValueError(f"Keys must increase: {last!r}..{key!r}")
        if self._in_block == self._block_keys:
            self._flush()
        if self._in_block == 0:
            shared = 0
            self._heads.append(_head(key))
            self._firsts += key
            self._first_ends.append(len(self._firsts))
        else:
            shared = _common_prefix(last, key)  # type: ignore[arg-type]
        slen, vlen = len(key) - shared, len(value)
        block = self._block
        if (shared | slen | vlen) < 0x80:
            block += bytes((shared, slen, vlen))
        else:
            block += _varint(shared) + _varint(slen) + _varint(vlen)
        block += key[shared:]
        block += value
        self._in_block += 1
        self._count += 1
        self._last = key

    def _flush(self) -> None:
        self._positions.append(self.dbfile.tell())
        self.dbfile.write(bytes(self._block))
        self._block.clear()
        self._in_block = 0

    def close(self) -> int:
        """Write the last block, the index and the trailer, close the file
        and return its length."""
        if self._in_block:
            self._flush()
        dbfile = self.dbfile
        self._positions.append(dbfile.tell())
        start = dbfile.tell()
        extras = json.dumps(self.extras).encode("utf-8")
        for part in (stored(self._heads), stored(self._positions), stored(self._first_ends),
                     bytes(self._firsts), extras):
            dbfile.write(part)
        dbfile.write(TRAILER.pack(start, len(self._heads), self._count, len(self._firsts),
                                  len(extras), MAGIC))
        length = dbfile.tell()
        dbfile.close()
        return length


class _FirstKeys:
    """The blocks' first keys as a lazy sequence (for bisect)."""

    __slots__ = ("blob", "ends")

    def __init__(self, blob: bytes, ends: array) -> None:
        self.blob = blob
        self.ends = ends

    def __len__(self) -> int:
        return len(self.ends) - 1

    def __getitem__(self, i: int) -> bytes:
        return self.blob[self.ends[i]:self.ends[i + 1]]


class SortedTable:
    """Reads a table written by `SortedTableWriter` from a Whoosh-style
    dbfile of the given length: mapping-like lookups and ordered iteration
    (the subset of Whoosh's OrderedHashReader that term readers use)."""

    def __init__(self, dbfile: Any, length: int) -> None:
        self.dbfile = dbfile
        self.is_closed = False
        if length < len(MAGIC) + TRAILER.size:
            raise TableFormatError(f"term table too short ({length} bytes)")
        start, blocks, count, firsts_len, extras_len, magic = TRAILER.unpack(
            dbfile.get(length - TRAILER.size, TRAILER.size))
        if magic != MAGIC or not len(MAGIC) <= start <= length - TRAILER.size:
            raise TableFormatError(f"not a sorted term table (trailer {magic!r}, index at {start})")
        index = dbfile.get(start, length - TRAILER.size - start)
        cut = [8 * blocks, 8 * (blocks + 1), 4 * (blocks + 1), firsts_len, extras_len]
        parts, pos = [], 0
        for size in cut:
            parts.append(index[pos:pos + size])
            pos += size
        if pos != len(index):
            raise TableFormatError("term table index does not match its trailer")
        self._heads = loaded("Q", parts[0])
        self._positions = loaded("Q", parts[1])
        self._firsts = _FirstKeys(parts[3], loaded("I", parts[2]))
        self.extras: dict[str, Any] = json.loads(parts[4].decode("utf-8"))
        self._count = count
        self._map = memory_map(dbfile, length)

    def __len__(self) -> int:
        return self._count

    def close(self) -> None:
        if self.is_closed:
            raise ValueError(f"Tried to close {self!r} twice")
        if self._map is not None:
            self._map.close()
        self.dbfile.close()
        self.is_closed = True

    # Lookups

    def _block_of(self, key: bytes) -> int:
        """The block that would hold `key` (-1: before the first key)."""
        head = _head(key)
        heads = self._heads
        lo = bisect_left(heads, head)
        if lo < len(heads) and heads[lo] == head:
            return bisect_right(self._firsts, key, lo, bisect_right(heads, head, lo)) - 1
        return lo - 1

    def _block(self, block: int) -> bytes:
        positions = self._positions
        start, end = positions[block], positions[block + 1]
        if self._map is not None:
            return self._map[start:end]
        return self.dbfile.get(start, end - start)

    def _find(self, key: bytes) -> tuple[int, bytes, int, int] | None:
        """(block, its bytes, value start, value end) of `key`, or None."""
        block = self._block_of(key)
        if block < 0:
            return None
        data = self._block(block)
        pos, end, prev = 0, len(data), b""
        while pos < end:  # _entry_lengths inlined: 15% of a lookup
            shared, slen, vlen = data[pos], data[pos + 1], data[pos + 2]
            if (shared | slen | vlen) < 0x80:
                pos += 3
            else:
                shared, slen, vlen, pos = _entry_lengths(data, pos)
            suffix_end = pos + slen
            current = prev[:shared] + data[pos:suffix_end]
            if current >= key:
                if current == key:
                    return block, data, suffix_end, suffix_end + vlen
                return None
            prev = current
            pos = suffix_end + vlen
        return None

    def __getitem__(self, key: bytes) -> bytes:
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        _, data, start, end = found
        return data[start:end]

    def get(self, key: bytes, default: Any = None) -> Any:
        found = self._find(key)
        return default if found is None else found[1][found[2]:found[3]]

    def __contains__(self, key: bytes) -> bool:
        return self._find(key) is not None

    def range_for_key(self, key: bytes) -> tuple[int, int]:
        """(file position, length) of the value of `key` (KeyError if absent)."""
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        block, _, start, end = found
        return self._positions[block] + start, end - start

    # Ordered iteration

    def _entries(self, first_block: int) -> Iterator[tuple[bytes, bytes]]:
        for block in range(first_block, len(self._heads)):
            data = self._block(block)
            pos, end, prev = 0, len(data), b""
            while pos < end:
                shared, slen, vlen, pos = _entry_lengths(data, pos)
                suffix_end = pos + slen
                prev = prev[:shared] + data[pos:suffix_end]
                pos = suffix_end + vlen
                yield prev, data[suffix_end:pos]

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        return self._entries(0)

    __iter__ = items

    def keys(self) -> Iterator[bytes]:
        return (key for key, _ in self._entries(0))

    def values(self) -> Iterator[bytes]:
        return (value for _, value in self._entries(0))

    def items_from(self, key: bytes) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in key order from the first key >= `key`."""
        entries = self._entries(max(0, self._block_of(key)))
        for item in entries:
            if item[0] >= key:
                yield item
                yield from entries
                return

    def keys_from(self, key: bytes) -> Iterator[bytes]:
        return (k for k, _ in self.items_from(key))
