"""The sorted term table: round trips through memory and real files."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.filedb.filetables import OrderedHashWriter

from searchkit.termtable import SortedTable, SortedTableWriter, TableFormatError

# Few distinct bytes, so that keys share prefixes; 0x7f/0x80 sit at the
# one-byte varint limit.
TAIL = st.lists(st.sampled_from(b"\x00\x01\x7f\x80\xff"), max_size=6).map(bytes)
PREFIXES = st.sampled_from([b"", b"\x00\x01", b"\x00\x01\xe9\xa6\x99", b"x" * 130,
                            b"\x00\x07hkcnews/" * 20])
KEYS = st.builds(bytes.__add__, PREFIXES, TAIL)
VALUES = st.one_of(st.just(b""), st.binary(max_size=40), st.binary(min_size=120, max_size=400),
                   st.integers(16_000, 20_000).map(lambda n: bytes(range(256)) * (n // 256)))


def _write(storage, items, block_keys):
    writer = SortedTableWriter(storage.create_file("t.trm"), block_keys)
    writer.extras["fieldmap"] = {"bc": 0}
    for key, value in items:
        writer.add(key, value)
    writer.close()


def _open(storage):
    return SortedTable(storage.open_file("t.trm"), storage.file_length("t.trm"))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return FileStorage(str(tmp_path_factory.mktemp("tables")))


def _check(table, model, probes):
    keys = sorted(model)
    assert len(table) == len(model)
    assert list(table.items()) == [(k, model[k]) for k in keys]
    assert table.extras == {"fieldmap": {"bc": 0}}
    for key in keys:
        assert table[key] == model[key] and key in table
        pos, length = table.range_for_key(key)
        assert table.dbfile.get(pos, length) == model[key]
    for probe in probes:
        if probe in model:
            continue
        assert probe not in table and table.get(probe, "none") == "none"
        with pytest.raises(KeyError):
            table[probe]
        with pytest.raises(KeyError):
            table.range_for_key(probe)
    for probe in probes:
        assert list(table.items_from(probe)) == [(k, model[k]) for k in keys if k >= probe]
        assert list(table.keys_from(probe)) == [k for k in keys if k >= probe]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=60), st.lists(KEYS, max_size=20),
       st.integers(1, 8))
def test_round_trip_through_memory_and_file(folder, model, probes, block_keys):
    keys = sorted(model)
    # before the first key, between keys, just after each key, after the last
    probes += [b"", b"\x00"] + [k + b"\x00" for k in keys] + [k[:-1] for k in keys if k]
    probes += [keys[-1] + b"\xff"] if keys else []
    items = [(k, model[k]) for k in keys]
    for storage in (RamStorage(), folder):
        _write(storage, items, block_keys)
        table = _open(storage)
        assert (table._map is not None) == (storage is folder)  # both read paths
        try:
            _check(table, model, probes)
        finally:
            table.close()


def test_empty_and_one_key_tables():
    storage = RamStorage()
    _write(storage, [], 16)
    empty = _open(storage)
    assert len(empty) == 0 and list(empty.items()) == [] and list(empty.items_from(b"")) == []
    assert b"" not in empty and b"\x00\x01" not in empty
    _write(storage, [(b"\x00\x01ab", b"")], 16)
    one = _open(storage)
    assert one[b"\x00\x01ab"] == b"" and list(one.keys()) == [b"\x00\x01ab"]
    assert b"\x00\x01a" not in one and b"\x00\x01abc" not in one
    assert list(one.items_from(b"\x00\x01a")) == [(b"\x00\x01ab", b"")]
    assert list(one.items_from(b"\x00\x01abc")) == []


@pytest.mark.parametrize("block_keys", [1, 3, 16])
@pytest.mark.parametrize("value_size", [0, 1, 127, 128, 129, 16383, 16384])
def test_lengths_at_the_varint_limits(block_keys, value_size):
    """Shared, suffix and value lengths of 127, 128, 129 … (one and two
    byte varints), alone and together."""
    sizes = (1, 127, 128, 129, 16384)
    keys = sorted({b"k" * n for n in sizes} | {b"k" * 128 + b"m" * n for n in sizes})
    model = {key: bytes([i % 251]) * value_size for i, key in enumerate(keys)}
    storage = RamStorage()
    _write(storage, sorted(model.items()), block_keys)
    _check(_open(storage), model, [b"k" * 130, b"k" * 128 + b"l", b"k" * 128 + b"n"])


def test_keys_must_increase():
    writer = SortedTableWriter(RamStorage().create_file("t.trm"))
    writer.add(b"\x00\x01b", b"1")
    for key in (b"\x00\x01b", b"\x00\x01a", b"\x00\x00z"):
        with pytest.raises(ValueError, match="Keys must increase"):
            writer.add(key, b"2")


def test_what_is_not_a_sorted_table_is_refused():
    storage = RamStorage()
    hashed = OrderedHashWriter(storage.create_file("h.trm"))
    hashed.add(b"\x00\x01ab", b"1")
    hashed.close()
    _write(storage, [(b"\x00\x01ab", b"1"), (b"\x00\x01ac", b"2")], 16)
    whole = storage.file_length("t.trm")
    for name, length in (("h.trm", storage.file_length("h.trm")), ("t.trm", whole - 1), ("t.trm", 8)):
        with pytest.raises(TableFormatError):
            SortedTable(storage.open_file(name), length)
