"""Related stories, near-duplicates and --collapse-duplicates."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import searchkit
from searchkit.analysis import normalize, sketch, sketch_similarity
from tests.conftest import write_post

STORY = ("香港鐵路公司宣布，屯馬綫將於下月起延長服務時間，以配合市民需要。"
         "港鐵發言人表示，公司會加密班次，並在繁忙時間增派職員維持秩序。"
         "運輸及房屋局歡迎有關安排，並會繼續監察鐵路服務質素。"
         "有乘客表示，延長服務對夜班工作人士十分方便，希望措施可以長期推行。")
OTHER = ["天文台預測明日天氣晴朗，氣溫介乎二十至二十八度，市民外出應注意防曬。",
         "政府公布最新失業率數字，較上季微跌，經濟學者認為勞工市場逐步改善。",
         "一間本地初創企業推出人工智能翻譯服務，支援粵語、普通話及英語即時轉換。",
         "康文署舉辦夏日音樂會，多隊本地樂隊將在尖沙咀文化中心露天廣場演出。"]


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> searchkit.Index:
    posts = tmp_path_factory.mktemp("wire")
    write_post(posts, "a/copy1.md", "港鐵延長服務", STORY)
    write_post(posts, "b/copy2.md", "港鐵屯馬綫延長服務時間", STORY)
    write_post(posts, "c/near.md", "屯馬綫延長服務", STORY.replace("希望措施可以長期推行", "認為措施值得推廣"))
    for i, text in enumerate(OTHER):
        write_post(posts, f"other{i}.md", f"其他新聞{i}", text * 3)
    return searchkit.build_index([str(posts)], str(posts.parent / "wire-index"))


def test_sketch_is_deterministic_and_similar_for_copies() -> None:
    a, b = sketch(normalize(STORY)), sketch(normalize(STORY))
    assert a == b and len(a) == 48 and a == sorted(a)
    changed = sketch(normalize(STORY.replace("希望措施可以長期推行", "認為措施值得推廣")))
    unrelated = sketch(normalize(OTHER[0] * 3))
    assert sketch_similarity(a, b) == 1.0
    assert 0.7 < sketch_similarity(a, changed) < 1.0
    assert sketch_similarity(a, unrelated) < 0.1


def test_related_puts_copies_first(wire: searchkit.Index) -> None:
    hits = wire.related("a/copy1.md", limit=3)
    paths = [h.path for h in hits]
    assert paths[:2] == ["b/copy2.md", "c/near.md"]
    assert hits[0].similarity == 1.0 and 0.7 <= hits[1].similarity < 1.0
    assert "a/copy1.md" not in paths


def test_collapse_duplicates_counts_copies(wire: searchkit.Index) -> None:
    plain = wire.search("屯馬綫", limit=10)
    assert plain.total == 3 and len(plain.hits) == 3
    folded = wire.search("屯馬綫", limit=10, collapse_duplicates=True)
    assert folded.total == 3
    assert len(folded.hits) == 1 and folded.hits[0].copies == 2
    assert folded.hits[0].to_dict()["copies"] == 2
    assert "copies" not in plain.hits[0].to_dict()


def test_cli_related(wire: searchkit.Index) -> None:
    cmd = [sys.executable, "-m", "searchkit", "related", "a/copy1.md", "--index", str(wire.path)]
    done = subprocess.run([*cmd, "--json", "--limit", "2"], capture_output=True, text=True)
    assert done.returncode == 0
    assert [h["path"] for h in json.loads(done.stdout)["hits"]] == ["b/copy2.md", "c/near.md"]
    text = subprocess.run(cmd, capture_output=True, text=True)
    assert "near-duplicate" in text.stdout
    missing = subprocess.run([*cmd[:4], "nope.md", *cmd[5:]], capture_output=True, text=True)
    assert missing.returncode == 2


def test_cli_collapse(wire: searchkit.Index, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "searchkit", "query", "屯馬綫", "--index", str(wire.path),
                           "--collapse-duplicates"], capture_output=True, text=True)
    assert done.returncode == 0 and "+2 copies" in done.stdout
