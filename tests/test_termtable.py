"""The sorted term table, and segments with hash-table term files still reading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import index
from whoosh.filedb.filestore import FileStorage, RamStorage
from whoosh.filedb.filetables import OrderedHashWriter
from whoosh.reading import TermNotFound

import searchkit
from searchkit import segments
from searchkit.indexer import INDEX_NAME, META_FILE
from searchkit.schema import SCHEMA_VERSION
from searchkit.termtable import MAGIC, SortedTable, SortedTableWriter, TableFormatError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_posts"

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


# ------------------------------------------------- segments, old and new

def _facts(info):
    """What a term info says (W3TermInfo.from_bytes leaves a block's length
    a 1-tuple, so infos read back do not all pack again)."""
    where = info.inlined_postings() if info.is_inlined() else info.extent()
    return (info.doc_frequency(), info.weight(), info.max_weight(), info.min_id(),
            info.max_id(), info.min_length(), info.max_length(), where)


def _leaf(index_dir):
    ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
    reader = ix.reader()
    leaves = [leaf for leaf, _ in reader.leaf_readers()]
    assert len(leaves) == 1
    return reader, leaves[0]


def _old_codec():
    """The codec as searchkit pickled it into segments before the sorted
    table: a LeanCodec without the `sorted_terms` attribute."""
    codec = segments.LeanCodec(blocklimit=segments.BLOCK, compression=3, inlinelimit=segments.INLINE)
    del codec.sorted_terms
    return codec


def _build_with_hash_tables(posts, index_dir):
    """Index `posts` as searchkit did before the sorted table."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "new_codec", _old_codec)
        searchkit.build_index([str(posts)], str(index_dir))
    (index_dir / META_FILE).write_text(json.dumps({"schema_version": 2}), encoding="utf-8")


@pytest.fixture(scope="module")
def hash_table_index(tmp_path_factory):
    """sample_posts/ indexed with Whoosh's hash table term files."""
    index_dir = tmp_path_factory.mktemp("hash-index") / "index"
    _build_with_hash_tables(SAMPLES, index_dir)
    return index_dir


def test_new_segments_write_the_sorted_table(sample_index, hash_table_index):
    for path in sample_index.glob("*.trm"):
        assert path.read_bytes()[:4] == MAGIC
    for path in hash_table_index.glob("*.trm"):
        assert path.read_bytes()[:4] == b"HSH3"
    old = sum(p.stat().st_size for p in hash_table_index.glob("*.trm"))
    new = sum(p.stat().st_size for p in sample_index.glob("*.trm"))
    assert new < old * 0.6


def test_both_term_files_read_the_same(sample_index, hash_table_index):
    """Same terms, term infos and answers through every reader call that
    searchkit and Whoosh's searching make."""
    old_reader, old = _leaf(hash_table_index)
    new_reader, new = _leaf(sample_index)
    try:
        assert type(old._terms).__name__ == "LeanTermsReader"
        assert type(new._terms).__name__ == "SortedTermsReader"
        assert list(old._terms._tindex.items()) == list(new._terms._tindex.items())
        # keys are field id + term: ids must follow field names for (name, term) order
        fieldmap = new._terms._fieldmap
        assert sorted(fieldmap, key=fieldmap.get) == sorted(fieldmap)
        assert sorted(old.indexed_field_names()) == sorted(new.indexed_field_names())
        assert list(old.all_terms()) == list(new.all_terms())
        for field in ("bc", "bw", "tag", "key", "date"):
            lexicon = list(new.lexicon(field))
            assert lexicon and lexicon == list(old.lexicon(field))
            middle = lexicon[len(lexicon) // 2]
            assert list(new.terms_from(field, middle)) == list(old.terms_from(field, middle))
            assert ([(t, _facts(i)) for t, i in new.iter_from(field, middle)]
                    == [(t, _facts(i)) for t, i in old.iter_from(field, middle)])
            for term in lexicon[::7] + [lexicon[-1]]:
                assert _facts(new.term_info(field, term)) == _facts(old.term_info(field, term))
                assert new.doc_frequency(field, term) == old.doc_frequency(field, term)
                assert new.frequency(field, term) == old.frequency(field, term)
                assert (field, term) in new._terms
                assert list(new.postings(field, term).all_ids()) == list(old.postings(field, term).all_ids())
            absent = lexicon[0] + b"\xff\xfe"
            assert (field, absent) not in new._terms and new.doc_frequency(field, absent) == 0
            with pytest.raises(TermNotFound):
                new.term_info(field, absent)
            _same_cursor_walk(old.cursor(field), new.cursor(field), middle)
    finally:
        old_reader.close()
        new_reader.close()


def _same_cursor_walk(old, new, middle):
    def walk(cursor):
        seen = []
        while cursor.is_valid():
            seen.append((cursor.text(), _facts(cursor.term_info())))
            cursor.next()
        return seen

    assert walk(new) == walk(old) and new.next() is None and new.term_info() is None
    for cursor in (old, new):
        cursor.find(middle)
    assert new.text() == old.text() and walk(new) == walk(old)
    assert new.first() == old.first()


def test_searches_agree_on_old_and_new_term_files(sample_index, hash_table_index):
    old, new = searchkit.open_index(hash_table_index), searchkit.open_index(sample_index)
    for query in ("香港", '"数据交易"', "数据交易", "國家安全", '"民币"', "tag:联合早报", "港 -地铁"):
        a, b = old.search(query, limit=20), new.search(query, limit=20)
        assert [(h.path, h.score) for h in a.hits] == [(h.path, h.score) for h in b.hits], query


def test_incremental_run_on_an_index_with_hash_table_segments(tmp_path, hash_table_index):
    posts, index_dir = tmp_path / "posts", tmp_path / "index"
    shutil.copytree(SAMPLES, posts)
    _build_with_hash_tables(posts, index_dir)
    changed = next(p for p in sorted(posts.iterdir()) if p.suffix == ".md")
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n独角兽穿越沙漠\n", encoding="utf-8")
    assert json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))["schema_version"] == 2
    searched = searchkit.build_index([str(posts)], str(index_dir))
    assert (searched.report.added, searched.report.updated) == (0, 1)
    # a searchkit before the sorted table would now refuse the index cleanly
    assert json.loads((index_dir / META_FILE).read_text(encoding="utf-8"))["schema_version"] == SCHEMA_VERSION
    ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
    # the old segment stays (one post deleted), the changed post is in a new one
    assert sorted("sorted_terms" in s.codec().__dict__ for s in ix._segments()) == [False, True]
    assert [h.path for h in searched.search('"独角兽穿越沙漠"').hits] == [changed.name]
    assert searched.stats().posts == 14
    old = searchkit.open_index(hash_table_index)
    for query in ("香港", '"数据交易"', "tag:联合早报"):
        assert ({h.path for h in searched.search(query, limit=20).hits}
                == {h.path for h in old.search(query, limit=20).hits}), query
