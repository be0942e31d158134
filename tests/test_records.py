"""Stored records: zstd with a dictionary trained on a segment's first
records, read back exactly; older segments' zlib records still read."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from whoosh import index

import searchkit
from searchkit import segments, snippets
from searchkit.indexer import INDEX_NAME
from tests.conftest import SAMPLES


def _records(index_dir: Path) -> dict[str, dict]:
    """Every post's stored fields, by path."""
    ix = index.open_dir(str(index_dir), indexname=INDEX_NAME)
    with ix.reader() as reader:
        keys = reader.column_reader("key")
        records = {}
        for d in reader.all_doc_ids():
            record = reader.stored_fields(d)
            assert keys[d].endswith(record["meta"]["path"])  # each document has its own record
            records[record["meta"]["path"]] = record
        return records


def _dictionaries(index_dir: Path) -> list[int]:
    return [p.stat().st_size for p in sorted(index_dir.glob(f"*{segments.DICTIONARY_EXT}"))]


def _zlib_codec():
    return segments.LeanCodec(blocklimit=segments.BLOCK, compression=3, inlinelimit=segments.INLINE,
                              sorted_terms=True)


@pytest.fixture(scope="module")
def zlib_records(tmp_path_factory):
    """sample_posts/ stored as searchkit did before (Whoosh's zlib records)."""
    index_dir = tmp_path_factory.mktemp("zlib") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "new_codec", _zlib_codec)
        searchkit.build_index([str(SAMPLES)], str(index_dir))
    assert not _dictionaries(index_dir)
    return _records(index_dir)


def test_records_without_a_dictionary_read_back(tmp_path, zlib_records):
    # fourteen short posts: too little to train a dictionary on
    searchkit.build_index([str(SAMPLES)], str(tmp_path / "index"))
    assert _dictionaries(tmp_path / "index") == [0]
    assert _records(tmp_path / "index") == zlib_records
    assert len(zlib_records) == 14 and all(r["body"] for r in zlib_records.values())


def test_records_with_a_dictionary_read_back(tmp_path, monkeypatch, zlib_records):
    # trained after the eighth record: those eight wait, the rest are written as they come
    monkeypatch.setattr(segments, "TRAIN_RECORDS", 8)
    monkeypatch.setattr(segments, "DICTIONARY_SIZE", 1024)
    searchkit.build_index([str(SAMPLES)], str(tmp_path / "index"))
    assert _dictionaries(tmp_path / "index") == [1024]
    assert _records(tmp_path / "index") == zlib_records
    hits = searchkit.open_index(tmp_path / "index").search('"数据交易"').hits
    assert hits and all("数据交易" in h.snippet or "數據交易" in h.snippet for h in hits)


def test_segments_of_both_kinds_in_one_index(tmp_path, posts_copy, monkeypatch, zlib_records):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segments, "new_codec", _zlib_codec)
        searchkit.build_index([str(posts_copy)], str(tmp_path / "index"))
    changed = next(p for p in sorted(posts_copy.iterdir()) if p.suffix == ".md")
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n独角兽穿越沙漠\n", encoding="utf-8")
    searchkit.build_index([str(posts_copy)], str(tmp_path / "index"))
    records = _records(tmp_path / "index")
    assert records[changed.name]["body"].rstrip().endswith("独角兽穿越沙漠")
    assert _dictionaries(tmp_path / "index") == [0]  # the new segment's; the zlib one has none
    for path, record in copy.deepcopy(zlib_records).items():  # (another source folder: the copy)
        record["meta"]["source"] = records[path]["meta"]["source"] = ""
        assert records[path] == record or path == changed.name


def test_an_index_made_before_records_held_length_events(tmp_path, posts_copy, monkeypatch):
    # an index whose schema has no "shifts" field (schema 4) takes new and
    # changed posts without them; snippets are the same either way
    from searchkit import indexer
    from searchkit.schema import build_schema

    def schema_4():
        schema = build_schema()
        schema.remove("shifts")
        return schema

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(indexer, "build_schema", schema_4)
        searchkit.build_index([str(posts_copy)], str(tmp_path / "old"))
    changed = next(p for p in sorted(posts_copy.iterdir()) if p.suffix == ".md")
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\n独角兽穿越沙漠\n", encoding="utf-8")
    old = searchkit.build_index([str(posts_copy)], str(tmp_path / "old"))
    assert (old.report.added, old.report.updated) == (0, 1)
    assert not any("shifts" in record for record in _records(tmp_path / "old").values())
    new = searchkit.build_index([str(posts_copy)], str(tmp_path / "new"))
    records = _records(tmp_path / "new")
    assert all(record["shifts"] == snippets.position_table(record["body"]) for record in records.values())
    for query in ("香港", '"数据交易"', '"独角兽穿越沙漠"', "國家安全", "港"):
        a, b = old.search(query, limit=20), new.search(query, limit=20)
        assert [(h.path, h.snippet, h.highlights) for h in a.hits] == \
            [(h.path, h.snippet, h.highlights) for h in b.hits], query


def test_columns_are_read_from_memory_maps(tmp_path):
    # records and keys are sliced from maps of the column files; every value
    # is the one Whoosh's own column reader gives
    searchkit.build_index([str(SAMPLES)], str(tmp_path / "index"))
    ix = index.open_dir(str(tmp_path / "index"), indexname=INDEX_NAME)
    with ix.reader() as reader:
        for leaf, _ in reader.leaf_readers():
            perdoc = leaf._perdoc
            for name, column in ((segments.RECORDS, segments.RECORD_COLUMN),
                                 ("key", leaf.schema["key"].column_type)):
                mapped = perdoc.values(name, column)
                assert isinstance(mapped, segments.MappedColumn)
                plain = perdoc.column_reader(name, column)  # Whoosh's, reading the file
                values = [mapped[d] for d in range(leaf.doc_count_all())]
                assert values == [plain[d] for d in range(leaf.doc_count_all())]
                assert all(values)
    with searchkit.open_index(tmp_path / "index") as searcher:
        hits = searcher.search("香港", limit=20).hits
        assert hits and all(h.key.endswith(h.path) for h in hits)
